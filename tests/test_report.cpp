// Tests for the report library: statistics, layouts over synthetic runs, the three
// text formats, the SVG writer and the report files. Runs are generated here with
// known offsets per loss; expected numbers are recomputed independently.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <limits>
#include <tuple>

#include "dist2/report/aggregate.h"
#include "dist2/report/generic.h"
#include "dist2/report/html.h"
#include "dist2/report/layouts.h"
#include "dist2/report/paper_numbers.h"
#include "dist2/report/render.h"
#include "dist2/report/stats.h"
#include "dist2/report/svg.h"
#include "dist2/util/error.h"

using namespace dist2::report;

namespace {

// ---- independent reference computations ----

double welford_std(const std::vector<double>& xs) {  // a different route to the sample std
  double m = 0, s = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const double delta = xs[k] - m;
    m += delta / static_cast<double>(k + 1);
    s += delta * (xs[k] - m);
  }
  return xs.size() > 1 ? std::sqrt(s / static_cast<double>(xs.size() - 1)) : 0.0;
}

double plain_mean(const std::vector<double>& xs) {
  long double s = 0;
  for (double x : xs) s += x;
  return static_cast<double>(s / xs.size());
}

// Recursive enumeration of every sign pattern, comparing means.
double brute_force_sign_flip_p(const std::vector<double>& d) {
  const double observed = std::fabs(plain_mean(d));
  size_t hits = 0, total = 0;
  std::vector<double> signed_d(d.size());
  std::function<void(size_t)> go = [&](size_t i) {
    if (i == d.size()) {
      ++total;
      hits += std::fabs(plain_mean(signed_d)) >= observed - 1e-12;
      return;
    }
    for (double s : {1.0, -1.0}) {
      signed_d[i] = s * d[i];
      go(i + 1);
    }
  };
  go(0);
  return static_cast<double>(hits) / static_cast<double>(total);
}

// ---- synthetic regression runs ----

using Key = std::tuple<std::string, int, int>;  // loss, n_train, seed

struct Synthetic {
  std::vector<RunRecord> runs;
  std::map<Key, std::pair<double, double>> truth;  // (mae, rmse) of each run
};

const std::vector<int> kNTrain = {16, 64, 256};

Synthetic make_regression(int n_seeds, const std::map<std::string, double>& offset, uint32_t rng_seed) {
  Synthetic s;
  std::mt19937 rng(rng_seed);
  std::normal_distribution<double> noise(0.0, 0.004);
  int id = 0;
  for (int n : kNTrain)
    for (int seed = 1; seed <= n_seeds; ++seed) {
      const double base = 0.25 / std::sqrt(static_cast<double>(n)) + 0.05;
      const double seed_effect = noise(rng);  // shared by every loss of this seed: pairing helps
      for (const auto& [loss, off] : offset) {
        RunRecord r;
        r.id = fmt::format("run{}", ++id);
        r.status = "finished";
        r.params = {{"task.name", "regression"}, {"loss.kind", loss},      {"task.n_train", std::to_string(n)},
                    {"seed", std::to_string(seed)}, {"loss.alpha", "0.1"}, {"loss.tau", "2"}};
        if (loss == "dist") r.params["loss.place_weighting"] = "true", r.params["loss.contrastive"] = "true";
        const double mae = base + seed_effect + off + noise(rng);
        const double rmse = 1.3 * mae + noise(rng);
        r.metrics = {{"mae", mae}, {"rmse", rmse}, {"parse_failure_rate", 0.01 * seed},
                     {"ref.constant.mae", 0.2 + 0.001 * seed}, {"ref.constant.rmse", 0.25 + 0.001 * seed},
                     {"ref.mean_y.mae", 0.15 + 0.001 * seed},  {"ref.mean_y.rmse", 0.19 + 0.001 * seed},
                     {"ref.oracle.mae", 0.0005},               {"ref.oracle.rmse", 0.0006}};
        s.truth[{loss, n, seed}] = {mae, rmse};
        s.runs.push_back(std::move(r));
      }
    }
  return s;
}

std::vector<double> truth_values(const Synthetic& s, const std::string& loss, int n, int n_seeds, bool rmse) {
  std::vector<double> xs;
  for (int seed = 1; seed <= n_seeds; ++seed) {
    auto it = s.truth.find({loss, n, seed});
    if (it != s.truth.end()) xs.push_back(rmse ? it->second.second : it->second.first);
  }
  return xs;
}

std::vector<double> truth_diffs(const Synthetic& s, const std::string& loss, int n, int n_seeds, bool rmse) {
  std::vector<double> d;
  for (int seed = 1; seed <= n_seeds; ++seed) {
    auto a = s.truth.find({loss, n, seed}), b = s.truth.find({"sft", n, seed});
    if (a == s.truth.end() || b == s.truth.end()) continue;
    d.push_back(rmse ? a->second.second - b->second.second : a->second.first - b->second.first);
  }
  return d;
}

// ---- output parsing ----

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::vector<std::string>> csv_records(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') rows.push_back(split_csv_line(line));
  return rows;
}

// The CSV value for (section, row, column value, metric, stat), or "" if absent.
std::string csv_value(const std::vector<std::vector<std::string>>& rows, const std::string& section,
                      const std::string& row, const std::string& column, const std::string& metric,
                      const std::string& stat, std::string* n = nullptr) {
  for (const auto& r : rows)
    if (r.size() == 8 && r[0] == section && r[1] == row && r[3] == column && r[4] == metric && r[5] == stat) {
      if (n) *n = r[7];
      return r[6];
    }
  return "";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

std::string fixed_1(double v) { return fmt::format("{:.1f}", v); }

ReportContext test_context() {
  ReportContext ctx;
  ctx.command = "dist2 report table11 --format md";
  ctx.profile = "smoke";
  ctx.commit = "abc1234";
  ctx.date = "2025-01-01";
  ctx.machine = "test";
  return ctx;
}

const std::map<std::string, double> kOffsets = {{"sft", 0.0}, {"vocab", -0.001}, {"dist", -0.03}};

}  // namespace

// ================================ statistics ================================

TEST_CASE("mean and sample std match independent computations", "[report]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-3, 3);
  for (size_t n : {1, 2, 3, 10, 57}) {
    std::vector<double> xs(n);
    for (double& x : xs) x = u(rng);
    CHECK(mean(xs) == Approx(plain_mean(xs)).epsilon(1e-12));
    CHECK(sample_std(xs) == Approx(welford_std(xs)).epsilon(1e-10).margin(1e-14));
  }
  CHECK(sample_std({4.2}) == 0);
  CHECK(std::isnan(mean({})));
  CHECK(sample_std({1, 2, 3, 4}) == Approx(std::sqrt(5.0 / 3.0)));
  const Summary s = summarize({1, 3});
  CHECK(s.n == 2);
  CHECK(s.mean == 2);
  CHECK(s.std == Approx(std::sqrt(2.0)));
}

TEST_CASE("quantiles match a sorted-array interpolation done by hand", "[report]") {
  // Type 7: h = q (n - 1); {4, 1, 3, 2} sorted is {1, 2, 3, 4}.
  CHECK(quantile({4, 1, 3, 2}, 0.5) == Approx(2.5));
  CHECK(quantile({4, 1, 3, 2}, 0.25) == Approx(1.75));  // h = 0.75: 1 + 0.75 (2 - 1)
  CHECK(quantile({4, 1, 3, 2}, 0.75) == Approx(3.25));
  CHECK(quantile({7}, 0.25) == 7);
  CHECK(std::isnan(quantile({}, 0.5)));
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-5, 5);
  for (size_t n : {2, 5, 9, 40}) {
    std::vector<double> xs(n);
    for (double& x : xs) x = u(rng);
    std::vector<double> sorted = xs;
    std::sort(sorted.begin(), sorted.end());
    const long double h = 0.5L * static_cast<long double>(n - 1);
    const auto lo = static_cast<size_t>(h);
    const long double want = sorted[lo] + (h - lo) * (sorted[std::min(lo + 1, n - 1)] - sorted[lo]);
    CHECK(quantile(xs, 0.5) == Approx(static_cast<double>(want)).epsilon(1e-12));
  }
  const Summary s = summarize({5, 1, 3}, {"seed=1", "seed=2", "seed=3"});
  CHECK(s.median == 3);
  CHECK(s.q1 == 2);
  CHECK(s.q3 == 4);
  REQUIRE(s.units.size() == 3);
  CHECK(s.units[1] == "seed=2");
  CHECK(s.values[1] == 1);
}

TEST_CASE("outlier seeds: one broken run is named, ordinary spread and ties are not", "[report]") {
  // Figure 3's case: one sft seed diverged (MAE 52 against about 1).
  CHECK(outlier_indices({0.9, 1.1, 0.8, 52.0, 1.0}) == std::vector<size_t>{3});
  // Ordinary seed noise: nothing named.
  CHECK(outlier_indices({0.31, 0.35, 0.29, 0.40, 0.33}).empty());
  // Most seeds tie exactly (accuracy on a small test set): a close value is not an outlier...
  CHECK(outlier_indices({0.4, 0.4, 0.4, 0.404, 0.396}).empty());
  // ...but a far one is, and so is any difference when all the others agree exactly.
  CHECK(outlier_indices({0.4, 0.4, 0.4, 0.404, 0.9}) == std::vector<size_t>{4});
  CHECK(outlier_indices({1, 1, 1, 1, 2}) == std::vector<size_t>{4});
  // Fewer than four seeds: no "others" to compare with.
  CHECK(outlier_indices({1, 1, 100}).empty());
  // Three others that happen to agree closely: a fifth seed 6 points off is named
  // against their std alone, not against the table's typical seed std of 3.5.
  const std::vector<double> close = {31.6, 31.8, 31.4, 31.7, 25.6};
  CHECK(outlier_indices(close) == std::vector<size_t>{4});
  CHECK(outlier_indices(close, 3.5).empty());
  CHECK(outlier_indices({0.9, 1.1, 0.8, 52.0, 1.0}, 0.05) == std::vector<size_t>{3});
}

TEST_CASE("sign-flip test on known small cases", "[report]") {
  // All five differences positive: only the all-plus and all-minus patterns are as extreme.
  CHECK(paired_sign_flip_test({0.1, 0.2, 0.3, 0.4, 0.5}).p_value == Approx(2.0 / 32));
  // Sums of +-1 +-2 +-3: |sum| = 6 only for the two uniform patterns.
  CHECK(paired_sign_flip_test({1, 2, 3}).p_value == Approx(2.0 / 8));
  // Mean exactly zero: every pattern is at least as extreme.
  CHECK(paired_sign_flip_test({1, -1}).p_value == Approx(1.0));
  CHECK(paired_sign_flip_test({0, 0, 0}).p_value == Approx(1.0));
  const PairedResult r = paired_sign_flip_test({-0.2, -0.1, -0.4});
  CHECK(r.n == 3);
  CHECK(r.mean_diff == Approx(-0.7 / 3));
  CHECK(r.std_diff == Approx(welford_std({-0.2, -0.1, -0.4})));
  CHECK(r.exact);
  CHECK(std::isnan(paired_sign_flip_test({}).p_value));
  CHECK(paired_sign_flip_test({}).n == 0);
  CHECK(smallest_attainable_p(5) == Approx(0.0625));
  CHECK(smallest_attainable_p(6) == Approx(0.03125));
}

