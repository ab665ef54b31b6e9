// The paper's numbers, read from data/paper_numbers.yaml (compiled in; see its
// header for the form and where the numbers were transcribed from).
#include "dist2/report/paper_numbers.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <algorithm>
#include <map>

#include "dist2/report/data_files.h"
#include "dist2/report/yaml_fields.h"
#include "dist2/util/error.h"

namespace dist2::report {

namespace {

using detail::Fields;

PaperTable read_table(const YAML::Node& node, const std::string& source) {
  const Fields f(node, source, "a paper table",
                 {"id", "caption", "source", "model", "axis", "value_labels", "rows", "note"});
  PaperTable t;
  t.id = f.text("id");
  t.caption = f.text("caption");
  t.source = f.text("source");
  t.model = f.text_or("model", "");
  if (f.has("axis")) {
    const Fields axis(node["axis"], source, "axis", {"label", "values"});
    t.axis_label = axis.text("label");
    t.axis_values = axis.texts("values");
    if (t.axis_values.empty()) axis.fail("values", "must list the paper's axis values");
  }
  t.value_labels = f.texts("value_labels");
  if (t.value_labels.empty()) f.fail("value_labels", "must name the values of a column group");
  t.note = f.text_or("note", "");
  for (const YAML::Node& n : f.maps("rows")) {
    const Fields row(n, source, "a paper row", {"label", "loss", "note", "values"});
    PaperRow r{row.text("label"), row.text_or("loss", ""), row.text_or("note", ""), row.texts("values")};
    if (r.values.size() != t.width())
      row.fail("values", fmt::format("has {} values; table {} has {} ({} per column group{})", r.values.size(), t.id,
                                     t.width(), t.value_labels.size(),
                                     t.axis_values.empty() ? "" : fmt::format(", {} groups", t.axis_values.size())));
    t.rows.push_back(std::move(r));
  }
  if (t.rows.empty()) f.fail("rows", "must list the paper's rows");
  return t;
}

std::map<std::string, PaperTable> tables_by_id(const std::vector<PaperTable>& tables) {
  std::map<std::string, PaperTable> m;
  for (const PaperTable& t : tables) m.emplace(t.id, t);
  return m;
}

const std::map<std::string, PaperTable>& all_tables() {
  static const std::map<std::string, PaperTable> tables =
      tables_by_id(parse_paper_tables(embedded_data_file("paper_numbers.yaml"), "paper_numbers.yaml"));
  return tables;
}

}  // namespace

std::vector<PaperTable> parse_paper_tables(const std::string& yaml_text, const std::string& source) {
  const YAML::Node doc = parse_yaml(yaml_text, source);
  const detail::Fields top(doc, source, "a paper-numbers file", {"tables"});
  std::vector<PaperTable> out;
  for (const YAML::Node& node : top.maps("tables")) {
    PaperTable t = read_table(node, source);
    DIST2_CHECK(std::none_of(out.begin(), out.end(), [&](const PaperTable& e) { return e.id == t.id; }),
                "{}: a second paper table '{}'", detail::where(source, node), t.id);
    out.push_back(std::move(t));
  }
  return out;
}

const PaperTable& paper_table(const std::string& id) {
  const auto& tables = all_tables();
  auto it = tables.find(id);
  if (it == tables.end()) {
    std::string valid;
    for (const auto& [name, _] : tables) valid += (valid.empty() ? "" : ", ") + name;
    throw Error(fmt::format("unknown paper table '{}'; valid: {}", id, valid));
  }
  return it->second;
}

std::vector<std::string> paper_table_ids() {
  std::vector<std::string> ids;
  for (const auto& [name, _] : all_tables()) ids.push_back(name);
  return ids;
}

double paper_value(const std::string& printed) {
  if (printed.empty()) return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(printed.c_str(), &end);
  if (errno != 0 || end == printed.c_str() || *end != '\0') return std::numeric_limits<double>::quiet_NaN();
  return v;
}

}  // namespace dist2::report
