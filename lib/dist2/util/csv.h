#pragma once
// One line of CSV (RFC 4180 quoting), read and written.
#include <string>
#include <vector>

namespace dist2 {

// Parses one CSV line into fields; an unterminated quote is an Error.
std::vector<std::string> parse_csv_line(const std::string& line);
// A field as written: quoted when it holds a comma or a quote; line breaks
// become spaces, so every record stays on one line.
std::string csv_field(const std::string& text);

}  // namespace dist2