TEST_CASE("sign-flip test agrees with brute-force enumeration", "[report]") {
  std::mt19937 rng(11);
  std::normal_distribution<double> g(0.3, 1.0);
  for (size_t n = 1; n <= 12; ++n)
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<double> d(n);
      for (double& x : d) x = g(rng);
      INFO("n = " << n);
      CHECK(paired_sign_flip_test(d).p_value == Approx(brute_force_sign_flip_p(d)).margin(1e-12));
    }
  // Ties: integer differences make many patterns exactly as extreme as the observed one.
  const std::vector<double> ties = {1, 1, 2, -1, 3, 1, -2};
  CHECK(paired_sign_flip_test(ties).p_value == Approx(brute_force_sign_flip_p(ties)));
}

TEST_CASE("sign-flip test above 20 pairs uses a seeded Monte Carlo close to the exact p", "[report]") {
  std::mt19937 rng(5);
  std::normal_distribution<double> g(0.25, 1.0);
  std::vector<double> d(21);
  for (double& x : d) x = g(rng);
  const PairedResult mc = paired_sign_flip_test(d, 99);
  CHECK_FALSE(mc.exact);
  const double exact = brute_force_sign_flip_p(d);
  const double sd = std::sqrt(exact * (1 - exact) / kMonteCarloDraws) + 1e-5;
  CHECK(std::fabs(mc.p_value - exact) < 5 * sd);
  CHECK(paired_sign_flip_test(d, 99).p_value == mc.p_value);  // reproducible by seed
  const std::vector<double> positive(25, 1.0);
  CHECK(paired_sign_flip_test(positive).p_value == Approx(1.0 / (1 + kMonteCarloDraws)));
}

// ================================ paper numbers ================================

TEST_CASE("paper tables are complete and consistent across the paper's own tables", "[report]") {
  for (const std::string& id : paper_table_ids()) {
    const PaperTable& t = paper_table(id);
    INFO(id);
    CHECK(!t.source.empty());
    CHECK(!t.model.empty());
    for (const PaperRow& row : t.rows) {
      CHECK(row.values.size() == t.width());
      // The setup tables (9: backbones, 10: GPUs) print names; the others print numbers.
      if (id != "table9" && id != "table10")
        for (const std::string& v : row.values) CHECK((v == "-" || std::isfinite(paper_value(v))));
    }
  }
  // The paper prints some numbers twice; independent transcriptions must agree.
  const PaperTable& t11 = paper_table("table11");
  const PaperTable& t5 = paper_table("table5");
  for (size_t i = 0; i < 4; ++i) {
    CHECK(t5.rows[0].values[i] == t11.rows[2].values[9 * 4 + i]);  // dist at 10 problems
    CHECK(t5.rows[4].values[i] == t11.rows[0].values[9 * 4 + i]);  // sft at 10 problems
  }
  CHECK(paper_table("table3").rows[8].values[4] == paper_table("table8").rows[0].values[0]);  // dist 85.3
  CHECK(paper_table("table6").rows[2].values[0] == paper_table("table8").rows[0].values[0]);
  CHECK(paper_table("table12_top").rows[1].values[0] == paper_table("table3").rows[7].values[4]);  // sft 75.3
  CHECK(paper_table("table7_top").rows[1].values[0] == paper_table("table8").rows[2].values[0]);
  CHECK_THROWS_WITH(paper_table("table99"), Catch::Contains("table11"));
}

// ================================ layouts ================================

TEST_CASE("layouts are found by name and unknown names list the valid ones", "[report]") {
  for (const char* name : {"table11", "figure3", "table5", "table6", "table8"})
    CHECK(find_layout(name).name == name);
  CHECK_THROWS_AS(find_layout("table42"), dist2::Error);
  CHECK_THROWS_WITH(find_layout("table42"), Catch::Contains("table11") && Catch::Contains("figure3"));
  for (const std::string& name : layout_names()) {
    const Layout& l = find_layout(name);
    for (const std::string& id : l.paper) CHECK_NOTHROW(paper_table(id));
    if (!l.baseline.empty())
      CHECK(std::any_of(l.rows.begin(), l.rows.end(), [&](const RowSpec& r) { return r.label == l.baseline; }));
  }
}

// A small layouts file of our own: every rule of the form, and the errors a
// malformed one gets (one line, with the file, line and column).
const char* const kLayoutsYaml = R"(
shared:
  refs: &refs
    - {prefix: ref.oracle, label: oracle, ceiling: true}
  diag: &diag
    - {key: parse_failure_rate, label: parse failures}
layouts:
  - name: mine
    title: My table
    where: {task.name: text}
    rows:
      - {label: sft, where: {loss.kind: sft}}
      - label: dist
        where: {loss.kind: dist}
        where_or_absent: {loss.alpha: 0.1}
    columns: {key: task.n_train}
    metrics:
      - {key: acc, label: accuracy, percent: true}
      - {key: mae, decimals: 2, scale: 10}
    references: *refs
    diagnostics: [*diag, {key: extra, label: extra line, better: higher}]
    baseline: sft
    paired: columns
    paper: [table11]
    notes: [a note]
  - name: mine_figure
    extends: mine
    title: My figure
    kind: figure
    log_x: true
)";

TEST_CASE("layouts load from their data file: every field, extends and spliced shared lists", "[report]") {
  const auto ls = parse_layouts(kLayoutsYaml, "mine.yaml");
  REQUIRE(ls.size() == 2);
  const Layout& l = ls[0];
  CHECK(l.name == "mine");
  CHECK(l.kind == LayoutKind::Table);
  REQUIRE(l.common.size() == 1);
  CHECK((l.common[0].key == "task.name" && l.common[0].value == "text" && !l.common[0].match_if_absent));
  REQUIRE(l.rows.size() == 2);
  REQUIRE(l.rows[1].filter.size() == 2);
  CHECK((l.rows[1].filter[1].key == "loss.alpha" && l.rows[1].filter[1].value == "0.1" &&
         l.rows[1].filter[1].match_if_absent));
  CHECK(l.column_key == "task.n_train");
  CHECK(l.column_label == "task.n_train");  // the key when no label is given
  REQUIRE(l.metrics.size() == 2);
  CHECK((l.metrics[0].scale == 100 && l.metrics[0].decimals == 1 && !l.metrics[0].lower_is_better));
  CHECK((l.metrics[1].label == "mae" && l.metrics[1].scale == 10 && l.metrics[1].decimals == 2 &&
         l.metrics[1].lower_is_better));
  REQUIRE(l.references.size() == 1);
  CHECK((l.references[0].ceiling && l.references[0].legend == "oracle"));
  REQUIRE(l.diagnostics.size() == 2);  // the shared list spliced in, then one more
  CHECK((l.diagnostics[0].key == "parse_failure_rate" && l.diagnostics[1].key == "extra"));
  CHECK(l.paired == PairedDisplay::Columns);
  CHECK(l.pair_keys == std::vector<std::string>{"seed"});
  CHECK(l.notes == std::vector<std::string>{"a note"});
  const Layout& fig = ls[1];
  CHECK((fig.kind == LayoutKind::Figure && fig.log_x && fig.title == "My figure"));
  CHECK((fig.rows.size() == 2 && fig.metrics.size() == 2 && fig.baseline == "sft"));  // from `mine`
}

TEST_CASE("a malformed layouts or paper-numbers file is one clear error with its place", "[report]") {
  const std::string good = kLayoutsYaml;
  auto err = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    try {
      parse_layouts(text, "mine.yaml");
    } catch (const dist2::Error& e) {
      const std::string what = e.what();
      CHECK(what.find('\n') == std::string::npos);
      return what;
    }
    FAIL("no error for " << to);
    return std::string();
  };
  CHECK_THAT(err("title: My table", "title: [My table"), Catch::StartsWith("mine.yaml:") && Catch::Contains("malformed YAML"));
  CHECK_THAT(err("paired: columns", "pared: columns"),
             Catch::StartsWith("mine.yaml:23:5: unknown key 'pared' in a layout") && Catch::Contains("paired"));
  CHECK_THAT(err("paired: columns", "paired: beside"), Catch::Contains("must be line_below, columns or none"));
  CHECK_THAT(err("baseline: sft", "baseline: sfft"), Catch::Contains("no row is labelled 'sfft'"));
  CHECK_THAT(err("paper: [table11]", "paper: [table99]"), Catch::Contains("no paper table 'table99'"));
  CHECK_THAT(err("extends: mine", "extends: theirs"), Catch::Contains("no layout 'theirs' before this one"));
  CHECK_THAT(err("{key: acc, label: accuracy, percent: true}", "{label: accuracy}"),
             Catch::Contains("a metric needs 'key'"));
  CHECK_THAT(err("better: higher", "better: up"), Catch::Contains("must be lower or higher"));
  CHECK_THAT(err("decimals: 2", "decimals: two"), Catch::Contains("must be a number"));
  CHECK_THAT(err("name: mine_figure", "name: mine"), Catch::Contains("a second layout named 'mine'"));
  CHECK_THROWS_WITH(parse_layouts("layouts: []", "x.yaml"), Catch::Contains("no layouts"));

  const std::string paper = R"(tables:
  - id: t
    caption: c
    source: s
    axis: {label: n, values: [1, 2]}
    value_labels: [MAE]
    rows:
      - {label: sft, loss: sft, values: [[0.2], [0.1]]}
)";
  REQUIRE(parse_paper_tables(paper, "p.yaml").at(0).rows.at(0).values == std::vector<std::string>{"0.2", "0.1"});
  std::string short_row = paper;
  short_row.replace(short_row.find("[[0.2], [0.1]]"), 14, "[0.2]");
  CHECK_THROWS_WITH(parse_paper_tables(short_row, "p.yaml"),
                    Catch::StartsWith("p.yaml:8:") && Catch::Contains("has 1 values; table t has 2"));
  std::string no_source = paper;
  no_source.replace(no_source.find("    source: s\n"), 14, "");
  CHECK_THROWS_WITH(parse_paper_tables(no_source, "p.yaml"), Catch::Contains("a paper table needs 'source'"));
}

