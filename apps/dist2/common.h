#pragma once
// Options several subcommands share: the experiment file with key=value
// overrides, --profile, --store.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "dist2/store/store.h"

namespace dist2::cli {

struct ExperimentArgs {
  std::string file;
  std::vector<std::string> overrides;
  std::string profile = "default";
  std::string store;
};

// Binds FILE, [key=value ...], --profile and --store (default $DIST2_STORE or ./dist2-runs).
void add_experiment_args(CLI::App* cmd, ExperimentArgs& args);
// The store folder to use: --store, else $DIST2_STORE, else ./dist2-runs.
std::string store_dir(const std::string& flag);
// Opens the store at dir, which must exist (`missing_hint` says what to do when
// it does not), with the runs of cluster tasks' shards merged in first, so that
// reading commands see runs a Slurm sweep left unmerged.
store::Store open_existing_store(const std::string& dir, const std::string& missing_hint);

}  // namespace dist2::cli
