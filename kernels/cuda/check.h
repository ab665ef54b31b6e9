#pragma once
// DIST2_CUDA_CHECK(call): every CUDA runtime call goes through it; a failure
// throws std::runtime_error naming the call, the file and the line.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define DIST2_CUDA_CHECK(call)                                                                      \
  do {                                                                                              \
    const cudaError_t dist2_err_ = (call);                                                          \
    if (dist2_err_ != cudaSuccess)                                                                  \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #call \
                               " failed: " + cudaGetErrorString(dist2_err_));                       \
  } while (0)
