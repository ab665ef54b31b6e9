// dist2 bench: `loss` times the fused DIST² loss against the composed reference;
// `train` (the training step) is not built yet.
#include <fstream>

#include <fmt/format.h>

#include "commands.h"
#include "dist2/bench/loss_bench.h"
#include "dist2/util/error.h"

namespace dist2::cli {

namespace {

struct BenchLossOptions {
  bench::LossBenchOptions lib;
  bool json = false;
  bool no_python = false;
  std::string json_out;
};

void run_bench_loss(BenchLossOptions o) {
  o.lib.python = !o.no_python;
  const bench::LossBenchReport report = bench::run_loss_bench(o.lib);
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << bench::to_json(report);
    DIST2_CHECK(out.good(), "cannot write --json-out '{}'", o.json_out);
  }
  fmt::print("{}", o.json ? bench::to_json(report) : bench::to_table(report));
}

void setup_bench_loss(CLI::App& bench) {
  auto opt = std::make_shared<BenchLossOptions>();
  auto* cmd = bench.add_subcommand(
      "loss", "Fused DIST² loss vs the composed LibTorch reference (and Python PyTorch): fwd+bwd time, GB/s "
              "against a copy of the same bytes, peak extra memory");
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of a table");
  cmd->add_option("--repeat", opt->lib.repeat, "Timed runs per measurement (median), after one warm-up")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--n", opt->lib.n, "Rows (positions) per call")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--quick", opt->lib.quick, "Small sizes (N <= 64, V <= 1000): seconds, for tests");
  cmd->add_option("--device", opt->lib.device, "cpu, cuda, or auto (cuda when available)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
      ->capture_default_str();
  cmd->add_flag("--no-python", opt->no_python, "Skip the Python PyTorch peer");
  cmd->add_option("--json-out", opt->json_out, "Also write the JSON to this file");
  cmd->add_option("--seed", opt->lib.seed, "Seed of the inputs")->capture_default_str();
  cmd->add_option("--filter", opt->lib.filter, "Run only the cases whose name contains this (e.g. V=32000)");
  cmd->callback([opt] { run_bench_loss(*opt); });
}

void setup_bench_train(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("train", "Time training steps of the model (not built yet)");
  cmd->allow_extras();
  cmd->callback([] { throw NotBuiltYet("'bench train' is not built yet: the model comes first"); });
}

}  // namespace

void setup_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmark the fused loss kernels (loss) and the training step (train)");
  cmd->require_subcommand(1);
  setup_bench_loss(*cmd);
  setup_bench_train(*cmd);
}

}  // namespace dist2::cli
