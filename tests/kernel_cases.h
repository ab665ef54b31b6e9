#pragma once
// One table of loss cases for every backend (reference, CPU-fused, CUDA-fused):
// each case says its shapes and options; make_inputs draws fresh random inputs
// for it; compare_to_reference runs the reference in float64 as the oracle.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "dist2/loss/fused.h"
#include "dist2/loss/loss.h"
#include "dist2/loss/metric.h"

namespace dist2::test {

enum class VdLayout { start, middle, end, scattered };

struct LossCase {
  int64_t n = 16, v = 100, m = 10;
  VdLayout layout = VdLayout::start;
  MetricKind metric = MetricKind::squared;
  LossKind kind = LossKind::dist;
  QNorm q = QNorm::subvocab;
  Reduction reduction = Reduction::mean;
  bool weights = false;      // random place weights, some zero
  bool mask = false;         // an explicit metric mask over part of the V_d targets
  bool ignored = true;       // some positions carry ignore_index
  bool all_ignored = false;  // every position does
  bool extreme = false;      // logits of +-1e4 in some rows
  bool contrastive = false;  // a contrastive candidate on most rows (dist only), one at infinite distance
  int64_t dim = 4;           // embedding width of codebook metrics
  torch::ScalarType dtype = torch::kFloat32;  // the logits' type on the device (CUDA); the inputs are rounded to it
  double tau = 2.0, alpha = 0.7, smoothing = 0.1;

