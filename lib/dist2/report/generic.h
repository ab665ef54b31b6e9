#pragma once
// A table for any experiment file, not only the paper's: one row per point of its
// sweep grid other than the seed (its first non-seed, non-baseline axis as the
// column groups when there is one), columns from the metrics its runs logged and
// their reference predictors, mean / std / median over seeds, and paired tests
// against the baseline row (`loss.kind=sft` by default) within each column.
#include <string>
#include <utility>
#include <vector>

#include "dist2/report/layouts.h"
#include "dist2/report/records.h"

namespace dist2::report {

// A sweep axis: key and its values, as the experiment file lists them.
using Axis = std::pair<std::string, std::vector<std::string>>;

struct GenericOptions {
  std::string name;      // the layout's name and title stem (the experiment's name)
  std::string baseline = "loss.kind=sft";  // key=value of the baseline row
  std::vector<std::string> metrics;        // metric keys to show; empty = every one the runs logged
};

// `axes` are the experiment's sweep axes (any "seed" axis is the pairing key, not
// a row). Throws dist2::Error with one line for a malformed baseline.
Layout generic_layout(const GenericOptions& options, const std::vector<Axis>& axes, const std::vector<RunRecord>& runs);

// Whether a metric is better high (accuracy, IoU, R^2, consistency, ...) by its name.
bool higher_is_better(const std::string& metric_key);

}  // namespace dist2::report
