// The grounding task adapter: examples, box metrics, references, the image cache
// of its splits, and a smoke sweep of Table 1 through the executable with the
// reports that read it (Tables 1, 13, 7 bottom, the sample pictures).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dist2/image/image_file.h"
#include "dist2/report/examples.h"
#include "dist2/tasks/dataset_cache.h"
#include "dist2/tasks/grounding/task.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "tests/support.h"

using namespace dist2;
using grounding::Box;

namespace {

std::string grounding_temp_dir() {
  static int n = 0;
  const std::string dir = "/tmp/dist2-grounding-test-" + std::to_string(getpid()) + "-" + std::to_string(n++);
  std::filesystem::create_directories(dir);
  return dir;
}

config::Config small_grounding_config() {
  auto cfg = config::Config(experiment_schema("grounding"));
  cfg.set("task.name", config::Value{std::string("grounding")});
  cfg.set("task.n_train", config::Value{int64_t{12}});
  cfg.set("task.n_test", config::Value{int64_t{3}});
  cfg.set("task.canvas", config::Value{int64_t{32}});
  cfg.set("model.image_size", config::Value{int64_t{32}});
  cfg.set("task.min_size", config::Value{int64_t{8}});
  cfg.set("task.max_size", config::Value{int64_t{12}});
  cfg.set("task.pretrain_questions", config::Value{int64_t{10}});
  cfg.set("task.n_questions", config::Value{int64_t{6}});
  return cfg;
}

}  // namespace

TEST_CASE("grounding examples: the scene, the expression, the box as digits; deterministic", "[grounding]") {
  GroundingTask task;
  const auto cfg = small_grounding_config();
  const Dataset d = task.generate(cfg), again = task.generate(cfg);
  REQUIRE(d.train.size() == 12);
  REQUIRE(d.test.size() == 3 * grounding::group_names().size());
  for (size_t i = 0; i < d.train.size(); ++i) {
    REQUIRE(d.train[i].prompt == again.train[i].prompt);
    REQUIRE(d.train[i].images[0].pixels == again.train[i].images[0].pixels);
  }
  for (const auto& e : d.test) {
    REQUIRE(e.prompt.rfind("REF:the ", 0) == 0);
    REQUIRE(e.images.size() == 1);
    REQUIRE(e.images[0].height == 32);
    const auto box = grounding::parse_box(e.completion);
    REQUIRE(box.has_value());
    REQUIRE(*box == grounding::target_of(e));
    // The target is one of the scene's items.
    const auto items = grounding::items_of(e);
    REQUIRE(std::count(items.begin(), items.end(), *box) >= 1);
  }
  // The completion's digits are the metric positions, with place weights.
  const Tokenizer tok = tokenizer_for(cfg);
  const EncodedExample enc = task.encode(d.train[0], tok);
  int64_t metric = 0;
  for (size_t t = 0; t < enc.ids.size(); ++t) metric += enc.metric[t];
  int64_t digits = 0;
  for (char c : d.train[0].completion) digits += std::isdigit(static_cast<unsigned char>(c)) != 0;
  REQUIRE(metric == digits);
  REQUIRE(enc.images.size() == 1);
  // A canvas the model cannot read is refused with one line.
  auto bad = cfg;
  bad.set("model.image_size", config::Value{int64_t{48}});
  REQUIRE_THROWS_WITH(task.generate(bad), Catch::Contains("task.canvas (32) must equal model.image_size (48)"));
}

