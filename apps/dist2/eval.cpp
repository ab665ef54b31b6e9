// dist2 eval: evaluate a stored run again from its checkpoint (e.g. with eval.decoding=expected).
#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/train/run.h"

namespace dist2::cli {

void setup_eval(CLI::App& app) {
  auto req = std::make_shared<EvalRequest>();
  auto store = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained run on its task's test splits (metrics go to split 'eval')");
  cmd->add_option("run", req->run_id, "Run id (or a unique prefix)")->required();
  cmd->add_option("overrides", req->overrides, "eval.* overrides, e.g. eval.decoding=expected");
  cmd->add_option("--store", *store, "Run store folder (default $DIST2_STORE or ./dist2-runs)");
  cmd->add_option("--export-samples", req->export_samples_dir,
                  "Image generation runs: also write the generated images to this folder (PNG files and an IDX pair "
                  "with their labels, for other FID tools)");
  cmd->callback([req, store] {
    req->store_dir = store_dir(*store);
    for (const auto& [name, value] : evaluate_run(*req)) fmt::print("{} {:.6f}\n", name, value);
  });
}

}  // namespace dist2::cli
