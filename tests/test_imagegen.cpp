// The image-generation experiment (issue: VQ image generation, paper sections
// 3.5 and D.3): sampling with classifier-free guidance through the KV cache, the
// evaluation classifier, and the imagegen task on a small synthetic
// Fashion-MNIST-format data set, through to an end-to-end smoke sweep.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "dist2/image/idx.h"
#include "dist2/imagegen/assets.h"
#include "dist2/util/blas_kernels.h"
#include "dist2/imagegen/substitution.h"
#include "dist2/imagegen/task.h"
#include "dist2/model/classifier.h"
#include "dist2/model/gpt.h"
#include "dist2/train/batch.h"
#include "dist2/train/predictor.h"
#include "dist2/train/trainer.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/json.h"
#include "support.h"

using namespace dist2;

namespace {

// A tokenizer with 12 code tokens and the class tokens, and an untrained GPT over it.
struct TinyModel {
  Tokenizer tok{NumberSplit::digits, [] {
                  std::vector<std::string> t;
                  for (int k = 0; k < 12; ++k) t.push_back(imagegen::code_token(k));
                  for (int c = -1; c < 10; ++c) t.push_back(imagegen::class_token(c));
                  return t;
                }()};
  Gpt model{nullptr};
  explicit TinyModel(uint64_t seed) {
    GptOptions o;
    o.vocab_size = tok.vocab_size();
    o.context = 24;
    o.d_model = 32;
    torch::manual_seed(static_cast<int64_t>(seed));
    model = Gpt(o);
  }
  std::vector<int64_t> codes() const {
    std::vector<int64_t> ids;
    for (int k = 0; k < 12; ++k) ids.push_back(tok.added_token_id(imagegen::code_token(k)));
    return ids;
  }
};

std::vector<Prompt> class_prompts(int n) {
  std::vector<Prompt> p;
  for (int i = 0; i < n; ++i) p.emplace_back(imagegen::class_token(i % 10));
  return p;
}

}  // namespace

TEST_CASE("sampling: the KV cache changes nothing, guidance 1 is the conditional model, draws follow the seed",
          "[imagegen][model]") {
  TinyModel m(3);
  GptPredictor batched(m.model, m.tok, 3), whole(m.model, m.tok, 64);
  const auto prompts = class_prompts(7);
  const std::vector<Prompt> null(7, Prompt(imagegen::class_token(-1)));
  Predictor::Sampling s;
  s.allowed = m.codes();
  s.guidance = 2.0;
  s.seed = 11;
  const auto cached = batched.sample(prompts, null, 15, s);
  REQUIRE(cached == batched.sample_uncached(prompts, null, 15, s));
  REQUIRE(cached == whole.sample(prompts, null, 15, s));  // a row's draws do not depend on the batching
  std::set<int64_t> seen;
  for (const auto& row : cached) {
    REQUIRE(row.size() == 15);
    for (int64_t t : row) {
      REQUIRE(std::find(s.allowed.begin(), s.allowed.end(), t) != s.allowed.end());
      seen.insert(t);
    }
  }
  REQUIRE(seen.size() > 6);  // an untrained model spreads its draws: the comparison covered many choices

  Predictor::Sampling s1 = s;
  s1.guidance = 1.0;
  REQUIRE(batched.sample(prompts, null, 15, s1) == batched.sample(prompts, {}, 15, s1));
  Predictor::Sampling other = s;
  other.seed = 12;
  REQUIRE(batched.sample(prompts, null, 15, other) != cached);

  // top_k = 1 takes the argmax of u + g (c - u), checked against a float64 computation of the first step.
  Predictor::Sampling greedy = s;
  greedy.top_k = 1;
  greedy.guidance = 3.0;
  const auto first = batched.sample(prompts, null, 1, greedy);
  torch::NoGradGuard no_grad;
  m.model->eval();
  const auto allowed = torch::tensor(s.allowed, torch::kInt64);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto logits_after = [&](const std::string& text) {
      std::vector<int64_t> ids{Tokenizer::kBos};
      for (int64_t t : m.tok.encode_ids(text)) ids.push_back(t);
      const auto x = torch::tensor(ids, torch::kInt64).unsqueeze(0);
      return m.model->forward(x).select(1, x.size(1) - 1)[0].index_select(0, allowed).to(torch::kFloat64);
    };
    const auto c = logits_after(prompts[i].text), u = logits_after(imagegen::class_token(-1));
    const int64_t best = (u + 3.0 * (c - u)).argmax().item<int64_t>();
    REQUIRE(first[i][0] == s.allowed[static_cast<size_t>(best)]);
  }

  REQUIRE_THROWS_WITH(batched.sample(prompts, {Prompt("<y1>")}, 5, s), Catch::Contains("1 unconditional prompts for 7"));
  REQUIRE_THROWS_WITH(batched.sample(prompts, null, 40, s), Catch::Contains("exceed model.context"));
  Predictor::Sampling cold = s;
  cold.temperature = 0;
  REQUIRE_THROWS_WITH(batched.sample(prompts, null, 5, cold), Catch::Contains("temperature must be > 0"));
}

