#pragma once
// A small decoder-only transformer (GPT-style, pre-LayerNorm, learned positions,
// tied input/output embeddings) for the scaled-down replications, with an
// optional image front end: each image is cut into patches, a 2-layer MLP embeds
// each patch (a single linear embedding learned nothing in a calibration on
// 32x32 scenes) and learned row/column embeddings place it; the patch tokens are
// a prefix read before the text (LLaVA-style, paper section 3.2), under the same
// causal attention. Decoding keeps a KV cache, so each new token costs one step.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace dist2 {

struct GptOptions {
  int64_t vocab_size = 0;
  int64_t context = 64;   // maximum sequence length
  int64_t n_layer = 2;
  int64_t d_model = 64;
  int64_t n_head = 4;
  double dropout = 0.0;
  bool scalar_head = false;  // a linear head to one scalar (a sequence classifier, e.g. the reward task's `binary`)
  // Image front end (image_size = 0: none). Square images of image_channels x
  // image_size x image_size, at most max_images per sequence; patches of
  // patch_size x patch_size (image_size a multiple of it), MLP hidden width patch_hidden.
  // patch_context > 0: the MLP of each patch also reads that many pixels around
  // it (zero beyond the border), overlapping windows of patch_size + 2 patch_context,
  // so a patch token sees an object that straddles patch borders.
  int64_t image_size = 0, image_channels = 1, max_images = 1, patch_size = 8, patch_hidden = 128, patch_context = 0;
  int64_t patch_window() const { return patch_size + 2 * patch_context; }

  int64_t patches_per_image() const { return image_size > 0 ? (image_size / patch_size) * (image_size / patch_size) : 0; }
};

// Keys and values of every layer for the tokens read so far (B, n_head, T_past, head_size).
struct KvCache {
  std::vector<torch::Tensor> k, v;
  int64_t length() const { return k.empty() || !k[0].defined() ? 0 : k[0].size(2); }
  int64_t text_length = 0;  // text tokens read so far (the next text position)
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const GptOptions& o);
  // (B, T, C) -> (B, T, C). With a cache slot (k, v), the T new positions attend
  // to the cached ones and to each other causally, and are appended to the slot.
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* k_cache = nullptr, torch::Tensor* v_cache = nullptr);

 private:
  int64_t n_head_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptOptions& o);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* k_cache = nullptr, torch::Tensor* v_cache = nullptr);

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
  // ids (B, T) int64 -> logits (B, T, V) at the text positions, T <= context.
  // images (B, N, C, H, W) float, or undefined: the image prefix, read first.
  // With a cache: an empty cache reads images + ids; a filled one reads ids as
  // the next tokens (images ignored). Either way the cache then holds them all.
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& images = {}, KvCache* cache = nullptr);
  // Hidden states before the LM head (B, T, C) at the text positions.
  torch::Tensor hidden(const torch::Tensor& ids, const torch::Tensor& images = {}, KvCache* cache = nullptr);
  // The LM head's weight (V, C): the token embedding, tied, no bias. forward() is
  // hidden() @ lm_weight()^T.
  const torch::Tensor& lm_weight() const { return wte_->weight; }
  // The scalar head at text position last[b] of each row: ids (B, T), last (B) -> (B).
  // Rows may be right-padded: a causal model never looks past `last`.
  torch::Tensor score(const torch::Tensor& ids, const torch::Tensor& last, const torch::Tensor& images = {});
  // The patch tokens of images (B, N, C, H, W) -> (B, N * patches_per_image, C_model).
  torch::Tensor image_tokens(const torch::Tensor& images);
  bool has_scalar_head() const { return !score_head_.is_empty(); }
  bool has_image_input() const { return opt_.image_size > 0; }
  const GptOptions& options() const { return opt_; }
  int64_t parameter_count() const;

 private:
  GptOptions opt_;
  torch::nn::Embedding wte_{nullptr}, wpe_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
  torch::nn::Linear score_head_{nullptr};
  torch::nn::Linear patch_fc1_{nullptr}, patch_fc2_{nullptr};
  torch::nn::Embedding patch_row_{nullptr}, patch_col_{nullptr}, image_slot_{nullptr};
};
TORCH_MODULE(Gpt);

// Copies every parameter of `from` into the parameter of `to` with the same name
// and shape (a pretrained backbone into a model that may add a scalar head);
// returns how many were copied. Throws when a parameter of `from` has no match.
int64_t copy_matching_parameters(const Gpt& from, Gpt& to);

}  // namespace dist2
