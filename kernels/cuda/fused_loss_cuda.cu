// The fused DIST² loss on CUDA. Built by CMake into dist2cuda (nvcc, sm_80 and
// sm_90); by hand:
//   nvcc -std=c++17 -O3 -arch=sm_90 -I. -c kernels/cuda/fused_loss_cuda.cu
// The math is in kernels/fused_loss.h; the CPU kernel (kernels/cpu) follows the
// same steps and both are checked against the LibTorch reference
// (lib/dist2/loss/loss.cpp) by tests/test_kernels*.cpp.
//
// One kernel, one block per row (z = the row's logits [V], x = the target's
// index in V_d, M = |V_d|):
//   sweep 1 over V   online max / sum of exp per thread (16-byte loads), then a
//                    warp-shuffle + shared-memory block reduction; finiteness
//   V_d pass (M)     subvocab: online max / sum of exp over zd
//   V_d pass (M)     label_smoothing: sum of log q; dist: online (max, sum, KL
//                    sum) over the soft-target logits a = -d(k, x) / tau,
//                    distances computed on the fly (codebooks included)
//   sweep 2 over V   g = c exp(z - max) / sum - [j = t] ce_scale; at metric rows
//                    V_d entries are skipped (left as they were) ...
//   V_d pass (M)     ... and written here with their correction
//                    s (q_k [subvocab] - P_k). Each entry is read before it is
//                    written, so the gradient may overwrite the logits.
// A contrastive entry (candidate c, distance d_e; kernels/fused_loss.h) is
// pushed once by thread 0 into the q and KL reductions and added to g at c by
// the thread that writes c.
// Reads the row twice (the second read often hits L2) and writes it once.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <stdexcept>

#include "kernels/cuda/check.h"
#include "kernels/cuda/fused_loss_cuda.h"

namespace dist2::kernels::cuda {

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kMaxThreads = 512;
constexpr int kMaxWarps = kMaxThreads / 32;

// ------------------------------------------------------------------------------
// Element types: logits are read as T and computed in float.

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <>
__device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }

// 16 bytes of T: the unit of vectorized loads and stores.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};

// ------------------------------------------------------------------------------
// Reduction states and their combination (associative, so any tree works).

struct SumState {
  float s;
};
// Online softmax: s = sum exp(v - m).
struct SoftmaxState {
  float m, s;
};
// Online soft-target KL: m = max a, s = sum e, u = sum e ((a - m) - b), e = exp(a - m).
// s == 0 marks an empty state.
struct KlState {
  float m, s, u;
};

__device__ __forceinline__ SumState combine(SumState a, SumState b) { return {a.s + b.s}; }
__device__ __forceinline__ SoftmaxState combine(SoftmaxState a, SoftmaxState b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, 0.0f};
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}
// Moves a KL state to a larger max: each (a - m) drops by d = m_new - m.
__device__ __forceinline__ KlState rescale(KlState st, float m_new) {
  if (st.s == 0.0f) return {m_new, 0.0f, 0.0f};
  const float d = m_new - st.m;
  const float f = expf(-d);
  return {m_new, st.s * f, (st.u - d * st.s) * f};
}
__device__ __forceinline__ KlState combine(KlState a, KlState b) {
  if (a.s == 0.0f) return b;
  if (b.s == 0.0f) return a;
  const float m = fmaxf(a.m, b.m);
  a = rescale(a, m);
  b = rescale(b, m);
  return {m, a.s + b.s, a.u + b.u};
}
__device__ __forceinline__ void push(KlState& st, float a, float b) {
  if (st.s == 0.0f || a > st.m) st = rescale(st, a);
  const float e = expf(a - st.m);
  st.s += e;
  st.u += e * ((a - st.m) - b);
}
__device__ __forceinline__ void push(SoftmaxState& st, float v) {
  if (v > st.m) {
    st.s *= expf(st.m - v);
    st.m = v;
  }
  st.s += expf(v - st.m);
}

