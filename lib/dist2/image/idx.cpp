#include "dist2/image/idx.h"

#include <fmt/ranges.h>
#include <zlib.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2 {

namespace {
uint32_t be32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8) | static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;
}  // namespace

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f && static_cast<uint8_t>(bytes[1]) == 0x8b;
}

std::string gunzip(std::string_view bytes, const std::string& name, size_t max_bytes) {
  z_stream zs{};
  DIST2_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "'{}': cannot start zlib inflate", name);
  std::string out, why;
  std::vector<char> buf(size_t{1} << 16);
  size_t fed = 0;
  for (;;) {
    if (zs.avail_in == 0 && fed < bytes.size()) {
      const size_t n = std::min<size_t>(bytes.size() - fed, size_t{1} << 30);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = buf.size() - zs.avail_out;
    if (out.size() + produced > max_bytes) {
      why = fmt::format("larger than {} bytes once inflated", max_bytes);
      break;
    }
    out.append(buf.data(), produced);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    // Z_BUF_ERROR: no progress possible; with all input consumed the stream ended early.
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && fed == bytes.size())
      why = "truncated (its gzip stream ends early)";
    else
      why = zs.msg ? std::string("corrupted (gzip: ") + zs.msg + ")" : fmt::format("corrupted (zlib error {})", rc);
    break;
  }
  inflateEnd(&zs);
  DIST2_CHECK(why.empty(), "'{}' is {}", name, why);
  return out;
}

IdxArray parse_idx(std::string_view bytes, const std::string& name, uint32_t expected_magic, size_t max_bytes) {
  std::string inflated;
  if (is_gzip(bytes)) {
    inflated = gunzip(bytes, name, max_bytes);
    bytes = inflated;
  }
  DIST2_CHECK(bytes.size() >= 4, "'{}' is truncated: {} bytes, no IDX header", name, bytes.size());
  const uint32_t magic = be32(bytes, 0);
  const uint32_t ndims = magic & 0xff;
  DIST2_CHECK((magic >> 8) == 0x08 && ndims >= 1 && ndims <= 4 && (expected_magic == 0 || magic == expected_magic),
              "'{}' has a bad IDX magic 0x{:08x} (expected 0x{:08x})", name, magic,
              expected_magic == 0 ? 0x00000800u | ndims : expected_magic);
  const size_t header = 4 + 4 * size_t{ndims};
  DIST2_CHECK(bytes.size() >= header, "'{}' is truncated: {} bytes, its IDX header needs {}", name, bytes.size(), header);
  IdxArray a;
  uint64_t total = 1;
  for (uint32_t d = 0; d < ndims; ++d) {
    const uint32_t n = be32(bytes, 4 + 4 * d);
    a.dims.push_back(n);
    total *= n;
    DIST2_CHECK(total <= max_bytes, "'{}': IDX sizes {} are larger than {} values", name, fmt::join(a.dims, " x "),
                max_bytes);
  }
  const size_t have = bytes.size() - header;
  DIST2_CHECK(have >= total, "'{}' is truncated: its header says {} ({} bytes), it has {}", name,
              fmt::join(a.dims, " x "), total, have);
  DIST2_CHECK(have == total, "'{}' has {} bytes after the {} values its header says ({})", name, have - total, total,
              fmt::join(a.dims, " x "));
  a.data.assign(reinterpret_cast<const uint8_t*>(bytes.data()) + header,
                reinterpret_cast<const uint8_t*>(bytes.data()) + header + total);
  return a;
}

Image FashionMnist::image(int64_t i) const {
  DIST2_CHECK(i >= 0 && i < count, "Fashion-MNIST {}: item {} out of range [0, {})", split, i, count);
  Image img(1, rows, cols);
  const uint8_t* src = pixels.data() + static_cast<size_t>(i * rows * cols);
  for (size_t k = 0; k < img.pixels.size(); ++k) img.pixels[k] = static_cast<float>(src[k]) / 255.0f;
  return img;
}

namespace {
// The split from its parsed images and labels files (named as the messages say).
FashionMnist assemble(IdxArray im, IdxArray lb, const std::string& split, const std::string& images_name,
                      const std::string& labels_name) {
  DIST2_CHECK(im.dims[1] == 28 && im.dims[2] == 28, "'{}' holds {}x{} images, Fashion-MNIST items are 28x28",
              images_name, im.dims[1], im.dims[2]);
  DIST2_CHECK(im.dims[0] == lb.dims[0], "Fashion-MNIST {}: {} images in '{}' but {} labels in '{}'", split,
              im.dims[0], images_name, lb.dims[0], labels_name);
  for (size_t i = 0; i < lb.data.size(); ++i)
    DIST2_CHECK(lb.data[i] <= 9, "'{}': label {} of item {} is not a class 0-9", labels_name, int{lb.data[i]}, i);
  FashionMnist f;
  f.split = split;
  f.count = im.dims[0], f.rows = im.dims[1], f.cols = im.dims[2];
  f.pixels = std::move(im.data);
  f.labels = std::move(lb.data);
  return f;
}
}  // namespace

FashionMnist fashion_mnist_from_bytes(std::string_view images, std::string_view labels, const std::string& name,
                                      size_t max_bytes) {
  const std::string images_name = name + " images", labels_name = name + " labels";
  return assemble(parse_idx(images, images_name, kImagesMagic, max_bytes),
                  parse_idx(labels, labels_name, kLabelsMagic, max_bytes), name, images_name, labels_name);
}

std::string default_fashion_mnist_dir() {
  const char* env = std::getenv("DIST2_FASHION_MNIST");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

namespace {
// DIR/NAME.gz, or DIR/NAME when only the uncompressed file is there; "" if neither.
std::string find_idx(const std::string& dir, const std::string& name) {
  for (const std::string& p : {dir + "/" + name + ".gz", dir + "/" + name})
    if (file_exists(p)) return p;
  return "";
}

FashionMnist read_split(const std::string& split, const std::string& dir) {
  const std::string stem = split == "train" ? "train" : "t10k";
  const std::string images = find_idx(dir, stem + "-images-idx3-ubyte"), labels = find_idx(dir, stem + "-labels-idx1-ubyte");
  DIST2_CHECK(!images.empty() && !labels.empty(),
              "Fashion-MNIST not found at {}: run `make setup` (Debian package dataset-fashion-mnist) or set "
              "DIST2_FASHION_MNIST",
              dir);
  return assemble(parse_idx(read_file(images), images, kImagesMagic), parse_idx(read_file(labels), labels, kLabelsMagic),
                  split, images, labels);
}
}  // namespace

const FashionMnist& load_fashion_mnist(const std::string& split, const std::string& dir_in) {
  DIST2_CHECK(split == "train" || split == "test", "Fashion-MNIST split '{}' is not one of: train, test", split);
  const std::string dir = dir_in.empty() ? default_fashion_mnist_dir() : dir_in;
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<const FashionMnist>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[dir + '\n' + split];
  if (!slot) slot = std::make_unique<const FashionMnist>(read_split(split, dir));
  return *slot;
}

}  // namespace dist2
