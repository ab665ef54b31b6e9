#pragma once
// The loss kinds of the paper and its peers behind one interface, as a reference
// implementation in LibTorch ops with autograd (exact and readable; the fused
// kernels in kernels/ are checked against it).
//
//   L = L_CE + alpha * L_aux                                    (paper eq. 6)
//
// L_CE is the cross-entropy over the full vocabulary at every supervised
// position. L_aux applies at metric positions (targets in V_d), with q the
// model's distribution over V_d: renormalized over V_d (the authors' code, the
// default) or the full softmax gathered at V_d (`full`).
//   sft              L_aux = 0
//   vocab            -log q(x)                                  (paper eq. 8)
//   label_smoothing  KL(ls || q), ls = (1 - eps) onehot(x) + eps / M  (table 5)
//   dist             KL(p_d || q), p_d = softmax(-d(., x) / tau) (paper eq. 5)
//   ntl_was          sum_v q(v) |v - y|   (NTL-WAS, Zausinger et al. 2025)
//   ntl_mse          (sum_v q(v) v - y)^2 (NTL-MSE, same paper)
//
// Reductions. mean: L_CE is averaged over supervised positions and L_aux is the
// weighted average sum_t w_t l_t / sum_t w_t over metric positions (place-value
// weights, paper eq. 9, normalised by their sum); sum: both are plain sums
// (weighted for L_aux). A batch with no supervised or no metric positions
// contributes 0, never NaN.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "dist2/loss/metric.h"

namespace dist2 {

enum class LossKind { sft, vocab, label_smoothing, dist, ntl_was, ntl_mse };
enum class QNorm { subvocab, full };
enum class Reduction { mean, sum };

LossKind parse_loss_kind(const std::string& name);
std::string to_string(LossKind kind);
QNorm parse_qnorm(const std::string& name);  // "subvocab" | "full"
std::string to_string(QNorm q);
Reduction parse_reduction(const std::string& name);  // "mean" | "sum"
std::string to_string(Reduction r);

struct LossOptions {
  LossKind kind = LossKind::dist;
  double alpha = 0.1;       // weight of L_aux (paper: fixed at 0.1)
  double tau = 2.0;         // soft-target temperature; tau = 2 sigma^2
  double smoothing = 0.1;   // eps of label_smoothing
  QNorm q = QNorm::subvocab;
  Reduction reduction = Reduction::mean;
  int64_t ignore_index = -100;
  // Mean reduction only: when > 0, L_CE divides by ce_divisor instead of this
  // batch's supervised positions, and L_aux by aux_divisor instead of its sum
  // of weights. A data-parallel shard divides by the global batch's counts
  // (summed across ranks), so the ranks' losses add up to the global mean.
  double ce_divisor = 0, aux_divisor = 0;
};

struct LossBatch {
  torch::Tensor logits;   // [N, V] float32 or float64
  torch::Tensor targets;  // [N] int64 vocabulary ids; ignore_index = not supervised
  // Optional [N] bool: where L_aux applies. Default: supervised targets in V_d.
  // Where it is given, every masked target must lie in V_d.
  torch::Tensor metric_mask;
  // Optional [N] float: per-position weights of L_aux (place values). Default 1.
  torch::Tensor weights;
  // Optional contrastive target augmentation (paper appendix A.2, dist only):
  // [N] int64 index into V_d of a contrastive candidate's token (-1: none) and
  // [N] its token-wise distance. The candidate's logit joins q as one more entry.
  torch::Tensor contrast_index;
  torch::Tensor contrast_distance;
};

struct LossTerms {
  torch::Tensor total;  // scalar, differentiable
  torch::Tensor ce;     // scalar L_CE
  torch::Tensor aux;    // scalar L_aux (0 for sft)
};

// Checks shapes, dtypes, options and that every supervised target is a valid id;
// throws dist2::Error naming the culprit. Shared by the reference and fused paths.
void validate_loss_inputs(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt);
// What the mean reduction divides by in this batch: the supervised positions
// (L_CE) and the sum of L_aux's weights over its metric positions.
struct LossNormalisers {
  double supervised = 0, aux_weight = 0;
};
LossNormalisers loss_normalisers(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt);

// Throws when a logit row is NaN or infinite, naming the first such position.
void check_finite_logits(const torch::Tensor& logits);

LossTerms reference_loss(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt);

}  // namespace dist2