__device__ __forceinline__ SumState shfl_xor(SumState x, int o) { return {__shfl_xor_sync(kFullMask, x.s, o)}; }
__device__ __forceinline__ SoftmaxState shfl_xor(SoftmaxState x, int o) {
  return {__shfl_xor_sync(kFullMask, x.m, o), __shfl_xor_sync(kFullMask, x.s, o)};
}
__device__ __forceinline__ KlState shfl_xor(KlState x, int o) {
  return {__shfl_xor_sync(kFullMask, x.m, o), __shfl_xor_sync(kFullMask, x.s, o), __shfl_xor_sync(kFullMask, x.u, o)};
}

template <typename S>
__device__ __forceinline__ S warp_reduce(S x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = combine(x, shfl_xor(x, o));
  return x;
}

// Every thread gets the reduction over the block (blockDim.x a multiple of 32).
// `identity` combines with anything to give that thing.
template <typename S>
__device__ S block_reduce(S x, S identity, void* smem_raw) {
  S* smem = static_cast<S*>(smem_raw);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_reduce(x);
  __syncthreads();  // the previous reduction has finished reading smem
  if (lane == 0) smem[warp] = x;
  __syncthreads();
  x = lane < warps ? smem[lane] : identity;
  return warp_reduce(x);
}

// ------------------------------------------------------------------------------
// Soft-target logits a_k = -d(k, x) / tau, distances on the fly.

__device__ __forceinline__ float soft_target_logit(const SubVocabulary& vd, int64_t k, int64_t x, float inv_tau) {
  const int64_t m = vd.size;
  switch (vd.distance) {
    case Distance::squared: {
      const float d = vd.values[k] - vd.values[x];
      return -(d * d) * inv_tau;
    }
    case Distance::absolute:
      return -fabsf(vd.values[k] - vd.values[x]) * inv_tau;
    case Distance::table:
      return -vd.table[x * m + k] * inv_tau;
    case Distance::codebook_mse: {
      float acc = 0.0f;
      for (int64_t i = 0; i < vd.dim; ++i) {
        const float d = vd.codebook[i * m + k] - vd.codebook[i * m + x];
        acc = fmaf(d, d, acc);
      }
      return -acc * (inv_tau / static_cast<float>(vd.dim));
    }
    case Distance::codebook_cosine: {
      float dot = 0.0f;
      for (int64_t i = 0; i < vd.dim; ++i) dot = fmaf(vd.codebook[i * m + k], vd.codebook[i * m + x], dot);
      return -(1.0f - dot) * inv_tau;
    }
  }
  return 0.0f;
}

__device__ __forceinline__ bool in_vd(const SubVocabulary& vd, int64_t j) {
  return (vd.member_bits[j >> 5] >> (j & 31)) & 1u;
}

// ------------------------------------------------------------------------------
// The kernel. kVec: rows start 16-byte aligned and 16-byte loads are used.

