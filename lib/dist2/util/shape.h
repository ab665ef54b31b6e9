#pragma once
#include <string>

#include <torch/torch.h>

namespace dist2 {

// "[4096, 32000]", or "undefined", for error messages.
inline std::string shape_of(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace dist2
