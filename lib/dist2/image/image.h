#pragma once
// Images as data: a CHW array of floats in [0, 1] (grey: 1 channel, RGB: 3).
// LibTorch-free on purpose (plain C++17), so that data preparation, its tests and
// its fuzz targets build without it; a task adapter turns images into tensors.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dist2 {

struct Image {
  int64_t channels = 1, height = 0, width = 0;
  std::vector<float> pixels;  // channels * height * width, channel-major then row-major

  Image() = default;
  // A channels x height x width image filled with `fill`; dist2::Error on a
  // negative or absurd shape.
  Image(int64_t channels, int64_t height, int64_t width, float fill = 0.0f);

  float& at(int64_t c, int64_t y, int64_t x) { return pixels[static_cast<size_t>((c * height + y) * width + x)]; }
  float at(int64_t c, int64_t y, int64_t x) const {
    return pixels[static_cast<size_t>((c * height + y) * width + x)];
  }
  bool empty() const { return pixels.empty(); }
  bool same_shape(const Image& o) const { return channels == o.channels && height == o.height && width == o.width; }
};

enum class ResizeMode {
  area,      // each output pixel is the mean of the input area it covers (for shrinking)
  bilinear,  // sample at the output pixel's centre (align_corners = false)
};
// The image resized to height x width (every channel); dist2::Error on an empty
// image or a non-positive size.
Image resize(const Image& img, int64_t height, int64_t width, ResizeMode mode = ResizeMode::area);

// Pastes `item` onto `canvas` with its top-left corner at (top, left), keeping the
// brighter of the two pixels (max compositing, so black item backgrounds do not
// hide what is under them). Parts outside the canvas are clipped. Both must have
// the same number of channels.
void paste_max(Image& canvas, const Image& item, int64_t top, int64_t left);

// A 3-channel copy of a grey image (an RGB image is returned as it is).
Image to_rgb(const Image& img);

// Pixel bounding box of the pixels brighter than `threshold` in any channel, as
// half-open [x1, x2) x [y1, y2); all zero when no pixel is.
struct PixelBox {
  int64_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  bool empty() const { return x2 <= x1 || y2 <= y1; }
};
PixelBox ink_box(const Image& img, float threshold);

}  // namespace dist2
