#include "dist2/bench/loss_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <torch/torch.h>

#include "dist2/bench/harness.h"
#include "dist2/loss/fused.h"
#include "dist2/loss/fused_linear.h"
#include "dist2/loss/loss.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"
#include "dist2/util/threads.h"
#include "kernels/cpu/vec_ops.h"

#ifdef DIST2_WITH_CUDA
#include "kernels/cuda/device_info.h"
#include "kernels/cuda/timer.h"
// Debian ships the c10/cuda headers without the generated config: check both.
// DIST2_NO_CUDA_ALLOCATOR_STATS opts out, should a LibTorch change this API.
#if __has_include(<c10/cuda/CUDACachingAllocator.h>) && __has_include(<c10/cuda/impl/cuda_cmake_macros.h>) && \
    !defined(DIST2_NO_CUDA_ALLOCATOR_STATS)
#include <c10/cuda/CUDACachingAllocator.h>
#define DIST2_HAVE_CUDA_ALLOCATOR_STATS 1
#endif
#endif

namespace dist2::bench {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- devices: synchronisation, names, copy floor ----

bool cuda_usable() {
#ifdef DIST2_WITH_CUDA
  return torch::cuda::is_available() && dist2::cuda::device_count() > 0;
#else
  return false;
#endif
}

void synchronize(const torch::Device& device) {
#ifdef DIST2_WITH_CUDA
  if (device.is_cuda()) dist2::cuda::synchronize();
#else
  (void)device;
#endif
}

// Wall-clock seconds of fn() with the device synchronised around it (CUDA
// events would give the same numbers for these long, single-stream calls).
template <class Fn>
double seconds(const torch::Device& device, Fn&& fn) {
  synchronize(device);
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  synchronize(device);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Seconds of the device work fn() queues: CUDA events around it on the
// default stream, or the wall clock on the CPU (where fn() is synchronous).
template <class Fn>
double device_seconds(const torch::Device& device, Fn&& fn) {
#ifdef DIST2_WITH_CUDA
  if (device.is_cuda()) {
    synchronize(device);
    dist2::cuda::EventTimer timer;
    timer.start();
    fn();
    return timer.stop();
  }
#endif
  return seconds(device, fn);
}

// ---- peak extra memory ----

// CPU: the rise of the resident-set high-water mark (VmHWM, reset through
// /proc/self/clear_refs) over the resident set at the reset. CUDA: the caching
// allocator's peak of allocated bytes over the allocated bytes at the reset.
class PeakMemory {
 public:
  explicit PeakMemory(const torch::Device& device) : device_(device) {}

  static std::string method(const torch::Device& device) {
    if (device.is_cuda()) {
#ifdef DIST2_HAVE_CUDA_ALLOCATOR_STATS
      return "CUDA caching allocator: peak allocated bytes above the bytes allocated before the call";
#else
      return "not measured (LibTorch without CUDA allocator headers)";
#endif
    }
    return "process RSS high-water mark (VmHWM, reset via /proc/self/clear_refs) above the RSS before the call";
  }

  void reset() {
    synchronize(device_);
    if (device_.is_cuda()) {
#ifdef DIST2_HAVE_CUDA_ALLOCATOR_STATS
      namespace alloc = c10::cuda::CUDACachingAllocator;
      alloc::resetPeakStats(device_.index() < 0 ? 0 : device_.index());
      base_ = static_cast<double>(alloc::getDeviceStats(device_.index() < 0 ? 0 : device_.index())
                                      .allocated_bytes[0].current);
#endif
      return;
    }
    std::ofstream("/proc/self/clear_refs") << "5";
    base_ = process_status_bytes("VmRSS");
  }

  double peak() const {
    synchronize(device_);
    if (device_.is_cuda()) {
#ifdef DIST2_HAVE_CUDA_ALLOCATOR_STATS
      namespace alloc = c10::cuda::CUDACachingAllocator;
      return static_cast<double>(
                 alloc::getDeviceStats(device_.index() < 0 ? 0 : device_.index()).allocated_bytes[0].peak) -
             base_;
#else
      return kNaN;
#endif
    }
    return process_status_bytes("VmHWM") - base_;
  }

 private:
  torch::Device device_;
  double base_ = 0;
};

// ---- the inputs of one case ----

struct CaseInputs {
  LossBatch batch;
  MetricSpace metric;
  LossOptions options;
};

// V_d: a block of token ids in the middle of the vocabulary (all of it for a
// codebook), the same as the Python peer; targets half in V_d, half anywhere.
CaseInputs make_case_inputs(const LossBenchCase& c, const torch::Device& device, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t first = c.m < c.v ? (c.v - c.m) / 2 : 0;
  std::vector<int64_t> ids(static_cast<size_t>(c.m));
  for (int64_t k = 0; k < c.m; ++k) ids[static_cast<size_t>(k)] = first + k;
  std::vector<double> values(ids.size());
  for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<double>(k);
  MetricSpace metric = c.dim > 0 ? MetricSpace::embedding(ids, at::randn({c.m, c.dim}, gen, torch::kFloat64), c.metric)
                                 : MetricSpace::scalar(ids, values, c.metric);
  auto in_vd = torch::tensor(ids, torch::kInt64).index({at::randint(c.m, {c.n}, gen, torch::kInt64)});
  auto anywhere = at::randint(c.v, {c.n}, gen, torch::kInt64);
  auto targets = torch::where(at::rand({c.n}, gen) < 0.5, in_vd, anywhere);
  LossBatch batch;
  batch.targets = targets.to(device);
  batch.logits = torch::empty({c.n, c.v}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  LossOptions opt;
  opt.kind = LossKind::dist;
  opt.tau = 2.0;
  opt.alpha = 0.1;
  return {std::move(batch), std::move(metric), opt};
}

// Fresh random logits in place, outside the timed region.
void refresh(torch::Tensor& logits) {
  torch::NoGradGuard no_grad;
  logits.uniform_(-4.0, 4.0);
}

struct Measured {
  double seconds = kNaN, peak = kNaN;
};

// One warm-up and `repeat` timed calls of body(logits), each on fresh logits;
// medians of the times and of the peaks.
template <class Body>
Measured measure(CaseInputs& in, int repeat, Body&& body) {
  const torch::Device device = in.batch.logits.device();
  PeakMemory mem(device);
  std::vector<double> times, peaks;
  for (int i = 0; i <= repeat; ++i) {
    refresh(in.batch.logits);
    mem.reset();
    const double s = seconds(device, [&] { body(); });
    const double p = mem.peak();
    if (i == 0) continue;
    times.push_back(s);
    peaks.push_back(p);
  }
  return {median(times), median(peaks)};
}

// ---- the Python PyTorch peer ----

// The peer's last line is one JSON object; a field it lacks or leaves null is NaN.
Measured parse_peer_output(const std::string& out) {
  const json::Json j = last_json_line(out);
  auto field = [&](const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN; };
  if (!j.is_object()) return {};
  return {field("median_s"), field("peak_bytes")};
}

Measured run_python_peer(const PythonPeer& peer, const LossBenchCase& c, const torch::Device& device, int repeat,
                         uint64_t seed) {
  if (peer.exe.empty()) return {};
  const std::string cmd = fmt::format(
      "{} {} --n {} --v {} --m {} --metric {} --dim {} --repeat {} --threads {} --device {} --seed {}",
      shell_quote(peer.exe), shell_quote(peer.script), c.n, c.v, c.m, c.dim > 0 ? "mse" : "sq",
      std::max<int64_t>(1, c.dim), repeat, threads(), device.is_cuda() ? "cuda" : "cpu", seed);
  auto r = run_shell(cmd + " 2>&1");
  if (r.status != 0) {
    fmt::print(stderr, "dist2 bench: the Python peer failed ({}): {}\n", cmd, r.out);
    return {};
  }
  const Measured m = parse_peer_output(r.out);
  if (std::isnan(m.seconds)) fmt::print(stderr, "dist2 bench: the Python peer printed no timing ({}): {}\n", cmd, r.out);
  return m;
}

// ---- one case ----

LossBenchResult bench_case(const LossBenchCase& c, const torch::Device& device, const LossBenchOptions& opt,
                           const PythonPeer& peer) {
  LossBenchResult res;
  res.c = c;
  res.bytes = 2.0 * static_cast<double>(c.n) * static_cast<double>(c.v) * sizeof(float);
  CaseInputs in = make_case_inputs(c, device, opt.seed + 1);
  torch::Tensor& logits = in.batch.logits;
  auto with_leaf = [&] {
    LossBatch b = in.batch;
    b.logits = logits.detach().requires_grad_(true);
    return b;
  };

  // The Python peer first, while this process holds only the logits.
  const Measured py = run_python_peer(peer, c, device, opt.repeat, opt.seed + 2);
  res.python_s = py.seconds;
  res.python_peak = py.peak;

  // Same logits through both: the losses must agree.
  refresh(logits);
  {
    torch::NoGradGuard no_grad;
    const double ref = reference_loss(in.batch, in.metric, in.options).total.item<double>();
    const double got = fused_loss_forward(in.batch, in.metric, in.options).total.item<double>();
    res.loss_rel_diff = std::fabs(got - ref) / std::max(1e-30, std::fabs(ref));
  }

  const Measured composed = measure(in, opt.repeat, [&] {
    LossBatch b = with_leaf();
    reference_loss(b, in.metric, in.options).total.backward();
  });
  res.composed_s = composed.seconds;
  res.composed_peak = composed.peak;

  const Measured fused = measure(in, opt.repeat, [&] {
    LossBatch b = with_leaf();
    compute_loss(b, in.metric, in.options, LossImpl::fused).total.backward();
  });
  res.fused_s = fused.seconds;
  res.fused_peak = fused.peak;

  const Measured in_place = measure(in, opt.repeat, [&] {
    LossBatch b = with_leaf();
    FusedConfig config;
    config.grad_in_place = true;
    fused_loss(b, in.metric, in.options, config).total.backward();
  });
  res.fused_in_place_s = in_place.seconds;
  res.fused_in_place_peak = in_place.peak;

  // The kernel alone, prepared once and writing into a warm buffer: its
  // bandwidth against a copy of the same bytes (read N x V, write N x V).
  {
    torch::Tensor buffer = torch::empty_like(logits);
    buffer.fill_(0.0f);  // fault the pages in before timing
    FusedKernelLaunch kernel(in.batch, in.metric, in.options, buffer);
    std::vector<double> kernel_times, copies;
    for (int i = 0; i <= opt.repeat; ++i) {
      refresh(logits);
      const double s = device_seconds(device, [&] { kernel.launch(); });
      if (i > 0) kernel_times.push_back(s);
    }
    res.fused_kernel_s = median(kernel_times);
    std::vector<double> allocs;
    for (int i = 0; i <= opt.repeat; ++i) {
      const double s = device_seconds(device, [&] { torch::empty_like(logits).fill_(0.0f); });
      if (i > 0) allocs.push_back(s);
    }
    res.fresh_alloc_s = median(allocs);
#ifdef DIST2_WITH_CUDA
    if (device.is_cuda()) {
      res.copy_s = dist2::cuda::device_copy_seconds(static_cast<size_t>(res.bytes / 2), opt.repeat);
    } else
#endif
    {
      for (int i = 0; i <= opt.repeat; ++i) {
        const double s = device_seconds(device, [&] { buffer.copy_(logits); });
        if (i > 0) copies.push_back(s);
      }
      res.copy_s = median(copies);
    }
  }
  return res;
}

std::string gib(double bytes) { return std::isfinite(bytes) ? fmt::format("{:.2f}", bytes / (1024.0 * 1024 * 1024)) : "-"; }
std::string ms(double s) { return std::isfinite(s) ? fmt::format("{:.1f}", 1e3 * s) : "-"; }
std::string ratio(double r, const char* unit) { return std::isfinite(r) ? fmt::format("{:.2f}{}", r, unit) : "-"; }

}  // namespace

std::vector<LossBenchCase> loss_bench_cases(const LossBenchOptions& opt) {
  const int64_t n = opt.quick ? std::min<int64_t>(opt.n, 64) : opt.n;
  DIST2_CHECK(n >= 1, "--n must be >= 1, got {}", n);
  auto scalar = [&](int64_t v, int64_t m) {
    return LossBenchCase{fmt::format("V={} |V_d|={} sq", v, m), n, v, m, MetricKind::squared, 0};
  };
  auto codebook = [&](int64_t k, int64_t d) {
    return LossBenchCase{fmt::format("codebook K={} D={} mse", k, d), n, k, k, MetricKind::embedding_mse, d};
  };
  std::vector<LossBenchCase> all =
      opt.quick ? std::vector<LossBenchCase>{scalar(1000, 10), codebook(512, 8)}
                : std::vector<LossBenchCase>{scalar(32000, 10), scalar(32000, 1000), scalar(128256, 10),
                                             scalar(128256, 1000), codebook(16384, 8)};
  std::vector<LossBenchCase> picked;
  for (auto& c : all)
    if (c.name.find(opt.filter) != std::string::npos) picked.push_back(c);
  DIST2_CHECK(!picked.empty(), "--filter '{}' matches no case", opt.filter);
  return picked;
}

LossBenchReport run_loss_bench(const LossBenchOptions& opt) {
  DIST2_CHECK(opt.repeat >= 1, "--repeat must be >= 1, got {}", opt.repeat);
  DIST2_CHECK(opt.device == "cpu" || opt.device == "cuda" || opt.device == "auto",
              "--device must be cpu, cuda or auto, got '{}'", opt.device);
  const bool cuda = opt.device == "cuda" || (opt.device == "auto" && cuda_usable());
  DIST2_CHECK(!cuda || cuda_usable(), "--device cuda: no CUDA device (or dist2 was built without the CUDA kernels)");
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);

  LossBenchReport report;
  report.device = cuda ? "cuda" : "cpu";
  report.device_name = cpu_model();
#ifdef DIST2_WITH_CUDA
  if (cuda) report.device_name = dist2::cuda::device_name(0);
#endif
  report.isa = kernels::cpu::vec_isa();
  report.threads = threads();
  report.repeat = opt.repeat;
  report.quick = opt.quick;
  report.memory_method = PeakMemory::method(device);
  PythonPeer peer;
  if (opt.python) peer = find_python_peer("composed_loss.py");
  else peer.version = "skipped: --no-python";
  report.python = peer.version;
  for (const LossBenchCase& c : loss_bench_cases(opt)) {
    report.n = c.n;
    report.results.push_back(bench_case(c, device, opt, peer));
  }
  return report;
}

std::string to_json(const LossBenchReport& r) {
  json::Json cases = json::Json::array();
  for (const LossBenchResult& x : r.results)  // NaN (not measured) is written as null
    cases.push_back({{"name", x.c.name},
                     {"n", x.c.n},
                     {"v", x.c.v},
                     {"m", x.c.m},
                     {"metric", to_string(x.c.metric)},
                     {"dim", x.c.dim},
                     {"bytes", x.bytes},
                     {"composed_s", x.composed_s},
                     {"fused_s", x.fused_s},
                     {"speedup", x.speedup()},
                     {"fused_in_place_s", x.fused_in_place_s},
                     {"fused_kernel_s", x.fused_kernel_s},
                     {"fresh_alloc_s", x.fresh_alloc_s},
                     {"fused_gbps", x.fused_gbps()},
                     {"copy_s", x.copy_s},
                     {"copy_gbps", x.copy_gbps()},
                     {"floor_ratio", x.floor_ratio()},
                     {"composed_peak_bytes", x.composed_peak},
                     {"fused_peak_bytes", x.fused_peak},
                     {"fused_in_place_peak_bytes", x.fused_in_place_peak},
                     {"python_s", x.python_s},
                     {"python_peak_bytes", x.python_peak},
                     {"loss_rel_diff", x.loss_rel_diff}});
  const json::Json out = {{"bench", "loss"},
                          {"device", r.device},
                          {"device_name", r.device_name},
                          {"isa", r.isa},
                          {"threads", r.threads},
                          {"n", r.n},
                          {"repeat", r.repeat},
                          {"quick", r.quick},
                          {"loss", "dist, sq or codebook mse, tau 2, alpha 0.1, q subvocab, mean"},
                          {"memory_method", r.memory_method},
                          {"python", r.python},
                          {"cases", cases}};
  return json::dump(out, 2) + "\n";
}

std::string to_table(const LossBenchReport& r) {
  std::string out = fmt::format(
      "dist2 bench loss: {} ({}), {} thread(s), CPU vector path {}, N = {}, median of {} after a warm-up\n"
      "fwd+bwd of the DIST² loss (dist, tau 2, alpha 0.1, q subvocab, mean); times in ms, memory in GiB\n\n",
      r.device, r.device_name, r.threads, r.isa, r.n, r.repeat);
  out += "| case | composed | Python | fused | speedup | fused in place | kernel | fresh N x V | kernel GB/s | "
         "copy GB/s | kernel / copy | peak composed | peak Python | peak fused | peak in place |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const LossBenchResult& x : r.results)
    out += fmt::format(
        "| {} | {} | {} | {} | {:.1f}x | {} | {} | {} | {:.1f} | {:.1f} | {:.2f} | {} | {} | {} | {} |\n", x.c.name,
        ms(x.composed_s), ms(x.python_s), ms(x.fused_s), x.speedup(), ms(x.fused_in_place_s), ms(x.fused_kernel_s),
        ms(x.fresh_alloc_s), x.fused_gbps(), x.copy_gbps(), x.floor_ratio(), gib(x.composed_peak), gib(x.python_peak),
        gib(x.fused_peak), gib(x.fused_in_place_peak));
  out += fmt::format("\ncomposed: dist2::reference_loss + backward (LibTorch ops); Python: the same loss composed in "
                     "PyTorch (kernels/bench/composed_loss.py); fused: compute_loss(fused) + backward (a fresh "
                     "gradient); fused in place: the gradient over the logits; kernel: the fused launch alone into a "
                     "reused gradient buffer; fresh N x V: allocating and zero-filling one N x V tensor; copy: {} of "
                     "the same bytes.\npeak memory: {}.\nPython peer: {}.\n",
                     r.device == "cuda" ? "cudaMemcpy device to device" : "at::copy_ (read N x V, write N x V)",
                     r.memory_method, r.python);
  return out;
}

// ---- the fused linear loss ----

namespace {

struct LinearInputs {
  torch::Tensor hidden, weight;  // leaves that require grad
  CaseInputs loss;               // targets, V_d and options (its logits unused)
};

LinearInputs make_linear_inputs(const LossBenchCase& c, int64_t d, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  LinearInputs in{at::randn({c.n, d}, gen, torch::kFloat32).requires_grad_(),
                  (at::randn({c.v, d}, gen, torch::kFloat32) / std::sqrt(static_cast<double>(d))).requires_grad_(),
                  make_case_inputs(c, torch::Device(torch::kCPU), seed + 1)};
  in.loss.batch.logits = torch::Tensor();  // only the fused linear loss's own chunks hold logits
  return in;
}

// One warm-up and `repeat` timed steps, the parameters' gradients dropped
// before each (a training step after zero_grad(set_to_none)).
template <class Step>
Measured measure_step(LinearInputs& in, int repeat, Step&& step) {
  const torch::Device cpu(torch::kCPU);
  PeakMemory mem(cpu);
  std::vector<double> times, peaks;
  for (int i = 0; i <= repeat; ++i) {
    in.hidden.mutable_grad() = torch::Tensor();
    in.weight.mutable_grad() = torch::Tensor();
    mem.reset();
    const double s = seconds(cpu, [&] { step(); });
    const double p = mem.peak();
    if (i == 0) continue;
    times.push_back(s);
    peaks.push_back(p);
  }
  in.hidden.mutable_grad() = torch::Tensor();
  in.weight.mutable_grad() = torch::Tensor();
  return {median(times), median(peaks)};
}

LinearLossBatch linear_batch(const LinearInputs& in) { return linear_batch_of(in.hidden, in.weight, {}, in.loss.batch); }

LossBatch logits_batch(const LinearInputs& in) {
  LossBatch b = in.loss.batch;
  b.logits = torch::matmul(in.hidden, in.weight.t());
  return b;
}

LinearBenchResult bench_linear_case(const LossBenchCase& c, const LinearBenchOptions& opt) {
  LinearBenchResult r;
  r.name = c.name, r.n = c.n, r.d = opt.quick ? 32 : opt.hidden, r.v = c.v, r.m = c.m;
  r.chunk_rows = fused_linear_chunk_rows(c.n, c.v, sizeof(float), FusedLinearConfig{}.memory_budget_bytes);
  LinearInputs in = make_linear_inputs(c, r.d, opt.seed + 1);
  const MetricSpace& metric = in.loss.metric;
  const LossOptions& lo = in.loss.options;
  {
    torch::NoGradGuard no_grad;
    const double ref = reference_loss(logits_batch(in), metric, lo).total.item<double>();
    const double got = fused_linear_loss(linear_batch(in), metric, lo).total.item<double>();
    r.loss_rel_diff = std::fabs(got - ref) / std::max(1e-30, std::fabs(ref));
  }
  const Measured composed = measure_step(in, opt.repeat, [&] {
    reference_loss(logits_batch(in), metric, lo).total.backward();
  });
  const Measured fused = measure_step(in, opt.repeat, [&] {
    compute_loss(logits_batch(in), metric, lo, LossImpl::fused).total.backward();
  });
  const Measured linear = measure_step(in, opt.repeat, [&] {
    fused_linear_loss(linear_batch(in), metric, lo).total.backward();
  });
  r.composed_libtorch_s = composed.seconds, r.composed_libtorch_peak = composed.peak;
  r.composed_fused_s = fused.seconds, r.composed_fused_peak = fused.peak;
  r.fused_linear_s = linear.seconds, r.fused_linear_peak = linear.peak;
  return r;
}

}  // namespace

LinearBenchReport run_linear_bench(const LinearBenchOptions& opt) {
  DIST2_CHECK(opt.repeat >= 1, "--repeat must be >= 1, got {}", opt.repeat);
  DIST2_CHECK(opt.n >= 1 && opt.hidden >= 1, "--n and --hidden must be >= 1");
  LinearBenchReport report;
  report.device_name = cpu_model();
  report.memory_method = PeakMemory::method(torch::Device(torch::kCPU));
  report.threads = threads();
  report.repeat = opt.repeat;
  const int64_t n = opt.quick ? std::min<int64_t>(opt.n, 64) : opt.n;
  std::vector<LossBenchCase> cases;
  for (int64_t v : opt.quick ? std::vector<int64_t>{1000} : std::vector<int64_t>{32000, 128256})
    cases.push_back({fmt::format("V={} |V_d|={} sq", v, std::min<int64_t>(v, 1000) / (opt.quick ? 100 : 1)), n, v,
                     std::min<int64_t>(v, 1000) / (opt.quick ? 100 : 1), MetricKind::squared, 0});
  for (const auto& c : cases)
    if (c.name.find(opt.filter) != std::string::npos) report.results.push_back(bench_linear_case(c, opt));
  DIST2_CHECK(!report.results.empty(), "--filter '{}' matches no case", opt.filter);
  return report;
}

std::string to_json(const LinearBenchReport& r) {
  json::Json cases = json::Json::array();
  for (const auto& x : r.results)
    cases.push_back({{"name", x.name},
                     {"n", x.n},
                     {"hidden", x.d},
                     {"v", x.v},
                     {"m", x.m},
                     {"chunk_rows", x.chunk_rows},
                     {"composed_libtorch_s", x.composed_libtorch_s},
                     {"composed_fused_s", x.composed_fused_s},
                     {"fused_linear_s", x.fused_linear_s},
                     {"composed_libtorch_peak_bytes", x.composed_libtorch_peak},
                     {"composed_fused_peak_bytes", x.composed_fused_peak},
                     {"fused_linear_peak_bytes", x.fused_linear_peak},
                     {"loss_rel_diff", x.loss_rel_diff}});
  const json::Json out = {{"bench", "fused_linear"},
                          {"device", "cpu"},
                          {"device_name", r.device_name},
                          {"threads", r.threads},
                          {"repeat", r.repeat},
                          {"loss", "dist, sq, tau 2, alpha 0.1, q subvocab, mean"},
                          {"memory_method", r.memory_method},
                          {"cases", cases}};
  return json::dump(out, 2) + "\n";
}

std::string to_table(const LinearBenchReport& r) {
  std::string out = fmt::format(
      "dist2 bench loss --fused-linear: cpu ({}), {} thread(s), loss dist (tau 2, alpha 0.1), fwd+bwd of H [N, d] "
      "and W [V, d], median of {} after a warm-up\n\n"
      "| case | N | d | chunk | time composed LibTorch | time composed fused | time fused linear | linear / "
      "composed fused | peak composed LibTorch | peak composed fused | peak fused linear | composed fused / "
      "linear peak |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      r.device_name, r.threads, r.repeat);
  for (const auto& x : r.results)
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", x.name, x.n, x.d,
                       x.chunk_rows, ms(x.composed_libtorch_s), ms(x.composed_fused_s), ms(x.fused_linear_s),
                       ratio(x.fused_linear_s / x.composed_fused_s, ""), gib(x.composed_libtorch_peak),
                       gib(x.composed_fused_peak), gib(x.fused_linear_peak),
                       ratio(x.composed_fused_peak / x.fused_linear_peak, "x"));
  out += fmt::format("\ntimes in ms, peaks in GiB: {}; the gradients of H and W are part of every peak.\n",
                     r.memory_method);
  return out;
}

}  // namespace dist2::bench
