// FID and IS (paper section 3.5, Table 4) and the float64 linear algebra under
// them, against closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "dist2/tasks/imagegen/metrics.h"
#include "dist2/util/error.h"
#include "dist2/util/linalg.h"

using namespace dist2;
using linalg::Matrix;

namespace {

Matrix transpose(const Matrix& m) {
  Matrix t(m.n);
  for (size_t i = 0; i < m.n; ++i)
    for (size_t j = 0; j < m.n; ++j) t(i, j) = m(j, i);
  return t;
}

double max_abs_diff(const Matrix& a, const Matrix& b) {
  double d = 0;
  for (size_t i = 0; i < a.a.size(); ++i) d = std::max(d, std::abs(a.a[i] - b.a[i]));
  return d;
}

// A random orthogonal matrix: Gram-Schmidt on Gaussian columns.
Matrix random_orthogonal(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Matrix q(n);
  for (size_t j = 0; j < n; ++j) {
    std::vector<double> v(n);
    for (double& x : v) x = normal(rng);
    for (size_t k = 0; k < j; ++k) {
      double dot = 0;
      for (size_t i = 0; i < n; ++i) dot += v[i] * q(i, k);
      for (size_t i = 0; i < n; ++i) v[i] -= dot * q(i, k);
    }
    double norm = 0;
    for (double x : v) norm += x * x;
    for (size_t i = 0; i < n; ++i) q(i, j) = v[i] / std::sqrt(norm);
  }
  return q;
}

// Q diag(d) Q^T.
Matrix with_eigenvalues(const Matrix& q, const std::vector<double>& d) {
  Matrix scaled = q;
  for (size_t i = 0; i < q.n; ++i)
    for (size_t j = 0; j < q.n; ++j) scaled(i, j) *= d[j];
  return linalg::multiply(scaled, transpose(q));
}

imagegen::Gaussian gaussian(std::vector<double> mean, Matrix cov) { return {std::move(mean), std::move(cov), 100}; }

}  // namespace

TEST_CASE("linalg: symmetric eigendecomposition and PSD square root", "[imagegen]") {
  Matrix s(3);
  s.a = {2, 1, 0, 1, 2, 0, 0, 0, 3};
  auto e = linalg::symmetric_eigen(s);
  std::sort(e.values.begin(), e.values.end());
  CHECK(e.values[0] == Approx(1.0).margin(1e-12));
  CHECK(e.values[1] == Approx(3.0).margin(1e-12));
  CHECK(e.values[2] == Approx(3.0).margin(1e-12));

  std::mt19937_64 rng(7);
  const size_t n = 24;
  const Matrix q = random_orthogonal(n, rng);
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = 0.1 + static_cast<double>(i);
  const Matrix spd = with_eigenvalues(q, d);
  const auto eig = linalg::symmetric_eigen(spd);
  // V diag(values) V^T rebuilds the matrix; V is orthonormal.
  CHECK(max_abs_diff(with_eigenvalues(eig.vectors, eig.values), spd) < 1e-10);
  Matrix identity(n);
  for (size_t i = 0; i < n; ++i) identity(i, i) = 1;
  CHECK(max_abs_diff(linalg::multiply(transpose(eig.vectors), eig.vectors), identity) < 1e-12);
  const Matrix root = linalg::sqrt_psd(spd);
  CHECK(max_abs_diff(linalg::multiply(root, root), spd) < 1e-10);
  Matrix asym = s;
  asym(0, 1) = 5;
  CHECK_THROWS_AS(linalg::symmetric_eigen(asym), Error);
}

