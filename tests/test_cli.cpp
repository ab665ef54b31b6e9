// The dist2 executable: --help of every subcommand, exit codes, and
// `target --json` against the library.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <regex>

#include "dist2/loss/soft_target.h"
#include "tests/support.h"

using namespace dist2;

TEST_CASE("every subcommand has --help", "[cli]") {
  for (const char* sub : {"prepare", "train", "eval", "sweep", "report", "runs", "target", "bench"}) {
    auto r = test::run_dist2(std::string(sub) + " --help");
    INFO(sub << ": " << r.out);
    REQUIRE(r.status == 0);
    REQUIRE(r.out.find("Usage") != std::string::npos);
  }
  REQUIRE(test::run_dist2("--help").status == 0);
  REQUIRE(test::run_dist2("").status != 0);             // a subcommand is required
  REQUIRE(test::run_dist2("nonsense").status != 0);
}

TEST_CASE("target --json parses and matches the library", "[cli]") {
  auto r = test::run_dist2("target --metric sq --range 0:9 --target 5 --tau 1 --json");
  REQUIRE(r.status == 0);
  const auto j = test::parse_json_output(r.out);
  const auto values = j.at("values").get<std::vector<double>>();
  const auto probs = j.at("probs").get<std::vector<double>>();
  REQUIRE(j.at("metric") == "sq");
  REQUIRE(j.at("tau") == 1.0);
  REQUIRE(values.size() == 10);
  REQUIRE(probs.size() == 10);
  auto m = MetricSpace::scalar({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto want = soft_target(m, torch::tensor({5}), 1.0)[0];
  for (int i = 0; i < 10; ++i) {
    REQUIRE(values[i] == i);
    REQUIRE(probs[i] == Approx(want[i].item<double>()).epsilon(1e-12));
  }
  // sigma spelling and abs metric
  auto s = test::run_dist2("target --metric abs --range 0:9 --target 2 --sigma 1 --json");
  REQUIRE(s.status == 0);
  auto ma = MetricSpace::scalar({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, MetricKind::absolute);
  REQUIRE(test::parse_json_output(s.out).at("probs").at(0).get<double>() ==
          Approx(soft_target(ma, torch::tensor({2}), 2.0)[0][0].item<double>()).epsilon(1e-12));
  // entropy matching: the printed tau reproduces the requested entropy
  auto e = test::run_dist2("target --range 0:9 --target 5 --entropy 1.2 --json");
  REQUIRE(e.status == 0);
  const double tau = test::parse_json_output(e.out).at("tau").get<double>();
  REQUIRE(mean_target_entropy(m, tau) == Approx(1.2).epsilon(1e-6));
}

TEST_CASE("bad input: one-line error, non-zero exit", "[cli]") {
  for (const char* args : {"target --target 5 --tau 0", "target --target 11", "target --target 5 --range 9:0",
                           "target --target 5 --metric euclid", "target --target 5 --tau 1 --sigma 1"}) {
    auto r = test::run_dist2(args);
    INFO(args << " -> " << r.out);
    REQUIRE(r.status != 0);
    REQUIRE(r.out.find("rror") != std::string::npos);
    REQUIRE(r.out.find("terminate") == std::string::npos);
  }
}
