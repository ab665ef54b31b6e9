#include "dist2/sweep/records.h"

#include <algorithm>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "dist2/store/store.h"
#include "dist2/util/error.h"

namespace dist2 {

TrialRecords finished_records(const SweepRequest& req) {
  TrialRecords out;
  DIST2_CHECK(store::Store::exists(req.store_dir), "no run store at {} (run a sweep first, or pass --store)",
              req.store_dir);
  store::Store st(req.store_dir);
  for (const auto& trial : expand_trials(req)) {
    ++out.trials;
    const auto run = st.find_finished(trial.hash);
    if (!run) {
      ++out.missing;
      continue;
    }
    report::RunRecord r{run->id, run->status, run->params, st.final_metrics(run->id, "test")};
    out.runs.push_back(std::move(r));
    if (std::find(out.commits.begin(), out.commits.end(), run->commit) == out.commits.end())
      out.commits.push_back(run->commit);
  }
  return out;
}

std::vector<std::string> experiments_for_report(const std::string& report_name, const std::string& dir) {
  std::vector<std::string> files;
  if (!std::filesystem::is_directory(dir)) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    try {
      const YAML::Node doc = YAML::LoadFile(entry.path().string());
      const YAML::Node reports = doc["report"];
      bool match = reports.IsScalar() && reports.Scalar() == report_name;
      if (reports.IsSequence())
        for (const auto& r : reports) match |= r.IsScalar() && r.Scalar() == report_name;
      if (match) files.push_back(entry.path().string());
    } catch (const YAML::Exception&) {
      // A malformed file is reported when it is loaded for real.
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace dist2
