#pragma once
// The task adapter interface. A task knows its data, its inputs (text and
// images), its vocabulary and metric, its config keys and its metrics; the
// pipeline (prepare, train, eval, sweep, report) knows nothing else about it.
// By default a sequence is <bos> prompt completion <eos>, read after the
// example's images (the model's image prefix); the completion is supervised, and
// the numbers in it are metric positions (V_d: the tokenizer's number tokens).
// This header stays free of LibTorch: tasks build data, the model consumes it.
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dist2/config/config.h"
#include "dist2/image/image.h"
#include "dist2/tokenizer/tokenizer.h"

namespace dist2 {

struct Example {
  std::string prompt;
  std::string completion;
  std::vector<double> values;  // task-specific numbers (targets, observed points, scores)
  std::string group;           // optional label (source, subset) for per-group metrics
  std::vector<Image> images;   // image inputs, read before the prompt text (all the same shape in a task)
};

// What a trained model is asked about: the prompt text and the images before it.
struct Prompt {
  std::string text;
  std::vector<const Image*> images;
  Prompt(std::string t) : text(std::move(t)) {}  // NOLINT: a plain text prompt
  Prompt(const char* t) : text(t) {}             // NOLINT
  Prompt(std::string t, std::vector<const Image*> imgs) : text(std::move(t)), images(std::move(imgs)) {}
  static Prompt of(const Example& e);  // the example's prompt and images
};
std::vector<Prompt> prompts_of(const std::vector<std::string>& texts);

// An example as the model reads it: the text token ids, which next-token
// predictions are trained, which of those targets are metric positions (and
// their place weights, appendix A.2), and the images of the prefix.
struct EncodedExample {
  std::vector<int64_t> ids;
  std::vector<uint8_t> supervised;  // per id: is ids[t] a training target (predicted at t - 1)
  std::vector<uint8_t> metric;      // per id: is ids[t] a metric position (its target in V_d)
  std::vector<float> place;         // per id: place-value weight of a metric position (else 0)
  size_t completion_begin = 0, completion_end = 0;  // [begin, end) of the completion's tokens in ids
  std::vector<const Image*> images;
};

// A metric sub-vocabulary V_d as data: its token ids with a scalar value each
// (numbers: sq, abs, random metrics) and/or an embedding each (VQ codes: mse,
// cosine). The loss library turns it into a MetricSpace (train/schema.h).
struct MetricTokens {
  std::vector<int64_t> token_ids;
  std::vector<double> values;      // [M] or empty
  std::vector<double> embeddings;  // [M * dim] row-major, or empty
  int64_t dim = 0;
  // The values the task's labels take, one set per kind of label (the reward
  // task: 0-20 for the overall score, 0-4 for a facet). loss.metric=permuted
  // permutes only these (Table 8), and the soft-target summary is taken over
  // them. Empty: every value of V_d is a label.
  std::vector<std::vector<double>> label_values;
};

// A generation read back as the task's structured prediction: its numbers (a
// value, a box's four corners, an action's coordinates, the facet scores).
struct Prediction {
  std::vector<double> numbers;
  bool parsed = false;  // false: the output did not have the expected form
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
  virtual std::vector<Generation> generate(const std::vector<Prompt>& prompts, int64_t max_new_tokens) = 0;
  // q over V_d (renormalised) at the first position after each prompt: [n][M].
  virtual std::vector<std::vector<double>> next_number_probs(const std::vector<Prompt>& prompts) = 0;
  // The tokenizer (its number tokens are V_d, in the order of next_number_probs' columns).
  virtual const Tokenizer& tokenizer() const = 0;
  // One scalar per prompt from a scalar head on the last prompt position (a
  // sequence classifier, e.g. the reward task's `binary` baseline); models without one refuse.
  virtual std::vector<double> scalar_scores(const std::vector<Prompt>& prompts);
  virtual bool has_scalar_head() const { return false; }
  // Teacher-forced log-likelihood of each continuation after its prompt, summed
  // over the continuation's tokens (how MMLU-style multiple choice is scored).
  virtual std::vector<double> log_likelihoods(const std::vector<Prompt>& prompts,
                                              const std::vector<std::string>& continuations);

