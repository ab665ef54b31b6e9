#include "dist2/tasks/reward/task.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "dist2/tasks/numbers.h"
#include "dist2/util/error.h"

namespace dist2 {

namespace {

using reward::Facets;
using reward::Pair;
using reward::Response;

// Example values: label overall, truth overall, then the five label facets and
// the five truth facets.
constexpr size_t kLabelOverall = 0, kTruthOverall = 1, kFirstLabelFacet = 2;

Example to_example(const Response& r, const std::string& group) {
  Example e{reward::prompt_text(r), reward::completion_text(r.label), {}, group, {}};
  e.values = {static_cast<double>(reward::overall(r.label)), static_cast<double>(reward::overall(r.truth))};
  for (int f : r.label) e.values.push_back(f);
  for (int f : r.truth) e.values.push_back(f);
  return e;
}

reward::World world_of(const config::Config& cfg) {
  return reward::make_world(static_cast<uint64_t>(cfg.get_int("task.world_seed")),
                            static_cast<int>(cfg.get_int("task.n_entities")));
}

// Streams: training data, test pairs and the shifted split never share draws, and
// the first n training instructions of a seed do not depend on task.n_train.
constexpr uint64_t kTrainStream = 1, kTestStream = 2, kShiftedStream = 3, kReplayStream = 4;
uint64_t stream(const config::Config& cfg, uint64_t s) {
  return static_cast<uint64_t>(cfg.get_int("seed")) * 0x9E3779B97F4A7C15ull + s * 0xBF58476D1CE4E5B9ull;
}

// Replayed pretraining documents in the training split (task.replay) carry this
// group: plain language modelling, no scores, no metric positions.
const std::string kReplay = "replay";
bool is_replay(const Example& e) { return e.group == kReplay; }

// 1 when the chosen (even index) response has the higher reward, 0 when lower,
// 1/2 on a tie. A missing reward (an output that did not parse) makes the pair
// wrong: a model that writes no score has not judged it.
std::vector<double> pair_outcomes(const std::vector<double>& rewards) {
  std::vector<double> out;
  for (size_t i = 0; i + 1 < rewards.size(); i += 2) {
    const double c = rewards[i], r = rewards[i + 1];
    out.push_back(std::isnan(c) || std::isnan(r) ? 0.0 : c == r ? 0.5 : c > r ? 1.0 : 0.0);
  }
  return out;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? NAN : s / static_cast<double>(v.size());
}

// The instruction and the response inside a prompt "Q:<instruction>|A:<response>|S:".
std::string instruction_of(const std::string& prompt) {
  const size_t a = prompt.find("|A:");
  return a == std::string::npos || prompt.rfind("Q:", 0) != 0 ? "" : prompt.substr(2, a - 2);
}
std::string response_of(const std::string& prompt) {
  const size_t a = prompt.find("|A:"), s = prompt.rfind("|S:");
  return a == std::string::npos || s == std::string::npos || s < a ? "" : prompt.substr(a + 3, s - a - 3);
}
double response_length(const std::string& prompt) { return static_cast<double>(response_of(prompt).size()); }

// A reward model that sees one word of a safety request and whether the response
// refuses: the mean training label of the responses with the same word and the
// same kind of answer (Table 12's lookup references). `word` picks the verb or
// the object. Any other example scores 0 (a tie within its pair).
using WordOf = int (*)(const reward::SafetyRequest&);
std::vector<double> lookup_rewards(const std::vector<Example>& train, const std::vector<Example>& scored, WordOf word) {
  std::map<std::pair<int, bool>, std::pair<double, double>> sum_count;  // (word, refuses) -> (label sum, count)
  for (const auto& e : train)
    if (const auto req = reward::safety_request(instruction_of(e.prompt))) {
      auto& [sum, count] = sum_count[{word(*req), reward::is_refusal(response_of(e.prompt))}];
      sum += e.values.at(kLabelOverall), count += 1;
    }
  std::vector<double> out;
  for (const auto& e : scored) {
    const auto req = reward::safety_request(instruction_of(e.prompt));
    const auto it = req ? sum_count.find({word(*req), reward::is_refusal(response_of(e.prompt))}) : sum_count.end();
    out.push_back(it == sum_count.end() ? 0.0 : it->second.first / it->second.second);
  }
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? NAN : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

config::Schema RewardTask::schema() const {
  config::Schema s;
  s.add_int("task.n_train", 1500, 1, {}, "training instructions per seed, two scored responses each");
  s.add_int("task.n_test_pairs", 60, 1, {}, "held-out preference pairs per source (nine sources)");
  s.add_int("task.n_shifted_pairs", 180, 0, {}, "pairs of the shifted split (other templates; MT-Bench stand-in)");
  s.add_float("task.noise", 0.2, 0.0, 1.0, "annotator noise: per facet, probability of a +-1 error");
  s.add_int("task.world_seed", 0, 0, {}, "seed of the world (entities and their colours) the backbone learns");
  s.add_int("task.n_entities", 40, 2, 1000, "entities in the world");
  s.add_int("task.pretrain_sentences", 60000, 1, {}, "sentences in the backbone's pretraining corpus");
  // Part of every reward run's config hash, so that runs of an older generator in
  // a store are never taken for runs of this one. 3: safety harm depends on the
  // request's verb and object together (each word's class in its spelling), Table
  // 8's control permutes the label scores.
  s.add_int("task.version", 3, 3, 3, "version of the reward data generator and its metric (only 3 is made now)");
  s.add_float("task.replay", 0.0, 0.0, 10.0,
              "documents like the backbone's pretraining corpus mixed into the fine-tuning data, per reward "
              "example (0: none, as the paper; they keep the facts the correctness facet needs)");
  // Reward sequences are longer than the regression task's.
  s.add_int("model.context", 128, 8, {}, "maximum sequence length");
  return s;
}

Dataset RewardTask::generate(const config::Config& cfg) const {
  const reward::World world = world_of(cfg);
  const double noise = cfg.get_double("task.noise");
  Dataset d;
  reward::Generator train_gen(world, {noise, false}, stream(cfg, kTrainStream));
  for (int64_t i = 0; i < cfg.get_int("task.n_train"); ++i)
    for (const Response& r : train_gen.training_instruction()) d.train.push_back(to_example(r, ""));
  // Replay after every reward example, so that preference pairs stay consecutive:
  // fresh documents of the pretraining distribution (the same world, another stream).
  const auto n_replay = static_cast<int64_t>(std::llround(cfg.get_double("task.replay") * static_cast<double>(d.train.size())));
  if (n_replay > 0) {
    // The corpus packs about three sentences into a document: ask for enough.
    auto docs = reward::pretraining_corpus(world, stream(cfg, kReplayStream), static_cast<int>(4 * n_replay + 8));
    DIST2_CHECK(static_cast<int64_t>(docs.size()) >= n_replay, "replay corpus too small: {} < {}", docs.size(), n_replay);
    for (int64_t i = 0; i < n_replay; ++i) d.train.push_back({"", std::move(docs[static_cast<size_t>(i)]), {}, kReplay, {}});
  }
  reward::Generator test_gen(world, {noise, false}, stream(cfg, kTestStream));
  for (const std::string& source : reward::sources())
    for (int64_t i = 0; i < cfg.get_int("task.n_test_pairs"); ++i) {
      const Pair p = test_gen.pair(source);
      d.test.push_back(to_example(p.chosen, source));
      d.test.push_back(to_example(p.rejected, source));
    }
  reward::Generator shifted_gen(world, {noise, true}, stream(cfg, kShiftedStream));
  auto& shifted = d.extra["shifted"];
  for (int64_t i = 0; i < cfg.get_int("task.n_shifted_pairs"); ++i) {
    const Pair p = shifted_gen.any_pair();
    shifted.push_back(to_example(p.chosen, p.source));
    shifted.push_back(to_example(p.rejected, p.source));
  }
  return d;
}

std::map<std::string, double> pair_accuracies(const std::vector<Example>& pairs, const std::vector<double>& rewards,
                                              const std::string& prefix) {
  DIST2_CHECK(pairs.size() == rewards.size() && pairs.size() % 2 == 0, "{} rewards for {} pair examples",
              rewards.size(), pairs.size());
  const auto outcome = pair_outcomes(rewards);
  std::map<std::string, std::vector<double>> by_source, by_subset;
  for (size_t k = 0; k < outcome.size(); ++k) {
    const std::string& source = pairs[2 * k].group;
    by_source[source].push_back(outcome[k]);
    by_subset[reward::subset_of(source)].push_back(outcome[k]);
  }
  std::map<std::string, double> m;
  for (const auto& [source, v] : by_source) m[prefix + "accuracy." + source] = mean_of(v);
  double sum = 0;
  int n = 0;
  for (const auto& [subset, v] : by_subset) m[prefix + "accuracy." + subset] = mean_of(v), sum += mean_of(v), ++n;
  m[prefix + "accuracy.average"] = n ? sum / n : NAN;
  return m;
}

std::optional<std::array<int, 6>> parse_score_fields(const std::string& text) {
  std::array<int, 6> f{};
  size_t i = 0;
  for (size_t k = 0; k < 6; ++k) {
    if (k > 0) {
      if (i >= text.size() || text[i] != ',') return std::nullopt;
      ++i;
    }
    const size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - start < 3) ++i;
    if (i == start) return std::nullopt;
    f[k] = std::stoi(text.substr(start, i - start));
  }
  return f;
}

RewardReadout read_rewards(const std::vector<std::string>& prompts, Predictor& model) {
  const auto gens = model.generate(prompts, 16);
  RewardReadout r;
  r.overall.assign(prompts.size(), NAN);
  r.facet_sum.assign(prompts.size(), NAN);
  r.facets.assign(prompts.size(), {NAN, NAN, NAN, NAN, NAN});
  r.consistent.assign(prompts.size(), -1);
  // Prefixes of the parsed completions: after the five facets (overall), and before each facet.
  std::vector<size_t> parsed;
  std::vector<Prompt> before_overall;
  std::array<std::vector<Prompt>, 5> before_facet;
  for (size_t i = 0; i < gens.size(); ++i) {
    const auto f = parse_score_fields(gens[i].text);
    if (!f) continue;
    parsed.push_back(i);
    std::string written = prompts[i];
    for (size_t k = 0; k < 5; ++k) {
      before_facet[k].push_back({written, {}});
      written += std::to_string((*f)[k]) + ",";
    }
    before_overall.push_back({written, {}});
    r.consistent[i] = (*f)[0] + (*f)[1] + (*f)[2] + (*f)[3] + (*f)[4] == (*f)[5];
  }
  r.overall_entropy.assign(prompts.size(), NAN);
  const auto overall = distribution_in_range(model, before_overall, 0, 20);
  for (size_t j = 0; j < parsed.size(); ++j) {
    r.overall[parsed[j]] = mean_over_range(overall[j], 0);
    r.overall_entropy[parsed[j]] = entropy_nats(overall[j]);
  }
  for (size_t k = 0; k < 5; ++k) {
    const auto facet = expected_in_range(model, before_facet[k], 0, 4);
    for (size_t j = 0; j < parsed.size(); ++j) r.facets[parsed[j]][k] = facet[j];
  }
  for (size_t i : parsed) {
    double sum = 0;
    for (double f : r.facets[i]) sum += f;
    r.facet_sum[i] = sum;
  }
  return r;
}

std::vector<double> reward_scores(const config::Config&, const std::vector<std::string>& prompts, Predictor& model) {
  if (model.has_scalar_head()) return model.scalar_scores(prompts);
  return read_rewards(prompts, model).overall;
}

namespace {
std::vector<std::string> prompt_texts(const std::vector<Example>& v) {
  std::vector<std::string> p;
  for (const auto& e : v) p.push_back(e.prompt);
  return p;
}
}  // namespace

std::map<std::string, double> RewardTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                   Predictor& model) const {
  const auto& shifted = data.extra.at("shifted");
  if (model.has_scalar_head()) {
    auto m = pair_accuracies(data.test, model.scalar_scores(prompt_texts(data.test)), "");
    m["accuracy.shifted"] = mean_of(pair_outcomes(model.scalar_scores(prompt_texts(shifted))));
    return m;
  }
  const RewardReadout test = read_rewards(prompt_texts(data.test), model);
  auto m = pair_accuracies(data.test, test.overall, "");
  for (const auto& [k, v] : pair_accuracies(data.test, test.facet_sum, "facet_sum.")) m[k] = v;
  const RewardReadout shift = read_rewards(prompt_texts(shifted), model);
  m["accuracy.shifted"] = mean_of(pair_outcomes(shift.overall));
  m["facet_sum.accuracy.shifted"] = mean_of(pair_outcomes(shift.facet_sum));
  double failed = 0;
  for (double r : shift.overall) failed += std::isnan(r);
  if (!shift.overall.empty()) m["shifted.parse_failure_rate"] = failed / static_cast<double>(shift.overall.size());
  // The scores as regressions against the annotators' labels: the overall, and each facet.
  auto mae_against = [&](auto predicted_of, size_t label_index) {
    std::vector<std::optional<double>> pred;
    std::vector<double> truth;
    for (size_t i = 0; i < data.test.size(); ++i) {
      const double p = predicted_of(i);
      pred.push_back(std::isnan(p) ? std::nullopt : std::optional<double>(p));
      truth.push_back(data.test[i].values.at(label_index));
    }
    return error_stats(pred, truth);
  };
  const ErrorStats overall = mae_against([&](size_t i) { return test.overall[i]; }, kLabelOverall);
  m["score.mae"] = overall.mae;
  m["parse_failure_rate"] = overall.parse_failure_rate;
  m["facet_sum.mae"] = mae_against([&](size_t i) { return test.facet_sum[i]; }, kLabelOverall).mae;
  for (size_t k = 0; k < 5; ++k)
    m[fmt::format("facet.{}.mae", reward::facet_names()[k])] =
        mae_against([&](size_t i) { return test.facets[i][k]; }, kFirstLabelFacet + k).mae;
  // How spread p(overall) is where it is read (after the model's own facets): near
  // 0 nats, the expected score is close to greedy decoding.
  double entropy_sum = 0, n_entropy = 0;
  for (double h : test.overall_entropy)
    if (!std::isnan(h)) entropy_sum += h, ++n_entropy;
  m["score.entropy"] = n_entropy > 0 ? entropy_sum / n_entropy : NAN;
  // Pairs lost to outputs that did not parse (counted wrong in the accuracies).
  double failed_pairs = 0;
  for (size_t i = 0; i + 1 < test.overall.size(); i += 2)
    failed_pairs += std::isnan(test.overall[i]) || std::isnan(test.overall[i + 1]);
  m["pair_parse_failure_rate"] = test.overall.size() >= 2 ? failed_pairs / static_cast<double>(test.overall.size() / 2) : NAN;
  double consistent = 0, parsed = 0;
  for (int c : test.consistent)
    if (c >= 0) consistent += c, ++parsed;
  m["total_consistency"] = parsed > 0 ? consistent / parsed : NAN;
  return m;
}

std::map<std::string, double> RewardTask::reference_metrics(const config::Config&, const Dataset& data) const {
  std::map<std::string, double> m;
  const auto& shifted = data.extra.at("shifted");
  auto add = [&](const std::string& name, auto score) {
    std::vector<double> test, shift;
    for (const auto& e : data.test) test.push_back(score(e));
    for (const auto& e : shifted) shift.push_back(score(e));
    for (const auto& [k, v] : pair_accuracies(data.test, test, "ref." + name + ".")) m[k] = v;
    m["ref." + name + ".accuracy.shifted"] = mean_of(pair_outcomes(shift));
  };
  add("length", [](const Example& e) { return response_length(e.prompt); });
  add("constant", [](const Example&) { return 10.0; });
  add("annotator", [](const Example& e) { return e.values.at(kLabelOverall); });
  // The best a rule keyed on one word of a safety request can do (harm depends on
  // the verb and the object together, so each alone is at chance on safety).
  auto add_lookup = [&](const std::string& name, WordOf word) {
    for (const auto& [k, v] : pair_accuracies(data.test, lookup_rewards(data.train, data.test, word), "ref." + name + "."))
      m[k] = v;
    m["ref." + name + ".accuracy.shifted"] = mean_of(pair_outcomes(lookup_rewards(data.train, shifted, word)));
  };
  add_lookup("lookup_verb", [](const reward::SafetyRequest& r) { return r.verb; });
  add_lookup("lookup_object", [](const reward::SafetyRequest& r) { return r.object; });
  // The score as a regression: the constant at the training labels' mean overall.
  double train_mean = 0, n_scored = 0;
  for (const auto& e : data.train)
    if (!is_replay(e)) train_mean += e.values.at(kLabelOverall), ++n_scored;
  train_mean /= n_scored;
  std::vector<std::optional<double>> pred;
  std::vector<double> truth;
  for (const auto& e : data.test) pred.push_back(train_mean), truth.push_back(e.values.at(kLabelOverall));
  m["ref.train_mean.score.mae"] = error_stats(pred, truth).mae;
  // The best constant for the test labels themselves (their median): a second,
  // stricter bar that no model trained on the training labels is owed.
  const double test_median = median_of(truth);
  for (auto& p : pred) p = test_median;
  m["ref.test_median.score.mae"] = error_stats(pred, truth).mae;
  return m;
}

std::vector<std::pair<size_t, size_t>> RewardTask::preference_pairs(const std::vector<Example>& train) const {
  // The two responses of each instruction, ranked by the annotators' overall score.
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i + 1 < train.size() && !is_replay(train[i]) && !is_replay(train[i + 1]); i += 2) {
    const double a = train[i].values.at(kLabelOverall), b = train[i + 1].values.at(kLabelOverall);
    if (a > b) out.emplace_back(i, i + 1);
    else if (b > a) out.emplace_back(i + 1, i);
  }
  return out;
}

