// dist2 sweep: run an experiment's grid in worker processes, skipping finished trials.
#include <unistd.h>

#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/sweep/sweep.h"

namespace dist2::cli {

void setup_sweep(CLI::App& app) {
  auto args = std::make_shared<ExperimentArgs>();
  auto req = std::make_shared<SweepRequest>();
  auto* cmd = app.add_subcommand("sweep", "Run an experiment's grid (trials skip when already finished in the store)");
  add_experiment_args(cmd, *args);
  auto* jobs = cmd->add_option("-j,--jobs", req->jobs,
                               "Worker processes (with --launcher slurm: at most this many array tasks at once)")
                   ->check(CLI::PositiveNumber)
                   ->capture_default_str();
  cmd->add_option("--worker-threads", req->threads, "Threads per worker (default: cores / jobs)");
  cmd->add_flag("--dry-run", req->dry_run,
                "List the trials that would run and run nothing; the plan is recorded, so reports read the "
                "runs that already answer it");
  cmd->add_flag("--retry-failed", req->retry_failed, "Run trials that failed before again");
  cmd->add_option("--launcher", req->launcher,
                  "Where trials run: local (worker processes here) or slurm (one job array; each task records its "
                  "run in a shard under the store, merged by every sweep)")
      ->check(CLI::IsMember({"local", "slurm"}))
      ->capture_default_str();
  auto* slurm = cmd->add_option_group("Slurm", "With --launcher slurm");
  slurm->add_option("--partition", req->slurm.partition, "Slurm partition (default: the cluster's)");
  slurm->add_option("--time", req->slurm.time, "Time limit per trial, as sbatch takes it (e.g. 2:00:00)");
  slurm->add_option("--cpus-per-task", req->slurm.cpus_per_task, "Cores per trial (also its --threads)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  slurm->add_flag("--wait", req->slurm.wait,
                  "Stay until every task has ended, printing each trial's result as it ends (Ctrl-C cancels the "
                  "array; the next sweep resumes what was cut short)");
  cmd->add_flag("--prepare-only", req->prepare_only,
                "Only train the shared models the trials to run need: backbones, and a task's own (the image "
                "tokenizer and classifier); a Slurm sweep's first job runs this");
  cmd->callback([args, req, jobs] {
    req->jobs_given = jobs->count() > 0;
    req->experiment_path = args->file;
    req->overrides = args->overrides;
    req->profile = args->profile;
    req->store_dir = store_dir(args->store);
    char exe[4096] = {0};
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    req->executable = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "dist2";
    const SweepSummary s = run_sweep(*req);
    if (!s.slurm_job.empty() && !req->slurm.wait) {  // submitted; the tasks end later
      fmt::print("sweep: {} trials: {} finished before, {} submitted to Slurm as job array {}, {} still queued from "
                 "earlier sweeps; run the sweep again (or with --wait) to merge their results\n",
                 s.total, s.already_finished, s.submitted, s.slurm_job, s.queued_elsewhere);
      return;
    }
    fmt::print("sweep: {} trials: {} finished before, {} ran ({} finished, {} failed, {} interrupted), {} skipped as "
               "failed, {} running elsewhere\n",
               s.total, s.already_finished, s.ran, s.finished, s.failed, s.interrupted, s.skipped_failed,
               s.running_elsewhere);
    if (s.not_started > 0) fmt::print("sweep: stopped; {} trials not started (run the sweep again)\n", s.not_started);
    if (s.failed > 0 || s.skipped_failed > 0) std::exit(1);
    if (s.interrupted > 0 || s.not_started > 0) std::exit(130);
  });
}

}  // namespace dist2::cli
