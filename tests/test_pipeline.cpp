// The smoke pipeline end to end through the dist2 executable: prepare, sweep
// (and its resume), runs, train --verbose, eval, report, and bad input.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "dist2/util/files.h"
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
  // Each run names the trial it answers; the report finds them through the sweep's recorded plan.
  REQUIRE(count(runs.out, "\"variant\": \"seed=1 task.n_train=32 loss.kind=") == 3);

  auto report = run_dist2("report table11 --profile smoke --store " + store);
  INFO(report.out);
  REQUIRE(report.status == 0);
  REQUIRE(report.out.find("Table 11") != std::string::npos);
  REQUIRE(report.out.find("| dist |") != std::string::npos);
  REQUIRE(report.out.find("paper (Llama-3.2 1B)") != std::string::npos);

  // A table of one's own, as data: a layouts file read beside the built-in ones.
  const std::string layouts = store + "/my_layouts.yaml";
  std::ofstream(layouts) << "layouts:\n  - name: my_mae\n    title: My MAE table\n"
                            "    rows: [{label: sft, where: {loss.kind: sft}}, {label: dist, where: {loss.kind: dist}}]\n"
                            "    metrics: [{key: mae, label: MAE}]\n    baseline: sft\n";
  auto mine = run_dist2("report my_mae --layouts " + layouts + " --experiment table11_regression --profile smoke --store " +
                        store);
  INFO(mine.out);
  REQUIRE(mine.status == 0);
  REQUIRE(mine.out.find("# My MAE table") != std::string::npos);
  REQUIRE(mine.out.find("| dist |") != std::string::npos);
  std::ofstream(layouts) << "layouts:\n  - name: my_mae\n    titel: typo\n";
  auto typo = run_dist2("report my_mae --layouts " + layouts + " --profile smoke --store " + store);
  REQUIRE(typo.status != 0);
  REQUIRE(typo.out.find(layouts + ":3:5: unknown key 'titel' in a layout") != std::string::npos);

  // Tables 9 and 10 from what each run logged under "system": one row per experiment type.
  auto t9 = run_dist2("report table9 --profile smoke --store " + store);
  INFO(t9.out);
  REQUIRE(t9.status == 0);
  std::smatch m;
  // 3 runs of a 2-layer model of width 32 from scratch: parameters, layers, width, pretraining steps.
  REQUIRE(std::regex_search(t9.out, m, std::regex(R"(\| Toy \(3\.1\): meta linear regression \| (\d+) \| 0 \| (\d+) \| 2 \| 0 \| 2 \| 32 \| 0 \| 32 \| 0 \| 0 \| 0 \|)")));
  REQUIRE(std::stod(m[1].str()) > 2 * 4 * 32 * 32);  // at least the attention and MLP weights
  auto t10 = run_dist2("report table10 --profile smoke --store " + store);
  INFO(t10.out);
  REQUIRE(t10.status == 0);
  REQUIRE(std::regex_search(t10.out, m, std::regex(R"(\| Toy \(3\.1\)[^|]*\|([^\n]*))")));
  const std::string cells = m[1].str();
  REQUIRE(cells.find("– (n=0)") == std::string::npos);
  REQUIRE(t10.out.find("paper (appendix D): Toy (3.1) | RTX 3090 | 24 | 1 |") != std::string::npos);

  // `report all` reads only the sweeps at its profile: a plan of another
  // experiment at another profile (recorded by a dry run) is left out, not an error.
  auto other = run_dist2("sweep " + std::string(DIST2_SOURCE_DIR) + "/experiments/table1_grounding.yaml --profile quick --dry-run --store " + store);
  INFO(other.out);
  REQUIRE(other.status == 0);
  const std::string page_dir = store + "/page";
  auto all = run_dist2("report all --format html --profile smoke --store " + store + " --out " + page_dir);
  INFO(all.out);
  REQUIRE(all.status == 0);
  const std::string page = dist2::read_file(page_dir + "/index.html");
  REQUIRE(page.find("<section id=\"table11\"") != std::string::npos);
  REQUIRE(page.find("<section id=\"table1\"") == std::string::npos);
  auto only = run_dist2("report all --format html --experiment table1_grounding --profile smoke --store " + store +
                        " --out " + page_dir);
  INFO(only.out);
  REQUIRE(only.status != 0);
  REQUIRE(only.out.find("has no sweep of table1_grounding at profile 'smoke' "
                        "(its sweeps' profiles: quick, smoke; pass --profile)") != std::string::npos);
  auto none = run_dist2("report all --profile default --store " + store + " --out " + page_dir);
  INFO(none.out);
  REQUIRE(none.status != 0);
  REQUIRE(none.out.find("has no sweep at profile 'default'") != std::string::npos);
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
  REQUIRE(count(runs.out, "\"variant\": \"\"") == 1);  // trained by hand: no sweep trial

  // No sweep recorded a plan in this store: the report says how to get one.
  auto no_plan = run_dist2("report table11 --profile smoke --store " + store);
  REQUIRE(no_plan.status != 0);
  REQUIRE(no_plan.out.find("no sweep recorded in store") != std::string::npos);
  REQUIRE(count(runs.out, "\"id\"") == 1);
  std::filesystem::remove_all(store);
}

TEST_CASE("two sweeps started at the same instant run each trial once", "[pipeline]") {
  const std::string store = temp_store();
  const std::string sweep = std::string(DIST2_EXE) + " --threads 1 sweep " + kExp + " --profile smoke --store " + store;
  const std::string script = "(" + sweep + " > " + store + "/a.out 2>&1 & a=$!; " + sweep + " > " + store +
                             "/b.out 2>&1 & b=$!; wait $a; ra=$?; wait $b; rb=$?; exit $((ra + rb)))";
  REQUIRE(dist2::test::run_shell_status("bash -c '" + script + "'") == 0);
  auto runs = run_dist2("runs --format csv --store " + store);
  INFO(runs.out);
  REQUIRE(runs.status == 0);
  CHECK(count(runs.out, "\n") == 1 + 3);  // the header and one run per trial
  CHECK(count(runs.out, ",finished,") == 3);
}
