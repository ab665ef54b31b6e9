// Task adapters: the regression generator, number parsing, the text task.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dist2/tasks/dataset_cache.h"
#include "dist2/tasks/numbers.h"
#include "dist2/tasks/regression/task.h"
#include "dist2/tasks/text/task.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/splitmix.h"

using namespace dist2;

namespace {
config::Config regression_config(int64_t seed, int64_t n_train, int64_t n_test) {
  config::Config cfg(experiment_schema("regression"));
  cfg.set("seed", config::Value(seed));
  cfg.set("task.n_train", config::Value(n_train));
  cfg.set("task.n_test", config::Value(n_test));
  return cfg;
}
}  // namespace

TEST_CASE("splitmix64: the reference generator's stream; the pair seed is the trainer's mix_seed", "[tasks]") {
  // The reference SplitMix64 generator seeded with 0 (Steele, Lea and Flood 2014).
  uint64_t state = 0;
  std::vector<uint64_t> stream;
  for (int i = 0; i < 4; ++i) stream.push_back(splitmix64(state)), state += kSplitMix64Gamma;
  REQUIRE(stream == std::vector<uint64_t>{0xE220A8397B1DCDAFull, 0x6E789E6AA1B965F4ull, 0x06C45D188009454Full,
                                          0xF88BB8A8724C81ECull});
  // mix(a * gamma + b + 0x632BE59BD9B4E019) computed apart, with Python's integers.
  REQUIRE(splitmix64_pair(0, 0) == 0x6DB6CA64564DAEAAull);
  REQUIRE(splitmix64_pair(5, 77) == 0x6E5A1674B7AC483Cull);
  REQUIRE(splitmix64_pair(~0ull, 7000000) == 0x1254AD8E02BD7E9Bull);
  REQUIRE(mix_seed(1, 1) == 0x41F9D639C82CABA3ull);
}

TEST_CASE("regression problems follow the paper's distributions", "[tasks]") {
  const int n = 4000;
  double slope_min = 9, slope_max = -9, icpt_min = 9, icpt_max = -9, slope_mean = 0, oracle_mae = 0;
  for (int i = 0; i < n; ++i) {
    const auto p = line_problem(77, i);
    slope_min = std::min(slope_min, p.slope), slope_max = std::max(slope_max, p.slope);
    icpt_min = std::min(icpt_min, p.intercept), icpt_max = std::max(icpt_max, p.intercept);
    slope_mean += p.slope / n;
    for (int k = 0; k < 3; ++k) {
      REQUIRE(std::abs(p.y[k] - (p.slope * p.x[k] + p.intercept)) <= 0.0005 + 1e-12);  // three decimals
      REQUIRE(p.x[k] >= 0.0);
      REQUIRE(p.x[k] <= 1.0);
    }
    REQUIRE(std::abs(p.target - (0.5 * p.slope + p.intercept)) <= 0.0005 + 1e-12);
    oracle_mae += std::abs(oracle_prediction(p) - p.target) / n;
  }
  REQUIRE(slope_min >= 0.1);
  REQUIRE(slope_max <= 1.0);
  REQUIRE(slope_max - slope_min > 0.85);  // covers the range
  REQUIRE(icpt_min >= 0.0);
  REQUIRE(icpt_max <= 0.5);
  REQUIRE(slope_mean == Approx(0.55).margin(0.02));  // U[0.1, 1.0] has mean 0.55
  REQUIRE(oracle_mae < 0.001);                       // the oracle is limited only by rounding
}

TEST_CASE("regression data: deterministic by seed, nested training sets, disjoint test", "[tasks]") {
  RegressionTask task;
  const auto a = task.generate(regression_config(3, 16, 50));
  const auto b = task.generate(regression_config(3, 64, 50));
  const auto c = task.generate(regression_config(4, 16, 50));
  REQUIRE(a.train.size() == 16);
  REQUIRE(a.test.size() == 50);
  for (size_t i = 0; i < 16; ++i) REQUIRE(a.train[i].prompt == b.train[i].prompt);  // nested
  for (size_t i = 0; i < 50; ++i) REQUIRE(a.test[i].prompt == b.test[i].prompt);    // test independent of n_train
  REQUIRE(a.train[0].prompt != c.train[0].prompt);                                  // other seed, other data
  REQUIRE(a.train[0].prompt.size() == std::string("0.123,0.456;0.789,0.321;0.222,0.111;0.500,").size());
  REQUIRE(a.train[0].completion == format3(a.train[0].values[0]));
  // Reference predictors: the oracle is far better than the constant.
  const auto ref = task.reference_metrics(regression_config(3, 16, 50), a);
  REQUIRE(ref.at("ref.oracle.mae") < 0.002);
  REQUIRE(ref.at("ref.constant.mae") > 0.1);
  REQUIRE(ref.at("ref.mean_y.mae") > ref.at("ref.oracle.mae"));
}

