#pragma once
// What `dist2 runs` prints: a list of runs as an aligned table (for people), CSV or
// JSON (for programs), and one run in full (`dist2 runs show`).
#include <optional>
#include <string>
#include <vector>

#include "dist2/store/store.h"

namespace dist2::store {

enum class Format { table, csv, json };
Format parse_format(const std::string& name);  // table | csv | json

struct ListingOptions {
  Format format = Format::table;
  // Final metrics (last step) of this split become columns; empty: none.
  std::string metrics_split;
  // Param columns of the table; empty: the params whose values differ across the
  // listed runs (at most max_param_columns). CSV and JSON always carry every param.
  std::vector<std::string> param_keys;
  size_t max_param_columns = 8;
};

// Runs in the order given (list_runs gives newest first).
std::string format_runs(Store& store, const std::vector<RunInfo>& runs, const ListingOptions& options);
// One run: every field, params, final metrics of every split, artifacts and tags
// (JSON also carries the resolved config).
std::string format_run(Store& store, const RunInfo& run, Format format);

// Param keys whose value (or presence) differs between the runs; loss.kind and
// seed first, then alphabetical.
std::vector<std::string> varying_params(const std::vector<RunInfo>& runs);
// Seconds from start to end, or to now for a run still running; nullopt when the
// times cannot be read.
std::optional<double> run_duration_s(const RunInfo& run);
std::string format_duration(double seconds);  // 42.0s, 3m05s, 2h01m

}  // namespace dist2::store
