#include "dist2/loss/loss.h"

#include <cmath>

#include "dist2/loss/positions.h"
#include "dist2/loss/soft_target.h"
#include "dist2/util/error.h"
#include "dist2/util/shape.h"

namespace dist2 {

LossKind parse_loss_kind(const std::string& name) {
  if (name == "sft") return LossKind::sft;
  if (name == "vocab") return LossKind::vocab;
  if (name == "label_smoothing") return LossKind::label_smoothing;
  if (name == "dist") return LossKind::dist;
  if (name == "ntl_was") return LossKind::ntl_was;
  if (name == "ntl_mse") return LossKind::ntl_mse;
  throw Error(fmt::format("unknown loss kind '{}' (valid: sft, vocab, label_smoothing, dist, ntl_was, ntl_mse)", name));
}

std::string to_string(LossKind kind) {
  switch (kind) {
    case LossKind::sft: return "sft";
    case LossKind::vocab: return "vocab";
    case LossKind::label_smoothing: return "label_smoothing";
    case LossKind::dist: return "dist";
    case LossKind::ntl_was: return "ntl_was";
    case LossKind::ntl_mse: return "ntl_mse";
  }
  return "?";
}

QNorm parse_qnorm(const std::string& name) {
  if (name == "subvocab") return QNorm::subvocab;
  if (name == "full") return QNorm::full;
  throw Error(fmt::format("unknown q normalisation '{}' (valid: subvocab, full)", name));
}
std::string to_string(QNorm q) { return q == QNorm::subvocab ? "subvocab" : "full"; }

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  throw Error(fmt::format("unknown reduction '{}' (valid: mean, sum)", name));
}
std::string to_string(Reduction r) { return r == Reduction::mean ? "mean" : "sum"; }

void check_finite_logits(const torch::Tensor& logits) {
  auto bad_rows = torch::logical_not(torch::isfinite(logits)).any(1);
  if (!bad_rows.any().item<bool>()) return;
  const int64_t row = bad_rows.nonzero().index({0, 0}).item<int64_t>();
  auto bad_cols = torch::logical_not(torch::isfinite(logits[row])).nonzero();
  const int64_t col = bad_cols.index({0, 0}).item<int64_t>();
  throw Error(fmt::format("non-finite logit {} at position {} (vocabulary id {})",
                          logits.index({row, col}).item<double>(), row, col));
}

