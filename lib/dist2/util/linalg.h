#pragma once
// Small dense linear algebra in float64 for statistics over feature vectors
// (FID's Gaussian fits): no LibTorch, so that evaluation metrics are computed
// the same way on every build and tested against closed forms.
#include <cstddef>
#include <vector>

namespace dist2::linalg {

// A square matrix, row-major.
struct Matrix {
  size_t n = 0;
  std::vector<double> a;  // n * n
  explicit Matrix(size_t size = 0, double fill = 0.0) : n(size), a(size * size, fill) {}
  double& operator()(size_t i, size_t j) { return a[i * n + j]; }
  double operator()(size_t i, size_t j) const { return a[i * n + j]; }
};

Matrix multiply(const Matrix& x, const Matrix& y);
double trace(const Matrix& x);

// Eigenvalues and eigenvectors of a symmetric matrix by cyclic Jacobi rotations
// (to machine precision; fine for the few hundred dimensions of a classifier's
// features): values[k] with the k-th column of `vectors`. The input's upper
// triangle is read; dist2::Error when it is not symmetric within 1e-9 relative.
struct Eigen {
  std::vector<double> values;
  Matrix vectors;
};
Eigen symmetric_eigen(const Matrix& s);

// The symmetric square root of a symmetric positive semi-definite matrix:
// V diag(sqrt(max(lambda, 0))) V^T (tiny negative eigenvalues from rounding are
// taken as 0).
Matrix sqrt_psd(const Matrix& s);

}  // namespace dist2::linalg
