#pragma once
// Internal to dist2::config: YAML documents and command-line overrides turned into
// flat, located settings ("loss.alpha" with the file:line:col of its key and value),
// and settings resolved against a schema with errors that say where they came from.
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "dist2/config/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/yaml_text.h"  // yaml_location, read_text_file, parse_yaml

namespace dist2::config::detail {

struct Setting {
  enum class Kind { Scalar, Null, List };
  std::string key;          // dotted
  std::string key_where;    // message prefix for the key: "FILE:LINE:COL" or "override 'k=v'"
  std::string value_where;  // message prefix for the value
  Kind kind = Kind::Scalar;
  std::string text;                       // Kind::Scalar
  std::vector<std::string> items;         // Kind::List: each item's scalar text
  std::vector<std::string> items_where;   // and where it is
  std::string list_hint;                  // appended when a list is given for a single value
};

// Nested maps become dotted keys under `prefix` ("train: {steps: 5}" -> train.steps;
// keys may themselves be dotted). Lists must hold scalars. A key given twice after
// flattening is an error naming both places.
std::vector<Setting> flatten(const YAML::Node& map, const std::string& file, const std::string& prefix = "");

// The value of a setting for one key: unknown keys, lists, nulls, wrong types and
// out-of-range values raise dist2::Error prefixed with where they came from.
Value resolve_single(const Schema& schema, const Setting& setting);
// The values of a sweep setting (`key` without the "sweep." prefix); a single scalar
// is a one-value list; an empty list is an error.
std::vector<Value> resolve_list(const Schema& schema, const Setting& setting, const std::string& key);

// Runs fn; a dist2::Error it throws is rethrown as "where: message".
template <class Fn>
auto located(const std::string& where, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace dist2::config::detail
