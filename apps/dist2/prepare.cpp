// dist2 prepare: generate (or read) the dataset splits of every trial, cached by config hash.
#include <set>

#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/sweep/sweep.h"
#include "dist2/tasks/dataset_cache.h"
#include "dist2/train/backbone.h"

namespace dist2::cli {

void setup_prepare(CLI::App& app) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* cmd = app.add_subcommand("prepare", "Generate or read the data splits of an experiment's trials, and train the models they share (backbones, image tokenizer and classifier), cached by config hash");
  add_experiment_args(cmd, *args);
  cmd->callback([args] {
    SweepRequest req;
    req.experiment_path = args->file;
    req.overrides = args->overrides;
    req.profile = args->profile;
    req.store_dir = store_dir(args->store);
    const auto trials = expand_trials(req);
    std::vector<config::Config> configs;
    for (const auto& t : trials) configs.push_back(t.config);
    prepare_shared_models(configs, req.store_dir);
    std::set<std::string> seen;
    for (const auto& t : trials) {
      const std::string id = dataset_id(t.config);
      if (!seen.insert(id).second) continue;
      auto task = make_task(t.config.get_string("task.name"));
      const auto cached = load_or_generate(*task, t.config, req.store_dir + "/datasets");
      fmt::print("{} {}: {} train, {} test{}\n", cached.from_cache ? "cached " : "written", cached.dir,
                 cached.data.train.size(), cached.data.test.size(),
                 cached.data.extra.empty() ? "" : fmt::format(", {} extra splits", cached.data.extra.size()));
    }
  });
}

}  // namespace dist2::cli
