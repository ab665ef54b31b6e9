#include "dist2/report/yaml_fields.h"

#include <fmt/format.h>

#include "dist2/util/error.h"

namespace dist2::report::detail {

std::string where(const std::string& source, const YAML::Node& node) { return yaml_location(source, node.Mark()); }

Fields::Fields(const YAML::Node& map, const std::string& source, const std::string& what,
               std::set<std::string> allowed)
    : map_(map), source_(source), what_(what) {
  DIST2_CHECK(map.IsMap(), "{}: {} must be a mapping", where(source, map), what);
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (allowed.count(key)) continue;
    std::string valid;
    for (const auto& a : allowed) valid += (valid.empty() ? "" : ", ") + a;
    throw Error(fmt::format("{}: unknown key '{}' in {} (valid: {})", where(source, kv.first), key, what, valid));
  }
}

// Lookups through a const node: a missing key must not add one.
bool Fields::has(const std::string& key) const {
  const YAML::Node& map = map_;
  return static_cast<bool>(map[key]);
}

YAML::Node Fields::at(const std::string& key) const {
  const YAML::Node& map = map_;
  YAML::Node found = map[key];
  if (!found) throw Error(fmt::format("{}: {} needs '{}'", where(source_, map_), what_, key));
  return found;
}

void Fields::fail(const std::string& key, const std::string& message) const {
  const YAML::Node& map = map_;
  const YAML::Node n = map[key];
  throw Error(fmt::format("{}: {}: {}", where(source_, n ? n : map_), key, message));
}

std::string Fields::text(const std::string& key) const {
  const YAML::Node n = at(key);
  if (!n.IsScalar()) fail(key, "must be a single value");
  return n.Scalar();
}

std::string Fields::text_or(const std::string& key, const std::string& fallback) const {
  return has(key) ? text(key) : fallback;
}

bool Fields::flag_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const std::string t = text(key);
  if (t == "true") return true;
  if (t == "false") return false;
  fail(key, fmt::format("must be true or false, got '{}'", t));
}

double Fields::number_or(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  const std::string t = text(key);
  try {
    size_t used = 0;
    const double v = std::stod(t, &used);
    if (used == t.size()) return v;
  } catch (const std::exception&) {
  }
  fail(key, fmt::format("must be a number, got '{}'", t));
}

int Fields::int_or(const std::string& key, int fallback) const {
  const double v = number_or(key, fallback);
  if (v != static_cast<int>(v) || v < 0) fail(key, fmt::format("must be a whole number >= 0, got {}", v));
  return static_cast<int>(v);
}

namespace {

void splice(const YAML::Node& list, std::vector<YAML::Node>& out) {
  for (const auto& item : list) {
    if (item.IsSequence()) splice(item, out);
    else out.push_back(item);
  }
}

}  // namespace

std::vector<std::string> Fields::texts(const std::string& key) const {
  if (!has(key)) return {};
  const YAML::Node n = at(key);
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(key, "must be a list");
  std::vector<YAML::Node> items;
  splice(n, items);
  std::vector<std::string> out;
  for (const auto& item : items) {
    DIST2_CHECK(item.IsScalar(), "{}: {} must list single values", where(source_, item), key);
    out.push_back(item.Scalar());
  }
  return out;
}

std::vector<YAML::Node> Fields::maps(const std::string& key) const {
  if (!has(key)) return {};
  const YAML::Node n = at(key);
  if (!n.IsSequence()) fail(key, "must be a list");
  std::vector<YAML::Node> items;
  splice(n, items);
  for (const auto& item : items)
    DIST2_CHECK(item.IsMap(), "{}: each item of {} must be a mapping", where(source_, item), key);
  return items;
}

std::vector<std::pair<std::string, std::string>> Fields::scalar_map(const std::string& key) const {
  if (!has(key)) return {};
  const YAML::Node n = at(key);
  if (!n.IsMap()) fail(key, "must be a mapping of key: value");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : n) {
    DIST2_CHECK(kv.second.IsScalar(), "{}: {}.{} must be a single value", where(source_, kv.second), key,
                kv.first.as<std::string>());
    out.emplace_back(kv.first.as<std::string>(), kv.second.Scalar());
  }
  return out;
}

}  // namespace dist2::report::detail
