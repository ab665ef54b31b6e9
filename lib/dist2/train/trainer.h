#pragma once
// The training loop: AdamW, linear warmup then linear decay, gradient clipping,
// steps or epochs, checkpoints. Deterministic: the same config, seed and thread
// count give the same losses bit for bit, and the batch of step s depends only
// on (seed, s), so a resumed run continues exactly where it stopped.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "dist2/config/config.h"
#include "dist2/loss/fused.h"
#include "dist2/loss/loss.h"
#include "dist2/model/gpt.h"
#include "dist2/train/distributed.h"
#include "dist2/train/objective.h"
#include "dist2/tasks/task.h"
#include "dist2/tokenizer/tokenizer.h"

namespace dist2 {

struct TrainHooks {
  // Every train.log_every steps: averaged "loss", "ce", "aux", and "lr".
  std::function<void(int64_t step, const std::map<std::string, double>& values)> on_log;
  // Every train.checkpoint_every steps and at the end.
  std::function<void(int64_t step)> on_checkpoint;
  // Checked between steps; true stops training early (the caller decides what that means).
  std::function<bool()> should_stop;
  bool show_progress = true;
};

class Trainer {
 public:
  // `task` encodes the examples and offers task-specific loss kinds (nullptr:
  // the default prompt/completion encoding and the language-model kinds).
  Trainer(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric, const LossOptions& loss,
          const Task* task = nullptr);

  // Steps to run for a training set of n examples (train.steps, or from train.epochs).
  int64_t total_steps(int64_t n_train) const;
  // Runs from the current step to total_steps; returns false if stopped early.
  // The step's loss is the objective of loss.kind (train/objective.h).
  bool train(const std::vector<Example>& data, const TrainHooks& hooks);
  // (chosen, rejected) indices into the training examples, for pair objectives
  // (loss.kind=binary); by default the task's preference_pairs of the data.
  void set_preference_pairs(std::vector<std::pair<size_t, size_t>> pairs) { pairs_ = std::move(pairs); }
  // Data-parallel training: this trainer is one rank of `pg` (null: alone). Each
  // step takes its shard of the global batch; gradients are summed across ranks;
  // the logged losses are the global ones on every rank.
  void set_process_group(ProcessGroup* pg) { pg_ = pg; }
  // Initialises the model from pretrained backbone weights (before training starts).
  void load_backbone(const std::string& path);
  // Writes the model's weights alone (a backbone), checksummed.
  void save_weights(const std::string& path) const;

  Gpt& model() { return model_; }
  int64_t step() const { return step_; }
  // Where the model and every step's tensors live (train.device).
  const torch::Device& device() const { return device_; }
  // The loss implementation the steps ran, and why not fused when it fell back
  // (Objective::impl_used); empty before the first step.
  const std::string& loss_impl_used() const { return impl_used_; }
  const std::string& loss_fallback_reason() const { return fallback_reason_; }
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);

 private:
  // B indices into a set of n items for step s: epoch permutations back to back.
  std::vector<int64_t> indices_for_step(int64_t n, int64_t step, int64_t B) const;
  double lr_at(int64_t step, int64_t total) const;

  const config::Config cfg_;
  const Tokenizer& tok_;
  const MetricSpace& metric_;
  LossOptions loss_;
  const Task* task_;
  torch::Device device_{torch::kCPU};
  Gpt model_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t step_ = 0;
  uint64_t seed_ = 0;
  std::vector<std::pair<size_t, size_t>> pairs_;
  std::string impl_used_, fallback_reason_;
  ProcessGroup* pg_ = nullptr;
};

// The model of a config: model.* keys, and the image front end when the task's
// schema has the image keys (model.image_size > 0).
GptOptions gpt_options(const config::Config& cfg, int64_t vocab_size);
// splitmix64 of (a, b): independent generator seeds from a seed and an index.
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace dist2
