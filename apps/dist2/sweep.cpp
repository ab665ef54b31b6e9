#include "commands.h"

namespace dist2::cli {

void setup_sweep(CLI::App& app) {
  auto* cmd = app.add_subcommand("sweep", "Run an experiment's grid of trials in worker processes, skipping finished ones (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'sweep' is not built yet"); });
}

}  // namespace dist2::cli
