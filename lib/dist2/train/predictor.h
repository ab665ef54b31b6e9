#pragma once
// A trained Gpt as the Predictor a task evaluates: batched greedy decoding with
// a KV cache and the expected value over V_d at every step, sampling with
// classifier-free guidance, q over V_d after a prompt, scalar-head scores, and
// teacher-forced log-likelihoods.
#include "dist2/loss/metric.h"
#include "dist2/model/gpt.h"
#include "dist2/tasks/task.h"

namespace dist2 {

class GptPredictor : public Predictor {
 public:
  GptPredictor(Gpt model, const Tokenizer& tok, int64_t batch_size);
  using Predictor::generate;
  using Predictor::next_number_probs;
  using Predictor::scalar_scores;
  std::vector<Generation> generate(const std::vector<Prompt>& prompts, int64_t max_new_tokens) override;
  std::vector<std::vector<double>> next_number_probs(const std::vector<Prompt>& prompts) override;
  const Tokenizer& tokenizer() const override { return tok_; }
  std::vector<double> scalar_scores(const std::vector<Prompt>& prompts) override;
  bool has_scalar_head() const override { return model_->has_scalar_head(); }
  std::vector<double> log_likelihoods(const std::vector<Prompt>& prompts,
                                      const std::vector<std::string>& continuations) override;

  std::vector<std::vector<int64_t>> sample(const std::vector<Prompt>& prompts, const std::vector<Prompt>& unconditional,
                                           int64_t length, const Sampling& s) override;
  // Sampling without the KV cache: the reference the cached sampling is tested against.
  std::vector<std::vector<int64_t>> sample_uncached(const std::vector<Prompt>& prompts,
                                                    const std::vector<Prompt>& unconditional, int64_t length,
                                                    const Sampling& s);

  // Greedy decoding without the KV cache (each step reads the whole prefix
  // again): the reference the cached decoding is tested against.
  std::vector<Generation> generate_uncached(const std::vector<Prompt>& prompts, int64_t max_new_tokens);

 private:
  struct Encoded {
    std::vector<int64_t> ids;
    std::vector<const Image*> images;
  };
  std::vector<Encoded> encode_prompts(const std::vector<Prompt>& prompts) const;
  // Prompts grouped by token length and image count, in batches: indices into the caller's list.
  std::vector<std::vector<size_t>> length_batches(const std::vector<Encoded>& encoded) const;
  std::vector<Generation> decode(const std::vector<Prompt>& prompts, int64_t max_new_tokens, bool cached);
  std::vector<std::vector<int64_t>> draw(const std::vector<Prompt>& prompts, const std::vector<Prompt>& unconditional,
                                         int64_t length, const Sampling& s, bool cached);
  Gpt model_;
  const Tokenizer& tok_;
  int64_t batch_size_;
  torch::Tensor vd_ids_, vd_values_;
};

}  // namespace dist2