TEST_CASE("param filters compare numbers, booleans and absent keys", "[report]") {
  RunRecord r;
  r.params = {{"loss.alpha", "1"}, {"loss.place_weighting", "True"}, {"loss.kind", "dist"}};
  CHECK(matches(r, {{"loss.alpha", "1.0"}}));
  CHECK_FALSE(matches(r, {{"loss.alpha", "0.1"}}));
  CHECK(matches(r, {{"loss.place_weighting", "true"}}));
  CHECK_FALSE(matches(r, {{"loss.contrastive", "true"}}));
  CHECK(matches(r, {{"loss.contrastive", "true", true}}));
  CHECK_FALSE(matches(r, {{"loss.kind", "sft"}}));
  std::vector<std::string> cols = {"256", "16", "64.0", "64", "abc"};
  for (auto& c : cols) c = canonical_value(c);
  sort_column_values(cols);
  CHECK(cols == std::vector<std::string>{"16", "64", "256", "abc"});
}

TEST_CASE("table11 cells and paired tests match independent computations", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const TableResult t = aggregate(find_layout("table11"), s.runs);
  REQUIRE(t.columns == std::vector<std::string>{"16", "64", "256"});
  CHECK(t.runs_used == s.runs.size());
  CHECK(t.typical_n == 5);
  CHECK(t.warnings.empty());
  CHECK(t.temperature.find("tau = 2 as the dist runs trained") != std::string::npos);
  const std::vector<std::string> losses = {"sft", "vocab", "dist"};
  for (size_t i = 0; i < losses.size(); ++i)
    for (size_t c = 0; c < kNTrain.size(); ++c)
      for (int m = 0; m < 2; ++m) {
        INFO(losses[i] << " n=" << kNTrain[c] << " metric " << m);
        const auto xs = truth_values(s, losses[i], kNTrain[c], 5, m == 1);
        const Summary& cell = t.rows[i].cells[c][m];
        CHECK(cell.n == 5);
        CHECK(cell.mean == Approx(plain_mean(xs)).epsilon(1e-12));
        CHECK(cell.std == Approx(welford_std(xs)).epsilon(1e-9));
        if (losses[i] == "sft") {
          CHECK(t.rows[i].paired.empty());
          continue;
        }
        const auto d = truth_diffs(s, losses[i], kNTrain[c], 5, m == 1);
        const PairedResult& p = t.rows[i].paired[c][m];
        CHECK(p.n == 5);
        CHECK(p.mean_diff == Approx(plain_mean(d)).epsilon(1e-9));
        CHECK(p.std_diff == Approx(welford_std(d)).epsilon(1e-9));
        CHECK(p.p_value == Approx(brute_force_sign_flip_p(d)));
      }
  // Reference rows: one value per seed, averaged over seeds.
  REQUIRE(t.references.size() == 3);
  CHECK(t.references[0].cells[1][0].mean == Approx(0.2 + 0.003));
  CHECK(t.references[0].cells[1][0].n == 5);
  CHECK(t.references[2].cells[0][1].mean == Approx(0.0006));
  CHECK(t.rows[0].diagnostics[0].mean == Approx(0.03));
}

TEST_CASE("repeated seeds are averaged and mixed configurations are flagged", "[report]") {
  Synthetic s = make_regression(3, {{"sft", 0}, {"dist", -0.01}}, 3);
  auto sft16 = [](const RunRecord& r, const char* seed) {
    return r.params.at("loss.kind") == "sft" && r.params.at("task.n_train") == "16" && r.params.at("seed") == seed;
  };
  const RunRecord first = *std::find_if(s.runs.begin(), s.runs.end(), [&](const RunRecord& r) { return sft16(r, "1"); });
  RunRecord again = first;  // sft, n=16, seed 1, once more
  again.id = "again";
  again.metrics["mae"] += 0.1;
  s.runs.push_back(again);
  std::find_if(s.runs.begin(), s.runs.end(), [&](const RunRecord& r) { return sft16(r, "2"); })
      ->params["train.steps"] = "999";
  RunRecord no_metrics = first;
  no_metrics.id = "nan";
  no_metrics.metrics = {{"mae", std::nan("")}};
  s.runs.push_back(no_metrics);
  RunRecord unfinished = first;
  unfinished.status = "running";
  s.runs.push_back(unfinished);
  const TableResult t = aggregate(find_layout("table11"), s.runs);
  CHECK(t.runs_not_finished == 1);
  CHECK(t.rows[0].cells[0][0].n == 3);  // still three seeds
  const double seed1 = (first.metrics.at("mae") + again.metrics.at("mae")) / 2;
  const std::vector<double> expected = {seed1, std::get<0>(s.truth.at({"sft", 16, 2})), s.truth.at({"sft", 16, 3}).first};
  CHECK(t.rows[0].cells[0][0].mean == Approx(plain_mean(expected)));
  std::string warnings;
  for (const auto& w : t.warnings) warnings += w + "\n";
  CHECK(warnings.find("repeated runs") != std::string::npos);
  CHECK(warnings.find("train.steps") != std::string::npos);
  CHECK(warnings.find("1 finished runs of this table have no finite mae or rmse") != std::string::npos);
}

TEST_CASE("missing cells print a dash with the count and never crash", "[report]") {
  Synthetic s = make_regression(5, kOffsets, 99);
  std::vector<RunRecord> runs;
  for (const RunRecord& r : s.runs)  // no vocab runs at n_train=64
    if (!(r.params.at("loss.kind") == "vocab" && r.params.at("task.n_train") == "64")) runs.push_back(r);
  const ReportContext ctx = test_context();
  const std::string md = render(find_layout("table11"), runs, Format::Markdown, ctx);
  CHECK(md.find("– (n=0)") != std::string::npos);
  CHECK(md.find("vocab vs sft, MAE: n_train = 16:") != std::string::npos);
  CHECK(md.find("n_train = 64: no paired runs (n = 0)") != std::string::npos);
  const auto rows = csv_records(render(find_layout("table11"), runs, Format::Csv, ctx));
  std::string n;
  CHECK(csv_value(rows, "ours", "vocab", "64", "mae", "mean", &n) == "–");
  CHECK(n == "0");
  // Nothing at all: every format still renders, our cells all missing, paper rows intact.
  for (const std::string& name : layout_names())
    for (Format f : {Format::Markdown, Format::Csv, Format::Tex}) {
      INFO(name << " " << format_name(f));
      std::string out;
      CHECK_NOTHROW(out = render(find_layout(name), {}, f, ctx));
      CHECK(out.find("paper (") != std::string::npos);
    }
  CHECK_NOTHROW(render(find_layout("figure3"), {}, Format::Svg, ctx));
}

TEST_CASE("csv has one value per line under a constant header and matches the numbers", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const std::string csv = render(find_layout("table11"), s.runs, Format::Csv, test_context());
  const auto rows = csv_records(csv);
  REQUIRE(rows.size() > 10);
  for (const auto& r : rows) CHECK(r.size() == rows[0].size());
  CHECK(rows[0] == std::vector<std::string>{"section", "row", "column_key", "column_value", "metric", "stat", "value", "n"});
  // Our numbers to three decimals, as recomputed here.
  const auto xs = truth_values(s, "dist", 64, 5, false);
  CHECK(std::stod(csv_value(rows, "ours", "dist", "64", "mae", "mean")) == Approx(plain_mean(xs)).margin(0.0005 + 1e-12));
  CHECK(std::stod(csv_value(rows, "ours", "dist", "64", "mae", "std")) == Approx(welford_std(xs)).margin(0.0005 + 1e-12));
  std::vector<double> sorted = xs;  // five seeds: the median is the third smallest
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::stod(csv_value(rows, "ours", "dist", "64", "mae", "median")) == Approx(sorted[2]).margin(0.0005 + 1e-12));
  const auto d = truth_diffs(s, "vocab", 256, 5, true);
  std::string n;
  const std::string p = csv_value(rows, "paired", "vocab - sft (paired)", "256", "rmse", "p", &n);
  CHECK(std::stod(p) == Approx(brute_force_sign_flip_p(d)).epsilon(0.005));
  CHECK(n == "5");
  // Provenance at the top.
  CHECK(csv.find("# command: dist2 report table11") != std::string::npos);
  CHECK(csv.find("# commit: abc1234") != std::string::npos);
  CHECK(csv.find("# runs used: 45 of 45 given") != std::string::npos);
}

TEST_CASE("a diverged seed is named under the table and drawn as one far circle on a log axis", "[report]") {
  Synthetic s = make_regression(5, kOffsets, 1234);
  for (RunRecord& r : s.runs)
    if (r.params.at("loss.kind") == "sft" && r.params.at("task.n_train") == "64" && r.params.at("seed") == "4")
      r.metrics["mae"] = 52.0;
  const std::string md = render(find_layout("table11"), s.runs, Format::Markdown, test_context());
  CHECK(md.find("Seeds far outside the others") != std::string::npos);
  CHECK(md.find("sft at n_train = 64, MAE: seed=4 gave 52.000") != std::string::npos);
  // Only that seed: no other cell of the synthetic table is named.
  CHECK(md.find("seed=", md.find("seed=4 gave") + 1) == std::string::npos);
  const std::string svg_text = render(find_layout("figure3"), s.runs, Format::Svg, test_context());
  CHECK(svg_text.find("MAE (line: median; band: quartiles; circles: seeds) (log scale)") != std::string::npos);
  // Without the diverged seed the values span less than a factor of 20: a linear axis.
  const Synthetic clean = make_regression(5, kOffsets, 1234);
  const std::string linear = render(find_layout("figure3"), clean.runs, Format::Svg, test_context());
  CHECK(linear.find("seeds) (log scale)") == std::string::npos);
  CHECK(linear.find("circles: seeds") != std::string::npos);
}