  std::string name() const {
    const char* layouts[] = {"start", "middle", "end", "scattered"};
    return fmt::format("{} {} q={} {} N={} V={} M={} vd={}{}{}{}{}{}", to_string(kind), to_string(metric),
                       to_string(q), to_string(reduction), n, v, m, layouts[static_cast<int>(layout)],
                       weights ? " weights" : "", mask ? " mask" : "", ignored ? " ignored" : "",
                       all_ignored ? " all-ignored" : "", extreme ? " extreme" : "") +
           (contrastive ? " contrastive" : "") + (dtype != torch::kFloat32 ? " " + std::string(c10::toString(dtype)) : "");
  }
  LossOptions options() const {
    LossOptions o;
    o.kind = kind;
    o.q = q;
    o.reduction = reduction;
    o.tau = tau;
    o.alpha = alpha;
    o.smoothing = smoothing;
    return o;
  }
};

struct LossInputs {
  LossBatch batch;  // float32 logits on the CPU
  MetricSpace metric;
};

inline std::vector<int64_t> vd_ids(const LossCase& c, std::mt19937_64& rng) {
  std::vector<int64_t> ids(static_cast<size_t>(c.m));
  int64_t first = 0;
  switch (c.layout) {
    case VdLayout::start: first = 0; break;
    case VdLayout::middle: first = (c.v - c.m) / 2; break;
    case VdLayout::end: first = c.v - c.m; break;
    case VdLayout::scattered: {
      // Distinct ids spread over V in random order.
      std::vector<int64_t> all(static_cast<size_t>(c.v));
      for (int64_t i = 0; i < c.v; ++i) all[static_cast<size_t>(i)] = i;
      std::shuffle(all.begin(), all.end(), rng);
      return {all.begin(), all.begin() + c.m};
    }
  }
  for (int64_t k = 0; k < c.m; ++k) ids[static_cast<size_t>(k)] = first + k;
  return ids;
}

inline MetricSpace make_metric(const LossCase& c, std::vector<int64_t> ids, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<double> values(ids.size());
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unif(-3.0, 12.0);
  for (auto& x : values) x = unif(rng);
  switch (c.metric) {
    case MetricKind::squared:
    case MetricKind::absolute: return MetricSpace::scalar(std::move(ids), values, c.metric);
    case MetricKind::random: return MetricSpace::random(std::move(ids), values, seed);
    case MetricKind::permuted: return MetricSpace::permuted(std::move(ids), values, seed);
    case MetricKind::table: {
      auto d = at::rand({c.m, c.m}, gen, torch::kFloat64) * 5.0;
      return MetricSpace::table(std::move(ids), d);
    }
    case MetricKind::embedding_mse:
    case MetricKind::embedding_cosine:
      return MetricSpace::embedding(std::move(ids), at::randn({c.m, c.dim}, gen, torch::kFloat64), c.metric);
  }
  throw std::logic_error("unknown metric");
}

inline LossInputs make_inputs(const LossCase& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto gen = at::detail::createCPUGenerator(seed + 1);
  auto ids = vd_ids(c, rng);
  MetricSpace metric = make_metric(c, ids, seed + 2);
  LossBatch b;
  b.logits = at::randn({c.n, c.v}, gen, torch::kFloat32) * 3.0;
  std::vector<int64_t> targets(static_cast<size_t>(c.n));
  std::uniform_int_distribution<int64_t> any_token(0, c.v - 1), any_vd(0, c.m - 1);
  std::bernoulli_distribution coin(0.5), rare(0.2);
  for (auto& t : targets) {
    t = coin(rng) ? ids[static_cast<size_t>(any_vd(rng))] : any_token(rng);
    if (c.all_ignored || (c.ignored && rare(rng))) t = -100;
  }
  b.targets = torch::tensor(targets, torch::kInt64);
  if (c.extreme) {
    // Rows with one huge logit (sometimes the target), rows with -1e4 spread
    // over them, and a row where the target itself sits at -1e4.
    auto acc = b.logits.accessor<float, 2>();
    for (int64_t r = 0; r < c.n; ++r) {
      const int64_t t = targets[static_cast<size_t>(r)];
      switch (r % 4) {
        case 0: acc[r][any_token(rng)] = 1e4f; break;
        case 1: acc[r][t >= 0 ? t : 0] = 1e4f; break;
        case 2:
          for (int64_t j = 0; j < c.v; j += 3) acc[r][j] = -1e4f;
          break;
        case 3: acc[r][t >= 0 ? t : 0] = -1e4f; break;
      }
    }
  }
  // Lower-precision logits: the reference sees the same rounded values.
  if (c.dtype != torch::kFloat32) b.logits = b.logits.to(c.dtype).to(torch::kFloat32);
  if (c.weights) {
    auto w = at::rand({c.n}, gen, torch::kFloat32) * 3.0;
    w.index_put_({at::rand({c.n}, gen) < 0.2}, 0.0);
    b.weights = w;
  }
  if (c.mask) {
    auto in_vd = metric.index_of(b.targets) >= 0;
    b.metric_mask = in_vd & (at::rand({c.n}, gen) < 0.6);
  }
  if (c.contrastive) {
    std::vector<int64_t> index(static_cast<size_t>(c.n));
    std::vector<float> distance(static_cast<size_t>(c.n));
    std::uniform_real_distribution<float> d(0.0f, 3.0f);
    for (int64_t r = 0; r < c.n; ++r) {
      index[static_cast<size_t>(r)] = rare(rng) ? -1 : any_vd(rng);
      distance[static_cast<size_t>(r)] = d(rng);
    }
    if (c.n > 2 && index[2] >= 0) distance[2] = INFINITY;  // a candidate that adds nothing
    b.contrast_index = torch::tensor(index, torch::kInt64);
    b.contrast_distance = torch::tensor(distance, torch::kFloat32);
  }
  return {std::move(b), std::move(metric)};
}

// The case table: every kind x metric x q x reduction over varied shapes, plus
// the corner cases (vocabulary edges, scattered ids, ignored rows, extremes).
inline std::vector<LossCase> kernel_cases() {
  std::vector<LossCase> cases;
  const MetricKind metrics[] = {MetricKind::squared, MetricKind::absolute, MetricKind::random, MetricKind::table,
                                MetricKind::embedding_mse, MetricKind::embedding_cosine};
  const LossKind kinds[] = {LossKind::sft, LossKind::vocab, LossKind::label_smoothing, LossKind::dist};
  const VdLayout layouts[] = {VdLayout::start, VdLayout::middle, VdLayout::end, VdLayout::scattered};
  // V not a multiple of 8 or 16 in most shapes; one large V for the chunked sweep.
  const int64_t vocabs[] = {37, 203, 1000, 4099};
  int i = 0;
  for (LossKind kind : kinds)
    for (MetricKind metric : metrics)
      for (QNorm q : {QNorm::subvocab, QNorm::full})
        for (Reduction red : {Reduction::mean, Reduction::sum}) {
          LossCase c;
          c.kind = kind;
          c.metric = metric;
          c.q = q;
          c.reduction = red;
          c.v = vocabs[i % 4];
          c.m = std::min<int64_t>(c.v, (i % 3 == 0) ? 10 : (i % 3 == 1 ? 17 : 33));
          c.n = 8 + i % 13;
          c.layout = layouts[(i / 2) % 4];
          c.weights = i % 2 == 1;
          c.mask = i % 5 == 2;
          c.ignored = i % 3 != 0;
          c.dim = 3 + i % 6;
          cases.push_back(c);
          ++i;
        }
  // Corner cases.
  LossCase base;
  base.n = 12;
  base.v = 301;
  base.m = 25;
  for (LossKind kind : kinds) {
    LossCase c = base;
    c.kind = kind;
    c.all_ignored = true;
    cases.push_back(c);
    c.all_ignored = false;
    c.extreme = true;
    c.layout = VdLayout::scattered;
    cases.push_back(c);
    c.q = QNorm::full;
    c.weights = true;
    cases.push_back(c);
  }
  {
    LossCase c = base;  // V_d is the whole vocabulary (codebook tokens)
    c.v = c.m = 129;
    c.metric = MetricKind::embedding_mse;
    c.dim = 8;
    cases.push_back(c);
    c.q = QNorm::full;
    cases.push_back(c);
  }
  // Contrastive target augmentation (dist only): each metric and q mode.
  for (MetricKind metric : metrics)
    for (QNorm q : {QNorm::subvocab, QNorm::full}) {
      LossCase c = base;
      c.metric = metric;
      c.q = q;
      c.contrastive = true;
      c.weights = q == QNorm::full;
      c.reduction = metric == MetricKind::table ? Reduction::sum : Reduction::mean;
      c.layout = q == QNorm::full ? VdLayout::scattered : VdLayout::middle;
      cases.push_back(c);
    }
  {
    LossCase c = base;  // M = 1
    c.m = 1;
    c.kind = LossKind::label_smoothing;
    cases.push_back(c);
    c.kind = LossKind::dist;
    cases.push_back(c);
  }
  return cases;
}

// The CUDA dispatcher's paths as a real cross product (the table above aliases
// some options to one index): logit type x kind x q x metric x weights x
// reduction x row width, and contrastive targets for dist. Widths: V = 264
// takes the 16-byte vector path for float32, bfloat16 and float16 alike
// (a multiple of 8 elements), V = 261 the scalar path. sft reads no metric, so
// it runs one. The V_d layout and size cycle with the index. Float32 cases also
// run on the CPU kernel (tests/test_kernels.cpp), so the table is exercised
// where no GPU is.
inline std::vector<LossCase> cuda_cases() {
  std::vector<LossCase> cases;
  const MetricKind metrics[] = {MetricKind::squared, MetricKind::absolute, MetricKind::table,
                                MetricKind::embedding_mse, MetricKind::embedding_cosine};
  const VdLayout layouts[] = {VdLayout::start, VdLayout::middle, VdLayout::end, VdLayout::scattered};
  int i = 0;
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16})
    for (LossKind kind : {LossKind::sft, LossKind::vocab, LossKind::label_smoothing, LossKind::dist})
      for (QNorm q : {QNorm::subvocab, QNorm::full})
        for (MetricKind metric : metrics) {
          if (kind == LossKind::sft && metric != MetricKind::squared) continue;
          for (bool weights : {false, true})
            for (Reduction red : {Reduction::mean, Reduction::sum})
              for (int64_t v : {int64_t{264}, int64_t{261}})
                for (bool contrastive : {false, true}) {
                  if (contrastive && kind != LossKind::dist) continue;
                  LossCase c;
                  c.dtype = dtype;
                  c.kind = kind;
                  c.q = q;
                  c.metric = metric;
                  c.weights = weights;
                  c.reduction = red;
                  c.v = v;
                  c.contrastive = contrastive;
                  c.n = 9 + i % 11;
                  c.m = (i % 3 == 0) ? 7 : (i % 3 == 1 ? 40 : 131);
                  c.layout = layouts[i % 4];
                  c.mask = i % 7 == 3;
                  c.dim = 2 + i % 7;
                  cases.push_back(c);
                  ++i;
                }
        }
  return cases;
}

