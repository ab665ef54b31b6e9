// The reward-modeling task: the generator's scores and annotator noise, the
// preference pairs of each source, expected-score decoding, pairwise accuracy,
// the binary scalar head, backbone pretraining, and a smoke sweep of Table 6
// through the dist2 executable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <array>

#include "dist2/loss/soft_target.h"
#include "dist2/tasks/numbers.h"
#include "dist2/tasks/reward/task.h"
#include "dist2/train/backbone.h"
#include "dist2/train/objective.h"
#include "dist2/train/predictor.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/threads.h"
#include "tests/support.h"

using namespace dist2;
using namespace dist2::reward;

namespace {

const World& test_world() {
  static const World w = make_world(0, 40);
  return w;
}

// A Predictor whose generations are given: for decoding tests without a model.
class FixedPredictor : public Predictor {
 public:
  FixedPredictor(const Tokenizer& tok, std::vector<Generation> gens) : tok_(tok), gens_(std::move(gens)) {}
  using Predictor::generate;
  std::vector<Generation> generate(const std::vector<Prompt>& prompts, int64_t) override {
    std::vector<Generation> out;
    for (size_t i = 0; i < prompts.size(); ++i) out.push_back(gens_.at(i % gens_.size()));
    return out;
  }
  std::vector<std::vector<double>> next_number_probs(const std::vector<Prompt>&) override { return {}; }
  const Tokenizer& tokenizer() const override { return tok_; }

 private:
  const Tokenizer& tok_;
  std::vector<Generation> gens_;
};

// A FixedPredictor with a scalar head whose scores are given.
class HeadPredictor : public FixedPredictor {
 public:
  HeadPredictor(const Tokenizer& tok, std::vector<Generation> gens, std::vector<double> scores)
      : FixedPredictor(tok, std::move(gens)), scores_(std::move(scores)) {}
  using Predictor::scalar_scores;
  bool has_scalar_head() const override { return true; }
  std::vector<double> scalar_scores(const std::vector<Prompt>& prompts) override {
    return {scores_.begin(), scores_.begin() + static_cast<std::ptrdiff_t>(prompts.size())};
  }

 private:
  std::vector<double> scores_;
};

// The generation of `text`, with expected value `expected[k]` at the k-th number token.
Predictor::Generation generation_of(const Tokenizer& tok, const std::string& text, const std::vector<double>& expected) {
  Predictor::Generation g;
  g.ids = tok.encode_ids(text);
  size_t k = 0;
  for (int64_t id : g.ids) g.expected.push_back(tok.is_number_token(id) ? expected.at(k++) : NAN);
  REQUIRE(k == expected.size());
  g.text = text;
  return g;
}

config::Config reward_config(const std::vector<std::pair<std::string, config::Value>>& set) {
  config::Config cfg(experiment_schema("reward"));
  cfg.set("task.name", config::Value{std::string("reward")});
  for (const auto& [k, v] : set) cfg.set(k, v);
  return cfg;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/dist2-reward-XXXXXX";
  return mkdtemp(tmpl);
}

}  // namespace

TEST_CASE("reward generator: facets in range, overall is their sum, noise at its rate", "[reward]") {
  const double noise = 0.3;
  Generator gen(test_world(), {noise, false}, 7);
  int64_t facets = 0, changed = 0;
  double expected_changes = 0;  // a facet at 0 or 4 moves only half the time (clamped)
  std::map<int, int> overall_counts;
  for (int i = 0; i < 3000; ++i)
    for (const Response& r : gen.training_instruction()) {
      REQUIRE(overall(r.label) == r.label[0] + r.label[1] + r.label[2] + r.label[3] + r.label[4]);
      REQUIRE(completion_text(r.label).substr(completion_text(r.label).rfind(',') + 1) ==
              fmt::format("{:02d}", overall(r.label)));
      for (size_t f = 0; f < 5; ++f) {
        REQUIRE(r.truth[f] >= 0);
        REQUIRE(r.truth[f] <= 4);
        REQUIRE(std::abs(r.label[f] - r.truth[f]) <= 1);
        ++facets;
        changed += r.label[f] != r.truth[f];
        expected_changes += noise * ((r.truth[f] == 0 || r.truth[f] == 4) ? 0.5 : 1.0);
      }
      ++overall_counts[overall(r.truth)];
    }
  const double rate = static_cast<double>(changed) / facets, want = expected_changes / facets;
  const double se = std::sqrt(want * (1 - want) / facets);
  CHECK(std::abs(rate - want) < 4 * se);
  // Scores spread over the scale: learnable, not a constant.
  CHECK(overall_counts.size() >= 8);
  CHECK(overall_counts.begin()->first <= 10);
  CHECK(overall_counts.rbegin()->first >= 17);
  for (const auto& [score, n] : overall_counts) CHECK(n < 0.5 * 6000);

  Generator clean(test_world(), {0.0, false}, 7);
  for (int i = 0; i < 200; ++i)
    for (const Response& r : clean.training_instruction()) REQUIRE(r.label == r.truth);
}

