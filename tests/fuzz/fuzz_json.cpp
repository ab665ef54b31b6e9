// Fuzz target: the dataset line decoder (example_from_json) over nlohmann's JSON
// reader, and the round trip of what it accepts. Any input must decode or raise
// dist2::Error (never another exception, never a crash); a decoded example must
// encode and decode to itself.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "dist2/tasks/dataset_cache.h"
#include "dist2/util/error.h"

using namespace dist2;

namespace {
bool same_values(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isfinite(a[i]) ? a[i] != b[i] : !std::isnan(b[i])) return false;  // JSON writes inf as null
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  Example e;
  try {
    e = example_from_json(line);
  } catch (const Error&) {
    return 0;
  }
  // Text that is not valid UTF-8 is written with replacement characters, so only
  // the numbers and the image count must survive every round trip.
  const Example back = example_from_json(example_to_json(e));
  if (!same_values(e.values, back.values) || e.images.size() != back.images.size()) std::abort();
  return 0;
}
