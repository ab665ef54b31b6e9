#pragma once
// Minimal JSON writing for command output (no parsing needed by the library).
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace dist2::json {

inline std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += c;
    }
  }
  return out + "\"";
}

// Round-trip precision; NaN and infinities become null (JSON has no such numbers).
inline std::string number(double v) { return std::isfinite(v) ? fmt::format("{:.17g}", v) : "null"; }

inline std::string array(const std::vector<double>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + number(xs[i]);
  return out + "]";
}

}  // namespace dist2::json
