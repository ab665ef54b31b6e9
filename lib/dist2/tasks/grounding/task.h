#pragma once
// Visual grounding (paper section 3.2, appendices C.2 and F), scaled: the model
// reads a scene of Fashion-MNIST items (its image prefix) and a referring
// expression, "REF:the left bag BOX:", and writes the named item's box on a
// 0-99 grid, "12,40,37,88"; the box's digits are the metric positions (place
// weights as in the regression task). Scenes, expressions and the backbone's
// pretraining questions come from scene.h.
//
// Evaluation: Acc@IoU>=0.5 and mean IoU per column group (ref.val ... refg.test,
// Table 1) and overall, the parse-failure rate (a malformed box counts as IoU 0),
// and each test example's IoU as the run's "examples" artifact (Table 13).
// References: a random item of the scene, the largest item, the mean training box.
// Backbone (Table 7 bottom): pretrained on questions about training scenes ("what
// is at the top left?"), never on boxes; its held-out questions are scored by
// ranking the candidate answers by likelihood.
#include "dist2/tasks/grounding/scene.h"
#include "dist2/tasks/task.h"

namespace dist2 {

class GroundingTask : public Task {
 public:
  std::string name() const override { return "grounding"; }
  config::Schema schema() const override;
  // train: task.n_train examples of the "train" group; test: task.n_test per column group.
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> evaluate_examples(const config::Config& cfg, const Dataset& data, Predictor& model,
                                                  std::vector<ExampleScore>& scores) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config& cfg) const override { return 14; }
  // task.text_tokens=words: the prompt markers and every word of the expressions,
  // questions and answers as one token each (see grounding::vocabulary_words).
  std::vector<std::string> added_tokens(const config::Config& cfg) const override;
  Prediction parse(const config::Config& cfg, const Predictor::Generation& g, const Tokenizer& tok) const override;
  std::vector<Example> pretraining_examples(const config::Config& cfg) const override;
  std::vector<KnowledgeItem> knowledge_questions(const config::Config& cfg) const override;
  std::string samples(const config::Config& cfg, const Dataset& data, Predictor& model) const override;
};

namespace grounding {
// Box metrics of predictions (nullopt: a parse failure, scored IoU 0) against
// the truth, per group ("<group>.acc50", "<group>.iou") and overall ("acc50",
// "mean_iou"), under `prefix`.
std::map<std::string, double> box_metrics(const std::vector<std::optional<Box>>& predicted,
                                          const std::vector<Example>& test, const std::string& prefix);
// Every word an expression, a question or an answer of this task can use.
std::vector<std::string> vocabulary_words();
// The example's target box (grid) and the boxes of every item of its scene (grid).
Box target_of(const Example& e);
std::vector<Box> items_of(const Example& e);
}  // namespace grounding

}  // namespace dist2
