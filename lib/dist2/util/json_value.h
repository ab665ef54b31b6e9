#pragma once
// A small JSON reader for dataset lines (JSONL) and command output in tests:
// objects, arrays, strings (with \uXXXX escapes as UTF-8), numbers, booleans, null.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dist2::json {

struct Value {
  enum class Type { null, boolean, number, string, array, object } type = Type::null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Value> items;
  std::map<std::string, Value> fields;

  bool is_object() const { return type == Type::object; }
  // Field access on objects; throws dist2::Error naming the key when absent.
  const Value& at(const std::string& key) const;
  const Value* find(const std::string& key) const;
  // The value as text: strings as they are, numbers as written by to_text.
  std::string as_text() const;
};

// Throws dist2::Error "JSON: <what> at offset N" on malformed input.
Value parse(std::string_view text);

}  // namespace dist2::json
