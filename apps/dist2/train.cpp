#include "commands.h"

namespace dist2::cli {

void setup_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model on an experiment config and record the run in the store (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'train' is not built yet"); });
}

}  // namespace dist2::cli
