#include "dist2/model/gpt.h"

#include <cmath>

#include "dist2/util/error.h"
#include "dist2/util/shape.h"

namespace dist2 {

namespace F = torch::nn::functional;

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const GptOptions& o) : n_head_(o.n_head) {
  qkv_ = register_module("qkv", torch::nn::Linear(o.d_model, 3 * o.d_model));
  proj_ = register_module("proj", torch::nn::Linear(o.d_model, o.d_model));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, torch::Tensor* k_cache, torch::Tensor* v_cache) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), hs = C / n_head_;
  auto qkv = qkv_(x).view({B, T, 3, n_head_, hs}).permute({2, 0, 3, 1, 4});  // (3, B, nh, T, hs)
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  int64_t past = 0;
  if (k_cache != nullptr) {
    if (k_cache->defined()) {
      past = k_cache->size(2);
      k = torch::cat({*k_cache, k}, 2);
      v = torch::cat({*v_cache, v}, 2);
    }
    *k_cache = k, *v_cache = v;
  }
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hs)));  // (B, nh, T, past + T)
  // New position i (absolute past + i) sees keys 0 .. past + i.
  auto causal = torch::ones({T, past + T}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(past + 1);
  att = drop_(torch::softmax(att.masked_fill(causal, -INFINITY), -1));
  auto y = torch::matmul(att, v).transpose(1, 2).reshape({B, T, C});
  return drop_(proj_(y));
}

BlockImpl::BlockImpl(const GptOptions& o) {
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  attn_ = register_module("attn", CausalSelfAttention(o));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  fc_ = register_module("fc", torch::nn::Linear(o.d_model, 4 * o.d_model));
  fc_out_ = register_module("fc_out", torch::nn::Linear(4 * o.d_model, o.d_model));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* k_cache, torch::Tensor* v_cache) {
  auto h = x + attn_(ln1_(x), k_cache, v_cache);
  return h + drop_(fc_out_(F::gelu(fc_(ln2_(h)))));
}

GptImpl::GptImpl(const GptOptions& o) : opt_(o) {
  DIST2_CHECK(o.vocab_size > 0, "model needs a vocabulary size > 0");
  DIST2_CHECK(o.n_layer >= 1 && o.d_model >= 1 && o.n_head >= 1 && o.context >= 2,
              "model needs n_layer, d_model, n_head >= 1 and context >= 2");
  DIST2_CHECK(o.d_model % o.n_head == 0, "model.d_model ({}) must be a multiple of model.n_head ({})", o.d_model,
              o.n_head);
  wte_ = register_module("wte", torch::nn::Embedding(o.vocab_size, o.d_model));
  wpe_ = register_module("wpe", torch::nn::Embedding(o.context, o.d_model));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.n_layer; ++i) blocks_->push_back(Block(o));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  if (o.scalar_head) score_head_ = register_module("score_head", torch::nn::Linear(o.d_model, 1));
  if (o.image_size > 0) {
    DIST2_CHECK(o.patch_size >= 1 && o.image_size % o.patch_size == 0,
                "image size {} must be a multiple of the patch size {}", o.image_size, o.patch_size);
    DIST2_CHECK(o.image_channels >= 1 && o.max_images >= 1 && o.patch_hidden >= 1,
                "image front end needs channels, max_images and patch_hidden >= 1");
    const int64_t side = o.image_size / o.patch_size;
    DIST2_CHECK(o.patch_context >= 0, "patch context {} must be >= 0", o.patch_context);
    patch_fc1_ = register_module("patch_fc1", torch::nn::Linear(o.image_channels * o.patch_window() * o.patch_window(), o.patch_hidden));
    patch_fc2_ = register_module("patch_fc2", torch::nn::Linear(o.patch_hidden, o.d_model));
    patch_row_ = register_module("patch_row", torch::nn::Embedding(side, o.d_model));
    patch_col_ = register_module("patch_col", torch::nn::Embedding(side, o.d_model));
    image_slot_ = register_module("image_slot", torch::nn::Embedding(o.max_images, o.d_model));
  }
  // GPT-2 initialisation: N(0, 0.02) weights, zero biases, residual projections scaled by 1/sqrt(2 n_layer).
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    auto& t = p.value();
    if (name.find("bias") != std::string::npos) t.zero_();
    else if (name.find("ln") != std::string::npos) t.fill_(1.0);
    else {
      const bool residual = name.find("proj.weight") != std::string::npos || name.find("fc_out.weight") != std::string::npos;
      t.normal_(0.0, residual ? 0.02 / std::sqrt(2.0 * o.n_layer) : 0.02);
    }
  }
}

