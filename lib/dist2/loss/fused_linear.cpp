#include "dist2/loss/fused_linear.h"

#include <algorithm>

#include "dist2/loss/fused.h"
#include "dist2/util/error.h"
#include "dist2/util/shape.h"

namespace dist2 {

namespace {

// The rows [begin, end) of an optional per-row tensor.
torch::Tensor rows_of(const torch::Tensor& t, int64_t begin, int64_t end) {
  return t.defined() ? t.slice(0, begin, end) : t;
}

LossBatch chunk_batch(const LinearLossBatch& b, const torch::Tensor& logits, int64_t begin, int64_t end) {
  LossBatch c;
  c.logits = logits;
  c.targets = b.targets.slice(0, begin, end);
  c.metric_mask = rows_of(b.metric_mask, begin, end);
  c.weights = rows_of(b.weights, begin, end);
  c.contrast_index = rows_of(b.contrast_index, begin, end);
  c.contrast_distance = rows_of(b.contrast_distance, begin, end);
  return c;
}

void check_shapes(const LinearLossBatch& b) {
  DIST2_CHECK(b.hidden.defined() && b.hidden.dim() == 2, "hidden states must be [N, d], got {}", shape_of(b.hidden));
  DIST2_CHECK(b.weight.defined() && b.weight.dim() == 2 && b.weight.size(1) == b.hidden.size(1),
              "the output weight must be [V, d] with d = {}, got {}", b.hidden.size(1), shape_of(b.weight));
  DIST2_CHECK(!b.bias.defined() || (b.bias.dim() == 1 && b.bias.size(0) == b.weight.size(0)),
              "the output bias must be [V] with V = {}, got {}", b.weight.size(0), shape_of(b.bias));
  DIST2_CHECK(b.targets.defined() && b.targets.dim() == 1 && b.targets.size(0) == b.hidden.size(0),
              "targets must be [N] with N = {}, got {}", b.hidden.size(0), shape_of(b.targets));
  DIST2_CHECK(b.hidden.scalar_type() == b.weight.scalar_type() && b.hidden.device() == b.weight.device(),
              "hidden states and the output weight must share dtype and device");
}

// The whole batch's divisors, so that each chunk's mean-reduced terms are its
// share of the batch's mean (a caller's own divisors, a data-parallel shard's, win).
LossOptions with_batch_divisors(const LinearLossBatch& b, const MetricSpace& metric, LossOptions opt) {
  if (opt.reduction != Reduction::mean) return opt;
  LossBatch counts;
  counts.targets = b.targets;
  counts.metric_mask = b.metric_mask;
  counts.weights = b.weights;
  const LossNormalisers n = loss_normalisers(counts, metric, opt);
  if (opt.ce_divisor <= 0) opt.ce_divisor = std::max(1.0, n.supervised);
  if (opt.aux_divisor <= 0) opt.aux_divisor = n.aux_weight;  // 0: no metric weight, L_aux stays 0
  return opt;
}

struct ChunkedResult {
  double total = 0, ce = 0, aux = 0;
  torch::Tensor dhidden, dweight, dbias;  // undefined when no gradient was asked for
};

// The chunk's loss terms and d total / d logits (written over `logits`).
FusedLossAndGrad chunk_loss_and_grad(const LossBatch& c, const MetricSpace& metric, const LossOptions& opt,
                                     bool fused, bool want_grad) {
  if (fused) {
    if (!want_grad) return {fused_loss_forward(c, metric, opt), {}};
    FusedConfig in_place;
    in_place.grad_in_place = true;
    return fused_loss_and_grad(c, metric, opt, in_place);
  }
  torch::AutoGradMode enable(true);
  LossBatch r = c;
  r.logits = c.logits.detach().requires_grad_(want_grad);
  LossTerms t = reference_loss(r, metric, opt);
  torch::Tensor g = want_grad ? torch::autograd::grad({t.total}, {r.logits})[0] : torch::Tensor();
  return {{t.total.detach(), t.ce.detach(), t.aux.detach()}, g};
}

ChunkedResult run_chunks(const LinearLossBatch& b, const MetricSpace& metric, const LossOptions& opt_in,
                         const FusedLinearConfig& cfg, bool want_grad) {
  torch::NoGradGuard no_grad;
  const int64_t n = b.hidden.size(0), v = b.weight.size(0);
  const LossOptions opt = with_batch_divisors(b, metric, opt_in);
  const int64_t chunk = cfg.chunk_rows > 0 ? std::min(cfg.chunk_rows, std::max<int64_t>(n, 1))
                                           : fused_linear_chunk_rows(n, v, b.hidden.element_size(), cfg.memory_budget_bytes);
  ChunkedResult out;
  if (want_grad) {
    out.dhidden = torch::empty_like(b.hidden);
    out.dweight = torch::zeros_like(b.weight);
    if (b.bias.defined()) out.dbias = torch::zeros_like(b.bias);
  }
  const torch::Tensor weight_t = b.weight.t();
  torch::Tensor buffer = torch::empty({std::min(chunk, n), v}, b.hidden.options());
  bool fused = true;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t end = std::min(n, begin + chunk);
    const torch::Tensor h = b.hidden.slice(0, begin, end);
    torch::Tensor logits = buffer.slice(0, 0, end - begin);  // leading rows of a contiguous buffer: contiguous
    if (b.bias.defined()) torch::addmm_out(logits, b.bias, h, weight_t);
    else torch::mm_out(logits, h, weight_t);
    const LossBatch c = chunk_batch(b, logits, begin, end);
    if (begin == 0) fused = fused_unsupported_reason(c, metric, opt).empty();
    const FusedLossAndGrad r = chunk_loss_and_grad(c, metric, opt, fused, want_grad);
    out.total += r.terms.total.item<double>();
    out.ce += r.terms.ce.item<double>();
    out.aux += r.terms.aux.item<double>();
    if (!want_grad) continue;
    torch::Tensor dh = out.dhidden.slice(0, begin, end);
    torch::mm_out(dh, r.dlogits, b.weight);    // dH = G W
    out.dweight.addmm_(r.dlogits.t(), h);      // dW += G^T H
    if (out.dbias.defined()) out.dbias.add_(r.dlogits.sum(0));
  }
  return out;
}

// Autograd: forward runs the chunks and keeps the gradients; backward scales
// them by grad_output.
struct LinearCall {
  const LinearLossBatch* batch;
  const MetricSpace* metric;
  const LossOptions* opt;
  const FusedLinearConfig* config;
  double ce = 0, aux = 0;
};

torch::Tensor forward_and_save(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden, LinearCall* call) {
  ChunkedResult r = run_chunks(*call->batch, *call->metric, *call->opt, *call->config, true);
  ctx->save_for_backward({r.dhidden, r.dweight});
  if (r.dbias.defined()) ctx->saved_data["dbias"] = r.dbias;
  call->ce = r.ce, call->aux = r.aux;
  return torch::tensor(r.total, hidden.options().dtype(torch::kFloat64)).to(hidden.scalar_type());
}

// The stored gradients (d hidden, d weight, then d bias when there is one), scaled by grad_output.
torch::autograd::variable_list scaled_grads(torch::autograd::AutogradContext* ctx, const torch::Tensor& go) {
  auto grads = ctx->get_saved_variables();
  if (ctx->saved_data.count("dbias")) grads.push_back(ctx->saved_data["dbias"].toTensor());
  if (!(go.numel() == 1 && go.item<double>() == 1.0))
    for (auto& g : grads) g = g * go.to(g.scalar_type());
  grads.push_back(torch::Tensor());  // the call
  return grads;
}

// Two functions, with and without a bias: LibTorch's Function takes no undefined input.
class FusedLinearFunction : public torch::autograd::Function<FusedLinearFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor&, LinearCall* call) {
    return forward_and_save(ctx, hidden, call);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    return scaled_grads(ctx, grad_output[0]);
  }
};

