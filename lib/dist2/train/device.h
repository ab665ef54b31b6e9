#pragma once
// Where a run computes: train.device = cpu | cuda | auto (auto: the first CUDA
// device when LibTorch sees one, else the CPU). The key is left out of the
// config hash (config/schema.h): a trial run on another device is the same trial.
#include <string>

#include <torch/torch.h>

namespace dist2 {

// The device of `name`; a one-line dist2::Error for cuda where LibTorch sees no
// CUDA device (a CPU build, or no GPU), naming which.
torch::Device resolve_device(const std::string& name);

// "cpu" or "cuda:0": what a run records.
std::string device_label(const torch::Device& device);

}  // namespace dist2
