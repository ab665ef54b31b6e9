// Vector primitives of the CPU loss kernel: AVX2+FMA and scalar versions.
//
// The AVX2 functions carry __attribute__((target)) rather than being built with
// -mavx2, so the library still runs on a CPU without AVX2 (the scalar versions
// are chosen at run time) and no other code in this file is compiled for AVX2.
#include "kernels/cpu/vec_ops.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DIST2_HAVE_AVX2_PATH 1
#include <immintrin.h>
#endif

namespace dist2::kernels::cpu {

namespace {

// Elements per chunk: float lanes sum at most this many terms before the
// running total moves to double, and a chunk (8 KB) stays in L1 between the
// max and the exp pass of softmax_stats.
constexpr int64_t kChunk = kSoftmaxChunk;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

namespace scalar {

SoftmaxStats softmax_stats(const float* x, int64_t n) {
  SoftmaxStats st{kNegInf, 0.0, true};
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t len = std::min(kChunk, n - c0);
    const float* p = x + c0;
    float cm = kNegInf;
    for (int64_t i = 0; i < len; ++i) {
      if (!std::isfinite(p[i])) return {0.0f, 0.0, false};
      cm = std::max(cm, p[i]);
    }
    if (cm > st.max) {
      st.sum *= std::exp(static_cast<double>(st.max) - cm);
      st.max = cm;
    }
    float s = 0;
    for (int64_t i = 0; i < len; ++i) s += std::exp(p[i] - st.max);
    st.sum += s;
  }
  return st;
}

SoftmaxStats softmax_stats_store(const float* x, int64_t n, float* e, float* chunk_max) {
  SoftmaxStats st{kNegInf, 0.0, true};
  for (int64_t c0 = 0, c = 0; c0 < n; c0 += kChunk, ++c) {
    const int64_t len = std::min(kChunk, n - c0);
    float cm = kNegInf;
    for (int64_t i = 0; i < len; ++i) {
      if (!std::isfinite(x[c0 + i])) return {0.0f, 0.0, false};
      cm = std::max(cm, x[c0 + i]);
    }
    if (cm > st.max) {
      st.sum *= std::exp(static_cast<double>(st.max) - cm);
      st.max = cm;
    }
    chunk_max[c] = st.max;
    float s = 0;
    for (int64_t i = c0; i < c0 + len; ++i) {
      e[i] = std::exp(x[i] - st.max);
      s += e[i];
    }
    st.sum += s;
  }
  return st;
}

void scale_chunks(float* e, int64_t n, const float* chunk_max, float max, double scale) {
  for (int64_t c0 = 0, c = 0; c0 < n; c0 += kChunk, ++c) {
    const auto f = static_cast<float>(scale * std::exp(static_cast<double>(chunk_max[c]) - max));
    for (int64_t i = c0; i < std::min(n, c0 + kChunk); ++i) e[i] *= f;
  }
}

bool all_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

float max_of(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

double scaled_exp(const float* x, int64_t n, float shift, float scale, float* out) {
  double total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t end = std::min(n, c0 + kChunk);
    float s = 0;
    for (int64_t i = c0; i < end; ++i) {
      const float e = std::exp(x[i] - shift);
      s += e;
      out[i] = scale * e;
    }
    total += s;
  }
  return total;
}

double shifted_sum(const float* x, int64_t n, float shift) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += x[i] - shift;
  return total;
}

double weighted_diff_sum(const float* w, const float* a, float a_shift, const float* b, float b_shift, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += w[i] * ((a[i] - a_shift) - (b[i] - b_shift));
  return total;
}

void neg_sq_distance(const float* cb, int64_t m, int64_t d, const float* e, float scale, float* out) {
  for (int64_t k = 0; k < m; ++k) {
    float acc = 0;
    for (int64_t i = 0; i < d; ++i) {
      const float diff = cb[i * m + k] - e[i];
      acc += diff * diff;
    }
    out[k] = -scale * acc;
  }
}

void neg_cos_distance(const float* cb, int64_t m, int64_t d, const float* u, float scale, float* out) {
  for (int64_t k = 0; k < m; ++k) {
    float dot = 0;
    for (int64_t i = 0; i < d; ++i) dot += cb[i * m + k] * u[i];
    out[k] = -scale * (1.0f - dot);
  }
}

}  // namespace scalar

