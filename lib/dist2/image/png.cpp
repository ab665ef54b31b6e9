#include "dist2/image/png.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2 {

namespace {
void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xff));
}

// length, type, data, CRC-32 of type + data.
void chunk(std::string& png, const char* type, const std::string& data) {
  put32(png, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  png += body;
  put32(png, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

uint8_t to_byte(float v) {
  if (!(v > 0.0f)) return 0;  // also NaN
  if (v >= 1.0f) return 255;
  return static_cast<uint8_t>(std::lround(v * 255.0f));
}
}  // namespace

std::string encode_png(const Image& img) {
  DIST2_CHECK(img.height > 0 && img.width > 0, "cannot write an empty image ({}x{}) as PNG", img.height, img.width);
  DIST2_CHECK(img.channels == 1 || img.channels == 3, "PNG: expected a grey or RGB image, got {} channels",
              img.channels);
  std::string ihdr;
  put32(ihdr, static_cast<uint32_t>(img.width));
  put32(ihdr, static_cast<uint32_t>(img.height));
  ihdr += std::string{8, static_cast<char>(img.channels == 3 ? 2 : 0), 0, 0, 0};  // depth, colour type, deflate, filter, no interlace

  // Raw scanlines: a filter byte (0, none) then the pixels, channels interleaved.
  std::string raw;
  raw.reserve(static_cast<size_t>(img.height * (1 + img.width * img.channels)));
  for (int64_t y = 0; y < img.height; ++y) {
    raw.push_back(0);
    for (int64_t x = 0; x < img.width; ++x)
      for (int64_t c = 0; c < img.channels; ++c) raw.push_back(static_cast<char>(to_byte(img.at(c, y, x))));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  DIST2_CHECK(compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                        reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9) == Z_OK,
              "PNG: zlib cannot compress a {}x{} image", img.height, img.width);
  packed.resize(packed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", packed);
  chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const Image& img) { write_file_atomic(path, encode_png(img)); }

void draw_rect(Image& rgb, int64_t x1, int64_t y1, int64_t x2, int64_t y2, const Rgb& colour, int64_t thickness) {
  DIST2_CHECK(rgb.channels == 3, "draw_rect needs an RGB image, got {} channels", rgb.channels);
  DIST2_CHECK(thickness >= 1, "draw_rect: thickness must be at least 1, got {}", thickness);
  if (x2 <= x1 || y2 <= y1) return;
  auto set = [&](int64_t x, int64_t y) {
    for (int64_t c = 0; c < 3; ++c) rgb.at(c, y, x) = colour[static_cast<size_t>(c)];
  };
  for (int64_t y = std::max<int64_t>(y1, 0); y < std::min(y2, rgb.height); ++y)
    for (int64_t x = std::max<int64_t>(x1, 0); x < std::min(x2, rgb.width); ++x)
      if (x < x1 + thickness || x >= x2 - thickness || y < y1 + thickness || y >= y2 - thickness) set(x, y);
}

Image upscale_nearest(const Image& img, int64_t factor) {
  DIST2_CHECK(factor >= 1 && factor <= 64, "upscale factor {} is not in [1, 64]", factor);
  Image out(img.channels, img.height * factor, img.width * factor);
  for (int64_t c = 0; c < out.channels; ++c)
    for (int64_t y = 0; y < out.height; ++y)
      for (int64_t x = 0; x < out.width; ++x) out.at(c, y, x) = img.at(c, y / factor, x / factor);
  return out;
}

}  // namespace dist2
