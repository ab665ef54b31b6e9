#pragma once
// Statistics over seeds: mean, sample std, and the paired sign-flip test that
// compares a loss against the baseline run for run (same seed, same column).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dist2::report {

double mean(const std::vector<double>& xs);         // NaN for an empty vector
double sample_std(const std::vector<double>& xs);   // n-1 denominator; 0 for n=1, NaN for n=0

// The q-quantile of xs by linear interpolation between order statistics (R's
// type 7, numpy's default); NaN for an empty vector.
double quantile(std::vector<double> xs, double q);

// A cell over seeds. The mean and std are what the paper reports; the median and
// quartiles are what a reader can trust when one seed breaks (one diverged run
// can move a mean of five by tens of units). `values` keeps every seed's value,
// `units` names each ("seed=3"), so plots can draw them and tables name outliers.
struct Summary {
  size_t n = 0;
  double mean = 0;
  double std = 0;
  double median = 0;
  double q1 = 0, q3 = 0;  // 25% and 75% quantiles
  std::vector<double> values;
  std::vector<std::string> units;  // parallel to values; may be empty
};
Summary summarize(const std::vector<double>& xs, std::vector<std::string> units = {});

// How far from the others a seed must lie to be named: more than this many
// standard deviations of the other seeds from their mean. With four others their
// std is itself noisy (a t with 3 degrees of freedom), so the bar is high: seed
// noise passes it about 0.3% of the time, a diverged run (tens of its seeds'
// spread away) always.
constexpr double kOutlierSds = 10.0;

// Indices of values that lie far outside the others (needs n >= 4: with fewer
// seeds there is no "others" to speak of): more than kOutlierSds times the larger
// of the others' std and `noise_floor` from the others' mean. A table passes the
// typical seed std of its other cells as the floor, so that three or four seeds
// that happen to agree closely do not make an ordinary fifth one an outlier.
// When the others agree exactly and there is no floor, any difference counts.
std::vector<size_t> outlier_indices(const std::vector<double>& values, double noise_floor = 0);

// Up to this many pairs every sign pattern is enumerated; above, Monte Carlo.
constexpr size_t kExactSignFlipMaxN = 20;
constexpr size_t kMonteCarloDraws = 100000;

struct PairedResult {
  size_t n = 0;            // number of pairs
  double mean_diff = 0;    // mean of d_i = x_i - baseline_i (NaN when n=0)
  double std_diff = 0;     // sample std of d_i
  double p_value = 1;      // two-sided sign-flip permutation p (NaN when n=0)
  bool exact = true;       // all 2^n patterns enumerated (false: Monte Carlo)
};

// Two-sided sign-flip permutation test of "the d_i are symmetric around 0":
// p = share of sign patterns s with |sum s_i d_i| >= |sum d_i|. Exact for
// n <= kExactSignFlipMaxN; above, `draws` random patterns from a generator seeded
// with `seed`, p = (1 + hits) / (1 + draws) so that p is never 0.
PairedResult paired_sign_flip_test(const std::vector<double>& diffs, uint64_t seed = 20240601,
                                   size_t draws = kMonteCarloDraws);

// The smallest p the exact test can give with n pairs: 2 / 2^n (1 for n=0).
double smallest_attainable_p(size_t n);

}  // namespace dist2::report
