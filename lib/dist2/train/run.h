#pragma once
// One run of an experiment, end to end and recorded in the store: resolve the
// config, prepare (or read the cached) data, train with checkpoints, evaluate on
// the test splits, and mark the run finished — or failed / interrupted with the
// reason, never finished when it is not.
#include <map>
#include <string>
#include <vector>

namespace dist2 {

struct RunRequest {
  std::string experiment_path;
  std::string profile = "default";
  std::string store_dir;
  std::vector<std::string> overrides;  // "key=value"
  bool verbose = false;                // print the resolved config
  bool progress = true;
  std::string resume_run;              // continue this run from its last checkpoint
  // Without resume_run, a trial whose latest run is interrupted is resumed (a
  // requeued cluster job, a restarted sweep); fresh starts a new run instead.
  bool fresh = false;
  // Record the run in this store (a cluster job's shard, see sweep/shards.h)
  // instead of store_dir; datasets and backbones still come from store_dir.
  std::string shard_dir;
  std::string variant;                 // the sweep trial's label, recorded with the run
  // Data-parallel ranks on this machine: > 1 makes this process rank 0, which
  // starts the others. Under a launcher that sets RANK / WORLD_SIZE (torchrun,
  // srun) leave it at 1: each process is the rank the environment names.
  int nproc = 1;
};

struct RunOutcome {
  std::string run_id;  // empty on ranks other than 0 (they record nothing)
  std::string status;  // finished | interrupted (failures throw, after recording the run as failed)
  std::map<std::string, double> test_metrics;
};

RunOutcome run_experiment(const RunRequest& req);

struct EvalRequest {
  std::string run_id;
  std::string store_dir;
  std::vector<std::string> overrides;  // eval.* keys only
  std::string export_samples_dir;      // image tasks: the generated images written there too
};
// Re-evaluates a run from its last checkpoint; metrics go to split "eval".
std::map<std::string, double> evaluate_run(const EvalRequest& req);

}  // namespace dist2
