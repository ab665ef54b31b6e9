#include "dist2/config/config.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dist2/config/yaml_source.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"

namespace dist2::config {

Config::Config(const Schema& schema) : Config(std::make_shared<const Schema>(schema)) {}

Config::Config(std::shared_ptr<const Schema> schema) : schema_(std::move(schema)) {
  for (const auto& key : schema_->keys()) values_[key] = schema_->find(key)->default_value;
}

Config Config::from_yaml_string(const std::string& text, const Schema& schema, const std::string& source) {
  Config config(schema);
  YAML::Node doc = parse_yaml(text, source);
  if (doc.IsNull()) return config;
  DIST2_CHECK(doc.IsMap(), "{}: expected a mapping of config keys", yaml_location(source, doc.Mark()));
  for (const auto& setting : detail::flatten(doc, source))
    config.values_[setting.key] = detail::resolve_single(schema, setting);
  return config;
}

Config Config::from_yaml_file(const std::string& path, const Schema& schema) {
  return from_yaml_string(read_text_file(path, "config file"), schema, path);
}

const Value& Config::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it != values_.end()) return it->second;
  std::string hint;
  if (schema_) {
    hint = schema_->nearest(key);
  } else {
    std::vector<std::string> keys;
    for (const auto& [k, v] : values_) keys.push_back(k);
    hint = closest_match(key, keys);
  }
  throw Error(fmt::format("config has no key '{}'{}", key, hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
}

namespace {
[[noreturn]] void wrong_type(const std::string& key, const Value& v, Type asked) {
  throw Error(fmt::format("config key '{}' holds the {} '{}', not {}", key, type_name(type_of(v)), format_value(v),
                          expected_kind(asked)));
}
}  // namespace

int64_t Config::get_int(const std::string& key) const {
  const Value& v = get(key);
  if (auto* x = std::get_if<int64_t>(&v)) return *x;
  wrong_type(key, v, Type::Int);
}

double Config::get_double(const std::string& key) const {
  const Value& v = get(key);
  if (auto* x = std::get_if<double>(&v)) return *x;
  if (auto* x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  wrong_type(key, v, Type::Float);
}

bool Config::get_bool(const std::string& key) const {
  const Value& v = get(key);
  if (auto* x = std::get_if<bool>(&v)) return *x;
  wrong_type(key, v, Type::Bool);
}

const std::string& Config::get_string(const std::string& key) const {
  const Value& v = get(key);
  if (auto* x = std::get_if<std::string>(&v)) return *x;
  wrong_type(key, v, Type::String);
}

void Config::set(const std::string& key, const Value& value) {
  if (!schema_) {
    values_[key] = value;
    return;
  }
  values_[key] = check_value(schema_->require(key), value);
}

std::string Config::value_string(const std::string& key) const { return format_value(get(key)); }

std::string Config::canonical_text() const {
  std::string text;
  for (const auto& [key, value] : values_) {
    if (schema_) {
      const KeySpec* spec = schema_->find(key);
      if (spec && !spec->hashed) continue;
    }
    std::string escaped;
    for (char c : format_value(value)) {
      if (c == '\\') escaped += "\\\\";
      else if (c == '\n') escaped += "\\n";
      else escaped += c;
    }
    text += key + "=" + escaped + "\n";
  }
  return text;
}

std::string Config::hash() const {
  // FNV-1a, 64 bit: fixed constants, so the hash is the same on every platform.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : canonical_text()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

namespace {

using Entry = std::map<std::string, Value>::const_iterator;

// The key from its component `depth` on: suffix("a.b.c", 1) == "b.c".
std::string suffix(const std::string& key, size_t depth) {
  size_t start = 0;
  for (size_t i = 0; i < depth; ++i) start = key.find('.', start) + 1;
  return key.substr(start);
}

// The component at `depth`: component("a.b.c", 1) == "b".
std::string component(const std::string& key, size_t depth) {
  std::string rest = suffix(key, depth);
  return rest.substr(0, rest.find('.'));
}

size_t component_count(const std::string& key) { return std::count(key.begin(), key.end(), '.') + 1; }

// A string that YAML would read as a number, boolean or null is quoted, so other
// tools (and readers) see a string.
bool needs_quotes(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return true;
  return parse_scalar(Type::Int, s) || parse_scalar(Type::Float, s) || parse_scalar(Type::Bool, s);
}

void emit_scalar(YAML::Emitter& out, const Value& v) {
  if (auto* s = std::get_if<std::string>(&v)) {
    if (needs_quotes(*s)) out << YAML::DoubleQuoted;
    out << *s;
  } else {
    out << format_value(v);
  }
}

// Emits the entries [begin, end), which share their first `depth` key components,
// as one nested mapping.
void emit_group(YAML::Emitter& out, Entry begin, Entry end, size_t depth) {
  out << YAML::BeginMap;
  for (Entry it = begin; it != end;) {
    std::string name = component(it->first, depth);
    Entry run_end = it;
    while (run_end != end && component(run_end->first, depth) == name) ++run_end;
    bool leaf = component_count(it->first) == depth + 1;
    if (leaf && std::next(it) == run_end) {
      out << YAML::Key << name << YAML::Value;
      emit_scalar(out, it->second);
    } else if (!leaf) {
      out << YAML::Key << name << YAML::Value;
      emit_group(out, it, run_end, depth + 1);
    } else {
      // "a" beside "a.b" (possible only without a schema): keep the rest dotted.
      for (Entry e = it; e != run_end; ++e) {
        out << YAML::Key << suffix(e->first, depth) << YAML::Value;
        emit_scalar(out, e->second);
      }
    }
    it = run_end;
  }
  out << YAML::EndMap;
}

}  // namespace

std::string Config::to_yaml() const {
  if (values_.empty()) return "{}\n";
  YAML::Emitter out;
  emit_group(out, values_.begin(), values_.end(), 0);
  return std::string(out.c_str()) + "\n";
}

std::string Config::to_json() const {
  json::Json out = json::Json::object();
  for (const auto& [key, value] : values_) {
    switch (type_of(value)) {
      case Type::Int: out[key] = std::get<int64_t>(value); break;
      case Type::Bool: out[key] = std::get<bool>(value); break;
      case Type::Float: out[key] = std::get<double>(value); break;  // NaN and inf: null
      case Type::String: out[key] = std::get<std::string>(value); break;
    }
  }
  return json::dump(out);
}

}  // namespace dist2::config
