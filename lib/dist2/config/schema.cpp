#include "dist2/config/schema.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dist2/util/error.h"

namespace dist2::config {

namespace {

std::string last_component(const std::string& key) {
  size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string first_component(const std::string& key) { return key.substr(0, key.find('.')); }

// Range bounds print as integers when they are integers ("must be >= 0").
std::string format_bound(double x) {
  if (std::nearbyint(x) == x && std::fabs(x) < 1e15) return fmt::format("{}", static_cast<int64_t>(x));
  return format_double(x);
}

[[noreturn]] void fail_type(const KeySpec& spec, const std::string& text) {
  throw Error(fmt::format("{} must be {}, got '{}'", spec.key, expected_kind(spec.type), text));
}

// The offset of the first byte that is not part of well-formed UTF-8 (no overlong
// forms, surrogates or code points past U+10FFFF); npos when there is none.
size_t first_invalid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned c = b(i);
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c < 0x80) len = 1;
    else if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return i;
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k)
      if (b(i + k) < (k == 1 ? lo : 0x80u) || b(i + k) > (k == 1 ? hi : 0xBFu)) return i;
    i += len;
  }
  return std::string::npos;
}

// Range and choices; `shown` is how the value appears in the message (the user's text).
void check_limits(const KeySpec& spec, const Value& value, const std::string& shown) {
  // Text must be UTF-8, as YAML is: otherwise the YAML a run stores for its config
  // (where the emitter replaces stray bytes) would not read back to the same config.
  if (const auto* text = std::get_if<std::string>(&value))
    if (const size_t at = first_invalid_utf8(*text); at != std::string::npos)
      throw Error(fmt::format("{} must be UTF-8 text; byte {} of the value is not", spec.key, at + 1));
  if (spec.type == Type::Int || spec.type == Type::Float) {
    double x = spec.type == Type::Int ? static_cast<double>(std::get<int64_t>(value)) : std::get<double>(value);
    if (spec.min) {
      bool ok = spec.min_exclusive ? x > *spec.min : x >= *spec.min;  // false for NaN
      if (!ok)
        throw Error(fmt::format("{} must be {} {}, got {}", spec.key, spec.min_exclusive ? ">" : ">=",
                                format_bound(*spec.min), shown));
    }
    if (spec.max && !(x <= *spec.max))
      throw Error(fmt::format("{} must be <= {}, got {}", spec.key, format_bound(*spec.max), shown));
  }
  if (!spec.choices.empty()) {
    std::string text = format_value(value);
    if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
      std::string hint = closest_match(text, spec.choices);
      throw Error(fmt::format("{} must be one of {}; got '{}'{}", spec.key, fmt::join(spec.choices, ", "), shown,
                              hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
    }
  }
}

}  // namespace

bool is_valid_key(const std::string& key) {
  static const std::regex pattern("[A-Za-z0-9_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_][A-Za-z0-9_-]*)*");
  return std::regex_match(key, pattern);
}

std::string expected_kind(Type type) {
  switch (type) {
    case Type::Int: return "an integer";
    case Type::Float: return "a number";
    case Type::Bool: return "true or false";
    case Type::String: return "a string";
  }
  return "?";
}

Value parse_value(const KeySpec& spec, const std::string& text) {
  std::optional<Value> value = parse_scalar(spec.type, text);
  if (!value) fail_type(spec, text);
  check_limits(spec, *value, text);
  return *value;
}

Value check_value(const KeySpec& spec, const Value& value) {
  Value typed = value;
  if (spec.type == Type::Float && type_of(value) == Type::Int)
    typed = static_cast<double>(std::get<int64_t>(value));
  if (type_of(typed) != spec.type)
    throw Error(fmt::format("{} must be {}, got the {} '{}'", spec.key, expected_kind(spec.type),
                            type_name(type_of(value)), format_value(value)));
  check_limits(spec, typed, format_value(typed));
  return typed;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = diagonal + (a[i - 1] != b[j - 1]);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) best = candidate, best_distance = d;
  }
  return best;
}

// ---- Schema ----

