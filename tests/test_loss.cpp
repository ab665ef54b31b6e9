// The reference DIST² loss against an independent float64 computation written
// with plain loops, finite differences for gradients, and hand-made cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

#include "dist2/loss/loss.h"
#include "dist2/loss/soft_target.h"
#include "dist2/tokenizer/tokenizer.h"
#include "dist2/util/error.h"

using namespace dist2;

namespace {

std::vector<double> to_vec(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// ---- An independent float64 implementation with loops (no LibTorch ops). ----
struct Case {
  int64_t n = 0, v = 0;
  std::vector<double> logits;            // n * v
  std::vector<int64_t> targets;          // n
  std::vector<int64_t> vd_ids;           // M
  std::vector<double> vd_values;         // M
  std::vector<double> weights;           // n, empty = 1
  MetricKind metric = MetricKind::squared;
};

double logsumexp(const std::vector<double>& x) {
  double m = -INFINITY;
  for (double a : x) m = std::max(m, a);
  double s = 0;
  for (double a : x) s += std::exp(a - m);
  return m + std::log(s);
}

double loop_loss(const Case& c, const LossOptions& o) {
  const size_t m = c.vd_ids.size();
  double ce = 0, aux = 0, wsum = 0;
  int64_t supervised = 0;
  for (int64_t t = 0; t < c.n; ++t) {
    if (c.targets[t] == o.ignore_index) continue;
    std::vector<double> row(c.logits.begin() + t * c.v, c.logits.begin() + (t + 1) * c.v);
    const double lse = logsumexp(row);
    ce += lse - row[c.targets[t]];
    ++supervised;
    int64_t xi = -1;
    for (size_t j = 0; j < m; ++j)
      if (c.vd_ids[j] == c.targets[t]) xi = static_cast<int64_t>(j);
    if (xi < 0) continue;
    std::vector<double> lv(m), logq(m);
    for (size_t j = 0; j < m; ++j) lv[j] = row[c.vd_ids[j]];
    const double lse_d = o.q == QNorm::subvocab ? logsumexp(lv) : lse;
    for (size_t j = 0; j < m; ++j) logq[j] = lv[j] - lse_d;
    const double y = c.vd_values[xi];
    double l = 0;
    if (o.kind == LossKind::vocab) {
      l = -logq[xi];
    } else if (o.kind == LossKind::label_smoothing || o.kind == LossKind::dist) {
      std::vector<double> p(m);
      double z = 0;
      for (size_t j = 0; j < m; ++j) {
        const double d = c.metric == MetricKind::squared ? (c.vd_values[j] - y) * (c.vd_values[j] - y)
                                                         : std::abs(c.vd_values[j] - y);
        p[j] = o.kind == LossKind::dist ? std::exp(-d / o.tau)
                                        : o.smoothing / m + (static_cast<int64_t>(j) == xi ? 1 - o.smoothing : 0);
        z += p[j];
      }
      for (size_t j = 0; j < m; ++j) {
        p[j] /= z;
        if (p[j] > 0) l += p[j] * (std::log(p[j]) - logq[j]);
      }
    } else if (o.kind == LossKind::ntl_was) {
      for (size_t j = 0; j < m; ++j) l += std::exp(logq[j]) * std::abs(c.vd_values[j] - y);
    } else if (o.kind == LossKind::ntl_mse) {
      double e = 0;
      for (size_t j = 0; j < m; ++j) e += std::exp(logq[j]) * c.vd_values[j];
      l = (e - y) * (e - y);
    }
    const double w = c.weights.empty() ? 1.0 : c.weights[t];
    aux += w * l;
    wsum += w;
  }
  if (o.reduction == Reduction::mean) {
    ce = supervised ? ce / supervised : 0.0;
    aux = wsum > 0 ? aux / wsum : 0.0;
  }
  return o.kind == LossKind::sft ? ce : ce + o.alpha * aux;
}

Case random_case(uint64_t seed, int64_t n, int64_t v, int64_t m, int64_t vd_start) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 2.0);
  Case c;
  c.n = n, c.v = v;
  for (int64_t i = 0; i < n * v; ++i) c.logits.push_back(normal(rng));
  for (int64_t j = 0; j < m; ++j) {
    c.vd_ids.push_back(vd_start + j);
    c.vd_values.push_back(static_cast<double>(j));
  }
  std::uniform_int_distribution<int64_t> any(0, v - 1), in_vd(0, m - 1), coin(0, 3);
  std::uniform_real_distribution<double> wdist(0.5, 4.0);
  for (int64_t t = 0; t < n; ++t) {
    const int64_t r = coin(rng);
    c.targets.push_back(r == 0 ? -100 : r == 1 ? any(rng) : c.vd_ids[in_vd(rng)]);
    c.weights.push_back(wdist(rng));
  }
  return c;
}

