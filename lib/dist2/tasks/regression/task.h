#pragma once
// Meta linear regression (paper section 3.1, appendix D.2): each problem is a
// line y = a x + b with a ~ U[0.1, 1.0], b ~ U[0.0, 0.5]; the prompt shows three
// (x, y) points and the model writes y at x = 0.5. Values have three decimals.
#include "dist2/tasks/task.h"

namespace dist2 {

struct LineProblem {
  double slope = 0, intercept = 0;
  double x[3] = {0, 0, 0}, y[3] = {0, 0, 0};
  double target = 0;  // y at x = 0.5, rounded
};

// Problem i of a stream seeded by `seed` (streams for train and test differ).
LineProblem line_problem(uint64_t stream_seed, int64_t i);
// The exact line through the (rounded) points at x = 0.5: the oracle predictor.
double oracle_prediction(const LineProblem& p);
std::string regression_prompt(const LineProblem& p);
std::string format3(double v);  // "0.372"

class RegressionTask : public Task {
 public:
  std::string name() const override { return "regression"; }
  config::Schema schema() const override;
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config&) const override { return 8; }
};

}  // namespace dist2
