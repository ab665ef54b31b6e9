// Images as data: resizing and compositing, the IDX (Fashion-MNIST) reader, the
// checksummed image file, and PNG pictures (decoded here with zlib alone).
#include <stdlib.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "dist2/image/idx.h"
#include "dist2/image/image.h"
#include "dist2/image/image_file.h"
#include "dist2/image/png.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

using namespace dist2;
using Catch::Matchers::Contains;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/dist2-image-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  REQUIRE(dir != nullptr);
  return dir;
}

// A gzip stream of `raw`, made with zlib's deflate (independent of the reader).
std::string gzip(const std::string& raw) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

// An IDX images file of n 28x28 items, item i's pixel k = (i * 7 + k) % 256.
std::string idx_images(uint32_t n, uint32_t rows = 28, uint32_t cols = 28) {
  std::string s;
  put_be32(s, 0x00000803);
  put_be32(s, n), put_be32(s, rows), put_be32(s, cols);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t k = 0; k < rows * cols; ++k) s.push_back(static_cast<char>((i * 7 + k) % 256));
  return s;
}
std::string idx_labels(uint32_t n) {
  std::string s;
  put_be32(s, 0x00000801);
  put_be32(s, n);
  for (uint32_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i % 10));
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("images: shape, access, resize by area and bilinear, max paste, ink box", "[image]") {
  Image img(1, 2, 3, 0.25f);
  CHECK(img.pixels.size() == 6);
  CHECK(img.at(0, 1, 2) == 0.25f);
  img.at(0, 1, 2) = 0.75f;
  CHECK(img.pixels[5] == 0.75f);
  CHECK_THROWS_AS(Image(0, 2, 2), Error);
  CHECK_THROWS_AS(Image(1, -1, 2), Error);

  // Area 4x4 -> 2x2: each output pixel is the mean of a 2x2 block.
  Image four(1, 4, 4);
  for (int64_t y = 0; y < 4; ++y)
    for (int64_t x = 0; x < 4; ++x) four.at(0, y, x) = static_cast<float>(y * 4 + x) / 15.0f;
  const Image two = resize(four, 2, 2, ResizeMode::area);
  CHECK(two.at(0, 0, 0) == Approx((0 + 1 + 4 + 5) / 4.0 / 15.0));
  CHECK(two.at(0, 1, 1) == Approx((10 + 11 + 14 + 15) / 4.0 / 15.0));
  // Area 28 -> 14 and 28 -> 19 keep the mean brightness (up to edge weights).
  Image item(1, 28, 28);
  for (size_t k = 0; k < item.pixels.size(); ++k) item.pixels[k] = static_cast<float>((k * 37) % 256) / 255.0f;
  auto mean = [](const Image& im) {
    double s = 0;
    for (float v : im.pixels) s += v;
    return s / static_cast<double>(im.pixels.size());
  };
  CHECK(mean(resize(item, 14, 14)) == Approx(mean(item)).epsilon(1e-5));
  CHECK(mean(resize(item, 19, 19)) == Approx(mean(item)).epsilon(1e-3));
  // Bilinear 1x2 -> 1x4 (align_corners false): 0, 0.25, 0.75, 1.
  Image row(1, 1, 2);
  row.pixels = {0.0f, 1.0f};
  const Image wide = resize(row, 1, 4, ResizeMode::bilinear);
  REQUIRE(wide.width == 4);
  CHECK(wide.pixels[0] == Approx(0.0));
  CHECK(wide.pixels[1] == Approx(0.25));
  CHECK(wide.pixels[2] == Approx(0.75));
  CHECK(wide.pixels[3] == Approx(1.0));
  CHECK_THROWS_AS(resize(Image(), 2, 2), Error);
  CHECK_THROWS_AS(resize(row, 0, 2), Error);

  // Max paste, clipped at the canvas border.
  Image canvas(1, 4, 4, 0.5f);
  Image patch(1, 2, 2);
  patch.pixels = {0.9f, 0.1f, 0.2f, 1.0f};
  paste_max(canvas, patch, 3, 3);  // only patch(0,0) lands, at (3,3)
  CHECK(canvas.at(0, 3, 3) == 0.9f);
  CHECK(canvas.at(0, 2, 2) == 0.5f);
  paste_max(canvas, patch, 0, 0);
  CHECK(canvas.at(0, 0, 0) == 0.9f);
  CHECK(canvas.at(0, 0, 1) == 0.5f);  // 0.1 < 0.5 keeps the canvas
  CHECK(canvas.at(0, 1, 1) == 1.0f);
  CHECK_THROWS_AS(paste_max(canvas, Image(3, 1, 1), 0, 0), Error);

  Image blank(1, 5, 6);
  CHECK(ink_box(blank, 0.1f).empty());
  blank.at(0, 1, 2) = 0.5f, blank.at(0, 3, 4) = 0.2f, blank.at(0, 4, 0) = 0.05f;
  const PixelBox b = ink_box(blank, 0.1f);
  CHECK(b.x1 == 2);
  CHECK(b.x2 == 5);
  CHECK(b.y1 == 1);
  CHECK(b.y2 == 4);
}