TEST_CASE("evaluation classifier: learns a separable toy problem; probabilities and features per image",
          "[imagegen][model]") {
  // Class 0: a bright top half; class 1: a bright bottom half; plus noise.
  torch::manual_seed(1);
  auto images = torch::rand({200, 1, 28, 28}) * 0.3;
  auto labels = torch::randint(0, 2, {200}, torch::kInt64);
  for (int64_t i = 0; i < 200; ++i) {
    const int64_t y = labels[i].item<int64_t>();
    images[i].slice(1, y == 0 ? 0 : 14, y == 0 ? 14 : 28).add_(0.7);
  }
  ClassifierOptions o;
  o.classes = 2;
  o.width = 8;
  o.features = 16;
  torch::manual_seed(2);
  ImageClassifier clf(o);
  ClassifierTrainOptions t;
  t.steps = 60;
  t.batch_size = 32;
  REQUIRE(classifier_accuracy(clf, images, labels) < 0.8);  // untrained: about chance
  train_classifier(clf, images, labels, t);
  REQUIRE(classifier_accuracy(clf, images, labels) > 0.97);
  const auto out = classify(clf, images.slice(0, 0, 7), 3);
  REQUIRE(out.features.size() == 7);
  REQUIRE(out.features[0].size() == 16);
  for (const auto& p : out.probabilities) {
    REQUIRE(p.size() == 2);
    REQUIRE(p[0] + p[1] == Approx(1.0).margin(1e-9));
  }
}

