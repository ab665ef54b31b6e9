#include "dist2/tasks/grounding/task.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "dist2/tasks/numbers.h"
#include "dist2/util/error.h"
#include "dist2/util/splitmix.h"

namespace dist2 {

using grounding::Box;

namespace {

constexpr const char* kRefPrefix = "REF:";
constexpr const char* kBoxPrefix = " BOX:";
constexpr const char* kQuestionPrefix = "Q:";
constexpr const char* kAnswerPrefix = " A:";

grounding::SceneOptions scene_options(const config::Config& cfg) {
  grounding::SceneOptions o;
  o.canvas = cfg.get_int("task.canvas");
  o.min_items = cfg.get_int("task.min_items");
  o.max_items = cfg.get_int("task.max_items");
  o.min_size = cfg.get_int("task.min_size");
  o.max_size = cfg.get_int("task.max_size");
  o.validate();
  return o;
}

const FashionMnist& items_for(const config::Config& cfg, const std::string& split) {
  return load_fashion_mnist(split, cfg.get_string("task.data_dir"));
}

// values: the target's grid box, the item count, then every item's grid box.
Example to_example(const grounding::GroundingExample& g, int64_t canvas) {
  Example e;
  e.prompt = kRefPrefix + g.expression.text() + kBoxPrefix;
  e.completion = grounding::format_box(g.target_grid);
  e.values = {g.target_grid.x1, g.target_grid.y1, g.target_grid.x2, g.target_grid.y2,
              static_cast<double>(g.scene.items.size())};
  for (const auto& item : g.scene.items) {
    const Box b = grounding::to_grid(item.box, canvas, canvas);
    e.values.insert(e.values.end(), {b.x1, b.y1, b.x2, b.y2});
  }
  e.group = g.group;
  e.images = {g.scene.image};
  return e;
}

}  // namespace

namespace grounding {

Box target_of(const Example& e) {
  DIST2_CHECK(e.values.size() >= 5, "a grounding example needs its target box and items in its values");
  return {e.values[0], e.values[1], e.values[2], e.values[3]};
}

std::vector<Box> items_of(const Example& e) {
  const auto n = static_cast<size_t>(e.values.at(4));
  DIST2_CHECK(e.values.size() == 5 + 4 * n, "a grounding example's values hold {} numbers for {} items", e.values.size(),
              n);
  std::vector<Box> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back({e.values[5 + 4 * i], e.values[6 + 4 * i], e.values[7 + 4 * i], e.values[8 + 4 * i]});
  return out;
}

std::map<std::string, double> box_metrics(const std::vector<std::optional<Box>>& predicted,
                                          const std::vector<Example>& test, const std::string& prefix) {
  DIST2_CHECK(predicted.size() == test.size(), "{} predicted boxes for {} examples", predicted.size(), test.size());
  struct Sums {
    double iou = 0, hits = 0, failures = 0, n = 0;
  };
  std::map<std::string, Sums> by_group;
  Sums all;
  for (size_t i = 0; i < test.size(); ++i) {
    const double v = predicted[i] ? iou(*predicted[i], target_of(test[i])) : 0.0;
    for (Sums* s : {&by_group[test[i].group], &all}) {
      s->iou += v, s->hits += v >= 0.5, s->failures += !predicted[i], s->n += 1;
    }
  }
  std::map<std::string, double> m;
  for (const auto& [group, s] : by_group) {
    m[prefix + group + ".acc50"] = s.hits / s.n;
    m[prefix + group + ".iou"] = s.iou / s.n;
  }
  if (all.n > 0) {
    m[prefix + "acc50"] = all.hits / all.n;
    m[prefix + "mean_iou"] = all.iou / all.n;
    m[prefix + "parse_failure_rate"] = all.failures / all.n;
  }
  return m;
}

std::vector<std::string> vocabulary_words() {
  std::vector<std::string> w = {"the",   "left", "right", "upper", "lower", "bigger", "smaller", "on",      "at",
                                "top",   "bottom", "next", "to",   "what",  "is",     "how",     "many",    "items",
                                "item",  "shoes", "there", "biggest", "yes", "no", "nothing"};
  for (const auto& c : class_names()) w.push_back(c);
  return w;
}

}  // namespace grounding

std::vector<std::string> GroundingTask::added_tokens(const config::Config& cfg) const {
  if (cfg.get_string("task.text_tokens") == "chars") return {};
  // A word is a token at the start of a text ("the", after "REF:") and after a space
  // (" bag"); " a" covers "is there a ...". Spaces are thus never tokens of their own.
  std::vector<std::string> t = {kRefPrefix, kBoxPrefix, kQuestionPrefix, kAnswerPrefix, " a"};
  for (const std::string& w : grounding::vocabulary_words()) t.insert(t.end(), {w, " " + w});
  return t;
}

config::Schema GroundingTask::schema() const {
  config::Schema s;
  s.add_int("task.n_train", 8000, 1, {}, "training examples (ref, ref+ and refg combined; nested: the first n of the seed's stream)");
  s.add_int("task.n_test", 250, 1, {}, "test examples per column group (ref.val ... refg.test)");
  s.add_int("task.canvas", 64, 16, {}, "scene side in pixels (must equal model.image_size)");
  s.add_int("task.min_items", 2, 1, {}, "items per scene, at least");
  s.add_int("task.max_items", 5, 1, {}, "items per scene, at most");
  s.add_int("task.min_size", 14, 4, {}, "smallest item side in pixels");
  s.add_int("task.max_size", 28, 4, {}, "largest item side in pixels");
  s.add_int("task.pretrain_questions", 20000, 1, {}, "backbone pretraining questions about training scenes");
  s.add_int("task.n_questions", 400, 1, {}, "held-out questions for the backbone's knowledge (Table 7 bottom)");
  s.add_string("task.text_tokens", "words", {"words", "chars"},
               "words: each word of the expressions and questions is one token (about half the sequence "
               "of chars, so about a third less compute per step); chars: one token per character");
  s.add_string("task.data_dir", "", {}, "Fashion-MNIST folder (default: $DIST2_FASHION_MNIST, else the Debian package's)");
  add_image_model_keys(s, 64, 1, 1, 8);
  return s;
}

Dataset GroundingTask::generate(const config::Config& cfg) const {
  const auto opt = scene_options(cfg);
  DIST2_CHECK(cfg.get_int("model.image_size") == opt.canvas, "task.canvas ({}) must equal model.image_size ({})",
              opt.canvas, cfg.get_int("model.image_size"));
  const auto seed = static_cast<uint64_t>(cfg.get_int("seed"));
  Dataset d;
  const FashionMnist& train_items = items_for(cfg, "train");
  for (int64_t i = 0; i < cfg.get_int("task.n_train"); ++i)
    d.train.push_back(to_example(grounding::make_example(train_items, "train", seed, i, opt), opt.canvas));
  const FashionMnist& test_items = items_for(cfg, "test");
  for (const auto& group : grounding::group_names())
    for (int64_t i = 0; i < cfg.get_int("task.n_test"); ++i)
      d.test.push_back(to_example(grounding::make_example(test_items, group, seed, i, opt), opt.canvas));
  return d;
}

Prediction GroundingTask::parse(const config::Config& cfg, const Predictor::Generation& g, const Tokenizer& tok) const {
  Prediction p;
  const auto box = grounding::parse_box(g.text);
  if (!box) return p;
  p.parsed = true;
  p.numbers = {box->x1, box->y1, box->x2, box->y2};
  if (cfg.get_string("eval.decoding") == "expected") {
    // Each coordinate as its expected value (sum of v q(v) per digit times its place), clamped to the grid.
    const auto ints = expected_integers(g, tok);
    if (ints.size() == 4)
      for (size_t k = 0; k < 4; ++k) p.numbers[k] = std::clamp(ints[k], 0.0, static_cast<double>(grounding::kGridMax));
  }
  return p;
}

std::map<std::string, double> GroundingTask::evaluate_examples(const config::Config& cfg, const Dataset& data,
                                                               Predictor& model, std::vector<ExampleScore>& scores) const {
  std::vector<Prompt> prompts;
  for (const auto& e : data.test) prompts.push_back(Prompt::of(e));
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  std::vector<std::optional<Box>> predicted;
  for (size_t i = 0; i < gens.size(); ++i) {
    const Prediction p = parse(cfg, gens[i], model.tokenizer());
    predicted.push_back(p.parsed ? std::optional<Box>(Box{p.numbers[0], p.numbers[1], p.numbers[2], p.numbers[3]})
                                 : std::nullopt);
    const double v = predicted.back() ? grounding::iou(*predicted.back(), grounding::target_of(data.test[i])) : 0.0;
    scores.push_back({static_cast<int64_t>(i), data.test[i].group, v, data.test[i].prompt, data.test[i].completion,
                      gens[i].text});
  }
  return grounding::box_metrics(predicted, data.test, "");
}

std::map<std::string, double> GroundingTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                      Predictor& model) const {
  std::vector<ExampleScore> unused;
  return evaluate_examples(cfg, data, model, unused);
}

