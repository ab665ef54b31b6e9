#pragma once
// Vector primitives of the CPU loss kernel over float32 rows: AVX2+FMA where the
// CPU has it (chosen once at run time), a scalar version elsewhere. Sums are
// carried in float lanes over short chunks and accumulated in double.
#include <cstdint>

namespace dist2::kernels::cpu {

struct SoftmaxStats {
  float max = 0;     // max_i x_i
  double sum = 0;    // sum_i exp(x_i - max)
  bool finite = true;
};

// Elements per chunk of the online softmax.
constexpr int64_t kSoftmaxChunk = 2048;

// One sweep over x[0, n): running max and sum of exp, chunk by chunk (online
// softmax; each chunk is read from memory once and re-read from L1).
SoftmaxStats softmax_stats(const float* x, int64_t n);
// The same sweep, also writing e[i] = exp(x[i] - m_c), where m_c is the running
// max after chunk c (chunk_max[c], ceil(n / kSoftmaxChunk) entries): the exps
// of the gradient, to be brought to the final max by scale_chunks. e may be x.
SoftmaxStats softmax_stats_store(const float* x, int64_t n, float* e, float* chunk_max);
// e[i] *= scale * exp(chunk_max[c] - max) for i in chunk c.
void scale_chunks(float* e, int64_t n, const float* chunk_max, float max, double scale);
// Whether every x[i] is finite (for rows whose loss is not needed).
bool all_finite(const float* x, int64_t n);
// max_i x[i] (n >= 1).
float max_of(const float* x, int64_t n);
// out[i] = scale * exp(x[i] - shift); returns sum_i exp(x[i] - shift). out may be x.
double scaled_exp(const float* x, int64_t n, float shift, float scale, float* out);
// sum_i (x[i] - shift).
double shifted_sum(const float* x, int64_t n, float shift);
// sum_i w[i] * ((a[i] - a_shift) - (b[i] - b_shift)).
double weighted_diff_sum(const float* w, const float* a, float a_shift, const float* b, float b_shift, int64_t n);
// out[k] = -scale * sum_i (cb[i * m + k] - e[i])^2 over i < d, for k < m (cb is [d, m]).
void neg_sq_distance(const float* cb, int64_t m, int64_t d, const float* e, float scale, float* out);
// out[k] = -scale * (1 - sum_i cb[i * m + k] * u[i]), for k < m (cb is [d, m]).
void neg_cos_distance(const float* cb, int64_t m, int64_t d, const float* u, float scale, float* out);

// "avx2" or "scalar": which version runs now.
const char* vec_isa();
// Run the scalar versions even where AVX2 exists (tests cover both paths).
void prefer_scalar_vec_ops(bool on);

}  // namespace dist2::kernels::cpu