TEST_CASE("reward pairs: the chosen response is better, and each source differs as it says", "[reward]") {
  Generator gen(test_world(), {0.2, false}, 11);
  const std::regex arithmetic(R"(A:(\d)([+-])(\d)=(\d+)\.)");
  for (const std::string& source : sources()) {
    INFO(source);
    for (int i = 0; i < 60; ++i) {
      const Pair p = gen.pair(source);
      REQUIRE(p.source == source);
      REQUIRE(p.subset == subset_of(source));
      REQUIRE(overall(p.chosen.truth) > overall(p.rejected.truth));
      REQUIRE(p.chosen.instruction == p.rejected.instruction);
      if (p.subset == "chat_hard" || p.subset == "reasoning")  // same length and topic, one detail wrong
        REQUIRE(p.chosen.text.size() == p.rejected.text.size());
      if (source == "chat.length") REQUIRE(p.rejected.text.size() > p.chosen.text.size());
      if (source == "chat.coherent") {
        std::string a = p.chosen.text, b = p.rejected.text;
        std::sort(a.begin(), a.end()), std::sort(b.begin(), b.end());
        REQUIRE(a == b);  // the same words, scrambled
        REQUIRE(p.chosen.text != p.rejected.text);
      }
      auto refused = [](const Response& r) {
        return std::count(refusals().begin(), refusals().end(), r.text) == 1;
      };
      if (source == "safety.should_refuse") REQUIRE((refused(p.chosen) && !refused(p.rejected)));
      if (source == "safety.should_respond") REQUIRE((refused(p.rejected) && !refused(p.chosen)));
      if (source == "chat_hard.fact_neighbor") {
        // The chosen colour is the world's; the rejected one is not.
        const std::string name = p.chosen.instruction.substr(p.chosen.instruction.find(" is ") + 4, 4);
        const auto it = std::find(test_world().entities.begin(), test_world().entities.end(), name);
        REQUIRE(it != test_world().entities.end());
        const std::string color = colors()[static_cast<size_t>(test_world().color[static_cast<size_t>(it - test_world().entities.begin())])];
        REQUIRE(p.chosen.text.find(" is " + color) != std::string::npos);
        REQUIRE(p.rejected.text.find(" is " + color) == std::string::npos);
      }
      if (p.subset == "reasoning" && p.chosen.text.find('=') != std::string::npos) {
        std::smatch c, r;
        const std::string cp = prompt_text(p.chosen), rp = prompt_text(p.rejected);
        REQUIRE(std::regex_search(cp, c, arithmetic));
        REQUIRE(std::regex_search(rp, r, arithmetic));
        const int a = std::stoi(c[1]), b = std::stoi(c[3]);
        const int right = c[2] == "+" ? a + b : a - b;
        REQUIRE(std::stoi(c[4]) == right);
        REQUIRE(std::stoi(r[4]) != right);
      }
    }
  }
  // The shifted split phrases every kind of instruction differently.
  Generator shifted(test_world(), {0.2, true}, 11);
  for (const std::string& source : sources()) {
    const std::string q = shifted.pair(source).chosen.instruction;
    INFO(q);
    CHECK((q.rfind("describe ", 0) == 0 || q.rfind("which color", 0) == 0 || q.rfind("compute ", 0) == 0 ||
           q.rfind("how can i ", 0) == 0));
  }
}

TEST_CASE("safety is not a lookup: test requests are unseen combinations, refusals vary in length", "[reward]") {
  const auto cfg = reward_config({{"task.n_train", config::Value{int64_t{3000}}},
                                  {"task.n_test_pairs", config::Value{int64_t{40}}},
                                  {"task.n_shifted_pairs", config::Value{int64_t{200}}}});
  const Dataset d = RewardTask().generate(cfg);
  std::set<std::string> train_instructions, safety_train;
  for (const auto& e : d.train) {
    const std::string q = e.prompt.substr(0, e.prompt.find("|A:"));
    train_instructions.insert(q);
    if (q.find("how do i") != std::string::npos) safety_train.insert(q);
  }
  REQUIRE(safety_train.size() == 24);  // 36 verb-object combinations, 12 held out: every training one drawn
  std::set<std::string> safety_test;
  std::map<std::string, int> refusal_lengths;
  for (const auto* split : {&d.test, &d.extra.at("shifted")})
    for (const auto& e : *split) {
      if (e.group.rfind("safety", 0) != 0) continue;
      const std::string q = e.prompt.substr(0, e.prompt.find("|A:"));
      INFO(q);
      REQUIRE(train_instructions.count(q) == 0);
      REQUIRE(train_instructions.count("Q:how do i " + q.substr(q.find(" i ") + 3)) == 0);  // nor its unshifted form
      safety_test.insert(q);
    }
  REQUIRE(safety_test.size() >= 12);
  // The length reference cannot read the safety subset off the answer's length.
  const auto refs = RewardTask().reference_metrics(cfg, d);
  CHECK(refs.at("ref.length.accuracy.safety.should_refuse") > 0.05);
  CHECK(refs.at("ref.length.accuracy.safety.should_respond") < 0.95);
  std::set<size_t> lengths;
  for (const auto& r : refusals()) lengths.insert(r.size());
  CHECK(lengths.size() == refusals().size());
}

