#pragma once
// Internal to dist2::report: strict reading of the report's data files (layouts,
// the paper's numbers). Every error is one line, dist2::Error "FILE:LINE:COL: what".
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "dist2/util/yaml_text.h"  // parse_yaml, read_text_file

namespace dist2::report::detail {

// "SOURCE:LINE:COL" (1-based) of a node (dist2::yaml_location of its mark).
std::string where(const std::string& source, const YAML::Node& node);

// A mapping whose keys must come from `allowed`: an unknown key is an error naming
// the allowed ones (so a typo never silently drops a setting).
class Fields {
 public:
  Fields(const YAML::Node& map, const std::string& source, const std::string& what, std::set<std::string> allowed);

  bool has(const std::string& key) const;
  const YAML::Node& node() const { return map_; }
  std::string text(const std::string& key) const;                      // required scalar
  std::string text_or(const std::string& key, const std::string& fallback) const;
  bool flag_or(const std::string& key, bool fallback) const;            // true/false
  int int_or(const std::string& key, int fallback) const;
  double number_or(const std::string& key, double fallback) const;
  // A list of scalars; a scalar alone is a list of one; an item that is itself a
  // list (an alias of a shared list) is spliced in.
  std::vector<std::string> texts(const std::string& key) const;
  // A list of mappings, with nested lists spliced in the same way; empty when absent.
  std::vector<YAML::Node> maps(const std::string& key) const;
  // A mapping of scalars, in file order; empty when absent.
  std::vector<std::pair<std::string, std::string>> scalar_map(const std::string& key) const;

  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  const std::string& source() const { return source_; }

 private:
  YAML::Node at(const std::string& key) const;
  YAML::Node map_;
  std::string source_, what_;
};

}  // namespace dist2::report::detail
