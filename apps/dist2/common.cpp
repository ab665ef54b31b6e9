#include "common.h"

#include <fmt/format.h>

#include "dist2/sweep/shards.h"
#include "dist2/util/error.h"

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

store::Store open_existing_store(const std::string& dir, const std::string& missing_hint) {
  DIST2_CHECK(store::Store::exists(dir), "no run store at {} ({})", dir, missing_hint);
  store::Store st(dir);
  for (const auto& p : merge_shards(st).problems) fmt::print(stderr, "warning: shard not merged: {}\n", p);
  return st;
}

}  // namespace dist2::cli
