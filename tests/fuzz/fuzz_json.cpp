// Fuzz target: the JSON reader (json::parse) and the dataset line decoder built
// on it. Any input must parse or raise dist2::Error.
#include <cstdint>
#include <string>
#include <string_view>

#include "dist2/util/error.h"
#include "dist2/util/json_value.h"

using namespace dist2;

namespace {
// Touches every value the way readers do: as text where that is allowed.
void walk(const json::Value& v) {
  try {
    (void)v.as_text();
  } catch (const Error&) {
  }
  for (const auto& item : v.items) walk(item);
  for (const auto& [key, field] : v.fields) {
    if (v.find(key) != &field) std::abort();
    walk(field);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    walk(json::parse(std::string_view(reinterpret_cast<const char*>(data), size)));
  } catch (const Error&) {
  }
  return 0;
}