namespace {

// A Fashion-MNIST-format folder of n images per split: class c is a bar at a
// height of its own, so that a tiny classifier and VQ-VAE learn something.
void write_idx_gz(const std::string& path, uint32_t magic, const std::vector<uint32_t>& dims,
                  const std::vector<uint8_t>& data) {
  std::string bytes;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<char>((v >> s) & 0xff));
  };
  be32(magic);
  for (uint32_t d : dims) be32(d);
  bytes.append(data.begin(), data.end());
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string synthetic_fashion_mnist(int n_train, int n_test) {
  char tmpl[] = "/tmp/dist2-imagegen-data-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::mt19937 rng(7);
  for (const auto& [stem, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    std::vector<uint8_t> pixels(static_cast<size_t>(n) * 784, 0), labels;
    for (int i = 0; i < n; ++i) {
      const int y = i % 10;
      labels.push_back(static_cast<uint8_t>(y));
      const int top = 1 + 2 * y + static_cast<int>(rng() % 2);
      for (int r = top; r < top + 5; ++r)
        for (int c = 4; c < 24; ++c) pixels[static_cast<size_t>(i * 784 + r * 28 + c)] = static_cast<uint8_t>(180 + rng() % 60);
    }
    write_idx_gz(dir + "/" + stem + "-images-idx3-ubyte.gz", 0x803, {static_cast<uint32_t>(n), 28, 28}, pixels);
    write_idx_gz(dir + "/" + stem + "-labels-idx1-ubyte.gz", 0x801, {static_cast<uint32_t>(n)}, labels);
  }
  return dir;
}

config::Config imagegen_config(const std::string& data_dir, const std::map<std::string, config::Value>& extra = {}) {
  config::Config cfg(experiment_schema("imagegen"));
  cfg.set("task.name", config::Value{std::string("imagegen")});
  cfg.set("task.data_dir", config::Value{data_dir});
  cfg.set("task.n_train", config::Value{int64_t{100}});
  cfg.set("task.vq_codes", config::Value{int64_t{16}});
  cfg.set("task.vq_dim", config::Value{int64_t{4}});
  cfg.set("task.vq_hidden", config::Value{int64_t{8}});
  cfg.set("task.vq_steps", config::Value{int64_t{30}});
  cfg.set("task.clf_steps", config::Value{int64_t{40}});
  cfg.set("task.clf_width", config::Value{int64_t{8}});
  cfg.set("task.per_class", config::Value{int64_t{3}});
  cfg.set("task.class_dropout", config::Value{0.5});
  cfg.set("loss.metric", config::Value{std::string("mse")});
  for (const auto& [k, v] : extra) cfg.set(k, v);
  return cfg;
}

// The FID reference Gaussian is cached beside the classifier: written with the
// assets (equal to a fresh fit), fitted and written when an older asset folder
// lacks it, and read back rather than refitted when present.
void check_cached_fid_reference(const config::Config& cfg, const std::string& data, const std::string& trained_dir) {
  namespace fs = std::filesystem;
  auto& a = imagegen::load_or_train_assets(cfg);
  const auto fresh = imagegen::fit_gaussian(classify(a.classifier, imagegen::load_split("test", data).images).features);
  const auto file = json::parse(read_file(trained_dir + "/test_features.json"));
  REQUIRE(file.at("mean").get<std::vector<double>>() == fresh.mean);
  REQUIRE(file.at("cov").get<std::vector<double>>() == fresh.cov.a);
  REQUIRE(a.test_features.mean == fresh.mean);
  const std::string id = fs::path(trained_dir).filename().string();
  const auto copy_assets = [&](bool with_reference) {
    char tmpl[] = "/tmp/dist2-imagegen-copy-XXXXXX";
    const std::string root = mkdtemp(tmpl);
    fs::create_directories(root + "/" + id);
    for (const char* f : {"vq.pt", "classifier.pt", "manifest.json"})
      fs::copy_file(trained_dir + "/" + f, root + "/" + id + "/" + f);
    if (with_reference) {  // a marked reference: one that can only come from the file
      auto marked = file;
      marked["mean"][0] = fresh.mean[0] + 1.0;
      write_file_atomic(root + "/" + id + "/test_features.json", json::dump(marked));
    }
    set_asset_dir(root);
    return root + "/" + id;
  };
  const std::string old_dir = copy_assets(false);
  REQUIRE(imagegen::load_or_train_assets(cfg).test_features.mean == fresh.mean);
  REQUIRE(json::parse(read_file(old_dir + "/test_features.json")).at("cov").get<std::vector<double>>() == fresh.cov.a);
  copy_assets(true);
  const auto& read_back = imagegen::load_or_train_assets(cfg).test_features;
  REQUIRE(read_back.mean[0] == fresh.mean[0] + 1.0);
  REQUIRE(read_back.cov.a == fresh.cov.a);
  set_asset_dir(fs::path(trained_dir).parent_path().string());
}

}  // namespace

