#pragma once
// `dist2 bench train`: the training step of the regression model (dist2's GPT,
// AdamW, gradient clipping; a plain cross-entropy objective) in LibTorch
// against the same model and step in Python PyTorch (kernels/bench/train_step.py),
// at every split of the cores between LibTorch's intra-op threads and OpenBLAS's
// threads. Each measurement is a fresh process (thread pools are sized once),
// C++ and Python interleaved so that both see the same load.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dist2::bench {

struct TrainBenchOptions {
  int64_t n_layer = 4, d_model = 128, n_head = 4, context = 64, batch = 32;
  int steps = 20, warmup = 5;  // timed steps per process, after untimed ones
  int repeat = 3;              // processes per (side, split); the median of their medians is reported
  bool quick = false;          // 1 layer, width 32, batch 8, 3 steps: seconds, for tests
  bool python = true;
  uint64_t seed = 0;
  // (intra-op threads, BLAS threads) to measure; empty: every pair in 1..cores.
  std::vector<std::pair<int, int>> splits;
  // > 1: also the data-parallel step (dist2 train --nproc) with this many ranks
  // of 1 x 1 threads each, the global batch split between them (C++ only).
  int ranks = 1;
};

// One process's measurement of one split.
struct StepTiming {
  double ms_median = 0, ms_min = 0;
  double tokens_per_s = 0;  // batch * context / median step time
  double peak_rss_mb = 0;   // the process's resident-set high-water mark
  int64_t params = 0;
};

struct SplitResult {
  int intra = 1, blas = 1;
  std::vector<StepTiming> cpp, python;  // one per repeat; python empty when skipped or failed
  double cpp_ms() const;                // median over repeats (NaN when none)
  double python_ms() const;
  double cpp_tokens_per_s() const;
  double python_tokens_per_s() const;
  double cpp_peak_mb() const;
  double python_peak_mb() const;
};

struct TrainBenchReport {
  TrainBenchOptions options;
  int64_t vocab = 0, params = 0;
  int64_t python_params = 0;  // the peer's count: equal to params when it built the same model
  int cores = 0;
  std::string cpu;
  std::string python;  // the peer's interpreter and torch, or why it was skipped
  std::vector<SplitResult> splits;
  // At C++'s best split, when this process runs with dist2's malloc setting
  // (util/allocator.h): C++ under glibc's default and Python under dist2's
  // setting, one per repeat (the table's cells are dist2's and glibc's default).
  std::pair<int, int> allocator_split{0, 0};
  std::vector<StepTiming> cpp_default_malloc, python_dist2_malloc;
  double cpp_default_malloc_ms() const;
  double python_dist2_malloc_ms() const;
  // At C++'s best split, when dist2 raised OpenBLAS's kernels (util/blas_kernels.h):
  // C++ on the core OpenBLAS chose itself, one per repeat.
  std::string blas_core, blas_raised_from;  // the core the measurements ran on; OpenBLAS's own ("" = the same)
  std::vector<StepTiming> cpp_openblas_core;
  double cpp_openblas_core_ms() const;
  std::vector<StepTiming> ranked;  // the data-parallel step, one per repeat (rank 0's timing)
  double ranked_ms() const;
  double ranked_tokens_per_s() const;
  // The best split of each side by tokens/s (index into splits; -1 when none).
  int best_cpp() const;
  int best_python() const;
};

// For each core budget n in 1..cores: the measured split with both counts <= n
// that trained fastest in C++ (what `--threads n` then uses, see util/threads.h).
std::map<int, std::pair<int, int>> best_split_by_cores(const TrainBenchReport& r);

// The regression model's vocabulary (digit tokenization) and shape, as `dist2
// train experiments/table11_regression.yaml model.n_layer=4 model.d_model=128` builds it.
int64_t regression_vocab();

// In this process: sets the split, builds the model, runs warmup + steps timed
// steps. Under RANK / WORLD_SIZE (the data-parallel measurement) it is one rank:
// its shard of the batch, gradients summed across ranks.
StepTiming measure_cpp_step(const TrainBenchOptions& opt, int intra, int blas);

// Every split, C++ in child processes of `self_exe` (`bench train --one-split`), Python through the peer.
TrainBenchReport run_train_bench(const TrainBenchOptions& opt, const std::string& self_exe);

std::string to_table(const TrainBenchReport& r);
std::string to_json(const TrainBenchReport& r);
std::string to_json(const StepTiming& t);
StepTiming step_timing_from_json(const std::string& process_output);  // NaN times when it printed none

}  // namespace dist2::bench
