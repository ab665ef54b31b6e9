#include "dist2/report/aggregate.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace dist2::report {

namespace {

const std::string* param(const RunRecord& run, const std::string& key) {
  auto it = run.params.find(key);
  return it == run.params.end() ? nullptr : &it->second;
}

std::optional<double> metric(const RunRecord& run, const std::string& key) {
  auto it = run.metrics.find(key);
  if (it == run.metrics.end() || !std::isfinite(it->second)) return std::nullopt;
  return it->second;
}

bool has_any_metric(const RunRecord& run, const Layout& layout) {
  for (const MetricSpec& m : layout.metrics)
    if (metric(run, m.key)) return true;
  for (const MetricSpec& m : layout.diagnostics)
    if (metric(run, m.key)) return true;
  return false;
}

// The value a pinned param is held at: the one asked for, else the largest value
// among those at which the most rows have runs. (A store can hold Table 11's dist
// and sft runs at larger n_train than the ablations were run at; "the largest
// present" alone would then pick a value with the ablation rows empty.)
std::string pick_pin_value(const std::string& key, const Layout& layout, const std::vector<const RunRecord*>& runs,
                           const std::map<std::string, std::string>& pins) {
  if (auto it = pins.find(key); it != pins.end()) return canonical_value(it->second);
  std::map<std::string, std::set<size_t>> rows_at;  // value -> rows with runs there
  for (const RunRecord* r : runs)
    if (const std::string* v = param(*r, key))
      for (size_t i = 0; i < layout.rows.size(); ++i)
        if (matches(*r, layout.rows[i].filter)) rows_at[canonical_value(*v)].insert(i);
  if (rows_at.empty()) return "";
  size_t most = 0;
  for (const auto& [_, rows] : rows_at) most = std::max(most, rows.size());
  std::vector<std::string> best;
  for (const auto& [value, rows] : rows_at)
    if (rows.size() == most) best.push_back(value);
  sort_column_values(best);
  return best.back();
}

// The runs that share a seed (more generally, the layout's pair keys) form one unit;
// a unit's value is the mean over its runs, so repeated runs do not count as seeds.
std::string unit_key(const RunRecord& run, const std::vector<std::string>& pair_keys) {
  std::vector<std::string> parts;
  for (const std::string& k : pair_keys) {
    const std::string* v = param(run, k);
    if (!v) return "run=" + run.id;  // cannot pair: its own unit
    parts.push_back(k + "=" + canonical_value(*v));
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

using Units = std::map<std::string, std::vector<const RunRecord*>>;

std::map<std::string, double> unit_values(const Units& units, const std::string& metric_key) {
  std::map<std::string, double> out;
  for (const auto& [key, runs] : units) {
    std::vector<double> xs;
    for (const RunRecord* r : runs)
      if (auto v = metric(*r, metric_key)) xs.push_back(*v);
    if (!xs.empty()) out[key] = mean(xs);
  }
  return out;
}

Summary summarize_units(const std::map<std::string, double>& values) {
  std::vector<double> xs;
  std::vector<std::string> names;
  for (const auto& [unit, v] : values) xs.push_back(v), names.push_back(unit);
  return summarize(xs, names);
}

PairedResult pair_against(const std::map<std::string, double>& row,
                          const std::map<std::string, double>& baseline) {
  std::vector<double> diffs;
  for (const auto& [key, v] : row)
    if (auto it = baseline.find(key); it != baseline.end()) diffs.push_back(v - it->second);
  return paired_sign_flip_test(diffs);
}

// Params whose values differ inside one cell although they define neither the row,
// the column, the pins nor the pairing: the cell mixes configurations.
std::vector<std::string> mixed_params(const std::vector<const RunRecord*>& runs,
                                      const std::set<std::string>& expected_to_vary) {
  std::map<std::string, std::set<std::string>> values;
  for (const RunRecord* r : runs)
    for (const auto& [k, v] : r->params)
      if (!expected_to_vary.count(k)) values[k].insert(canonical_value(v));
  std::vector<std::string> out;
  for (const auto& [k, vs] : values) {
    // A key that some runs lack also differs.
    size_t with_key = 0;
    for (const RunRecord* r : runs) with_key += r->params.count(k);
    if (vs.size() > 1 || with_key != runs.size()) out.push_back(k);
  }
  return out;
}

namespace {
// The tau a run trained with: what it logged (train/tau), else what its config
// says (runs older than that log); NaN when neither tells.
double run_tau(const RunRecord& r) {
  if (!std::isnan(r.tau)) return r.tau;
  const auto number = [&](const char* key) {
    const std::string* v = param(r, key);
    return v ? as_number(*v) : std::nullopt;
  };
  if (auto entropy = number("loss.entropy"); entropy && *entropy > 0) return NAN;  // set by the metric: not rebuilt
  if (auto sigma = number("loss.sigma"); sigma && *sigma > 0) return 2.0 * *sigma * *sigma;
  if (auto tau = number("loss.tau")) return *tau;
  return NAN;
}
}  // namespace

std::string shared_temperature(const std::vector<const RunRecord*>& runs,
                               std::vector<std::string>& warnings) {
  // Only the runs whose loss reads a soft target.
  std::vector<const RunRecord*> dist;
  for (const RunRecord* r : runs)
    if (const std::string* kind = param(*r, "loss.kind"); kind && *kind == "dist") dist.push_back(r);
  std::set<std::string> taus, how;
  for (const RunRecord* r : dist) {
    const double tau = run_tau(*r);
    if (std::isnan(tau)) continue;
    taus.insert(fmt::format("{:.4g}", tau));
    const std::string* entropy = param(*r, "loss.entropy");
    const std::string* sigma = param(*r, "loss.sigma");
    if (entropy && as_number(*entropy).value_or(0) > 0) how.insert("matched to loss.entropy = " + canonical_value(*entropy) + " nats");
    else if (sigma && as_number(*sigma).value_or(0) > 0) how.insert("loss.sigma = " + canonical_value(*sigma));
    else how.insert("loss.tau");
  }
  if (taus.empty()) return "";
  if (taus.size() > 1) {
    warnings.push_back(fmt::format("runs trained with different temperatures (tau = {})",
                                   fmt::join(std::vector<std::string>(taus.begin(), taus.end()), ", ")));
    return "";
  }
  std::string from = how.size() == 1 && *how.begin() != "loss.tau" ? "; " + *how.begin() : "";
  return fmt::format("tau = {} as the dist runs trained{} (soft target exp(-d/tau); tau = 2 sigma^2)", *taus.begin(), from);
}

size_t most_common_n(const std::vector<RowResult>& rows) {
  std::map<size_t, size_t> counts;
  for (const RowResult& row : rows)
    for (const auto& col : row.cells)
      for (const Summary& s : col)
        if (s.n > 0) ++counts[s.n];
  size_t best = 0, best_count = 0;
  for (const auto& [n, c] : counts)
    if (c > best_count) best = n, best_count = c;
  return best;
}

}  // namespace

std::string canonical_value(const std::string& value) {
  if (auto v = as_number(value)) return fmt::format("{}", *v);
  return value;
}

void sort_column_values(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end(), [](const std::string& a, const std::string& b) {
    const auto na = as_number(a), nb = as_number(b);
    if (na && nb) return *na < *nb;
    if (na != nb) return static_cast<bool>(na);  // numbers first
    return a < b;
  });
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

TableResult aggregate(const Layout& layout, const std::vector<RunRecord>& runs,
                      const std::map<std::string, std::string>& pins) {
  TableResult t;
  t.layout = &layout;
  t.runs_given = runs.size();

  // 1. The runs this layout can use: finished, matching, with at least one metric.
  std::vector<const RunRecord*> used;
  size_t without_metrics = 0;
  for (const RunRecord& r : runs) {
    if (!is_finished(r)) {
      ++t.runs_not_finished;
      continue;
    }
    if (!matches(r, layout.common)) continue;
    bool in_some_row = std::any_of(layout.rows.begin(), layout.rows.end(),
                                   [&](const RowSpec& row) { return matches(r, row.filter); });
    if (!in_some_row) continue;
    if (has_any_metric(r, layout)) {
      used.push_back(&r);
    } else {
      ++without_metrics;  // e.g. a metric stored as NaN: say so rather than drop it silently
    }
  }
  if (without_metrics) {
    std::vector<std::string> keys;
    for (const MetricSpec& m : layout.metrics) keys.push_back(m.key);
    t.warnings.push_back(fmt::format("{} finished runs of this table have no finite {}; left out",
                                     without_metrics, fmt::join(keys, " or ")));
  }

  // 2. Pins hold a param at one value (Table 5 at one n_train).
  for (const std::string& key : layout.pins) {
    const std::string value = pick_pin_value(key, layout, used, pins);
    t.pinned.emplace_back(key, value);
    std::vector<const RunRecord*> kept;
    for (const RunRecord* r : used)
      if (const std::string* v = param(*r, key); v && param_values_equal(*v, value)) kept.push_back(r);
    used = std::move(kept);
  }

  // 3. Columns from the data.
  if (layout.column_key.empty()) {
    t.columns = {""};
  } else {
    std::vector<const RunRecord*> kept;
    size_t without_key = 0;
    for (const RunRecord* r : used) {
      if (const std::string* v = param(*r, layout.column_key)) {
        t.columns.push_back(canonical_value(*v));
        kept.push_back(r);
      } else {
        ++without_key;
      }
    }
    if (without_key)
      t.warnings.push_back(fmt::format("{} runs without {} were left out", without_key, layout.column_key));
    used = std::move(kept);
    sort_column_values(t.columns);
  }
  t.runs_used = used.size();
  const size_t n_cols = t.columns.size();
  auto column_of = [&](const RunRecord& r) -> size_t {
    if (layout.column_key.empty()) return 0;
    const std::string v = canonical_value(*param(r, layout.column_key));
    return static_cast<size_t>(std::find(t.columns.begin(), t.columns.end(), v) - t.columns.begin());
  };

  // 4. Each run goes to the first row it matches.
  std::vector<std::vector<Units>> units(layout.rows.size(), std::vector<Units>(n_cols));
  std::vector<Units> column_units(n_cols);  // all rows together, for the reference predictors
  size_t in_several_rows = 0;
  t.rows.resize(layout.rows.size());
  for (size_t i = 0; i < layout.rows.size(); ++i) {
    t.rows[i].label = layout.rows[i].label;
    t.rows[i].is_baseline = layout.rows[i].label == layout.baseline;
    t.rows[i].runs_per_column.assign(n_cols, 0);
  }
  for (const RunRecord* r : used) {
    size_t first = layout.rows.size(), count = 0;
    for (size_t i = 0; i < layout.rows.size(); ++i)
      if (matches(*r, layout.rows[i].filter)) first = std::min(first, i), ++count;
    in_several_rows += count > 1;
    const size_t c = column_of(*r);
    const std::string key = layout.setup ? "run=" + r->id : unit_key(*r, layout.pair_keys);
    units[first][c][key].push_back(r);
    column_units[c][key].push_back(r);
    ++t.rows[first].runs;
    ++t.rows[first].runs_per_column[c];
  }
  if (in_several_rows)
    t.warnings.push_back(fmt::format("{} runs match more than one row; each counted in its first", in_several_rows));

  // 5. Cells, repeats and mixed configurations.
  std::set<std::string> expected_to_vary(layout.pair_keys.begin(), layout.pair_keys.end());
  for (const std::string& k : layout.pins) expected_to_vary.insert(k);
  if (!layout.column_key.empty()) expected_to_vary.insert(layout.column_key);
  for (const ParamMatch& m : layout.common) expected_to_vary.insert(m.key);
  std::set<const RunRecord*> table_runs;  // in the runs' order (they live in one vector)
  for (size_t i = 0; i < layout.rows.size(); ++i) {
    RowResult& row = t.rows[i];
    row.cells.assign(n_cols, std::vector<Summary>(layout.metrics.size()));
    std::set<std::string> mixed;
    size_t repeated_units = 0;
    std::vector<const RunRecord*> row_runs;
    for (size_t c = 0; c < n_cols; ++c) {
      std::vector<const RunRecord*> cell_runs;
      for (const auto& [_, rs] : units[i][c]) {
        repeated_units += rs.size() > 1;
        cell_runs.insert(cell_runs.end(), rs.begin(), rs.end());
      }
      for (size_t m = 0; m < layout.metrics.size(); ++m)
        row.cells[c][m] = summarize_units(unit_values(units[i][c], layout.metrics[m].key));
      std::set<std::string> vary = expected_to_vary;
      for (const ParamMatch& pm : layout.rows[i].filter) vary.insert(pm.key);
      for (const std::string& k : mixed_params(cell_runs, vary)) mixed.insert(k);
      row_runs.insert(row_runs.end(), cell_runs.begin(), cell_runs.end());
    }
    if (repeated_units)
      t.warnings.push_back(fmt::format("row '{}': {} cells have repeated runs for one seed; they are averaged",
                                       row.label, repeated_units));
    if (!mixed.empty() && !layout.setup)
      t.warnings.push_back(fmt::format("row '{}': runs in one cell differ in {}", row.label,
                                       fmt::join(std::vector<std::string>(mixed.begin(), mixed.end()), ", ")));
    for (const MetricSpec& d : layout.diagnostics) {
      std::vector<double> xs;
      for (const RunRecord* r : row_runs)
        if (auto v = metric(*r, d.key)) xs.push_back(*v);
      row.diagnostics.push_back(summarize(xs));
    }
    table_runs.insert(row_runs.begin(), row_runs.end());
  }
  for (const MetricSpec& d : layout.diagnostics) {
    std::vector<Summary> bars;
    for (const MetricSpec& bar : d.bars) {
      std::vector<double> xs;
      for (const RunRecord* r : table_runs)
        if (auto v = metric(*r, bar.key)) xs.push_back(*v);
      bars.push_back(summarize(xs));
    }
    t.diagnostic_bars.push_back(std::move(bars));
  }

  // 6. Paired differences from the baseline row.
  auto baseline = std::find_if(t.rows.begin(), t.rows.end(), [](const RowResult& r) { return r.is_baseline; });
  if (baseline != t.rows.end()) {
    const size_t b = static_cast<size_t>(baseline - t.rows.begin());
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (i == b) continue;
      t.rows[i].paired.assign(n_cols, std::vector<PairedResult>(layout.metrics.size()));
      for (size_t c = 0; c < n_cols; ++c)
        for (size_t m = 0; m < layout.metrics.size(); ++m) {
          const std::string& key = layout.metrics[m].key;
          t.rows[i].paired[c][m] = pair_against(unit_values(units[i][c], key), unit_values(units[b][c], key));
        }
    }
  }

  // 7. Reference predictors: the same test data serve every row, so one unit per seed.
  for (const ReferenceSpec& ref : layout.references) {
    RowResult row;
    row.label = ref.label;
    row.runs_per_column.assign(n_cols, 0);
    row.cells.assign(n_cols, std::vector<Summary>(layout.metrics.size()));
    for (size_t c = 0; c < n_cols; ++c) {
      for (const auto& [_, rs] : column_units[c]) row.runs_per_column[c] += rs.size();
      for (size_t m = 0; m < layout.metrics.size(); ++m)
        row.cells[c][m] = summarize_units(unit_values(column_units[c], ref.prefix + "." + layout.metrics[m].key));
    }
    t.references.push_back(std::move(row));
  }

  t.temperature = shared_temperature(used, t.warnings);
  t.typical_n = most_common_n(t.rows);
  return t;
}

}  // namespace dist2::report