void validate_loss_inputs(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  DIST2_CHECK(b.logits.defined() && b.logits.dim() == 2, "logits must be [N, V], got {}",
              shape_of(b.logits));
  DIST2_CHECK(b.logits.is_floating_point(), "logits must be floating point");
  const int64_t n = b.logits.size(0), v = b.logits.size(1);
  DIST2_CHECK(b.targets.defined() && b.targets.dim() == 1 && b.targets.size(0) == n,
              "targets must be [N] with N = {} (the rows of logits), got {}", n,
              shape_of(b.targets));
  DIST2_CHECK(b.targets.scalar_type() == torch::kInt64, "targets must be int64");
  DIST2_CHECK(metric.max_token_id() < v, "V_d holds token id {} but the vocabulary has only {} logits",
              metric.max_token_id(), v);
  if (b.metric_mask.defined())
    DIST2_CHECK(b.metric_mask.dim() == 1 && b.metric_mask.size(0) == n, "metric mask must be [{}], got {}", n,
                shape_of(b.metric_mask));
  if (b.weights.defined()) {
    DIST2_CHECK(b.weights.dim() == 1 && b.weights.size(0) == n, "weights must be [{}], got {}", n,
                shape_of(b.weights));
    DIST2_CHECK((b.weights >= 0).all().item<bool>() && torch::isfinite(b.weights).all().item<bool>(),
                "weights must be finite and >= 0");
  }
  if (b.contrast_index.defined() || b.contrast_distance.defined()) {
    DIST2_CHECK(opt.kind == LossKind::dist, "contrastive targets apply to loss kind dist only");
    DIST2_CHECK(b.contrast_index.defined() && b.contrast_distance.defined() && b.contrast_index.numel() == n &&
                    b.contrast_distance.numel() == n,
                "contrast_index and contrast_distance must both be [{}]", n);
    DIST2_CHECK(!b.contrast_index.is_floating_point() && !b.contrast_index.is_complex(),
                "contrast_index must hold integers");
    auto ci = b.contrast_index.reshape({n}).to(torch::kCPU, torch::kInt64);
    auto bad_index = (ci < -1) | (ci >= metric.size());
    if (bad_index.any().item<bool>()) {
      const int64_t pos = bad_index.nonzero().index({0, 0}).item<int64_t>();
      throw Error(fmt::format("contrast_index {} at position {} is not an index into V_d [0, {}) nor -1 (none)",
                              ci[pos].item<int64_t>(), pos, metric.size()));
    }
    auto d = b.contrast_distance.reshape({n}).to(torch::kCPU, torch::kFloat64);
    DIST2_CHECK(((ci < 0) | (d >= 0)).all().item<bool>(),
                "contrast_distance must be >= 0 (infinite: the candidate adds nothing) where contrast_index is set");
  }
  DIST2_CHECK(std::isfinite(opt.alpha) && opt.alpha >= 0, "alpha must be finite and >= 0, got {}", opt.alpha);
  DIST2_CHECK(std::isfinite(opt.tau) && opt.tau > 0, "tau must be a finite number > 0, got {}", opt.tau);
  DIST2_CHECK(std::isfinite(opt.ce_divisor) && opt.ce_divisor >= 0 && std::isfinite(opt.aux_divisor) &&
                  opt.aux_divisor >= 0,
              "loss divisors must be finite and >= 0, got {} and {}", opt.ce_divisor, opt.aux_divisor);
  DIST2_CHECK(opt.smoothing >= 0 && opt.smoothing <= 1, "label smoothing must lie in [0, 1], got {}",
              opt.smoothing);
  if (opt.kind == LossKind::ntl_was || opt.kind == LossKind::ntl_mse)
    DIST2_CHECK(metric.has_values(), "{} needs scalar token values; metric '{}' has none", to_string(opt.kind),
                to_string(metric.kind()));
  auto supervised = b.targets != opt.ignore_index;
  auto bad = supervised & ((b.targets < 0) | (b.targets >= v));
  if (bad.any().item<bool>()) {
    const int64_t pos = bad.nonzero().index({0, 0}).item<int64_t>();
    throw Error(fmt::format("target {} at position {} is outside the vocabulary [0, {}) and is not ignore_index {}",
                            b.targets[pos].item<int64_t>(), pos, v, opt.ignore_index));
  }
}

MetricPositions metric_positions(const torch::Tensor& targets, const torch::Tensor& metric_mask,
                                 const MetricSpace& metric, int64_t ignore_index) {
  MetricPositions p;
  auto supervised = targets != ignore_index;
  p.target_index = metric.index_of(torch::where(supervised, targets, torch::zeros_like(targets)));
  auto in_vd = p.target_index >= 0;
  p.mask = in_vd & supervised;
  if (metric_mask.defined()) {
    auto asked = metric_mask.to(targets.device()).to(torch::kBool) & supervised;
    auto outside = asked & torch::logical_not(in_vd);
    if (outside.any().item<bool>()) p.outside_row = outside.nonzero().index({0, 0}).item<int64_t>();
    p.mask = asked & in_vd;
  }
  return p;
}

LossNormalisers loss_normalisers(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  auto targets = b.targets.to(torch::kCPU);
  auto supervised = targets != opt.ignore_index;
  auto mask = metric_positions(targets, b.metric_mask, metric, opt.ignore_index).mask;
  auto w = b.weights.defined() ? b.weights.to(torch::kCPU).to(torch::kFloat64) : torch::ones({targets.size(0)}, torch::kFloat64);
  return {static_cast<double>(supervised.sum().item<int64_t>()),
          torch::where(mask, w, torch::zeros_like(w)).sum().item<double>()};
}

