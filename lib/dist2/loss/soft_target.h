#pragma once
// Soft targets p_d(v | x) = softmax_v(-d(v, x) / tau) over V_d (paper eq. 4).
//
// tau vs sigma: the paper calls tau = 1 with d = (v - x)^2 "a unit-variance
// Gaussian", but exp(-(v - x)^2 / 2) is tau = 2 in eq. 4, which is also what the
// authors' scripts use. dist2 takes tau literally and accepts sigma as the other
// spelling: tau = 2 sigma^2.
#include <torch/torch.h>

#include "dist2/loss/metric.h"

namespace dist2 {

inline double tau_from_sigma(double sigma) { return 2.0 * sigma * sigma; }
inline double sigma_from_tau(double tau) { return std::sqrt(tau / 2.0); }

// [N] indices into V_d -> [N, M] float64 probabilities.
torch::Tensor soft_target(const MetricSpace& metric, const torch::Tensor& target_index, double tau);

// Mean entropy (nats) of the soft targets over targets x (every token of V_d,
// or a seeded sample of at most max_targets of them).
double mean_target_entropy(const MetricSpace& metric, double tau, int64_t max_targets = 1024);

// The soft targets at the label tokens (metric.label_indices()), averaged over
// those labels: their entropy in nats over all of V_d, and the mass they put on
// label tokens (Table 8 prints both for the real metric and its permuted control).
struct TargetSummary {
  double mean_entropy = 0, mean_label_mass = 0;
};
TargetSummary summarize_targets(const MetricSpace& metric, double tau);

// tau such that the mean soft-target entropy equals `entropy` (paper appendix C.1),
// by bisection on log tau. `entropy` must lie strictly between 0 and log M.
double tau_for_entropy(const MetricSpace& metric, double entropy, int64_t max_targets = 1024);

}  // namespace dist2
