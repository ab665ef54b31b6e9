#pragma once
// The fused DIST² loss kernel contract, one for kernels/cpu and kernels/cuda.
// Plain C++ on raw pointers (no torch headers), so that nvcc compiles it as is;
// lib/dist2/loss/fused.cpp fills it from tensors and calls a backend.
//
// For each row r of the logits z [N, V], with t = targets[r] and x =
// metric_index[r] (the index into V_d of t where L_aux applies, -1 elsewhere):
//
//   ce_r  = logsumexp_V(z) - z_t                               supervised rows
//   aux_r = sum_{k in V_d} P_k (log P_k - log q_k)             metric rows
//
//   log q_k = z_k - logsumexp_{V_d}(z)      q = subvocab (renormalised over V_d)
//   log q_k = z_k - logsumexp_V(z)          q = full
//   P = onehot(x)                           vocab      (aux_r = -log q_x)
//   P = (1 - eps) onehot(x) + eps / M       label_smoothing
//   P = softmax_k(-d(k, x) / tau)           dist
//
// and, when dlogits is set, the gradient of
//   total = ce_scale * sum_r ce_r + alpha * sum_r aux_scale[r] * aux_r,
// which is, with p = softmax_V(z) and s_r = alpha * aux_scale[r] (sum P = 1):
//
//   subvocab: g = ce_scale [sup] (p - onehot(t)) + s_r [k in V_d] (q_k - P_k)
//   full:     g = ce_scale [sup] (p - onehot(t)) + s_r (p - [k in V_d] P_k)
//
// (full: d/dz_j of -sum_k P_k (z_k - lse_V) is -[j in V_d] P_j + p_j.) So one
// dense sweep writes c p_j - [j = t] ce_scale, with c = ce_scale [sup] + s_r [full],
// and V_d takes a sparse correction. The reductions (mean/sum, weights) live in
// ce_scale and aux_scale, which the dispatcher computes exactly as the reference
// does; the kernels return per-row terms and the dispatcher sums them.
//
// Contrastive target augmentation (paper appendix A.2, dist only): a metric row
// may carry one more entry e, a candidate token c = contrast_index[r] of V_d
// with its own distance d_e = contrast_distance[r]. e joins both sides of the KL
// with the logit z_c: P = softmax over the M + 1 logits a_k, a_e = -d_e / tau;
// subvocab normalises q over the M + 1 logits zd_k and z_c, full gives
// log q_e = z_c - logsumexp_V(z). The gradient at c takes e's share as well:
//   subvocab: g_c += s_r (q_e - P_e)          full: g_c -= s_r P_e
#include <cstdint>

namespace dist2::kernels {

enum class AuxKind : int32_t { none = 0, vocab, label_smoothing, dist };
enum class QMode : int32_t { subvocab = 0, full };
enum class Distance : int32_t { squared = 0, absolute, table, codebook_mse, codebook_cosine };
enum class LogitType : int32_t { f32 = 0, bf16, f16 };

// The sub-vocabulary V_d and its distance. Every pointer lives on the device of
// the logits.
struct SubVocabulary {
  int64_t size = 0;                       // M
  const int64_t* ids = nullptr;           // [M] distinct vocabulary ids
  int64_t contiguous_from = -1;           // ids[k] == contiguous_from + k for every k, else -1
  const uint32_t* member_bits = nullptr;  // [ceil(V / 32)] bit v set when v is in V_d
  Distance distance = Distance::squared;
  const float* values = nullptr;    // [M] scalar values (squared, absolute)
  const float* table = nullptr;     // [M, M] row x holds d(k, x) for every k (table)
  const float* codebook = nullptr;  // [D, M] column k is token k's embedding (codebook_mse);
                                    // for codebook_cosine the columns have unit norm
  int64_t dim = 0;                  // D
};

struct FusedLossArgs {
  // ---- inputs ----
  int64_t rows = 0;        // N
  int64_t vocab = 0;       // V
  int64_t row_stride = 0;  // elements from one row of logits (and dlogits) to the next; >= V
  LogitType dtype = LogitType::f32;
  const void* logits = nullptr;          // [N, V], unit stride along V
  const int64_t* targets = nullptr;      // [N] vocabulary ids, or ignore_index
  int64_t ignore_index = -100;
  const int32_t* metric_index = nullptr; // [N] index into V_d of targets[r] at metric rows, else -1
  const float* aux_scale = nullptr;      // [N] weight of aux_r in L_aux (0 off metric rows)
  float ce_scale = 1.0f;                 // weight of ce_r in L_CE
  AuxKind aux = AuxKind::none;
  QMode q = QMode::subvocab;
  float alpha = 0.0f, tau = 1.0f, smoothing = 0.0f;
  SubVocabulary vd;
  // Contrastive entries (nullptr: none): [N] index into V_d of the candidate
  // (-1: none on this row) and [N] its distance.
  const int32_t* contrast_index = nullptr;
  const float* contrast_distance = nullptr;
  // ---- outputs ----
  float* row_ce = nullptr;           // [N] ce_r, 0 where not supervised
  float* row_aux = nullptr;          // [N] aux_r, 0 where not a metric row
  uint8_t* row_nonfinite = nullptr;  // [N] 1 where the row holds a NaN or infinite logit
                                     //     (its other outputs are then 0 and its gradient unset)
  // [N, V] d total / d logits, same dtype and row stride as logits; may be the
  // logits themselves (written in place, row by row after the row is read);
  // nullptr: forward only.
  void* dlogits = nullptr;
  void* stream = nullptr;  // CUDA only: the cudaStream_t to launch on (nullptr = default stream)
};

}  // namespace dist2::kernels