TEST_CASE("number parsing and error statistics", "[tasks]") {
  REQUIRE(*parse_first_number("0.372") == Approx(0.372));
  REQUIRE(*parse_first_number("y=-1.5;") == Approx(-1.5));
  REQUIRE(*parse_first_number("12abc") == 12.0);
  REQUIRE(!parse_first_number("abc").has_value());
  REQUIRE(!parse_first_number("").has_value());
  const auto s = error_stats({1.0, std::nullopt, 3.5, 2.0}, {1.5, 2.0, 3.0, 2.0});
  REQUIRE(s.parse_failure_rate == Approx(0.25));
  REQUIRE(s.mae == Approx((0.5 + 0.5 + 0.0) / 3));
  REQUIRE(s.rmse == Approx(std::sqrt((0.25 + 0.25) / 3)));
  REQUIRE(s.exact_match == Approx(0.25));
}

TEST_CASE("expected-value decoding weighs each digit by its place", "[tasks]") {
  Tokenizer tok(NumberSplit::digits);
  Predictor::Generation g;
  g.ids = tok.encode_ids("0.372");
  g.expected = {0.1, NAN, 3.2, 7.0, 2.4};
  REQUIRE(*expected_number(g, tok) == Approx(0.1 + 0.32 + 0.07 + 0.0024));
  Tokenizer chunks(NumberSplit::chunk3);
  g.ids = chunks.encode_ids("12");
  g.expected = {11.5};
  REQUIRE(*expected_number(g, chunks) == Approx(11.5));
}

TEST_CASE("text task: JSONL and CSV readers, split by seed", "[tasks]") {
  const std::string dir = DIST2_TEST_DATA;
  auto jsonl = read_text_examples(dir + "/text/small.jsonl", "auto", "", "");
  REQUIRE(jsonl.size() == 10);
  REQUIRE(jsonl[1].prompt == "10+5=");
  REQUIRE(jsonl[1].completion == "15");
  REQUIRE(jsonl[8].prompt == "4+\xc3\xa9=");  // \u00e9 as UTF-8
  auto csv = read_text_examples(dir + "/text/small.csv", "auto", "age={age} bmi={bmi} ->", "charges");
  REQUIRE(csv.size() == 5);
  REQUIRE(csv[0].prompt == "age=19 bmi=27.9 ->");
  REQUIRE(csv[0].completion == "16884.9");
  REQUIRE_THROWS_WITH(read_text_examples(dir + "/text/small.csv", "auto", "x={nope}", "charges"),
                      Catch::Contains("column 'nope'"));
  REQUIRE_THROWS_WITH(read_text_examples(dir + "/text/small.csv", "auto", "x={age}", "price"),
                      Catch::Contains("'price' is not a column"));
  REQUIRE_THROWS_WITH(read_text_examples(dir + "/text/missing.jsonl", "auto", "", ""), Catch::Contains("cannot read"));
  REQUIRE(parse_csv_line("a,\"b,\"\"c\"\"\",d") == std::vector<std::string>{"a", "b,\"c\"", "d"});

  config::Config cfg(experiment_schema("text"));
  cfg.set("task.name", config::Value(std::string("text")));
  cfg.set("task.path", config::Value(dir + "/text/small.jsonl"));
  cfg.set("task.test_fraction", config::Value(0.3));
  TextTask task;
  const auto d1 = task.generate(cfg);
  const auto d2 = task.generate(cfg);
  REQUIRE(d1.test.size() == 3);
  REQUIRE(d1.train.size() == 7);
  for (size_t i = 0; i < 3; ++i) REQUIRE(d1.test[i].prompt == d2.test[i].prompt);
}

TEST_CASE("dataset cache: written once, read back identical, corruption detected", "[tasks]") {
  char tmpl[] = "/tmp/dist2-cache-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  RegressionTask task;
  const auto cfg = regression_config(2, 8, 5);
  const auto first = load_or_generate(task, cfg, root);
  REQUIRE(!first.from_cache);
  const auto second = load_or_generate(task, cfg, root);
  REQUIRE(second.from_cache);
  REQUIRE(second.data.train.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    REQUIRE(second.data.train[i].prompt == first.data.train[i].prompt);
    REQUIRE(second.data.train[i].values == first.data.train[i].values);
  }
  {
    std::ofstream f(first.dir + "/train.jsonl", std::ios::app);
    f << "{\"prompt\": \"x\"}\n";
  }
  REQUIRE_THROWS_WITH(load_or_generate(task, cfg, root), Catch::Contains("corrupted"));
  std::filesystem::remove_all(root);
}
