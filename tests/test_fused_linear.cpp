// The output projection fused with the loss (loss/fused_linear.h): its loss and
// the gradients with respect to the hidden states, the weight and the bias,
// against the composed path (logits = H W^T + b, then the reference loss) in
// float64, for every kind, metric and option the fused kernel covers, at odd
// chunk sizes; the chunk size changes nothing beyond rounding.
#include <catch2/catch.hpp>

#include "dist2/loss/fused_linear.h"
#include "tests/kernel_cases.h"

using namespace dist2;
using dist2::test::LossCase;

namespace {

constexpr int64_t kHidden = 12;

struct LinearInputs {
  LinearLossBatch batch;  // float32 hidden, weight and bias
  MetricSpace metric;
};

LinearInputs make_linear_inputs(const LossCase& c, uint64_t seed, bool bias) {
  auto in = test::make_inputs(c, seed);  // targets, mask, weights, contrast and V_d of the case
  auto gen = at::detail::createCPUGenerator(seed + 7);
  LinearLossBatch b;
  b.hidden = at::randn({c.n, kHidden}, gen, torch::kFloat32);
  b.weight = at::randn({c.v, kHidden}, gen, torch::kFloat32) * 0.8;
  if (bias) b.bias = at::randn({c.v}, gen, torch::kFloat32);
  b.targets = in.batch.targets;
  b.metric_mask = in.batch.metric_mask;
  b.weights = in.batch.weights;
  b.contrast_index = in.batch.contrast_index;
  b.contrast_distance = in.batch.contrast_distance;
  return {b, in.metric};
}

struct Grads {
  double total = 0, ce = 0, aux = 0;
  torch::Tensor dh, dw, db;
};

// The composed path in float64: logits, the reference loss, autograd.
Grads composed64(const LinearLossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  auto h = b.hidden.to(torch::kFloat64).requires_grad_();
  auto w = b.weight.to(torch::kFloat64).requires_grad_();
  torch::Tensor bias = b.bias.defined() ? b.bias.to(torch::kFloat64).requires_grad_() : torch::Tensor();
  LossBatch lb;
  lb.logits = torch::matmul(h, w.t());
  if (bias.defined()) lb.logits = lb.logits + bias;
  lb.targets = b.targets, lb.metric_mask = b.metric_mask, lb.weights = b.weights;
  lb.contrast_index = b.contrast_index, lb.contrast_distance = b.contrast_distance;
  const LossTerms t = reference_loss(lb, metric, opt);
  t.total.backward();
  return {t.total.item<double>(), t.ce.item<double>(), t.aux.item<double>(), h.grad(), w.grad(),
          bias.defined() ? bias.grad() : torch::Tensor()};
}

Grads fused_linear(LinearLossBatch b, const MetricSpace& metric, const LossOptions& opt, int64_t chunk) {
  b.hidden = b.hidden.clone().requires_grad_();
  b.weight = b.weight.clone().requires_grad_();
  if (b.bias.defined()) b.bias = b.bias.clone().requires_grad_();
  FusedLinearConfig cfg;
  cfg.chunk_rows = chunk;
  const LossTerms t = fused_linear_loss(b, metric, opt, cfg);
  t.total.backward();
  return {t.total.item<double>(), t.ce.item<double>(), t.aux.item<double>(), b.hidden.grad(), b.weight.grad(),
          b.bias.defined() ? b.bias.grad() : torch::Tensor()};
}

// max |a - b| / (max |b| + tiny), a float32 result against the float64 oracle.
double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b).abs().max().item<double>() / (b.abs().max().item<double>() + 1e-12);
}

