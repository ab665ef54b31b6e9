#include "common.h"

#include "dist2/store/store.h"

namespace dist2::cli {

void add_experiment_args(CLI::App* cmd, ExperimentArgs& args) {
  cmd->add_option("file", args.file, "Experiment YAML (experiments/*.yaml)")->required()->check(CLI::ExistingFile);
  cmd->add_option("overrides", args.overrides, "Config overrides key=value (e.g. loss.kind=dist seed=3)");
  cmd->add_option("--profile", args.profile, "Profile of the experiment: smoke, quick, default, ...")
      ->capture_default_str();
  cmd->add_option("--store", args.store, "Run store folder (default $DIST2_STORE or ./dist2-runs)");
}

std::string store_dir(const std::string& flag) { return flag.empty() ? store::Store::default_dir() : flag; }

}  // namespace dist2::cli
