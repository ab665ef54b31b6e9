#pragma once
// The report's only view of the run store: finished runs as plain records.
// params are dotted config keys as text ("loss.kind" -> "dist", "seed" -> "3");
// metrics are final test metrics by name ("mae", "ref.oracle.rmse", ...).
#include <cmath>
#include <map>
#include <string>

namespace dist2::report {

struct RunRecord {
  std::string id;
  std::string status;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;
  double tau = NAN;  // the soft-target temperature the run trained with (its train/tau), NaN if it logged none
};

// The status a run has once training and evaluation completed; reports use only these.
inline const char* const kFinishedStatus = "finished";

inline bool is_finished(const RunRecord& run) { return run.status == kFinishedStatus; }

}  // namespace dist2::report
