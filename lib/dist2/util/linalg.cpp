#include "dist2/util/linalg.h"

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"

namespace dist2::linalg {

Matrix multiply(const Matrix& x, const Matrix& y) {
  DIST2_CHECK(x.n == y.n, "cannot multiply a {}x{} matrix by a {}x{} one", x.n, x.n, y.n, y.n);
  Matrix out(x.n);
  for (size_t i = 0; i < x.n; ++i)
    for (size_t k = 0; k < x.n; ++k) {
      const double xik = x(i, k);
      if (xik == 0) continue;
      for (size_t j = 0; j < x.n; ++j) out(i, j) += xik * y(k, j);
    }
  return out;
}

double trace(const Matrix& x) {
  double t = 0;
  for (size_t i = 0; i < x.n; ++i) t += x(i, i);
  return t;
}

Eigen symmetric_eigen(const Matrix& s) {
  const size_t n = s.n;
  double scale = 0;
  for (double v : s.a) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      DIST2_CHECK(std::abs(s(i, j) - s(j, i)) <= 1e-9 * std::max(scale, 1e-300),
                  "matrix is not symmetric at ({}, {}): {} vs {}", i, j, s(i, j), s(j, i));
  Matrix a = s, v(n);
  for (size_t i = 0; i < n; ++i) v(i, i) = 1;
  // Cyclic Jacobi: each rotation zeroes one off-diagonal pair; sweeps until the
  // off-diagonal mass is negligible against the diagonal's.
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (size_t i = 0; i < n; ++i) {
      diag += a(i, i) * a(i, i);
      for (size_t j = i + 1; j < n; ++j) off += a(i, j) * a(i, j);
    }
    if (off <= 1e-30 * std::max(diag, 1e-300)) break;
    for (size_t p = 0; p < n; ++p)
      for (size_t q = p + 1; q < n; ++q) {
        const double apq = a(p, q);
        if (apq == 0) continue;
        const double theta = (a(q, q) - a(p, p)) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), sn = t * c;
        for (size_t k = 0; k < n; ++k) {  // columns p, q of A
          const double akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - sn * akq;
          a(k, q) = sn * akp + c * akq;
        }
        for (size_t k = 0; k < n; ++k) {  // rows p, q of A
          const double apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - sn * aqk;
          a(q, k) = sn * apk + c * aqk;
        }
        for (size_t k = 0; k < n; ++k) {
          const double vkp = v(k, p), vkq = v(k, q);
          v(k, p) = c * vkp - sn * vkq;
          v(k, q) = sn * vkp + c * vkq;
        }
      }
  }
  Eigen e{std::vector<double>(n), std::move(v)};
  for (size_t i = 0; i < n; ++i) e.values[i] = a(i, i);
  return e;
}

Matrix sqrt_psd(const Matrix& s) {
  const Eigen e = symmetric_eigen(s);
  const size_t n = s.n;
  Matrix out(n);
  for (size_t k = 0; k < n; ++k) {
    const double r = std::sqrt(std::max(e.values[k], 0.0));
    if (r == 0) continue;
    for (size_t i = 0; i < n; ++i) {
      const double vik = e.vectors(i, k) * r;
      for (size_t j = 0; j < n; ++j) out(i, j) += vik * e.vectors(j, k);
    }
  }
  return out;
}

}  // namespace dist2::linalg
