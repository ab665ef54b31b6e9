#pragma once
// A trained Gpt as the Predictor a task evaluates: batched greedy decoding with
// the expected value over V_d at every step, and q over V_d after a prompt.
#include "dist2/loss/metric.h"
#include "dist2/model/gpt.h"
#include "dist2/tasks/task.h"

namespace dist2 {

class GptPredictor : public Predictor {
 public:
  GptPredictor(Gpt model, const Tokenizer& tok, int64_t batch_size);
  std::vector<Generation> generate(const std::vector<std::string>& prompts, int64_t max_new_tokens) override;
  std::vector<std::vector<double>> next_number_probs(const std::vector<std::string>& prompts) override;
  const Tokenizer& tokenizer() const override { return tok_; }
  std::vector<double> scalar_scores(const std::vector<std::string>& prompts) override;

 private:
  // Prompts grouped by token length, in batches: indices into the caller's list.
  std::vector<std::vector<size_t>> length_batches(const std::vector<std::vector<int64_t>>& encoded) const;
  Gpt model_;
  const Tokenizer& tok_;
  int64_t batch_size_;
  torch::Tensor vd_ids_, vd_values_;
};

}  // namespace dist2
