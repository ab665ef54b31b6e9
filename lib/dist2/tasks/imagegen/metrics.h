#pragma once
// The image-generation metrics of paper section 3.5 (Table 4), computed here with
// no downloads: a classifier trained on the same images supplies the features
// (for FID) and the class probabilities (for IS) that Inception-v3 supplies on
// ImageNet. Everything is float64.
#include <vector>

#include "dist2/util/linalg.h"

namespace dist2::imagegen {

// A Gaussian fit of feature vectors: their mean and covariance (n - 1 denominator).
struct Gaussian {
  std::vector<double> mean;
  linalg::Matrix cov;
  size_t n = 0;  // vectors fitted
};
// dist2::Error with fewer than two vectors or vectors of different lengths.
Gaussian fit_gaussian(const std::vector<std::vector<double>>& features);

// The Frechet distance between two Gaussians (FID on classifier features):
//   ||mu_a - mu_b||^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a^1/2 S_b S_a^1/2)^1/2),
// the last term being Tr(sqrtm(S_a S_b)), through two symmetric
// eigendecompositions. Never below 0 (rounding is clamped).
double frechet_distance(const Gaussian& a, const Gaussian& b);

// The Inception Score of class probabilities p(y|x) (rows summing to 1):
// exp(mean_x KL(p(y|x) || p(y))), p(y) the mean row, over each of `splits`
// consecutive parts; mean and sample std over the parts (std 0 for one part).
struct InceptionScore {
  double mean = 0, std = 0;
};
InceptionScore inception_score(const std::vector<std::vector<double>>& probs, int splits = 1);

}  // namespace dist2::imagegen