  // Sampling (the image generator, paper sections 3.5 and D.3): `length` tokens
  // after each prompt, each drawn from softmax(logits / temperature) over the
  // `allowed` ids only (the top_k most likely of them when top_k > 0). With
  // unconditional prompts (one per prompt, of the same token length), classifier-
  // free guidance as in LlamaGen: logits = u + guidance (c - u), c read after the
  // prompt and u after its unconditional prompt. Row i's draws depend only on
  // (seed, i), not on how rows are batched. Models that cannot sample refuse.
  struct Sampling {
    std::vector<int64_t> allowed;
    double guidance = 1.0, temperature = 1.0;
    int64_t top_k = 0;
    uint64_t seed = 0;
  };
  virtual std::vector<std::vector<int64_t>> sample(const std::vector<Prompt>& prompts,
                                                   const std::vector<Prompt>& unconditional, int64_t length,
                                                   const Sampling& s);

  // Text-only conveniences.
  std::vector<Generation> generate(const std::vector<std::string>& prompts, int64_t max_new_tokens) {
    return generate(prompts_of(prompts), max_new_tokens);
  }
  std::vector<std::vector<double>> next_number_probs(const std::vector<std::string>& prompts) {
    return next_number_probs(prompts_of(prompts));
  }
  std::vector<double> scalar_scores(const std::vector<std::string>& prompts) { return scalar_scores(prompts_of(prompts)); }
};

// One test example's score under a trained model (e.g. its box's IoU), kept
// with the run as a CSV artifact so that reports can pair examples across runs
// (paper Table 13: the IoU on the examples where both sft and dist are wrong).
struct ExampleScore {
  int64_t index = 0;  // in the test split
  std::string group;
  double score = 0;
  std::string prompt, truth, prediction;  // the prompt, the target completion, the generated text
};

// A question about the backbone's pretraining knowledge (our stand-in for MMLU,
// paper Table 7). Without candidates: the greedy continuation of `prompt` must
// start with `answer`. With candidates (the answer among them): the answer must
// have the highest teacher-forced log-likelihood, as MMLU is scored.
struct KnowledgeItem {
  std::string prompt, answer;
  std::vector<std::string> candidates;
  std::vector<Image> images;
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
  // evaluate() that also returns each test example's score; by default
  // evaluate() alone (no per-example scores).
  virtual std::map<std::string, double> evaluate_examples(const config::Config& cfg, const Dataset& data,
                                                          Predictor& model, std::vector<ExampleScore>& scores) const {
    return evaluate(cfg, data, model);
  }
  // Metrics of reference predictors that need no model (e.g. "ref.constant.mae").
  virtual std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const {
    return {};
  }
  // How many new tokens a completion may need at evaluation.
  virtual int64_t max_new_tokens(const config::Config& cfg) const { return 16; }

  // ---- vocabulary, metric and encoding (defaults: numbers in text) ----
  // Whole-word tokens the task adds to the tokenizer's vocabulary (after the built-in ones).
  virtual std::vector<std::string> added_tokens(const config::Config& cfg) const { return {}; }
  // V_d: by default the tokenizer's number tokens with their values.
  virtual MetricTokens metric_tokens(const config::Config& cfg, const Tokenizer& tok) const;
  // An example as token ids + supervision + metric positions (see EncodedExample).
  virtual EncodedExample encode(const Example& e, const Tokenizer& tok) const;
  // An example as one training step reads it: by default encode(). A task may
  // vary it from step to step with `draw`, a seed of (step, example) that every
  // rank shares: the image task's class dropout for classifier-free guidance.
  virtual EncodedExample encode_for_training(const Example& e, const Tokenizer& tok, uint64_t draw) const {
    return encode(e, tok);
  }
  // A generation as the task's prediction: by default the first number of the
  // text, or its expected value (eval.decoding=expected) from the per-token E_q[v].
  virtual Prediction parse(const config::Config& cfg, const Predictor::Generation& g, const Tokenizer& tok) const;
  // Loss kinds beyond the language-model ones that only this task can train
  // (the reward task's `binary` sequence classifier); the trainer refuses them elsewhere.
  virtual std::vector<std::string> extra_loss_kinds() const { return {}; }

