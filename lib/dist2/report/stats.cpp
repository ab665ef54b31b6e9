#include "dist2/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace dist2::report {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// |sum| of a sign pattern counts as "at least as extreme" up to rounding: the
// pattern that flips nothing must always count, whatever order the sum ran in.
bool at_least_as_extreme(double pattern_sum, double observed_abs) {
  return std::fabs(pattern_sum) >= observed_abs * (1 - 1e-12) - 1e-300;
}

double exact_sign_flip_p(const std::vector<double>& d, double observed_abs) {
  const size_t n = d.size();
  // Patterns come in pairs s, -s with equal |sum|: enumerate those with the last
  // sign positive and count each twice.
  const uint64_t half = uint64_t{1} << (n - 1);
  uint64_t hits = 0;
  for (uint64_t mask = 0; mask < half; ++mask) {
    double s = d[n - 1];
    for (size_t i = 0; i + 1 < n; ++i) s += (mask >> i & 1) ? -d[i] : d[i];
    hits += at_least_as_extreme(s, observed_abs);
  }
  return static_cast<double>(hits) / static_cast<double>(half);
}

double monte_carlo_sign_flip_p(const std::vector<double>& d, double observed_abs, uint64_t seed,
                               size_t draws) {
  std::mt19937_64 rng(seed);
  uint64_t hits = 0;
  for (size_t k = 0; k < draws; ++k) {
    double s = 0;
    uint64_t bits = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i % 64 == 0) bits = rng();
      s += (bits >> (i % 64) & 1) ? -d[i] : d[i];
    }
    hits += at_least_as_extreme(s, observed_abs);
  }
  return static_cast<double>(1 + hits) / static_cast<double>(1 + draws);
}
}  // namespace

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return kNaN;
  double s = 0;
  for (double x : xs) s += x;
  return s / static_cast<double>(xs.size());
}

double sample_std(const std::vector<double>& xs) {
  if (xs.empty()) return kNaN;
  if (xs.size() == 1) return 0;
  const double m = mean(xs);
  double ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(xs.size() - 1));
}

double quantile(std::vector<double> xs, double q) {
  if (xs.empty()) return kNaN;
  std::sort(xs.begin(), xs.end());
  const double h = q * static_cast<double>(xs.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (h - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

Summary summarize(const std::vector<double>& xs, std::vector<std::string> units) {
  Summary s;
  s.n = xs.size();
  s.mean = mean(xs);
  s.std = sample_std(xs);
  s.median = quantile(xs, 0.5);
  s.q1 = quantile(xs, 0.25);
  s.q3 = quantile(xs, 0.75);
  s.values = xs;
  if (units.size() == xs.size()) s.units = std::move(units);
  return s;
}

std::vector<size_t> outlier_indices(const std::vector<double>& values, double noise_floor) {
  std::vector<size_t> out;
  if (values.size() < 4) return out;
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<double> others;
    for (size_t j = 0; j < values.size(); ++j)
      if (j != i) others.push_back(values[j]);
    const double m = mean(others), sd = std::max(sample_std(others), noise_floor);
    const double dev = std::fabs(values[i] - m);
    const double tol = 1e-9 * std::max(1.0, std::fabs(m));
    if (sd > 0 ? dev > kOutlierSds * sd : dev > tol) out.push_back(i);
  }
  return out;
}

PairedResult paired_sign_flip_test(const std::vector<double>& diffs, uint64_t seed, size_t draws) {
  PairedResult r;
  r.n = diffs.size();
  r.mean_diff = mean(diffs);
  r.std_diff = sample_std(diffs);
  if (diffs.empty()) {
    r.p_value = kNaN;
    return r;
  }
  double observed = 0;
  for (double x : diffs) observed += x;
  const double observed_abs = std::fabs(observed);
  r.exact = diffs.size() <= kExactSignFlipMaxN;
  r.p_value = r.exact ? exact_sign_flip_p(diffs, observed_abs)
                      : monte_carlo_sign_flip_p(diffs, observed_abs, seed, draws);
  return r;
}

double smallest_attainable_p(size_t n) {
  if (n == 0) return 1;
  return std::ldexp(1.0, 1 - static_cast<int>(n));
}

}  // namespace dist2::report
