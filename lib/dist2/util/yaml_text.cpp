#include "dist2/util/yaml_text.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dist2/util/error.h"

namespace dist2 {

std::string yaml_location(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

std::string read_text_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  DIST2_CHECK(!std::filesystem::is_directory(path, ec), "cannot read {} '{}': it is a directory", what, path);
  std::ifstream in(path, std::ios::binary);
  DIST2_CHECK(in.good(), "cannot read {} '{}': {}", what, path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  DIST2_CHECK(!in.bad(), "cannot read {} '{}': read failed", what, path);
  return text.str();
}

YAML::Node parse_yaml(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: malformed YAML: {}", yaml_location(file, e.mark), e.msg));
  }
}

}  // namespace dist2