TEST_CASE("imagegen task: code-grid data, metric over the codebook, cached assets, evaluation and references",
          "[imagegen]") {
  const std::string data = synthetic_fashion_mnist(300, 100);
  char tmpl[] = "/tmp/dist2-imagegen-assets-XXXXXX";
  const std::string assets = mkdtemp(tmpl);
  set_asset_dir(assets);
  const auto cfg = imagegen_config(data);
  auto task = make_task("imagegen");
  const Dataset d = task->generate(cfg);
  REQUIRE(d.train.size() == 100);
  REQUIRE(d.test.size() == 10);
  for (const auto& e : d.train) {
    const auto codes = imagegen::parse_codes(e.completion);
    REQUIRE(codes.size() == 49);
    for (int64_t c : codes) REQUIRE((c >= 0 && c < 16));
    REQUIRE(e.prompt == imagegen::class_token(static_cast<int64_t>(e.values.at(0))));
    REQUIRE(e.values.at(1) == 0.5);  // the class dropout, applied per training step
  }
  REQUIRE(task->generate(cfg).train[17].completion == d.train[17].completion);  // deterministic
  const auto& a = imagegen::load_or_train_assets(cfg);
  REQUIRE(file_exists(a.dir + "/manifest.json"));
  REQUIRE(a.classifier_accuracy > 0.3);  // ten bar heights, 40 steps: well above chance (0.1)
  check_cached_fid_reference(cfg, data, a.dir);

  const Tokenizer tok = tokenizer_for(cfg);
  const EncodedExample enc = task->encode(d.train[0], tok);
  REQUIRE(enc.ids.size() == 52);  // <bos> class 49 codes <eos>
  int64_t metric = 0, supervised = 0;
  for (size_t t = 0; t < enc.ids.size(); ++t) metric += enc.metric[t], supervised += enc.supervised[t];
  REQUIRE(metric == 49);
  REQUIRE(supervised == 50);
  REQUIRE(enc.metric[2] == 1);
  REQUIRE(enc.metric[51] == 0);

  // Class dropout: per draw (step and example), about half the time at 0.5, the same for the same draw, never in encode().
  const int64_t null_id = tok.added_token_id(imagegen::class_token(-1));
  int64_t nulls = 0;
  for (uint64_t draw = 0; draw < 1000; ++draw) {
    const auto drawn = task->encode_for_training(d.train[0], tok, mix_seed(draw, 77));
    REQUIRE(drawn.ids.size() == enc.ids.size());
    REQUIRE(std::equal(drawn.ids.begin() + 2, drawn.ids.end(), enc.ids.begin() + 2));  // only the class token may change
    nulls += drawn.ids[1] == null_id;
    REQUIRE(task->encode_for_training(d.train[0], tok, mix_seed(draw, 77)).ids[1] == drawn.ids[1]);
  }
  REQUIRE((nulls > 430 && nulls < 570));
  REQUIRE(enc.ids[1] != null_id);
  // Through make_batch: with per-example seeds (a training step) some rows read the null class, without none.
  std::vector<const Example*> rows;
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < 40; ++i) rows.push_back(&d.train[i]), seeds.push_back(mix_seed(5, i));
  std::mt19937_64 rng(1);
  const MetricSpace space = metric_space(cfg, tok);
  BatchOptions bo;
  bo.context = 64;
  const auto step_batch = make_batch(rows, tok, space, bo, rng, task.get(), seeds);
  const auto plain_batch = make_batch(rows, tok, space, bo, rng, task.get());
  const int64_t step_nulls = (step_batch.inputs.select(1, 1) == null_id).sum().item<int64_t>();
  REQUIRE((step_nulls > 5 && step_nulls < 35));
  REQUIRE((plain_batch.inputs.select(1, 1) == null_id).sum().item<int64_t>() == 0);

  const MetricTokens mt = task->metric_tokens(cfg, tok);
  REQUIRE(mt.token_ids.size() == 16);
  REQUIRE(mt.dim == 4);
  const auto book = a.vq->codebook().to(torch::kFloat64);
  REQUIRE(mt.embeddings[5 * 4 + 2] == Approx(book[5][2].item<double>()));
  REQUIRE(tok.token_text(mt.token_ids[5]) == "<c5>");

  // Evaluation of an untrained generator: every metric there, finite, the samples kept.
  GptOptions o;
  o.vocab_size = tok.vocab_size();
  o.context = 64;
  o.d_model = 16;
  GptPredictor model(Gpt(o), tok, 50);
  std::vector<ExampleScore> scores;
  const auto m = task->evaluate_examples(cfg, d, model, scores);
  for (const char* k : {"fid", "is", "class_match", "fid.draw1", "fid.draw2", "is.draw1", "is.draw2"}) {
    INFO(k);
    REQUIRE(m.count(k) == 1);
    REQUIRE(std::isfinite(m.at(k)));
  }
  REQUIRE(m.at("fid") == Approx((m.at("fid.draw1") + m.at("fid.draw2")) / 2));
  REQUIRE(m.at("fid.draw1") != m.at("fid.draw2"));  // two draws, two sets of samples
  REQUIRE(scores.size() == 30);
  REQUIRE(imagegen::parse_codes(scores[4].prediction).size() == 49);

  const auto ref = task->reference_metrics(cfg, d);
  for (const char* k : {"ref.recon.fid", "ref.train.fid", "ref.unigram.fid", "ref.unigram.class_match",
                        "ref.vq.codebook_usage", "fig4.near.class_kept", "fig4.far.feature_distance"}) {
    INFO(k);
    REQUIRE(ref.count(k) == 1);
    REQUIRE(std::isfinite(ref.at(k)));
  }
  REQUIRE(ref.at("ref.recon.fid") >= 0);
  REQUIRE(ref.at("fig4.random.class_kept") <= 1.0);
  std::filesystem::remove_all(data);
  std::filesystem::remove_all(assets);
}

