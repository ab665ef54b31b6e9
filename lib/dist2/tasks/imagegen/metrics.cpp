#include "dist2/tasks/imagegen/metrics.h"

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"

namespace dist2::imagegen {

Gaussian fit_gaussian(const std::vector<std::vector<double>>& features) {
  DIST2_CHECK(features.size() >= 2, "a Gaussian fit needs at least two feature vectors, got {}", features.size());
  const size_t d = features[0].size(), n = features.size();
  Gaussian g{std::vector<double>(d, 0.0), linalg::Matrix(d), n};
  for (const auto& f : features) {
    DIST2_CHECK(f.size() == d, "feature vectors of {} and {} dimensions", d, f.size());
    for (size_t i = 0; i < d; ++i) g.mean[i] += f[i] / static_cast<double>(n);
  }
  std::vector<double> c(d);
  for (const auto& f : features) {
    for (size_t i = 0; i < d; ++i) c[i] = f[i] - g.mean[i];
    for (size_t i = 0; i < d; ++i)
      for (size_t j = i; j < d; ++j) g.cov(i, j) += c[i] * c[j];
  }
  for (size_t i = 0; i < d; ++i)
    for (size_t j = i; j < d; ++j) g.cov(j, i) = g.cov(i, j) /= static_cast<double>(n - 1);
  return g;
}

double frechet_distance(const Gaussian& a, const Gaussian& b) {
  DIST2_CHECK(a.mean.size() == b.mean.size() && a.cov.n == b.cov.n && a.cov.n == a.mean.size(),
              "Gaussians of {} and {} dimensions", a.mean.size(), b.mean.size());
  double mean_term = 0;
  for (size_t i = 0; i < a.mean.size(); ++i) mean_term += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
  const linalg::Matrix root_a = linalg::sqrt_psd(a.cov);
  linalg::Matrix middle = linalg::multiply(linalg::multiply(root_a, b.cov), root_a);
  for (size_t i = 0; i < middle.n; ++i)  // symmetric in exact arithmetic; make it so in floating point
    for (size_t j = i + 1; j < middle.n; ++j) middle(i, j) = middle(j, i) = (middle(i, j) + middle(j, i)) / 2;
  double cross = 0;
  for (double lambda : linalg::symmetric_eigen(middle).values) cross += std::sqrt(std::max(lambda, 0.0));
  return std::max(0.0, mean_term + linalg::trace(a.cov) + linalg::trace(b.cov) - 2 * cross);
}

InceptionScore inception_score(const std::vector<std::vector<double>>& probs, int splits) {
  DIST2_CHECK(splits >= 1 && probs.size() >= static_cast<size_t>(splits),
              "the inception score needs at least one row per split ({} rows, {} splits)", probs.size(), splits);
  const size_t k = probs[0].size();
  std::vector<double> scores;
  for (int s = 0; s < splits; ++s) {
    const size_t begin = probs.size() * static_cast<size_t>(s) / static_cast<size_t>(splits);
    const size_t end = probs.size() * static_cast<size_t>(s + 1) / static_cast<size_t>(splits);
    std::vector<double> marginal(k, 0.0);
    for (size_t i = begin; i < end; ++i) {
      DIST2_CHECK(probs[i].size() == k, "probability rows of {} and {} classes", k, probs[i].size());
      for (size_t c = 0; c < k; ++c) marginal[c] += probs[i][c] / static_cast<double>(end - begin);
    }
    double kl = 0;
    for (size_t i = begin; i < end; ++i)
      for (size_t c = 0; c < k; ++c)
        if (probs[i][c] > 0) kl += probs[i][c] * std::log(probs[i][c] / marginal[c]);
    scores.push_back(std::exp(kl / static_cast<double>(end - begin)));
  }
  InceptionScore is;
  for (double v : scores) is.mean += v / static_cast<double>(scores.size());
  if (scores.size() > 1) {
    for (double v : scores) is.std += (v - is.mean) * (v - is.mean);
    is.std = std::sqrt(is.std / static_cast<double>(scores.size() - 1));
  }
  return is;
}

}  // namespace dist2::imagegen
