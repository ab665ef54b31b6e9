#pragma once
// A file of many images (the image cache beside a dataset's JSONL splits, image
// k belonging to example k), checksummed so that a truncated or corrupted cache
// is refused rather than trained on.
//
// Layout, little-endian:
//   header (40 bytes)  "DIST2IMG"  u32 version (1)  u32 pixel format (0 uint8, 1 float32)
//                      u64 count  u64 payload bytes  u64 FNV-1a 64 of the payload
//   payload            per image: u32 channels, u32 height, u32 width, then its
//                      channels*height*width pixels (CHW): uint8 = round(v * 255),
//                      float32 = v exactly.
#include <string>
#include <string_view>
#include <vector>

#include "dist2/image/image.h"

namespace dist2 {

enum class PixelFormat : uint32_t { uint8 = 0, float32 = 1 };

constexpr uint32_t kImageFileVersion = 1;

// The file's bytes; dist2::Error when a pixel is outside [0, 1] (or NaN) or an
// image is empty.
std::string encode_image_file(const std::vector<Image>& images, PixelFormat format = PixelFormat::uint8);
// The images back; dist2::Error with one line naming `name` when the bytes are
// not an image file, are of another version, truncated, or fail the checksum.
std::vector<Image> decode_image_file(std::string_view bytes, const std::string& name);

// encode_image_file written atomically (a crash leaves the old file or the new).
void write_image_file(const std::string& path, const std::vector<Image>& images,
                      PixelFormat format = PixelFormat::uint8);
std::vector<Image> read_image_file(const std::string& path);

}  // namespace dist2
