#include "dist2/report/svg.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace dist2::report::svg {

namespace {

constexpr double kMarginLeft = 64, kMarginRight = 185, kMarginTop = 34, kMarginBottom = 48;
constexpr double kTitleHeight = 28, kLineHeight = 15;

// Coordinates are always finite: anything else becomes 0 (never reached with the
// range checks below, but a malformed file is worse than a misplaced point).
std::string num(double v) { return fmt::format("{:.2f}", std::isfinite(v) ? v : 0.0); }

std::string tick_label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return fmt::format("{:g}", v);
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// Maps data to pixels inside one panel's plot area.
struct Frame {
  double left, top, width, height;
  double x_lo, x_hi, y_lo, y_hi;
  bool log_x;
  bool log_y = false;
  double fx(double x) const {
    return log_x ? (std::log10(x) - std::log10(x_lo)) / (std::log10(x_hi) - std::log10(x_lo))
                 : (x - x_lo) / (x_hi - x_lo);
  }
  double px(double x) const { return left + fx(x) * width; }
  double fy(double y) const {
    return log_y ? (std::log10(y) - std::log10(y_lo)) / (std::log10(y_hi) - std::log10(y_lo))
                 : (y - y_lo) / (y_hi - y_lo);
  }
  double py(double y) const { return top + height - fy(y) * height; }
  bool usable_x(double x) const { return std::isfinite(x) && (!log_x || x > 0); }
  bool usable_y(double y) const { return std::isfinite(y) && (!log_y || y > 0); }
};

void pad_if_flat(double& lo, double& hi, bool log_scale) {
  if (hi > lo) return;
  if (log_scale) {
    lo /= 2, hi *= 2;
  } else {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
}

std::string text(double x, double y, const std::string& s, const std::string& attrs = "") {
  return fmt::format("<text x=\"{}\" y=\"{}\"{}>{}</text>\n", num(x), num(y),
                     attrs.empty() ? "" : " " + attrs, escape_xml(s));
}

std::string line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  return fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {}/>\n", num(x1), num(y1), num(x2),
                     num(y2), attrs);
}

std::string series_path(const Series& s, const Frame& f, const std::string& color) {
  std::string d;
  bool pen_down = false;
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    if (!f.usable_x(s.x[i]) || !f.usable_y(s.y[i])) {
      pen_down = false;  // a gap: the next point starts a new piece
      continue;
    }
    d += fmt::format("{}{} {} ", pen_down ? "L" : "M", num(f.px(s.x[i])), num(f.py(s.y[i])));
    pen_down = true;
  }
  if (d.empty()) d = fmt::format("M {} {} ", num(f.left), num(f.top));  // keeps one path per series
  d.pop_back();
  return fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", d, color,
                     s.dashed ? " stroke-dasharray=\"6 4\"" : "");
}

std::string series_band(const Series& s, const Frame& f, const std::string& color) {
  if (s.lo.size() != s.x.size() || s.hi.size() != s.x.size()) return "";
  std::vector<size_t> idx;
  for (size_t i = 0; i < s.x.size(); ++i)
    if (f.usable_x(s.x[i]) && f.usable_y(s.lo[i]) && f.usable_y(s.hi[i])) idx.push_back(i);
  if (idx.size() < 2) return "";
  std::string pts;
  for (size_t i : idx) pts += num(f.px(s.x[i])) + "," + num(f.py(s.hi[i])) + " ";
  for (auto it = idx.rbegin(); it != idx.rend(); ++it)
    pts += num(f.px(s.x[*it])) + "," + num(f.py(s.lo[*it])) + " ";
  pts.pop_back();
  return fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.18\" stroke=\"none\"/>\n", pts, color);
}

std::string series_markers(const Series& s, const Frame& f, const std::string& color) {
  std::string out;
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
    if (f.usable_x(s.x[i]) && f.usable_y(s.y[i]))
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", num(f.px(s.x[i])),
                         num(f.py(s.y[i])), color);
  return out;
}

std::string series_dots(const Series& s, const Frame& f, const std::string& color, double nudge) {
  std::string out;
  for (size_t i = 0; i < s.dot_x.size() && i < s.dot_y.size(); ++i)
    if (f.usable_x(s.dot_x[i]) && f.usable_y(s.dot_y[i]))
      out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"white\" stroke=\"{}\" stroke-width=\"1.2\"/>\n",
                         num(f.px(s.dot_x[i]) + nudge), num(f.py(s.dot_y[i])), color);
  return out;
}