TEST_CASE("html: base64 and escaping by hand, every layout renders as a page with our table and the paper's",
          "[report]") {
  // RFC 4648's test vectors.
  const auto b64 = [](const std::string& s) { return html::base64(std::vector<uint8_t>(s.begin(), s.end())); };
  CHECK(b64("") == "");
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(html::escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(html::anchor("Table 1: visual grounding") == "table-1-visual-grounding");
  CHECK(html::anchor("!!") == "section");

  // Odd param names and values reach the page only escaped: a cell that mixes
  // configurations names the param in a warning, and a column value is a header.
  Synthetic s = make_regression(5, kOffsets, 1234);
  for (size_t i = 0; i < s.runs.size(); ++i) s.runs[i].params["note<&>"] = i % 2 ? "x" : "y";
  RunRecord odd = s.runs.front();
  odd.id = "odd";
  odd.params["task.n_train"] = "<script>alert(1)</script>";
  s.runs.push_back(odd);
  const std::string page = render(find_layout("table11"), s.runs, Format::Html, test_context());
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<script>alert") == std::string::npos);
  CHECK(page.find("note&lt;&amp;&gt;") != std::string::npos);
  CHECK(page.find("n_train = &lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  // Our numbers as the markdown prints them, in table cells.
  const auto xs = truth_values(s, "dist", 64, 5, false);
  CHECK(page.find(fmt::format("<td>{:.3f}</td>", plain_mean(xs))) != std::string::npos);
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(count(page, "<table>") == count(page, "</table>"));
  CHECK(count(page, "<tr") == count(page, "</tr>"));
  for (const std::string& name : layout_names()) {
    INFO(name);
    const std::string out = render(find_layout(name), {}, Format::Html, test_context());
    CHECK(count(out, "<table>") >= 2);  // ours (empty cells) and the paper's
    CHECK(out.find("paper (") != std::string::npos);
    CHECK(count(out, "<section") == 1);
    if (find_layout(name).kind == LayoutKind::Figure) CHECK(out.find("<svg") != std::string::npos);
  }
  CHECK(parse_format("html") == Format::Html);
  CHECK(file_extension(Format::Html) == "html");
}

TEST_CASE("generic layout: rows from the grid, columns from the logged metrics, paired against the baseline",
          "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  std::vector<Axis> axes = {{"seed", {"1", "2", "3", "4", "5"}},
                            {"task.n_train", {}},
                            {"loss.kind", {"sft", "vocab", "dist"}}};
  for (int n : kNTrain) axes[1].second.push_back(std::to_string(n));
  GenericOptions o;
  o.name = "mine";
  const Layout l = generic_layout(o, axes, s.runs);
  CHECK(l.column_key == "task.n_train");
  REQUIRE(l.rows.size() == 3);
  CHECK(l.rows[0].label == "loss.kind=sft");
  CHECK(l.baseline == "loss.kind=sft");
  // Every metric the runs logged, references from the ref.* keys that match them.
  std::vector<std::string> keys;
  for (const MetricSpec& m : l.metrics) keys.push_back(m.key);
  CHECK(keys == std::vector<std::string>{"mae", "parse_failure_rate", "rmse"});
  std::vector<std::string> refs;
  for (const ReferenceSpec& r : l.references) refs.push_back(r.prefix);
  CHECK(refs == std::vector<std::string>{"ref.constant", "ref.mean_y", "ref.oracle"});
  CHECK(l.references[2].ceiling);  // the oracle bounds, it does not compete
  CHECK_FALSE(l.references[0].ceiling);
  // The numbers: a mean and a paired p recomputed here.
  const auto rows = csv_records(render(l, s.runs, Format::Csv, test_context()));
  const auto xs = truth_values(s, "dist", 64, 5, false);
  CHECK(std::stod(csv_value(rows, "ours", "loss.kind=dist", "64", "mae", "mean")) ==
        Approx(plain_mean(xs)).margin(0.00005 + 1e-12));
  const auto d = truth_diffs(s, "vocab", 256, 5, true);
  const std::string p = csv_value(rows, "paired", "loss.kind=vocab - loss.kind=sft (paired)", "256", "rmse", "p");
  CHECK(std::stod(p) == Approx(brute_force_sign_flip_p(d)).epsilon(0.005));
  // Direction by name, and a chosen subset of metrics.
  CHECK(higher_is_better("ref.testA.acc50"));
  CHECK(higher_is_better("mean_iou"));
  CHECK_FALSE(higher_is_better("mae"));
  o.metrics = {"mae"};
  CHECK(generic_layout(o, axes, s.runs).metrics.size() == 1);
  // A baseline that is not a row, or not key=value, is one line.
  o.baseline = "loss.kind=ce";
  CHECK_THROWS_WITH(generic_layout(o, axes, s.runs), Catch::Contains("the sweep has no such row"));
  o.baseline = "sft";
  CHECK_THROWS_WITH(generic_layout(o, axes, s.runs), Catch::Contains("--baseline must be key=value"));
  // Without the baseline's axis: no paired tests, and the table says why.
  o.baseline = "loss.kind=sft";
  const Layout no_pairs = generic_layout(o, {{"seed", {"1"}}, {"task.n_train", {"16", "64"}}}, s.runs);
  CHECK(no_pairs.baseline.empty());
  CHECK(no_pairs.notes.front().find("not a sweep axis") != std::string::npos);
}

TEST_CASE("on a terminal, Table 11 prints one block per row with its axis down the lines, within 100 columns",
          "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  ReportContext ctx = test_context();
  ctx.terminal = true;
  const std::string md = render(find_layout("table11"), s.runs, Format::Markdown, ctx);
  size_t longest = 0, table_lines = 0;
  std::istringstream in(md);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '|') longest = std::max(longest, line.size()), ++table_lines;
  CHECK(longest <= 100);
  CHECK(table_lines > 40);
  // The paper's sft row: one line per training-set size, the paper's values in order.
  CHECK(md.find("**paper (Llama-3.2 1B): Llama-3.2 1B-dist**") != std::string::npos);
  CHECK(md.find("| training problems | MAE mean | MAE std | RMSE mean | RMSE std |") != std::string::npos);
  const size_t dist = md.find("**paper (Llama-3.2 1B): Llama-3.2 1B-dist**");
  CHECK(md.find("| 10 | 0.092 |", dist) != std::string::npos);
  // Ours: the same mean as the wide table gives.
  const auto xs = truth_values(s, "dist", 64, 5, false);
  const size_t ours = md.find("**dist**");
  REQUIRE(ours != std::string::npos);
  CHECK(md.find(fmt::format("| 64 | {:.3f} |", plain_mean(xs)), ours) != std::string::npos);
  // Not a terminal: the wide table, as before.
  CHECK(render(find_layout("table11"), s.runs, Format::Markdown, test_context()).find("**dist**") == std::string::npos);
}

TEST_CASE("paper rows are labelled as the paper's and never enter our rows", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const auto rows = csv_records(render(find_layout("table11"), s.runs, Format::Csv, test_context()));
  size_t paper_lines = 0;
  for (const auto& r : rows) {
    if (r[0] != "paper") continue;
    ++paper_lines;
    CHECK(r[1].rfind("paper (Llama-3.2 1B): ", 0) == 0);
    CHECK(r[2] == "training problems");  // the paper's own axis, not task.n_train
  }
  CHECK(paper_lines == 3 * 40);
  CHECK(csv_value(rows, "paper", "paper (Llama-3.2 1B): Llama-3.2 1B-dist", "10", "MAE mean", "value") == "0.092");
  // With no runs, our rows hold no numbers at all: only the paper's do.
  const auto empty = csv_records(render(find_layout("table11"), {}, Format::Csv, test_context()));
  for (const auto& r : empty)
    if (r[0] == "ours" || r[0] == "paired" || r[0] == "reference") CHECK(r[6] == "–");
  const std::string md = render(find_layout("table11"), s.runs, Format::Markdown, test_context());
  CHECK(md.find("| paper (Llama-3.2 1B): Llama-3.2 1B-sft |") != std::string::npos);
  CHECK(md.find("training problems = 10: MAE mean") != std::string::npos);
  CHECK(md.find("n_train = 256: MAE mean") != std::string::npos);
}

TEST_CASE("the temperature line prints the tau the dist runs logged, however it was set", "[report]") {
  Synthetic s = make_regression(3, kOffsets, 99);
  // Entropy matching: the config's loss.tau (2) is not what the runs trained with.
  for (RunRecord& r : s.runs) {
    r.params["loss.entropy"] = "1.5";
    r.tau = r.params["loss.kind"] == "dist" ? 9.714 : 2.0;
  }
  TableResult t = aggregate(find_layout("table11"), s.runs);
  CHECK(t.temperature == "tau = 9.714 as the dist runs trained; matched to loss.entropy = 1.5 nats "
                         "(soft target exp(-d/tau); tau = 2 sigma^2)");
  // Runs that trained at different temperatures: no shared line, a warning instead.
  for (RunRecord& r : s.runs)
    if (r.params["loss.kind"] == "dist" && r.params["seed"] == "2") r.tau = 4.0;
  t = aggregate(find_layout("table11"), s.runs);
  CHECK(t.temperature.empty());
  CHECK(std::any_of(t.warnings.begin(), t.warnings.end(), [](const std::string& w) {
    return w == "runs trained with different temperatures (tau = 4, 9.714)";
  }));
  // Runs older than train/tau: sigma from the config (tau = 2 sigma^2).
  for (RunRecord& r : s.runs) r.tau = NAN, r.params.erase("loss.entropy"), r.params["loss.sigma"] = "0.5";
  t = aggregate(find_layout("table11"), s.runs);
  CHECK(t.temperature.rfind("tau = 0.5 as the dist runs trained; loss.sigma = 0.5", 0) == 0);
}

TEST_CASE("markdown has provenance and constant column counts", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const std::string md = render(find_layout("table11"), s.runs, Format::Markdown, test_context());
  for (const char* field : {"- command: dist2 report table11", "- profile: smoke", "- commit: abc1234",
                            "- date: 2025-01-01", "- machine: test", "- runs used: 45 of 45 given",
                            "- temperature: tau = 2 as the dist runs trained"})
    CHECK(md.find(field) != std::string::npos);
  // Each table: every line has as many cells as its header.
  size_t header_pipes = 0;
  for (const std::string& line : lines_of(md)) {
    if (line.rfind("|", 0) != 0) {
      header_pipes = 0;
      continue;
    }
    const size_t pipes = count(line, "|") - count(line, "\\|");
    if (header_pipes == 0) header_pipes = pipes;
    CHECK(pipes == header_pipes);
  }
  CHECK(md.find("| dist - sft (paired) |") != std::string::npos);
  CHECK(md.find("| reference: oracle (exact line, rounding only) |") != std::string::npos);
}

TEST_CASE("tex has balanced tabulars with constant column counts", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  for (const char* name : {"table11", "table5"}) {
    const std::string tex = render(find_layout(name), s.runs, Format::Tex, test_context());
    INFO(name);
    CHECK(count(tex, "\\begin{tabular}") == 2);
    CHECK(count(tex, "\\end{tabular}") == 2);
    CHECK(tex.rfind("% ", 0) == 0);
    bool inside = false;
    size_t columns = 0;
    for (const std::string& line : lines_of(tex)) {
      if (line.rfind("\\begin{tabular}{", 0) == 0) {
        inside = true;
        const std::string spec = line.substr(16, line.find('}', 16) - 16);
        columns = count(spec, "l") + count(spec, "r");
        continue;
      }
      if (line == "\\end{tabular}") inside = false;
      if (!inside || line.find("\\\\") == std::string::npos || line.find("multicolumn") != std::string::npos) continue;
      CHECK(count(line, "&") - count(line, "\\&") + 1 == columns);
    }
  }
}

TEST_CASE("the within-noise sentence follows the computed p", "[report]") {
  // Eight seeds, so that p can fall below 0.05 (2/256); dist is far below sft.
  const Synthetic s = make_regression(8, kOffsets, 4321);
  const Layout& layout = find_layout("table11");
  const std::string md = render(layout, s.runs, Format::Markdown, test_context());
  for (const std::string loss : {"vocab", "dist"})
    for (int n : kNTrain) {
      const auto d = truth_diffs(s, loss, n, 8, false);
      const double p = brute_force_sign_flip_p(d);
      const std::string clause_start = fmt::format("n_train = {}: {} (diff ", n, p >= 0.05 ? "within noise" : "not within noise");
      const std::string p_text = fmt::format("p = {:#.3g}, n = 8", p);
      INFO(loss << " " << clause_start << " " << p_text);
      // Find this loss's MAE sentence and the clause for this column.
      const size_t at = md.find(loss + " vs sft, MAE:");
      REQUIRE(at != std::string::npos);
      const std::string sentence = md.substr(at, md.find('\n', at) - at);
      const size_t clause_at = sentence.find(fmt::format("n_train = {}: ", n));
      REQUIRE(clause_at != std::string::npos);
      const std::string clause = sentence.substr(clause_at, sentence.find(')', clause_at) - clause_at);
      CHECK(clause.rfind(clause_start, 0) == 0);
      CHECK(clause.find(p_text) != std::string::npos);
    }
  // dist is 0.03 below sft in every seed: every sign except the observed ones is less extreme.
  CHECK(md.find("dist vs sft, MAE: n_train = 16: not within noise (diff -0.0") != std::string::npos);
  CHECK(md.find("dist lower, i.e. better") != std::string::npos);
  // Five seeds: nothing can reach p < 0.05, and the report says why.
  const std::string md5 = render(layout, make_regression(5, kOffsets, 1).runs, Format::Markdown, test_context());
  CHECK(md5.find("not within noise") == std::string::npos);
  CHECK(md5.find("cannot give p below 0.0625") != std::string::npos);
}

TEST_CASE("table5 holds n_train where the most rows have runs, or where asked", "[report]") {
  Synthetic s = make_regression(5, {{"sft", 0}, {"dist", -0.02}, {"label_smoothing", -0.005}}, 77);
  for (RunRecord r : std::vector<RunRecord>(s.runs)) {  // ablation runs: dist without place weighting
    if (r.params["loss.kind"] != "dist") continue;
    r.params["loss.place_weighting"] = "false";
    r.id += "-npw";
    r.metrics["mae"] += 0.01;
    s.runs.push_back(r);
  }
  // Table 11's dist and sft runs at a larger n_train than the ablations were run at.
  for (RunRecord r : std::vector<RunRecord>(s.runs)) {
    if (r.params["task.n_train"] != "256" || (r.params["loss.kind"] != "dist" && r.params["loss.kind"] != "sft")) continue;
    if (r.params.count("loss.place_weighting") && r.params["loss.place_weighting"] == "false") continue;
    r.params["task.n_train"] = "4096";
    r.id += "-large";
    s.runs.push_back(r);
  }
  const Layout& layout = find_layout("table5");
  const TableResult t = aggregate(layout, s.runs);
  REQUIRE(t.pinned.size() == 1);
  CHECK(t.pinned[0].second == "256");
  CHECK(t.rows[0].cells[0][0].mean == Approx(plain_mean(truth_values(s, "dist", 256, 5, false))));
  CHECK(t.rows[1].cells[0][0].mean == Approx(plain_mean(truth_values(s, "dist", 256, 5, false)) + 0.01));
  CHECK(t.rows[2].cells[0][0].n == 0);  // no runs without contrastive augmentation
  CHECK(t.rows[3].cells[0][0].n == 5);
  ReportContext ctx = test_context();
  ctx.pins["task.n_train"] = "16";
  const auto rows = csv_records(render(layout, s.runs, Format::Csv, ctx));
  CHECK(std::stod(csv_value(rows, "ours", "dist", "", "mae", "mean")) ==
        Approx(plain_mean(truth_values(s, "dist", 16, 5, false))).margin(0.0005 + 1e-12));
  // Paired difference as columns in the row itself.
  std::string n;
  CHECK(!csv_value(rows, "ours", "dist", "", "mae", "diff_mean", &n).empty());
  CHECK(n == "5");
  const std::string md = render(layout, s.runs, Format::Markdown, ctx);
  CHECK(md.find("held at: task.n_train = 16 (as requested)") != std::string::npos);
  CHECK(md.find("| paper (Llama-3.2 1B): - Place value weighting |") != std::string::npos);
  CHECK(md.find("MAE diff vs sft") != std::string::npos);
}

namespace {
// The runs, plus a copy of each with param key = value and accuracy 0: decoys a
// layout must keep out of its rows.
std::vector<RunRecord> with_decoys(const std::vector<RunRecord>& runs, const std::string& key, const std::string& value) {
  std::vector<RunRecord> out = runs;
  for (RunRecord r : runs) {
    r.id += "-" + value;
    r.params[key] = value;
    r.metrics["accuracy.average"] = 0.0;
    out.push_back(r);
  }
  return out;
}
}  // namespace

TEST_CASE("reward layouts: rows are filters, columns are metric names, percent", "[report]") {
  std::vector<RunRecord> runs;
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.01);
  std::map<std::string, std::vector<double>> truth;
  for (int seed = 1; seed <= 4; ++seed)
    for (const char* alpha : {"1.0", "0.1", "0.001"})
      for (const char* kind : {"dist", "sft"}) {
        if (std::string(kind) == "sft" && std::string(alpha) != "0.1") continue;
        RunRecord r;
        r.id = fmt::format("r{}{}{}", seed, alpha, kind);
        r.status = "finished";
        r.params = {{"task.name", "reward"}, {"loss.kind", kind}, {"loss.alpha", alpha}, {"loss.metric", "sq"},
                    {"seed", std::to_string(seed)}, {"tokenizer.numbers", "chunk3"}};
        r.metrics["accuracy.average"] = 0.75 + noise(rng);
        truth[std::string(kind) + alpha].push_back(r.metrics["accuracy.average"]);
        runs.push_back(r);
      }
  const TableResult t = aggregate(find_layout("table6"), runs);
  CHECK(t.rows[0].cells[0][0].mean == Approx(plain_mean(truth["dist1.0"])));
  CHECK(t.rows[2].cells[0][0].mean == Approx(plain_mean(truth["dist0.1"])));
  CHECK(t.rows[1].cells[0][0].n == 0);  // alpha = 0.2 not run
  CHECK(t.rows.back().cells[0][0].mean == Approx(plain_mean(truth["sft0.1"])));
  const auto rows = csv_records(render(find_layout("table6"), runs, Format::Csv, test_context()));
  CHECK(std::stod(csv_value(rows, "ours", "dist, alpha = 0.001", "", "accuracy.average", "mean")) ==
        Approx(100 * plain_mean(truth["dist0.001"])).margin(0.05 + 1e-9));
  const std::string md = render(find_layout("table8"), runs, Format::Markdown, test_context());
  CHECK(md.find("| paper (Llama-3.1-8B): DIST2 Loss (Random) | 76.0 |") != std::string::npos);
  CHECK(md.find("dist, squared distance over randomly permuted scores vs sft, accuracy (%): no paired runs (n = 0).") !=
        std::string::npos);
  // Runs under digits stay out of the chunk3 rows of every reward table.
  const auto with_digits = with_decoys(runs, "tokenizer.numbers", "digits");
  CHECK(aggregate(find_layout("table8"), with_digits).rows[0].cells[0][0].mean == Approx(plain_mean(truth["dist0.1"])));
  // Table 8 is at the paper's alpha = 0.1: the alpha = 1.0 and 0.001 runs stay out of its dist row.
  const TableResult t8 = aggregate(find_layout("table8"), runs);
  CHECK(t8.rows[0].cells[0][0].mean == Approx(plain_mean(truth["dist0.1"])));
  CHECK(t8.runs_used == 8);
  // Runs of another task never enter a reward table, whatever their loss.
  const auto with_other_task = with_decoys(runs, "task.name", "regression");
  const TableResult t6 = aggregate(find_layout("table6"), with_other_task);
  CHECK(t6.runs_used == runs.size());
  CHECK(t6.rows.back().cells[0][0].mean == Approx(plain_mean(truth["sft0.1"])));
}