namespace {

// Per-position L_aux for the rows in `rows`; log_q: [R, M] log q over V_d.
torch::Tensor aux_per_position(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt,
                               const torch::Tensor& rows, const torch::Tensor& x, const torch::Tensor& log_q,
                               const torch::Tensor& logits_vd) {
  const auto dtype = log_q.scalar_type();
  const int64_t m = metric.size();
  switch (opt.kind) {
    case LossKind::sft:
      return torch::zeros({rows.size(0)}, log_q.options());
    case LossKind::vocab:
      return -log_q.gather(1, x.unsqueeze(1)).squeeze(1);
    case LossKind::label_smoothing: {
      auto p = torch::full_like(log_q, opt.smoothing / static_cast<double>(m));
      p.scatter_add_(1, x.unsqueeze(1), torch::full({x.size(0), 1}, 1.0 - opt.smoothing, log_q.options()));
      return (torch::xlogy(p, p) - p * log_q).sum(1);
    }
    case LossKind::dist: {
      auto dist = metric.distances_from(x).to(dtype);  // [R, M], on the device of x
      auto lq = log_q;
      if (b.contrast_index.defined()) {
        // One more entry per row: the candidate's logit with its own distance.
        auto ci = b.contrast_index.index({rows}).to(torch::kInt64);
        auto has = ci >= 0;
        auto extra_logit = logits_vd.gather(1, ci.clamp_min(0).unsqueeze(1));
        extra_logit = torch::where(has.unsqueeze(1), extra_logit, torch::full_like(extra_logit, -1e30));
        auto extra_d = b.contrast_distance.index({rows}).to(dtype).unsqueeze(1);
        extra_d = torch::where(has.unsqueeze(1), extra_d, torch::full_like(extra_d, INFINITY));
        dist = torch::cat({dist, extra_d}, 1);
        lq = opt.q == QNorm::subvocab ? torch::log_softmax(torch::cat({logits_vd, extra_logit}, 1), 1)
                                      : torch::cat({log_q, extra_logit - torch::logsumexp(b.logits.index({rows}), 1, true)}, 1);
      }
      auto p = torch::softmax(-dist / opt.tau, 1);
      return (torch::xlogy(p, p) - p * lq).sum(1);
    }
    case LossKind::ntl_was: {
      auto vals = metric.values().to(log_q.device(), dtype);
      auto y = vals.index({x});
      return (log_q.exp() * (vals.unsqueeze(0) - y.unsqueeze(1)).abs()).sum(1);
    }
    case LossKind::ntl_mse: {
      auto vals = metric.values().to(log_q.device(), dtype);
      auto y = vals.index({x});
      auto expected = (log_q.exp() * vals.unsqueeze(0)).sum(1);
      return (expected - y).pow(2);
    }
  }
  throw Error("unreachable loss kind");
}

}  // namespace

LossTerms reference_loss(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  validate_loss_inputs(b, metric, opt);
  check_finite_logits(b.logits.detach());
  const auto& logits = b.logits;
  auto supervised = b.targets != opt.ignore_index;
  auto safe_targets = torch::where(supervised, b.targets, torch::zeros_like(b.targets));

  // L_CE over the full vocabulary.
  auto log_p = torch::log_softmax(logits, 1);
  auto nll = -log_p.gather(1, safe_targets.unsqueeze(1)).squeeze(1) * supervised.to(logits.scalar_type());
  auto ce = nll.sum();
  if (opt.reduction == Reduction::mean)
    ce = ce / (opt.ce_divisor > 0 ? opt.ce_divisor : static_cast<double>(std::max<int64_t>(1, supervised.sum().item<int64_t>())));

  // Metric positions.
  const MetricPositions positions = metric_positions(b.targets, b.metric_mask, metric, opt.ignore_index);
  if (positions.outside_row >= 0)
    throw Error(fmt::format("target token {} at metric position {} is not in the metric sub-vocabulary V_d",
                            b.targets[positions.outside_row].item<int64_t>(), positions.outside_row));
  const torch::Tensor& target_index = positions.target_index;
  const torch::Tensor& mask = positions.mask;
  auto rows = mask.nonzero().squeeze(1);
  torch::Tensor aux = torch::zeros({}, logits.options());
  if (opt.kind != LossKind::sft && rows.size(0) > 0) {
    auto x = target_index.index({rows});
    auto vd_ids = metric.token_ids().to(logits.device());
    auto logits_vd = logits.index({rows}).index_select(1, vd_ids);  // [R, M]
    auto log_q = opt.q == QNorm::subvocab ? torch::log_softmax(logits_vd, 1)
                                          : log_p.index({rows}).index_select(1, vd_ids);
    auto per_pos = aux_per_position(b, metric, opt, rows, x, log_q, logits_vd);
    auto w = b.weights.defined() ? b.weights.index({rows}).to(logits.scalar_type()) : torch::ones_like(per_pos);
    aux = (w * per_pos).sum();
    if (opt.reduction == Reduction::mean) {
      const double wsum = opt.aux_divisor > 0 ? opt.aux_divisor : w.sum().item<double>();
      aux = wsum > 0 ? aux / wsum : aux * 0.0;
    }
  }
  auto total = opt.kind == LossKind::sft ? ce : ce + opt.alpha * aux;
  return {total, ce, aux};
}

}  // namespace dist2
