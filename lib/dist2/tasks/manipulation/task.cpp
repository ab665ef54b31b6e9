#include "dist2/tasks/manipulation/task.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "dist2/util/error.h"

namespace dist2 {

namespace {

constexpr const char* kDoPrefix = "DO:";
constexpr const char* kActPrefix = " ACT:";
constexpr const char* kAuxGroup = "aux";
const std::vector<std::string> kFailureKinds = {"malformed", "off_table", "no_object", "too_many", "goal"};

manipulation::SceneOptions scene_options(const config::Config& cfg) {
  manipulation::SceneOptions o;
  o.canvas = cfg.get_int("task.canvas");
  o.min_objects = cfg.get_int("task.min_objects");
  o.max_objects = cfg.get_int("task.max_objects");
  o.validate();
  return o;
}

Example to_example(const manipulation::Episode& e, const std::string& group) {
  Example x;
  x.prompt = kDoPrefix + e.instruction + kActPrefix;
  x.completion = e.actions;
  x.values = manipulation::to_values(e.scene, e.goal);
  x.group = group;
  x.images = {manipulation::render(e.scene)};
  return x;
}

// The seed of a reference policy's draw for test example i.
uint64_t reference_seed(const config::Config& cfg, size_t i, uint64_t policy) {
  return manipulation::stream_seed(static_cast<uint64_t>(cfg.get_int("seed")), 100 + policy, static_cast<int64_t>(i));
}

}  // namespace

namespace manipulation {

std::map<std::string, double> episode_metrics(const std::vector<std::string>& action_texts,
                                              const std::vector<Example>& test, const std::string& prefix,
                                              std::vector<std::string>* reasons) {
  DIST2_CHECK(action_texts.size() == test.size(), "{} action texts for {} episodes", action_texts.size(), test.size());
  std::map<std::string, std::pair<double, double>> by_group;  // group -> (successes, n)
  std::map<std::string, double> failures;
  for (size_t i = 0; i < test.size(); ++i) {
    const auto [scene, goal] = from_values(test[i].values);
    const Outcome out = execute_text(scene, goal, action_texts[i]);
    auto& g = by_group[test[i].group];
    g.first += out.success, g.second += 1;
    if (!out.success) failures[out.kind] += 1;
    if (reasons) reasons->push_back(out.reason);
  }
  std::map<std::string, double> m;
  std::map<std::string, std::pair<double, int>> by_protocol;  // protocol -> (sum of group rates, groups)
  double successes = 0;
  for (const auto& [group, s] : by_group) {
    const double rate = s.first / s.second;
    m[prefix + group + ".success"] = rate;
    successes += s.first;
    const std::string protocol = group.substr(0, group.find('.'));
    by_protocol[protocol].first += rate, by_protocol[protocol].second += 1;
  }
  for (const auto& [protocol, s] : by_protocol) m[prefix + protocol + ".success"] = s.first / s.second;
  if (!test.empty()) {
    const auto n = static_cast<double>(test.size());
    m[prefix + "success"] = successes / n;
    m[prefix + "parse_failure_rate"] = failures["malformed"] / n;
    for (const auto& kind : kFailureKinds) m[prefix + "failure." + kind] = failures[kind] / n;
  }
  return m;
}

}  // namespace manipulation

config::Schema ManipulationTask::schema() const {
  config::Schema s;
  s.add_int("task.n_train", 2000, 1, {},
            "training episodes, the three families mixed (nested: the first n of the seed's stream)");
  s.add_int("task.n_test", 100, 1, {}, "test episodes per group (l1.put ... l2.put_all)");
  s.add_int("task.canvas", 40, 32, {}, "table side in pixels (must equal model.image_size)");
  s.add_int("task.min_objects", 2, 2, {}, "objects per scene, at least");
  s.add_int("task.max_objects", 4, 2, {}, "objects per scene, at most");
  s.add_float("task.aux", 0.0, 0.0, 4.0,
              "auxiliary localisation questions (LLaRA's: \"where is the red bar?\" -> its centre) per training "
              "episode, about its scene");
  s.add_string("task.text_tokens", "words", {"words", "chars"},
               "words: each word of an instruction is one token; chars: one token per character");
  add_image_model_keys(s, 40, 3, 1, 8);
  s.add_int("model.context", 128, 8, {}, "maximum sequence length (image prefix, instruction and actions)");
  return s;
}

std::vector<std::string> ManipulationTask::added_tokens(const config::Config& cfg) const {
  if (cfg.get_string("task.text_tokens") == "chars") return {};
  std::vector<std::string> t = {kDoPrefix, kActPrefix};
  for (const std::string& w : manipulation::vocabulary_words()) t.insert(t.end(), {w, " " + w});
  return t;
}

int64_t ManipulationTask::max_new_tokens(const config::Config&) const {
  // At most kMaxActions actions of five numbers (up to 3 digits each under digits)
  // with their separators, and <eos>: a model that runs on is cut, then fails.
  return manipulation::kMaxActions * (5 * 3 + 5) + 1;
}

Dataset ManipulationTask::generate(const config::Config& cfg) const {
  const auto opt = scene_options(cfg);
  DIST2_CHECK(cfg.get_int("model.image_size") == opt.canvas, "task.canvas ({}) must equal model.image_size ({})",
              opt.canvas, cfg.get_int("model.image_size"));
  DIST2_CHECK(cfg.get_int("model.image_channels") == 3, "the tabletop is RGB: model.image_channels must be 3, not {}",
              cfg.get_int("model.image_channels"));
  const auto seed = static_cast<uint64_t>(cfg.get_int("seed"));
  Dataset d;
  const int64_t n_train = cfg.get_int("task.n_train");
  for (int64_t i = 0; i < n_train; ++i) d.train.push_back(to_example(manipulation::make_episode("train", seed, i, opt), "train"));
  // Auxiliary questions about the first training scenes, after the episodes.
  const auto n_aux = static_cast<int64_t>(std::llround(cfg.get_double("task.aux") * static_cast<double>(n_train)));
  for (int64_t i = 0; i < n_aux; ++i) {
    const Example& episode = d.train[static_cast<size_t>(i % n_train)];
    const auto [scene, goal] = manipulation::from_values(episode.values);
    const auto [question, answer] = manipulation::localisation_question(scene, manipulation::stream_seed(seed, 7, i));
    d.train.push_back({kDoPrefix + question + kActPrefix, answer, {}, kAuxGroup, episode.images});
  }
  for (const auto& group : manipulation::test_groups())
    for (int64_t i = 0; i < cfg.get_int("task.n_test"); ++i)
      d.test.push_back(to_example(manipulation::make_episode(group, seed, i, opt), group));
  return d;
}

Prediction ManipulationTask::parse(const config::Config&, const Predictor::Generation& g, const Tokenizer&) const {
  Prediction p;
  const auto actions = manipulation::parse_actions(g.text);
  if (!actions) return p;
  p.parsed = true;
  for (const auto& a : *actions)
    p.numbers.insert(p.numbers.end(), {double(a.pick_x), double(a.pick_y), double(a.place_x), double(a.place_y),
                                       double(a.rotation)});
  return p;
}

std::map<std::string, double> ManipulationTask::evaluate_examples(const config::Config& cfg, const Dataset& data,
                                                                  Predictor& model,
                                                                  std::vector<ExampleScore>& scores) const {
  std::vector<Prompt> prompts;
  for (const auto& e : data.test) prompts.push_back(Prompt::of(e));
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  std::vector<std::string> texts, reasons;
  for (const auto& g : gens) texts.push_back(g.text);
  auto m = manipulation::episode_metrics(texts, data.test, "", &reasons);
  for (size_t i = 0; i < data.test.size(); ++i)
    scores.push_back({static_cast<int64_t>(i), data.test[i].group, reasons[i].empty() ? 1.0 : 0.0, data.test[i].prompt,
                      data.test[i].completion, texts[i]});
  return m;
}

std::map<std::string, double> ManipulationTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                         Predictor& model) const {
  std::vector<ExampleScore> unused;
  return evaluate_examples(cfg, data, model, unused);
}