  // Preference pairs (chosen, rejected) as indices into the training split, for
  // loss.kind=binary (a scalar head trained with the Bradley-Terry loss). Empty:
  // the task has no preferences.
  virtual std::vector<std::pair<size_t, size_t>> preference_pairs(const std::vector<Example>& train) const {
    return {};
  }

  // Models that every run of the task shares, trained once and cached under
  // asset_dir() (the image task's VQ tokenizer and evaluation classifier).
  // `prepare` and a sweep call this before any run starts, with all the cores
  // the sweep will use; otherwise the first run would train them on its one
  // thread while the others wait. Returns a line saying what it did ("" = the
  // task has none).
  virtual std::string prepare_shared(const config::Config& cfg) const { return ""; }
  // Whether prepare_shared() has models to train for cfg (a Slurm sweep then
  // trains them in a job of its own that its array waits for).
  virtual bool has_shared_models(const config::Config& cfg) const { return false; }

  // Backbone pretraining (backbone.pretrain_steps > 0): plain documents to model,
  // and knowledge questions to measure what the backbone keeps (Table 7). Tasks
  // without a pretraining corpus return none, and such configs are refused.
  virtual std::vector<std::string> pretraining_corpus(const config::Config& cfg) const { return {}; }
  // The corpus as training examples: by default each document as a completion
  // after an empty prompt; tasks with images pretrain on examples that read them.
  virtual std::vector<Example> pretraining_examples(const config::Config& cfg) const;
  virtual std::vector<KnowledgeItem> knowledge_questions(const config::Config& cfg) const { return {}; }

  // A few worked examples of the trained model's predictions as Markdown (e.g. the
  // paper's figure 7: each response of a pair with its expected score); "" = none.
  virtual std::string samples(const config::Config& cfg, const Dataset& data, Predictor& model) const { return ""; }
};

// What a model keeps of its pretraining knowledge: the share of questions
// answered right (by likelihood ranking when an item has candidates, else by its
// greedy continuation starting with the answer), and, over the ranked items, the
// mean log-loss of the answer among its candidates, -log softmax(ll)[answer], a
// continuous measure of forgetting (NaN without ranked items).
struct KnowledgeScores {
  double accuracy = NAN, log_loss = NAN;
};
KnowledgeScores knowledge_scores(const std::vector<KnowledgeItem>& items, Predictor& model);
inline double knowledge_accuracy(const std::vector<KnowledgeItem>& items, Predictor& model) {
  return knowledge_scores(items, model).accuracy;
}

// The first example of each group, in `groups` order (groups without one are
// left out): the picks of a task's samples().
std::vector<const Example*> first_of_each_group(const std::vector<Example>& examples,
                                                const std::vector<std::string>& groups);

// The default encoding: <bos> prompt completion <eos>, completion and <eos>
// supervised, the completion's number tokens metric positions with their place weights.
EncodedExample encode_prompt_completion(const Example& e, const Tokenizer& tok);
// The default V_d: the tokenizer's number tokens with their values.
MetricTokens number_metric_tokens(const Tokenizer& tok);

// The model keys of the image front end (model.image_size, ...), for the schema
// of a task that reads images: pipeline tasks without images never have them, so
// their configs and hashes are unchanged.
void add_image_model_keys(config::Schema& s, int64_t image_size, int64_t channels, int64_t max_images,
                          int64_t patch_size);

// The task registry (defined in dist2core, train/registry.cpp: some tasks use LibTorch).
std::unique_ptr<Task> make_task(const std::string& name);
std::vector<std::string> task_names();

// Where tasks cache what they train once and share across runs and seeds (the
// image task's VQ tokenizer and classifier, as backbones are cached): the
// store's assets/ folder. The pipeline sets it from --store before any task
// method runs; asset_dir() is a dist2::Error when it was never set.
void set_asset_dir(const std::string& dir);
const std::string& asset_dir();

}  // namespace dist2
