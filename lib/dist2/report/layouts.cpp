#include "dist2/report/layouts.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "dist2/report/data_files.h"
#include "dist2/report/paper_numbers.h"
#include "dist2/report/yaml_fields.h"
#include "dist2/util/error.h"

namespace dist2::report {

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end == s.c_str() || *end != '\0' || !std::isfinite(v)) return std::nullopt;
  return v;
}

namespace {


std::optional<bool> as_bool(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "true") return true;
  if (s == "false") return false;
  return std::nullopt;
}

// ---- layouts from their data file (data/layouts.yaml; see its header) ----

using detail::Fields;

const std::set<std::string> kLayoutKeys = {"name",       "title",    "kind",     "extends",   "where",
                                           "where_or_absent", "rows", "columns", "pins",      "metrics",
                                           "references", "diagnostics", "baseline", "pair_keys", "paired",
                                           "paper",      "notes",    "log_x", "setup"};

ParamFilter read_filter(const Fields& f) {
  ParamFilter out;
  for (const auto& [k, v] : f.scalar_map("where")) out.push_back({k, v, false});
  for (const auto& [k, v] : f.scalar_map("where_or_absent")) out.push_back({k, v, true});
  return out;
}

std::vector<MetricSpec> read_metrics(const Fields& layout, const std::string& key) {
  std::vector<MetricSpec> out;
  for (const YAML::Node& n : layout.maps(key)) {
    const Fields f(n, layout.source(), "a metric",
                   {"key", "label", "scale", "decimals", "better", "percent", "bars"});
    MetricSpec m;
    m.key = f.text("key");
    m.label = f.text_or("label", m.key);
    if (f.flag_or("percent", false)) m.scale = 100, m.decimals = 1, m.lower_is_better = false;
    m.scale = f.number_or("scale", m.scale);
    m.decimals = f.int_or("decimals", m.decimals);
    const std::string better = f.text_or("better", m.lower_is_better ? "lower" : "higher");
    if (better != "lower" && better != "higher") f.fail("better", "must be lower or higher, got '" + better + "'");
    m.lower_is_better = better == "lower";
    if (f.has("bars")) m.bars = read_metrics(f, "bars");
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ReferenceSpec> read_references(const Fields& layout) {
  std::vector<ReferenceSpec> out;
  for (const YAML::Node& n : layout.maps("references")) {
    const Fields f(n, layout.source(), "a reference", {"prefix", "label", "legend", "ceiling"});
    ReferenceSpec r;
    r.prefix = f.text("prefix");
    r.label = f.text_or("label", r.prefix);
    r.legend = f.text_or("legend", r.label);
    r.ceiling = f.flag_or("ceiling", false);
    out.push_back(std::move(r));
  }
  return out;
}

PairedDisplay read_paired(const Fields& f, PairedDisplay fallback) {
  if (!f.has("paired")) return fallback;
  const std::string p = f.text("paired");
  if (p == "line_below") return PairedDisplay::LineBelow;
  if (p == "columns") return PairedDisplay::Columns;
  if (p == "none") return PairedDisplay::None;
  f.fail("paired", "must be line_below, columns or none, got '" + p + "'");
}

// One layout entry: from scratch, or from the layout it extends with the keys given here.
Layout read_layout(const YAML::Node& node, const std::string& source, const std::vector<Layout>& earlier) {
  const Fields f(node, source, "a layout", kLayoutKeys);
  Layout l;
  if (f.has("extends")) {
    const std::string base = f.text("extends");
    auto it = std::find_if(earlier.begin(), earlier.end(), [&](const Layout& e) { return e.name == base; });
    if (it == earlier.end()) f.fail("extends", "no layout '" + base + "' before this one");
    l = *it;
  }
  l.name = f.text("name");
  l.title = f.text_or("title", l.title);
  DIST2_CHECK(!l.title.empty(), "{}: layout '{}' needs a title", detail::where(source, node), l.name);
  if (f.has("kind")) {
    const std::string kind = f.text("kind");
    if (kind != "table" && kind != "figure") f.fail("kind", "must be table or figure, got '" + kind + "'");
    l.kind = kind == "figure" ? LayoutKind::Figure : LayoutKind::Table;
  }
  if (f.has("where") || f.has("where_or_absent")) l.common = read_filter(f);
  if (f.has("rows")) {
    l.rows.clear();
    for (const YAML::Node& n : f.maps("rows")) {
      const Fields row(n, source, "a row", {"label", "where", "where_or_absent"});
      l.rows.push_back({row.text("label"), read_filter(row)});
    }
  }
  DIST2_CHECK(!l.rows.empty(), "{}: layout '{}' needs rows", detail::where(source, node), l.name);
  if (f.has("columns")) {
    const Fields c(node["columns"], source, "columns", {"key", "label"});
    l.column_key = c.text("key");
    l.column_label = c.text_or("label", l.column_key);
  }
  if (f.has("pins")) l.pins = f.texts("pins");
  if (f.has("metrics")) l.metrics = read_metrics(f, "metrics");
  DIST2_CHECK(!l.metrics.empty(), "{}: layout '{}' needs metrics", detail::where(source, node), l.name);
  if (f.has("references")) l.references = read_references(f);
  if (f.has("diagnostics")) l.diagnostics = read_metrics(f, "diagnostics");
  l.baseline = f.text_or("baseline", l.baseline);
  if (!l.baseline.empty() &&
      std::none_of(l.rows.begin(), l.rows.end(), [&](const RowSpec& r) { return r.label == l.baseline; }))
    f.fail("baseline", "no row is labelled '" + l.baseline + "'");
  if (f.has("pair_keys")) l.pair_keys = f.texts("pair_keys");
  l.paired = read_paired(f, l.paired);
  if (f.has("paper")) {
    l.paper = f.texts("paper");
    const auto known = paper_table_ids();
    for (const auto& id : l.paper)
      if (std::find(known.begin(), known.end(), id) == known.end())
        f.fail("paper", "no paper table '" + id + "' in the paper's numbers");
  }
  if (f.has("notes")) l.notes = f.texts("notes");
  l.log_x = f.flag_or("log_x", l.log_x);
  l.setup = f.flag_or("setup", l.setup);
  return l;
}

std::vector<Layout>& registry() {
  static std::vector<Layout> layouts = parse_layouts(embedded_data_file("layouts.yaml"), "layouts.yaml");
  return layouts;
}

const std::vector<Layout>& all_layouts() { return registry(); }

}  // namespace

bool param_values_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  const auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na == *nb;
  const auto ba = as_bool(a), bb = as_bool(b);
  if (ba && bb) return *ba == *bb;
  return false;
}

