#pragma once
// How the process's malloc treats the blocks a training step frees.
//
// glibc serves every block above its mmap threshold (128 KiB at start, raised
// only to the largest mmapped block freed so far) with a fresh mmap and returns
// it to the kernel on free, and it trims the heap's top whenever more than
// twice that is free there. A training step allocates and frees its
// activations and gradients (1-10 MiB each for the models here) hundreds of
// times, so every step faults its working set in again page by page and zeroes
// it; on a VM, where a page fault is a hypervisor exit, that cost more than the
// arithmetic (`dist2 bench train`: about 2x per step, results/BENCH.md). dist2
// keeps blocks up to 32 MiB (glibc's ceiling for the threshold) on the heap and
// keeps up to 1 GiB of freed heap in the process. Peak memory is unchanged; the
// resident set simply does not shrink between steps.

#include <string>

namespace dist2 {

// Applies the setting above unless the user set glibc's own knobs
// (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES) or
// DIST2_MALLOC=default. Call first thing in main(). Returns what holds now:
// "dist2", "default" or "environment" (also allocator_setting()).
std::string tune_allocator();
std::string allocator_setting();

// The same setting as environment variables, "MALLOC_...=N MALLOC_...=N ", for
// a child process that is not dist2 (the bench's Python peer).
std::string allocator_env_prefix();

}  // namespace dist2
