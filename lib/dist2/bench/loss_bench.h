#pragma once
// `dist2 bench loss`: the fused DIST² loss against the composed LibTorch
// reference (and Python PyTorch where installed), fwd+bwd, with the copy
// bandwidth floor and the peak extra memory of each, measured in one run.
#include <cstdint>
#include <string>
#include <vector>

#include "dist2/loss/metric.h"

namespace dist2::bench {

struct LossBenchOptions {
  int64_t n = 4096;           // rows (positions); --quick uses 64
  int repeat = 5;             // timed runs per measurement, after one warm-up
  bool quick = false;         // small sizes, for tests
  std::string device = "auto";  // cpu | cuda | auto (cuda when available)
  bool python = true;         // time the Python PyTorch peer when torch imports
  uint64_t seed = 0;
  std::string filter;         // run only the cases whose name contains this
};

struct LossBenchCase {
  std::string name;
  int64_t n = 0, v = 0, m = 0;
  MetricKind metric = MetricKind::squared;
  int64_t dim = 0;  // codebook width (embedding metrics)
};

// Times are medians in seconds; bytes per call are logits read + gradient
// written; peaks are bytes above what was allocated before the call (the
// gradient included). NaN where not measured.
struct LossBenchResult {
  LossBenchCase c;
  double bytes = 0;
  double composed_s = 0, fused_s = 0, fused_kernel_s = 0, fused_in_place_s = 0, copy_s = 0;
  double fresh_alloc_s = 0;  // allocating and first writing an N x V tensor (what a fresh gradient costs)
  double composed_peak = 0, fused_peak = 0, fused_in_place_peak = 0;
  double python_s = 0, python_peak = 0;
  double loss_rel_diff = 0;  // |fused - composed| / |composed| on the same logits
  double speedup() const { return composed_s / fused_s; }
  double fused_gbps() const { return bytes / fused_kernel_s / 1e9; }
  double copy_gbps() const { return bytes / copy_s / 1e9; }
  double floor_ratio() const { return fused_kernel_s / copy_s; }
};

struct LossBenchReport {
  std::string device;        // "cpu" or "cuda"
  std::string device_name;   // CPU model or GPU name
  std::string isa;           // the CPU kernel's vector path
  int threads = 1;
  int64_t n = 0;
  int repeat = 0;
  bool quick = false;
  std::string memory_method;
  std::string python;        // "python3 3.11.2, torch 1.13.0" or why it was skipped
  std::vector<LossBenchResult> results;
};

std::vector<LossBenchCase> loss_bench_cases(const LossBenchOptions& opt);
LossBenchReport run_loss_bench(const LossBenchOptions& opt);

std::string to_json(const LossBenchReport& report);
std::string to_table(const LossBenchReport& report);  // Markdown

// `dist2 bench loss --fused-linear`: one training step's loss from the final
// hidden states H [N, d] and the output weight W [V, d], fwd+bwd (gradients of
// H and W), three ways: the composed LibTorch loss (logits = H W^T, then the
// reference loss), the composed path (logits, then the fused loss) and the
// fused linear loss (chunked; the logits are never held). Peaks are bytes above
// the resident set before the step (H, W and the inputs), the gradients included.
struct LinearBenchOptions {
  int64_t n = 4096, hidden = 512;
  int repeat = 3;
  bool quick = false;  // N = 64, d = 32, V = 1000
  uint64_t seed = 0;
  std::string filter;
};
struct LinearBenchResult {
  std::string name;
  int64_t n = 0, d = 0, v = 0, m = 0, chunk_rows = 0;
  double composed_libtorch_s = 0, composed_fused_s = 0, fused_linear_s = 0;
  double composed_libtorch_peak = 0, composed_fused_peak = 0, fused_linear_peak = 0;
  double loss_rel_diff = 0;  // |fused linear - composed| / |composed|, same inputs
};
struct LinearBenchReport {
  std::string device_name, memory_method;
  int threads = 1, repeat = 0;
  std::vector<LinearBenchResult> results;
};
LinearBenchReport run_linear_bench(const LinearBenchOptions& opt);
std::string to_json(const LinearBenchReport& report);
std::string to_table(const LinearBenchReport& report);  // Markdown

}  // namespace dist2::bench