template <typename T, bool kVec>
__global__ void __launch_bounds__(kMaxThreads) fused_loss_rows(const FusedLossArgs a) {
  __shared__ alignas(16) unsigned char smem[kMaxWarps * sizeof(KlState)];
  __shared__ float sh_zt, sh_zx, sh_zc;
  constexpr int P = Pack<T>::kSize;
  const int64_t r = blockIdx.x;
  const int64_t v_size = a.vocab;
  const SubVocabulary& vd = a.vd;
  const T* z = static_cast<const T*>(a.logits) + r * a.row_stride;
  T* g = a.dlogits ? static_cast<T*>(a.dlogits) + r * a.row_stride : nullptr;
  const int64_t t = a.targets[r];
  const bool supervised = t != a.ignore_index;
  const int64_t x = supervised && a.aux != AuxKind::none && a.metric_index ? a.metric_index[r] : -1;
  const int64_t n_packs = kVec ? v_size / P : 0;
  const int64_t c = x >= 0 && a.aux == AuxKind::dist && a.contrast_index ? a.contrast_index[r] : -1;

  // The two single logits read before anything may be overwritten (in place);
  // the block reduction below orders these reads before sweep 2.
  if (threadIdx.x == 0) {
    sh_zt = supervised ? to_float(z[t]) : 0.0f;
    sh_zx = x >= 0 ? to_float(z[vd.ids[x]]) : 0.0f;
    sh_zc = c >= 0 ? to_float(z[vd.ids[c]]) : 0.0f;
  }

  // ---- sweep 1: max and sum of exp over V, finiteness ----
  SoftmaxState sm{-INFINITY, 0.0f};
  int bad = 0;
  for (int64_t i = threadIdx.x; i < n_packs; i += blockDim.x) {
    const Pack<T> p = reinterpret_cast<const Pack<T>*>(z)[i];
    float pm = -INFINITY;
#pragma unroll
    for (int e = 0; e < P; ++e) {
      const float v = to_float(p.v[e]);
      bad |= !isfinite(v);
      pm = fmaxf(pm, v);
    }
    if (pm > sm.m) {
      sm.s *= expf(sm.m - pm);
      sm.m = pm;
    }
#pragma unroll
    for (int e = 0; e < P; ++e) sm.s += expf(to_float(p.v[e]) - sm.m);
  }
  for (int64_t j = n_packs * P + threadIdx.x; j < v_size; j += blockDim.x) {
    const float v = to_float(z[j]);
    bad |= !isfinite(v);
    push(sm, v);
  }
  sm = block_reduce(sm, SoftmaxState{-INFINITY, 0.0f}, smem);
  if (__syncthreads_or(bad)) {
    if (threadIdx.x == 0) {
      a.row_nonfinite[r] = 1;
      a.row_ce[r] = 0.0f;
      a.row_aux[r] = 0.0f;
    }
    return;  // the whole block leaves together
  }
  const float log_sum = logf(sm.s);
  const float ce = supervised ? (sm.m - sh_zt) + log_sum : 0.0f;

  // ---- V_d: q's normaliser (log q_k = (zd_k - base) - log_norm) and aux ----
  float base = sm.m, log_norm = log_sum;
  SoftmaxState q{-INFINITY, 0.0f};
  KlState kl{-INFINITY, 0.0f, 0.0f};
  float aux = 0.0f;
  const float inv_tau = 1.0f / a.tau;
  const float a_e = c >= 0 ? -a.contrast_distance[r] * inv_tau : -INFINITY;  // the contrastive entry's logit
  const int64_t m = vd.size;
  if (x >= 0) {
    if (a.q == QMode::subvocab) {
      for (int64_t k = threadIdx.x; k < m; k += blockDim.x) push(q, to_float(z[vd.ids[k]]));
      if (threadIdx.x == 0 && c >= 0) push(q, sh_zc);  // z_c counts twice
      q = block_reduce(q, SoftmaxState{-INFINITY, 0.0f}, smem);
      base = q.m;
      log_norm = logf(q.s);
    }
    const float log_q_x = (sh_zx - base) - log_norm;
    if (a.aux == AuxKind::vocab) {
      aux = -log_q_x;
    } else if (a.aux == AuxKind::label_smoothing) {
      SumState s{0.0f};
      for (int64_t k = threadIdx.x; k < m; k += blockDim.x) s.s += to_float(z[vd.ids[k]]) - base;
      s = block_reduce(s, SumState{0.0f}, smem);
      const float eps = a.smoothing, u = eps / static_cast<float>(m), px = 1.0f - eps + u;
      const float neg_entropy = static_cast<float>(m - 1) * (u > 0.0f ? u * logf(u) : 0.0f) +
                                (px > 0.0f ? px * logf(px) : 0.0f);
      const float sum_log_q = s.s - static_cast<float>(m) * log_norm;
      aux = neg_entropy - (u * sum_log_q + (1.0f - eps) * log_q_x);
    } else if (a.aux == AuxKind::dist) {
      for (int64_t k = threadIdx.x; k < m; k += blockDim.x)
        push(kl, soft_target_logit(vd, k, x, inv_tau), to_float(z[vd.ids[k]]) - base);
      if (threadIdx.x == 0 && c >= 0 && a_e > -INFINITY) push(kl, a_e, sh_zc - base);
      kl = block_reduce(kl, KlState{-INFINITY, 0.0f, 0.0f}, smem);
      aux = kl.u / kl.s - logf(kl.s) + log_norm;
    }
  }
  if (threadIdx.x == 0) {
    a.row_nonfinite[r] = 0;
    a.row_ce[r] = ce;
    a.row_aux[r] = aux;
  }
  if (!g) return;

  // ---- sweep 2: the dense part of the gradient ----
  const float s_ce = supervised ? a.ce_scale : 0.0f;
  const float s_aux = x >= 0 ? a.alpha * a.aux_scale[r] : 0.0f;
  const float dense = (s_ce + (a.q == QMode::full ? s_aux : 0.0f)) / sm.s;
  const bool skip_vd = x >= 0;
  for (int64_t i = threadIdx.x; i < n_packs; i += blockDim.x) {
    const Pack<T> p = reinterpret_cast<const Pack<T>*>(z)[i];
    Pack<T> out;
#pragma unroll
    for (int e = 0; e < P; ++e) {
      const int64_t j = i * P + e;
      const float v = to_float(p.v[e]);
      const float gj = dense * expf(v - sm.m) - (j == t ? s_ce : 0.0f);
      // V_d entries keep their logit (bit-exact) for the V_d pass.
      out.v[e] = skip_vd && in_vd(vd, j) ? p.v[e] : from_float<T>(gj);
    }
    reinterpret_cast<Pack<T>*>(g)[i] = out;
  }
  for (int64_t j = n_packs * P + threadIdx.x; j < v_size; j += blockDim.x) {
    if (skip_vd && in_vd(vd, j)) {
      g[j] = z[j];
      continue;
    }
    g[j] = from_float<T>(dense * expf(to_float(z[j]) - sm.m) - (j == t ? s_ce : 0.0f));
  }
  if (!skip_vd) return;

  // ---- V_d pass: the whole gradient at V_d entries ----
  __syncthreads();  // sweep 2's writes come before these
  const bool subvocab = a.q == QMode::subvocab;
  const float eps = a.smoothing, u = eps / static_cast<float>(m);
  for (int64_t k = threadIdx.x; k < m; k += blockDim.x) {
    const int64_t j = vd.ids[k];
    const float v = to_float(z[j]);
    float pk = 0.0f;
    if (a.aux == AuxKind::vocab) pk = k == x ? 1.0f : 0.0f;
    else if (a.aux == AuxKind::label_smoothing) pk = u + (k == x ? 1.0f - eps : 0.0f);
    else if (a.aux == AuxKind::dist) pk = expf(soft_target_logit(vd, k, x, inv_tau) - kl.m) / kl.s;
    float gj = dense * expf(v - sm.m) - (j == t ? s_ce : 0.0f) - s_aux * pk;
    if (subvocab) gj += s_aux * expf(v - q.m) / q.s;
    if (k == c) {  // the contrastive entry e, at the candidate's logit
      gj -= s_aux * expf(a_e - kl.m) / kl.s;
      if (subvocab) gj += s_aux * expf(v - q.m) / q.s;
    }
    g[j] = from_float<T>(gj);
  }
}