torch::Tensor GptImpl::image_tokens(const torch::Tensor& images) {
  DIST2_CHECK(has_image_input(), "this model has no image input (its task reads no images)");
  DIST2_CHECK(images.dim() == 5 && images.size(2) == opt_.image_channels && images.size(3) == opt_.image_size &&
                  images.size(4) == opt_.image_size,
              "images must be (B, N, {}, {}, {}), got {}", opt_.image_channels, opt_.image_size, opt_.image_size,
              shape_of(images));
  const int64_t B = images.size(0), N = images.size(1), C = opt_.image_channels, p = opt_.patch_size,
                side = opt_.image_size / p, w = opt_.patch_window(), H = opt_.image_size;
  DIST2_CHECK(N <= opt_.max_images, "{} images per sequence, the model takes at most {}", N, opt_.max_images);
  // Windows of w = p + 2 context pixels at stride p, zero padded: one row (C, w, w) per
  // patch, row-major over the side x side grid (context 0: the plain patches).
  auto windows = F::unfold(images.reshape({B * N, C, H, H}),
                           F::UnfoldFuncOptions({w, w}).stride(p).padding(opt_.patch_context));  // (B N, C w w, side^2)
  auto patches = windows.transpose(1, 2).reshape({B, N, side * side, C * w * w});
  auto x = patch_fc2_(F::gelu(patch_fc1_(patches)));  // (B, N, P, C_model)
  const auto on = torch::TensorOptions().dtype(torch::kInt64).device(images.device());
  auto grid = torch::arange(side, on);
  auto where = patch_row_(grid).unsqueeze(1) + patch_col_(grid).unsqueeze(0);  // (side, side, C_model)
  x = x + where.reshape({1, 1, side * side, -1}) + image_slot_(torch::arange(N, on)).view({1, N, 1, -1});
  return x.reshape({B, N * side * side, -1});
}

torch::Tensor GptImpl::hidden(const torch::Tensor& ids_in, const torch::Tensor& images_in, KvCache* cache) {
  // Inputs built on the CPU (batches, prompts) move to the model's device here.
  const auto device = wte_->weight.device();
  const torch::Tensor ids = ids_in.to(device);
  const torch::Tensor images = images_in.defined() ? images_in.to(device) : images_in;
  const int64_t T = ids.size(1), text_past = cache ? cache->text_length : 0;
  DIST2_CHECK(text_past + T <= opt_.context, "sequence of {} tokens exceeds model.context = {}", text_past + T,
              opt_.context);
  auto pos = torch::arange(text_past, text_past + T, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto x = wte_(ids) + wpe_(pos).unsqueeze(0);
  int64_t prefix = 0;
  const bool first_read = cache == nullptr || cache->length() == 0;
  if (first_read && images.defined() && images.size(1) > 0) {
    auto img = image_tokens(images);
    prefix = img.size(1);
    x = torch::cat({img, x}, 1);
  }
  if (cache != nullptr && cache->k.empty()) cache->k.resize(blocks_->size()), cache->v.resize(blocks_->size());
  for (size_t i = 0; i < blocks_->size(); ++i)
    x = blocks_[i]->as<Block>()->forward(x, cache ? &cache->k[i] : nullptr, cache ? &cache->v[i] : nullptr);
  if (cache != nullptr) cache->text_length += T;
  x = ln_f_(x);
  return prefix > 0 ? x.slice(1, prefix) : x;
}

torch::Tensor GptImpl::forward(const torch::Tensor& ids, const torch::Tensor& images, KvCache* cache) {
  // Tied embeddings: the LM head is the token embedding matrix.
  return torch::matmul(hidden(ids, images, cache), wte_->weight.t());
}

torch::Tensor GptImpl::score(const torch::Tensor& ids, const torch::Tensor& last, const torch::Tensor& images) {
  DIST2_CHECK(has_scalar_head(), "this model has no scalar head");
  auto h = hidden(ids, images);                                            // (B, T, C)
  auto idx = last.to(h.device()).view({-1, 1, 1}).expand({h.size(0), 1, h.size(2)});
  return score_head_(h.gather(1, idx).squeeze(1)).squeeze(1);              // (B)
}

int64_t copy_matching_parameters(const Gpt& from, Gpt& to) {
  torch::NoGradGuard no_grad;
  auto dst = to->named_parameters();
  int64_t copied = 0;
  for (const auto& p : from->named_parameters()) {
    auto* target = dst.find(p.key());
    DIST2_CHECK(target != nullptr && target->sizes() == p.value().sizes(),
                "the backbone's parameter '{}' has no match of the same shape in the model", p.key());
    target->copy_(p.value());
    ++copied;
  }
  return copied;
}

int64_t GptImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace dist2
