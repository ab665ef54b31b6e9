#pragma once
// A resolved config: one typed value for every key of its schema (defaults filled
// in), with a stable hash and YAML / JSON forms. A run stores to_yaml() and can be
// re-loaded with from_yaml_string().
#include <map>
#include <memory>
#include <string>

#include "dist2/config/schema.h"
#include "dist2/config/value.h"

namespace dist2::config {

class Config {
 public:
  // No schema: set() stores any key and value unchecked.
  Config() = default;
  // Every key of the schema at its default; set() then checks keys and values.
  explicit Config(const Schema& schema);
  explicit Config(std::shared_ptr<const Schema> schema);

  // Reads a YAML mapping (nested or dotted keys, as to_yaml() writes) against the
  // schema; keys it lacks keep their defaults. `source` names it in error messages.
  static Config from_yaml_string(const std::string& text, const Schema& schema,
                                 const std::string& source = "<config>");
  static Config from_yaml_file(const std::string& path, const Schema& schema);

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  // The value; dist2::Error naming the key when absent or of another type.
  const Value& get(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;  // an integer value is accepted
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;

  // With a schema: the key must be in it and the value must pass its checks (an
  // integer for a Float key is stored as a double). dist2::Error otherwise.
  void set(const std::string& key, const Value& value);

  const std::map<std::string, Value>& values() const { return values_; }
  const Schema* schema() const { return schema_.get(); }

  // The canonical text of one value (format_value): what a params table stores.
  std::string value_string(const std::string& key) const;
  // "key=value\n" per key in sorted order, with '\\' and newlines in strings escaped:
  // the text the hash is computed over. Keys the schema marks not hashed (the
  // device) are left out.
  std::string canonical_text() const;
  // 16 lowercase hex digits: FNV-1a 64 of canonical_text(). Equal configs hash
  // equally whatever order their keys were set in; any changed value changes it.
  std::string hash() const;

  // Nested YAML, keys sorted; strings that would read as numbers or booleans quoted.
  std::string to_yaml() const;
  // One flat JSON object, keys sorted; non-finite numbers become null.
  std::string to_json() const;

  bool operator==(const Config& other) const { return values_ == other.values_; }
  bool operator!=(const Config& other) const { return !(*this == other); }

 private:
  std::shared_ptr<const Schema> schema_;
  std::map<std::string, Value> values_;
};

}  // namespace dist2::config
