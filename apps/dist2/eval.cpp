#include "commands.h"

namespace dist2::cli {

void setup_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run on its task's test splits (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'eval' is not built yet"); });
}

}  // namespace dist2::cli