std::string legend(const Panel& p, double left, double top) {
  std::string out;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const Series& s = p.series[i];
    const std::string color = s.color.empty() ? palette(i) : s.color;
    const double y = top + 14 + static_cast<double>(i) * 18;
    out += line(left, y - 4, left + 24, y - 4,
                fmt::format("stroke=\"{}\" stroke-width=\"2\"{}", color, s.dashed ? " stroke-dasharray=\"6 4\"" : ""));
    out += text(left + 30, y, s.label, "font-size=\"11\"");
  }
  return out;
}

std::string render_panel(const Panel& p, double x0, double y0, double w, double h) {
  std::string out = "<g>\n";
  out += text(x0 + kMarginLeft, y0 + 18, p.title, "font-size=\"13\" font-weight=\"bold\"");
  const double left = x0 + kMarginLeft, top = y0 + kMarginTop;
  const double width = std::max(w - kMarginLeft - kMarginRight, 20.0);
  const double height = std::max(h - kMarginTop - kMarginBottom, 20.0);

  Range xr, yr;
  auto add_y = [&](double y) {
    if (!p.log_y || y > 0) yr.add(y);
  };
  for (const Series& s : p.series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || (p.log_x && s.x[i] <= 0)) continue;
      xr.add(s.x[i]);
      if (i < s.y.size()) add_y(s.y[i]);
      if (i < s.lo.size()) add_y(s.lo[i]);
      if (i < s.hi.size()) add_y(s.hi[i]);
    }
    for (size_t i = 0; i < s.dot_x.size() && i < s.dot_y.size(); ++i)
      if (std::isfinite(s.dot_x[i]) && (!p.log_x || s.dot_x[i] > 0)) add_y(s.dot_y[i]);
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n",
                     num(left), num(top), num(width), num(height));
  if (xr.empty() || yr.empty()) {
    out += text(left + width / 2, top + height / 2, "no data", "text-anchor=\"middle\" fill=\"#888\"");
    for (const Series& s : p.series)  // still one (empty) path per series
      out += series_path(s, Frame{left, top, width, height, 0, 1, 0, 1, false, false}, "none");
    return out + legend(p, left + width + 12, top) + "</g>\n";
  }

  pad_if_flat(xr.lo, xr.hi, p.log_x);
  pad_if_flat(yr.lo, yr.hi, p.log_y);
  std::vector<double> yt = p.log_y ? std::vector<double>{} : nice_ticks(yr.lo, yr.hi);
  if (p.log_y) {
    yr.lo /= 1.3, yr.hi *= 1.3;
    yt = log_ticks(yr.lo, yr.hi);
  } else if (yt.size() >= 2) {  // extend the y range to whole ticks
    const double step = yt[1] - yt[0];
    yr.lo = std::min(yr.lo, std::floor(yr.lo / step + 1e-9) * step);
    yr.hi = std::max(yr.hi, std::ceil(yr.hi / step - 1e-9) * step);
    yt = nice_ticks(yr.lo, yr.hi);
  }
  if (!p.log_x) {  // a little air at the ends of a linear x axis
    const double pad = (xr.hi - xr.lo) * 0.03;
    xr.lo -= pad, xr.hi += pad;
  } else {
    xr.lo /= 1.15, xr.hi *= 1.15;
  }
  const Frame f{left, top, width, height, xr.lo, xr.hi, yr.lo, yr.hi, p.log_x, p.log_y};

  std::vector<double> xt = p.x_ticks;
  if (xt.empty()) xt = p.log_x ? log_ticks(xr.lo, xr.hi) : nice_ticks(xr.lo, xr.hi);
  for (double v : xt) {
    if (!f.usable_x(v) || v < xr.lo || v > xr.hi) continue;
    const double x = f.px(v);
    out += line(x, top, x, top + height, "stroke=\"#ddd\"");
    out += text(x, top + height + 14, tick_label(v), "font-size=\"10\" text-anchor=\"middle\"");
  }
  for (double v : yt) {
    const double y = f.py(v);
    out += line(left, y, left + width, y, "stroke=\"#ddd\"");
    out += text(left - 6, y + 3, tick_label(v), "font-size=\"10\" text-anchor=\"end\"");
  }
  out += text(left + width / 2, top + height + 32, p.x_label + (p.log_x ? " (log scale)" : ""),
              "font-size=\"11\" text-anchor=\"middle\"");
  out += text(x0 + 14, top + height / 2, p.y_label + (p.log_y ? " (log scale)" : ""),
              fmt::format("font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\"",
                          num(x0 + 14), num(top + height / 2)));

  for (size_t i = 0; i < p.series.size(); ++i) {
    const std::string color = p.series[i].color.empty() ? palette(i) : p.series[i].color;
    out += series_band(p.series[i], f, color);
  }
  for (size_t i = 0; i < p.series.size(); ++i) {
    const std::string color = p.series[i].color.empty() ? palette(i) : p.series[i].color;
    out += series_path(p.series[i], f, color);
    out += series_markers(p.series[i], f, color);
    // Seeds of neighbouring series sit a few pixels apart rather than on top of each other.
    const double nudge = (static_cast<double>(i) - static_cast<double>(p.series.size() - 1) / 2) * 4;
    out += series_dots(p.series[i], f, color, nudge);
  }
  return out + legend(p, left + width + 12, top) + "</g>\n";
}