#ifdef DIST2_HAVE_AVX2_PATH
namespace avx2 {

#define DIST2_AVX2 __attribute__((target("avx2,fma")))

// exp(x) for x <= 0, about 2e-7 relative: n = round(x / ln 2), r = x - n ln 2
// (ln 2 in two parts, so r is exact to a few ulp), e^r by a degree-5 minimax
// polynomial on [-ln2/2, ln2/2], and 2^n added to the exponent bits. Below -86
// (e^-86 = 4e-38, where 2^n would leave the normal range) and for NaN: 0.
DIST2_AVX2 inline __m256 exp256(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-86.0f);
  const __m256 valid = _mm256_cmp_ps(x, lo, _CMP_GE_OQ);
  x = _mm256_max_ps(x, lo);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(8.26153066e-3f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.18987311e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66681141e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.99991417e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(9.99999523e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23));
  return _mm256_and_ps(_mm256_castsi256_ps(bits), valid);
}

DIST2_AVX2 inline double hsum(__m256 v) {
  const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  const __m256d s = _mm256_add_pd(lo, hi);
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(s2) + _mm_cvtsd_f64(_mm_unpackhi_pd(s2, s2));
}

DIST2_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// x - x is NaN exactly where x is NaN or infinite; summing it keeps that.
DIST2_AVX2 inline bool lanes_finite(__m256 check) {
  return _mm256_movemask_ps(_mm256_cmp_ps(check, check, _CMP_UNORD_Q)) == 0;
}

// Max and finiteness of p[0, len).
DIST2_AVX2 inline float chunk_max(const float* p, int64_t len, bool* finite) {
  __m256 m0 = _mm256_set1_ps(kNegInf), m1 = m0;
  __m256 c0 = _mm256_setzero_ps(), c1 = c0;
  int64_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
    m0 = _mm256_max_ps(m0, a);
    m1 = _mm256_max_ps(m1, b);
    c0 = _mm256_add_ps(c0, _mm256_sub_ps(a, a));
    c1 = _mm256_add_ps(c1, _mm256_sub_ps(b, b));
  }
  for (; i + 8 <= len; i += 8) {
    const __m256 a = _mm256_loadu_ps(p + i);
    m0 = _mm256_max_ps(m0, a);
    c0 = _mm256_add_ps(c0, _mm256_sub_ps(a, a));
  }
  float m = hmax(_mm256_max_ps(m0, m1));
  bool ok = lanes_finite(_mm256_add_ps(c0, c1));
  for (; i < len; ++i) {
    ok = ok && std::isfinite(p[i]);
    m = std::max(m, p[i]);
  }
  *finite = ok;
  return m;
}

// sum_i exp(p[i] - shift) over p[0, len), and out[i] = scale * exp(p[i] - shift)
// when out is set (out may be p). Four independent vectors per step keep the
// FMA pipes busy through exp's dependency chain.
template <bool kStore>
DIST2_AVX2 inline double exp_block(const float* p, int64_t len, float shift, float scale, float* out) {
  const __m256 sh = _mm256_set1_ps(shift), sc = _mm256_set1_ps(scale);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 32 <= len; i += 32) {
    const __m256 e0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i), sh));
    const __m256 e1 = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i + 8), sh));
    const __m256 e2 = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i + 16), sh));
    const __m256 e3 = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i + 24), sh));
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
    s2 = _mm256_add_ps(s2, e2);
    s3 = _mm256_add_ps(s3, e3);
    if (kStore) {
      _mm256_storeu_ps(out + i, _mm256_mul_ps(e0, sc));
      _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(e1, sc));
      _mm256_storeu_ps(out + i + 16, _mm256_mul_ps(e2, sc));
      _mm256_storeu_ps(out + i + 24, _mm256_mul_ps(e3, sc));
    }
  }
  for (; i + 8 <= len; i += 8) {
    const __m256 e0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i), sh));
    s0 = _mm256_add_ps(s0, e0);
    if (kStore) _mm256_storeu_ps(out + i, _mm256_mul_ps(e0, sc));
  }
  double s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < len; ++i) {
    const float e = std::exp(p[i] - shift);
    s += e;
    if (kStore) out[i] = scale * e;
  }
  return s;
}

DIST2_AVX2 SoftmaxStats softmax_stats(const float* x, int64_t n) {
  SoftmaxStats st{kNegInf, 0.0, true};
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t len = std::min(kChunk, n - c0);
    bool finite = true;
    const float cm = chunk_max(x + c0, len, &finite);
    if (!finite) return {0.0f, 0.0, false};
    if (cm > st.max) {
      st.sum *= std::exp(static_cast<double>(st.max) - cm);
      st.max = cm;
    }
    st.sum += exp_block<false>(x + c0, len, st.max, 1.0f, nullptr);
  }
  return st;
}

