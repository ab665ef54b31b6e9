#pragma once
// A stable 64-bit hash (FNV-1a) for cache keys: unlike std::hash it is the same
// on every build and machine.
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace dist2 {

inline uint64_t fnv1a64(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

inline std::string hex16(uint64_t h) { return fmt::format("{:016x}", h); }

}  // namespace dist2