TEST_CASE("IDX reader: hand-made gzip'd and raw files", "[image]") {
  const std::string images = idx_images(3), labels = idx_labels(3);
  for (const bool zipped : {true, false}) {
    INFO("gzip'd: " << zipped);
    const FashionMnist f =
        fashion_mnist_from_bytes(zipped ? gzip(images) : images, zipped ? gzip(labels) : labels, "hand");
    CHECK(f.count == 3);
    CHECK(f.rows == 28);
    CHECK(f.cols == 28);
    CHECK(f.labels == std::vector<uint8_t>{0, 1, 2});
    REQUIRE(f.pixels.size() == 3 * 784);
    CHECK(f.pixels[784 + 5] == (7 + 5) % 256);
    const Image img = f.image(2);
    CHECK(img.height == 28);
    CHECK(img.at(0, 1, 3) == Approx(static_cast<float>((2 * 7 + 28 + 3) % 256) / 255.0f));
    CHECK_THROWS_AS(f.image(3), Error);
  }
  const IdxArray a = parse_idx(gzip(idx_labels(12)), "labels", 0);
  CHECK(a.dims == std::vector<int64_t>{12});
  CHECK(a.data[11] == 1);
}

TEST_CASE("IDX reader: truncated, corrupted and inconsistent files are refused with one line", "[image]") {
  const std::string images = idx_images(3), labels = idx_labels(3), gz = gzip(images);
  // Truncated raw file: fewer pixels than the header says.
  CHECK_THAT(error_of([&] { parse_idx(images.substr(0, images.size() - 10), "im", 0x803); }),
             Contains("'im' is truncated"));
  CHECK_THAT(error_of([&] { parse_idx(images.substr(0, 9), "im", 0x803); }), Contains("truncated"));
  CHECK_THAT(error_of([&] { parse_idx("", "im", 0x803); }), Contains("truncated"));
  // Truncated gzip stream.
  CHECK_THAT(error_of([&] { parse_idx(gz.substr(0, gz.size() / 2), "im.gz", 0x803); }),
             Contains("'im.gz' is truncated"));
  // Corrupted gzip data: a flipped byte in the middle (its CRC or its codes fail).
  std::string bad = gz;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
  CHECK_THAT(error_of([&] { parse_idx(bad, "im.gz", 0x803); }), Contains("'im.gz' is"));
  // Bad magic: labels where images are expected, and garbage.
  CHECK_THAT(error_of([&] { parse_idx(labels, "im", 0x803); }), Contains("bad IDX magic 0x00000801"));
  CHECK_THAT(error_of([&] { parse_idx("hello world!", "im", 0); }), Contains("bad IDX magic"));
  // Trailing bytes.
  CHECK_THAT(error_of([&] { parse_idx(labels + "xx", "lb", 0x801); }), Contains("2 bytes after"));
  // Inflates beyond the limit.
  CHECK_THAT(error_of([&] { parse_idx(gz, "im.gz", 0x803, 1000); }), Contains("larger than 1000 bytes"));
  // Count mismatch, wrong item size, labels out of range.
  CHECK_THAT(error_of([&] { fashion_mnist_from_bytes(images, idx_labels(4), "x"); }),
             Contains("3 images in 'x images' but 4 labels in 'x labels'"));
  CHECK_THAT(error_of([&] { fashion_mnist_from_bytes(idx_images(2, 32, 32), idx_labels(2), "x"); }),
             Contains("32x32"));
  std::string eleven = idx_labels(3);
  eleven.back() = 11;
  CHECK_THAT(error_of([&] { fashion_mnist_from_bytes(images, eleven, "x"); }), Contains("label 11 of item 2"));
}

