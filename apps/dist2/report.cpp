#include "commands.h"

namespace dist2::cli {

void setup_report(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "Regenerate a paper table or figure from the store, our numbers beside the paper's (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'report' is not built yet"); });
}

}  // namespace dist2::cli
