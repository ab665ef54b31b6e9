#pragma once
// From an experiment's trials to the finished runs that answer them: what a
// report reads. A trial is answered by the latest finished run whose resolved
// config has the trial's hash, whichever experiment file or sweep produced it.
#include <string>
#include <vector>

#include "dist2/report/records.h"
#include "dist2/sweep/sweep.h"

namespace dist2 {

struct TrialRecords {
  std::vector<report::RunRecord> runs;  // one per answered trial
  int trials = 0, missing = 0;
  std::vector<std::string> commits;     // distinct commits of the runs used
};

TrialRecords finished_records(const SweepRequest& req);

// The experiment files under `dir` whose `report:` lists `report_name`.
std::vector<std::string> experiments_for_report(const std::string& report_name, const std::string& dir);

}  // namespace dist2