namespace {
// Is this training response to a harmful request? Read from its noise-free facets
// (values 7-11): harmful requests score a refusal {3,4,4,1,.} and an answer {0,1,4,2,.}.
bool harmful_by_truth(const Example& e) {
  const bool refused = is_refusal(e.prompt.substr(e.prompt.find("|A:") + 3, e.prompt.rfind("|S:") - e.prompt.find("|A:") - 3));
  const double helpfulness = e.values.at(7);
  return refused ? helpfulness == 3 : helpfulness == 0;
}
}  // namespace

TEST_CASE("safety is compositional: harm depends on verb and object together, each alone is at chance", "[reward]") {
  const auto cfg = reward_config({{"task.n_train", config::Value{int64_t{3000}}},
                                  {"task.n_test_pairs", config::Value{int64_t{60}}}});
  RewardTask task;
  const Dataset d = task.generate(cfg);
  // In the training data every verb is harmful with some objects and benign with
  // others, and every object likewise: neither word alone decides.
  std::map<int, std::set<bool>> harm_of_verb, harm_of_object;
  std::map<std::pair<int, int>, std::set<bool>> harm_of_pair;
  for (const auto& e : d.train) {
    const std::string q = e.prompt.substr(2, e.prompt.find("|A:") - 2);
    const auto req = safety_request(q);
    if (!req) continue;
    const bool harmful = harmful_by_truth(e);
    CHECK(harmful == safety_harmful(req->verb, req->object));
    harm_of_verb[req->verb].insert(harmful);
    harm_of_object[req->object].insert(harmful);
    harm_of_pair[{req->verb, req->object}].insert(harmful);
  }
  REQUIRE(harm_of_verb.size() == safety_verbs().size());
  REQUIRE(harm_of_object.size() == safety_objects().size());
  for (const auto& [v, kinds] : harm_of_verb) CHECK(kinds.size() == 2);
  for (const auto& [o, kinds] : harm_of_object) CHECK(kinds.size() == 2);
  for (const auto& [vo, kinds] : harm_of_pair) CHECK(kinds.size() == 1);  // the pair does decide
  // The lookups by one word are at chance on the safety test pairs; the pair
  // itself (seen in training for no test request) is what a model must compose.
  const auto refs = task.reference_metrics(cfg, d);
  for (const char* ref : {"ref.lookup_verb", "ref.lookup_object"}) {
    INFO(ref);
    CHECK(refs.at(std::string(ref) + ".accuracy.safety") == Approx(0.5).margin(0.1));
    CHECK(refs.at(std::string(ref) + ".accuracy.chat") == 0.5);  // no safety request there: all ties
  }
}

TEST_CASE("Table 8's control permutes the label scores only: each target is the real one at another label", "[reward]") {
  // Under chunk3 V_d holds 1,000 number tokens; the reward task's labels are 0-20
  // (overall) and 0-4 (a facet).
  auto cfg = reward_config({{"loss.kind", config::Value{std::string("dist")}},
                            {"tokenizer.numbers", config::Value{std::string("chunk3")}}});
  const Tokenizer tok = tokenizer_for(cfg);
  const MetricSpace real = metric_space(cfg, tok);
  cfg.set("loss.metric", config::Value{std::string("permuted")});
  const double tau = cfg.get_double("loss.tau");
  for (int64_t seed : {1, 2, 3}) {
    INFO("seed " << seed);
    cfg.set("seed", config::Value{seed});
    const MetricSpace perm = metric_space(cfg, tok);
    const auto values = real.values().contiguous();
    const int64_t m = real.size();
    std::vector<int64_t> label(21);  // V_d index of each score 0-20
    for (int64_t i = 0; i < m; ++i)
      if (values[i].item<double>() <= 20) label.at(static_cast<size_t>(values[i].item<double>())) = i;
    // Read pi off the table: d(v, x) for x = score 0's token is (pi(v) - pi(0))^2;
    // instead find, for each label x, the label y whose real row is the same multiset.
    const auto d_perm = perm.distances_from(torch::tensor(label, torch::kInt64));  // [21, M]
    const auto d_real = real.distances_from(torch::tensor(label, torch::kInt64));
    const auto p_perm = torch::softmax(-d_perm / tau, -1), p_real = torch::softmax(-d_real / tau, -1);
    const auto label_ids = torch::tensor(label, torch::kInt64);
    bool moved = false;
    for (int64_t x = 0; x <= 20; ++x) {
      // Tokens outside the labels keep their values: d(v, x) = (v - pi(x))^2 there,
      // so pi(x) is read off token 999's distance.
      const double pi_x = 999.0 - std::sqrt(d_perm[x][m - 1].item<double>());
      REQUIRE(pi_x == std::round(pi_x));
      REQUIRE(pi_x >= 0);
      REQUIRE(pi_x <= 20);
      CHECK((x <= 4) == (pi_x <= 4));  // a facet score maps to a facet score
      moved |= pi_x != static_cast<double>(x);
      const int64_t y = static_cast<int64_t>(pi_x);
      // Exactly the real target at y, its label tokens relabelled: the same sorted
      // distances over the labels, the same distances everywhere else.
      auto sorted = [](torch::Tensor t) { return std::get<0>(t.sort()); };
      CHECK(torch::equal(sorted(d_perm[x].index_select(0, label_ids)), sorted(d_real[y].index_select(0, label_ids))));
      const auto others = torch::ones({m}, torch::kBool).index_fill_(0, label_ids, false);
      CHECK(torch::equal(d_perm[x].masked_select(others), d_real[y].masked_select(others)));
      CHECK(torch::allclose(sorted(p_perm[x].index_select(0, label_ids)), sorted(p_real[y].index_select(0, label_ids)), 0, 1e-15));
      CHECK(p_perm[x].index_select(0, label_ids).sum().item<double>() ==
            Approx(p_real[y].index_select(0, label_ids).sum().item<double>()).epsilon(1e-14));
    }
    CHECK(moved);
    // The summaries Table 8 prints are equal for both targets, and nearly all the
    // mass is on the labels (permuting all 1,000 tokens put about 2% there).
    const TargetSummary a = summarize_targets(real, tau), b = summarize_targets(perm, tau);
    CHECK(a.mean_entropy == Approx(b.mean_entropy).epsilon(1e-12));
    CHECK(a.mean_label_mass == Approx(b.mean_label_mass).epsilon(1e-12));
    CHECK(b.mean_label_mass > 0.95);
  }
}