// Splits a long line at spaces so that it fits `chars` characters per line.
std::vector<std::string> wrap(const std::string& line, size_t chars) {
  std::vector<std::string> out;
  std::string current;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string::npos) end = line.size();
    const std::string word = line.substr(start, end - start);
    if (!current.empty() && current.size() + 1 + word.size() > chars) {
      out.push_back(current);
      current = "  " + word;  // continuation lines indented
    } else {
      current += (current.empty() ? "" : " ") + word;
    }
    start = end + 1;
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

std::vector<std::string> wrap_all(const std::vector<std::string>& lines, double width) {
  const size_t chars = static_cast<size_t>(std::max(40.0, (width - 24) / 5.6));  // ~5.6 px per 10px glyph
  std::vector<std::string> out;
  for (const std::string& l : lines)
    for (std::string& w : wrap(l, chars)) out.push_back(std::move(w));
  return out;
}

}  // namespace

std::string palette(size_t i) {
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                 "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  return colors[i % (sizeof(colors) / sizeof(colors[0]))];
}

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo || target < 1) return {};
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1)
    ticks.push_back(std::fabs(k * step) < step * 1e-9 ? 0.0 : k * step);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !(hi > lo) || !std::isfinite(hi)) return {};
  std::vector<double> decades, fine;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= static_cast<int>(std::ceil(std::log10(hi))); ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (v < lo || v > hi) continue;
      (m == 1.0 ? decades : fine).push_back(v);
    }
  if (decades.size() >= 2) return decades;
  std::vector<double> all = decades;
  all.insert(all.end(), fine.begin(), fine.end());
  std::sort(all.begin(), all.end());
  return all;
}

std::string render(const Figure& figure) {
  const std::vector<std::string> header = wrap_all(figure.header_lines, figure.width);
  const std::vector<std::string> footer = wrap_all(figure.footer_lines, figure.width);
  double height = kTitleHeight + kLineHeight * static_cast<double>(header.size()) + 8;
  for (const PanelRow& r : figure.rows) height += r.height;
  height += kLineHeight * static_cast<double>(footer.size()) + 12;

  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\">\n",
      num(figure.width), num(height));
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n", num(figure.width), num(height));
  double y = 20;
  out += text(12, y, figure.title, "font-size=\"15\" font-weight=\"bold\"");
  y += 8;
  for (const std::string& l : header) out += text(12, y += kLineHeight, l, "font-size=\"10\" fill=\"#555\"");
  y += 8;
  for (const PanelRow& r : figure.rows) {
    const double w = figure.width / static_cast<double>(std::max<size_t>(r.panels.size(), 1));
    for (size_t i = 0; i < r.panels.size(); ++i)
      out += render_panel(r.panels[i], static_cast<double>(i) * w, y, w, r.height);
    y += r.height;
  }
  for (const std::string& l : footer) out += text(12, y += kLineHeight, l, "font-size=\"10\" fill=\"#555\"");
  return out + "</svg>\n";
}

}  // namespace dist2::report::svg
