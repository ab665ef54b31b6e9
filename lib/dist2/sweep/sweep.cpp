// run_sweep: plan (sweep/plan.h), record the plan, then hand the trials to the
// launcher the request names (sweep/launcher.h).
#include "dist2/sweep/sweep.h"

#include <fmt/format.h>

#include "dist2/store/store.h"
#include "dist2/sweep/launcher.h"
#include "dist2/sweep/plan.h"
#include "dist2/sweep/shards.h"
#include "dist2/sweep/slurm.h"
#include "dist2/train/backbone.h"
#include "dist2/util/error.h"

namespace dist2 {

SweepSummary run_sweep(const SweepRequest& req) {
  DIST2_CHECK(req.jobs >= 1, "-j must be >= 1, got {}", req.jobs);
  if (req.launcher == "slurm" && !req.dry_run && !req.prepare_only) {
    const std::string missing = slurm::missing_commands();
    DIST2_CHECK(missing.empty(), "--launcher slurm: {} not found on PATH (run on a node with Slurm's client, or "
                "use --launcher local)", missing);
  }
  const auto launcher = make_launcher(req);
  const auto exp = load_experiment(req);
  const auto trials = trials_of(exp);
  SweepSummary sum;
  sum.total = static_cast<int>(trials.size());
  store::Store st(req.store_dir);

  // Runs that cluster jobs recorded in their shards come into the store first.
  const ShardMerge merged = merge_shards(st);
  for (const auto& p : merged.problems) fmt::print("warning: shard not merged: {}\n", p);
  if (merged.runs > 0) fmt::print("merged {} runs from {} shards\n", merged.runs, merged.shards);
  st.mark_stale_runs();

  // Decide what to run: each trial at most once, whatever ran before.
  TrialPlan plan = plan_trials(st, trials, queued_in_slurm(req), req.retry_failed);
  for (const std::string& note : plan.notes) fmt::print("{}\n", note);
  sum.already_finished = plan.already_finished, sum.running_elsewhere = plan.running_elsewhere;
  sum.skipped_failed = plan.skipped_failed, sum.queued_elsewhere = plan.queued_elsewhere;
  fmt::print("sweep {}: {} trials, {} finished already, {} to run {}\n", req.experiment_path, sum.total,
             sum.already_finished, plan.todo.size(), launcher->where(req));
  std::fflush(stdout);  // the plan shows in a log before the first trial ends
  // Even a dry run records the plan: reports then read the runs that already answer it.
  record_plan(st, exp, req, trials);
  if (req.dry_run) {
    for (size_t i : plan.todo) fmt::print("would run: {}  [{}]\n", trials[i].label, trials[i].hash);
    return sum;
  }
  if (req.prepare_only) {  // a Slurm prepare job: its --threads are the job's cores
    std::vector<config::Config> to_run;
    for (size_t i : plan.todo) to_run.push_back(trials[i].config);
    prepare_shared_models(to_run, req.store_dir);
    return sum;
  }
  return launcher->launch({req, exp, trials, st}, std::move(plan), sum);
}

}  // namespace dist2