DIST2_AVX2 SoftmaxStats softmax_stats_store(const float* x, int64_t n, float* e, float* chunk_max_out) {
  SoftmaxStats st{kNegInf, 0.0, true};
  for (int64_t c0 = 0, c = 0; c0 < n; c0 += kChunk, ++c) {
    const int64_t len = std::min(kChunk, n - c0);
    bool finite = true;
    const float cm = chunk_max(x + c0, len, &finite);
    if (!finite) return {0.0f, 0.0, false};
    if (cm > st.max) {
      st.sum *= std::exp(static_cast<double>(st.max) - cm);
      st.max = cm;
    }
    chunk_max_out[c] = st.max;
    st.sum += exp_block<true>(x + c0, len, st.max, 1.0f, e + c0);
  }
  return st;
}

DIST2_AVX2 void scale_chunks(float* e, int64_t n, const float* chunk_max, float max, double scale) {
  for (int64_t c0 = 0, c = 0; c0 < n; c0 += kChunk, ++c) {
    const auto f = static_cast<float>(scale * std::exp(static_cast<double>(chunk_max[c]) - max));
    const __m256 fv = _mm256_set1_ps(f);
    const int64_t end = std::min(n, c0 + kChunk);
    int64_t i = c0;
    for (; i + 32 <= end; i += 32) {
      _mm256_storeu_ps(e + i, _mm256_mul_ps(_mm256_loadu_ps(e + i), fv));
      _mm256_storeu_ps(e + i + 8, _mm256_mul_ps(_mm256_loadu_ps(e + i + 8), fv));
      _mm256_storeu_ps(e + i + 16, _mm256_mul_ps(_mm256_loadu_ps(e + i + 16), fv));
      _mm256_storeu_ps(e + i + 24, _mm256_mul_ps(_mm256_loadu_ps(e + i + 24), fv));
    }
    for (; i + 8 <= end; i += 8) _mm256_storeu_ps(e + i, _mm256_mul_ps(_mm256_loadu_ps(e + i), fv));
    for (; i < end; ++i) e[i] *= f;
  }
}

DIST2_AVX2 bool all_finite(const float* x, int64_t n) {
  __m256 c0 = _mm256_setzero_ps(), c1 = c0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
    c0 = _mm256_add_ps(c0, _mm256_sub_ps(a, a));
    c1 = _mm256_add_ps(c1, _mm256_sub_ps(b, b));
  }
  bool ok = lanes_finite(_mm256_add_ps(c0, c1));
  for (; i < n; ++i) ok = ok && std::isfinite(x[i]);
  return ok;
}

DIST2_AVX2 float max_of(const float* x, int64_t n) {
  bool finite = true;
  return chunk_max(x, n, &finite);
}

DIST2_AVX2 double scaled_exp(const float* x, int64_t n, float shift, float scale, float* out) {
  double total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk)
    total += exp_block<true>(x + c0, std::min(kChunk, n - c0), shift, scale, out + c0);
  return total;
}

DIST2_AVX2 double shifted_sum(const float* x, int64_t n, float shift) {
  const __m256 sh = _mm256_set1_ps(shift);
  double total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t end = std::min(n, c0 + kChunk);
    __m256 s0 = _mm256_setzero_ps();
    int64_t i = c0;
    for (; i + 8 <= end; i += 8) s0 = _mm256_add_ps(s0, _mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
    total += hsum(s0);
    for (; i < end; ++i) total += x[i] - shift;
  }
  return total;
}

DIST2_AVX2 double weighted_diff_sum(const float* w, const float* a, float a_shift, const float* b, float b_shift,
                                    int64_t n) {
  const __m256 ash = _mm256_set1_ps(a_shift), bsh = _mm256_set1_ps(b_shift);
  double total = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t end = std::min(n, c0 + kChunk);
    __m256 s0 = _mm256_setzero_ps();
    int64_t i = c0;
    for (; i + 8 <= end; i += 8) {
      const __m256 da = _mm256_sub_ps(_mm256_loadu_ps(a + i), ash);
      const __m256 db = _mm256_sub_ps(_mm256_loadu_ps(b + i), bsh);
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_sub_ps(da, db), s0);
    }
    total += hsum(s0);
    for (; i < end; ++i) total += w[i] * ((a[i] - a_shift) - (b[i] - b_shift));
  }
  return total;
}

