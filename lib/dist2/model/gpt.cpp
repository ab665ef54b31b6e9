#include "dist2/model/gpt.h"

#include <cmath>

#include "dist2/util/error.h"

namespace dist2 {

namespace F = torch::nn::functional;

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const GptOptions& o) : n_head_(o.n_head) {
  qkv_ = register_module("qkv", torch::nn::Linear(o.d_model, 3 * o.d_model));
  proj_ = register_module("proj", torch::nn::Linear(o.d_model, o.d_model));
  drop_ = register_module("drop", torch::nn::Dropout(o.dropout));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), hs = C / n_head_;
  auto qkv = qkv_(x).view({B, T, 3, n_head_, hs}).permute({2, 0, 3, 1, 4});  // (3, B, nh, T, hs)
  auto q = qkv[0], k = qkv[1], v = qkv[2];
  auto att = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hs)));  // (B, nh, T, T)
  auto causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool)).triu(1);
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

torch::Tensor BlockImpl::forward(const torch::Tensor& x) {
  auto h = x + attn_(ln1_(x));
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

torch::Tensor GptImpl::hidden(const torch::Tensor& ids) {
  const int64_t T = ids.size(1);
  DIST2_CHECK(T <= opt_.context, "sequence of {} tokens exceeds model.context = {}", T, opt_.context);
  auto pos = torch::arange(T, torch::kInt64);
  auto x = wte_(ids) + wpe_(pos).unsqueeze(0);
  for (auto& block : *blocks_) x = block->as<Block>()->forward(x);
  return ln_f_(x);
}

torch::Tensor GptImpl::forward(const torch::Tensor& ids) {
  // Tied embeddings: the LM head is the token embedding matrix.
  return torch::matmul(hidden(ids), wte_->weight.t());
}

torch::Tensor GptImpl::score(const torch::Tensor& ids, const torch::Tensor& last) {
  DIST2_CHECK(has_scalar_head(), "this model has no scalar head");
  auto h = hidden(ids);                                                    // (B, T, C)
  auto idx = last.view({-1, 1, 1}).expand({h.size(0), 1, h.size(2)});
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
