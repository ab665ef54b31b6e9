#pragma once
// Short builders for config keys with a default, a range and a help line.
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "dist2/config/config.h"

namespace dist2 {

inline void add_int(config::Schema& s, const std::string& key, int64_t def, std::optional<double> min,
                    const std::string& help, std::optional<double> max = std::nullopt) {
  config::KeySpec k;
  k.key = key, k.type = config::Type::Int, k.default_value = def, k.min = min, k.max = max, k.help = help;
  s.add(k);
}

inline void add_float(config::Schema& s, const std::string& key, double def, std::optional<double> min,
                      const std::string& help, bool min_exclusive = false, std::optional<double> max = std::nullopt) {
  config::KeySpec k;
  k.key = key, k.type = config::Type::Float, k.default_value = def, k.min = min, k.max = max;
  k.min_exclusive = min_exclusive, k.help = help;
  s.add(k);
}

inline void add_bool(config::Schema& s, const std::string& key, bool def, const std::string& help) {
  config::KeySpec k;
  k.key = key, k.type = config::Type::Bool, k.default_value = def, k.help = help;
  s.add(k);
}

inline void add_string(config::Schema& s, const std::string& key, const std::string& def, const std::string& help,
                       std::vector<std::string> choices = {}) {
  config::KeySpec k;
  k.key = key, k.type = config::Type::String, k.default_value = def, k.choices = std::move(choices), k.help = help;
  s.add(k);
}

}  // namespace dist2