TEST_CASE("FID: closed forms for equal, diagonal, commuting and one-dimensional Gaussians", "[imagegen]") {
  std::mt19937_64 rng(11);
  const size_t n = 16;
  const Matrix q = random_orthogonal(n, rng);
  std::vector<double> d1(n), d2(n), mu1(n), mu2(n);
  std::uniform_real_distribution<double> u(0.05, 4.0);
  for (size_t i = 0; i < n; ++i) d1[i] = u(rng), d2[i] = u(rng), mu1[i] = u(rng), mu2[i] = u(rng);
  // Covariances with the same eigenvectors commute: FID = |dmu|^2 + sum (sqrt(d1) - sqrt(d2))^2.
  double expected = 0;
  for (size_t i = 0; i < n; ++i)
    expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + std::pow(std::sqrt(d1[i]) - std::sqrt(d2[i]), 2);
  const auto a = gaussian(mu1, with_eigenvalues(q, d1)), b = gaussian(mu2, with_eigenvalues(q, d2));
  CHECK(imagegen::frechet_distance(a, b) == Approx(expected).epsilon(1e-10));
  CHECK(imagegen::frechet_distance(b, a) == Approx(expected).epsilon(1e-10));
  CHECK(imagegen::frechet_distance(a, a) == Approx(0.0).margin(1e-9));
  // One dimension: (mu1 - mu2)^2 + (s1 - s2)^2 for standard deviations s.
  Matrix v1(1, 4.0), v2(1, 9.0);
  CHECK(imagegen::frechet_distance(gaussian({1.0}, v1), gaussian({-2.0}, v2)) == Approx(9.0 + 1.0).epsilon(1e-12));
}

TEST_CASE("FID: covariances that do not commute, against the trace of sqrtm taken the other way round",
          "[imagegen]") {
  std::mt19937_64 rng(3);
  const size_t n = 12;
  std::vector<double> d1(n), d2(n), zero(n, 0.0);
  std::uniform_real_distribution<double> u(0.1, 3.0);
  for (size_t i = 0; i < n; ++i) d1[i] = u(rng), d2[i] = u(rng);
  const Matrix s1 = with_eigenvalues(random_orthogonal(n, rng), d1), s2 = with_eigenvalues(random_orthogonal(n, rng), d2);
  // Tr sqrtm(S1 S2) = Tr sqrt(S2^1/2 S1 S2^1/2): the same eigenvalues, another product.
  const Matrix r2 = linalg::sqrt_psd(s2);
  Matrix m = linalg::multiply(linalg::multiply(r2, s1), r2);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) m(i, j) = m(j, i) = (m(i, j) + m(j, i)) / 2;
  double cross = 0;
  for (double l : linalg::symmetric_eigen(m).values) cross += std::sqrt(l);
  const double expected = linalg::trace(s1) + linalg::trace(s2) - 2 * cross;
  CHECK(expected > 0.1);
  CHECK(imagegen::frechet_distance(gaussian(zero, s1), gaussian(zero, s2)) == Approx(expected).epsilon(1e-10));
}

TEST_CASE("Gaussian fit: mean and the n - 1 covariance", "[imagegen]") {
  const auto g = imagegen::fit_gaussian({{1, 2}, {3, 2}, {5, 8}});
  CHECK(g.mean[0] == Approx(3.0));
  CHECK(g.mean[1] == Approx(4.0));
  CHECK(g.cov(0, 0) == Approx(4.0));   // (4 + 0 + 4) / 2
  CHECK(g.cov(1, 1) == Approx(12.0));  // (4 + 4 + 16) / 2
  CHECK(g.cov(0, 1) == Approx(6.0));  // deviations (-2,-2), (0,-2), (2,4): (4 + 0 + 8) / 2
  CHECK(g.cov(1, 0) == g.cov(0, 1));
  CHECK_THROWS_AS(imagegen::fit_gaussian({{1, 2}}), Error);
  CHECK_THROWS_AS(imagegen::fit_gaussian({{1, 2}, {1}}), Error);
}

TEST_CASE("Inception Score: 1 for uninformative predictions, K for confident ones spread over K classes",
          "[imagegen]") {
  const std::vector<std::vector<double>> uniform(20, std::vector<double>(10, 0.1));
  CHECK(imagegen::inception_score(uniform).mean == Approx(1.0));
  std::vector<std::vector<double>> confident;
  for (int i = 0; i < 40; ++i) {
    std::vector<double> row(4, 0.0);
    row[static_cast<size_t>(i % 4)] = 1.0;
    confident.push_back(row);
  }
  CHECK(imagegen::inception_score(confident).mean == Approx(4.0));
  const auto split = imagegen::inception_score(confident, 2);
  CHECK(split.mean == Approx(4.0));
  CHECK(split.std == Approx(0.0).margin(1e-12));
  // Always the same confident class: no diversity, IS 1.
  CHECK(imagegen::inception_score(std::vector<std::vector<double>>(8, {1.0, 0.0})).mean == Approx(1.0));
  CHECK_THROWS_AS(imagegen::inception_score(confident, 41), Error);
}
