// Fuzz target: the checksummed image file (the image cache beside a dataset's
// splits). The input is read as a file with read_image_file; then, so that the
// payload parser is reached past the checksum, once more with the header's
// payload size and checksum recomputed for the bytes after it. Any input must
// read or raise dist2::Error, and what reads must write back to the same images.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dist2/image/image_file.h"
#include "dist2/util/error.h"
#include "dist2/util/hash.h"
#include "tests/fuzz/fuzz_support.h"

using namespace dist2;

namespace {
void check(const std::vector<Image>& images) {
  for (const Image& img : images) {
    if (img.pixels.size() != static_cast<size_t>(img.channels * img.height * img.width)) std::abort();
    for (float v : img.pixels)
      if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  }
  // Float32 keeps every value exactly: the round trip must give the same images.
  const auto back = decode_image_file(encode_image_file(images, PixelFormat::float32), "round trip");
  if (back.size() != images.size()) std::abort();
  for (size_t i = 0; i < back.size(); ++i)
    if (!back[i].same_shape(images[i]) || back[i].pixels != images[i].pixels) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (size_t{1} << 20)) return 0;
  const std::string path = fuzz::scratch_file(data, size, ".img");
  try {
    check(read_image_file(path));
  } catch (const Error&) {
  }
  if (size >= 40) {
    std::string fixed(reinterpret_cast<const char*>(data), size);
    const std::string_view payload = std::string_view(fixed).substr(40);
    const uint64_t n = payload.size(), sum = fnv1a64(payload);
    for (int i = 0; i < 8; ++i) fixed[24 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
    for (int i = 0; i < 8; ++i) fixed[32 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
    try {
      check(decode_image_file(fixed, "fuzz"));
    } catch (const Error&) {
    }
  }
  return 0;
}
