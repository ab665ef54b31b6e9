#include "dist2/bench/train_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <torch/torch.h>

#include "dist2/bench/harness.h"
#include "dist2/model/gpt.h"
#include "dist2/train/distributed.h"
#include "dist2/train/schema.h"
#include "dist2/util/allocator.h"
#include "dist2/util/blas_kernels.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"
#include "dist2/util/process.h"
#include "dist2/util/threads.h"

namespace dist2::bench {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename F>
double median_of(const std::vector<StepTiming>& ts, F field) {
  std::vector<double> xs;
  for (const auto& t : ts) xs.push_back(field(t));
  return median(xs);
}

TrainBenchOptions resolved(TrainBenchOptions o) {
  if (o.quick) {
    o.n_layer = 1, o.d_model = 32, o.n_head = 2, o.context = 16, o.batch = 8;
    o.steps = 3, o.warmup = 1, o.repeat = 1;
  }
  DIST2_CHECK(o.d_model % o.n_head == 0, "--d-model ({}) must be a multiple of --n-head ({})", o.d_model, o.n_head);
  DIST2_CHECK(o.steps >= 1 && o.warmup >= 0 && o.repeat >= 1, "--steps and --repeat must be >= 1, --warmup >= 0");
  return o;
}

// The options a child process or the peer needs, as flags both understand.
std::vector<std::string> size_args(const TrainBenchOptions& o) {
  std::vector<std::string> args;
  for (const auto& [flag, value] : std::vector<std::pair<const char*, int64_t>>{
           {"--n-layer", o.n_layer}, {"--d-model", o.d_model}, {"--n-head", o.n_head}, {"--context", o.context},
           {"--batch", o.batch}, {"--steps", o.steps}, {"--warmup", o.warmup},
           {"--seed", static_cast<int64_t>(o.seed)}})
    args.insert(args.end(), {flag, std::to_string(value)});
  return args;
}

std::string size_flags(const TrainBenchOptions& o) {
  std::string out;
  for (const auto& a : size_args(o)) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::vector<std::pair<int, int>> splits_of(const TrainBenchOptions& o, int cores) {
  if (!o.splits.empty()) return o.splits;
  std::vector<std::pair<int, int>> all;
  for (int intra = 1; intra <= cores; ++intra)
    for (int blas = 1; blas <= cores; ++blas) all.emplace_back(intra, blas);
  return all;
}

StepTiming run_cpp_child(const std::string& self, const TrainBenchOptions& o, int intra, int blas,
                         const std::string& env = "") {
  const std::string cmd = fmt::format("{}{} bench train --one-split {},{} {} 2>&1", env, shell_quote(self), intra, blas,
                                      size_flags(o));
  const Shell r = run_shell(cmd);
  const StepTiming t = step_timing_from_json(r.out);
  DIST2_CHECK(r.status == 0 && !std::isnan(t.ms_median), "bench train: the measuring process failed ({}): {}", cmd,
              r.out.substr(0, 300));
  return t;
}

// NaN timings when the peer fails (said on stderr): the table shows a dash.
StepTiming run_python(const PythonPeer& peer, const TrainBenchOptions& o, int64_t vocab, int intra, int blas,
                      const std::string& env = "") {
  const std::string cmd = fmt::format("{}{} {} --vocab {} {} --intra-threads {} --blas-threads {} 2>&1", env,
                                      shell_quote(peer.exe), shell_quote(peer.script), vocab, size_flags(o), intra, blas);
  const Shell r = run_shell(cmd);
  const StepTiming t = step_timing_from_json(r.out);
  if (r.status != 0 || std::isnan(t.ms_median))
    fmt::print(stderr, "dist2 bench train: the Python peer failed ({}): {}\n", cmd, r.out.substr(0, 300));
  return t;
}

// The data-parallel step: ranks 1..N-1 as children, rank 0 timed through the shell.
StepTiming run_ranked(const std::string& self, const TrainBenchOptions& o) {
  const int port = free_local_port();
  auto env = [&](int r) {
    return std::vector<std::pair<std::string, std::string>>{{"RANK", std::to_string(r)},
                                                            {"WORLD_SIZE", std::to_string(o.ranks)},
                                                            {"MASTER_ADDR", "127.0.0.1"},
                                                            {"MASTER_PORT", std::to_string(port)}};
  };
  std::vector<pid_t> others;
  for (int r = 1; r < o.ranks; ++r) {
    std::vector<std::string> args{self, "bench", "train", "--one-split", "1,1"};
    const auto sizes = size_args(o);
    args.insert(args.end(), sizes.begin(), sizes.end());
    others.push_back(spawn_child(args, env(r), "/dev/null"));
  }
  std::string prefix;
  for (const auto& [k, v] : env(0)) prefix += k + "=" + v + " ";
  StepTiming t;
  try {
    t = run_cpp_child(self, o, 1, 1, prefix);
  } catch (...) {
    for (pid_t p : others) ::kill(p, SIGTERM), ::waitpid(p, nullptr, 0);
    throw;
  }
  for (pid_t p : others) ::waitpid(p, nullptr, 0);
  return t;
}

std::string num(double x, int digits = 1) { return std::isnan(x) ? "–" : fmt::format("{:.{}f}", x, digits); }

}  // namespace

double TrainBenchReport::cpp_default_malloc_ms() const {
  return median_of(cpp_default_malloc, [](const StepTiming& t) { return t.ms_median; });
}
double TrainBenchReport::python_dist2_malloc_ms() const {
  return median_of(python_dist2_malloc, [](const StepTiming& t) { return t.ms_median; });
}
double TrainBenchReport::cpp_openblas_core_ms() const {
  return median_of(cpp_openblas_core, [](const StepTiming& t) { return t.ms_median; });
}
double TrainBenchReport::ranked_ms() const { return median_of(ranked, [](const StepTiming& t) { return t.ms_median; }); }
double TrainBenchReport::ranked_tokens_per_s() const {
  return median_of(ranked, [](const StepTiming& t) { return t.tokens_per_s; });
}

double SplitResult::cpp_ms() const { return median_of(cpp, [](const StepTiming& t) { return t.ms_median; }); }
double SplitResult::python_ms() const { return median_of(python, [](const StepTiming& t) { return t.ms_median; }); }
double SplitResult::cpp_tokens_per_s() const {
  return median_of(cpp, [](const StepTiming& t) { return t.tokens_per_s; });
}
double SplitResult::python_tokens_per_s() const {
  return median_of(python, [](const StepTiming& t) { return t.tokens_per_s; });
}
double SplitResult::cpp_peak_mb() const { return median_of(cpp, [](const StepTiming& t) { return t.peak_rss_mb; }); }
double SplitResult::python_peak_mb() const {
  return median_of(python, [](const StepTiming& t) { return t.peak_rss_mb; });
}

namespace {
template <typename F>
int best_by(const std::vector<SplitResult>& splits, F tokens_per_s) {
  int best = -1;
  for (size_t i = 0; i < splits.size(); ++i) {
    const double v = tokens_per_s(splits[i]);
    if (!std::isnan(v) && (best < 0 || v > tokens_per_s(splits[static_cast<size_t>(best)]))) best = static_cast<int>(i);
  }
  return best;
}
}  // namespace

int TrainBenchReport::best_cpp() const {
  return best_by(splits, [](const SplitResult& s) { return s.cpp_tokens_per_s(); });
}
int TrainBenchReport::best_python() const {
  return best_by(splits, [](const SplitResult& s) { return s.python_tokens_per_s(); });
}

std::map<int, std::pair<int, int>> best_split_by_cores(const TrainBenchReport& r) {
  std::map<int, std::pair<int, int>> best;
  for (int n = 1; n <= r.cores; ++n) {
    double best_tps = 0;
    for (const SplitResult& s : r.splits) {
      const double tps = s.cpp_tokens_per_s();
      if (s.intra <= n && s.blas <= n && !std::isnan(tps) && tps > best_tps) best_tps = tps, best[n] = {s.intra, s.blas};
    }
  }
  return best;
}

int64_t regression_vocab() {
  config::Config cfg(experiment_schema("regression"));
  return tokenizer_for(cfg).vocab_size();
}

StepTiming measure_cpp_step(const TrainBenchOptions& o_in, int intra, int blas) {
  const TrainBenchOptions o = resolved(o_in);
  set_thread_split(intra, blas);
  torch::manual_seed(o.seed);
  GptOptions g;
  g.vocab_size = regression_vocab();
  g.context = o.context;
  g.n_layer = o.n_layer;
  g.d_model = o.d_model;
  g.n_head = o.n_head;
  Gpt model(g);
  model->train();
  // trainer.cpp's optimizer and clipping; a plain cross-entropy over every position.
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.01));
  auto ids = torch::randint(g.vocab_size, {o.batch, o.context}, torch::kInt64);
  auto targets = torch::randint(g.vocab_size, {o.batch, o.context}, torch::kInt64);
  const Rendezvous rz = rendezvous_from_env();
  std::unique_ptr<ProcessGroup> pg;
  if (rz.world > 1) {  // one rank: its rows of the batch, the gradients summed (dist2 train --nproc)
    pg = ProcessGroup::connect(rz, std::chrono::seconds(120));
    broadcast_parameters(*pg, model->parameters());
    const auto [begin, end] = shard_range(o.batch, rz.rank, rz.world);
    ids = ids.slice(0, begin, end);
    targets = targets.slice(0, begin, end);
  }
  const double share = static_cast<double>(ids.size(0)) / static_cast<double>(o.batch);
  auto step = [&] {
    optimizer.zero_grad();
    auto logits = model->forward(ids, {});
    auto loss = torch::nn::functional::cross_entropy(logits.view({-1, g.vocab_size}), targets.reshape({-1}));
    if (pg) loss = loss * share;  // a shard's share of the global mean
    loss.backward();
    if (pg) allreduce_gradients(*pg, model->parameters());
    torch::nn::utils::clip_grad_norm_(model->parameters(), 1.0);
    optimizer.step();
    return loss.item<double>();  // as the trainer reads it every step
  };
  for (int i = 0; i < o.warmup; ++i) step();
  std::vector<double> ms;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  StepTiming t;
  t.ms_median = median(ms);
  t.ms_min = *std::min_element(ms.begin(), ms.end());
  t.tokens_per_s = static_cast<double>(o.batch * o.context) / (t.ms_median / 1e3);
  t.peak_rss_mb = process_status_bytes("VmHWM") / (1024.0 * 1024.0);
  t.params = model->parameter_count();
  return t;
}

