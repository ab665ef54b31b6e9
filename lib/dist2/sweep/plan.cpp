#include "dist2/sweep/plan.h"

#include <fmt/format.h>

#include "dist2/train/schema.h"
#include "dist2/util/process.h"

namespace dist2 {

namespace {
// Whether `key` is one of the settings of variant `name` (labels show the variant's name instead).
bool is_variant_key(const config::Experiment& exp, const std::string& name, const std::string& key) {
  for (const auto& v : exp.variants())
    if (v.name == name)
      for (const auto& [k, value] : v.settings)
        if (k == key) return true;
  return false;
}

}  // namespace

config::Experiment load_experiment(const SweepRequest& req) {
  return config::Experiment::load(req.experiment_path, req.profile, config::parse_overrides(req.overrides),
                                  experiment_schema);
}

std::vector<Trial> trials_of(const config::Experiment& exp) {
  std::vector<Trial> trials;
  for (auto& point : exp.trial_points()) {
    Trial t{point.config, {}, point.config.hash(), point.variant};
    for (const auto& [key, value] : point.settings) {
      const std::string kv = key + "=" + config::format_value(value);
      t.grid_overrides.push_back(kv);
      if (point.variant.empty() || exp.variants().empty() || !is_variant_key(exp, point.variant, key))
        t.label += (t.label.empty() ? "" : " ") + kv;
    }
    trials.push_back(std::move(t));
  }
  return trials;
}

std::vector<Trial> expand_trials(const SweepRequest& req) { return trials_of(load_experiment(req)); }

TrialState trial_state(store::Store& st, const Trial& t) {
  if (st.find_finished(t.hash)) return TrialState::finished;
  store::RunFilter f;
  f.config_hash = t.hash;
  bool running = false, failed = false;
  for (const auto& r : st.list_runs(f)) {
    // Another host's run is alive until the store marks it stale (by its heartbeat).
    running |= r.status == "running" && (r.host != this_host() || pid_alive(r.pid));
    failed |= r.status == "failed";
  }
  if (running || st.claimed_elsewhere(t.hash)) return TrialState::running_elsewhere;
  return failed ? TrialState::failed_before : TrialState::to_run;
}

TrialPlan plan_trials(store::Store& st, const std::vector<Trial>& trials, const std::set<std::string>& queued,
                      bool retry_failed) {
  TrialPlan plan;
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    if (queued.count(t.hash)) {
      ++plan.queued_elsewhere;
      plan.notes.push_back(fmt::format("skip (queued in an earlier sweep's Slurm job array): {}", t.label));
      continue;
    }
    switch (trial_state(st, t)) {
      case TrialState::finished: ++plan.already_finished; break;
      case TrialState::running_elsewhere:
        ++plan.running_elsewhere;
        plan.waiting.push_back(i);
        plan.notes.push_back(fmt::format("wait (running elsewhere; runs here if it stops unfinished): {}", t.label));
        break;
      case TrialState::failed_before:
        if (!retry_failed) {
          ++plan.skipped_failed;
          plan.notes.push_back(fmt::format("skip (failed before; --retry-failed reruns it): {}", t.label));
          break;
        }
        [[fallthrough]];
      case TrialState::to_run: plan.todo.push_back(i); break;
    }
  }
  return plan;
}

void record_plan(store::Store& st, const config::Experiment& exp, const SweepRequest& req,
                 const std::vector<Trial>& trials) {
  store::SweepPlan plan{exp.name(), req.profile, req.overrides, exp.reports(), {}};
  for (const Trial& t : trials) plan.trials.push_back({t.hash, t.label, t.grid_overrides});
  st.record_sweep_plan(plan);
}

}  // namespace dist2
