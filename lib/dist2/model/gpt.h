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
  const GptOptions& options() const { return opt_; }
  int64_t parameter_count() const;

 private:
  GptOptions opt_;
  torch::nn::Embedding wte_{nullptr}, wpe_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};
TORCH_MODULE(Gpt);

}  // namespace dist2