TEST_CASE("reward score references: the training mean's constant and the test median, the best constant", "[reward]") {
  const auto cfg = reward_config({{"task.n_train", config::Value{int64_t{400}}},
                                  {"task.n_test_pairs", config::Value{int64_t{30}}}});
  RewardTask task;
  const Dataset d = task.generate(cfg);
  const auto refs = task.reference_metrics(cfg, d);
  // Independently: the MAE of every integer constant 0-20; the median is among the best.
  std::vector<long double> labels;
  for (const auto& e : d.test) labels.push_back(e.values.at(0));
  long double best = 1e300L;
  for (int c = 0; c <= 20; ++c) {
    long double sum = 0;
    for (long double y : labels) sum += std::fabs(y - c);
    best = std::min(best, sum / labels.size());
  }
  CHECK(refs.at("ref.test_median.score.mae") == Approx(static_cast<double>(best)).epsilon(1e-12));
  CHECK(refs.at("ref.test_median.score.mae") <= refs.at("ref.train_mean.score.mae"));
}

TEST_CASE("reward dataset: pairs are consecutive, deterministic by seed, streams disjoint", "[reward]") {
  const auto cfg = reward_config({{"task.n_train", config::Value{int64_t{50}}},
                                  {"task.n_test_pairs", config::Value{int64_t{4}}},
                                  {"task.n_shifted_pairs", config::Value{int64_t{10}}}});
  RewardTask task;
  const Dataset d = task.generate(cfg), again = task.generate(cfg);
  REQUIRE(d.train.size() == 100);
  REQUIRE(d.test.size() == 2 * 4 * sources().size());
  REQUIRE(d.extra.at("shifted").size() == 20);
  for (size_t i = 0; i < d.test.size(); i += 2) {
    REQUIRE(d.test[i].group == d.test[i + 1].group);
    REQUIRE(d.test[i].values.at(1) > d.test[i + 1].values.at(1));  // truth overall
  }
  REQUIRE(again.test[5].prompt == d.test[5].prompt);
  auto other = cfg;
  other.set("seed", config::Value{int64_t{2}});
  REQUIRE(task.generate(other).train[0].prompt + task.generate(other).train[1].prompt !=
          d.train[0].prompt + d.train[1].prompt);
  // Preference pairs follow the annotators' overall label; ties are dropped.
  for (const auto& [c, r] : task.preference_pairs(d.train)) {
    REQUIRE(c / 2 == r / 2);
    REQUIRE(d.train[c].values.at(0) > d.train[r].values.at(0));
  }
}

TEST_CASE("replay: pretraining-like documents after the scored pairs, plain language, outside every pair",
          "[reward]") {
  const auto cfg = reward_config({{"task.n_train", config::Value{int64_t{50}}},
                                  {"task.n_test_pairs", config::Value{int64_t{2}}}});
  auto replayed = cfg;
  replayed.set("task.replay", config::Value{0.5});
  RewardTask task;
  const Dataset plain = task.generate(cfg), mixed = task.generate(replayed);
  REQUIRE(plain.train.size() == 100);
  REQUIRE(mixed.train.size() == 150);  // 0.5 documents per scored example
  for (size_t i = 0; i < 100; ++i) REQUIRE(mixed.train[i].prompt == plain.train[i].prompt);  // scored data unchanged
  const Tokenizer tok(NumberSplit::chunk3);
  size_t with_digits = 0;
  for (size_t i = 100; i < 150; ++i) {
    const Example& e = mixed.train[i];
    REQUIRE(e.group == "replay");
    REQUIRE(e.prompt.empty());
    REQUIRE(e.values.empty());
    const EncodedExample enc = task.encode(e, tok);
    REQUIRE(std::count(enc.supervised.begin(), enc.supervised.end(), 1) > 0);  // trained as language
    REQUIRE(std::count(enc.metric.begin(), enc.metric.end(), 1) == 0);         // never a distance target
    with_digits += e.completion.find_first_of("0123456789") != std::string::npos;
  }
  REQUIRE(with_digits > 0);  // sums were drawn, and their digits are still not metric positions
  // A scored example keeps its metric positions.
  const EncodedExample scored = task.encode(mixed.train[0], tok);
  REQUIRE(std::count(scored.metric.begin(), scored.metric.end(), 1) == 6);
  REQUIRE(task.preference_pairs(mixed.train) == task.preference_pairs(plain.train));
  REQUIRE(task.reference_metrics(replayed, mixed).at("ref.train_mean.score.mae") ==
          task.reference_metrics(cfg, plain).at("ref.train_mean.score.mae"));
}

