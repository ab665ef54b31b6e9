#pragma once
// A small decoder-only transformer (GPT-style, pre-LayerNorm, learned positions,
// tied input/output embeddings) for the scaled-down replications.
#include <cstdint>

#include <torch/torch.h>

namespace dist2 {

struct GptOptions {
  int64_t vocab_size = 0;
  int64_t context = 64;   // maximum sequence length
  int64_t n_layer = 2;
  int64_t d_model = 64;
  int64_t n_head = 4;
  double dropout = 0.0;
  bool scalar_head = false;  // a linear head to one scalar (the `binary` reward-model baseline)
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const GptOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // (B, T, C) -> (B, T, C)

 private:
  int64_t n_head_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptOptions& o);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  CausalSelfAttention attn_{nullptr};
  torch::nn::Linear fc_{nullptr}, fc_out_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(Block);

class GptImpl : public torch::nn::Module {
 public:
  explicit GptImpl(const GptOptions& o);
  // ids (B, T) int64 -> logits (B, T, V). T <= context.
  torch::Tensor forward(const torch::Tensor& ids);
  // Hidden states before the LM head (B, T, C), for scalar heads (the `binary` baseline).
  torch::Tensor hidden(const torch::Tensor& ids);
  // The scalar head at position last[b] of each row: ids (B, T), last (B) -> (B).
  // Rows may be right-padded: a causal model never looks past `last`.
  torch::Tensor score(const torch::Tensor& ids, const torch::Tensor& last);
  bool has_scalar_head() const { return !score_head_.is_empty(); }
  const GptOptions& options() const { return opt_; }
  int64_t parameter_count() const;

 private:
  GptOptions opt_;
  torch::nn::Embedding wte_{nullptr}, wpe_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear score_head_{nullptr};
};
TORCH_MODULE(Gpt);

// Copies every parameter of `from` into the parameter of `to` with the same name
// and shape (a pretrained backbone into a model that may add a scalar head);
// returns how many were copied. Throws when a parameter of `from` has no match.
int64_t copy_matching_parameters(const Gpt& from, Gpt& to);

}  // namespace dist2
