#pragma once
// Figure 4 of the paper: what a code token's distance means for the image. The
// central 2x2 codes of an image's code grid are replaced by one of the 10
// nearest codes (MSE between codebook vectors), by any other code, or by one of
// the 10 farthest; decoded, near codes keep what the image shows and far ones
// change it. The imagegen task logs the effect as numbers (fig4.*), and `dist2
// report figure4-samples` draws it.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dist2::imagegen {

enum class Substitution { near, random, far };
// The three in Figure 4's order, with their names ("near", "random", "far").
const std::vector<std::pair<Substitution, std::string>>& substitutions();

// For each of the K codebook vectors (K, D), every code ordered by MSE distance
// from it: (K, K) int64, column 0 the code itself.
torch::Tensor codes_by_distance(const torch::Tensor& codebook);

// A copy of code grids (N, h, w) with the central 2x2 codes of each replaced:
// by one of the `among` nearest other codes, by any other code, or by one of the
// `among` farthest, drawn by rng (position by position, row-major).
torch::Tensor substitute_central_codes(const torch::Tensor& codes, const torch::Tensor& order, Substitution mode,
                                       std::mt19937_64& rng, int64_t among = 10);

}  // namespace dist2::imagegen