// ------------------------------------------------------------------------------
// Launcher.

int threads_for(int64_t vocab) {
  if (vocab >= 16384) return 512;
  if (vocab >= 2048) return 256;
  return 128;
}

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <typename T>
void launch_typed(const FusedLossArgs& a) {
  const bool vec = aligned16(a.logits) && aligned16(a.dlogits) &&
                   (a.row_stride * static_cast<int64_t>(sizeof(T))) % 16 == 0;
  const dim3 grid(static_cast<unsigned>(a.rows));
  const dim3 block(threads_for(a.vocab));
  auto stream = static_cast<cudaStream_t>(a.stream);
  if (vec)
    fused_loss_rows<T, true><<<grid, block, 0, stream>>>(a);
  else
    fused_loss_rows<T, false><<<grid, block, 0, stream>>>(a);
  DIST2_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void fused_loss(const FusedLossArgs& args) {
  if (args.rows == 0) return;
  if (args.rows > INT_MAX) throw std::invalid_argument("fused loss: more than 2^31 - 1 rows");
  if (args.aux != AuxKind::none && (args.vd.size <= 0 || args.vd.member_bits == nullptr))
    throw std::invalid_argument("fused loss: V_d needs its ids and member bits on the device");
  switch (args.dtype) {
    case LogitType::f32: return launch_typed<float>(args);
    case LogitType::bf16: return launch_typed<__nv_bfloat16>(args);
    case LogitType::f16: return launch_typed<__half>(args);
  }
  throw std::invalid_argument("fused loss: unknown logit type");
}

}  // namespace dist2::kernels::cuda
