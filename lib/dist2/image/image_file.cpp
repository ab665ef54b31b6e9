#include "dist2/image/image_file.h"

#include <cmath>
#include <cstring>

#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/hash.h"

namespace dist2 {

namespace {
constexpr char kMagic[8] = {'D', 'I', 'S', 'T', '2', 'I', 'M', 'G'};
constexpr size_t kHeaderBytes = 40, kShapeBytes = 12;

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + static_cast<size_t>(i)])) << (8 * i);
  return v;
}
}  // namespace

std::string encode_image_file(const std::vector<Image>& images, PixelFormat format) {
  DIST2_CHECK(format == PixelFormat::uint8 || format == PixelFormat::float32, "unknown pixel format {}",
              static_cast<uint32_t>(format));
  std::string payload;
  for (size_t i = 0; i < images.size(); ++i) {
    const Image& img = images[i];
    DIST2_CHECK(img.channels >= 1 && img.height >= 1 && img.width >= 1 &&
                    img.pixels.size() == static_cast<size_t>(img.channels * img.height * img.width),
                "image {} of {} has shape {}x{}x{} with {} pixels: not a valid image", i, images.size(), img.channels,
                img.height, img.width, img.pixels.size());
    put_le(payload, static_cast<uint64_t>(img.channels), 4);
    put_le(payload, static_cast<uint64_t>(img.height), 4);
    put_le(payload, static_cast<uint64_t>(img.width), 4);
    for (const float v : img.pixels) {
      DIST2_CHECK(v >= 0.0f && v <= 1.0f, "image {} has a pixel value {} outside [0, 1]", i, v);
      if (format == PixelFormat::uint8) {
        payload.push_back(static_cast<char>(std::lround(v * 255.0f)));
      } else {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        put_le(payload, bits, 4);
      }
    }
  }
  std::string out(kMagic, sizeof kMagic);
  put_le(out, kImageFileVersion, 4);
  put_le(out, static_cast<uint32_t>(format), 4);
  put_le(out, images.size(), 8);
  put_le(out, payload.size(), 8);
  put_le(out, fnv1a64(payload), 8);
  return out + payload;
}

std::vector<Image> decode_image_file(std::string_view bytes, const std::string& name) {
  DIST2_CHECK(bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0,
              "'{}' is not a dist2 image file (no DIST2IMG header)", name);
  DIST2_CHECK(bytes.size() >= kHeaderBytes, "'{}' is truncated: {} bytes, the header alone is {}", name, bytes.size(),
              kHeaderBytes);
  const uint64_t version = get_le(bytes, 8, 4), format = get_le(bytes, 12, 4), count = get_le(bytes, 16, 8);
  const uint64_t payload_bytes = get_le(bytes, 24, 8), checksum = get_le(bytes, 32, 8);
  DIST2_CHECK(version == kImageFileVersion, "'{}' is an image file of version {}; this build reads version {}", name,
              version, kImageFileVersion);
  DIST2_CHECK(format <= 1, "'{}' is corrupted: unknown pixel format {}", name, format);
  const size_t have = bytes.size() - kHeaderBytes;
  DIST2_CHECK(have >= payload_bytes, "'{}' is truncated: {} payload bytes of the {} its header says", name, have,
              payload_bytes);
  DIST2_CHECK(have == payload_bytes, "'{}' is corrupted: {} bytes after the {} payload bytes its header says", name,
              have - payload_bytes, payload_bytes);
  const std::string_view payload = bytes.substr(kHeaderBytes);
  const uint64_t got = fnv1a64(payload);
  DIST2_CHECK(got == checksum, "'{}' is corrupted: payload checksum {} but its header says {}", name, hex16(got),
              hex16(checksum));
  // Each image needs at least its shape, so `count` cannot ask for more than the
  // payload holds (this also bounds the allocation below).
  DIST2_CHECK(count <= payload.size() / kShapeBytes, "'{}' is corrupted: {} images cannot fit in {} payload bytes", name,
              count, payload.size());
  const size_t value_bytes = format == 0 ? 1 : 4;
  std::vector<Image> images;
  images.reserve(static_cast<size_t>(count));
  size_t at = 0;
  for (uint64_t i = 0; i < count; ++i) {
    DIST2_CHECK(payload.size() - at >= kShapeBytes, "'{}' is corrupted: image {} of {} has no shape", name, i, count);
    const uint64_t c = get_le(payload, at, 4), h = get_le(payload, at + 4, 4), w = get_le(payload, at + 8, 4);
    at += kShapeBytes;
    const uint64_t left = (payload.size() - at) / value_bytes;
    DIST2_CHECK(c >= 1 && c <= 4 && h >= 1 && w >= 1 && h <= 65536 && w <= 65536 && c * h * w <= left,
                "'{}' is corrupted: image {} of {} has shape {}x{}x{} ({} bytes left)", name, i, count, c, h, w,
                payload.size() - at);
    Image img(static_cast<int64_t>(c), static_cast<int64_t>(h), static_cast<int64_t>(w));
    for (float& v : img.pixels) {
      if (value_bytes == 1) {
        v = static_cast<float>(static_cast<uint8_t>(payload[at])) / 255.0f;
      } else {
        const auto bits = static_cast<uint32_t>(get_le(payload, at, 4));
        std::memcpy(&v, &bits, 4);
        DIST2_CHECK(v >= 0.0f && v <= 1.0f, "'{}' is corrupted: image {} has a pixel value {} outside [0, 1]", name, i,
                    v);
      }
      at += value_bytes;
    }
    images.push_back(std::move(img));
  }
  DIST2_CHECK(at == payload.size(), "'{}' is corrupted: {} payload bytes after its {} images", name,
              payload.size() - at, count);
  return images;
}

void write_image_file(const std::string& path, const std::vector<Image>& images, PixelFormat format) {
  write_file_atomic(path, encode_image_file(images, format));
}

std::vector<Image> read_image_file(const std::string& path) {
  DIST2_CHECK(file_exists(path), "no image file '{}'", path);
  return decode_image_file(read_file(path), path);
}

}  // namespace dist2
