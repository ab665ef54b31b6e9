#pragma once
// One line of CSV (RFC 4180 quoting), read and written.
#include <string>
#include <vector>

namespace dist2 {

// Parses one CSV line into fields; an unterminated quote is an Error.
std::vector<std::string> parse_csv_line(const std::string& line);
// A field as RFC 4180 writes it: quoted when it holds a comma, a quote or a
// line break (kept inside the quotes). The one CSV writer of dist2.
std::string csv_quote(const std::string& text);
// A field for files read back a line at a time (parse_csv_line): line breaks
// become spaces, so every record stays on one line; then csv_quote.
std::string csv_field(const std::string& text);

}  // namespace dist2