void Schema::check_new_key(const std::string& key) const {
  DIST2_CHECK(is_valid_key(key), "schema key '{}' is malformed: use dot-separated names of letters, digits, '_' or '-'",
              key);
  DIST2_CHECK(first_component(key) != "sweep", "schema key '{}' uses the reserved prefix 'sweep.'", key);
  DIST2_CHECK(!index_.count(key), "schema key '{}' is defined twice", key);
  // A key may not also be a group: "loss" and "loss.kind" cannot both hold values,
  // or a config could not be written as nested YAML.
  for (const auto& spec : specs_) {
    const std::string& other = spec.key;
    bool nested = (other.size() > key.size() && other.compare(0, key.size(), key) == 0 && other[key.size()] == '.') ||
                  (key.size() > other.size() && key.compare(0, other.size(), other) == 0 && key[other.size()] == '.');
    DIST2_CHECK(!nested, "schema key '{}' conflicts with '{}': a key cannot also be a group of keys", key, other);
  }
}

void Schema::add(KeySpec spec) {
  check_new_key(spec.key);
  DIST2_CHECK(spec.choices.empty() || spec.type != Type::Float,
              "schema key '{}': choices are for integer, boolean or string keys", spec.key);
  DIST2_CHECK(!(spec.min || spec.max) || spec.type == Type::Int || spec.type == Type::Float,
              "schema key '{}': a range needs an integer or number key", spec.key);
  try {
    spec.default_value = check_value(spec, spec.default_value);
  } catch (const Error& e) {
    throw Error(fmt::format("schema key '{}' has an invalid default: {}", spec.key, e.what()));
  }
  index_[spec.key] = specs_.size();
  specs_.push_back(std::move(spec));
}

Schema& Schema::add_int(const std::string& key, int64_t default_value, std::optional<double> min,
                        std::optional<double> max, const std::string& help) {
  add(KeySpec{key, Type::Int, default_value, min, max, false, {}, help});
  return *this;
}

Schema& Schema::add_float(const std::string& key, double default_value, std::optional<double> min,
                          std::optional<double> max, const std::string& help, bool min_exclusive) {
  add(KeySpec{key, Type::Float, default_value, min, max, min_exclusive, {}, help});
  return *this;
}

Schema& Schema::add_bool(const std::string& key, bool default_value, const std::string& help) {
  add(KeySpec{key, Type::Bool, default_value, {}, {}, false, {}, help});
  return *this;
}

Schema& Schema::add_string(const std::string& key, const std::string& default_value,
                           std::vector<std::string> choices, const std::string& help) {
  add(KeySpec{key, Type::String, default_value, {}, {}, false, std::move(choices), help});
  return *this;
}

Schema& Schema::not_hashed(const std::string& key) {
  auto it = index_.find(key);
  DIST2_CHECK(it != index_.end(), "schema: no key '{}' to leave out of the hash", key);
  specs_[it->second].hashed = false;
  return *this;
}

void Schema::merge(const Schema& other) {
  for (const auto& spec : other.specs_) {
    auto it = index_.find(spec.key);
    if (it != index_.end()) {
      specs_[it->second] = spec;
    } else {
      add(spec);
    }
  }
}

const KeySpec* Schema::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &specs_[it->second];
}

const KeySpec& Schema::require(const std::string& key) const {
  if (const KeySpec* spec = find(key)) return *spec;
  throw Error(unknown_key_message(key));
}

std::vector<std::string> Schema::keys() const {
  std::vector<std::string> out;
  for (const auto& spec : specs_) out.push_back(spec.key);
  return out;
}

std::string Schema::nearest(const std::string& key) const {
  std::vector<std::string> all = keys();
  std::string whole = closest_match(key, all);
  if (!whole.empty()) return whole;
  // "alpha" or "train.alpha" for "loss.alpha": match the last components alone.
  std::vector<std::string> lasts;
  for (const auto& k : all) lasts.push_back(last_component(k));
  std::string last = closest_match(last_component(key), lasts);
  if (last.empty()) return "";
  return all[std::find(lasts.begin(), lasts.end(), last) - lasts.begin()];
}

std::string Schema::unknown_key_message(const std::string& key) const {
  std::string hint = nearest(key);
  if (!hint.empty()) return fmt::format("unknown key '{}' (did you mean '{}'?)", key, hint);
  std::set<std::string> groups;
  for (const auto& spec : specs_) groups.insert(first_component(spec.key));
  return fmt::format("unknown key '{}' (known keys begin with: {})", key,
                     fmt::join(std::vector<std::string>(groups.begin(), groups.end()), ", "));
}

}  // namespace dist2::config
