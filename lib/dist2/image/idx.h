#pragma once
// IDX files (the MNIST format), plain or gzip'd, and the Fashion-MNIST dataset
// read from them: the real images behind the visual-grounding scenes.
//
// An IDX file is a big-endian header (magic 0x000008TD: T = 0x08 unsigned bytes,
// D = number of dimensions; then D 32-bit sizes) followed by the values.
// Fashion-MNIST images are 0x00000803 (N x 28 x 28), labels 0x00000801 (N).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dist2/image/image.h"

namespace dist2 {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) values, row-major
};

// Largest decompressed file the readers accept (the Fashion-MNIST training
// images are 47 MB).
constexpr size_t kMaxIdxBytes = size_t{256} << 20;

// True when the bytes start with the gzip magic (1f 8b).
bool is_gzip(std::string_view bytes);
// The inflated content of a gzip stream; dist2::Error naming `name` when it is
// corrupted, truncated, or inflates to more than max_bytes.
std::string gunzip(std::string_view bytes, const std::string& name, size_t max_bytes = kMaxIdxBytes);

// Parses an IDX file of unsigned bytes held in memory, gzip'd or not.
// `expected_magic` 0 accepts any unsigned-byte IDX; otherwise the magic must
// match (0x00000803 images, 0x00000801 labels). dist2::Error naming `name` on a
// bad magic, a truncated file or trailing bytes.
IdxArray parse_idx(std::string_view bytes, const std::string& name, uint32_t expected_magic = 0,
                   size_t max_bytes = kMaxIdxBytes);

struct FashionMnist {
  std::string split;  // "train" | "test" (or the name given to the in-memory reader)
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count x rows x cols, row-major, 0 = background
  std::vector<uint8_t> labels;  // count values, 0-9 (class_names() in tasks/grounding/scene.h)

  // Item i as a 1 x rows x cols image with values in [0, 1].
  Image image(int64_t i) const;
};

// Fashion-MNIST from the bytes of an images file and a labels file (each gzip'd
// or raw): checks the magics, 28 x 28 images, equal counts and labels 0-9.
FashionMnist fashion_mnist_from_bytes(std::string_view images, std::string_view labels, const std::string& name,
                                      size_t max_bytes = kMaxIdxBytes);

// The folder load_fashion_mnist reads by default: $DIST2_FASHION_MNIST when set,
// else where the Debian package dataset-fashion-mnist installs the files
// (/usr/share/datasets/fashion-mnist).
std::string default_fashion_mnist_dir();

// A split ("train": 60000 items, "test": 10000) read from
// DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], DIR defaulting to
// default_fashion_mnist_dir(). Each (folder, split) is read once per process and
// kept (thread-safe); the reference stays valid for the life of the process.
// dist2::Error with one line when the files are missing, truncated or corrupted.
const FashionMnist& load_fashion_mnist(const std::string& split, const std::string& dir = "");

}  // namespace dist2