TEST_CASE("load_fashion_mnist: files in a folder, missing folder, count mismatch", "[image]") {
  const std::string dir = temp_dir();
  write_file_atomic(dir + "/train-images-idx3-ubyte.gz", gzip(idx_images(5)));
  write_file_atomic(dir + "/train-labels-idx1-ubyte.gz", gzip(idx_labels(5)));
  write_file_atomic(dir + "/t10k-images-idx3-ubyte", idx_images(2));  // uncompressed also found
  write_file_atomic(dir + "/t10k-labels-idx1-ubyte.gz", gzip(idx_labels(3)));
  const FashionMnist& train = load_fashion_mnist("train", dir);
  CHECK(train.count == 5);
  CHECK(train.split == "train");
  CHECK(&load_fashion_mnist("train", dir) == &train);  // read once, kept
  CHECK_THAT(error_of([&] { load_fashion_mnist("test", dir); }), Contains("2 images in"));
  CHECK_THAT(error_of([&] { load_fashion_mnist("valid", dir); }), Contains("not one of: train, test"));
  const std::string missing = dir + "/nowhere";
  const std::string msg = error_of([&] { load_fashion_mnist("train", missing); });
  CHECK(msg == "Fashion-MNIST not found at " + missing +
                   ": run `make setup` (Debian package dataset-fashion-mnist) or set DIST2_FASHION_MNIST");
  std::filesystem::remove_all(dir);
}

TEST_CASE("load_fashion_mnist: the real dataset", "[image]") {
  const std::string dir = default_fashion_mnist_dir();
  if (!file_exists(dir + "/train-images-idx3-ubyte.gz") && !file_exists(dir + "/train-images-idx3-ubyte")) {
    WARN("Fashion-MNIST is not installed at " << dir << " (make setup installs dataset-fashion-mnist): skipped");
    return;
  }
  for (const auto& [split, n] : {std::pair<std::string, int64_t>{"train", 60000}, {"test", 10000}}) {
    INFO(split);
    const FashionMnist& f = load_fashion_mnist(split);
    CHECK(f.count == n);
    CHECK(f.rows == 28);
    CHECK(f.cols == 28);
    REQUIRE(f.labels.size() == static_cast<size_t>(n));
    std::vector<int64_t> per_class(10, 0);
    for (uint8_t l : f.labels) {
      REQUIRE(l <= 9);
      ++per_class[l];
    }
    for (int64_t c : per_class) CHECK(c == n / 10);  // Fashion-MNIST is balanced
    // Items are bright on a black background: corners dark, the middle inked.
    const Image img = f.image(0);
    CHECK(img.at(0, 0, 0) < 0.05f);
    CHECK(!ink_box(img, 0.1f).empty());
  }
}

