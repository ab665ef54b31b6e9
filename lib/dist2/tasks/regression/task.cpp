#include "dist2/tasks/regression/task.h"

#include <cmath>
#include <random>

#include "dist2/tasks/numbers.h"
#include "dist2/util/error.h"
#include "dist2/util/splitmix.h"

namespace dist2 {

namespace {
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

// Stream ids: the training and test problems of a seed never overlap, and the
// first n training problems are the same whatever n_train is (nested subsets,
// as the paper's 1-10 problems are subsets of ten).
constexpr uint64_t kTrainStream = 1, kTestStream = 2;
}  // namespace

std::string format3(double v) { return fmt::format("{:.3f}", v); }

LineProblem line_problem(uint64_t stream_seed, int64_t i) {
  std::mt19937_64 rng(splitmix64(stream_seed * 0x100000001B3ull + static_cast<uint64_t>(i)));
  std::uniform_real_distribution<double> slope(0.1, 1.0), intercept(0.0, 0.5), x(0.0, 1.0);
  LineProblem p;
  p.slope = slope(rng);
  p.intercept = intercept(rng);
  for (int k = 0; k < 3; ++k) {
    // Distinct x's, away from the query point, so the line is determined.
    do p.x[k] = round3(x(rng));
    while ((k > 0 && p.x[k] == p.x[0]) || (k > 1 && p.x[k] == p.x[1]) || p.x[k] == 0.5);
    p.y[k] = round3(p.slope * p.x[k] + p.intercept);
  }
  p.target = round3(p.slope * 0.5 + p.intercept);
  return p;
}

double oracle_prediction(const LineProblem& p) {
  // Least squares through the three rounded points.
  double mx = 0, my = 0;
  for (int k = 0; k < 3; ++k) mx += p.x[k] / 3, my += p.y[k] / 3;
  double sxy = 0, sxx = 0;
  for (int k = 0; k < 3; ++k) sxy += (p.x[k] - mx) * (p.y[k] - my), sxx += (p.x[k] - mx) * (p.x[k] - mx);
  return round3(my + sxy / sxx * (0.5 - mx));
}

std::string regression_prompt(const LineProblem& p) {
  std::string s;
  for (int k = 0; k < 3; ++k) s += format3(p.x[k]) + "," + format3(p.y[k]) + ";";
  return s + "0.500,";
}

config::Schema RegressionTask::schema() const {
  config::Schema s;
  s.add_int("task.n_train", 1024, 1, {}, "training problems per seed (nested: the first n of the seed's stream)");
  s.add_int("task.n_test", 1000, 1, {}, "test problems per seed");
  return s;
}

namespace {
Example to_example(const LineProblem& p) {
  return {regression_prompt(p), format3(p.target),
          {p.target, p.y[0], p.y[1], p.y[2], p.x[0], p.x[1], p.x[2]}, "", {}};
}
LineProblem from_example(const Example& e) {
  LineProblem p;
  p.target = e.values.at(0);
  for (int k = 0; k < 3; ++k) p.y[k] = e.values.at(1 + k), p.x[k] = e.values.at(4 + k);
  return p;
}
}  // namespace

Dataset RegressionTask::generate(const config::Config& cfg) const {
  const auto seed = static_cast<uint64_t>(cfg.get_int("seed"));
  Dataset d;
  for (int64_t i = 0; i < cfg.get_int("task.n_train"); ++i) d.train.push_back(to_example(line_problem(seed * 16 + kTrainStream, i)));
  for (int64_t i = 0; i < cfg.get_int("task.n_test"); ++i) d.test.push_back(to_example(line_problem(seed * 16 + kTestStream, i)));
  return d;
}

std::map<std::string, double> RegressionTask::reference_metrics(const config::Config&, const Dataset& data) const {
  double train_mean = 0;
  for (const auto& e : data.train) train_mean += e.values.at(0) / static_cast<double>(data.train.size());
  std::vector<std::optional<double>> constant, mean_y, oracle;
  std::vector<double> truth;
  for (const auto& e : data.test) {
    const LineProblem p = from_example(e);
    truth.push_back(p.target);
    constant.push_back(train_mean);
    mean_y.push_back((p.y[0] + p.y[1] + p.y[2]) / 3.0);
    oracle.push_back(oracle_prediction(p));
  }
  std::map<std::string, double> m;
  for (auto& [name, preds] : {std::pair{"constant", &constant}, {"mean_y", &mean_y}, {"oracle", &oracle}}) {
    const ErrorStats s = error_stats(*preds, truth);
    m[fmt::format("ref.{}.mae", name)] = s.mae;
    m[fmt::format("ref.{}.rmse", name)] = s.rmse;
  }
  return m;
}

std::map<std::string, double> RegressionTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                       Predictor& model) const {
  std::vector<std::string> prompts;
  std::vector<double> truth;
  for (const auto& e : data.test) prompts.push_back(e.prompt), truth.push_back(e.values.at(0));
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  std::vector<std::optional<double>> pred;
  for (const auto& g : gens) {
    const Prediction p = parse(cfg, g, model.tokenizer());
    pred.push_back(p.parsed ? std::optional<double>(p.numbers[0]) : std::nullopt);
  }
  const ErrorStats s = error_stats(pred, truth);
  return {{"mae", s.mae}, {"rmse", s.rmse}, {"parse_failure_rate", s.parse_failure_rate}, {"exact_match", s.exact_match}};
}

}  // namespace dist2
