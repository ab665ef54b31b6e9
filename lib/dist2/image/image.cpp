#include "dist2/image/image.h"

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"

namespace dist2 {

namespace {
constexpr int64_t kMaxSide = 1 << 16, kMaxPixels = int64_t{1} << 31;

// Weights of the input pixels [0, in) that output pixel o of `out` covers when
// shrinking or growing by area: the overlap of [o * in/out, (o+1) * in/out) with
// each input pixel, normalized to sum to one.
struct Tap {
  int64_t index;
  double weight;
};
std::vector<std::vector<Tap>> area_taps(int64_t in, int64_t out) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    double total = 0;
    for (auto i = static_cast<int64_t>(std::floor(lo)); i < in && i < hi; ++i) {
      const double w = std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i));
      if (w <= 0) continue;
      taps[o].push_back({i, w});
      total += w;
    }
    for (auto& t : taps[o]) t.weight /= total;
  }
  return taps;
}
std::vector<std::vector<Tap>> bilinear_taps(int64_t in, int64_t out) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(out));
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    const double src = std::clamp((o + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
    const auto i0 = static_cast<int64_t>(std::floor(src));
    const int64_t i1 = std::min(i0 + 1, in - 1);
    const double f = src - static_cast<double>(i0);
    taps[o].push_back({i0, 1.0 - f});
    if (i1 != i0 && f > 0) taps[o].push_back({i1, f});
  }
  return taps;
}
}  // namespace

Image::Image(int64_t c, int64_t h, int64_t w, float fill) : channels(c), height(h), width(w) {
  DIST2_CHECK(c >= 1 && c <= 4 && h >= 0 && w >= 0 && h <= kMaxSide && w <= kMaxSide && c * h * w <= kMaxPixels,
              "image shape {}x{}x{} is not valid (1-4 channels, sides 0-{})", c, h, w, kMaxSide);
  pixels.assign(static_cast<size_t>(c * h * w), fill);
}

Image resize(const Image& img, int64_t height, int64_t width, ResizeMode mode) {
  DIST2_CHECK(img.height > 0 && img.width > 0, "cannot resize an empty image ({}x{})", img.height, img.width);
  DIST2_CHECK(height > 0 && width > 0, "resize to {}x{}: sides must be positive", height, width);
  const auto ty = mode == ResizeMode::area ? area_taps(img.height, height) : bilinear_taps(img.height, height);
  const auto tx = mode == ResizeMode::area ? area_taps(img.width, width) : bilinear_taps(img.width, width);
  // Separable: rows first (input height x output width), then columns.
  Image out(img.channels, height, width);
  std::vector<double> rows(static_cast<size_t>(img.height * width));
  for (int64_t c = 0; c < img.channels; ++c) {
    for (int64_t y = 0; y < img.height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        double v = 0;
        for (const auto& t : tx[x]) v += t.weight * img.at(c, y, t.index);
        rows[static_cast<size_t>(y * width + x)] = v;
      }
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width; ++x) {
        double v = 0;
        for (const auto& t : ty[y]) v += t.weight * rows[static_cast<size_t>(t.index * width + x)];
        out.at(c, y, x) = static_cast<float>(std::clamp(v, 0.0, 1.0));
      }
  }
  return out;
}

void paste_max(Image& canvas, const Image& item, int64_t top, int64_t left) {
  DIST2_CHECK(canvas.channels == item.channels, "paste: the item has {} channels, the canvas {}", item.channels,
              canvas.channels);
  const int64_t y0 = std::max<int64_t>(0, -top), y1 = std::min(item.height, canvas.height - top);
  const int64_t x0 = std::max<int64_t>(0, -left), x1 = std::min(item.width, canvas.width - left);
  for (int64_t c = 0; c < item.channels; ++c)
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) {
        float& dst = canvas.at(c, top + y, left + x);
        dst = std::max(dst, item.at(c, y, x));
      }
}

Image to_rgb(const Image& img) {
  if (img.channels == 3) return img;
  DIST2_CHECK(img.channels == 1, "to_rgb: expected 1 or 3 channels, got {}", img.channels);
  Image out(3, img.height, img.width);
  for (int64_t c = 0; c < 3; ++c) std::copy(img.pixels.begin(), img.pixels.end(), out.pixels.begin() + c * img.height * img.width);
  return out;
}

PixelBox ink_box(const Image& img, float threshold) {
  PixelBox b{img.width, img.height, 0, 0};
  for (int64_t c = 0; c < img.channels; ++c)
    for (int64_t y = 0; y < img.height; ++y)
      for (int64_t x = 0; x < img.width; ++x)
        if (img.at(c, y, x) > threshold) {
          b.x1 = std::min(b.x1, x), b.x2 = std::max(b.x2, x + 1);
          b.y1 = std::min(b.y1, y), b.y2 = std::max(b.y2, y + 1);
        }
  return b.empty() ? PixelBox{} : b;
}

}  // namespace dist2
