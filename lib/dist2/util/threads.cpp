#include "dist2/util/threads.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <ATen/Parallel.h>

#include "dist2/util/error.h"

namespace dist2 {

namespace {
// OpenBLAS is reached through the BLAS alternative LibTorch links, so its setter
// is looked up at run time rather than linked: with another BLAS it is absent.
void set_blas_threads(int n) {
  using Setter = void (*)(int);
  for (const char* name : {"openblas_set_num_threads", "goto_set_num_threads"}) {
    if (auto fn = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, name))) {
      fn(n);
      return;
    }
  }
}
}  // namespace

void set_threads(int n) {
  DIST2_CHECK(n >= 0, "--threads must be >= 0 (0 = all cores), got {}", n);
  if (n == 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string s = std::to_string(n);
  // For pools that start later (OpenMP, OpenBLAS in child processes).
  setenv("OMP_NUM_THREADS", s.c_str(), 1);
  setenv("OPENBLAS_NUM_THREADS", s.c_str(), 1);
  // Torch parallelizes over rows; BLAS calls inside a parallel region must not
  // spawn their own threads, so BLAS follows the same count.
  at::set_num_threads(n);
  set_blas_threads(n);
}

int threads() { return at::get_num_threads(); }

}  // namespace dist2