namespace {
// At C++'s best split: C++ under glibc's default malloc and the Python peer
// under dist2's malloc setting (util/allocator.h), so that the table's two
// sides can also be compared with the allocator held equal.
void measure_allocators(TrainBenchReport& r, const PythonPeer& peer, const std::string& self_exe) {
  const int best = r.best_cpp();
  if (best < 0 || allocator_setting() != "dist2") return;  // nothing to compare against
  const SplitResult& s = r.splits[static_cast<size_t>(best)];
  r.allocator_split = {s.intra, s.blas};
  for (int rep = 0; rep < r.options.repeat; ++rep) {
    r.cpp_default_malloc.push_back(run_cpp_child(self_exe, r.options, s.intra, s.blas, "DIST2_MALLOC=default "));
    if (peer.exe.empty()) continue;
    const StepTiming p = run_python(peer, r.options, r.vocab, s.intra, s.blas, allocator_env_prefix());
    if (!std::isnan(p.ms_median)) r.python_dist2_malloc.push_back(p);
  }
}

// At C++'s best split: C++ on the kernels OpenBLAS chose itself, when dist2
// asked it for better ones (util/blas_kernels.h).
void measure_blas_cores(TrainBenchReport& r, const std::string& self_exe) {
  const int best = r.best_cpp();
  if (best < 0 || r.blas_raised_from.empty()) return;
  const SplitResult& s = r.splits[static_cast<size_t>(best)];
  for (int rep = 0; rep < r.options.repeat; ++rep)
    r.cpp_openblas_core.push_back(run_cpp_child(self_exe, r.options, s.intra, s.blas, openblas_own_core_env_prefix()));
}
}  // namespace