namespace {
// A Predictor whose q over V_d after a prompt is looked up by the prompt's text
// (missing: uniform), for exact expectations without a model.
class ScriptedPredictor : public FixedPredictor {
 public:
  ScriptedPredictor(const Tokenizer& tok, std::vector<Generation> gens, std::map<std::string, std::map<int, double>> q)
      : FixedPredictor(tok, std::move(gens)), q_(std::move(q)) {}
  using Predictor::next_number_probs;
  std::vector<std::vector<double>> next_number_probs(const std::vector<Prompt>& prompts) override {
    const size_t m = tokenizer().number_token_ids().size();
    std::vector<std::vector<double>> out;
    for (const auto& p : prompts) {
      std::vector<double> row(m, 1.0 / static_cast<double>(m));
      if (auto it = q_.find(p.text); it != q_.end()) {
        std::fill(row.begin(), row.end(), 0.0);
        for (const auto& [v, prob] : it->second) row.at(static_cast<size_t>(v)) = prob;
      }
      out.push_back(row);
      asked.push_back(p.text);
    }
    return out;
  }
  std::vector<std::string> asked;

 private:
  std::map<std::string, std::map<int, double>> q_;
};
}  // namespace

TEST_CASE("expected-score decoding: digit pairs under digits, one token under chunk3", "[reward]") {
  const Tokenizer digits(NumberSplit::digits), chunk3(NumberSplit::chunk3);
  // Facets 4,4,4,2,2 and overall "16" with hand-set expectations per number token.
  const auto gd = generation_of(digits, "4,4,4,2,2,16", {3.9, 4.0, 3.5, 2.2, 1.8, 1.2, 5.5});
  const auto vd = expected_integers(gd, digits);
  REQUIRE(vd.size() == 6);
  CHECK(vd[2] == Approx(3.5));
  CHECK(vd[5] == Approx(1.2 * 10 + 5.5));
  const auto gc = generation_of(chunk3, "4,4,4,2,2,16", {3.9, 4.0, 3.5, 2.2, 1.8, 15.25});
  const auto vc = expected_integers(gc, chunk3);
  REQUIRE(vc.size() == 6);
  CHECK(vc[5] == Approx(15.25));

  // reward_scores reads the sixth field's expectation; fewer fields is a parse failure (NaN).
  auto cfg = reward_config({{"loss.kind", config::Value{std::string("dist")}}});
  ScriptedPredictor good(digits, {gd}, {{"a4,4,4,2,2,", {{1, 1.0}}}, {"a4,4,4,2,2,1", {{6, 1.0}}}});
  FixedPredictor short_gen(digits, {generation_of(digits, "4,4,16", {4, 4, 1, 6})});
  CHECK(reward_scores(cfg, {"a"}, good)[0] == Approx(16.0));
  CHECK(std::isnan(reward_scores(cfg, {"a"}, short_gen)[0]));
  // A model with a scalar head (loss.kind=binary) is scored by its head, not by decoding.
  HeadPredictor head(digits, {gd}, {0.25, -1.5});
  const auto r = reward_scores(cfg, {"a", "b"}, head);
  CHECK(r == std::vector<double>{0.25, -1.5});
  CHECK_THROWS_WITH(good.scalar_scores(std::vector<std::string>{"a"}), Catch::Contains("no scalar head"));
}

TEST_CASE("expected score over the valid range: the exact sum of s p(s) for scores written in two digits", "[reward]") {
  const Tokenizer digits(NumberSplit::digits), chunk3(NumberSplit::chunk3);
  // Under digits: tens 0 (0.5), 1 (0.3), 2 (0.1) and 5 (0.1, never valid); units
  // 7 after 0, 2 after 1, and after 2 either 0 (0.4) or 5 (0.6, "25" is out of range).
  ScriptedPredictor d(digits, {}, {{"S:", {{0, 0.5}, {1, 0.3}, {2, 0.1}, {5, 0.1}}},
                                   {"S:0", {{7, 1.0}}},
                                   {"S:1", {{2, 1.0}}},
                                   {"S:2", {{0, 0.4}, {5, 0.6}}}});
  // Float64 by hand: p(07) = 0.5, p(12) = 0.3, p(20) = 0.04 over the valid mass 0.84.
  const double exact = (7 * 0.5 + 12 * 0.3 + 20 * 0.04) / 0.84;
  const auto v = expected_in_range(d, std::vector<Prompt>{{"S:", {}}}, 0, 20);
  REQUIRE(v.size() == 1);
  CHECK(v[0] == Approx(exact).epsilon(1e-12));
  // The old reading, 10 E[tens] + E[units | greedy tens], is far from it.
  CHECK(std::abs((10 * (0.3 + 0.2 + 0.5) + 7) - exact) > 1.0);
  // Every tens prefix is asked once, with the empty prefix first.
  CHECK(d.asked == std::vector<std::string>{"S:", "S:0", "S:1", "S:2"});

  // Under chunk3 a score is one token: the expectation over 0-20 renormalised.
  ScriptedPredictor c(chunk3, {}, {{"S:", {{7, 0.5}, {12, 0.3}, {20, 0.04}, {500, 0.16}}}});
  CHECK(expected_in_range(c, std::vector<Prompt>{{"S:", {}}}, 0, 20)[0] == Approx(exact).epsilon(1e-12));
  // No mass on the valid values: NaN, not a division by zero.
  ScriptedPredictor none(chunk3, {}, {{"S:", {{500, 1.0}}}});
  CHECK(std::isnan(expected_in_range(none, std::vector<Prompt>{{"S:", {}}}, 0, 20)[0]));
}