TEST_CASE("imagegen codes: parse and refuse", "[imagegen]") {
  REQUIRE(imagegen::parse_codes("<c1><c17><c0>") == std::vector<int64_t>{1, 17, 0});
  REQUIRE(imagegen::parse_codes("").empty());
  REQUIRE_THROWS_AS(imagegen::parse_codes("<c1>x"), Error);
  REQUIRE_THROWS_AS(imagegen::parse_codes("<c>"), Error);
  REQUIRE_THROWS_AS(imagegen::parse_codes("<c1a>"), Error);
}

TEST_CASE("imagegen smoke sweep of Table 4 through the executable, its tables and Figure 4's numbers",
          "[imagegen][pipeline]") {
  char tmpl[] = "/tmp/dist2-imagegen-XXXXXX";
  const std::string store = mkdtemp(tmpl);
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table4_imagegen.yaml";
  auto sweep = dist2::test::run_dist2("--threads 1 sweep " + exp + " --profile smoke --store " + store + " -j 2");
  INFO(sweep.out);
  REQUIRE(sweep.status == 0);
  REQUIRE(sweep.out.find("4 trials: 0 finished before, 4 ran (4 finished") != std::string::npos);
  // The shared tokenizer and classifier are trained by the sweep itself, with
  // the workers' cores, before any worker starts: no worker's log trains them.
  REQUIRE(sweep.out.find(": trained, in " + store + "/assets/imagegen-") != std::string::npos);
  REQUIRE(sweep.out.find("VQ test reconstruction MSE") != std::string::npos);
  int worker_logs = 0;
  for (const auto& f : std::filesystem::directory_iterator(store + "/logs")) {
    INFO(f.path().string());
    REQUIRE(read_file(f.path().string()).find("VQ test reconstruction MSE") == std::string::npos);
    ++worker_logs;
  }
  REQUIRE(worker_logs >= 4);
  for (const std::string size : {"small", "large"}) {
    auto t4 = dist2::test::run_dist2("report table4_" + size + " --profile smoke --store " + store);
    INFO(t4.out);
    REQUIRE(t4.status == 0);
    REQUIRE(t4.out.find("| dist |") != std::string::npos);
    REQUIRE(t4.out.find("reference: VQ reconstructions of test images") != std::string::npos);
    REQUIRE(t4.out.find("LlamaGen-dist, 343M") != std::string::npos);
  }
  auto f4 = dist2::test::run_dist2("report figure4 --profile smoke --store " + store);
  INFO(f4.out);
  REQUIRE(f4.status == 0);
  REQUIRE(f4.out.find("one of the 10 farthest: class kept (%)") != std::string::npos);

  const std::string out = store + "/pictures";
  auto pics = dist2::test::run_dist2("report imagegen-samples --profile smoke --store " + store + " --out " + out);
  INFO(pics.out);
  REQUIRE(pics.status == 0);
  REQUIRE(std::filesystem::exists(out + "/imagegen-samples-sft.png"));
  REQUIRE(std::filesystem::exists(out + "/imagegen-samples-dist.png"));
  auto fig = dist2::test::run_dist2("report figure4-samples --profile smoke --store " + store + " --out " + out);
  INFO(fig.out);
  REQUIRE(fig.status == 0);
  REQUIRE(std::filesystem::exists(out + "/figure4-samples.png"));
  // One page of this experiment's reports (--experiment narrows `all`), with
  // every picture the samples' Markdown shows inline: sft, dist and Figure 4.
  auto page = dist2::test::run_dist2("report all --format html --experiment table4_imagegen --profile smoke --store " +
                                     store + " --out " + store + "/page");
  INFO(page.out);
  REQUIRE(page.status == 0);
  const std::string html = read_file(store + "/page/index.html");
  int pictures = 0;
  for (size_t p = html.find("<img src=\"data:image/png;base64,"); p != std::string::npos; p = html.find("<img ", p + 1))
    ++pictures;
  CHECK(pictures == 3);
  for (const std::string name : {"imagegen-samples-sft.png", "imagegen-samples-dist.png", "figure4-samples.png"})
    CHECK(html.find("alt=\"" + name + "\"") != std::string::npos);
  CHECK(html.find("<section id=\"table4_small\"") != std::string::npos);
  CHECK(html.find("<title>dist2: the tables and figures of table4_imagegen</title>") != std::string::npos);
  CHECK(html.find("command: dist2 report all --experiment table4_imagegen --profile smoke") != std::string::npos);

  // A run's samples exported for other FID tools: 20 PNGs and an IDX pair that the reader reads back.
  auto runs = dist2::test::run_dist2("runs --store " + store + " --format json");
  REQUIRE(runs.status == 0);
  const auto listed = dist2::test::parse_json_output(runs.out);
  const std::string run_id = listed.at(0).at("id").get<std::string>();
  // The run says which malloc and BLAS kernels its speed came from (util/allocator.h, util/blas_kernels.h).
  auto shown = dist2::test::run_dist2("runs show " + run_id + " --store " + store);
  INFO(shown.out);
  REQUIRE(shown.status == 0);
  CHECK(shown.out.find("allocator") != std::string::npos);
  CHECK((shown.out.find("blas_core ") != std::string::npos) == !dist2::blas_core().empty());
  CHECK((shown.out.find("blas_core_openblas") != std::string::npos) == !dist2::blas_core_raised_from().empty());
  const std::string exported = store + "/exported";
  auto ev = dist2::test::run_dist2("eval " + run_id + " --store " + store + " --export-samples " + exported);
  INFO(ev.out);
  REQUIRE(ev.status == 0);
  REQUIRE(ev.out.find("exported 20 samples") != std::string::npos);
  const FashionMnist back = fashion_mnist_from_bytes(read_file(exported + "/samples-images-idx3-ubyte"),
                                                     read_file(exported + "/samples-labels-idx1-ubyte"), "samples");
  REQUIRE(back.count == 20);
  REQUIRE(back.labels[0] == 0);
  REQUIRE(back.labels[19] == 9);
  REQUIRE(std::filesystem::exists(exported + "/sample-19-class9.png"));
  std::filesystem::remove_all(store);
}

