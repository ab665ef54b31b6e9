#include "dist2/config/value.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

namespace dist2::config {

Type type_of(const Value& v) { return static_cast<Type>(v.index()); }

std::string type_name(Type t) {
  switch (t) {
    case Type::Int: return "integer";
    case Type::Float: return "number";
    case Type::Bool: return "boolean";
    case Type::String: return "string";
  }
  return "?";
}

namespace {

// The fewest significant digits (1..17) that read back to exactly x, as
// (digits without the point, decimal exponent of the first digit).
std::pair<std::string, int> shortest_digits(double x) {
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  // buf is "d.ddde[+-]XX" (or "de[+-]XX" for one digit); x is positive here.
  std::string text(buf);
  size_t e = text.find('e');
  std::string digits;
  for (size_t i = 0; i < e; ++i)
    if (text[i] != '.') digits += text[i];
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  return {digits, std::atoi(text.c_str() + e + 1)};
}

}  // namespace

// Python's float repr: positional when -4 <= exponent < 16, scientific otherwise.
std::string format_double(double x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  std::string sign = std::signbit(x) ? "-" : "";
  if (x == 0) return sign + "0.0";
  auto [digits, exponent] = shortest_digits(std::fabs(x));
  const int n = static_cast<int>(digits.size());
  if (exponent < -4 || exponent >= 16) {
    std::string mantissa = digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "");
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + mantissa + exp_text;
  }
  if (exponent < 0) return sign + "0." + std::string(-exponent - 1, '0') + digits;
  if (exponent + 1 >= n) return sign + digits + std::string(exponent + 1 - n, '0') + ".0";
  return sign + digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
}

std::string format_value(const Value& v) {
  switch (type_of(v)) {
    case Type::Int: return std::to_string(std::get<int64_t>(v));
    case Type::Float: return format_double(std::get<double>(v));
    case Type::Bool: return std::get<bool>(v) ? "true" : "false";
    case Type::String: return std::get<std::string>(v);
  }
  return "";
}

}  // namespace dist2::config

namespace dist2::config {

namespace {

std::optional<Value> parse_int(const std::string& text) {
  static const std::regex pattern("[-+]?[0-9]+");
  if (!std::regex_match(text, pattern)) return std::nullopt;
  errno = 0;
  long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return Value{static_cast<int64_t>(v)};
}

// YAML's float forms (and plain integers); not strtod's "inf", "nan" or hex floats.
std::optional<Value> parse_float(const std::string& text) {
  static const std::regex pattern("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex infinity("[-+]?\\.(inf|Inf|INF)");
  static const std::regex not_a_number("\\.(nan|NaN|NAN)");
  if (std::regex_match(text, infinity)) return Value{text[0] == '-' ? -HUGE_VAL : HUGE_VAL};
  if (std::regex_match(text, not_a_number)) return Value{std::nan("")};
  if (!std::regex_match(text, pattern)) return std::nullopt;
  errno = 0;
  double v = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(v)) return std::nullopt;  // 1e999 is no usable number
  return Value{v};
}

std::optional<Value> parse_bool(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") return Value{true};
  if (text == "false" || text == "False" || text == "FALSE") return Value{false};
  return std::nullopt;
}

}  // namespace

std::optional<Value> parse_scalar(Type type, const std::string& text) {
  switch (type) {
    case Type::Int: return parse_int(text);
    case Type::Float: return parse_float(text);
    case Type::Bool: return parse_bool(text);
    case Type::String: return Value{text};
  }
  return std::nullopt;
}

}  // namespace dist2::config