TrainBenchReport run_train_bench(const TrainBenchOptions& opt_in, const std::string& self_exe) {
  TrainBenchReport r;
  r.options = resolved(opt_in);
  const TrainBenchOptions& o = r.options;
  r.vocab = regression_vocab();
  r.cores = machine_cores();
  r.cpu = cpu_model();
  r.blas_core = blas_core();
  r.blas_raised_from = blas_core_raised_from();
  const PythonPeer peer = o.python ? find_python_peer("train_step.py") : PythonPeer{{}, {}, "skipped (--no-python)"};
  r.python = peer.version;
  for (const auto& [intra, blas] : splits_of(o, r.cores)) {
    DIST2_CHECK(intra >= 1 && blas >= 1, "thread counts must be >= 1, got {}x{}", intra, blas);
    r.splits.push_back(SplitResult{intra, blas, {}, {}});
  }
  const size_t total = r.splits.size() * static_cast<size_t>(o.repeat);
  size_t done = 0;
  // Repeats outermost and the two sides back to back: slow periods of a shared
  // machine fall on both sides alike.
  for (int rep = 0; rep < o.repeat; ++rep)
    for (SplitResult& s : r.splits) {
      const StepTiming c = run_cpp_child(self_exe, o, s.intra, s.blas);
      s.cpp.push_back(c);
      r.params = c.params;
      std::string py = "";
      if (!peer.exe.empty()) {
        const StepTiming p = run_python(peer, o, r.vocab, s.intra, s.blas);
        if (!std::isnan(p.ms_median)) s.python.push_back(p), r.python_params = p.params;
        py = fmt::format(", Python {} ms", num(p.ms_median));
      }
      ++done;
      if (isatty(STDERR_FILENO))  // progress for a person; a pipe gets the table or JSON alone
        fmt::print(stderr, "bench train [{}/{}] intra {} x BLAS {}: C++ {} ms/step{}\n", done, total, s.intra, s.blas,
                 num(c.ms_median), py);
    }
  measure_allocators(r, peer, self_exe);
  measure_blas_cores(r, self_exe);
  if (o.ranks > 1)
    for (int rep = 0; rep < o.repeat; ++rep) r.ranked.push_back(run_ranked(self_exe, o));
  return r;
}

