// The fused DIST² loss on the CPU. The math, per row, is in kernels/fused_loss.h;
// here: z = the row's logits [V], zd = its V_d logits [M], x = the target's
// index in V_d.
//
//   sweep 1 over V    max, sum exp (online, chunked), finiteness     -> ce
//                     (with a gradient: g = exp(z - running max))
//   V_d (M entries)   q's normaliser, soft-target logits a = -d/tau,
//                     their normaliser and the KL sum                 -> aux
//   sweep 2 over V    g *= c exp(running max - max) / sum (no exp per
//                     logit), then g[t] -= ce_scale
//   V_d               g[ids[k]] += s (q_k [subvocab] - P_k)
//
// A contrastive entry e (candidate c, distance d_e) is one more term of each
// V_d sum and of the correction at c (kernels/fused_loss.h).
//
// The gradient of a row may overwrite its logits (in place): everything sweep 2
// and the V_d correction need is in the stats or the scratch by then.
#include "kernels/cpu/fused_loss_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <ATen/Parallel.h>

#include "kernels/cpu/vec_ops.h"

namespace dist2::kernels::cpu {

namespace {
std::atomic<int> last_call_workers{0};  // see fused_loss_workers()
}  // namespace

namespace {

// Per-thread buffers over V_d: never N x V.
struct Scratch {
  std::vector<float> zd;  // [M] V_d logits, gathered before the row may be overwritten
  std::vector<float> qe;  // [M] exp(zd - max zd)          (subvocab q, unnormalised)
  std::vector<float> a;   // [M] soft-target logits -d(k, x) / tau
  std::vector<float> pe;  // [M] exp(a - max a)            (dist P, unnormalised)
  std::vector<float> ex;  // [D] the target's embedding
  std::vector<float> chunk_max;  // running max of sweep 1 after each chunk
  explicit Scratch(const FusedLossArgs& args) {
    const auto m = static_cast<size_t>(args.aux == AuxKind::none ? 0 : args.vd.size);
    zd.resize(m);
    chunk_max.resize(static_cast<size_t>((args.vocab + kSoftmaxChunk - 1) / kSoftmaxChunk));
    qe.resize(args.q == QMode::subvocab ? m : 0);
    a.resize(args.aux == AuxKind::dist ? m : 0);
    pe.resize(args.aux == AuxKind::dist ? m : 0);
    ex.resize(static_cast<size_t>(args.vd.dim));
  }
};

// What sweep 2 and the V_d correction need from the first half of a row.
struct RowStats {
  float max = 0;        // max over V
  double sum = 0;       // sum exp(z - max) over V
  double sum_q = 0;     // sum exp(zd - max zd)     (subvocab)
  double sum_p = 0;     // sum exp(a - max a)       (dist)
  int64_t contrast = -1;     // the contrastive candidate's index in V_d, or -1
  float contrast_logit = 0;  // its soft-target logit a_e = -d_e / tau
  double pe_contrast = 0;    // exp(a_e - max a)
};

// a[k] = -d(k, x) / tau for every k in V_d.
void soft_target_logits(const FusedLossArgs& args, int64_t x, Scratch& sc) {
  const SubVocabulary& vd = args.vd;
  const int64_t m = vd.size;
  const float inv_tau = 1.0f / args.tau;
  float* a = sc.a.data();
  switch (vd.distance) {
    case Distance::squared: {
      const float vx = vd.values[x];
      for (int64_t k = 0; k < m; ++k) {
        const float d = vd.values[k] - vx;
        a[k] = -(d * d) * inv_tau;
      }
      return;
    }
    case Distance::absolute: {
      const float vx = vd.values[x];
      for (int64_t k = 0; k < m; ++k) a[k] = -std::fabs(vd.values[k] - vx) * inv_tau;
      return;
    }
    case Distance::table: {
      const float* row = vd.table + x * m;
      for (int64_t k = 0; k < m; ++k) a[k] = -row[k] * inv_tau;
      return;
    }
    case Distance::codebook_mse:
    case Distance::codebook_cosine: {
      for (int64_t i = 0; i < vd.dim; ++i) sc.ex[static_cast<size_t>(i)] = vd.codebook[i * m + x];
      if (vd.distance == Distance::codebook_mse)
        neg_sq_distance(vd.codebook, m, vd.dim, sc.ex.data(), inv_tau / static_cast<float>(vd.dim), a);
      else
        neg_cos_distance(vd.codebook, m, vd.dim, sc.ex.data(), inv_tau, a);
      return;
    }
  }
  throw std::logic_error("fused loss: unknown distance");
}

// The V_d logits of row z: in place when they are one range and may be read
// there, else gathered into the scratch.
const float* vd_logits(const SubVocabulary& vd, const float* z, bool copy, Scratch& sc) {
  if (vd.contiguous_from >= 0 && !copy) return z + vd.contiguous_from;
  float* out = sc.zd.data();
  if (vd.contiguous_from >= 0) std::copy(z + vd.contiguous_from, z + vd.contiguous_from + vd.size, out);
  else
    for (int64_t k = 0; k < vd.size; ++k) out[k] = z[vd.ids[k]];
  return out;
}

// aux_r of a metric row from its V_d logits zd; fills the scratch the V_d
// correction reads.
double aux_term(const FusedLossArgs& args, const float* zd, int64_t x, RowStats& st, Scratch& sc) {
  const SubVocabulary& vd = args.vd;
  const int64_t m = vd.size;
  // log q_k = (zd_k - base) - log_norm
  float base = st.max;
  double log_norm = std::log(st.sum);
  if (args.q == QMode::subvocab) {
    base = max_of(zd, m);
    st.sum_q = scaled_exp(zd, m, base, 1.0f, sc.qe.data());
    if (st.contrast >= 0) st.sum_q += sc.qe[static_cast<size_t>(st.contrast)];  // z_c counts twice
    log_norm = std::log(st.sum_q);
  }
  const double log_q_x = (static_cast<double>(zd[x]) - base) - log_norm;
  switch (args.aux) {
    case AuxKind::vocab:
      return -log_q_x;
    case AuxKind::label_smoothing: {
      // P = u + (1 - eps) onehot(x), u = eps / M: sum P log P - sum P log q.
      const double eps = args.smoothing, u = eps / static_cast<double>(m), px = 1.0 - eps + u;
      auto xlogx = [](double p) { return p > 0 ? p * std::log(p) : 0.0; };
      const double neg_entropy = static_cast<double>(m - 1) * xlogx(u) + xlogx(px);
      const double sum_log_q = shifted_sum(zd, m, base) - static_cast<double>(m) * log_norm;
      return neg_entropy - (u * sum_log_q + (1.0 - eps) * log_q_x);
    }
    case AuxKind::dist: {
      // P_k = pe_k / sum_p with pe_k = exp(a_k - max a):
      // KL = sum_k P_k ((a_k - max a) - (zd_k - base)) - log sum_p + log_norm.
      soft_target_logits(args, x, sc);
      const bool contrast = st.contrast >= 0;
      const float amax = std::max(max_of(sc.a.data(), m), contrast ? st.contrast_logit : -INFINITY);
      st.sum_p = scaled_exp(sc.a.data(), m, amax, 1.0f, sc.pe.data());
      double t = weighted_diff_sum(sc.pe.data(), sc.a.data(), amax, zd, base, m);
      if (contrast) {
        const double shifted = static_cast<double>(st.contrast_logit) - amax;
        st.pe_contrast = std::exp(shifted);
        if (st.pe_contrast > 0) {  // an infinite distance adds nothing (and no 0 * inf)
          st.sum_p += st.pe_contrast;
          t += st.pe_contrast * (shifted - (static_cast<double>(zd[st.contrast]) - base));
        }
      }
      return t / st.sum_p - std::log(st.sum_p) + log_norm;
    }
    case AuxKind::none:
      break;
  }
  return 0.0;
}

// g[ids[k]] += s (q_k [subvocab] - P_k) over V_d.
void correct_vd(const FusedLossArgs& args, int64_t x, float s, const RowStats& st, const Scratch& sc, float* g) {
  const SubVocabulary& vd = args.vd;
  const int64_t m = vd.size;
  const bool subvocab = args.q == QMode::subvocab;
  const float cq = subvocab ? static_cast<float>(s / st.sum_q) : 0.0f;
  const float* qe = sc.qe.data();
  auto apply = [&](auto&& delta) {
    if (vd.contiguous_from >= 0) {
      float* gd = g + vd.contiguous_from;
      for (int64_t k = 0; k < m; ++k) gd[k] += delta(k);
    } else {
      for (int64_t k = 0; k < m; ++k) g[vd.ids[k]] += delta(k);
    }
  };
  if (args.aux == AuxKind::dist) {
    const float cp = static_cast<float>(s / st.sum_p);
    const float* pe = sc.pe.data();
    if (subvocab) apply([&](int64_t k) { return cq * qe[k] - cp * pe[k]; });
    else apply([&](int64_t k) { return -cp * pe[k]; });
    if (st.contrast >= 0)  // the entry e at the candidate's logit
      g[vd.ids[st.contrast]] += (subvocab ? cq * qe[st.contrast] : 0.0f) - cp * static_cast<float>(st.pe_contrast);
    return;
  }
  // vocab: P = onehot(x); label_smoothing: P = u + (1 - eps) onehot(x).
  const bool smooth = args.aux == AuxKind::label_smoothing;
  const float u = smooth ? static_cast<float>(s * (args.smoothing / static_cast<double>(m))) : 0.0f;
  if (subvocab) apply([&](int64_t k) { return cq * qe[k] - u; });
  else if (u != 0.0f) apply([&](int64_t) { return -u; });
  const float on_x = smooth ? static_cast<float>(s * (1.0 - args.smoothing)) : s;
  g[vd.ids[x]] -= on_x;
}

void run_row(const FusedLossArgs& args, int64_t r, Scratch& sc) {
  const int64_t v = args.vocab;
  const float* z = static_cast<const float*>(args.logits) + r * args.row_stride;
  float* g = args.dlogits ? static_cast<float*>(args.dlogits) + r * args.row_stride : nullptr;
  const int64_t t = args.targets[r];
  const bool supervised = t != args.ignore_index;
  const int64_t x = supervised && args.aux != AuxKind::none && args.metric_index ? args.metric_index[r] : -1;
  args.row_ce[r] = 0.0f;
  args.row_aux[r] = 0.0f;
  args.row_nonfinite[r] = 0;

  if (!supervised) {  // no loss, zero gradient; only the finiteness check
    if (!all_finite(z, v)) {
      args.row_nonfinite[r] = 1;
      return;
    }
    if (g) std::fill(g, g + v, 0.0f);
    return;
  }
  // What the V_d part reads is saved before sweep 1 overwrites z (in place).
  const float z_t = z[t];
  const float* zd = x >= 0 ? vd_logits(args.vd, z, /*copy=*/g == z, sc) : nullptr;
  // With a gradient, sweep 1 leaves exp(z - running max) in g, and sweep 2 only
  // rescales it chunk by chunk: one exp per logit.
  const SoftmaxStats sm = g ? softmax_stats_store(z, v, g, sc.chunk_max.data()) : softmax_stats(z, v);
  if (!sm.finite) {
    args.row_nonfinite[r] = 1;
    return;
  }
  RowStats st;
  if (x >= 0 && args.aux == AuxKind::dist && args.contrast_index && args.contrast_index[r] >= 0) {
    st.contrast = args.contrast_index[r];
    st.contrast_logit = -args.contrast_distance[r] / args.tau;
  }
  st.max = sm.max;
  st.sum = sm.sum;
  // (max - z_t) first: at |z| ~ 1e4 a float lse would lose the small difference.
  args.row_ce[r] = static_cast<float>((static_cast<double>(st.max) - z_t) + std::log(st.sum));
  if (x >= 0) args.row_aux[r] = static_cast<float>(aux_term(args, zd, x, st, sc));
  if (!g) return;

  const float s_aux = x >= 0 ? args.alpha * args.aux_scale[r] : 0.0f;
  const double dense = args.ce_scale + (args.q == QMode::full ? s_aux : 0.0f);
  scale_chunks(g, v, sc.chunk_max.data(), st.max, dense / st.sum);
  g[t] -= args.ce_scale;
  if (x >= 0) correct_vd(args, x, s_aux, st, sc, g);
}

}  // namespace

int64_t first_nonfinite_row(const FusedLossArgs& args) {
  if (args.dtype != LogitType::f32) throw std::invalid_argument("fused loss on the CPU takes float32 logits");
  std::vector<uint8_t> bad(static_cast<size_t>(args.rows), 0);
  at::parallel_for(0, args.rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      bad[static_cast<size_t>(r)] =
          !all_finite(static_cast<const float*>(args.logits) + r * args.row_stride, args.vocab);
  });
  for (int64_t r = 0; r < args.rows; ++r)
    if (bad[static_cast<size_t>(r)]) return r;
  return -1;
}

void fused_loss(const FusedLossArgs& args) {
  if (args.dtype != LogitType::f32) throw std::invalid_argument("fused loss on the CPU takes float32 logits");
  if (args.rows == 0) return;
  // Threads take blocks of rows as they go (metric rows cost more, and a
  // thread may lose its core to another process) rather than fixed halves.
  constexpr int64_t kBlock = 8;
  std::atomic<int64_t> next{0};
  std::atomic<int> workers{0};
  at::parallel_for(0, at::get_num_threads(), 1, [&](int64_t, int64_t) {
    workers.fetch_add(1, std::memory_order_relaxed);
    Scratch scratch(args);
    for (int64_t b = next.fetch_add(kBlock); b < args.rows; b = next.fetch_add(kBlock))
      for (int64_t r = b; r < std::min(args.rows, b + kBlock); ++r) run_row(args, r, scratch);
  });
  last_call_workers.store(workers.load(), std::memory_order_relaxed);
}

int fused_loss_workers() { return last_call_workers.load(std::memory_order_relaxed); }

}  // namespace dist2::kernels::cpu
