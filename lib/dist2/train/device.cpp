#include "dist2/train/device.h"

#include "dist2/util/error.h"

namespace dist2 {

torch::Device resolve_device(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cuda") {
    DIST2_CHECK(cuda, "train.device=cuda, but LibTorch sees no CUDA device ({}); use train.device=cpu or auto",
                at::hasCUDA() ? "no GPU visible to this process" : "this LibTorch was built without CUDA");
    return {torch::kCUDA, 0};
  }
  throw Error(fmt::format("unknown train.device '{}' (valid: cpu, cuda, auto)", name));
}

std::string device_label(const torch::Device& device) { return device.str(); }

}  // namespace dist2
