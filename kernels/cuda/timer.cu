#include "kernels/cuda/timer.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda/check.h"

namespace dist2::cuda {

EventTimer::EventTimer() {
  cudaEvent_t a = nullptr, b = nullptr;
  DIST2_CUDA_CHECK(cudaEventCreate(&a));
  DIST2_CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
}

EventTimer::~EventTimer() {
  cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
}

void EventTimer::start(void* stream) {
  DIST2_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(start_), static_cast<cudaStream_t>(stream)));
}

double EventTimer::stop(void* stream) {
  DIST2_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(stop_), static_cast<cudaStream_t>(stream)));
  DIST2_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop_)));
  float ms = 0;
  DIST2_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start_), static_cast<cudaEvent_t>(stop_)));
  return ms / 1e3;
}

double device_copy_seconds(size_t bytes, int repeats) {
  void* src = nullptr;
  void* dst = nullptr;
  DIST2_CUDA_CHECK(cudaMalloc(&src, bytes));
  DIST2_CUDA_CHECK(cudaMalloc(&dst, bytes));
  DIST2_CUDA_CHECK(cudaMemset(src, 1, bytes));
  std::vector<double> times;
  {
    EventTimer timer;
    for (int i = 0; i <= std::max(1, repeats); ++i) {
      timer.start();
      DIST2_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, nullptr));
      const double s = timer.stop();
      if (i > 0) times.push_back(s);  // the first is the warm-up
    }
  }
  DIST2_CUDA_CHECK(cudaFree(src));
  DIST2_CUDA_CHECK(cudaFree(dst));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

void synchronize() { DIST2_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace dist2::cuda
