#pragma once
// A sweep's plan, decided before anything runs: the experiment's trials (grid
// points crossed with variants, each with its config hash and label, in order)
// and, given what the store holds, what to do with each: run it, wait for the
// process that runs it, or leave it (finished, failed before, queued in an
// earlier Slurm array). Nothing here prints or launches; `--dry-run` prints it.
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "dist2/store/store.h"
#include "dist2/sweep/sweep.h"

namespace dist2 {

config::Experiment load_experiment(const SweepRequest& req);
std::vector<Trial> trials_of(const config::Experiment& exp);

enum class TrialState { finished, running_elsewhere, failed_before, to_run };
// Where a trial stands in the store: finished by some run, running in a live
// process, failed before, or to run.
TrialState trial_state(store::Store& st, const Trial& t);

struct TrialPlan {
  std::deque<size_t> todo;      // indices into the trials, to run here
  std::vector<size_t> waiting;  // running in another process: run here only if that one stops unfinished
  int already_finished = 0, running_elsewhere = 0, skipped_failed = 0, queued_elsewhere = 0;
  std::vector<std::string> notes;  // a line for each trial waited for or skipped, in trial order
};
// `queued`: hashes still queued in earlier sweeps' Slurm job arrays.
TrialPlan plan_trials(store::Store& st, const std::vector<Trial>& trials, const std::set<std::string>& queued,
                      bool retry_failed);

// The plan goes to the store before any trial runs: a report finds the
// experiment's runs from it, without reading the experiment file.
void record_plan(store::Store& st, const config::Experiment& exp, const SweepRequest& req,
                 const std::vector<Trial>& trials);

}  // namespace dist2
