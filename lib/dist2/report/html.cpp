#include "dist2/report/html.h"

#include <cctype>

#include <fmt/format.h>

#include "dist2/report/svg.h"

namespace dist2::report::html {

namespace {

// Readable on a laptop screen: a centred column, tables that scroll sideways
// inside their own box rather than widening the page, figures that shrink to fit.
constexpr const char* kStyle = R"css(
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 0 16px 48px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
ul.provenance { font-size: 0.85em; color: #555; }
nav ul { columns: 2; font-size: 0.9em; }
div.scroll { overflow-x: auto; margin: 0.5em 0 1em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
tr.paired td { color: #555; font-style: italic; }
tr.reference td { color: #666; }
tr.paper td { background: #f6f6f6; }
figure { margin: 1em 0; } figure svg, figure img { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 0.8em; }
ul.notes { font-size: 0.9em; }
)css";

}  // namespace

std::string escape(const std::string& s) { return svg::escape_xml(s); }  // the same five entities

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t b0 = bytes[i], b1 = i + 1 < bytes.size() ? bytes[i + 1] : 0, b2 = i + 2 < bytes.size() ? bytes[i + 2] : 0;
    const uint32_t v = b0 << 16 | b1 << 8 | b2;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += i + 1 < bytes.size() ? table[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? table[v & 63] : '=';
  }
  return out;
}

std::string png_img(const std::vector<uint8_t>& png, const std::string& alt) {
  return fmt::format("<img src=\"data:image/png;base64,{}\" alt=\"{}\">", base64(png), escape(alt));
}

std::string anchor(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "section" : out;
}

std::string page(const std::string& title, const std::vector<std::string>& header_lines,
                 const std::vector<Section>& sections) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  out += "<h1>" + escape(title) + "</h1>\n";
  if (!header_lines.empty()) {
    out += "<ul class=\"provenance\">\n";
    for (const std::string& l : header_lines) out += "<li>" + escape(l) + "</li>\n";
    out += "</ul>\n";
  }
  if (sections.size() > 1) {
    out += "<nav><h2>Contents</h2><ul>\n";
    for (const Section& s : sections) out += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", s.id, escape(s.title));
    out += "</ul></nav>\n";
  }
  for (const Section& s : sections) {
    // A page of one section under the same title does not repeat it.
    const bool repeat = !(sections.size() == 1 && s.title == title);
    out += fmt::format("<section id=\"{}\">\n{}{}</section>\n", s.id,
                       repeat ? "<h2>" + escape(s.title) + "</h2>\n" : "", s.body);
  }
  return out + "</body>\n</html>\n";
}

}  // namespace dist2::report::html
