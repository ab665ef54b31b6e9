#include "dist2/model/vqvae.h"

#include <algorithm>
#include <cmath>

#include "dist2/util/error.h"

namespace dist2 {

namespace nn = torch::nn;

void VqVaeOptions::validate() const {
  DIST2_CHECK(channels >= 1 && hidden >= 1 && codebook_size >= 2 && code_dim >= 1,
              "a VQ-VAE needs channels, hidden, codebook_size (>= 2) and code_dim of at least 1");
  DIST2_CHECK(downsample >= 1 && image_size % (int64_t{1} << downsample) == 0,
              "the image size ({}) must be a multiple of 2^downsample ({})", image_size, int64_t{1} << downsample);
  DIST2_CHECK(ema_decay > 0 && ema_decay < 1, "the codebook's EMA decay must be in (0, 1), got {}", ema_decay);
}

VqVaeImpl::VqVaeImpl(const VqVaeOptions& o) : o_(o) {
  o.validate();
  // Encoder: stride-2 4x4 convolutions halve the side `downsample` times, then a
  // 3x3 convolution and a 1x1 projection to the code dimension.
  encoder_ = nn::Sequential();
  int64_t in = o.channels;
  for (int64_t k = 0; k < o.downsample; ++k) {
    encoder_->push_back(nn::Conv2d(nn::Conv2dOptions(in, o.hidden, 4).stride(2).padding(1)));
    encoder_->push_back(nn::ReLU());
    in = o.hidden;
  }
  encoder_->push_back(nn::Conv2d(nn::Conv2dOptions(o.hidden, o.hidden, 3).padding(1)));
  encoder_->push_back(nn::ReLU());
  encoder_->push_back(nn::Conv2d(nn::Conv2dOptions(o.hidden, o.code_dim, 1)));
  // Decoder: the mirror image, transposed convolutions doubling the side.
  decoder_ = nn::Sequential();
  decoder_->push_back(nn::Conv2d(nn::Conv2dOptions(o.code_dim, o.hidden, 3).padding(1)));
  decoder_->push_back(nn::ReLU());
  for (int64_t k = 0; k < o.downsample; ++k) {
    decoder_->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(o.hidden, o.hidden, 4).stride(2).padding(1)));
    decoder_->push_back(nn::ReLU());
  }
  decoder_->push_back(nn::Conv2d(nn::Conv2dOptions(o.hidden, o.channels, 3).padding(1)));
  register_module("encoder", encoder_);
  register_module("decoder", decoder_);
  const double k = static_cast<double>(o.codebook_size);
  embed_ = register_buffer("embed", torch::rand({o.codebook_size, o.code_dim}, torch::kFloat32) * (2 / k) - 1 / k);
  ema_count_ = register_buffer("ema_count", torch::ones({o.codebook_size}, torch::kFloat32));
  ema_sum_ = register_buffer("ema_sum", embed_.clone());
}

torch::Tensor VqVaeImpl::encode(const torch::Tensor& images) { return encoder_->forward(images); }

torch::Tensor VqVaeImpl::nearest_codes(const torch::Tensor& z) const {
  const auto b = z.size(0), h = z.size(2), w = z.size(3);
  const torch::Tensor flat = z.permute({0, 2, 3, 1}).reshape({-1, o_.code_dim});
  // |z - e|^2 = |z|^2 - 2 z.e + |e|^2; |z|^2 does not change the argmin.
  const torch::Tensor dist = embed_.pow(2).sum(1).unsqueeze(0) - 2 * torch::matmul(flat, embed_.t());
  return dist.argmin(1).view({b, h, w});
}

// A linear output: a sigmoid saturates on images that are mostly black, and its
// gradient vanishes there (a calibration stalled at the all-black image).
torch::Tensor VqVaeImpl::decode_vectors(const torch::Tensor& q) { return decoder_->forward(q); }

torch::Tensor VqVaeImpl::decode(const torch::Tensor& codes) {
  const torch::Tensor q = embed_.index_select(0, codes.reshape({-1}))
                              .view({codes.size(0), codes.size(1), codes.size(2), o_.code_dim})
                              .permute({0, 3, 1, 2});
  return decode_vectors(q).clamp(0.0, 1.0);
}

VqVaeImpl::Output VqVaeImpl::forward(const torch::Tensor& images) {
  Output out;
  const torch::Tensor z = encode(images);
  out.codes = nearest_codes(z.detach());
  const torch::Tensor q = embed_.index_select(0, out.codes.reshape({-1}))
                              .view({z.size(0), z.size(2), z.size(3), o_.code_dim})
                              .permute({0, 3, 1, 2});
  out.commitment_loss = torch::mse_loss(z, q.detach());
  // Straight-through: the decoder reads q, the gradient reaches z unchanged.
  out.reconstruction = decode_vectors(z + (q - z).detach());
  out.reconstruction_loss = torch::mse_loss(out.reconstruction, images);
  out.loss = out.reconstruction_loss + o_.commitment * out.commitment_loss;
  out.encoded = z.detach();
  return out;
}

