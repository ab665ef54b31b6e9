#pragma once
// A small, dependency-free SVG line-plot writer: panels with axes, ticks (linear
// or log x), a legend, one <path> per series and a semi-transparent band per
// series where a spread is given. Every coordinate it writes is finite.
#include <string>
#include <vector>

namespace dist2::report::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::vector<double> lo, hi;  // band (e.g. mean -/+ std); empty for none
  std::string color;           // "" picks from the palette
  bool dashed = false;
  // Single observations drawn as small open circles (e.g. each seed), nudged
  // sideways by dot_offset pixels per index so that equal values stay visible.
  std::vector<double> dot_x, dot_y;
};

struct Panel {
  std::string title, x_label, y_label;
  bool log_x = false;
  bool log_y = false;           // values <= 0 are left out on a log axis
  std::vector<double> x_ticks;  // explicit x ticks; empty picks them
  std::vector<Series> series;
};

struct PanelRow {
  double height = 300;
  std::vector<Panel> panels;  // share the row's width equally
};

struct Figure {
  std::string title;
  std::vector<std::string> header_lines;  // provenance, printed under the title
  std::vector<std::string> footer_lines;  // notes, printed at the bottom
  double width = 960;
  std::vector<PanelRow> rows;
};

std::string render(const Figure& figure);

// About `target` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Powers of ten inside [lo, hi] (lo > 0); when fewer than two, 1-2-5 steps per decade.
std::vector<double> log_ticks(double lo, double hi);

std::string palette(size_t i);
std::string escape_xml(const std::string& s);  // & < > " ' as entities

}  // namespace dist2::report::svg