TEST_CASE("image file: round trip, corruption, truncation and wrong version refused", "[image]") {
  const std::string dir = temp_dir();
  std::vector<Image> images;
  images.emplace_back(1, 3, 4, 0.0f);
  images.emplace_back(3, 2, 2, 1.0f);
  for (size_t k = 0; k < images[0].pixels.size(); ++k) images[0].pixels[k] = static_cast<float>(k) / 11.0f;
  images[1].at(2, 1, 0) = 0.123456f;

  const std::string f32 = dir + "/f32.img", u8 = dir + "/u8.img";
  write_image_file(f32, images, PixelFormat::float32);
  write_image_file(u8, images, PixelFormat::uint8);
  const auto back32 = read_image_file(f32), back8 = read_image_file(u8);
  REQUIRE(back32.size() == 2);
  REQUIRE(back8.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back32[i].same_shape(images[i]));
    CHECK(back8[i].same_shape(images[i]));
    CHECK(back32[i].pixels == images[i].pixels);
    for (size_t k = 0; k < images[i].pixels.size(); ++k)
      CHECK(std::abs(back8[i].pixels[k] - images[i].pixels[k]) <= 0.5f / 255.0f + 1e-6f);
  }
  CHECK(read_image_file((write_image_file(dir + "/none.img", {}), dir + "/none.img")).empty());
  // Nothing but the files themselves is left in the folder (atomic writes).
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 3);

  const std::string bytes = read_file(u8);
  auto refused = [&](const std::string& content) {
    write_file_atomic(dir + "/bad.img", content);
    return error_of([&] { read_image_file(dir + "/bad.img"); });
  };
  std::string flipped = bytes;
  flipped[bytes.size() - 3] = static_cast<char>(flipped[bytes.size() - 3] ^ 1);
  CHECK_THAT(refused(flipped), Contains("'" + dir + "/bad.img' is corrupted: payload checksum"));
  CHECK_THAT(refused(bytes.substr(0, bytes.size() - 1)), Contains("/bad.img' is truncated"));
  CHECK_THAT(refused(bytes.substr(0, 20)), Contains("/bad.img' is truncated"));
  CHECK_THAT(refused(bytes + "z"), Contains("/bad.img' is corrupted"));
  std::string v2 = bytes;
  v2[8] = 2;
  CHECK_THAT(refused(v2), Contains("/bad.img' is an image file of version 2; this build reads version 1"));
  CHECK_THAT(refused("P6 not an image file"), Contains("/bad.img' is not a dist2 image file"));
  CHECK_THAT(error_of([&] { read_image_file(dir + "/absent.img"); }), Contains("absent.img"));
  // Out-of-range pixels are refused when writing.
  std::vector<Image> hot(1, Image(1, 1, 1, 1.5f));
  CHECK_THAT(error_of([&] { write_image_file(dir + "/hot.img", hot); }), Contains("outside [0, 1]"));
  std::filesystem::remove_all(dir);
}

namespace {
uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) | (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(s[at + 3])};
}

struct DecodedPng {
  uint32_t width = 0, height = 0;
  int colour_type = -1;
  std::string raw;  // inflated scanlines, filter bytes included
};

// A minimal PNG decoder for the test: chunk walk with CRC checks, IHDR, IDAT
// inflated with zlib's uncompress.
DecodedPng decode_png(const std::string& png) {
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  DecodedPng d;
  std::string idat;
  size_t at = 8;
  bool ended = false;
  while (at + 12 <= png.size()) {
    const uint32_t len = be32(png, at);
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, len);
    const uint32_t crc = be32(png, at + 8 + len);
    const std::string body = png.substr(at + 4, 4 + len);
    CHECK(crc == crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
    if (type == "IHDR") {
      d.width = be32(data, 0), d.height = be32(data, 4);
      CHECK(data[8] == 8);  // bit depth
      d.colour_type = data[9];
      CHECK(data[10] == 0);
      CHECK(data[11] == 0);
      CHECK(data[12] == 0);
    } else if (type == "IDAT") {
      idat += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  CHECK(ended);
  CHECK(at == png.size());
  const int channels = d.colour_type == 2 ? 3 : 1;
  uLongf size = (1 + d.width * channels) * d.height;
  d.raw.assign(size, '\0');
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(d.raw.data()), &size, reinterpret_cast<const Bytef*>(idat.data()),
                     static_cast<uLong>(idat.size())) == Z_OK);
  CHECK(size == d.raw.size());
  return d;
}
}  // namespace

