#pragma once
// YAML files read with dist2's error rule: every failure is one dist2::Error line
// that names the file (and the line and column where YAML knows them). Shared by
// the experiment files (config/) and the report's data files (report/).
#include <string>

#include <yaml-cpp/yaml.h>

namespace dist2 {

// "FILE:LINE:COL" (1-based), or "FILE" when the mark is unknown.
std::string yaml_location(const std::string& file, const YAML::Mark& mark);
// The whole file, or dist2::Error "cannot read WHAT 'PATH': reason".
std::string read_text_file(const std::string& path, const std::string& what);
// YAML::Load with parse errors turned into "FILE:LINE:COL: malformed YAML: reason".
YAML::Node parse_yaml(const std::string& text, const std::string& file);

}  // namespace dist2
