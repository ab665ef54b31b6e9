#pragma once
// The output projection fused with the loss: the loss of `hidden @ weight^T (+ bias)`
// without ever holding the [N, V] logits. With a real model's vocabulary (Llama
// 3: 128,256 tokens) the logits and their gradient dominate a training step's
// memory; here the rows are walked in chunks of C: per chunk the [C, V] logits
// are computed into one reused buffer, the loss and d loss / d logits come from
// the fused kernel (written over that buffer), and the chunk's share of
// d loss / d hidden and d loss / d weight is accumulated before the next chunk
// overwrites the buffer. Backward returns the stored gradients ("gradient in
// forward", as Liger-Kernel's fused linear cross-entropy does).
//
// Every kind, metric and option of the fused loss applies (sft, vocab, label
// smoothing, dist with scalar or embedding metrics, place weights, contrastive
// targets); mean reductions divide by the whole batch's counts, so the result
// does not depend on the chunk size beyond float rounding. Where the fused
// kernel does not apply (ntl_* kinds, float64), each chunk runs the reference
// loss through autograd instead: still no [N, V] tensor.
#include <cstdint>

#include <torch/torch.h>

#include "dist2/loss/loss.h"
#include "dist2/loss/metric.h"

namespace dist2 {

struct LinearLossBatch {
  torch::Tensor hidden;  // [N, d] float32 (float64: the reference per chunk)
  torch::Tensor weight;  // [V, d], the output projection (tied embeddings: the token embedding)
  torch::Tensor bias;    // [V] or undefined
  // As in LossBatch, without the logits.
  torch::Tensor targets, metric_mask, weights, contrast_index, contrast_distance;
};

// The batch of `hidden @ weight^T (+ bias)` with the targets, masks, weights and
// contrastive inputs of `rows` (whose logits are ignored).
LinearLossBatch linear_batch_of(torch::Tensor hidden, torch::Tensor weight, torch::Tensor bias, const LossBatch& rows);

struct FusedLinearConfig {
  // Rows per chunk; 0: the most whose [C, V] logits fit memory_budget_bytes.
  int64_t chunk_rows = 0;
  int64_t memory_budget_bytes = int64_t{64} << 20;
};

// Rows per chunk for a vocabulary of v entries of elem_bytes each within budget
// (at least 1, at most n).
int64_t fused_linear_chunk_rows(int64_t n, int64_t v, int64_t elem_bytes, int64_t budget_bytes);

// L_CE + alpha L_aux of the projected hidden states. total is differentiable
// with respect to hidden, weight and bias; ce and aux are detached.
LossTerms fused_linear_loss(const LinearLossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                            const FusedLinearConfig& config = {});

// "" when the fused kernel runs each chunk, else why the reference does.
std::string fused_linear_fallback_reason(const LinearLossBatch& batch, const MetricSpace& metric,
                                         const LossOptions& opt);

}  // namespace dist2
