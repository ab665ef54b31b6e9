#include "commands.h"

namespace dist2::cli {

void setup_prepare(CLI::App& app) {
  auto* cmd = app.add_subcommand("prepare", "Generate or read a task's data splits (and pretrain its backbone), cached by config hash (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'prepare' is not built yet"); });
}

}  // namespace dist2::cli
