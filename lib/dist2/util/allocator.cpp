#include "dist2/util/allocator.h"

#include <cstdlib>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dist2 {

namespace {
constexpr long kMmapThreshold = 32L << 20;  // glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
constexpr long kTrimThreshold = 1L << 30;
const char* setting = "default";  // constant-initialised: tune_allocator may run from a static initialiser

bool set_in_environment(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}
}  // namespace

std::string tune_allocator() {
  if (set_in_environment("MALLOC_MMAP_THRESHOLD_") || set_in_environment("MALLOC_TRIM_THRESHOLD_") ||
      set_in_environment("GLIBC_TUNABLES"))
    return setting = "environment";
  if (const char* v = std::getenv("DIST2_MALLOC"); v != nullptr && std::string_view(v) == "default")
    return setting = "default";
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