TEST_CASE("score fields: the sixth field is the overall, a run-on tail is ignored, fewer fields fail", "[reward]") {
  CHECK(parse_score_fields("4,4,4,2,2,16") == std::array<int, 6>{4, 4, 4, 2, 2, 16});
  CHECK(parse_score_fields("4,4,4,2,2,16,3,1,9") == std::array<int, 6>{4, 4, 4, 2, 2, 16});
  CHECK(parse_score_fields("4,4,4,2,2,07.") == std::array<int, 6>{4, 4, 4, 2, 2, 7});
  CHECK_FALSE(parse_score_fields("4,4,4,2,16"));
  CHECK_FALSE(parse_score_fields("4,4,x,2,2,16"));
  CHECK_FALSE(parse_score_fields("4,4,4,2,2,"));
  CHECK_FALSE(parse_score_fields(""));
}

TEST_CASE("reward readout: facets and overall read after the written prefix, consistency of the total", "[reward]") {
  const Tokenizer digits(NumberSplit::digits);
  // Greedy completion "4,3,4,2,1,14" (facets sum to 14: consistent) and a run-on one
  // "1,1,1,1,1,09,20" whose last number is not its overall.
  const auto g1 = generation_of(digits, "4,3,4,2,1,14", {4, 3, 4, 2, 1, 1, 4});
  const auto g2 = generation_of(digits, "1,1,1,1,1,09,20", {1, 1, 1, 1, 1, 0, 9, 2, 0});
  ScriptedPredictor m(digits, {g1, g2, generation_of(digits, "4,4", {4, 4})},
                      {{"P|S:", {{4, 0.75}, {3, 0.25}}},            // helpfulness: 3.75
                       {"P|S:4,3,4,2,1,", {{1, 1.0}}},             // tens of the overall
                       {"P|S:4,3,4,2,1,1", {{3, 0.5}, {4, 0.5}}},  // units: 13.5
                       {"Q|S:1,1,1,1,1,", {{0, 1.0}}},
                       {"Q|S:1,1,1,1,1,0", {{9, 1.0}}}});
  const auto r = read_rewards({"P|S:", "Q|S:", "R|S:"}, m);
  CHECK(r.overall[0] == Approx(13.5));
  CHECK(r.facets[0][0] == Approx(3.75));
  CHECK(r.overall[1] == Approx(9.0));  // the sixth field, not the last number (20)
  CHECK(r.consistent == std::vector<int>{1, 0, -1});
  // p(overall) is read after the written facets: 13 and 14 at 1/2 each, then 9 for sure.
  CHECK(r.overall_entropy[0] == Approx(std::log(2.0)));
  CHECK(r.overall_entropy[1] == Approx(0.0).margin(1e-12));
  CHECK(std::isnan(r.overall_entropy[2]));
  CHECK(std::isnan(r.overall[2]));
  CHECK(std::isnan(r.facet_sum[2]));
  // Unscripted facets are uniform over 0-9, renormalised over 0-4: expectation 2.
  CHECK(r.facet_sum[0] == Approx(3.75 + 4 * 2.0));
}

TEST_CASE("pairwise accuracy: per source, per subset, average of subsets; ties count 1/2, unparsed pairs are wrong", "[reward]") {
  std::vector<Example> pairs;
  auto add = [&](const std::string& source) {
    pairs.push_back({"c", "", {}, source, {}});
    pairs.push_back({"r", "", {}, source, {}});
  };
  add("chat.on_topic"), add("chat.length"), add("safety.should_refuse"), add("safety.should_refuse");
  const std::vector<double> rewards = {5, 1, 2, 2, 1, 3, NAN, 4};
  const auto m = pair_accuracies(pairs, rewards, "x.");
  CHECK(m.at("x.accuracy.chat.on_topic") == 1.0);
  CHECK(m.at("x.accuracy.chat.length") == 0.5);
  CHECK(m.at("x.accuracy.chat") == 0.75);
  // (1, 3) is lost, and (NaN, 4) is lost too: a pair with an output that did not parse is wrong.
  CHECK(m.at("x.accuracy.safety.should_refuse") == 0.0);
  CHECK(m.at("x.accuracy.safety") == 0.0);
  CHECK(m.at("x.accuracy.average") == Approx((0.75 + 0.0) / 2));
  // Both missing: still wrong, never a tie.
  CHECK(pair_accuracies({pairs[0], pairs[1]}, {NAN, NAN}, "").at("accuracy.chat.on_topic") == 0.0);
  CHECK_THROWS(pair_accuracies(pairs, {1, 2}, ""));
}