class FusedLinearBiasFunction : public torch::autograd::Function<FusedLinearBiasFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor&, const torch::Tensor&, LinearCall* call) {
    return forward_and_save(ctx, hidden, call);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    return scaled_grads(ctx, grad_output[0]);
  }
};

}  // namespace

LinearLossBatch linear_batch_of(torch::Tensor hidden, torch::Tensor weight, torch::Tensor bias, const LossBatch& rows) {
  return {std::move(hidden),  std::move(weight), std::move(bias),        rows.targets,
          rows.metric_mask,   rows.weights,      rows.contrast_index,    rows.contrast_distance};
}

int64_t fused_linear_chunk_rows(int64_t n, int64_t v, int64_t elem_bytes, int64_t budget_bytes) {
  const int64_t row_bytes = std::max<int64_t>(1, v * elem_bytes);
  return std::max<int64_t>(1, std::min(std::max<int64_t>(n, 1), budget_bytes / row_bytes));
}

std::string fused_linear_fallback_reason(const LinearLossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  check_shapes(b);
  LossBatch probe;
  probe.logits = torch::empty({0, b.weight.size(0)}, b.hidden.options());
  probe.targets = b.targets;
  return fused_unsupported_reason(probe, metric, opt);
}

LossTerms fused_linear_loss(const LinearLossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                            const FusedLinearConfig& config) {
  check_shapes(batch);
  DIST2_CHECK(config.chunk_rows >= 0 && config.memory_budget_bytes > 0,
              "fused linear loss: chunk_rows must be >= 0 and the memory budget > 0");
  const bool wants_grad = torch::GradMode::is_enabled() &&
                          (batch.hidden.requires_grad() || batch.weight.requires_grad() ||
                           (batch.bias.defined() && batch.bias.requires_grad()));
  if (!wants_grad) {
    const ChunkedResult r = run_chunks(batch, metric, opt, config, false);
    const auto o = torch::TensorOptions().dtype(batch.hidden.scalar_type());
    return {torch::tensor(r.total, o), torch::tensor(r.ce, o), torch::tensor(r.aux, o)};
  }
  LinearCall call{&batch, &metric, &opt, &config};
  torch::Tensor total = batch.bias.defined()
                            ? FusedLinearBiasFunction::apply(batch.hidden, batch.weight, batch.bias, &call)
                            : FusedLinearFunction::apply(batch.hidden, batch.weight, &call);
  const auto o = torch::TensorOptions().dtype(batch.hidden.scalar_type());
  return {total, torch::tensor(call.ce, o), torch::tensor(call.aux, o)};
}

}  // namespace dist2