TEST_CASE("grounding text as words: every word of every prompt and answer is one token, chars stay available",
          "[grounding]") {
  GroundingTask task;
  auto cfg = small_grounding_config();
  cfg.set("task.n_test", config::Value{int64_t{20}});
  cfg.set("task.pretrain_questions", config::Value{int64_t{60}});
  const Tokenizer words = tokenizer_for(cfg);
  const auto& added = words.added_tokens();
  const auto is_word = [&](int64_t id) {
    return std::find(added.begin(), added.end(), words.token_text(id)) != added.end();
  };
  // A text made only of words, markers and single spaces between them needs one
  // token per word: count the words by hand.
  const auto expected_tokens = [](const std::string& text) {
    size_t n = 0;
    bool in_word = false;
    for (char c : text) {
      const bool word_char = c != ' ' && c != '?' && c != ':';
      if (word_char && !in_word) ++n;
      in_word = word_char;
    }
    return n;
  };
  std::vector<std::string> texts;
  const Dataset d = task.generate(cfg);
  for (const auto* split : {&d.train, &d.test})
    for (const auto& e : *split) texts.push_back(e.prompt);
  std::vector<std::string> answers;
  for (const auto& e : task.pretraining_examples(cfg)) {
    texts.push_back(e.prompt);
    if (!std::isdigit(static_cast<unsigned char>(e.completion[0]))) answers.push_back(e.completion);
  }
  REQUIRE(texts.size() > 100);
  for (const std::string& text : texts) {
    INFO(text);
    const auto ids = words.encode_ids(text);
    size_t word_tokens = 0, question_marks = 0;
    for (int64_t id : ids) {
      word_tokens += is_word(id);
      question_marks += words.token_text(id) == "?";
    }
    CHECK(word_tokens + question_marks == ids.size());  // no letter or space falls back to a char
    CHECK(word_tokens == expected_tokens(text));
  }
  REQUIRE(!answers.empty());
  for (const std::string& a : answers) {
    INFO(a);
    const auto ids = words.encode_ids(a);
    REQUIRE(ids.size() == 1);
    CHECK(is_word(ids[0]));
    CHECK(words.decode(ids) == a);
  }
  // chars: the tokenizer adds nothing, and a prompt is one token per character.
  cfg.set("task.text_tokens", config::Value{std::string("chars")});
  const Tokenizer chars = tokenizer_for(cfg);
  CHECK(chars.added_tokens().empty());
  CHECK(chars.encode_ids(d.test[0].prompt).size() == d.test[0].prompt.size());
}

TEST_CASE("grounding box metrics: IoU per group, parse failures count as wrong", "[grounding]") {
  std::vector<Example> test(3);
  test[0].group = test[1].group = "ref.testA";
  test[2].group = "refg.test";
  test[0].values = {0, 0, 10, 10, 1, 0, 0, 10, 10};
  test[1].values = {0, 0, 10, 10, 1, 0, 0, 10, 10};
  test[2].values = {20, 20, 40, 40, 1, 20, 20, 40, 40};
  // Exact, half-overlapping (IoU 50/150 = 1/3), and a parse failure.
  const std::vector<std::optional<Box>> predicted{Box{0, 0, 10, 10}, Box{5, 0, 15, 10}, std::nullopt};
  const auto m = grounding::box_metrics(predicted, test, "");
  CHECK(m.at("ref.testA.acc50") == Approx(0.5));
  CHECK(m.at("ref.testA.iou") == Approx((1.0 + 1.0 / 3.0) / 2));
  CHECK(m.at("refg.test.acc50") == 0.0);
  CHECK(m.at("acc50") == Approx(1.0 / 3.0));
  CHECK(m.at("mean_iou") == Approx((1.0 + 1.0 / 3.0) / 3));
  CHECK(m.at("parse_failure_rate") == Approx(1.0 / 3.0));
}

TEST_CASE("grounding splits cache their images beside the JSONL; a damaged image file is refused", "[grounding]") {
  GroundingTask task;
  const auto cfg = small_grounding_config();
  const std::string root = grounding_temp_dir();
  const auto first = load_or_generate(task, cfg, root);
  REQUIRE_FALSE(first.from_cache);
  REQUIRE(std::filesystem::exists(first.dir + "/test.images"));
  const auto second = load_or_generate(task, cfg, root);
  REQUIRE(second.from_cache);
  for (size_t i = 0; i < first.data.test.size(); ++i) {
    REQUIRE(second.data.test[i].images.size() == 1);
    // uint8 in the cache: within half a grey level.
    const auto& a = first.data.test[i].images[0].pixels;
    const auto& b = second.data.test[i].images[0].pixels;
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); ++k) REQUIRE(std::abs(a[k] - b[k]) <= 0.5f / 255.f + 1e-6f);
  }
  {
    std::fstream f(first.dir + "/test.images", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x7f');
  }
  REQUIRE_THROWS_AS(load_or_generate(task, cfg, root), Error);
  std::filesystem::remove_all(root);
}

