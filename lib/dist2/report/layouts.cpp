#include "dist2/report/layouts.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>

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

// ---- the regression layouts (paper section 3.1, Tables 11 and 5, Figure 3) ----

const ParamFilter kRegression = {{"task.name", "regression"}};

// Knobs the ablations switch off; the full dist row keeps them at their defaults.
ParamFilter full_dist() {
  return {{"loss.kind", "dist"},
          {"loss.place_weighting", "true", true},
          {"loss.contrastive", "true", true},
          {"loss.metric", "sq", true}};
}

std::vector<MetricSpec> regression_metrics() {
  return {{"mae", "MAE"}, {"rmse", "RMSE"}};
}

std::vector<MetricSpec> regression_diagnostics() {
  return {{"parse_failure_rate", "parse-failure rate"}};
}

std::vector<ReferenceSpec> regression_references() {
  return {{"ref.constant", "reference: constant (mean of training targets)", "ref: constant"},
          {"ref.mean_y", "reference: mean of the observed y's", "ref: mean of observed y"},
          {"ref.oracle", "reference: oracle (exact line, rounding only)", "ref: oracle"}};
}

Layout table11() {
  Layout l;
  l.name = "table11";
  l.title = "Table 11: meta linear regression, MAE and RMSE by training-set size";
  l.common = kRegression;
  l.rows = {{"sft", {{"loss.kind", "sft"}}}, {"vocab", {{"loss.kind", "vocab"}}}, {"dist", full_dist()}};
  l.column_key = "task.n_train";
  l.column_label = "n_train";
  l.metrics = regression_metrics();
  l.references = regression_references();
  l.diagnostics = regression_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::LineBelow;
  l.paper = {"table11"};
  l.notes = {"Our column axis is task.n_train (training problems in the scaled replication); "
             "the paper's is 1-10 training problems with a pretrained 1B model. The two axes are "
             "printed as they are and are not aligned."};
  return l;
}

Layout figure3() {
  Layout l = table11();
  l.name = "figure3";
  l.title = "Figure 3: meta linear regression, MAE and RMSE by training-set size";
  l.kind = LayoutKind::Figure;
  l.log_x = true;
  return l;
}

Layout table5() {
  Layout l;
  l.name = "table5";
  l.title = "Table 5: ablations on meta linear regression";
  l.common = kRegression;
  l.rows = {
      {"dist", full_dist()},
      {"dist without place-value weighting",
       {{"loss.kind", "dist"}, {"loss.place_weighting", "false"}, {"loss.contrastive", "true", true}}},
      {"dist without contrastive augmentation",
       {{"loss.kind", "dist"}, {"loss.contrastive", "false"}, {"loss.place_weighting", "true", true}}},
      {"label smoothing 0.1 (no distance-aware target)",
       {{"loss.kind", "label_smoothing"}, {"loss.smoothing", "0.1", true}}},
      {"sft", {{"loss.kind", "sft"}}},
  };
  l.pins = {"task.n_train"};
  l.metrics = regression_metrics();
  l.references = regression_references();
  l.diagnostics = regression_diagnostics();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table5"};
  return l;
}

// ---- reward modeling (paper section 3.4, appendix C): rows = filters, columns =
// metric names. Accuracies are stored as fractions and printed in percent. ----

std::vector<MetricSpec> reward_average() {
  return {{"accuracy.average", "accuracy (%)", 100, 1, false}};
}

Layout table6() {
  Layout l;
  l.name = "table6";
  l.title = "Table 6: sensitivity to the loss weight alpha (reward modeling)";
  for (const char* alpha : {"1.0", "0.2", "0.1", "0.02", "0.01", "0.005", "0.001"})
    l.rows.push_back({fmt::format("dist, alpha = {}", alpha),
                      {{"loss.kind", "dist"}, {"loss.alpha", alpha}, {"loss.metric", "sq", true}}});
  l.rows.push_back({"sft", {{"loss.kind", "sft"}}});
  l.metrics = reward_average();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table6"};
  return l;
}

Layout table8() {
  Layout l;
  l.name = "table8";
  l.title = "Table 8: a random distance metric as a sanity check (reward modeling)";
  l.rows = {{"dist, squared distance", {{"loss.kind", "dist"}, {"loss.metric", "sq"}}},
            {"dist, random distance table", {{"loss.kind", "dist"}, {"loss.metric", "random"}}},
            {"sft", {{"loss.kind", "sft"}}}};
  l.metrics = reward_average();
  l.baseline = "sft";
  l.paired = PairedDisplay::Columns;
  l.paper = {"table8"};
  return l;
}

const std::vector<Layout>& all_layouts() {
  static const std::vector<Layout> layouts = {table11(), figure3(), table5(), table6(), table8()};
  return layouts;
}

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
