// The VQ-VAE image tokenizer (paper section 3.5's VQ codes): shapes, the nearest
// code against a float64 search, the straight-through gradient, the codebook's
// EMA update and dead-code restarts, and a short training that learns.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "dist2/model/vqvae.h"
#include "dist2/util/error.h"

using namespace dist2;

namespace {

VqVaeOptions small_options() {
  VqVaeOptions o;
  o.hidden = 16;
  o.codebook_size = 16;
  o.code_dim = 8;
  return o;
}

// Images of one bright axis-aligned rectangle each, on black: 28 x 28.
torch::Tensor rectangles(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> corner(0, 18), side(6, 9);
  torch::Tensor x = torch::zeros({n, 1, 28, 28});
  for (int64_t i = 0; i < n; ++i) {
    const int top = corner(rng), left = corner(rng);
    x.index_put_({i, 0, torch::indexing::Slice(top, top + side(rng)), torch::indexing::Slice(left, left + side(rng))},
                 1.0);
  }
  return x;
}

}  // namespace

TEST_CASE("VQ-VAE: 28x28 images become 7x7 code grids and back", "[vqvae]") {
  torch::manual_seed(0);
  VqVae model(small_options());
  const torch::Tensor x = rectangles(4, 1);
  const torch::Tensor codes = model->codes(x);
  REQUIRE(codes.sizes() == torch::IntArrayRef({4, 7, 7}));
  REQUIRE(codes.scalar_type() == torch::kInt64);
  CHECK(codes.min().item<int64_t>() >= 0);
  CHECK(codes.max().item<int64_t>() < 16);
  const torch::Tensor y = model->decode(codes);
  REQUIRE(y.sizes() == x.sizes());
  CHECK(y.min().item<float>() >= 0.0f);
  CHECK(y.max().item<float>() <= 1.0f);
  VqVaeOptions bad = small_options();
  bad.image_size = 30;
  CHECK_THROWS_AS(VqVae(bad), Error);
}

TEST_CASE("VQ-VAE: the nearest code of each position, as a float64 search finds it", "[vqvae]") {
  torch::manual_seed(1);
  VqVae model(small_options());
  const torch::Tensor z = torch::randn({3, 8, 7, 7}) * 0.1;
  const torch::Tensor got = model->nearest_codes(z);
  const torch::Tensor e = model->codebook().to(torch::kFloat64), zd = z.to(torch::kFloat64);
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 7; ++j) {
        double best = std::numeric_limits<double>::infinity();
        int64_t arg = -1;
        for (int64_t k = 0; k < 16; ++k) {
          double d = 0;
          for (int64_t c = 0; c < 8; ++c) {
            const double diff = zd[b][c][i][j].item<double>() - e[k][c].item<double>();
            d += diff * diff;
          }
          if (d < best) best = d, arg = k;
        }
        REQUIRE(got[b][i][j].item<int64_t>() == arg);
      }
}

TEST_CASE("VQ-VAE: the straight-through estimator carries the reconstruction gradient to the encoder", "[vqvae]") {
  torch::manual_seed(2);
  VqVae model(small_options());
  auto out = model->forward(rectangles(8, 2));
  out.loss.backward();
  double encoder_grad = 0;
  for (const auto& p : model->named_parameters())
    if (p.key().rfind("encoder", 0) == 0 && p.value().grad().defined())
      encoder_grad += p.value().grad().abs().sum().item<double>();
  CHECK(encoder_grad > 0);
  CHECK(out.loss.item<double>() ==
        Approx(out.reconstruction_loss.item<double>() + 0.25 * out.commitment_loss.item<double>()));
}

TEST_CASE("VQ-VAE codebook: the EMA moves a code to its assigned mean; unused codes restart at encoder outputs",
          "[vqvae]") {
  torch::manual_seed(3);
  VqVaeOptions o = small_options();
  o.ema_decay = 0.9;
  VqVae model(o);
  std::mt19937_64 rng(5);
  // Every position is the same vector v, all assigned to code 3.
  const torch::Tensor v = torch::linspace(-1, 1, 8);
  const torch::Tensor z = v.view({1, 8, 1, 1}).expand({2, 8, 7, 7}).contiguous();
  const torch::Tensor codes = torch::full({2, 7, 7}, 3, torch::kInt64);
  int64_t restarted = 0;
  for (int step = 0; step < 200; ++step) restarted += model->update_codebook(z, codes, rng);
  CHECK((model->codebook()[3] - v).abs().max().item<double>() < 1e-3);
  // The other 15 codes got no assignment: their counts fell below the threshold
  // and they restarted at v, the only encoder output there is.
  CHECK(restarted >= 15);
  for (int64_t k = 0; k < 16; ++k) CHECK((model->codebook()[k] - v).abs().max().item<double>() < 1e-3);
}

TEST_CASE("VQ-VAE training: reconstruction well below the mean image's error, most codes used", "[vqvae]") {
  torch::manual_seed(4);
  VqVaeOptions o = small_options();
  o.ema_decay = 0.9;  // a short training: a codebook that follows the encoder quickly
  VqVae model(o);
  const torch::Tensor train = rectangles(512, 7), test = rectangles(128, 8);
  const double mean_image_mse = (test - train.mean(0, true)).pow(2).mean().item<double>();
  const VqQuality before = evaluate_vqvae(model, test);
  VqTrainOptions t;
  t.steps = 200;
  t.batch_size = 64;
  t.seed = 1;
  int64_t reported = 0;
  const VqTrainStats s = train_vqvae(model, train, t, [&](int64_t step, double) { return (reported = step), true; });
  CHECK(reported == 200);
  const VqQuality after = evaluate_vqvae(model, test);
  INFO("mean image " << mean_image_mse << ", before " << before.reconstruction_mse << ", after "
                     << after.reconstruction_mse << ", usage " << after.codebook_usage);
  CHECK(after.reconstruction_mse < 0.5 * mean_image_mse);
  CHECK(after.reconstruction_mse < before.reconstruction_mse);
  CHECK(s.codebook_usage >= 0.5);
  CHECK(after.codebook_usage >= 0.25);
}