TEST_CASE("Figure 4 substitutions: only the central 2x2 codes change, to near, other or far codes", "[imagegen]") {
  // A 1-D codebook 0, 1, ..., 29: code k's distance to j is (k - j)^2, so ranks are known.
  const int64_t K = 30;
  const auto book = torch::arange(K, torch::kFloat32).unsqueeze(1);
  const auto order = imagegen::codes_by_distance(book);
  REQUIRE(order[7][0].item<int64_t>() == 7);
  REQUIRE(order[0][K - 1].item<int64_t>() == K - 1);
  auto codes = torch::full({50, 7, 7}, 15, torch::kInt64);
  codes.slice(0, 25, 50).fill_(2);
  std::mt19937_64 rng(3);
  for (const auto& [mode, name] : imagegen::substitutions()) {
    INFO(name);
    const auto out = imagegen::substitute_central_codes(codes, order, mode, rng);
    const auto changed = out != codes;
    REQUIRE(changed.slice(1, 2, 4).slice(2, 2, 4).all().item<bool>());  // a substitute is never the code itself
    REQUIRE(changed.sum().item<int64_t>() == 50 * 4);                     // and nothing else moved
    for (int64_t i : {0, 30})
      for (int64_t r = 2; r < 4; ++r)
        for (int64_t c = 2; c < 4; ++c) {
          const int64_t x = codes[i][r][c].item<int64_t>(), y = out[i][r][c].item<int64_t>();
          // Rank of y among the codes by distance from x (ties broken by argsort): near within the 10 nearest.
          int64_t rank = 0;
          for (int64_t k = 0; k < K; ++k) rank += order[x][k].item<int64_t>() == y ? k : 0;
          if (mode == imagegen::Substitution::near) REQUIRE((rank >= 1 && rank <= 10));
          if (mode == imagegen::Substitution::far) REQUIRE(rank >= K - 10);
          // In values: the 10 nearest of 15 lie within +-5, of 2 within 0..10; the 10 farthest of 15 at least 10 away.
          if (mode == imagegen::Substitution::near) REQUIRE(std::abs(x - y) <= (x == 15 ? 5 : 8));
          if (mode == imagegen::Substitution::far && x == 15) REQUIRE(std::abs(x - y) >= 10);
        }
  }
}
