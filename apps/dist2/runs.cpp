#include "commands.h"

namespace dist2::cli {

void setup_runs(CLI::App& app) {
  auto* cmd = app.add_subcommand("runs", "List and filter runs in the store as a table, CSV or JSON (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'runs' is not built yet"); });
}

}  // namespace dist2::cli
