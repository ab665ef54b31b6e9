#pragma once
// The task adapter interface. A task knows its data, its config keys and its
// metrics; the pipeline (prepare, train, eval, sweep, report) knows nothing else
// about it. Sequences are <bos> prompt completion <eos>; the completion is
// supervised, and the numbers in it are metric positions (V_d from the tokenizer).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dist2/config/config.h"
#include "dist2/tokenizer/tokenizer.h"

namespace dist2 {

struct Example {
  std::string prompt;
  std::string completion;
  std::vector<double> values;  // task-specific numbers (targets, observed points, scores)
  std::string group;           // optional label (source, subset) for per-group metrics
};

struct Dataset {
  std::vector<Example> train, test;
  // Further named splits a task evaluates on (e.g. a shifted distribution).
  std::map<std::string, std::vector<Example>> extra;
};

// What a task may ask of a trained model at evaluation time.
class Predictor {
 public:
  virtual ~Predictor() = default;
  struct Generation {
    std::string text;               // decoded completion, up to <eos>
    std::vector<int64_t> ids;       // generated ids
    std::vector<double> expected;   // per generated token: E_q[v] over V_d at that step
  };
  // Greedy decoding of each prompt, at most max_new_tokens tokens.
  virtual std::vector<Generation> generate(const std::vector<std::string>& prompts, int64_t max_new_tokens) = 0;
  // q over V_d (renormalised) at the first position after each prompt: [n][M].
  virtual std::vector<std::vector<double>> next_number_probs(const std::vector<std::string>& prompts) = 0;
  // The tokenizer (its number tokens are V_d, in the order of next_number_probs' columns).
  virtual const Tokenizer& tokenizer() const = 0;
  // One scalar per prompt from a scalar head on the last prompt position (the
  // `binary` sequence-classifier baseline); models without one refuse.
  virtual std::vector<double> scalar_scores(const std::vector<std::string>& prompts);
};

// A question about the backbone's pretraining knowledge: the greedy continuation
// of `prompt` must start with `answer` (our stand-in for MMLU, paper Table 7).
struct KnowledgeItem {
  std::string prompt, answer;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // The task's config keys (under task.), with defaults and ranges.
  virtual config::Schema schema() const = 0;
  // Deterministic given the config (its seed and task keys).
  virtual Dataset generate(const config::Config& cfg) const = 0;
  // Metrics on the test split (and extra splits), named like "mae" or "chat.accuracy".
  virtual std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                                 Predictor& model) const = 0;
  // Metrics of reference predictors that need no model (e.g. "ref.constant.mae").
  virtual std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const {
    return {};
  }
  // How many new tokens a completion may need at evaluation.
  virtual int64_t max_new_tokens(const config::Config& cfg) const { return 16; }

  // Preference pairs (chosen, rejected) as indices into the training split, for
  // loss.kind=binary (a scalar head trained with the Bradley-Terry loss). Empty:
  // the task has no preferences.
  virtual std::vector<std::pair<size_t, size_t>> preference_pairs(const std::vector<Example>& train) const {
    return {};
  }

  // Backbone pretraining (backbone.pretrain_steps > 0): plain documents to model,
  // and knowledge questions to measure what the backbone keeps (Table 7). Tasks
  // without a pretraining corpus return none, and such configs are refused.
  virtual std::vector<std::string> pretraining_corpus(const config::Config& cfg) const { return {}; }
  virtual std::vector<KnowledgeItem> knowledge_questions(const config::Config& cfg) const { return {}; }

  // A few worked examples of the trained model's predictions as Markdown (e.g. the
  // paper's figure 7: each response of a pair with its expected score); "" = none.
  virtual std::string samples(const config::Config& cfg, const Dataset& data, Predictor& model) const { return ""; }
};

// The share of questions whose greedy continuation starts with the answer.
double knowledge_accuracy(const std::vector<KnowledgeItem>& items, Predictor& model);

std::unique_ptr<Task> make_task(const std::string& name);
std::vector<std::string> task_names();

}  // namespace dist2
