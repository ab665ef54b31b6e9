#include "dist2/report/store_runs.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "dist2/util/yaml_text.h"

#include "dist2/report/layouts.h"  // as_number
#include "dist2/util/error.h"

namespace dist2::report {

namespace {

// What the run used (Tables 9 and 10), as "system.<name>": what its process
// logged under split "system" (runs since store v2), the model's shape from its
// config, and its span in the store from start to end (every run).
void add_system_metrics(store::Store& st, const store::RunInfo& run, RunRecord& r) {
  for (const auto& [name, value] : st.final_metrics(run.id, "system")) r.metrics["system." + name] = value;
  const std::pair<const char*, const char*> from_config[] = {
      {"system.n_layer", "model.n_layer"}, {"system.d_model", "model.d_model"},
      {"system.pretrain_steps", "backbone.pretrain_steps"}};
  for (const auto& [metric, param] : from_config)
    if (auto it = run.params.find(param); it != run.params.end())
      if (auto v = as_number(it->second)) r.metrics[metric] = *v;
  const auto start = store::parse_iso(run.started_at), end = store::parse_iso(run.ended_at);
  if (start && end) r.metrics["system.duration_s"] = *end - *start;
}

}  // namespace

StoreRuns experiment_runs(store::Store& st, const std::string& experiment, const std::string& profile) {
  const auto trials = st.planned_trials(experiment, profile);
  DIST2_CHECK(!trials.empty(),
              "store {} has no sweep of experiment '{}' at profile '{}' (`dist2 sweep FILE --profile {}` records "
              "one; finished runs are reused)",
              st.dir(), experiment, profile, profile);
  StoreRuns out;
  for (const auto& trial : trials) {
    ++out.trials;
    const auto run = st.find_finished(trial.config_hash);
    if (!run) {
      ++out.missing;
      continue;
    }
    RunRecord r{run->id, run->status, run->params, st.final_metrics(run->id, "test")};
    add_system_metrics(st, *run, r);
    const auto train = st.final_metrics(run->id, "train");
    if (auto tau = train.find("tau"); tau != train.end()) r.tau = tau->second;
    out.runs.push_back(std::move(r));
    if (std::find(out.commits.begin(), out.commits.end(), run->commit) == out.commits.end())
      out.commits.push_back(run->commit);
  }
  return out;
}

std::vector<std::string> report_experiments(store::Store& st, const std::string& report) {
  auto experiments = st.experiments_for_report(report);
  DIST2_CHECK(!experiments.empty(),
              "no sweep recorded in store {} feeds report '{}' (run `dist2 sweep` on its experiment file first)",
              st.dir(), report);
  return experiments;
}

std::string experiment_name_of_file(const std::string& path) {
  const YAML::Node doc = parse_yaml(read_text_file(path, "experiment file"), path);
  const YAML::Node name = doc.IsMap() ? doc["experiment"] : YAML::Node();
  DIST2_CHECK(name && name.IsScalar() && !name.Scalar().empty(), "{}: missing 'experiment:' (the experiment's name)",
              path);
  return name.Scalar();
}

}  // namespace dist2::report
