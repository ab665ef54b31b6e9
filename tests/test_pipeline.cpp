// The smoke pipeline end to end through the dist2 executable: prepare, sweep
// (and its resume), runs, train --verbose, eval, report, and bad input.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "tests/support.h"

using dist2::test::run_dist2;

namespace {
std::string temp_store() {
  char tmpl[] = "/tmp/dist2-pipeline-XXXXXX";
  return mkdtemp(tmpl);
}
const std::string kExp = std::string(DIST2_SOURCE_DIR) + "/experiments/table11_regression.yaml";

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("smoke pipeline: prepare, sweep, resume, runs, report", "[pipeline]") {
  const std::string store = temp_store();
  const std::string common = kExp + " --profile smoke --store " + store;

  auto prep = run_dist2("prepare " + common);
  INFO(prep.out);
  REQUIRE(prep.status == 0);
  REQUIRE(prep.out.find("written") != std::string::npos);
  REQUIRE(run_dist2("prepare " + common).out.find("cached") != std::string::npos);

  auto sweep = run_dist2("--threads 1 sweep " + common + " -j 2");
  INFO(sweep.out);
  REQUIRE(sweep.status == 0);
  REQUIRE(sweep.out.find("3 trials: 0 finished before, 3 ran (3 finished") != std::string::npos);
  // Again: every trial is finished, nothing runs twice.
  auto again = run_dist2("sweep " + common + " -j 2");
  REQUIRE(again.status == 0);
  REQUIRE(again.out.find("3 finished before, 0 ran") != std::string::npos);

  auto runs = run_dist2("runs --format json --store " + store);
  REQUIRE(runs.status == 0);
  REQUIRE(count(runs.out, "\"status\": \"finished\"") == 3);

  auto report = run_dist2("report table11 --profile smoke --store " + store);
  INFO(report.out);
  REQUIRE(report.status == 0);
  REQUIRE(report.out.find("Table 11") != std::string::npos);
  REQUIRE(report.out.find("| dist |") != std::string::npos);
  REQUIRE(report.out.find("paper (Llama-3.2 1B)") != std::string::npos);
  std::filesystem::remove_all(store);
}

TEST_CASE("train --verbose, eval of the stored run, and bad input", "[pipeline]") {
  const std::string store = temp_store();
  auto train = run_dist2("train " + kExp + " --profile smoke --store " + store + " --verbose loss.kind=vocab seed=3");
  INFO(train.out);
  REQUIRE(train.status == 0);
  REQUIRE(train.out.find("kind: vocab") != std::string::npos);  // the resolved config
  std::smatch m;
  REQUIRE(std::regex_search(train.out, m, std::regex("run ([0-9a-f]{12}) finished")));
  auto eval = run_dist2("eval " + m[1].str() + " eval.decoding=expected --store " + store);
  INFO(eval.out);
  REQUIRE(eval.status == 0);
  REQUIRE(eval.out.find("mae") != std::string::npos);

  // A typo names the nearest key; a bad value names the rule; nothing is left running.
  auto typo = run_dist2("train " + kExp + " --profile smoke --store " + store + " loss.alpah=0.2");
  REQUIRE(typo.status != 0);
  REQUIRE(typo.out.find("did you mean 'loss.alpha'") != std::string::npos);
  auto range = run_dist2("train " + kExp + " --profile smoke --store " + store + " loss.tau=0");
  REQUIRE(range.status != 0);
  REQUIRE(range.out.find("loss.tau must be > 0") != std::string::npos);
  auto runs = run_dist2("runs --format json --store " + store);
  REQUIRE(count(runs.out, "\"status\": \"running\"") == 0);
  REQUIRE(count(runs.out, "\"id\"") == 1);
  std::filesystem::remove_all(store);
}
