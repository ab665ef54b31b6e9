#pragma once
// What the CUDA runtime sees. Compiled by nvcc whenever the build finds it; on a
// machine without a GPU (or driver) device_count() is 0.
#include <string>

namespace dist2::cuda {

int device_count();
std::string device_name(int device);
// Runtime and driver versions as "runtime 13.0, driver 12.4" (driver 0 = none).
std::string versions();

}  // namespace dist2::cuda
