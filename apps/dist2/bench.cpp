#include "commands.h"

namespace dist2::cli {

void setup_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmark the fused loss kernels and the training step (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'bench' is not built yet"); });
}

}  // namespace dist2::cli
