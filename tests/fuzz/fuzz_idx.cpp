// Fuzz target: the IDX reader (Fashion-MNIST's format) from memory. The input is
// read as an IDX file (raw, or gzip'd when it starts with the gzip magic), then
// gzip'd here and read again so that valid gzip streams of any content reach the
// IDX parser; an input that parses as images is paired with matching labels and
// read as Fashion-MNIST. Any input must read or raise dist2::Error.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "dist2/image/idx.h"
#include "dist2/util/error.h"

using namespace dist2;

namespace {
constexpr size_t kMaxBytes = size_t{4} << 20;  // keeps inflation bombs small

std::string gzip(const std::string& raw) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void check(const IdxArray& a) {
  size_t n = 1;
  for (int64_t d : a.dims) n *= static_cast<size_t>(d);
  if (a.dims.empty() || a.data.size() != n) std::abort();  // the values match the header
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  for (const std::string& bytes : {input, gzip(input)}) {
    try {
      const IdxArray a = parse_idx(bytes, "fuzz", 0, kMaxBytes);
      check(a);
      if (a.dims.size() != 3) continue;
      std::string labels("\x00\x00\x08\x01", 4);
      for (int shift = 24; shift >= 0; shift -= 8) labels.push_back(static_cast<char>((a.dims[0] >> shift) & 0xff));
      for (int64_t i = 0; i < a.dims[0]; ++i) labels.push_back(static_cast<char>(i % 10));
      const FashionMnist f = fashion_mnist_from_bytes(bytes, labels, "fuzz", kMaxBytes);
      if (f.count != a.dims[0] || f.rows != 28 || f.cols != 28) std::abort();
      if (f.count > 0) {
        const Image img = f.image(f.count - 1);
        for (float v : img.pixels)
          if (!(v >= 0.0f && v <= 1.0f)) std::abort();
      }
    } catch (const Error&) {
    }
  }
  return 0;
}