int64_t VqVaeImpl::update_codebook(const torch::Tensor& z, const torch::Tensor& codes, std::mt19937_64& rng) {
  torch::NoGradGuard no_grad;
  const torch::Tensor flat = z.permute({0, 2, 3, 1}).reshape({-1, o_.code_dim});
  const torch::Tensor onehot =
      torch::zeros({flat.size(0), o_.codebook_size}, flat.options()).scatter_(1, codes.reshape({-1, 1}), 1.0);
  const double d = o_.ema_decay;
  ema_count_.mul_(d).add_(onehot.sum(0), 1 - d);
  ema_sum_.mul_(d).add_(torch::matmul(onehot.t(), flat), 1 - d);
  // Laplace smoothing keeps a count from reaching 0 (Sonnet's VQ-VAE-2 recipe).
  const double eps = 1e-5, k = static_cast<double>(o_.codebook_size);
  const torch::Tensor n = ema_count_.sum();
  const torch::Tensor smoothed = (ema_count_ + eps) / (n + k * eps) * n;
  embed_.copy_(ema_sum_ / smoothed.unsqueeze(1));
  // Codes out of use restart at encoder outputs of this batch.
  const torch::Tensor dead = (ema_count_ < o_.dead_threshold).nonzero().reshape({-1});
  const auto n_dead = dead.size(0);
  if (n_dead > 0) {
    std::uniform_int_distribution<int64_t> pick(0, flat.size(0) - 1);
    std::vector<int64_t> rows(static_cast<size_t>(n_dead));
    for (auto& r : rows) r = pick(rng);
    const torch::Tensor fresh = flat.index_select(0, torch::tensor(rows, torch::kInt64).to(flat.device()));
    embed_.index_copy_(0, dead, fresh);
    ema_sum_.index_copy_(0, dead, fresh * o_.dead_threshold);
    ema_count_.index_fill_(0, dead, o_.dead_threshold);
  }
  return n_dead;
}

VqTrainStats train_vqvae(VqVae& model, const torch::Tensor& images, const VqTrainOptions& t,
                         const std::function<bool(int64_t, double)>& progress) {
  DIST2_CHECK(images.dim() == 4 && images.size(0) > 0, "train_vqvae needs images (N, C, H, W), got {} dimensions",
              images.dim());
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(t.lr));
  std::mt19937_64 rng(t.seed * 0x9E3779B97F4A7C15ull + 17);
  std::uniform_int_distribution<int64_t> pick(0, images.size(0) - 1);
  const int64_t tail_start = t.steps - std::max<int64_t>(1, t.steps / 10);
  double tail_mse = 0;
  int64_t tail_steps = 0;
  torch::Tensor used = torch::zeros({model->options().codebook_size}, torch::kBool);
  for (int64_t step = 0; step < t.steps; ++step) {
    std::vector<int64_t> rows(static_cast<size_t>(std::min(t.batch_size, images.size(0))));
    for (auto& r : rows) r = pick(rng);
    const torch::Tensor batch = images.index_select(0, torch::tensor(rows, torch::kInt64));
    auto out = model->forward(batch);
    opt.zero_grad();
    out.loss.backward();
    opt.step();
    model->update_codebook(out.encoded, out.codes, rng);
    const double mse = out.reconstruction_loss.item<double>();
    if (step >= tail_start) {
      tail_mse += mse, ++tail_steps;
      used.logical_or_(torch::bincount(out.codes.reshape({-1}), {}, used.size(0)) > 0);  // codes this step used
    }
    if (progress && ((step + 1) % 50 == 0 || step + 1 == t.steps) && !progress(step + 1, mse)) break;
  }
  VqTrainStats s;
  s.reconstruction_mse = tail_steps > 0 ? tail_mse / static_cast<double>(tail_steps) : NAN;
  s.codebook_usage = used.sum().item<double>() / static_cast<double>(model->options().codebook_size);
  return s;
}

VqQuality evaluate_vqvae(VqVae& model, const torch::Tensor& images, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  double sum_sq = 0;
  torch::Tensor used = torch::zeros({model->options().codebook_size}, torch::kBool);
  for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const torch::Tensor batch = images.slice(0, begin, std::min(images.size(0), begin + batch_size));
    const torch::Tensor codes = model->codes(batch);
    sum_sq += (model->decode(codes) - batch).pow(2).sum().item<double>();
    used.logical_or_(torch::bincount(codes.reshape({-1}), {}, used.size(0)) > 0);
  }
  VqQuality q;
  q.reconstruction_mse = sum_sq / static_cast<double>(images.numel());
  q.codebook_usage = used.sum().item<double>() / static_cast<double>(model->options().codebook_size);
  return q;
}

}  // namespace dist2
