#include "dist2/config/overrides.h"

#include "dist2/config/schema.h"
#include "dist2/util/error.h"

namespace dist2::config {

std::vector<Override> parse_overrides(const std::vector<std::string>& args) {
  std::vector<Override> out;
  for (const auto& arg : args) {
    size_t eq = arg.find('=');
    DIST2_CHECK(eq != std::string::npos, "override '{}': expected key=value, e.g. loss.alpha=0.1", arg);
    std::string key = arg.substr(0, eq);
    DIST2_CHECK(is_valid_key(key),
                "override '{}': '{}' is not a key; expected key=value with a dotted key, e.g. loss.alpha=0.1", arg,
                key);
    out.push_back({key, arg.substr(eq + 1)});
  }
  return out;
}

std::string override_text(const Override& o) { return o.key + "=" + o.value_text; }

}  // namespace dist2::config
