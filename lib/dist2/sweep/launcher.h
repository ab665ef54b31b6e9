#pragma once
// Where a sweep's trials run. A launcher takes the plan (sweep/plan.h) and runs
// its trials: `local` as `dist2 train` worker processes on this machine, -j at a
// time (local_launcher.cpp); `slurm` as one job array, a task per trial
// recording into its shard (slurm_launcher.cpp).
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dist2/store/store.h"
#include "dist2/sweep/plan.h"
#include "dist2/sweep/sweep.h"

namespace dist2 {

struct LaunchInput {
  const SweepRequest& req;
  const config::Experiment& exp;
  const std::vector<Trial>& trials;
  store::Store& st;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // How the plan's line says where the trials run ("with -j 2", "on Slurm").
  virtual std::string where(const SweepRequest& req) const = 0;
  // Runs the plan's trials; returns `sum` with what ran and how it ended.
  virtual SweepSummary launch(const LaunchInput& in, TrialPlan plan, SweepSummary sum) = 0;
};

std::unique_ptr<Launcher> local_launcher();
std::unique_ptr<Launcher> slurm_launcher();
// The launcher req.launcher names: "local" or "slurm".
std::unique_ptr<Launcher> make_launcher(const SweepRequest& req);

// Trial hashes still queued in the Slurm job arrays earlier sweeps of this
// store submitted (nothing where Slurm's commands are not here).
std::set<std::string> queued_in_slurm(const SweepRequest& req);

// " name=value ..." of a finished trial's headline test metrics, for its progress line.
std::string final_metric_text(store::Store& st, const std::string& hash);

}  // namespace dist2
