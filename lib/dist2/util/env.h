#pragma once
// Reading the environment. A variable set to the empty string counts as unset,
// as a shell user means by `NAME= dist2 ...`.
#include <cstdlib>
#include <string_view>

namespace dist2 {

// NAME's value, or "" when it is unset.
inline std::string_view env_value(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string_view(v) : std::string_view();
}

// True when NAME is set to something other than "".
inline bool env_set(const char* name) { return !env_value(name).empty(); }

}  // namespace dist2
