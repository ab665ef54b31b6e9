#pragma once
// JSON through nlohmann::json (Debian's nlohmann-json3-dev), with dist2's error
// rule: malformed input is a one-line dist2::Error, never a foreign exception.
// Objects keep their members in insertion order (ordered_json), so output reads
// in the order it was built. NaN and infinities are written as null (JSON has
// no such numbers).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dist2/util/error.h"

namespace dist2::json {

using Json = nlohmann::ordered_json;

// The document in `text`; a syntax error is dist2::Error "JSON: <reason>".
Json parse(std::string_view text);

// One line (indent < 0) or indented; invalid UTF-8 in strings is replaced (U+FFFD)
// rather than thrown on.
std::string dump(const Json& value, int indent = -1);

// A string as it is, a number as JSON writes it; anything else is dist2::Error
// "JSON: '<what>' must be text".
std::string text(const Json& value, const std::string& what);

// Runs fn; a nlohmann exception inside (a missing key, a wrong type) becomes
// dist2::Error "JSON: <reason>".
template <class Fn>
auto reading(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("JSON: ") + e.what());
  }
}

}  // namespace dist2::json