void check_against_composed(const LossCase& c, bool bias) {
  const auto in = make_linear_inputs(c, 11, bias);
  const Grads want = composed64(in.batch, in.metric, c.options());
  for (int64_t chunk : {int64_t{1}, int64_t{7}, c.n}) {
    INFO(c.name() << " bias=" << bias << " chunk=" << chunk);
    const Grads got = fused_linear(in.batch, in.metric, c.options(), chunk);
    CHECK(got.total == Approx(want.total).epsilon(2e-5).margin(1e-6));
    CHECK(got.ce == Approx(want.ce).epsilon(2e-5).margin(1e-6));
    CHECK(got.aux == Approx(want.aux).epsilon(2e-5).margin(1e-6));
    CHECK(rel_err(got.dh, want.dh) < 1e-4);
    CHECK(rel_err(got.dw, want.dw) < 1e-4);
    if (bias) CHECK(rel_err(got.db, want.db) < 1e-4);
  }
}

}  // namespace

TEST_CASE("fused linear loss: loss and gradients of hidden, weight and bias match the composed path", "[loss][fused_linear]") {
  for (LossKind kind : {LossKind::sft, LossKind::vocab, LossKind::label_smoothing, LossKind::dist})
    for (MetricKind metric : {MetricKind::squared, MetricKind::embedding_mse})
      for (QNorm q : {QNorm::subvocab, QNorm::full}) {
        LossCase c;
        c.n = 23, c.v = 90, c.m = 9;
        c.kind = kind, c.metric = metric, c.q = q;
        c.layout = test::VdLayout::scattered;  // V_d not contiguous
        c.weights = true;                      // place weights, some zero
        c.ignored = true;                      // ignored positions and positions outside V_d
        c.contrastive = kind == LossKind::dist && metric == MetricKind::squared;
        check_against_composed(c, metric == MetricKind::squared);
      }
}

TEST_CASE("fused linear loss: sum reduction, a metric mask, every row ignored", "[loss][fused_linear]") {
  LossCase c;
  c.n = 19, c.v = 64, c.m = 10, c.layout = test::VdLayout::middle;
  c.reduction = Reduction::sum;
  c.mask = true;
  check_against_composed(c, false);
  LossCase none = c;
  none.reduction = Reduction::mean;
  none.all_ignored = true;
  const auto in = make_linear_inputs(none, 3, false);
  const Grads got = fused_linear(in.batch, in.metric, none.options(), 4);
  CHECK(got.total == 0.0);
  CHECK(got.dh.abs().max().item<double>() == 0.0);
}

TEST_CASE("fused linear loss: kinds without a fused kernel run the reference per chunk", "[loss][fused_linear]") {
  for (LossKind kind : {LossKind::ntl_was, LossKind::ntl_mse}) {
    LossCase c;
    c.n = 17, c.v = 50, c.m = 8, c.kind = kind;
    const auto in = make_linear_inputs(c, 5, true);
    INFO(to_string(kind));
    CHECK_FALSE(fused_linear_fallback_reason(in.batch, in.metric, c.options()).empty());
    const Grads want = composed64(in.batch, in.metric, c.options());
    const Grads got = fused_linear(in.batch, in.metric, c.options(), 5);
    CHECK(got.total == Approx(want.total).epsilon(2e-5));
    CHECK(rel_err(got.dh, want.dh) < 1e-4);
    CHECK(rel_err(got.dw, want.dw) < 1e-4);
  }
}

TEST_CASE("fused linear loss: the chunk size from a memory budget, and bad shapes", "[loss][fused_linear]") {
  CHECK(fused_linear_chunk_rows(4096, 32000, 4, int64_t{64} << 20) == 524);  // 64 MiB of float32 rows
  CHECK(fused_linear_chunk_rows(10, 32000, 4, int64_t{64} << 20) == 10);
  CHECK(fused_linear_chunk_rows(4096, 1 << 30, 4, 16) == 1);
  LossCase c;
  auto in = make_linear_inputs(c, 1, false);
  in.batch.weight = in.batch.weight.slice(1, 0, kHidden - 1);
  CHECK_THROWS_WITH(fused_linear_loss(in.batch, in.metric, c.options()),
                    Catch::Contains("the output weight must be [V, d] with d = 12"));
}