MetricTokens RewardTask::metric_tokens(const config::Config&, const Tokenizer& tok) const {
  MetricTokens m = number_metric_tokens(tok);
  std::vector<double> overall, facet;
  for (int v = 0; v <= 20; ++v) (v <= 4 ? facet : overall).push_back(v);
  overall.insert(overall.begin(), facet.begin(), facet.end());
  m.label_values = {overall, facet};  // the overall score 0-20, a facet 0-4
  return m;
}

EncodedExample RewardTask::encode(const Example& e, const Tokenizer& tok) const {
  EncodedExample enc = encode_prompt_completion(e, tok);
  if (is_replay(e)) {  // a replayed document is language, not a score: no distance target on its digits
    std::fill(enc.metric.begin(), enc.metric.end(), uint8_t{0});
    std::fill(enc.place.begin(), enc.place.end(), 0.0f);
  }
  return enc;
}

std::vector<std::string> RewardTask::pretraining_corpus(const config::Config& cfg) const {
  return reward::pretraining_corpus(world_of(cfg), static_cast<uint64_t>(cfg.get_int("task.world_seed")),
                                    static_cast<int>(cfg.get_int("task.pretrain_sentences")));
}

std::vector<KnowledgeItem> RewardTask::knowledge_questions(const config::Config& cfg) const {
  std::vector<KnowledgeItem> out;
  for (const auto& q : reward::pretraining_questions(world_of(cfg))) out.push_back({q.prompt, q.answer, q.candidates, {}});
  return out;
}

std::string RewardTask::samples(const config::Config& cfg, const Dataset& data, Predictor& model) const {
  // Figure 7: the first pair of a few sources, each response with its expected score.
  std::string md;
  for (const char* source : {"chat.length", "chat_hard.fact_neighbor", "safety.should_refuse", "reasoning.sum"}) {
    for (size_t i = 0; i + 1 < data.test.size(); i += 2) {
      if (data.test[i].group != source) continue;
      const std::vector<std::string> prompts = {data.test[i].prompt, data.test[i + 1].prompt};
      const auto rewards = reward_scores(cfg, prompts, model);
      md += fmt::format("**{}**\n\n", source);
      for (int k = 0; k < 2; ++k) {
        const Example& e = data.test[i + static_cast<size_t>(k)];
        const double r = rewards[static_cast<size_t>(k)];
        md += fmt::format("- {} `{}`: {} (label {}, true {})\n", k == 0 ? "chosen" : "rejected", e.prompt,
                          std::isnan(r) ? std::string("no score decoded") : fmt::format("expected score {:.2f}", r),
                          e.values.at(kLabelOverall), e.values.at(kTruthOverall));
      }
      md += "\n";
      break;
    }
  }
  return md;
}

}  // namespace dist2
