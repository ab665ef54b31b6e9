// What the Task and Predictor interfaces provide themselves.
#include "dist2/tasks/task.h"

#include <algorithm>
#include <cmath>

#include "dist2/tasks/numbers.h"
#include "dist2/util/error.h"

namespace dist2 {

Prompt Prompt::of(const Example& e) {
  Prompt p(e.prompt);
  for (const auto& img : e.images) p.images.push_back(&img);
  return p;
}

std::vector<Prompt> prompts_of(const std::vector<std::string>& texts) { return {texts.begin(), texts.end()}; }

namespace {

// Greedy: the continuation must start with the answer.
bool answered_by_generation(const Predictor::Generation& g, const KnowledgeItem& q) {
  return g.text.rfind(q.answer, 0) == 0;
}

Prompt prompt_of(const KnowledgeItem& q) {
  Prompt p(q.prompt);
  for (const auto& img : q.images) p.images.push_back(&img);
  return p;
}

// Ranking: the answer must have the highest log-likelihood among the candidates
// (a tie counts as wrong, so a model that scores everything alike gets no credit).
// Adds each item's answer log-loss among its candidates to log_loss_sum.
int64_t answered_by_ranking(const std::vector<KnowledgeItem>& items, Predictor& model, double& log_loss_sum) {
  std::vector<Prompt> prompts;
  std::vector<std::string> continuations;
  for (const auto& q : items)
    for (const auto& c : q.candidates) prompts.push_back(prompt_of(q)), continuations.push_back(c);
  const auto ll = model.log_likelihoods(prompts, continuations);
  int64_t right = 0;
  size_t k = 0;
  for (const auto& q : items) {
    double best_other = -INFINITY, answer = -INFINITY, top = -INFINITY;
    for (size_t c = 0; c < q.candidates.size(); ++c) top = std::max(top, ll[k + c]);
    double mass = 0;  // sum of exp(ll - top): log-sum-exp without overflow
    for (const auto& c : q.candidates) {
      const double l = ll[k++];
      mass += std::exp(l - top);
      if (c == q.answer) answer = l;
      else best_other = std::max(best_other, l);
    }
    right += answer > best_other;
    log_loss_sum += top + std::log(mass) - answer;
  }
  return right;
}

}  // namespace

KnowledgeScores knowledge_scores(const std::vector<KnowledgeItem>& items, Predictor& model) {
  KnowledgeScores out;
  if (items.empty()) return out;
  std::vector<KnowledgeItem> ranked, generated;
  for (const auto& q : items) {
    if (q.candidates.empty()) {
      generated.push_back(q);
      continue;
    }
    DIST2_CHECK(std::count(q.candidates.begin(), q.candidates.end(), q.answer) == 1,
                "knowledge question '{}': its answer '{}' must be among its candidates exactly once", q.prompt, q.answer);
    ranked.push_back(q);
  }
  double log_loss_sum = 0;
  int64_t right = ranked.empty() ? 0 : answered_by_ranking(ranked, model, log_loss_sum);
  if (!ranked.empty()) out.log_loss = log_loss_sum / static_cast<double>(ranked.size());
  if (!generated.empty()) {
    std::vector<Prompt> prompts;
    int64_t longest = 1;
    for (const auto& q : generated) {
      prompts.push_back(prompt_of(q));
      longest = std::max<int64_t>(longest, static_cast<int64_t>(model.tokenizer().encode_ids(q.answer).size()));
    }
    const auto gens = model.generate(prompts, longest);
    for (size_t i = 0; i < generated.size(); ++i) right += answered_by_generation(gens[i], generated[i]);
  }
  out.accuracy = static_cast<double>(right) / static_cast<double>(items.size());
  return out;
}

std::vector<double> Predictor::scalar_scores(const std::vector<Prompt>&) {
  throw Error("this model has no scalar head (only a sequence-classifier loss such as loss.kind=binary trains one)");
}

std::vector<double> Predictor::log_likelihoods(const std::vector<Prompt>&, const std::vector<std::string>&) {
  throw Error("this predictor cannot score continuations");
}

std::vector<std::vector<int64_t>> Predictor::sample(const std::vector<Prompt>&, const std::vector<Prompt>&, int64_t,
                                                   const Sampling&) {
  throw Error("this predictor cannot sample");
}

namespace {
std::string g_asset_dir;
}  // namespace

void set_asset_dir(const std::string& dir) { g_asset_dir = dir; }

const std::string& asset_dir() {
  DIST2_CHECK(!g_asset_dir.empty(), "no asset folder set (the pipeline sets it from --store before a task runs)");
  return g_asset_dir;
}

EncodedExample encode_prompt_completion(const Example& e, const Tokenizer& tok) {
  EncodedExample out;
  const auto prompt = tok.encode(e.prompt);
  const auto completion = tok.encode(e.completion);
  out.ids.push_back(Tokenizer::kBos);
  out.ids.insert(out.ids.end(), prompt.ids.begin(), prompt.ids.end());
  out.completion_begin = out.ids.size();
  out.ids.insert(out.ids.end(), completion.ids.begin(), completion.ids.end());
  out.completion_end = out.ids.size();
  out.ids.push_back(Tokenizer::kEos);
  out.supervised.assign(out.ids.size(), 0);
  out.metric.assign(out.ids.size(), 0);
  out.place.assign(out.ids.size(), 0.f);
  for (size_t t = out.completion_begin; t < out.ids.size(); ++t) out.supervised[t] = 1;
  for (size_t c = 0; c < completion.ids.size(); ++c) {
    out.metric[out.completion_begin + c] = completion.is_number[c];
    out.place[out.completion_begin + c] = completion.place[c];
  }
  for (const auto& img : e.images) out.images.push_back(&img);
  return out;
}

std::vector<const Example*> first_of_each_group(const std::vector<Example>& examples,
                                                const std::vector<std::string>& groups) {
  std::vector<const Example*> out;
  for (const auto& group : groups) {
    const auto it = std::find_if(examples.begin(), examples.end(), [&](const Example& e) { return e.group == group; });
    if (it != examples.end()) out.push_back(&*it);
  }
  return out;
}

MetricTokens number_metric_tokens(const Tokenizer& tok) {
  MetricTokens m;
  m.token_ids = tok.number_token_ids();
  m.values = tok.number_token_values();
  return m;
}

MetricTokens Task::metric_tokens(const config::Config&, const Tokenizer& tok) const { return number_metric_tokens(tok); }

EncodedExample Task::encode(const Example& e, const Tokenizer& tok) const { return encode_prompt_completion(e, tok); }

std::vector<Example> Task::pretraining_examples(const config::Config& cfg) const {
  std::vector<Example> out;
  for (auto& doc : pretraining_corpus(cfg)) out.push_back({"", std::move(doc), {}, "", {}});
  return out;
}

void add_image_model_keys(config::Schema& s, int64_t image_size, int64_t channels, int64_t max_images,
                          int64_t patch_size) {
  s.add_int("model.image_size", image_size, 1, {}, "side of the square input images (pixels)");
  s.add_int("model.image_channels", channels, 1, {}, "channels of the input images");
  s.add_int("model.max_images", max_images, 1, {}, "images per sequence, at most");
  s.add_int("model.patch_size", patch_size, 1, {}, "side of an image patch (one prefix token per patch)");
  s.add_int("model.patch_hidden", 128, 1, {}, "hidden width of the 2-layer MLP patch embedding");
  s.add_int("model.patch_context", 0, 0, {}, "pixels around each patch its MLP also reads (overlapping windows)");
}

Prediction Task::parse(const config::Config& cfg, const Predictor::Generation& g, const Tokenizer& tok) const {
  const bool expected = cfg.has("eval.decoding") && cfg.get_string("eval.decoding") == "expected";
  const auto value = expected ? expected_number(g, tok) : parse_first_number(g.text);
  Prediction p;
  if (value) p.numbers.push_back(*value), p.parsed = true;
  return p;
}

}  // namespace dist2