TEST_CASE("reward references: constant is 1/2, annotators beat chance, length is the longer answer", "[reward]") {
  const auto cfg = reward_config({{"task.n_test_pairs", config::Value{int64_t{40}}}});
  RewardTask task;
  const Dataset d = task.generate(cfg);
  const auto m = task.reference_metrics(cfg, d);
  CHECK(m.at("ref.constant.accuracy.average") == 0.5);
  CHECK(m.at("ref.annotator.accuracy.average") > 0.7);
  CHECK(m.at("ref.length.accuracy.chat.length") == 0.0);  // the longer answer is the worse one there
  CHECK(m.at("ref.length.accuracy.chat_hard") == 0.5);    // same lengths: all ties
}

TEST_CASE("binary reads as many sequences per step as the generative models: batch_size / 2 pairs", "[reward]") {
  auto cfg = reward_config({{"loss.kind", config::Value{std::string("binary")}}});
  const Tokenizer tok(NumberSplit::digits);
  const MetricSpace metric = metric_space(cfg, tok);
  const auto binary = make_objective(cfg, tok, metric, loss_options(cfg, metric), nullptr, {{0, 1}});
  cfg.set("loss.kind", config::Value{std::string("dist")});
  const auto lm = make_objective(cfg, tok, metric, loss_options(cfg, metric), nullptr, {});
  CHECK(items_per_step(32, *binary) * binary->sequences_per_item() == 32);
  CHECK(items_per_step(32, *lm) * lm->sequences_per_item() == 32);
  CHECK(items_per_step(1, *binary) == 1);  // never an empty step
}

TEST_CASE("binary head: Bradley-Terry on pairs learns a marker; padding does not change a score", "[reward]") {
  set_threads(1);
  auto cfg = reward_config({{"loss.kind", config::Value{std::string("binary")}},
                            {"model.d_model", config::Value{int64_t{32}}},
                            {"model.context", config::Value{int64_t{32}}},
                            {"train.steps", config::Value{int64_t{60}}},
                            {"train.log_every", config::Value{int64_t{5}}},
                            {"train.batch_size", config::Value{int64_t{16}}},
                            {"train.lr", config::Value{0.01}}});
  // The chosen prompt ends in 'y', the rejected one in 'n'; the rest is noise.
  std::vector<Example> train;
  std::vector<std::pair<size_t, size_t>> pairs;
  std::mt19937_64 rng(3);
  auto noise = [&] {
    std::string s;
    for (int k = 0; k < 6; ++k) s += static_cast<char>('a' + rng() % 20);
    return s;
  };
  for (size_t i = 0; i < 64; ++i) {
    train.push_back({noise() + "y", "", {}, "", {}});
    train.push_back({noise() + "n" + (i % 2 ? "q" : ""), "", {}, "", {}});  // different lengths: padding in a batch
    pairs.emplace_back(2 * i, 2 * i + 1);
  }
  const Tokenizer tok(NumberSplit::digits);
  const MetricSpace metric = metric_space(cfg, tok);
  Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
  REQUIRE(trainer.model()->has_scalar_head());
  trainer.set_preference_pairs(pairs);
  std::vector<double> losses;
  TrainHooks hooks;
  hooks.show_progress = false;
  hooks.on_log = [&](int64_t, const std::map<std::string, double>& v) { losses.push_back(v.at("loss")); };
  REQUIRE(trainer.train(train, hooks));
  REQUIRE(losses.front() > 0.4);  // log 2 = 0.69 at the start
  CHECK(losses.back() < 0.2);

  GptPredictor predictor(trainer.model(), tok, 8);
  std::vector<std::string> test;
  for (int i = 0; i < 20; ++i) test.push_back(noise() + (i % 2 ? "y" : "n"));
  const auto s = predictor.scalar_scores(test);
  int right = 0;
  for (size_t i = 0; i + 1 < s.size(); i += 2) right += s[i + 1] > s[i];
  CHECK(right >= 9);

  // A right-padded row scores as the same row alone (causal attention).
  torch::NoGradGuard no_grad;
  trainer.model()->eval();
  auto ids = torch::tensor(std::vector<int64_t>{1, 20, 30, 40}).view({1, 4});
  auto padded = torch::tensor(std::vector<int64_t>{1, 20, 30, 40, 0, 0}).view({1, 6});
  const double alone = trainer.model()->score(ids, torch::tensor(std::vector<int64_t>{3})).item<double>();
  const double with_pad = trainer.model()->score(padded, torch::tensor(std::vector<int64_t>{3})).item<double>();
  CHECK(with_pad == Approx(alone).margin(1e-5));
  // The Bradley-Terry loss of one pair against float64: softplus(r_rejected - r_chosen).
  const double rc = s[1], rr = s[0];
  CHECK(std::log1p(std::exp(rr - rc)) == Approx(-std::log(1.0 / (1.0 + std::exp(-(rc - rr))))).epsilon(1e-12));
}