TEST_CASE("shared failures pair two runs' examples: each run's mean score where both are below the threshold",
          "[grounding][report]") {
  using report::ExampleRow;
  std::vector<report::RunRecord> runs(2);
  runs[0] = {"a", "finished", {{"loss.kind", "sft"}, {"seed", "1"}}, {}};
  runs[1] = {"b", "finished", {{"loss.kind", "dist"}, {"seed", "1"}}, {}};
  const std::string csv_a = "index,group,score,prompt,truth,prediction\n0,g,0.1,p,t,x\n1,g,0.9,p,t,x\n2,g,0.3,p,t,x\n3,h,0.0,p,t,x\n";
  const std::string csv_b = "index,group,score,prompt,truth,prediction\n0,g,0.4,p,t,x\n1,g,0.2,p,t,x\n2,g,0.45,p,t,x\n3,h,0.2,p,t,x\n";
  std::map<std::string, std::vector<ExampleRow>> ex{{"a", report::parse_examples_csv(csv_a, "a")},
                                                     {"b", report::parse_examples_csv(csv_b, "b")}};
  const report::RowSpec sft{"sft", {{"loss.kind", "sft"}}}, dist{"dist", {{"loss.kind", "dist"}}};
  REQUIRE(report::add_shared_failure_metrics(runs, ex, sft, dist, {}, "g", 0.5, "sf") == 1);
  // Examples 0 and 2 are shared failures of group g (1 is right for a).
  CHECK(runs[0].metrics.at("sf.g.n") == 2);
  CHECK(runs[0].metrics.at("sf.g.score") == Approx((0.1 + 0.3) / 2));
  CHECK(runs[1].metrics.at("sf.g.score") == Approx((0.4 + 0.45) / 2));
  REQUIRE(report::add_shared_failure_metrics(runs, ex, sft, dist, {}, "", 0.5, "sf") == 1);
  CHECK(runs[1].metrics.at("sf.all.n") == 3);
  CHECK(runs[1].metrics.at("sf.all.score") == Approx((0.4 + 0.45 + 0.2) / 3));
  REQUIRE_THROWS_WITH(report::parse_examples_csv("index,group\n", "x.csv"), Catch::Contains("not an examples file"));
  REQUIRE_THROWS_WITH(report::parse_examples_csv(csv_a + "zz,g,0.1,p,t,x\n", "x.csv"), Catch::Contains("x.csv:6"));
}

TEST_CASE("smoke sweep of Table 1 through the executable, then Tables 1, 13, 7 bottom and the samples",
          "[grounding][pipeline]") {
  const std::string store = grounding_temp_dir();
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table1_grounding.yaml";
  auto sweep = dist2::test::run_dist2("--threads 1 sweep " + exp + " --profile smoke --store " + store + " -j 2");
  INFO(sweep.out);
  REQUIRE(sweep.status == 0);
  REQUIRE(sweep.out.find("3 trials: 0 finished before, 3 ran (3 finished") != std::string::npos);
  // Table 7 bottom: sft and dist fine-tuned from the scene-question backbone, in the same store.
  const std::string exp7 = std::string(DIST2_SOURCE_DIR) + "/experiments/table7_grounding.yaml";
  auto sweep7 = dist2::test::run_dist2("--threads 1 sweep " + exp7 + " --profile smoke --store " + store + " -j 2");
  INFO(sweep7.out);
  REQUIRE(sweep7.status == 0);
  REQUIRE(sweep7.out.find("2 trials: 0 finished before, 2 ran (2 finished") != std::string::npos);
  REQUIRE(sweep7.out.find("pretrained") != std::string::npos);
  auto t1 = dist2::test::run_dist2("report table1 --profile smoke --store " + store);
  INFO(t1.out);
  REQUIRE(t1.status == 0);
  REQUIRE(t1.out.find("ref testA") != std::string::npos);
  REQUIRE(t1.out.find("reference: a random item of the scene") != std::string::npos);
  REQUIRE(t1.out.find("Phi3V-dist") != std::string::npos);
  REQUIRE(t1.out.find("backbone.pretrain_steps = 0") != std::string::npos);  // the runs from scratch, not Table 7's
  auto t13 = dist2::test::run_dist2("report table13 --profile smoke --store " + store);
  INFO(t13.out);
  REQUIRE(t13.status == 0);
  REQUIRE(t13.out.find("shared failures") != std::string::npos);
  auto t7 = dist2::test::run_dist2("report table7_grounding --profile smoke --store " + store);
  INFO(t7.out);
  REQUIRE(t7.status == 0);
  REQUIRE(t7.out.find("backbone before fine-tuning") != std::string::npos);
  const std::string out = store + "/pictures";
  auto pics = dist2::test::run_dist2("report grounding-samples --profile smoke --store " + store + " --out " + out);
  INFO(pics.out);
  REQUIRE(pics.status == 0);
  REQUIRE(std::filesystem::exists(out + "/grounding-samples-1.png"));
  std::ifstream md(out + "/grounding-samples.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  REQUIRE(text.find("| sft (IoU) | dist (IoU) |") != std::string::npos);
  std::filesystem::remove_all(store);
}