// ---- synthetic reward-modeling runs (the reward task's params and test metrics) ----

namespace {

const std::vector<std::string> kRewardSubsets = {"accuracy.chat",      "accuracy.chat_hard", "accuracy.safety",
                                                 "accuracy.reasoning", "accuracy.average",   "accuracy.shifted"};
const std::vector<std::string> kRewardSources = {
    "accuracy.chat.on_topic",         "accuracy.chat.length",          "accuracy.chat.coherent",
    "accuracy.chat_hard.fact_neighbor", "accuracy.chat_hard.wrong_entity", "accuracy.safety.should_refuse",
    "accuracy.safety.should_respond", "accuracy.reasoning.sum",        "accuracy.reasoning.difference"};
const std::vector<std::string> kRewardKinds = {"binary", "sft", "vocab", "dist"};  // table3's row order

struct RewardSynthetic {
  std::vector<RunRecord> runs;
  std::map<std::tuple<std::string, int, std::string>, double> truth;  // (kind, seed, metric) -> value
  std::map<std::pair<int, std::string>, double> reference;            // (seed, "ref.x.key") -> value
};

// Every run of one seed shares the test data, hence the reference predictors' values.
double reference_value(const std::string& prefix, size_t k, int seed) {
  if (prefix == "ref.length") return 0.55 + 0.01 * seed + 0.002 * static_cast<double>(k);
  if (prefix == "ref.constant") return 0.5;
  return 0.8 + 0.005 * seed;  // ref.annotator
}

RewardSynthetic make_reward(int n_seeds, uint32_t rng_seed, const std::string& pretrain_steps = "500",
                            const std::string& lr = "0.001") {
  const std::map<std::string, double> offset = {{"binary", -0.12}, {"sft", 0.0}, {"vocab", 0.01}, {"dist", 0.06}};
  RewardSynthetic s;
  std::mt19937 rng(rng_seed);
  std::normal_distribution<double> noise(0.0, 0.01);
  std::vector<std::string> keys = kRewardSubsets;
  keys.insert(keys.end(), kRewardSources.begin(), kRewardSources.end());
  for (int seed = 1; seed <= n_seeds; ++seed) {
    const double seed_effect = noise(rng);
    for (const std::string& kind : kRewardKinds) {
      RunRecord r;
      r.id = fmt::format("reward-{}-{}-{}-{}", kind, seed, pretrain_steps, lr);
      r.status = "finished";
      r.params = {{"task.name", "reward"}, {"loss.kind", kind},         {"loss.alpha", "0.1"},
                  {"loss.metric", "sq"},   {"loss.tau", "1"},           {"loss.sigma", "0.7071"},
                  {"seed", std::to_string(seed)}, {"backbone.pretrain_steps", pretrain_steps},
                  {"train.lr", lr},        {"tokenizer.numbers", "chunk3"}};
      for (size_t k = 0; k < keys.size(); ++k) {
        const double v = 0.6 + 0.015 * static_cast<double>(k) + offset.at(kind) + seed_effect + noise(rng);
        r.metrics[keys[k]] = v;
        s.truth[{kind, seed, keys[k]}] = v;
        for (const std::string prefix : {"ref.length", "ref.constant", "ref.annotator"}) {
          const double ref = reference_value(prefix, k, seed);
          r.metrics[prefix + "." + keys[k]] = ref;
          s.reference[{seed, prefix + "." + keys[k]}] = ref;
        }
      }
      const double forgetting = kind == "dist" ? 0.43 : 0.40;
      r.metrics["pretrain.accuracy"] = s.truth[{kind, seed, "pretrain.accuracy"}] = forgetting + noise(rng);
      r.metrics["backbone.pretrain.accuracy"] = 0.445 + 0.002 * seed;
      if (kind != "binary") {  // the classifier decodes no score text
        r.metrics["parse_failure_rate"] = s.truth[{kind, seed, "parse_failure_rate"}] = 0.01 * seed;
        r.metrics["score.mae"] = s.truth[{kind, seed, "score.mae"}] = 2.0 + 0.1 * seed;
        r.metrics["target.mean_entropy"] = 1.25;
        r.metrics["target.label_mass"] = 0.9995;
      }
      // The task's references, the same for every loss of a seed.
      r.metrics["ref.train_mean.score.mae"] = s.reference[{seed, "ref.train_mean.score.mae"}] = 2.3 + 0.01 * seed;
      r.metrics["ref.test_median.score.mae"] = s.reference[{seed, "ref.test_median.score.mae"}] = 2.2 + 0.01 * seed;
      for (const std::string prefix : {"ref.lookup_verb", "ref.lookup_object"})
        for (size_t k = 0; k < keys.size(); ++k)
          r.metrics[prefix + "." + keys[k]] = s.reference[{seed, prefix + "." + keys[k]}] = 0.5 + 0.001 * seed;
      s.runs.push_back(std::move(r));
    }
  }
  return s;
}

std::vector<double> reward_values(const RewardSynthetic& s, const std::string& kind, const std::string& key) {
  std::vector<double> xs;
  for (const auto& [k, v] : s.truth)
    if (std::get<0>(k) == kind && std::get<2>(k) == key) xs.push_back(v);  // seeds in order
  return xs;
}

std::vector<double> reward_diffs(const RewardSynthetic& s, const std::string& kind, const std::string& key) {
  const auto a = reward_values(s, kind, key), b = reward_values(s, "sft", key);
  std::vector<double> d;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d.push_back(a[i] - b[i]);
  return d;
}

std::vector<double> reference_values(const RewardSynthetic& s, const std::string& key) {
  std::vector<double> xs;
  for (const auto& [k, v] : s.reference)
    if (k.second == key) xs.push_back(v);
  return xs;
}

// Every Markdown table has as many cells in each line as in its header.
void check_markdown_rectangular(const std::string& md) {
  size_t header_pipes = 0;
  for (const std::string& line : lines_of(md)) {
    if (line.rfind("|", 0) != 0) {
      header_pipes = 0;
      continue;
    }
    const size_t pipes = count(line, "|") - count(line, "\\|");
    if (header_pipes == 0) header_pipes = pipes;
    INFO(line);
    CHECK(pipes == header_pipes);
  }
}

// Each row's cells (mean, std) and paired difference from sft against the values
// the runs were generated with; rows follow kinds, metrics follow keys.
void check_reward_cells(const TableResult& t, const RewardSynthetic& s, const std::vector<std::string>& kinds,
                        const std::vector<std::string>& keys, size_t n_seeds) {
  REQUIRE(t.columns == std::vector<std::string>{""});
  REQUIRE(t.rows.size() >= kinds.size());  // Table 3 has further rows (scores as digits) after these
  for (size_t i = 0; i < kinds.size(); ++i)
    for (size_t m = 0; m < keys.size(); ++m) {
      INFO(kinds[i] << " " << keys[m]);
      const auto xs = reward_values(s, kinds[i], keys[m]);
      REQUIRE(xs.size() == n_seeds);
      const Summary& cell = t.rows[i].cells[0][m];
      CHECK(cell.n == n_seeds);
      CHECK(cell.mean == Approx(plain_mean(xs)).epsilon(1e-12));
      CHECK(cell.std == Approx(welford_std(xs)).epsilon(1e-9));
      if (kinds[i] == "sft") {
        CHECK(t.rows[i].is_baseline);
        CHECK(t.rows[i].paired.empty());
        continue;
      }
      const auto d = reward_diffs(s, kinds[i], keys[m]);
      const PairedResult& p = t.rows[i].paired[0][m];
      CHECK(p.n == n_seeds);
      CHECK(p.mean_diff == Approx(plain_mean(d)).epsilon(1e-9));
      CHECK(p.std_diff == Approx(welford_std(d)).epsilon(1e-9));
      CHECK(p.p_value == Approx(brute_force_sign_flip_p(d)));
    }
}

}  // namespace

