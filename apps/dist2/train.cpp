// dist2 train: one run of an experiment (train + test evaluation), recorded in the store.
#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/train/run.h"

namespace dist2::cli {

void setup_train(CLI::App& app) {
  auto args = std::make_shared<ExperimentArgs>();
  auto req = std::make_shared<RunRequest>();
  auto no_progress = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("train", "Train and evaluate one config of an experiment; the run goes to the store");
  add_experiment_args(cmd, *args);
  cmd->add_flag("--verbose,-v", req->verbose, "Print the fully resolved config");
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  cmd->add_option("--resume", req->resume_run, "Continue RUN (interrupted or failed) from its last checkpoint");
  cmd->add_flag("--fresh", req->fresh,
                "Start a new run even when this trial's latest run is interrupted (by default that one resumes)");
  cmd->add_option("--shard", req->shard_dir,
                  "Record the run in the store at DIR instead (a cluster job's own database; `dist2 sweep` merges "
                  "it); datasets and backbones still come from --store");
  cmd->add_option("--variant", req->variant, "The sweep trial this run answers, as its label (set by `dist2 sweep`)");
  cmd->add_option("--nproc", req->nproc,
                  "Data-parallel ranks on this machine (c10d, Gloo): each takes a shard of every batch. Under "
                  "torchrun or srun, which set RANK and WORLD_SIZE, leave it at 1")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([args, req, no_progress] {
    req->experiment_path = args->file;
    req->overrides = args->overrides;
    req->profile = args->profile;
    req->store_dir = store_dir(args->store);
    req->progress = !*no_progress;
    const RunOutcome out = run_experiment(*req);
    if (out.run_id.empty()) {  // a rank other than 0: rank 0 reports the run
      if (out.status == "interrupted") std::exit(130);
      return;
    }
    std::string metrics;
    for (const auto& [name, value] : out.test_metrics) metrics += fmt::format(" {}={:.4f}", name, value);
    fmt::print("run {} {}{}\n", out.run_id, out.status, metrics);
    if (out.status == "interrupted") std::exit(130);
  });
}

}  // namespace dist2::cli