struct Comparison {
  double total = 0, ce = 0, aux = 0;  // relative errors of the loss terms
  double grad = 0;                    // max |g - g_ref| / max |g_ref|
};

inline double rel_error(const torch::Tensor& got, const torch::Tensor& want) {
  const double g = got.to(torch::kCPU).item<double>(), w = want.item<double>();
  return std::fabs(g - w) / std::max(1.0, std::fabs(w));
}

// The reference in float64 on a copy of the logits: terms and d total / d logits.
struct ReferenceResult {
  LossTerms terms;
  torch::Tensor grad;
};
inline ReferenceResult reference_f64(const LossInputs& in, const LossOptions& opt) {
  LossBatch b = in.batch;
  b.logits = in.batch.logits.detach().to(torch::kFloat64).requires_grad_(true);
  if (b.weights.defined()) b.weights = b.weights.to(torch::kFloat64);
  ReferenceResult r;
  r.terms = reference_loss(b, in.metric, opt);
  if (r.terms.total.requires_grad()) r.terms.total.backward();
  r.grad = b.logits.grad().defined() ? b.logits.grad() : torch::zeros_like(b.logits);
  return r;
}

inline Comparison compare(const LossTerms& got, const torch::Tensor& got_grad, const ReferenceResult& ref) {
  Comparison c;
  c.total = rel_error(got.total.detach(), ref.terms.total.detach());
  c.ce = rel_error(got.ce.detach(), ref.terms.ce.detach());
  c.aux = rel_error(got.aux.detach(), ref.terms.aux.detach());
  auto g = got_grad.to(torch::kCPU).to(torch::kFloat64);
  const double scale = std::max(ref.grad.abs().max().item<double>(), 1e-30);
  c.grad = (g - ref.grad).abs().max().item<double>() / scale;
  return c;
}

}  // namespace dist2::test
