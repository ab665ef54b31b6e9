#include "dist2/config/yaml_source.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace dist2::config::detail {

namespace {

void flatten_into(const YAML::Node& map, const std::string& file, const std::string& prefix,
                  std::vector<Setting>& out) {
  // Copies, not references: yaml-cpp's iterators hand out temporaries.
  for (const auto& pair : map) {
    const YAML::Node key_node = pair.first;
    const YAML::Node value = pair.second;
    std::string key_where = yaml_location(file, key_node.Mark());
    DIST2_CHECK(key_node.IsScalar() && !key_node.Scalar().empty(), "{}: a key must be a plain name", key_where);
    std::string key = prefix.empty() ? key_node.Scalar() : prefix + "." + key_node.Scalar();
    if (value.IsMap()) {
      flatten_into(value, file, key, out);
      continue;
    }
    Setting s;
    s.key = key;
    s.key_where = key_where;
    s.value_where = yaml_location(file, value.Mark());
    s.list_hint = " (lists belong under sweep:)";
    if (value.IsNull()) {
      s.kind = Setting::Kind::Null;
      s.value_where = key_where;  // an empty value's own mark is on the next line
    } else if (value.IsSequence()) {
      s.kind = Setting::Kind::List;
      for (const auto& item : value) {
        std::string item_where = yaml_location(file, item.Mark());
        DIST2_CHECK(item.IsScalar(), "{}: {}: each item must be a single value", item_where, key);
        s.items.push_back(item.Scalar());
        s.items_where.push_back(item_where);
      }
    } else {
      s.text = value.Scalar();
    }
    out.push_back(std::move(s));
  }
}

}  // namespace

std::vector<Setting> flatten(const YAML::Node& map, const std::string& file, const std::string& prefix) {
  std::vector<Setting> out;
  flatten_into(map, file, prefix, out);
  std::map<std::string, std::string> first_seen;
  for (const auto& s : out) {
    auto [it, fresh] = first_seen.emplace(s.key, s.key_where);
    DIST2_CHECK(fresh, "{}: key '{}' is given twice (first at {})", s.key_where, s.key, it->second);
  }
  return out;
}

Value resolve_single(const Schema& schema, const Setting& s) {
  const KeySpec& spec = located(s.key_where, [&]() -> const KeySpec& { return schema.require(s.key); });
  switch (s.kind) {
    case Setting::Kind::Null:
      throw Error(fmt::format("{}: {} must be {}, got nothing", s.value_where, s.key, expected_kind(spec.type)));
    case Setting::Kind::List:
      throw Error(fmt::format("{}: {} must be a single value, got a list{}", s.value_where, s.key, s.list_hint));
    case Setting::Kind::Scalar: break;
  }
  return located(s.value_where, [&] { return parse_value(spec, s.text); });
}

std::vector<Value> resolve_list(const Schema& schema, const Setting& s, const std::string& key) {
  const KeySpec& spec = located(s.key_where, [&]() -> const KeySpec& { return schema.require(key); });
  switch (s.kind) {
    case Setting::Kind::Null:
      throw Error(fmt::format("{}: sweep: {} needs a list of values", s.value_where, key));
    case Setting::Kind::Scalar:
      return {located(s.value_where, [&] { return parse_value(spec, s.text); })};
    case Setting::Kind::List: break;
  }
  DIST2_CHECK(!s.items.empty(), "{}: sweep: {} has an empty list", s.value_where, key);
  std::vector<Value> values;
  for (size_t i = 0; i < s.items.size(); ++i) {
    Value v = located(s.items_where[i], [&] { return parse_value(spec, s.items[i]); });
    // A repeated value would run the same trial twice under one config hash.
    DIST2_CHECK(std::find(values.begin(), values.end(), v) == values.end(), "{}: sweep: {} lists {} twice",
                s.items_where[i], key, format_value(v));
    values.push_back(std::move(v));
  }
  return values;
}

}  // namespace dist2::config::detail
