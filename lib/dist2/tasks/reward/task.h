#pragma once
// Generative reward modeling (paper section 3.4, appendices C and D.2), scaled:
// the model reads "Q:<instruction>|A:<response>|S:" and writes five facet scores
// and the overall score; the reward of a response is the expected overall score,
// sum of s p(s) over the score tokens, and a pair is judged right when the chosen
// response gets the higher reward. Data come from world.h.
#include <array>
#include <optional>

#include "dist2/tasks/reward/world.h"
#include "dist2/tasks/task.h"

namespace dist2 {

class RewardTask : public Task {
 public:
  std::string name() const override { return "reward"; }
  config::Schema schema() const override;
  // train: two responses per instruction, consecutive, then any replayed
  // pretraining documents (group "replay"); test and extra["shifted"]:
  // pairs as (chosen, rejected) consecutive examples, the source as the group.
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config& cfg) const override { return 16; }
  std::vector<std::pair<size_t, size_t>> preference_pairs(const std::vector<Example>& train) const override;
  // Replayed documents (task.replay) are plain language: no metric positions.
  EncodedExample encode(const Example& e, const Tokenizer& tok) const override;
  std::vector<std::string> pretraining_corpus(const config::Config& cfg) const override;
  std::vector<KnowledgeItem> knowledge_questions(const config::Config& cfg) const override;
  std::string samples(const config::Config& cfg, const Dataset& data, Predictor& model) const override;
  std::vector<std::string> extra_loss_kinds() const override { return {"binary"}; }
  // V_d: the number tokens, whose labels are 0-20 (overall) and 0-4 (a facet).
  MetricTokens metric_tokens(const config::Config& cfg, const Tokenizer& tok) const override;
};

// The six integer fields of a score completion "h,c,o,x,v,OO" (facets 0-4, overall
// 0-20); anything after the sixth field's digits is ignored, so a run-on output is
// read by its sixth field, not its last number. nullopt: fewer than six integer fields.
std::optional<std::array<int, 6>> parse_score_fields(const std::string& text);

// What a generative reward model says of each prompt, read from its greedy
// completion: the expected overall score, sum of s p(s) over the valid scores 0-20
// after the written facets (the reward); each facet's expectation over 0-4 after
// the facets before it; their sum (a second reward); and whether the written total
// equals the sum of the written facets. NaN / -1 where the completion did not parse.
struct RewardReadout {
  std::vector<double> overall, facet_sum;
  std::vector<double> overall_entropy;  // entropy (nats) of p(overall) over 0-20 where it is read
  std::vector<std::array<double, 5>> facets;
  std::vector<int> consistent;  // 1 yes, 0 no, -1 unparsed
};
RewardReadout read_rewards(const std::vector<std::string>& prompts, Predictor& model);

// The reward of each prompt: the scalar head's output for a model with one
// (loss.kind=binary), else read_rewards' expected overall score.
std::vector<double> reward_scores(const config::Config& cfg, const std::vector<std::string>& prompts, Predictor& model);

// Pairwise accuracy per source, subset ("accuracy.chat"), their average (the mean
// of the four subsets, as RewardBench averages), given rewards of the consecutive
// (chosen, rejected) examples; a tie counts 1/2, a pair with a NaN reward (an
// output that did not parse) counts as wrong. `prefix` + "accuracy...".
std::map<std::string, double> pair_accuracies(const std::vector<Example>& pairs, const std::vector<double>& rewards,
                                              const std::string& prefix);

}  // namespace dist2
