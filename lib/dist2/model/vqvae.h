#pragma once
// A small convolutional VQ-VAE: the image tokenizer of the image-generation
// experiment (paper sections 2.4, 3.5 and C.1, where LlamaGen's pretrained VQGAN
// plays this part). 28x28 images become a 7x7 grid of code indices (two stride-2
// convolutions), each the nearest of K codebook vectors of dimension D; the
// decoder maps code grids back to images. DIST²Loss then uses the squared
// distance between codebook vectors as the metric over code tokens.
//
// Training (van den Oord et al., 2017): reconstruction MSE plus beta times the
// commitment loss ||z - sg(e)||^2, gradients through the quantizer by the
// straight-through estimator; the codebook follows exponential moving averages
// of the encoder outputs assigned to each code (no codebook gradient), and a code
// that falls out of use (its EMA count below `dead_threshold`) is restarted at a
// random encoder output of the batch, so that the codebook stays in use.
#include <cstdint>
#include <functional>
#include <random>

#include <torch/torch.h>

namespace dist2 {

struct VqVaeOptions {
  int64_t channels = 1;         // image channels
  int64_t image_size = 28;      // square images; a multiple of 2^downsample
  int64_t downsample = 2;       // stride-2 convolutions: 28 -> 14 -> 7 with 2
  int64_t hidden = 32;          // convolution width
  int64_t codebook_size = 64;   // K
  int64_t code_dim = 16;        // D
  double commitment = 0.25;     // beta
  double ema_decay = 0.99;      // of the codebook's counts and sums
  double dead_threshold = 1.0;  // EMA count under which a code is restarted (assignments per step)
  int64_t grid() const { return image_size >> downsample; }
  // dist2::Error naming the option when inconsistent.
  void validate() const;
};

class VqVaeImpl : public torch::nn::Module {
 public:
  explicit VqVaeImpl(const VqVaeOptions& o);

  // Images (B, C, H, W) in [0, 1] -> encoder outputs (B, D, h, w).
  torch::Tensor encode(const torch::Tensor& images);
  // Encoder outputs (B, D, h, w) -> the nearest code of each position (B, h, w), int64.
  torch::Tensor nearest_codes(const torch::Tensor& z) const;
  // Images -> code grids (B, h, w).
  torch::Tensor codes(const torch::Tensor& images) { return nearest_codes(encode(images)); }
  // Code grids (B, h, w) -> images (B, C, H, W) in [0, 1].
  torch::Tensor decode(const torch::Tensor& codes);
  // The codebook (K, D).
  torch::Tensor codebook() const { return embed_; }

  struct Output {
    torch::Tensor reconstruction;  // (B, C, H, W), unclamped (decode() clamps to [0, 1])
    torch::Tensor codes;           // (B, h, w)
    torch::Tensor loss;            // reconstruction + beta * commitment
    torch::Tensor reconstruction_loss, commitment_loss;
    torch::Tensor encoded;         // the encoder outputs (B, D, h, w), detached: for update_codebook
  };
  // A training pass: quantize with the straight-through estimator, decode.
  Output forward(const torch::Tensor& images);
  // After an optimizer step in training: the codebook's EMA update from this
  // batch's encoder outputs and codes, then dead-code restarts (at outputs drawn by `rng`).
  // Returns how many codes were restarted.
  int64_t update_codebook(const torch::Tensor& z, const torch::Tensor& codes, std::mt19937_64& rng);

  const VqVaeOptions& options() const { return o_; }

 private:
  torch::Tensor decode_vectors(const torch::Tensor& q);  // (B, D, h, w) -> images

  VqVaeOptions o_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
  torch::Tensor embed_, ema_count_, ema_sum_;  // buffers: (K, D), (K), (K, D)
};
TORCH_MODULE(VqVae);

struct VqTrainOptions {
  int64_t steps = 1000, batch_size = 128;
  double lr = 2e-3;
  uint64_t seed = 0;
};
struct VqTrainStats {
  double reconstruction_mse = 0;  // mean over the last 10% of steps
  double codebook_usage = 0;      // share of the K codes used by the last 10% of steps' batches
};
// Trains the model on images (N, C, H, W) with Adam; `progress(step, loss)` is
// called every 50 steps and at the end when given, and may return false to stop.
VqTrainStats train_vqvae(VqVae& model, const torch::Tensor& images, const VqTrainOptions& t,
                         const std::function<bool(int64_t, double)>& progress = {});

// Reconstruction MSE through the codes and the share of codes used, over images.
struct VqQuality {
  double reconstruction_mse = 0, codebook_usage = 0;
};
VqQuality evaluate_vqvae(VqVae& model, const torch::Tensor& images, int64_t batch_size = 500);

}  // namespace dist2
