#include "dist2/util/allocator.h"

#include "dist2/util/env.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dist2 {

namespace {
constexpr long kMmapThreshold = 32L << 20;  // glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
constexpr long kTrimThreshold = 1L << 30;
const char* setting = "default";  // constant-initialised: tune_allocator may run from a static initialiser
}  // namespace

std::string tune_allocator() {
  if (env_set("MALLOC_MMAP_THRESHOLD_") || env_set("MALLOC_TRIM_THRESHOLD_") || env_set("GLIBC_TUNABLES"))
    return setting = "environment";
  if (env_value("DIST2_MALLOC") == "default") return setting = "default";
#if defined(__GLIBC__)
  // Both or neither: setting the trim threshold alone also freezes the mmap
  // threshold at 128 KiB, which makes every step slower (4x measured).
  if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1 &&
      mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1)
    setting = "dist2";
#endif
  return setting;
}

std::string allocator_setting() { return setting; }

std::string allocator_env_prefix() {
  return "MALLOC_MMAP_THRESHOLD_=" + std::to_string(kMmapThreshold) +
         " MALLOC_TRIM_THRESHOLD_=" + std::to_string(kTrimThreshold) + " ";
}

}  // namespace dist2