TEST_CASE("reward layouts are registered under the paper's table names", "[report]") {
  const auto names = layout_names();
  for (const char* name : {"table3", "table6", "table7", "table8", "table12"}) {
    INFO(name);
    CHECK(std::count(names.begin(), names.end(), name) == 1);
    const ParamFilter& common = find_layout(name).common;
    REQUIRE(common.size() == 1);
    CHECK(common[0].key == "task.name");
    CHECK(common[0].value == "reward");
    CHECK_FALSE(common[0].match_if_absent);
  }
  std::vector<std::string> keys;
  for (const MetricSpec& m : find_layout("table3").metrics) keys.push_back(m.key);
  std::vector<std::string> table3_keys = kRewardSubsets;
  table3_keys.push_back("facet_sum.accuracy.average");  // the second readout, beside the paper's
  CHECK(keys == table3_keys);
  keys.clear();
  for (const MetricSpec& m : find_layout("table12").metrics) keys.push_back(m.key);
  CHECK(keys == kRewardSources);
  for (const char* name : {"table3", "table12"})
    for (const MetricSpec& m : find_layout(name).metrics) {
      CHECK(m.scale == 100);
      CHECK(m.decimals == 1);
      CHECK_FALSE(m.lower_is_better);
    }
}

TEST_CASE("table3: rows per loss, subsets as columns, references, paired vs sft", "[report]") {
  RewardSynthetic s = make_reward(5, 2024);
  // Runs the table must not use: dist at another alpha, another task, an unfinished run.
  std::vector<RunRecord> runs = s.runs;
  RunRecord other_alpha = s.runs[3];
  REQUIRE(other_alpha.params.at("loss.kind") == "dist");
  other_alpha.id = "dist-alpha-1";
  other_alpha.params["loss.alpha"] = "1.0";
  other_alpha.metrics["accuracy.chat"] = 0.0;
  runs.push_back(other_alpha);
  RunRecord other_task = s.runs[1];
  other_task.id = "regression-sft";
  other_task.params["task.name"] = "regression";
  other_task.metrics["accuracy.chat"] = 0.0;
  runs.push_back(other_task);
  RunRecord unfinished = s.runs[1];
  unfinished.id = "running";
  unfinished.status = "running";
  runs.push_back(unfinished);

  const Layout& layout = find_layout("table3");
  const TableResult t = aggregate(layout, runs);
  CHECK(t.runs_used == s.runs.size());
  CHECK(t.runs_not_finished == 1);
  CHECK(t.typical_n == 5);
  CHECK(t.warnings.empty());
  check_reward_cells(t, s, kRewardKinds, kRewardSubsets, 5);
  // References: one value per seed, averaged over seeds; the constant predictor is 1/2 everywhere.
  REQUIRE(t.references.size() == 3);
  for (size_t m = 0; m < kRewardSubsets.size(); ++m) {
    const auto length = reference_values(s, "ref.length." + kRewardSubsets[m]);
    CHECK(t.references[0].cells[0][m].mean == Approx(plain_mean(length)));
    CHECK(t.references[0].cells[0][m].std == Approx(welford_std(length)));
    CHECK(t.references[1].cells[0][m].mean == Approx(0.5));
    CHECK(t.references[2].cells[0][m].mean == Approx(plain_mean(reference_values(s, "ref.annotator." + kRewardSubsets[m]))));
  }
  // Diagnostics: the classifier has none; the generative rows average theirs.
  CHECK(t.rows[0].diagnostics[0].n == 0);
  CHECK(t.rows[3].diagnostics[0].mean == Approx(plain_mean(reward_values(s, "dist", "parse_failure_rate"))));
  CHECK(t.rows[1].diagnostics[3].mean == Approx(plain_mean(reward_values(s, "sft", "score.mae"))));
  CHECK(t.rows[1].diagnostics[2].n == 0);  // the synthetic runs have no shifted parse-failure rate

  const auto rows = csv_records(render(layout, runs, Format::Csv, test_context()));
  for (size_t m = 0; m < kRewardSubsets.size(); ++m) {
    INFO(kRewardSubsets[m]);
    const auto xs = reward_values(s, "dist", kRewardSubsets[m]);
    CHECK(std::stod(csv_value(rows, "ours", "dist", "", kRewardSubsets[m], "mean")) ==
          Approx(100 * plain_mean(xs)).margin(0.05 + 1e-9));
    CHECK(std::stod(csv_value(rows, "ours", "dist", "", kRewardSubsets[m], "std")) ==
          Approx(100 * welford_std(xs)).margin(0.05 + 1e-9));
    std::string n;
    CHECK(std::stod(csv_value(rows, "paired", "binary - sft (paired)", "", kRewardSubsets[m], "diff_mean", &n)) ==
          Approx(100 * plain_mean(reward_diffs(s, "binary", kRewardSubsets[m]))).margin(0.05 + 1e-9));
    CHECK(n == "5");
    CHECK(csv_value(rows, "reference", "reference: constant score (every pair a tie, counted 1/2)", "",
                    kRewardSubsets[m], "mean") == "50.0");
  }
  const std::string md = render(layout, runs, Format::Markdown, test_context());
  check_markdown_rectangular(md);
  for (const char* line : {"| binary |", "| sft |", "| vocab |", "| dist |", "| dist - sft (paired) |",
                           "| binary - sft (paired) |", "| reference: the longer response |",
                           "| reference: the annotators' own noisy labels |"})
    CHECK(md.find(line) != std::string::npos);
  CHECK(md.find("| sft - sft (paired) |") == std::string::npos);
  CHECK(md.find("shifted (MT-Bench stand-in, %) mean") != std::string::npos);
  CHECK(md.find("- runs used: 20 of 23 given (1 not finished, skipped)") != std::string::npos);
  CHECK(md.find(fmt::format("| dist | {} |", fixed_1(100 * plain_mean(reward_values(s, "dist", "accuracy.chat"))))) !=
        std::string::npos);
  CHECK(md.find("parse-failure rate (outputs), mean over each row's runs: binary - (n = 0); sft 0.030 (n = 5 runs)") !=
        std::string::npos);
  // The paper's rows, labelled as the paper's, with its type and data columns telling its two Tulu rows apart.
  CHECK(md.find("| paper (Llama-3.1-8B): Llama-dist [Generative; 21K (Wang et al., 2024b)] | 95.0 | 69.1 | 86.5 | "
                "90.4 | 85.3 | 88.1 |") != std::string::npos);
  CHECK(md.find("Tulu-v2.5-RM-13B (Iverson et al., 2024) [Seq. Classifier; 2M (Iverson et al., 2024)] | 93.6") !=
        std::string::npos);
  size_t paper_lines = 0;
  for (const auto& r : rows) {
    if (r[0] != "paper") continue;
    ++paper_lines;
    CHECK(r[1].rfind("paper (Llama-3.1-8B): ", 0) == 0);
  }
  CHECK(paper_lines == 9 * 6);
}