DIST2_AVX2 void neg_sq_distance(const float* cb, int64_t m, int64_t d, const float* e, float scale, float* out) {
  const __m256 sc = _mm256_set1_ps(-scale);
  int64_t k = 0;
  for (; k + 8 <= m; k += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < d; ++i) {
      const __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(cb + i * m + k), _mm256_set1_ps(e[i]));
      acc = _mm256_fmadd_ps(diff, diff, acc);
    }
    _mm256_storeu_ps(out + k, _mm256_mul_ps(acc, sc));
  }
  for (; k < m; ++k) {
    float acc = 0;
    for (int64_t i = 0; i < d; ++i) {
      const float diff = cb[i * m + k] - e[i];
      acc += diff * diff;
    }
    out[k] = -scale * acc;
  }
}

DIST2_AVX2 void neg_cos_distance(const float* cb, int64_t m, int64_t d, const float* u, float scale, float* out) {
  const __m256 sc = _mm256_set1_ps(-scale), one = _mm256_set1_ps(1.0f);
  int64_t k = 0;
  for (; k + 8 <= m; k += 8) {
    __m256 dot = _mm256_setzero_ps();
    for (int64_t i = 0; i < d; ++i)
      dot = _mm256_fmadd_ps(_mm256_loadu_ps(cb + i * m + k), _mm256_set1_ps(u[i]), dot);
    _mm256_storeu_ps(out + k, _mm256_mul_ps(_mm256_sub_ps(one, dot), sc));
  }
  for (; k < m; ++k) {
    float dot = 0;
    for (int64_t i = 0; i < d; ++i) dot += cb[i * m + k] * u[i];
    out[k] = -scale * (1.0f - dot);
  }
}

#undef DIST2_AVX2
}  // namespace avx2
#endif

bool cpu_has_avx2() {
#ifdef DIST2_HAVE_AVX2_PATH
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

std::atomic<bool> g_prefer_scalar{false};

bool use_avx2() { return cpu_has_avx2() && !g_prefer_scalar.load(std::memory_order_relaxed); }

}  // namespace

#ifdef DIST2_HAVE_AVX2_PATH
#define DIST2_VEC_DISPATCH(fn, ...) return use_avx2() ? avx2::fn(__VA_ARGS__) : scalar::fn(__VA_ARGS__)
#else
#define DIST2_VEC_DISPATCH(fn, ...) return scalar::fn(__VA_ARGS__)
#endif

SoftmaxStats softmax_stats(const float* x, int64_t n) { DIST2_VEC_DISPATCH(softmax_stats, x, n); }
SoftmaxStats softmax_stats_store(const float* x, int64_t n, float* e, float* chunk_max) {
  DIST2_VEC_DISPATCH(softmax_stats_store, x, n, e, chunk_max);
}
void scale_chunks(float* e, int64_t n, const float* chunk_max, float max, double scale) {
  DIST2_VEC_DISPATCH(scale_chunks, e, n, chunk_max, max, scale);
}
bool all_finite(const float* x, int64_t n) { DIST2_VEC_DISPATCH(all_finite, x, n); }
float max_of(const float* x, int64_t n) { DIST2_VEC_DISPATCH(max_of, x, n); }
double scaled_exp(const float* x, int64_t n, float shift, float scale, float* out) {
  DIST2_VEC_DISPATCH(scaled_exp, x, n, shift, scale, out);
}
double shifted_sum(const float* x, int64_t n, float shift) { DIST2_VEC_DISPATCH(shifted_sum, x, n, shift); }
double weighted_diff_sum(const float* w, const float* a, float a_shift, const float* b, float b_shift, int64_t n) {
  DIST2_VEC_DISPATCH(weighted_diff_sum, w, a, a_shift, b, b_shift, n);
}
void neg_sq_distance(const float* cb, int64_t m, int64_t d, const float* e, float scale, float* out) {
  DIST2_VEC_DISPATCH(neg_sq_distance, cb, m, d, e, scale, out);
}
void neg_cos_distance(const float* cb, int64_t m, int64_t d, const float* u, float scale, float* out) {
  DIST2_VEC_DISPATCH(neg_cos_distance, cb, m, d, u, scale, out);
}

const char* vec_isa() { return use_avx2() ? "avx2" : "scalar"; }
void prefer_scalar_vec_ops(bool on) { g_prefer_scalar.store(on, std::memory_order_relaxed); }

}  // namespace dist2::kernels::cpu
