#pragma once
// Robotic manipulation (paper section 3.3, appendix D.3), scaled: a VIMA-Bench
// stand-in on the simulated tabletop of sim.h. The model reads the
// scene (its image prefix) and an instruction, "DO:put the red bar into the blue
// bowl ACT:", and writes the actions as numbers, "12,40,37,88,0" (pick x,y, place
// x,y on the 0-99 grid, rotation in degrees; ';' between actions); every digit is
// a metric position with its place weight. Only the loss changes between sft,
// vocab and dist, as in LLaRA's setup.
//
// Evaluation: the simulator executes the greedy output; success per test group
// ("l1.put" ... "l2.put_all"), per protocol ("l1.success", "l2.success": the mean
// of its three families) and overall, the parse-failure rate, and the share of
// each failure kind. Each test episode's outcome is the run's "examples" artifact.
// References: random pick and place on the table, a heuristic that moves a
// random object into a random receptacle, and the oracle (the true actions).
// Optional auxiliary examples (task.aux, LLaRA's localisation questions): "DO:where
// is the red bar? ACT:" -> "x,y" for training scenes.
#include "dist2/tasks/manipulation/sim.h"
#include "dist2/tasks/task.h"

namespace dist2 {

class ManipulationTask : public Task {
 public:
  std::string name() const override { return "manipulation"; }
  config::Schema schema() const override;
  // train: task.n_train episodes (plus auxiliary questions); test: task.n_test per test group.
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> evaluate_examples(const config::Config& cfg, const Dataset& data, Predictor& model,
                                                  std::vector<ExampleScore>& scores) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config& cfg) const override;
  std::vector<std::string> added_tokens(const config::Config& cfg) const override;
  Prediction parse(const config::Config& cfg, const Predictor::Generation& g, const Tokenizer& tok) const override;
  std::string samples(const config::Config& cfg, const Dataset& data, Predictor& model) const override;
};

namespace manipulation {
// Success metrics of action texts (one per test example, in order) under `prefix`:
// "<group>.success", "l1.success" and "l2.success" (the mean over the protocol's
// groups), "success", "parse_failure_rate" and "failure.<kind>" shares (kinds:
// malformed, off_table, no_object, too_many, goal). `reasons` gets each episode's
// outcome ("" on success) when given.
std::map<std::string, double> episode_metrics(const std::vector<std::string>& action_texts,
                                              const std::vector<Example>& test, const std::string& prefix,
                                              std::vector<std::string>* reasons = nullptr);
}  // namespace manipulation

}  // namespace dist2