TEST_CASE("a trained row that does not beat the best reference is flagged in words; ceilings are not rivals",
          "[report]") {
  RewardSynthetic s = make_reward(3, 7);
  // sft at 0.45 everywhere: below the constant's 1/2 on every cell. dist at 0.999:
  // above every reference but the annotators' labels, which are a ceiling.
  for (RunRecord& r : s.runs) {
    const std::string kind = r.params.at("loss.kind");
    for (const std::string& key : kRewardSubsets) {
      if (kind == "sft") r.metrics[key] = 0.45;
      if (kind == "dist") r.metrics[key] = 0.999;
      if (kind == "vocab") r.metrics[key] = key == "accuracy.safety" ? 0.2 : 0.999;
      r.metrics["ref.annotator." + key] = 1.0;
    }
  }
  const Layout& layout = find_layout("table3");
  const std::string md = render(layout, s.runs, Format::Markdown, test_context());
  INFO(md);
  CHECK(md.find("sft does not beat the best reference predictor on 6 of 6 cells") != std::string::npos);
  CHECK(md.find("vocab does not beat the best reference predictor on 1 of 6 cells (safety (%) 20.0 against ref: ") !=
        std::string::npos);
  CHECK(md.find("dist does not beat") == std::string::npos);
  // Lower is better for an error metric: the flag follows the metric's direction.
  Layout mae = layout;
  mae.metrics = {{"accuracy.chat", "chat error", 1, 3, true, {}}};
  const TableResult t = aggregate(mae, s.runs);
  REQUIRE(t.rows.size() == 6);
  CHECK(t.rows[4].label == "sft, scores as digits");
  CHECK(t.rows[4].runs == 0);  // every synthetic run writes scores under chunk3
  const std::string md2 = render(mae, s.runs, Format::Markdown, test_context());
  CHECK(md2.find("dist does not beat the best reference predictor on 1 of 1 cells") != std::string::npos);
  CHECK(md2.find("sft does not beat") == std::string::npos);
}

TEST_CASE("table12: the nine sources as columns, the paper's two blocks beside", "[report]") {
  const RewardSynthetic s = make_reward(4, 12);
  const Layout& layout = find_layout("table12");
  const TableResult t = aggregate(layout, s.runs);
  CHECK(t.warnings.empty());
  check_reward_cells(t, s, kRewardKinds, kRewardSources, 4);
  REQUIRE(t.references.size() == 5);  // the three of Table 3 and the two one-word lookups
  CHECK(t.references[0].cells[0][8].mean ==
        Approx(plain_mean(reference_values(s, "ref.length.accuracy.reasoning.difference"))));

  const std::string md = render(layout, s.runs, Format::Markdown, test_context());
  check_markdown_rectangular(md);
  CHECK(md.find("| chat/on-topic (%) mean | chat/on-topic (%) std | chat/on-topic (%) median | chat/length (%) mean") !=
        std::string::npos);
  CHECK(md.find("| dist - sft (paired) |") != std::string::npos);
  CHECK(md.find("| reference: the longer response |") != std::string::npos);
  CHECK(md.find("not aligned with the paper's columns") != std::string::npos);
  // The paper's blocks have thirteen columns each, under their own headers.
  CHECK(md.find("## Paper (Llama-3.1-8B), as printed: paper appendix E, Table 12 (first block)") != std::string::npos);
  CHECK(md.find("## Paper (Llama-3.1-8B), as printed: paper appendix E, Table 12 (second block)") != std::string::npos);
  CHECK(md.find("| | Average | AlpacaEval Easy |") != std::string::npos);
  CHECK(md.find("| paper (Llama-3.1-8B): Llama-3.1-8B-dist [Generative] | 85.3 | 97.0 |") != std::string::npos);
  CHECK(md.find("| paper (Llama-3.1-8B): Llama-3.1-8B-binary | 13.6 | 36.2 |") != std::string::npos);

  const auto rows = csv_records(render(layout, s.runs, Format::Csv, test_context()));
  for (const auto& r : rows) CHECK(r.size() == 8);
  CHECK(csv_value(rows, "paper", "paper (Llama-3.1-8B): Llama-3.1-8B-dist [Generative]", "", "Do-Not-Answer",
                  "value") == "78.7");
  CHECK(std::stod(csv_value(rows, "ours", "vocab", "", "accuracy.safety.should_respond", "mean")) ==
        Approx(100 * plain_mean(reward_values(s, "vocab", "accuracy.safety.should_respond"))).margin(0.05 + 1e-9));
  for (const auto& r : rows)  // our rows carry our metric keys, never the paper's column names
    if (r[0] == "ours") CHECK(std::count(kRewardSources.begin(), kRewardSources.end(), r[4]) == 1);

  const std::string tex = render(layout, s.runs, Format::Tex, test_context());
  CHECK(count(tex, "\\begin{tabular}") == 3);
  CHECK(count(tex, "\\end{tabular}") == 3);
}

TEST_CASE("table7: forgetting, with the backbone's own score as a reference row", "[report]") {
  RewardSynthetic s = make_reward(5, 77);
  // Runs from an untrained backbone: held out by the pin, which picks the pretrained one.
  const RewardSynthetic scratch = make_reward(3, 78, "0");
  std::vector<RunRecord> runs = s.runs;
  for (RunRecord r : scratch.runs) {
    r.metrics.erase("pretrain.accuracy");
    r.metrics.erase("backbone.pretrain.accuracy");
    runs.push_back(r);
  }
  // Runs at a smaller fine-tuning rate: held out by the lr pin unless asked for.
  const RewardSynthetic low_lr = make_reward(2, 79, "500", "0.0001");
  runs.insert(runs.end(), low_lr.runs.begin(), low_lr.runs.end());
  const Layout& layout = find_layout("table7");
  const TableResult t = aggregate(layout, runs);
  REQUIRE(t.pinned.size() == 2);
  CHECK(t.pinned[0] == std::make_pair(std::string("backbone.pretrain_steps"), std::string("500")));
  CHECK(t.pinned[1] == std::make_pair(std::string("train.lr"), std::string("0.001")));
  const TableResult t_low = aggregate(layout, runs, {{"train.lr", "0.0001"}});
  CHECK(t_low.runs_used == 4);
  CHECK(t_low.rows[1].cells[0][1].mean == Approx(plain_mean(reward_values(low_lr, "dist", "pretrain.accuracy"))));
  CHECK(t.runs_used == 10);  // sft and dist, five seeds; binary and vocab have no row here
  CHECK(t.warnings.empty());
  check_reward_cells(t, s, {"sft", "dist"}, {"accuracy.average", "pretrain.accuracy"}, 5);
  REQUIRE(t.references.size() == 1);
  const RowResult& backbone = t.references[0];
  CHECK(backbone.cells[0][0].n == 0);  // the backbone has no reward accuracy
  std::vector<double> before;
  for (int seed = 1; seed <= 5; ++seed) before.push_back(0.445 + 0.002 * seed);
  CHECK(backbone.cells[0][1].n == 5);
  CHECK(backbone.cells[0][1].mean == Approx(plain_mean(before)));

  const auto rows = csv_records(render(layout, runs, Format::Csv, test_context()));
  std::string n;
  CHECK(csv_value(rows, "reference", "backbone before fine-tuning", "", "accuracy.average", "mean", &n) == "–");
  CHECK(n == "0");
  CHECK(csv_value(rows, "reference", "backbone before fine-tuning", "", "accuracy.average", "std").empty());
  CHECK(std::stod(csv_value(rows, "reference", "backbone before fine-tuning", "", "pretrain.accuracy", "mean")) ==
        Approx(100 * plain_mean(before)).margin(0.05 + 1e-9));
  CHECK(std::stod(csv_value(rows, "ours", "dist", "", "pretrain.accuracy", "diff_mean")) ==
        Approx(100 * plain_mean(reward_diffs(s, "dist", "pretrain.accuracy"))).margin(0.05 + 1e-9));

  const std::string md = render(layout, runs, Format::Markdown, test_context());
  check_markdown_rectangular(md);
  CHECK(md.find("| backbone before fine-tuning | – (n=0) |  |  |  |  | " + fixed_1(100 * plain_mean(before)) + " | ") !=
        std::string::npos);
  CHECK(md.find("| reward accuracy (%) mean | reward accuracy (%) std | reward accuracy (%) median | reward accuracy (%) diff vs sft |") !=
        std::string::npos);
  CHECK(md.find("pretraining-task accuracy (%) mean") != std::string::npos);
  CHECK(md.find("held at: backbone.pretrain_steps = 500") != std::string::npos);
  CHECK(md.find("| paper (Llama-3.1-8B): Backbone (Llama-3.1-8B) | - | 44.5 |") != std::string::npos);
  CHECK(md.find("RealWorldQA Accuracy") == std::string::npos);  // the visual-grounding half is not shown
  // Asked for the untrained backbone: its runs fill the reward cells, nothing else.
  ReportContext ctx = test_context();
  ctx.pins["backbone.pretrain_steps"] = "0";
  const TableResult t0 = aggregate(layout, runs, ctx.pins);
  CHECK(t0.runs_used == 6);
  CHECK(t0.rows[1].cells[0][0].mean == Approx(plain_mean(reward_values(scratch, "dist", "accuracy.average"))));
  CHECK(t0.rows[1].cells[0][1].n == 0);
  CHECK(t0.references[0].cells[0][1].n == 0);
  CHECK_NOTHROW(render(layout, runs, Format::Tex, ctx));
}