std::map<std::string, double> GroundingTask::reference_metrics(const config::Config& cfg, const Dataset& data) const {
  std::vector<Box> train_targets;
  for (const auto& e : data.train) train_targets.push_back(grounding::target_of(e));
  const Box mean = grounding::mean_box(train_targets);
  std::vector<std::optional<Box>> random_item, largest, mean_box;
  const auto seed = static_cast<uint64_t>(cfg.get_int("seed"));
  for (size_t i = 0; i < data.test.size(); ++i) {
    const auto items = grounding::items_of(data.test[i]);
    std::mt19937_64 rng(splitmix64_pair(seed, 7000000 + i));
    random_item.push_back(items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)]);
    size_t big = 0;
    for (size_t k = 1; k < items.size(); ++k)
      if (items[k].area() > items[big].area()) big = k;
    largest.push_back(items[big]);
    mean_box.push_back(mean);
  }
  std::map<std::string, double> m;
  for (const auto& [name, preds] : {std::pair{"random_item", &random_item}, {"largest", &largest}, {"mean_box", &mean_box}})
    for (const auto& [k, v] : grounding::box_metrics(*preds, data.test, fmt::format("ref.{}.", name))) m[k] = v;
  return m;
}

namespace {
// The first n questions of a split ("train": pretraining, "test": held out), in
// the form the backbone reads them: "Q:<question> A:" then the answer.
std::vector<grounding::QuestionExample> questions(const config::Config& cfg, const std::string& split, int64_t n) {
  const auto opt = scene_options(cfg);
  const FashionMnist& items = items_for(cfg, split);
  const auto seed = static_cast<uint64_t>(cfg.get_int("backbone.seed"));
  std::vector<grounding::QuestionExample> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(grounding::make_question_example(items, split, seed, i, opt));
  return out;
}

std::string question_prompt(const grounding::Question& q) { return kQuestionPrefix + q.text + kAnswerPrefix; }
}  // namespace

