#pragma once
// Config values: the four scalar types a config key may hold, and their canonical
// text (what a run's params table stores and what the config hash is computed over).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace dist2::config {

// Alternatives in the order of Type below; construct with int64_t{..}, a double,
// a bool or a std::string to pick one explicitly.
using Value = std::variant<int64_t, double, bool, std::string>;

enum class Type { Int, Float, Bool, String };

Type type_of(const Value& v);
// "integer", "number", "boolean", "string": the words used in error messages.
std::string type_name(Type t);

// Canonical text of a value. Ints in decimal; floats as the shortest text that reads
// back to the same double, always marked as floats ("2.0", "0.001", "1e-05", ".inf",
// ".nan": Python's repr rules, YAML's spellings of the non-finite values); bools
// "true"/"false"; strings as they are. Independent of locale and library versions,
// because the config hash is computed from it.
std::string format_value(const Value& v);
std::string format_double(double x);

// The text of a YAML scalar read as `type`, or nullopt when it is not one: integers
// "[-+]?[0-9]+" within 64 bits; numbers also "1.5", ".5", "1e-3", ".inf", "-.inf",
// ".nan"; booleans true/True/TRUE/false/False/FALSE; any text is a string.
std::optional<Value> parse_scalar(Type type, const std::string& text);

}  // namespace dist2::config
