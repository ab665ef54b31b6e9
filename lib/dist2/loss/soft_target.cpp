#include "dist2/loss/soft_target.h"

#include <cmath>

#include "dist2/util/error.h"

namespace dist2 {

torch::Tensor soft_target(const MetricSpace& metric, const torch::Tensor& target_index, double tau) {
  DIST2_CHECK(tau > 0 && std::isfinite(tau), "tau must be a finite number > 0, got {}", tau);
  return torch::softmax(-metric.distances_from(target_index) / tau, -1);
}

namespace {
torch::Tensor entropy_targets(const MetricSpace& metric, int64_t max_targets) {
  const int64_t m = metric.size();
  if (m <= max_targets) return torch::arange(m, torch::kInt64);
  auto gen = at::detail::createCPUGenerator(12345);
  return torch::randperm(m, gen, torch::kInt64).slice(0, 0, max_targets);
}

double entropy_at(const MetricSpace& metric, const torch::Tensor& targets, double tau) {
  auto logp = torch::log_softmax(-metric.distances_from(targets) / tau, -1);
  return -(logp.exp() * logp).sum(-1).mean().item<double>();
}
}  // namespace

double mean_target_entropy(const MetricSpace& metric, double tau, int64_t max_targets) {
  DIST2_CHECK(tau > 0 && std::isfinite(tau), "tau must be a finite number > 0, got {}", tau);
  return entropy_at(metric, entropy_targets(metric, max_targets), tau);
}

TargetSummary summarize_targets(const MetricSpace& metric, double tau) {
  const torch::Tensor p = soft_target(metric, metric.label_indices(), tau);  // [L, M]
  TargetSummary s;
  s.mean_entropy = -(p * torch::log(p.clamp_min(1e-300))).sum(-1).mean().item<double>();
  s.mean_label_mass = p.index_select(1, metric.label_indices()).sum(-1).mean().item<double>();
  return s;
}

double tau_for_entropy(const MetricSpace& metric, double entropy, int64_t max_targets) {
  const double h_max = std::log(static_cast<double>(metric.size()));
  DIST2_CHECK(entropy > 0 && entropy < h_max, "target entropy must lie in (0, log M = {:.4f}) nats, got {}",
              h_max, entropy);
  auto targets = entropy_targets(metric, max_targets);
  // Entropy rises monotonically with tau; bracket on a log scale.
  double lo = -30.0, hi = 30.0;  // log tau
  DIST2_CHECK(entropy_at(metric, targets, std::exp(hi)) > entropy,
              "entropy {} is not reachable: the soft targets stay sharper at tau = e^30", entropy);
  for (int it = 0; it < 200 && hi - lo > 1e-12; ++it) {
    const double mid = 0.5 * (lo + hi);
    (entropy_at(metric, targets, std::exp(mid)) < entropy ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

}  // namespace dist2
