#pragma once
// Sweeps: expand an experiment's grid into trials, identify each by the hash of
// its resolved config, skip the ones the store already has finished, and run
// the rest as `dist2 train` worker processes, N at a time, so that one crash
// fails one trial and not the sweep. A sweep started again after an
// interruption runs only what is missing; a trial still running in another
// process (a worker of a sweep that was killed, winding down) is waited for and
// run here only if that process stops without finishing it.
#include <string>
#include <vector>

#include "dist2/config/experiment.h"

namespace dist2 {

// Cluster settings of `--launcher slurm` (sweep/slurm.h).
struct SlurmRequest {
  std::string partition, time;  // empty: the cluster's defaults
  int cpus_per_task = 1;        // each trial's cores, and its --threads
  bool wait = false;            // poll until every task has ended, merging as they end
};

struct SweepRequest {
  std::string experiment_path;
  std::string profile = "default";
  std::string store_dir;
  std::vector<std::string> overrides;
  int jobs = 1;
  int threads = 0;           // threads per worker; 0 = cores / jobs (at least 1)
  bool dry_run = false;
  bool retry_failed = false;
  std::string executable;    // the dist2 binary that runs trials
  // Where trials run: "local" (worker processes here, -j at a time) or "slurm"
  // (one job array, each task a trial recording into its shard; -j, when given,
  // caps the tasks running at once).
  std::string launcher = "local";
  bool jobs_given = false;
  SlurmRequest slurm;
  bool prepare_only = false;  // only pretrain the backbones the trials to run need
};

struct Trial {
  config::Config config;
  std::vector<std::string> grid_overrides;  // "key=value" for the grid point
  std::string hash;
  std::string label;  // "no_contrastive seed=1": the variant's name, then the grid values
};

struct SweepSummary {
  int total = 0, already_finished = 0, skipped_failed = 0, running_elsewhere = 0, ran = 0, finished = 0, failed = 0,
      interrupted = 0;
  int not_started = 0;  // left unstarted because the sweep was asked to stop
  int submitted = 0;    // handed to Slurm (without --wait they end after the sweep)
  int queued_elsewhere = 0;  // still in an earlier sweep's Slurm job array
  std::string slurm_job;     // the array job this sweep submitted
};

std::vector<Trial> expand_trials(const SweepRequest& req);
SweepSummary run_sweep(const SweepRequest& req);

}  // namespace dist2