std::map<std::string, double> ManipulationTask::reference_metrics(const config::Config& cfg, const Dataset& data) const {
  std::vector<std::string> random, heuristic, oracle;
  for (size_t i = 0; i < data.test.size(); ++i) {
    const auto [scene, goal] = manipulation::from_values(data.test[i].values);
    random.push_back(manipulation::format_actions(manipulation::random_actions(scene, goal, reference_seed(cfg, i, 1))));
    heuristic.push_back(
        manipulation::format_actions(manipulation::heuristic_actions(scene, goal, reference_seed(cfg, i, 2))));
    oracle.push_back(manipulation::format_actions(manipulation::oracle_actions(scene, goal)));
  }
  std::map<std::string, double> m;
  for (const auto& [name, texts] : {std::pair{"random", &random}, {"heuristic", &heuristic}, {"oracle", &oracle}})
    for (const auto& [k, v] : manipulation::episode_metrics(*texts, data.test, fmt::format("ref.{}.", name))) m[k] = v;
  return m;
}

std::string ManipulationTask::samples(const config::Config& cfg, const Dataset& data, Predictor& model) const {
  // The first test episode of each group: instruction, true and predicted actions, outcome.
  std::string md = "| group | instruction | truth | predicted | outcome |\n|---|---|---|---|---|\n";
  const auto picked = first_of_each_group(data.test, manipulation::test_groups());
  std::vector<Prompt> prompts;
  for (const Example* e : picked) prompts.push_back(Prompt::of(*e));
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  for (size_t i = 0; i < picked.size(); ++i) {
    const auto [scene, goal] = manipulation::from_values(picked[i]->values);
    const auto out = manipulation::execute_text(scene, goal, gens[i].text);
    const std::string& p = picked[i]->prompt;  // kDoPrefix + instruction + kActPrefix
    const size_t head = std::strlen(kDoPrefix), tail = std::strlen(kActPrefix);
    const std::string instruction = p.substr(head, p.size() - head - tail);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", picked[i]->group, instruction, picked[i]->completion,
                      gens[i].text.empty() ? "(nothing)" : gens[i].text, out.success ? "success" : out.reason);
  }
  return md;
}

}  // namespace dist2