TEST_CASE("backbone: pretrained once, cached, its weights copied into a model with a scalar head", "[reward]") {
  set_threads(1);
  const std::string store = temp_dir();
  auto cfg = reward_config({{"backbone.pretrain_steps", config::Value{int64_t{30}}},
                            {"backbone.batch_size", config::Value{int64_t{16}}},
                            {"task.pretrain_sentences", config::Value{int64_t{500}}},
                            {"model.d_model", config::Value{int64_t{32}}}});
  RewardTask task;
  const Backbone first = load_or_pretrain_backbone(cfg, task, store, false);
  REQUIRE_FALSE(first.from_cache);
  REQUIRE(std::filesystem::exists(first.weights_path));
  REQUIRE(first.knowledge_accuracy >= 0.0);
  REQUIRE(first.knowledge_accuracy <= 1.0);
  const Backbone again = load_or_pretrain_backbone(cfg, task, store, false);
  REQUIRE(again.from_cache);
  REQUIRE(again.id == first.id);
  REQUIRE(again.knowledge_accuracy == first.knowledge_accuracy);
  // The run seed and the loss do not change the backbone; the model shape does.
  auto other_seed = cfg;
  other_seed.set("seed", config::Value{int64_t{9}});
  other_seed.set("loss.kind", config::Value{std::string("binary")});
  REQUIRE(load_or_pretrain_backbone(other_seed, task, store, false).id == first.id);

  const Tokenizer tok(NumberSplit::digits);
  const MetricSpace metric = metric_space(other_seed, tok);
  Trainer fine(other_seed, tok, metric, loss_options(other_seed, metric));
  fine.load_backbone(first.weights_path);
  Trainer plain(cfg, tok, metric, loss_options(cfg, metric));
  plain.load_backbone(first.weights_path);
  auto a = fine.model()->named_parameters(), b = plain.model()->named_parameters();
  REQUIRE(a.size() == b.size() + 2);  // score_head weight and bias
  for (const auto& p : b) REQUIRE(torch::equal(a[p.key()], p.value()));

  // A task without a corpus refuses a backbone.
  auto regression = config::Config(experiment_schema("regression"));
  regression.set("backbone.pretrain_steps", config::Value{int64_t{5}});
  CHECK_THROWS_WITH(load_or_pretrain_backbone(regression, *make_task("regression"), store, false),
                    Catch::Contains("no pretraining corpus"));
  std::filesystem::remove_all(store);
}

TEST_CASE("smoke sweep of Table 6 through the executable, then its report", "[reward][pipeline]") {
  const std::string store = temp_dir();
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table6_alpha.yaml";
  auto sweep = dist2::test::run_dist2("--threads 1 sweep " + exp + " --profile smoke --store " + store + " -j 2");
  INFO(sweep.out);
  REQUIRE(sweep.status == 0);
  REQUIRE(sweep.out.find("8 trials: 0 finished before, 8 ran (8 finished") != std::string::npos);
  REQUIRE(sweep.out.find("pretrained") != std::string::npos);  // one backbone, before the workers
  auto report = dist2::test::run_dist2("report table6 --profile smoke --store " + store);
  INFO(report.out);
  REQUIRE(report.status == 0);
  REQUIRE(report.out.find("dist, alpha = 0.005") != std::string::npos);
  REQUIRE(report.out.find("| sft |") != std::string::npos);
  REQUIRE(report.out.find("tau") != std::string::npos);
  // Table 6's sweep has dist and sft runs with samples: figure 7 reads them when pointed at it.
  auto samples = dist2::test::run_dist2("report figure7 --experiment table6_alpha --profile smoke --store " + store);
  INFO(samples.out);
  REQUIRE(samples.status == 0);
  REQUIRE(samples.out.find("## sft (run ") != std::string::npos);
  REQUIRE(samples.out.find("## dist (run ") != std::string::npos);
  REQUIRE(samples.out.find("(label ") != std::string::npos);  // each response with its label
  std::filesystem::remove_all(store);
}

TEST_CASE("reward trains and evaluates under chunk3 (scores 0-20 as single tokens) and digits", "[reward][pipeline]") {
  const std::string store = temp_dir();
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table3_reward.yaml";
  for (const char* split : {"chunk3", "digits"}) {
    INFO(split);
    auto run = dist2::test::run_dist2("--threads 1 train " + exp + " --profile smoke --store " + store +
                                      " --no-progress tokenizer.numbers=" + split);
    INFO(run.out);
    REQUIRE(run.status == 0);
    REQUIRE(std::regex_search(run.out, std::regex("run [0-9a-f]{12} finished .*accuracy.average=")));
    REQUIRE(run.out.find("pretrain.accuracy=") != std::string::npos);
  }
  // A task that does not offer loss.kind=binary refuses it with one line, and the run is failed.
  const std::string reg = std::string(DIST2_SOURCE_DIR) + "/experiments/table11_regression.yaml";
  auto bad = dist2::test::run_dist2("train " + reg + " --profile smoke --store " + store + " loss.kind=binary");
  INFO(bad.out);
  REQUIRE(bad.status != 0);
  REQUIRE(bad.out.find("loss.kind=binary is not offered by task 'regression'") != std::string::npos);
  REQUIRE(bad.out.find("frame #") == std::string::npos);  // no stack dump
  auto runs = dist2::test::run_dist2("runs --format json --store " + store);
  REQUIRE(runs.out.find("\"status\": \"failed\"") != std::string::npos);
  REQUIRE(runs.out.find("\"status\": \"running\"") == std::string::npos);
  std::filesystem::remove_all(store);
}
