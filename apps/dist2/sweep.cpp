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
  cmd->add_option("-j,--jobs", req->jobs, "Worker processes")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--worker-threads", req->threads, "Threads per worker (default: cores / jobs)");
  cmd->add_flag("--dry-run", req->dry_run,
                "List the trials that would run and run nothing; the plan is recorded, so reports read the "
                "runs that already answer it");
  cmd->add_flag("--retry-failed", req->retry_failed, "Run trials that failed before again");
  cmd->callback([args, req] {
    req->experiment_path = args->file;
    req->overrides = args->overrides;
    req->profile = args->profile;
    req->store_dir = store_dir(args->store);
    char exe[4096] = {0};
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    req->executable = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "dist2";
    const SweepSummary s = run_sweep(*req);
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
