#include "dist2/util/json.h"

#include <fmt/format.h>

namespace dist2::json {

Json parse(std::string_view text) {
  return reading([&] { return Json::parse(text.begin(), text.end()); });
}

std::string dump(const Json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string text(const Json& value, const std::string& what) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return dump(value);
  throw Error(fmt::format("JSON: '{}' must be text", what));
}

}  // namespace dist2::json
