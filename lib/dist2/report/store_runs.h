#pragma once
// From the store to a report's records: the experiments a report reads are those
// whose recorded sweep plan names it, and each planned trial is answered by the
// latest finished run with its config hash, whichever experiment made that run.
// The report reads no experiment file and no training code: `dist2 sweep`
// records the plan (store::SweepPlan) before it runs anything.
#include <string>
#include <vector>

#include "dist2/report/records.h"
#include "dist2/store/store.h"

namespace dist2::report {

struct StoreRuns {
  std::vector<RunRecord> runs;  // one per answered trial
  int trials = 0, missing = 0;
  std::vector<std::string> commits;  // distinct commits of the runs used
};

// The finished runs answering the trials of `experiment`'s sweep at `profile`.
// Throws dist2::Error (one line, saying how to record one) when the store holds no
// such sweep.
StoreRuns experiment_runs(store::Store& st, const std::string& experiment, const std::string& profile);

// Every experiment a recorded sweep says feeds `report`; throws dist2::Error when
// none does.
std::vector<std::string> report_experiments(store::Store& st, const std::string& report);

// The experiment name an experiment file declares (its `experiment:` key).
std::string experiment_name_of_file(const std::string& path);

}  // namespace dist2::report
