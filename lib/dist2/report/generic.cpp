#include "dist2/report/generic.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "dist2/util/error.h"

namespace dist2::report {

namespace {

constexpr const char* kReferencePrefix = "ref.";
constexpr const char* kSystemPrefix = "system.";  // what a run used (Tables 9 and 10), not a result

std::vector<std::string> metric_keys_of(const std::vector<RunRecord>& runs) {
  std::set<std::string> keys;
  for (const RunRecord& r : runs)
    for (const auto& [k, _] : r.metrics)
      if (k.rfind(kReferencePrefix, 0) != 0 && k.rfind(kSystemPrefix, 0) != 0) keys.insert(k);
  return {keys.begin(), keys.end()};
}

// "ref.<name>.<metric>" for a shown metric: the reference predictor "ref.<name>".
std::vector<ReferenceSpec> references_of(const std::vector<RunRecord>& runs, const std::vector<std::string>& metrics) {
  std::set<std::string> prefixes;
  for (const RunRecord& r : runs)
    for (const auto& [k, _] : r.metrics) {
      if (k.rfind(kReferencePrefix, 0) != 0) continue;
      for (const std::string& m : metrics)
        if (k.size() > m.size() + 1 && k.compare(k.size() - m.size() - 1, std::string::npos, "." + m) == 0)
          prefixes.insert(k.substr(0, k.size() - m.size() - 1));
    }
  std::vector<ReferenceSpec> out;
  for (const std::string& p : prefixes) {
    const std::string name = p.substr(4);
    if (name.find('.') != std::string::npos) continue;  // "ref.a.b" belongs to a longer metric key
    // Bounds, not rivals (layouts.h: ReferenceSpec::ceiling), by the names tasks give them.
    const bool ceiling = name == "oracle" || name == "annotator" || name == "backbone";
    out.push_back({p, "reference: " + name, name, ceiling});
  }
  return out;
}

std::string row_label(const std::vector<ParamMatch>& filter) {
  std::string s;
  for (const ParamMatch& m : filter) s += (s.empty() ? "" : ", ") + m.key + "=" + m.value;
  return s.empty() ? "all runs" : s;
}

// Every combination of the row axes' values, first axis outermost.
std::vector<ParamFilter> combinations(const std::vector<Axis>& axes) {
  std::vector<ParamFilter> out = {{}};
  for (const auto& [key, values] : axes) {
    std::vector<ParamFilter> next;
    for (const ParamFilter& f : out)
      for (const std::string& v : values) {
        ParamFilter g = f;
        g.push_back({key, v});
        next.push_back(std::move(g));
      }
    out = std::move(next);
  }
  return out;
}

}  // namespace

bool higher_is_better(const std::string& key) {
  for (const char* word : {"acc", "iou", "r2", "consistency", "correct", "agreement", "win"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}

Layout generic_layout(const GenericOptions& o, const std::vector<Axis>& axes, const std::vector<RunRecord>& runs) {
  const auto eq = o.baseline.find('=');
  DIST2_CHECK(o.baseline.empty() || (eq != std::string::npos && eq > 0),
              "--baseline must be key=value (e.g. loss.kind=sft), got '{}'", o.baseline);
  const std::string base_key = o.baseline.empty() ? "" : o.baseline.substr(0, eq);
  const std::string base_value = o.baseline.empty() ? "" : o.baseline.substr(eq + 1);

  Layout l;
  l.name = o.name;
  l.title = fmt::format("{}: every point of its sweep grid, over seeds", o.name);
  std::vector<Axis> row_axes;
  for (const Axis& a : axes) {
    if (a.first == "seed") continue;
    // The first axis that is not the baseline's makes the column groups.
    if (l.column_key.empty() && a.first != base_key && axes.size() > 1) {
      l.column_key = a.first;
      l.column_label = a.first;
      continue;
    }
    row_axes.push_back(a);
  }
  for (ParamFilter& f : combinations(row_axes)) {
    const std::string label = row_label(f);
    l.rows.push_back({label, std::move(f)});
  }
  // Paired tests need rows that differ in the baseline key alone.
  const bool baseline_axis = std::any_of(row_axes.begin(), row_axes.end(), [&](const Axis& a) { return a.first == base_key; });
  if (baseline_axis && row_axes.size() == 1) {
    l.baseline = row_label({{base_key, base_value}});
    DIST2_CHECK(std::any_of(l.rows.begin(), l.rows.end(), [&](const RowSpec& r) { return r.label == l.baseline; }),
                "--baseline {}: the sweep has no such row (its {} values do not include '{}')", o.baseline, base_key,
                base_value);
  } else if (!base_key.empty()) {
    l.notes.push_back(baseline_axis ? fmt::format("No paired tests: the rows differ in more than {}.", base_key)
                                    : fmt::format("No paired tests: {} is not a sweep axis of this experiment.", base_key));
  }
  l.paired = PairedDisplay::LineBelow;
  for (const std::string& key : o.metrics.empty() ? metric_keys_of(runs) : o.metrics)
    l.metrics.push_back({key, key, 1, 4, !higher_is_better(key)});
  std::vector<std::string> shown;
  for (const MetricSpec& m : l.metrics) shown.push_back(m.key);
  l.references = references_of(runs, shown);
  l.notes.push_back("Generic layout: rows are the sweep's grid points, columns the metrics its runs logged; "
                    "whether a metric is better high or low is read from its name.");
  return l;
}

}  // namespace dist2::report