std::vector<Example> GroundingTask::pretraining_examples(const config::Config& cfg) const {
  std::vector<Example> out;
  for (auto& q : questions(cfg, "train", cfg.get_int("task.pretrain_questions")))
    out.push_back({question_prompt(q.question), q.question.answer, {}, q.question.kind, {std::move(q.scene.image)}});
  return out;
}

std::vector<KnowledgeItem> GroundingTask::knowledge_questions(const config::Config& cfg) const {
  std::vector<KnowledgeItem> out;
  for (auto& q : questions(cfg, "test", cfg.get_int("task.n_questions")))
    out.push_back({question_prompt(q.question), q.question.answer, q.question.candidates, {std::move(q.scene.image)}});
  return out;
}

std::string GroundingTask::samples(const config::Config& cfg, const Dataset& data, Predictor& model) const {
  // The first test example of each column group: expression, truth, prediction, IoU.
  std::string md = "| group | expression | truth | predicted | IoU |\n|---|---|---|---|---:|\n";
  const auto picked = first_of_each_group(data.test, grounding::group_names());
  std::vector<Prompt> prompts;
  for (const Example* e : picked) prompts.push_back(Prompt::of(*e));
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  for (size_t i = 0; i < picked.size(); ++i) {
    const auto box = grounding::parse_box(gens[i].text);
    const std::string expression = picked[i]->prompt.substr(4, picked[i]->prompt.size() - 4 - 5);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", picked[i]->group, expression, picked[i]->completion,
                      gens[i].text.empty() ? "(nothing)" : gens[i].text,
                      box ? fmt::format("{:.2f}", grounding::iou(*box, grounding::target_of(*picked[i]))) : "parse failure");
  }
  return md;
}

}  // namespace dist2
