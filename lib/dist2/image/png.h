#pragma once
// PNG pictures of images (sample scenes with their ground-truth and predicted
// boxes), written with zlib alone: 8-bit grey or RGB, one IDAT chunk, filter 0
// on every row. Values are clamped to [0, 1] and rounded to 0-255.
#include <array>
#include <cstdint>
#include <string>

#include "dist2/image/image.h"

namespace dist2 {

using Rgb = std::array<float, 3>;  // each in [0, 1]

// The PNG file's bytes for a 1-channel (grey) or 3-channel (RGB) image;
// dist2::Error on an empty image or another channel count.
std::string encode_png(const Image& img);
// encode_png written atomically to `path`.
void write_png(const std::string& path, const Image& img);

// Draws the outline of the pixel rectangle [x1, x2) x [y1, y2) on an RGB image,
// `thickness` pixels wide, inside the rectangle; parts outside the image are
// clipped, an empty rectangle draws nothing.
void draw_rect(Image& rgb, int64_t x1, int64_t y1, int64_t x2, int64_t y2, const Rgb& colour, int64_t thickness = 1);

// Each pixel repeated factor x factor times (nearest neighbour), so that small
// scenes are visible.
Image upscale_nearest(const Image& img, int64_t factor);

}  // namespace dist2