TEST_CASE("PNG: grey and RGB written with zlib decode to the same pixels", "[image]") {
  Image grey(1, 3, 5);
  for (size_t k = 0; k < grey.pixels.size(); ++k) grey.pixels[k] = static_cast<float>(k) / 14.0f;
  const DecodedPng g = decode_png(encode_png(grey));
  CHECK(g.width == 5);
  CHECK(g.height == 3);
  CHECK(g.colour_type == 0);
  for (uint32_t y = 0; y < 3; ++y) {
    CHECK(g.raw[y * 6] == 0);  // filter byte: none
    for (uint32_t x = 0; x < 5; ++x)
      CHECK(static_cast<uint8_t>(g.raw[y * 6 + 1 + x]) == std::lround(grey.at(0, y, x) * 255.0f));
  }

  Image rgb = to_rgb(Image(1, 4, 4, 0.0f));
  draw_rect(rgb, 1, 1, 4, 4, {1.0f, 0.0f, 0.5f});
  CHECK(rgb.at(0, 1, 1) == 1.0f);
  CHECK(rgb.at(0, 3, 2) == 1.0f);  // bottom edge (y2 - 1 = 3)
  CHECK(rgb.at(0, 2, 2) == 0.0f);  // inside the outline
  CHECK(rgb.at(0, 0, 0) == 0.0f);  // outside
  const Image before = rgb;
  draw_rect(rgb, -5, -5, 100, 100, {0.0f, 1.0f, 0.0f});  // outline entirely outside: nothing drawn
  CHECK(rgb.pixels == before.pixels);
  draw_rect(rgb, -1, -1, 3, 3, {0.0f, 1.0f, 0.0f});  // partly clipped
  CHECK(rgb.at(1, 0, 2) == 1.0f);  // right edge x = 2
  CHECK(rgb.at(1, 2, 0) == 1.0f);  // bottom edge y = 2
  CHECK(rgb.at(1, 0, 0) == 0.0f);  // its top-left edge is outside the image
  CHECK_THROWS_AS(draw_rect(grey, 0, 0, 1, 1, {1, 1, 1}), Error);

  const Image big = upscale_nearest(rgb, 3);
  CHECK(big.height == 12);
  CHECK(big.width == 12);
  CHECK(big.at(0, 5, 5) == rgb.at(0, 1, 1));
  CHECK(big.at(1, 8, 6) == rgb.at(1, 2, 2));
  CHECK(big.at(2, 11, 0) == rgb.at(2, 3, 0));

  const std::string dir = temp_dir();
  write_png(dir + "/x.png", big);
  const DecodedPng c = decode_png(read_file(dir + "/x.png"));
  CHECK(c.colour_type == 2);
  CHECK(c.width == 12);
  for (uint32_t y = 0; y < 12; ++y) {
    CHECK(c.raw[y * 37] == 0);
    for (uint32_t x = 0; x < 12; ++x)
      for (uint32_t ch = 0; ch < 3; ++ch)
        CHECK(static_cast<uint8_t>(c.raw[y * 37 + 1 + x * 3 + ch]) == std::lround(big.at(ch, y, x) * 255.0f));
  }
  CHECK_THROWS_AS(encode_png(Image(2, 2, 2)), Error);
  CHECK_THROWS_AS(encode_png(Image()), Error);
  std::filesystem::remove_all(dir);
}
