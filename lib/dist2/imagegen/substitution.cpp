#include "dist2/imagegen/substitution.h"

#include <algorithm>

#include "dist2/util/error.h"

namespace dist2::imagegen {

const std::vector<std::pair<Substitution, std::string>>& substitutions() {
  static const std::vector<std::pair<Substitution, std::string>> v = {
      {Substitution::near, "near"}, {Substitution::random, "random"}, {Substitution::far, "far"}};
  return v;
}

torch::Tensor codes_by_distance(const torch::Tensor& codebook) {
  const auto book = codebook.to(torch::kFloat64);
  const auto dist = (book.unsqueeze(1) - book.unsqueeze(0)).pow(2).mean(2);  // (K, K)
  return dist.argsort(/*dim=*/int64_t{1}).contiguous();
}

torch::Tensor substitute_central_codes(const torch::Tensor& codes, const torch::Tensor& order, Substitution mode,
                                       std::mt19937_64& rng, int64_t among) {
  const int64_t K = order.size(0), h = codes.size(1), w = codes.size(2);
  DIST2_CHECK(K >= 2 && h >= 2 && w >= 2, "a substitution needs two codes and a grid of at least 2x2");
  among = std::min(among, K - 1);
  auto out = codes.clone().contiguous();
  auto acc = out.accessor<int64_t, 3>();
  const auto ord = order.accessor<int64_t, 2>();
  const int64_t top = (h - 2) / 2, left = (w - 2) / 2;
  std::uniform_int_distribution<int64_t> pick(0, among - 1), any(1, K - 1);
  for (int64_t i = 0; i < out.size(0); ++i)
    for (int64_t r = top; r < top + 2; ++r)
      for (int64_t c = left; c < left + 2; ++c) {
        const int64_t x = acc[i][r][c];
        switch (mode) {
          case Substitution::near: acc[i][r][c] = ord[x][1 + pick(rng)]; break;
          case Substitution::far: acc[i][r][c] = ord[x][K - 1 - pick(rng)]; break;
          case Substitution::random: acc[i][r][c] = ord[x][any(rng)]; break;  // any code but x, uniformly
        }
      }
  return out;
}

}  // namespace dist2::imagegen
