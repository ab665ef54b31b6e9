#pragma once
// From run records to the numbers of one layout: which runs it uses, its column
// values, per-cell mean and std over seeds, paired differences from the baseline
// row, reference rows, and the warnings a reader needs (mixed configs, repeats).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dist2/report/layouts.h"
#include "dist2/report/records.h"
#include "dist2/report/stats.h"

namespace dist2::report {

// Paired differences with p at or above this are reported as within noise.
constexpr double kNoiseLevel = 0.05;

struct RowResult {
  std::string label;
  bool is_baseline = false;
  size_t runs = 0;                                 // runs assigned to this row
  std::vector<size_t> runs_per_column;             // [column]
  std::vector<std::vector<Summary>> cells;         // [column][metric], over seeds
  std::vector<std::vector<PairedResult>> paired;   // [column][metric]; empty: no test
  std::vector<Summary> diagnostics;                // [diagnostic], over this row's runs
};

struct TableResult {
  const Layout* layout = nullptr;
  std::vector<std::string> columns;  // column values in order; {""} without a column axis
  std::vector<std::pair<std::string, std::string>> pinned;  // (key, value used)
  std::vector<RowResult> rows;
  std::vector<RowResult> references;  // one per ReferenceSpec, same cells shape
  std::vector<std::vector<Summary>> diagnostic_bars;  // [diagnostic][bar], over every row's runs
  size_t runs_given = 0;
  size_t runs_not_finished = 0;
  size_t runs_used = 0;
  std::string temperature;  // the tau/sigma spelling shared by the runs ("" if none/varies)
  size_t typical_n = 0;     // the most common number of seeds per cell
  std::vector<std::string> warnings;
};

TableResult aggregate(const Layout& layout, const std::vector<RunRecord>& runs,
                      const std::map<std::string, std::string>& pins = {});

// A param value in one spelling, so "64" and "64.0" make one column.
std::string canonical_value(const std::string& value);

// Column values in print order: numbers ascending, then other text.
void sort_column_values(std::vector<std::string>& values);

}  // namespace dist2::report
