// dist2 bench: `loss` times the fused DIST² loss against the composed reference;
// `train` times the training step against the same step in Python PyTorch.
#include <fstream>

#include <fmt/format.h>

#include "commands.h"
#include "dist2/bench/loss_bench.h"
#include "dist2/bench/train_bench.h"
#include "dist2/util/error.h"
#include "dist2/util/process.h"
#include "dist2/util/threads.h"

namespace dist2::cli {

namespace {

struct BenchLossOptions {
  bench::LossBenchOptions lib;
  bool fused_linear = false;
  int64_t hidden = 512;
  bool json = false;
  bool no_python = false;
  std::string json_out;
};

void write_report(const std::string& json, const std::string& table, const BenchLossOptions& o) {
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << json;
    DIST2_CHECK(out.good(), "cannot write --json-out '{}'", o.json_out);
  }
  fmt::print("{}", o.json ? json : table);
}

void run_bench_loss(BenchLossOptions o) {
  if (o.fused_linear) {
    bench::LinearBenchOptions lo;
    lo.n = o.lib.n, lo.hidden = o.hidden, lo.repeat = o.lib.repeat, lo.quick = o.lib.quick;
    lo.seed = o.lib.seed, lo.filter = o.lib.filter;
    const bench::LinearBenchReport report = bench::run_linear_bench(lo);
    write_report(bench::to_json(report), bench::to_table(report), o);
    return;
  }
  o.lib.python = !o.no_python;
  const bench::LossBenchReport report = bench::run_loss_bench(o.lib);
  write_report(bench::to_json(report), bench::to_table(report), o);
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
  cmd->add_flag("--fused-linear", opt->fused_linear,
                "Instead: the loss from hidden states and the output weight, composed (logits, then the loss) "
                "against the fused linear loss that never holds the logits: time and peak memory");
  cmd->add_option("--hidden", opt->hidden, "With --fused-linear: the hidden width d")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([opt] { run_bench_loss(*opt); });
}

struct BenchTrainOptions {
  bench::TrainBenchOptions lib;
  bool json = false;
  bool no_python = false;
  std::string json_out;
  std::vector<std::string> splits;  // "IxB"
  std::string one_split;            // "I,B": measure this split in this process (the bench's children)
  bool save = false;                // record the best split per core budget for --threads
};

std::pair<int, int> parse_split(const std::string& text, char sep) {
  const auto at = text.find(sep);
  try {
    DIST2_CHECK(at != std::string::npos, "");
    size_t used_a = 0, used_b = 0;
    const int intra = std::stoi(text.substr(0, at), &used_a), blas = std::stoi(text.substr(at + 1), &used_b);
    DIST2_CHECK(used_a == at && used_b == text.size() - at - 1 && intra >= 1 && blas >= 1, "");
    return {intra, blas};
  } catch (const std::exception&) {
    throw Error(fmt::format("bad thread split '{}': expected INTRA{}BLAS with both >= 1 (e.g. 1{}2)", text, sep, sep));
  }
}

void run_bench_train(BenchTrainOptions o) {
  if (!o.one_split.empty()) {  // a child: one JSON line
    const auto [intra, blas] = parse_split(o.one_split, ',');
    fmt::print("{}\n", bench::to_json(bench::measure_cpp_step(o.lib, intra, blas)));
    return;
  }
  o.lib.python = !o.no_python;
  for (const auto& s : o.splits) o.lib.splits.push_back(parse_split(s, 'x'));
  const bench::TrainBenchReport report = bench::run_train_bench(o.lib, self_executable());
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << bench::to_json(report);
    DIST2_CHECK(out.good(), "cannot write --json-out '{}'", o.json_out);
  }
  fmt::print("{}", o.json ? bench::to_json(report) : bench::to_table(report));
  if (o.save) {
    const auto best = bench::best_split_by_cores(report);
    save_thread_splits(best, report.cpu, report.cores);
    std::string said;
    for (const auto& [n, s] : best) said += fmt::format("{}--threads {}: intra {} x BLAS {}", said.empty() ? "" : "; ", n, s.first, s.second);
    fmt::print(stderr, "saved to {}: {}\n", thread_splits_path(), said);
  }
}

void setup_bench_train(CLI::App& bench) {
  auto opt = std::make_shared<BenchTrainOptions>();
  auto* cmd = bench.add_subcommand(
      "train", "The regression model's training step in LibTorch vs Python PyTorch, at every split of the cores "
               "between intra-op and BLAS threads: ms/step, tokens/s, peak memory");
  bench::TrainBenchOptions& l = opt->lib;
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of a table");
  cmd->add_option("--json-out", opt->json_out, "Also write the JSON to this file");
  cmd->add_flag("--quick", l.quick, "A 1-layer model, 3 steps, one process per cell: seconds, for tests");
  cmd->add_flag("--no-python", opt->no_python, "Skip the Python PyTorch peer");
  cmd->add_flag("--save", opt->save,
                "Record the fastest C++ split for each core count; `--threads N` then uses it on this machine");
  cmd->add_option("--splits", opt->splits, "Thread splits to measure as INTRAxBLAS (default: every pair up to the cores)");
  cmd->add_option("--ranks", l.ranks, "Also time the data-parallel step with this many ranks of one thread each")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--repeat", l.repeat, "Processes per cell (median)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--steps", l.steps, "Timed steps per process")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--warmup", l.warmup, "Untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--n-layer", l.n_layer, "Transformer blocks")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--d-model", l.d_model, "Model width")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--n-head", l.n_head, "Attention heads")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--context", l.context, "Tokens per sequence")->check(CLI::Range(2, 4096))->capture_default_str();
  cmd->add_option("--batch", l.batch, "Sequences per step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", l.seed, "Seed of the weights and tokens")->capture_default_str();
  cmd->add_option("--one-split", opt->one_split, "INTRA,BLAS: measure one split in this process (used by the bench itself)")
      ->group("");
  cmd->callback([opt] { run_bench_train(*opt); });
}

}  // namespace

void setup_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmark the fused loss kernels (loss) and the training step (train)");
  cmd->require_subcommand(1);
  setup_bench_loss(*cmd);
  setup_bench_train(*cmd);
}

}  // namespace dist2::cli