LossBatch to_batch(const Case& c, bool with_weights) {
  LossBatch b;
  b.logits = torch::tensor(c.logits, torch::kFloat64).view({c.n, c.v});
  b.targets = torch::tensor(c.targets, torch::kInt64);
  if (with_weights) b.weights = torch::tensor(c.weights, torch::kFloat64);
  return b;
}

MetricSpace space_of(const Case& c) { return MetricSpace::scalar(c.vd_ids, c.vd_values, c.metric); }

std::vector<LossKind> all_kinds() {
  return {LossKind::sft, LossKind::vocab, LossKind::label_smoothing, LossKind::dist, LossKind::ntl_was,
          LossKind::ntl_mse};
}

}  // namespace

TEST_CASE("soft target matches hand-computed Gaussian weights", "[loss]") {
  auto m = MetricSpace::scalar({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (double tau : {0.5, 1.0, 2.0, 7.0}) {
    auto p = to_vec(soft_target(m, torch::tensor({5}), tau)[0]);
    double z = 0;
    for (int v = 0; v < 10; ++v) z += std::exp(-(v - 5.0) * (v - 5.0) / tau);
    double sum = 0;
    for (int v = 0; v < 10; ++v) {
      REQUIRE(p[v] == Approx(std::exp(-(v - 5.0) * (v - 5.0) / tau) / z).epsilon(1e-12));
      sum += p[v];
    }
    REQUIRE(sum == Approx(1.0).epsilon(1e-12));
    for (int k = 1; k <= 4; ++k) REQUIRE(p[5 + k] == Approx(p[5 - k]).epsilon(1e-12));  // symmetric
  }
  // Hand value: tau = 2 (sigma = 1), p(5) = 1 / sum_k exp(-k^2/2) over k = -5..4.
  double z = 0;
  for (int k = -5; k <= 4; ++k) z += std::exp(-k * k / 2.0);
  REQUIRE(to_vec(soft_target(m, torch::tensor({5}), tau_from_sigma(1.0)))[5] == Approx(1.0 / z).epsilon(1e-12));
}

TEST_CASE("soft target tends to one-hot as tau goes to 0, uniform as tau grows", "[loss]") {
  auto m = MetricSpace::scalar({3, 4, 5, 6}, {0, 1, 2, 3}, MetricKind::absolute);
  auto sharp = to_vec(soft_target(m, torch::tensor({2}), 1e-3)[0]);
  REQUIRE(sharp[2] == Approx(1.0).margin(1e-12));
  REQUIRE(sharp[1] < 1e-100);
  auto flat = to_vec(soft_target(m, torch::tensor({2}), 1e9)[0]);
  for (double p : flat) REQUIRE(p == Approx(0.25).epsilon(1e-6));
}

TEST_CASE("random metric is reproducible by seed, differs across seeds, keeps the value range", "[loss]") {
  std::vector<int64_t> ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> vals{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  auto a = MetricSpace::random(ids, vals, 7), b = MetricSpace::random(ids, vals, 7), c = MetricSpace::random(ids, vals, 8);
  auto all = torch::arange(10);
  auto da = a.distances_from(all), db = b.distances_from(all), dc = c.distances_from(all);
  REQUIRE(torch::equal(da, db));
  REQUIRE(!torch::equal(da, dc));
  REQUIRE(torch::allclose(da, da.t()));
  REQUIRE(da.diag().abs().max().item<double>() == 0.0);
  auto off = da.masked_select(~torch::eye(10, torch::kBool));
  REQUIRE(off.min().item<double>() >= 1.0);   // smallest squared distance between distinct digits
  REQUIRE(off.max().item<double>() <= 81.0);  // largest
  // Not the real metric: the random table is not monotone in |v - x|.
  auto sq = MetricSpace::scalar(ids, vals).distances_from(all);
  REQUIRE(!torch::allclose(da, sq));
}

TEST_CASE("permuted metric: squared distance of permuted values, as sharp as the real metric, no order", "[loss]") {
  std::vector<int64_t> ids(21);
  std::vector<double> vals(21);
  for (int i = 0; i <= 20; ++i) ids[static_cast<size_t>(i)] = 100 + i, vals[static_cast<size_t>(i)] = i;
  const auto all = torch::arange(21);
  const auto a = MetricSpace::permuted(ids, vals, 3), b = MetricSpace::permuted(ids, vals, 3);
  const auto c = MetricSpace::permuted(ids, vals, 4);
  const auto da = a.distances_from(all);
  REQUIRE(a.kind() == MetricKind::permuted);
  REQUIRE(torch::equal(da, b.distances_from(all)));
  REQUIRE(!torch::equal(da, c.distances_from(all)));
  // Row x must be (pi(v) - pi(x))^2 for one permutation pi of the values. A token
  // whose row reaches 20^2 holds an extreme value: call it pi = 0; then every
  // pi(x) = sqrt(d(x, that token)), and every entry is checked by hand in float64.
  const auto rows = da.accessor<double, 2>();
  int64_t extreme = -1;
  for (int64_t x = 0; x <= 20 && extreme < 0; ++x)
    if (da[x].max().item<double>() == 400.0) extreme = x;
  REQUIRE(extreme >= 0);
  std::vector<double> pi(21);
  std::vector<int> seen(21, 0);
  for (int64_t x = 0; x <= 20; ++x) {
    pi[static_cast<size_t>(x)] = std::sqrt(rows[x][extreme]);
    REQUIRE(pi[static_cast<size_t>(x)] == std::round(pi[static_cast<size_t>(x)]));
    ++seen.at(static_cast<size_t>(pi[static_cast<size_t>(x)]));
  }
  for (int k : seen) REQUIRE(k == 1);  // a permutation of 0..20
  for (int64_t x = 0; x <= 20; ++x)
    for (int64_t y = 0; y <= 20; ++y) {
      const double d = pi[static_cast<size_t>(x)] - pi[static_cast<size_t>(y)];
      REQUIRE(rows[x][y] == d * d);
    }
  bool identity = true;
  for (int x = 0; x <= 20; ++x) identity = identity && (pi[static_cast<size_t>(x)] == x || pi[static_cast<size_t>(x)] == 20 - x);
  REQUIRE(!identity);  // neither the real order nor its mirror
  // The same soft-target sharpness as the real metric: the mean entropy over targets is equal.
  const auto sq = MetricSpace::scalar(ids, vals);
  REQUIRE(mean_target_entropy(a, 2.0) == Approx(mean_target_entropy(sq, 2.0)).epsilon(1e-12));
  // The uniform random table is far sharper (the control it replaces).
  REQUIRE(mean_target_entropy(MetricSpace::random(ids, vals, 3), 2.0) < 0.5 * mean_target_entropy(sq, 2.0));
}

TEST_CASE("embedding metrics match their definitions", "[loss]") {
  auto emb = torch::randn({6, 4}, torch::kFloat64);
  std::vector<int64_t> ids{10, 11, 12, 13, 14, 15};
  auto mse = MetricSpace::embedding(ids, emb, MetricKind::embedding_mse).distances_from(torch::tensor({1, 4}));
  auto cos = MetricSpace::embedding(ids, emb, MetricKind::embedding_cosine).distances_from(torch::tensor({1, 4}));
  for (int r = 0; r < 2; ++r) {
    const int x = r == 0 ? 1 : 4;
    for (int v = 0; v < 6; ++v) {
      double s = 0, dot = 0, na = 0, nb = 0;
      for (int k = 0; k < 4; ++k) {
        const double a = emb[v][k].item<double>(), b = emb[x][k].item<double>();
        s += (a - b) * (a - b), dot += a * b, na += a * a, nb += b * b;
      }
      REQUIRE(mse[r][v].item<double>() == Approx(s / 4).margin(1e-12));
      REQUIRE(cos[r][v].item<double>() == Approx(1 - dot / std::sqrt(na * nb)).margin(1e-12));
    }
  }
}

TEST_CASE("distance table from a file", "[loss]") {
  const std::string path = "/tmp/dist2_test_table.csv";
  {
    std::ofstream f(path);
    f << "0, 1, 4\n1 0 1\n4,1,0\n";
  }
  auto m = MetricSpace::table_from_file({7, 8, 9}, path);
  REQUIRE(m.distances_from(torch::tensor({0}))[0][2].item<double>() == 4.0);
  {
    std::ofstream f(path);
    f << "0 1\n1 x\n";
  }
  REQUIRE_THROWS_WITH(MetricSpace::table_from_file({7, 8}, path), Catch::Contains(":2: 'x' is not a number"));
  REQUIRE_THROWS_WITH(MetricSpace::table_from_file({7, 8, 9}, "/nonexistent/t.csv"), Catch::Contains("cannot read"));
}

TEST_CASE("every loss kind matches an independent float64 computation", "[loss]") {
  int seed = 0;
  for (auto [v, m, start] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{23, 10, 0}, {37, 10, 13}, {50, 7, 43}}) {
    for (LossKind kind : all_kinds())
      for (QNorm q : {QNorm::subvocab, QNorm::full})
        for (Reduction red : {Reduction::mean, Reduction::sum})
          for (MetricKind mk : {MetricKind::squared, MetricKind::absolute})
            for (bool weighted : {false, true}) {
              Case c = random_case(++seed, 17, v, m, start);
              c.metric = mk;
              if (!weighted) c.weights.clear();
              LossOptions o;
              o.kind = kind, o.q = q, o.reduction = red, o.alpha = 0.3, o.tau = 1.7;
              auto got = reference_loss(to_batch(c, weighted), space_of(c), o).total.item<double>();
              const double want = loop_loss(c, o);
              INFO(to_string(kind) << " q=" << to_string(q) << " red=" << to_string(red) << " V=" << v);
              REQUIRE(std::abs(got - want) <= 1e-6 * std::abs(want));
            }
  }
}

TEST_CASE("gradients match central finite differences", "[loss]") {
  for (LossKind kind : all_kinds())
    for (QNorm q : {QNorm::subvocab, QNorm::full}) {
      Case c = random_case(99, 6, 15, 10, 3);
      LossOptions o;
      o.kind = kind, o.q = q, o.alpha = 0.5;
      auto b = to_batch(c, true);
      b.logits.requires_grad_(true);
      auto loss = reference_loss(b, space_of(c), o).total;
      loss.backward();
      auto grad = to_vec(b.logits.grad());
      const double h = 1e-6;
      for (size_t i = 0; i < c.logits.size(); i += 7) {
        Case plus = c, minus = c;
        plus.logits[i] += h;
        minus.logits[i] -= h;
        const double fd = (loop_loss(plus, o) - loop_loss(minus, o)) / (2 * h);
        INFO(to_string(kind) << " q=" << to_string(q) << " i=" << i);
        REQUIRE(grad[i] == Approx(fd).margin(1e-7).epsilon(1e-5));
      }
    }
}

TEST_CASE("alpha = 0 equals sft; sft ignores the metric", "[loss]") {
  Case c = random_case(5, 12, 20, 10, 4);
  LossOptions sft;
  sft.kind = LossKind::sft;
  const double base = reference_loss(to_batch(c, true), space_of(c), sft).total.item<double>();
  for (LossKind kind : all_kinds()) {
    LossOptions o;
    o.kind = kind, o.alpha = 0.0;
    REQUIRE(reference_loss(to_batch(c, true), space_of(c), o).total.item<double>() == Approx(base).epsilon(1e-12));
  }
}

TEST_CASE("vocab and label_smoothing on hand-made cases", "[loss]") {
  // One position, vocabulary {a, 0, 1, 2}, V_d = {1, 2, 3} with values 0, 1, 2; target token 2 (value 1).
  LossBatch b;
  b.logits = torch::tensor({{0.0, std::log(1.0), std::log(2.0), std::log(1.0)}}, torch::kFloat64);
  b.targets = torch::tensor({2}, torch::kInt64);
  auto m = MetricSpace::scalar({1, 2, 3}, {0, 1, 2});
  LossOptions o;
  o.alpha = 1.0;
  // Full softmax: exp(0)=1, 1, 2, 1 -> p(target) = 2/5; over V_d: q = (1, 2, 1) / 4.
  const double ce = -std::log(2.0 / 5.0);
  o.kind = LossKind::vocab;
  REQUIRE(reference_loss(b, m, o).total.item<double>() == Approx(ce - std::log(0.5)).epsilon(1e-12));
  o.kind = LossKind::label_smoothing;
  o.smoothing = 0.3;  // ls = (0.1, 0.8, 0.1)
  const double kl = 0.1 * std::log(0.1 / 0.25) + 0.8 * std::log(0.8 / 0.5) + 0.1 * std::log(0.1 / 0.25);
  REQUIRE(reference_loss(b, m, o).total.item<double>() == Approx(ce + kl).epsilon(1e-12));
  // q over the full softmax: q = (1, 2, 1) / 5.
  o.kind = LossKind::vocab;
  o.q = QNorm::full;
  REQUIRE(reference_loss(b, m, o).total.item<double>() == Approx(ce - std::log(0.4)).epsilon(1e-12));
}

TEST_CASE("place weights count from the right inside each number", "[loss][tokenizer]") {
  auto weights = [](NumberSplit s, const std::string& text) {
    Tokenizer tok(s);
    auto e = tok.encode(text);
    std::vector<float> w;
    for (size_t i = 0; i < e.ids.size(); ++i)
      if (e.is_number[i]) w.push_back(e.place[i]);
    return w;
  };
  using V = std::vector<float>;
  REQUIRE(weights(NumberSplit::digits, "1234") == V{4, 3, 2, 1});
  REQUIRE(weights(NumberSplit::digits, "12.34") == V{4, 3, 2, 1});
  REQUIRE(weights(NumberSplit::digits, "0.123") == V{4, 3, 2, 1});
  REQUIRE(weights(NumberSplit::chunk3, "1234") == V{2, 1});
  REQUIRE(weights(NumberSplit::chunk3, "12.34") == V{2, 1});
  REQUIRE(weights(NumberSplit::chunk3, "0.123") == V{2, 1});
  REQUIRE(weights(NumberSplit::digits, "y=7, x=10") == V{1, 2, 1});
}

TEST_CASE("tokenizer: number tokens carry their values and text round-trips", "[tokenizer]") {
  Tokenizer d(NumberSplit::digits), c(NumberSplit::chunk3);
  REQUIRE(d.number_token_ids().size() == 10);
  REQUIRE(c.number_token_ids().size() == 1000);
  for (size_t i = 0; i < 10; ++i) REQUIRE(d.token_text(d.number_token_ids()[i]) == std::to_string(i));
  REQUIRE(c.number_value(c.number_token_ids()[417]) == 417.0);
  for (const std::string s : {"x=0.123 y=1234567, z=1000005 w=12.5; 3.000", "a.5 b 007 \n\t!"}) {
    REQUIRE(d.decode(d.encode_ids(s)) == s);
  }
  // chunk3 aligns chunks with place value; values are base-1000 digits.
  auto e = c.encode("1234567");
  REQUIRE(e.ids == std::vector<int64_t>{c.number_token(1), c.number_token(234), c.number_token(567)});
  REQUIRE(c.decode(c.encode_ids("x=1000005 y=0.123 z=12.5")) == "x=1000005 y=0.123 z=12.500");
  REQUIRE(c.decode(c.encode_ids("1000005")) == "1000005");
}

TEST_CASE("entropy matching hits the requested entropy", "[loss]") {
  auto digits = MetricSpace::scalar({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (double h : {0.3, 1.0, 2.0}) {
    const double tau = tau_for_entropy(digits, h);
    REQUIRE(mean_target_entropy(digits, tau) == Approx(h).epsilon(1e-8));
  }
  // A codebook: entropy matching over sampled targets also lands on the request.
  auto codebook = MetricSpace::embedding([] { std::vector<int64_t> ids(300); std::iota(ids.begin(), ids.end(), 0); return ids; }(),
                                         torch::randn({300, 8}, torch::kFloat64));
  const double tau = tau_for_entropy(codebook, 3.0, 64);
  REQUIRE(mean_target_entropy(codebook, tau, 64) == Approx(3.0).epsilon(1e-6));
  REQUIRE_THROWS_WITH(tau_for_entropy(digits, std::log(10.0) + 0.1), Catch::Contains("target entropy must lie in"));
}

TEST_CASE("bad inputs raise with a message that names the culprit", "[loss]") {
  auto m = MetricSpace::scalar({1, 2, 3}, {0, 1, 2});
  LossOptions o;
  auto batch = [] {
    LossBatch b;
    b.logits = torch::randn({4, 6});
    b.targets = torch::tensor({1, 2, 5, -100}, torch::kInt64);
    return b;
  };
  REQUIRE_NOTHROW(reference_loss(batch(), m, o));
  REQUIRE_THROWS_WITH(MetricSpace::scalar({}, {}), Catch::Contains("V_d is empty"));
  REQUIRE_THROWS_WITH(MetricSpace::scalar({1, 1}, {0, 1}), Catch::Contains("twice"));
  {
    auto b = batch();
    b.metric_mask = torch::tensor({true, true, true, false});  // target 5 is not in V_d
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("target token 5 at metric position 2 is not in"));
  }
  {
    LossOptions bad = o;
    bad.tau = 0;
    REQUIRE_THROWS_WITH(reference_loss(batch(), m, bad), Catch::Contains("tau must be"));
    bad.tau = 1, bad.alpha = -1;
    REQUIRE_THROWS_WITH(reference_loss(batch(), m, bad), Catch::Contains("alpha must be"));
  }
  {
    auto b = batch();
    b.targets = torch::tensor({1, 2, 3}, torch::kInt64);
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("targets must be [N] with N = 4"));
    b = batch();
    b.targets = torch::tensor({1, 2, 9, 0}, torch::kInt64);
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("target 9 at position 2 is outside the vocabulary"));
    b = batch();
    b.logits = torch::randn({4, 3});
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("V_d holds token id 3"));
  }
  {
    auto b = batch();
    b.logits[2][4] = std::numeric_limits<float>::quiet_NaN();
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("non-finite logit nan at position 2 (vocabulary id 4)"));
    b = batch();
    b.logits[3][0] = INFINITY;
    REQUIRE_THROWS_WITH(reference_loss(b, m, o), Catch::Contains("at position 3"));
  }
  {
    LossOptions ntl = o;
    ntl.kind = LossKind::ntl_mse;
    auto table = MetricSpace::table({1, 2, 3}, torch::zeros({3, 3}, torch::kFloat64));
    REQUIRE_THROWS_WITH(reference_loss(batch(), table, ntl), Catch::Contains("needs scalar token values"));
  }
  REQUIRE_THROWS_WITH(parse_loss_kind("dits"), Catch::Contains("valid: sft, vocab"));
  REQUIRE_THROWS_WITH(parse_metric_kind("euclid"), Catch::Contains("unknown metric 'euclid'"));
}

