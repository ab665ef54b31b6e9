#pragma once
// Errors: the library throws dist2::Error with a one-line message that names the
// culprit and what would be valid; the command line prints it and exits non-zero.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace dist2 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// DIST2_CHECK(cond, "fmt {}", args...) throws dist2::Error when cond is false.
#define DIST2_CHECK(cond, ...)                                  \
  do {                                                          \
    if (!(cond)) throw ::dist2::Error(::fmt::format(__VA_ARGS__)); \
  } while (0)

}  // namespace dist2