std::string to_table(const TrainBenchReport& r) {
  const TrainBenchOptions& o = r.options;
  std::string out = fmt::format(
      "dist2 bench train: the regression model's training step, GPT {} layers x {} ({} heads), vocabulary {}, "
      "{} parameters; batch {} x {} tokens; AdamW, clip 1.0, cross-entropy; median of {} timed steps after {}, "
      "median over {} processes per cell\n",
      o.n_layer, o.d_model, o.n_head, r.vocab, r.params, o.batch, o.context, o.steps, o.warmup, o.repeat);
  out += fmt::format("machine: {} x {} cores; Python peer: {}; malloc: C++ {}, Python glibc's default\n\n", r.cpu,
                     r.cores, r.python, allocator_setting() == "dist2" ? "dist2's setting" : allocator_setting());
  out += "| intra x BLAS threads | C++ ms/step | Python ms/step | C++ tokens/s | Python tokens/s | C++ / Python | C++ peak MiB | Python peak MiB |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const SplitResult& s : r.splits)
    out += fmt::format("| {} x {} | {} | {} | {} | {} | {} | {} | {} |\n", s.intra, s.blas, num(s.cpp_ms()),
                       num(s.python_ms()), num(s.cpp_tokens_per_s(), 0), num(s.python_tokens_per_s(), 0),
                       num(s.cpp_tokens_per_s() / s.python_tokens_per_s(), 2), num(s.cpp_peak_mb(), 0),
                       num(s.python_peak_mb(), 0));
  const int bc = r.best_cpp(), bp = r.best_python();
  if (bc >= 0) {
    const SplitResult& c = r.splits[static_cast<size_t>(bc)];
    out += fmt::format("\nbest C++: intra {} x BLAS {}, {} tokens/s", c.intra, c.blas, num(c.cpp_tokens_per_s(), 0));
    if (bp >= 0) {
      const SplitResult& p = r.splits[static_cast<size_t>(bp)];
      out += fmt::format("; best Python: intra {} x BLAS {}, {} tokens/s; best against best: {}x (target >= 1.25x)",
                         p.intra, p.blas, num(p.python_tokens_per_s(), 0),
                         num(c.cpp_tokens_per_s() / p.python_tokens_per_s(), 2));
    }
    out += "\n";
  }
  if (!r.cpp_default_malloc.empty()) {
    const auto [intra, blas] = r.allocator_split;
    const SplitResult& b = r.splits[static_cast<size_t>(bc)];
    out += fmt::format("malloc at intra {} x BLAS {}: C++ {} ms/step with dist2's setting, {} with glibc's default "
                       "({}x); Python {} ms/step with glibc's default, {} with dist2's setting ({}x); C++ / Python "
                       "with dist2's setting on both: {}x\n",
                       intra, blas, num(b.cpp_ms()), num(r.cpp_default_malloc_ms()),
                       num(r.cpp_default_malloc_ms() / b.cpp_ms(), 2), num(b.python_ms()),
                       num(r.python_dist2_malloc_ms()), num(b.python_ms() / r.python_dist2_malloc_ms(), 2),
                       num(r.python_dist2_malloc_ms() / b.cpp_ms(), 2));
  }
  if (!r.cpp_openblas_core.empty()) {
    const SplitResult& b = r.splits[static_cast<size_t>(bc)];
    out += fmt::format("BLAS kernels at intra {} x BLAS {}: C++ {} ms/step on {} (dist2's choice), {} on {} "
                       "(OpenBLAS's own; {}x)\n",
                       b.intra, b.blas, num(b.cpp_ms()), r.blas_core, num(r.cpp_openblas_core_ms()),
                       r.blas_raised_from, num(r.cpp_openblas_core_ms() / b.cpp_ms(), 2));
  }
  if (!r.ranked.empty())
    out += fmt::format("data-parallel: {} ranks of 1 x 1 threads sharing the {} sequences of a step (C++ only): {} "
                       "ms/step, {} tokens/s\n",
                       o.ranks, o.batch, num(r.ranked_ms()), num(r.ranked_tokens_per_s(), 0));
  return out;
}