TEST_CASE("no metric positions or no supervised positions give 0, not NaN", "[loss]") {
  auto m = MetricSpace::scalar({1, 2, 3}, {0, 1, 2});
  LossBatch b;
  b.logits = torch::randn({3, 6}, torch::kFloat64);
  b.targets = torch::tensor({-100, -100, -100}, torch::kInt64);
  auto r = reference_loss(b, m, LossOptions{});
  REQUIRE(r.total.item<double>() == 0.0);
  b.targets = torch::tensor({0, 4, 5}, torch::kInt64);  // supervised, none in V_d
  r = reference_loss(b, m, LossOptions{});
  REQUIRE(r.aux.item<double>() == 0.0);
  REQUIRE(std::isfinite(r.total.item<double>()));
}

TEST_CASE("contrastive augmentation adds one entry to the KL", "[loss]") {
  // V_d = {0..3} values 0..3, one position, target value 2, candidate token value 1 at distance 1.5.
  auto m = MetricSpace::scalar({0, 1, 2, 3}, {0, 1, 2, 3});
  LossBatch b;
  std::vector<double> l{0.3, -0.2, 1.1, 0.4};
  b.logits = torch::tensor(l, torch::kFloat64).view({1, 4});
  b.targets = torch::tensor({2}, torch::kInt64);
  b.contrast_index = torch::tensor({1}, torch::kInt64);
  b.contrast_distance = torch::tensor({1.5}, torch::kFloat64);
  LossOptions o;
  o.alpha = 1.0, o.tau = 2.0;
  std::vector<double> ext = {l[0], l[1], l[2], l[3], l[1]};
  std::vector<double> d = {4, 1, 0, 1, 1.5};
  const double lse = logsumexp(ext);
  double z = 0, kl = 0;
  for (double x : d) z += std::exp(-x / 2);
  for (size_t j = 0; j < 5; ++j) {
    const double p = std::exp(-d[j] / 2) / z;
    kl += p * (std::log(p) - (ext[j] - lse));
  }
  const double ce = logsumexp(l) - l[2];
  REQUIRE(reference_loss(b, m, o).total.item<double>() == Approx(ce + kl).epsilon(1e-12));
  b.contrast_index = torch::tensor({-1}, torch::kInt64);  // no candidate: plain dist
  o.kind = LossKind::dist;
  LossBatch plain;
  plain.logits = b.logits, plain.targets = b.targets;
  REQUIRE(reference_loss(b, m, o).total.item<double>() ==
          Approx(reference_loss(plain, m, o).total.item<double>()).epsilon(1e-12));
}