TEST_CASE("table6 and table8 show the reward references and diagnostics", "[report]") {
  const RewardSynthetic s = make_reward(3, 5);
  for (const char* name : {"table6", "table8"}) {
    INFO(name);
    const Layout& layout = find_layout(name);
    const TableResult t = aggregate(layout, s.runs);
    REQUIRE(t.references.size() == 3);
    CHECK(t.references[2].cells[0][0].mean ==
          Approx(plain_mean(reference_values(s, "ref.annotator.accuracy.average"))));
    const std::string md = render(layout, s.runs, Format::Markdown, test_context());
    check_markdown_rectangular(md);
    CHECK(md.find("| reference: the longer response |") != std::string::npos);
    CHECK(md.find("MAE of the expected overall score (0-20) against the label, mean over each row's runs:") !=
          std::string::npos);
  }
  // Table 3 gives the score MAE of every row and, in the same line, its bars.
  {
    const std::string md = render(find_layout("table3"), s.runs, Format::Markdown, test_context());
    const size_t at = md.find("\n- MAE of the expected overall score");
    REQUIRE(at != std::string::npos);
    const std::string line = md.substr(at + 1, md.find('\n', at + 1) - at - 1);
    CHECK(line.find(fmt::format("sft {:.3f} (n = 3 runs)", plain_mean(reward_values(s, "sft", "score.mae")))) !=
          std::string::npos);
    CHECK(line.find(fmt::format("the bar, a constant at the training labels' mean {:.3f} (n = 12 runs)",
                                plain_mean(reference_values(s, "ref.train_mean.score.mae")))) != std::string::npos);
    CHECK(line.find(fmt::format("a constant at the test labels' median (the best constant) {:.3f}",
                                plain_mean(reference_values(s, "ref.test_median.score.mae")))) != std::string::npos);
    CHECK(md.find("average, facet-sum readout (%)") != std::string::npos);
  }
  // Table 8 prints both targets' entropy and mass on the label tokens.
  {
    const std::string md = render(find_layout("table8"), s.runs, Format::Markdown, test_context());
    CHECK(md.find("soft-target entropy (nats), mean over the label scores 0-20, mean over each row's runs: "
                  "dist, squared distance 1.250") != std::string::npos);
    CHECK(md.find("soft-target mass on the label tokens 0-20, mean over the label scores, mean over each row's runs: "
                  "dist, squared distance 0.9995") != std::string::npos);
  }
  // Table 12 has the two one-word lookups as reference rows.
  {
    const TableResult t = aggregate(find_layout("table12"), s.runs);
    REQUIRE(t.references.size() == 5);
    CHECK(t.references[3].cells[0][5].mean ==
          Approx(plain_mean(reference_values(s, "ref.lookup_verb.accuracy.safety.should_refuse"))));
    const std::string md = render(find_layout("table12"), s.runs, Format::Markdown, test_context());
    CHECK(md.find("| reference: lookup by the request's object alone") != std::string::npos);
  }
  // Table 6's alpha = 0.1 row and Table 8's squared-distance row are Table 3's dist runs.
  const double dist = plain_mean(reward_values(s, "dist", "accuracy.average"));
  CHECK(aggregate(find_layout("table6"), s.runs).rows[2].cells[0][0].mean == Approx(dist));
  CHECK(aggregate(find_layout("table8"), s.runs).rows[0].cells[0][0].mean == Approx(dist));
}

// ================================ SVG ================================

namespace {

// Checks that tags nest and close properly and returns the element names in order.
std::vector<std::string> xml_elements(const std::string& svg, bool* well_formed) {
  std::vector<std::string> stack, names;
  *well_formed = true;
  for (size_t pos = svg.find('<'); pos != std::string::npos; pos = svg.find('<', pos + 1)) {
    const size_t end = svg.find('>', pos);
    if (end == std::string::npos) return *well_formed = false, names;
    const std::string tag = svg.substr(pos + 1, end - pos - 1);
    if (tag.empty()) return *well_formed = false, names;
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return *well_formed = false, names;
      stack.pop_back();
      continue;
    }
    const std::string name = tag.substr(0, tag.find_first_of(" \n/"));
    names.push_back(name);
    if (tag.back() != '/') stack.push_back(name);
    if (count(tag, "\"") % 2 != 0) *well_formed = false;
  }
  if (!stack.empty()) *well_formed = false;
  return names;
}

bool all_numbers_finite(const std::string& svg) {
  static const std::regex attr("\\s(?:x|y|x1|x2|y1|y2|cx|cy|r|width|height)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), attr); it != std::sregex_iterator(); ++it) {
    const std::string v = (*it)[1];
    if (v.find_first_not_of("-0123456789.") != std::string::npos || !std::isfinite(std::stod(v))) return false;
  }
  std::string lower = svg;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("nan") == std::string::npos && lower.find("inf") == std::string::npos;
}

}  // namespace

TEST_CASE("svg writer: seed circles inside the frame on a log y axis, non-positive values left out", "[report]") {
  svg::Figure fig;
  fig.title = "log y";
  svg::Panel p;
  p.title = "panel";
  p.log_y = true;
  // One diverged seed (52) among seeds near 1, and a value of 0 that a log axis cannot show.
  svg::Series s{"sft", {512, 1024}, {1.0, 0.5}, {0.9, 0.4}, {1.1, 0.6}, "", false, {}, {}};
  s.dot_x = {512, 512, 512, 512, 512, 1024, 1024};
  s.dot_y = {0.9, 1.1, 52, 1.0, 0.0, 0.5, 0.45};
  p.series.push_back(s);
  fig.rows.push_back({300, {p}});
  const std::string out = svg::render(fig);
  bool ok = false;
  xml_elements(out, &ok);
  CHECK(ok);
  // The plot frame is the panel's first rect after the background.
  const std::regex rect(R"re(<rect x="([-0-9.]+)" y="([-0-9.]+)" width="([-0-9.]+)" height="([-0-9.]+)" fill="none")re");
  std::smatch frame;
  REQUIRE(std::regex_search(out, frame, rect));
  const double top = std::stod(frame[2]), bottom = top + std::stod(frame[4]);
  const std::regex dot(R"re(<circle cx="[-0-9.]+" cy="([-0-9.]+)" r="2.5" fill="white")re");
  std::vector<double> ys;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), dot); it != std::sregex_iterator(); ++it)
    ys.push_back(std::stod((*it)[1]));
  REQUIRE(ys.size() == 6);  // the zero is left out
  for (double y : ys) {
    CHECK(y >= top - 1e-9);
    CHECK(y <= bottom + 1e-9);
  }
  // Log scale: 0.9 -> 1.1 spans the same pixels as 45 -> 55 would; 52 sits far above 1.1
  // but the seeds near 1 stay apart (more than 3 px between 0.9 and 1.1).
  CHECK(std::fabs(ys[0] - ys[1]) > 3);
  CHECK(ys[2] < ys[1]);
  CHECK(out.find("(log scale)") != std::string::npos);
}

TEST_CASE("svg writer: well formed, one path per series, finite numbers", "[report]") {
  svg::Figure fig;
  fig.title = "A & B <test>";
  svg::Panel p;
  p.title = "panel";
  p.log_x = true;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  p.series.push_back({"a", {1, 10, 100}, {0.3, 0.2, 0.1}, {0.25, 0.15, 0.05}, {0.35, 0.25, 0.15}, "", false, {}, {}});
  p.series.push_back({"gap", {1, 10, 100}, {0.3, nan, 0.1}, {}, {}, "", true, {}, {}});
  p.series.push_back({"flat", {5}, {0.2}, {}, {}, "", false, {}, {}});
  p.series.push_back({"non-positive x", {0, -1}, {0.1, 0.2}, {}, {}, "", false, {}, {}});
  svg::Panel empty;
  empty.title = "empty";
  empty.series.push_back({"nothing", {}, {}, {}, {}, "", false, {}, {}});
  fig.rows.push_back({300, {p, empty}});
  const std::string out = svg::render(fig);
  bool ok = false;
  const auto names = xml_elements(out, &ok);
  CHECK(ok);
  CHECK(names.front() == "svg");
  CHECK(std::count(names.begin(), names.end(), "path") == 5);
  CHECK(std::count(names.begin(), names.end(), "polygon") == 1);  // one band
  CHECK(all_numbers_finite(out));
  CHECK(out.find("A &amp; B &lt;test&gt;") != std::string::npos);
  CHECK(out.find("stroke-dasharray") != std::string::npos);
  CHECK(out.find("fill-opacity=\"0.18\"") != std::string::npos);
  CHECK(out.find("(log scale)") != std::string::npos);
}

TEST_CASE("tick helpers give round values covering the range", "[report]") {
  const auto t = svg::nice_ticks(0.013, 0.27);
  REQUIRE(t.size() >= 3);
  for (double v : t) CHECK((v >= 0.013 - 1e-12 && v <= 0.27 + 1e-12));
  const double step = t[1] - t[0];
  for (size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == Approx(step));
  CHECK(svg::log_ticks(5, 5000) == std::vector<double>{10, 100, 1000});
  CHECK(svg::nice_ticks(1, 1).empty());
}

TEST_CASE("figure3 plots every loss and the paper's curves in separate panels", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const std::string out = render(find_layout("figure3"), s.runs, Format::Svg, test_context());
  bool ok = false;
  const auto names = xml_elements(out, &ok);
  CHECK(ok);
  // Ours: 2 panels x (3 losses + 3 reference predictors); paper: 2 panels x 3 losses.
  CHECK(std::count(names.begin(), names.end(), "path") == 2 * 6 + 2 * 3);
  CHECK(std::count(names.begin(), names.end(), "polygon") == 2 * 3);
  CHECK(all_numbers_finite(out));
  CHECK(out.find("Paper (Llama-3.2 1B), table11: MAE<") != std::string::npos);
  CHECK(out.find("training problems (the paper&#39;s axis, not ours)") != std::string::npos);
  CHECK(out.find("commit: abc1234") != std::string::npos);
  CHECK_THROWS_WITH(render(find_layout("table11"), s.runs, Format::Svg, test_context()), Catch::Contains("figure3"));
}

// ================================ files ================================

TEST_CASE("write_report writes each file whole and leaves no temporary behind", "[report]") {
  const Synthetic s = make_regression(5, kOffsets, 1234);
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("dist2_report_test_{}", ::getpid());
  std::filesystem::remove_all(dir);
  const ReportFiles fig = write_report("figure3", s.runs, Format::Markdown, test_context(), (dir / "out").string());
  REQUIRE(fig.paths.size() == 2);
  CHECK(fig.paths[0] == (dir / "out" / "figure3.svg").string());
  CHECK(fig.paths[1] == (dir / "out" / "figure3.md").string());
  const ReportFiles tab = write_report("table11", s.runs, Format::Tex, test_context(), (dir / "out").string());
  REQUIRE(tab.paths.size() == 1);
  std::ifstream f(tab.paths[0]);
  std::stringstream content;
  content << f.rdbuf();
  CHECK(content.str() == render(find_layout("table11"), s.runs, Format::Tex, test_context()));
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
    ++files;
    CHECK(e.path().string().find(".tmp") == std::string::npos);
  }
  CHECK(files == 3);
  CHECK_THROWS_WITH(write_report("table11", s.runs, Format::Svg, test_context(), (dir / "out").string()),
                    Catch::Contains("svg is for figures"));
  CHECK_THROWS_WITH(parse_format("pdf"), Catch::Contains("md, csv, tex, svg, html"));
  CHECK(parse_format("latex") == Format::Tex);
  std::filesystem::remove_all(dir);
}