std::string to_json(const StepTiming& t) {
  const json::Json j = {{"ms_per_step_median", t.ms_median},
                        {"ms_per_step_min", t.ms_min},
                        {"tokens_per_s", t.tokens_per_s},
                        {"peak_rss_mb", t.peak_rss_mb},
                        {"params", t.params}};
  return json::dump(j);
}

StepTiming step_timing_from_json(const std::string& process_output) {
  const json::Json j = last_json_line(process_output);
  auto field = [&](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
  };
  StepTiming t;
  t.ms_median = field("ms_per_step_median");
  t.ms_min = field("ms_per_step_min");
  t.tokens_per_s = field("tokens_per_s");
  t.peak_rss_mb = field("peak_rss_mb");
  const double params = field("params");
  t.params = std::isnan(params) ? 0 : static_cast<int64_t>(params);
  return t;
}

std::string to_json(const TrainBenchReport& r) {
  const TrainBenchOptions& o = r.options;
  auto or_null = [](double x) { return std::isnan(x) ? json::Json() : json::Json(x); };
  json::Json splits = json::Json::array();
  for (const SplitResult& s : r.splits) {
    json::Json cpp = json::Json::array(), py = json::Json::array();
    for (const auto& t : s.cpp) cpp.push_back(t.ms_median);
    for (const auto& t : s.python) py.push_back(t.ms_median);
    splits.push_back({{"intra_threads", s.intra},
                      {"blas_threads", s.blas},
                      {"cpp_ms_per_step", or_null(s.cpp_ms())},
                      {"python_ms_per_step", or_null(s.python_ms())},
                      {"cpp_tokens_per_s", or_null(s.cpp_tokens_per_s())},
                      {"python_tokens_per_s", or_null(s.python_tokens_per_s())},
                      {"cpp_peak_rss_mb", or_null(s.cpp_peak_mb())},
                      {"python_peak_rss_mb", or_null(s.python_peak_mb())},
                      {"cpp_ms_per_process", cpp},
                      {"python_ms_per_process", py}});
  }
  const int bc = r.best_cpp(), bp = r.best_python();
  const double ratio = bc >= 0 && bp >= 0 ? r.splits[static_cast<size_t>(bc)].cpp_tokens_per_s() /
                                                r.splits[static_cast<size_t>(bp)].python_tokens_per_s()
                                          : kNaN;
  const json::Json j = {{"model", {{"n_layer", o.n_layer}, {"d_model", o.d_model}, {"n_head", o.n_head},
                                   {"vocab", r.vocab}, {"params", r.params}, {"python_params", r.python_params}}},
                        {"batch", o.batch},
                        {"context", o.context},
                        {"steps", o.steps},
                        {"warmup", o.warmup},
                        {"repeat", o.repeat},
                        {"cpu", r.cpu},
                        {"cores", r.cores},
                        {"python", r.python},
                        {"splits", splits},
                        {"best_cpp", bc >= 0 ? json::Json({r.splits[static_cast<size_t>(bc)].intra,
                                                           r.splits[static_cast<size_t>(bc)].blas})
                                             : json::Json()},
                        {"best_python", bp >= 0 ? json::Json({r.splits[static_cast<size_t>(bp)].intra,
                                                              r.splits[static_cast<size_t>(bp)].blas})
                                                : json::Json()},
                        {"best_ratio", or_null(ratio)},
                        {"allocator", allocator_setting()},
                        {"malloc_split", r.cpp_default_malloc.empty()
                                             ? json::Json()
                                             : json::Json({r.allocator_split.first, r.allocator_split.second})},
                        {"cpp_default_malloc_ms_per_step", or_null(r.cpp_default_malloc_ms())},
                        {"python_dist2_malloc_ms_per_step", or_null(r.python_dist2_malloc_ms())},
                        {"blas_core", r.blas_core},
                        {"blas_core_openblas", r.blas_raised_from.empty() ? r.blas_core : r.blas_raised_from},
                        {"cpp_openblas_core_ms_per_step", or_null(r.cpp_openblas_core_ms())},
                        {"ranks", o.ranks},
                        {"ranks_cpp_ms_per_step", or_null(r.ranked_ms())},
                        {"ranks_cpp_tokens_per_s", or_null(r.ranked_tokens_per_s())}};
  return json::dump(j, 2);
}

}  // namespace dist2::bench