bool matches(const RunRecord& run, const ParamFilter& filter) {
  for (const ParamMatch& m : filter) {
    auto it = run.params.find(m.key);
    if (it == run.params.end()) {
      if (!m.match_if_absent) return false;
      continue;
    }
    if (!param_values_equal(it->second, m.value)) return false;
  }
  return true;
}

std::vector<Layout> parse_layouts(const std::string& yaml_text, const std::string& source) {
  const YAML::Node doc = parse_yaml(yaml_text, source);
  const detail::Fields top(doc, source, "a layouts file", {"shared", "layouts"});
  std::vector<Layout> out;
  for (const YAML::Node& node : top.maps("layouts")) {
    Layout l = read_layout(node, source, out);
    DIST2_CHECK(std::none_of(out.begin(), out.end(), [&](const Layout& e) { return e.name == l.name; }),
                "{}: a second layout named '{}'", detail::where(source, node), l.name);
    out.push_back(std::move(l));
  }
  DIST2_CHECK(!out.empty(), "{}: no layouts (a file needs `layouts:` with at least one)", source);
  return out;
}

void add_layouts_file(const std::string& path) {
  const std::string text = read_text_file(path, "layouts file");
  for (Layout& l : parse_layouts(text, path)) {
    auto& layouts = registry();
    auto it = std::find_if(layouts.begin(), layouts.end(), [&](const Layout& e) { return e.name == l.name; });
    if (it != layouts.end()) *it = std::move(l);
    else layouts.push_back(std::move(l));
  }
}

std::vector<std::string> layout_names() {
  std::vector<std::string> names;
  for (const Layout& l : all_layouts()) names.push_back(l.name);
  return names;
}

const Layout& find_layout(const std::string& name) {
  for (const Layout& l : all_layouts())
    if (l.name == name) return l;
  std::string valid;
  for (const std::string& n : layout_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw Error(fmt::format("unknown report layout '{}'; valid: {}", name, valid));
}

}  // namespace dist2::report
