#pragma once
// A self-contained HTML page: no network, no framework. Sections carry their own
// provenance; pictures are inline SVG or PNG data URIs, so the file can be mailed
// or opened from a laptop's disk as it is.
#include <cstdint>
#include <string>
#include <vector>

namespace dist2::report::html {

struct Section {
  std::string id;     // anchor for the table of contents (letters, digits, '-', '_')
  std::string title;  // plain text
  std::string body;   // HTML
};

// The page: title, a provenance list, a table of contents, then every section.
std::string page(const std::string& title, const std::vector<std::string>& header_lines,
                 const std::vector<Section>& sections);

std::string escape(const std::string& s);  // & < > " ' as entities
std::string base64(const std::vector<uint8_t>& bytes);
std::string png_img(const std::vector<uint8_t>& png, const std::string& alt);  // <img src="data:image/png;base64,...">

// An anchor made of the name's letters and digits ("Table 1: ..." -> "table-1").
std::string anchor(const std::string& name);

}  // namespace dist2::report::html
