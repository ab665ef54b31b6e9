#pragma once
// What one training step minimises, chosen by loss.kind. The language-model
// objective (sft, vocab, label_smoothing, dist, ntl_*) is the default; a task may
// offer further kinds through Task::extra_loss_kinds (the reward task's `binary`:
// a scalar head trained on preference pairs), and the trainer's loop knows none
// of them by name.
#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "dist2/config/config.h"
#include "dist2/loss/fused.h"
#include "dist2/loss/loss.h"
#include "dist2/model/gpt.h"

#include "dist2/tasks/task.h"

namespace dist2 {

class ProcessGroup;

class Objective {
 public:
  virtual ~Objective() = default;
  // Whether the model needs a scalar head (a sequence classifier).
  virtual bool needs_scalar_head() const { return false; }
  // How many items a step samples from (examples, or pairs of them).
  virtual int64_t item_count(const std::vector<Example>& data) const { return static_cast<int64_t>(data.size()); }
  // Sequences the model reads per item: a step samples train.batch_size / this
  // many items, so every objective sees train.batch_size sequences per step.
  virtual int64_t sequences_per_item() const { return 1; }
  // The loss of one step over the picked items (indices below item_count).
  virtual LossTerms step(Gpt& model, const std::vector<Example>& data, const std::vector<int64_t>& picked,
                         uint64_t step_seed) = 0;
  // The loss implementation the steps so far ran ("fused", "reference", or the
  // objective's own, e.g. "bradley-terry"), and why the fused kernel did not
  // apply when loss.impl asked for it ("" when it did). Empty before a step.
  virtual std::string impl_used() const = 0;
  virtual std::string fallback_reason() const { return ""; }
  // Data-parallel: `picked` is then this rank's shard of the global batch, and
  // step() returns the shard's share of the global loss (the shares add up to
  // the loss of the whole batch; the trainer sums the gradients).
  void set_process_group(ProcessGroup* pg) { pg_ = pg; }

 protected:
  ProcessGroup* pg_ = nullptr;  // null or world 1: one process
};

// Items a step samples so that it reads batch_size sequences (at least one item).
inline int64_t items_per_step(int64_t batch_size, const Objective& objective) {
  return std::max<int64_t>(1, batch_size / objective.sequences_per_item());
}

// The language-model loss of loss.* over the task's encoding of each example.
std::unique_ptr<Objective> lm_objective(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric,
                                        const LossOptions& loss, const Task* task);
// Bradley-Terry on a scalar head over (chosen, rejected) pairs of training
// examples: -log sigmoid(r_chosen - r_rejected), the reward task's `binary`.
std::unique_ptr<Objective> preference_objective(const config::Config& cfg, const Tokenizer& tok,
                                                std::vector<std::pair<size_t, size_t>> pairs);

// The language-model loss kinds every task can train.
const std::vector<std::string>& lm_loss_kinds();
bool is_lm_loss_kind(const std::string& kind);
// Whether loss.kind trains a scalar head (known before the model is built).
bool kind_needs_scalar_head(const std::string& kind);
// The objective of loss.kind; `pairs` serve the pair objectives (binary).
std::unique_ptr<Objective> make_objective(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric,
                                          const LossOptions& loss, const Task* task,
                                          std::vector<std::pair<size_t, size_t>> pairs);

}  // namespace dist2
