#pragma once
// A paper table or figure as a declaration: which runs make its rows (param
// filters), which param makes its columns, which metrics fill the cells, which
// reference predictors and which baseline to show, and the paper's own numbers
// for the same table. `report` knows layouts, not tasks: adding a table is adding
// an entry to data/layouts.yaml (compiled in), or to a file read by add_layouts_file.
#include <optional>
#include <string>
#include <vector>

#include "dist2/report/records.h"

namespace dist2::report {

// A param text as a finite number ("512", "0.1"), or nothing.
std::optional<double> as_number(const std::string& s);

// key=value that a run's params must satisfy. Values compare as numbers when both
// parse as numbers ("1" == "1.0"), as booleans when both are true/false words, else
// as text. A run without the key matches only when match_if_absent is set (for a
// knob that configs may leave at its default).
struct ParamMatch {
  std::string key;
  std::string value;
  bool match_if_absent = false;
};
using ParamFilter = std::vector<ParamMatch>;

bool param_values_equal(const std::string& a, const std::string& b);
bool matches(const RunRecord& run, const ParamFilter& filter);

struct RowSpec {
  std::string label;  // as printed, e.g. "dist", "dist - place-value weighting"
  ParamFilter filter;
};

struct MetricSpec {
  std::string key;    // metric name in RunRecord::metrics ("mae", "accuracy.average")
  std::string label;  // as printed ("MAE")
  double scale = 1;   // printed value = scale * stored value (100 for a fraction shown in %)
  int decimals = 3;
  bool lower_is_better = true;
  // A diagnostic's bars: metrics every run logs the same way (a reference's
  // score MAE), printed once at the end of the diagnostic's line, over all the
  // table's runs, so a row's value and its bar read together.
  std::vector<MetricSpec> bars;
};

// A reference predictor stored beside each run's own metrics under
// "<prefix>.<metric key>" (e.g. "ref.oracle.mae"), shown as its own row.
struct ReferenceSpec {
  std::string prefix;
  std::string label;
  std::string legend;  // short name for figure legends
  // A bound, not a rival: an oracle, the annotators' own labels, the backbone
  // before fine-tuning. A trained row is flagged when it does not beat the best
  // reference that is not a ceiling.
  bool ceiling = false;
};

enum class LayoutKind { Table, Figure };

// Where a row's paired difference from the baseline goes: on a line under the row,
// one slot pair (difference, p) per cell (Table 11), or as extra columns (Table 5).
enum class PairedDisplay { None, LineBelow, Columns };

struct Layout {
  std::string name;   // "table11"
  std::string title;  // printed heading
  LayoutKind kind = LayoutKind::Table;
  ParamFilter common;              // every run of the layout matches this
  std::vector<RowSpec> rows;       // our rows, in print order
  std::string column_key;          // param that makes the column axis; "" = one column group
  std::string column_label;        // its printed name ("n_train")
  // Params held at one value: the value given in ReportContext::pins, else the
  // largest value among those at which the most rows have runs.
  std::vector<std::string> pins;
  std::vector<MetricSpec> metrics;  // per column group: mean and std of each
  std::vector<ReferenceSpec> references;
  // Metrics shown per row in a note, not in the cells (e.g. the parse-failure rate
  // that MAE depends on).
  std::vector<MetricSpec> diagnostics;
  std::string baseline;             // label of the row the paired tests compare against
  // Runs pair with baseline runs that agree on these params (plus the column key
  // and pins); within a row, runs sharing them are averaged into one unit.
  std::vector<std::string> pair_keys = {"seed"};
  PairedDisplay paired = PairedDisplay::LineBelow;
  std::vector<std::string> paper;  // ids of paper tables printed beside ours
  std::vector<std::string> notes;  // printed under the table
  bool log_x = false;              // figures: logarithmic column axis
  // A setup table (the paper's Tables 9 and 10): a cell pools every run of its row
  // whatever its config, each run its own unit; no notes on mixed configs or far seeds.
  bool setup = false;
};

// The layouts of a layouts file (the form of data/layouts.yaml). Throws
// dist2::Error "SOURCE:LINE:COL: what" for a malformed file, an unknown key, a
// missing field, a baseline that names no row or a paper table that does not exist.
std::vector<Layout> parse_layouts(const std::string& yaml_text, const std::string& source);
// Adds the layouts of a file to the built-in ones (replacing those of the same name).
void add_layouts_file(const std::string& path);

std::vector<std::string> layout_names();
const Layout& find_layout(const std::string& name);  // throws Error naming the valid names

}  // namespace dist2::report
