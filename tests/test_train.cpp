// The trainer: bit-for-bit determinism, resume equality, batches and contrastive targets.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "dist2/tasks/regression/task.h"
#include "dist2/train/batch.h"
#include "dist2/train/device.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"

using namespace dist2;

namespace {
config::Config small_config(const std::string& kind) {
  config::Config cfg(experiment_schema("regression"));
  cfg.set("seed", config::Value(int64_t{4}));
  cfg.set("task.n_train", config::Value(int64_t{40}));
  cfg.set("task.n_test", config::Value(int64_t{10}));
  cfg.set("model.d_model", config::Value(int64_t{16}));
  cfg.set("model.n_head", config::Value(int64_t{2}));
  cfg.set("model.n_layer", config::Value(int64_t{1}));
  cfg.set("train.steps", config::Value(int64_t{6}));
  cfg.set("train.batch_size", config::Value(int64_t{8}));
  cfg.set("train.log_every", config::Value(int64_t{1}));
  cfg.set("loss.kind", config::Value(kind));
  cfg.set("loss.place_weighting", config::Value(true));
  cfg.set("loss.contrastive", config::Value(true));
  return cfg;
}

std::vector<double> run_losses(const config::Config& cfg, const std::string& save_at3 = "",
                               const std::string& load = "") {
  RegressionTask task;
  const auto data = task.generate(cfg);
  Tokenizer tok = tokenizer_for(cfg);
  MetricSpace metric = metric_space(cfg, tok);
  Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
  if (!load.empty()) trainer.load_checkpoint(load);
  std::vector<double> losses;
  TrainHooks hooks;
  hooks.show_progress = false;
  hooks.on_log = [&](int64_t step, const std::map<std::string, double>& v) {
    losses.push_back(v.at("loss"));
    if (step == 3 && !save_at3.empty()) trainer.save_checkpoint(save_at3);
  };
  trainer.train(data.train, hooks);
  return losses;
}
}  // namespace

TEST_CASE("same config, seed and threads give the same losses bit for bit", "[train]") {
  for (const std::string kind : {"sft", "dist"}) {
    const auto a = run_losses(small_config(kind)), b = run_losses(small_config(kind));
    REQUIRE(a.size() == 6);
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == b[i]);
  }
  // ... and another seed gives other losses
  auto other = small_config("dist");
  other.set("seed", config::Value(int64_t{5}));
  REQUIRE(run_losses(other)[0] != run_losses(small_config("dist"))[0]);
}

TEST_CASE("loss.impl=fused_linear trains the GPT as the fused loss does", "[train][fused_linear]") {
  for (const std::string kind : {"sft", "dist"}) {
    INFO(kind);
    auto linear = small_config(kind);
    linear.set("loss.impl", config::Value(std::string("fused_linear")));
    const auto a = run_losses(small_config(kind)), b = run_losses(linear);
    REQUIRE(a.size() == b.size());
    // The same math in another order of float operations: equal to rounding, step after step.
    for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-4));
  }
}

TEST_CASE("a run resumed from a checkpoint continues with identical losses", "[train]") {
  const std::string ckpt = "/tmp/dist2-test-ckpt-" + std::to_string(getpid()) + ".pt";
  const auto full = run_losses(small_config("dist"), ckpt);
  const auto resumed = run_losses(small_config("dist"), "", ckpt);
  REQUIRE(resumed.size() == 3);
  for (size_t i = 0; i < 3; ++i) REQUIRE(resumed[i] == full[3 + i]);
  std::filesystem::remove(ckpt);
}

TEST_CASE("batches supervise the completion and mark its number tokens", "[train]") {
  Tokenizer tok(NumberSplit::digits);
  auto metric = MetricSpace::scalar(tok.number_token_ids(), tok.number_token_values());
  Example ex{"ab,", "0.25", {}, "", {}};
  BatchOptions opt;
  opt.place_weighting = true;
  std::mt19937_64 rng(1);
  const auto b = make_batch({&ex}, tok, metric, opt, rng);
  // <bos> a b , 0 . 2 5 <eos> -> inputs are the first 8 tokens, targets shifted by one.
  REQUIRE(b.inputs.size(1) == 8);
  const auto targets = b.loss.targets;
  REQUIRE(targets[0].item<int64_t>() == -100);  // predicting 'b' inside the prompt
  REQUIRE(targets[2].item<int64_t>() == -100);
  REQUIRE(targets[3].item<int64_t>() == tok.number_token(0));
  REQUIRE(targets[7].item<int64_t>() == Tokenizer::kEos);
  const std::vector<bool> mask{false, false, false, true, false, true, true, false};
  const std::vector<float> weights{0, 0, 0, 3, 0, 2, 1, 0};
  for (int t = 0; t < 8; ++t) {
    REQUIRE(b.loss.metric_mask[t].item<bool>() == mask[static_cast<size_t>(t)]);
    REQUIRE(b.loss.weights[t].item<float>() == weights[static_cast<size_t>(t)]);
  }
}

TEST_CASE("contrastive candidates: a neighbour one unit away in the last place", "[train]") {
  Tokenizer tok(NumberSplit::digits);
  std::mt19937_64 rng(3);
  // 40 -> 39 or 41: the paper's example gives the units token distance 1 and the tens ~0.
  for (int trial = 0; trial < 10; ++trial) {
    const auto e = tok.encode("40");
    const auto c = contrastive_candidates(e, tok, true, rng);
    const int64_t tens = static_cast<int64_t>(tok.number_value(c[0].first));
    const int64_t units = static_cast<int64_t>(tok.number_value(c[1].first));
    REQUIRE(((tens == 3 && units == 9) || (tens == 4 && units == 1)));
    REQUIRE(c[1].second == Approx(1.0));
    REQUIRE(c[0].second == Approx(0.01));
  }
  // 0.999 + 0.001 would need another token: then only the -1 neighbour, or none.
  const auto e = tok.encode("9.99");
  for (int trial = 0; trial < 10; ++trial) {
    const auto c = contrastive_candidates(e, tok, true, rng);
    if (c[0].first >= 0) REQUIRE(tok.number_value(c[3].first) == 8.0);
  }
}

TEST_CASE("train.device: auto is the CPU without a GPU, cuda a one-line error, and neither enters the hash", "[train]") {
  const bool gpu = torch::cuda::is_available();
  CHECK(resolve_device("cpu") == torch::Device(torch::kCPU));
  CHECK(resolve_device("auto").is_cuda() == gpu);
  if (!gpu) CHECK_THROWS_WITH(resolve_device("cuda"), Catch::StartsWith("train.device=cuda, but LibTorch sees no CUDA device"));
  CHECK_THROWS_WITH(resolve_device("tpu"), Catch::Contains("valid: cpu, cuda, auto"));

  auto cpu = small_config("dist"), autod = small_config("dist");
  autod.set("train.device", config::Value(std::string("auto")));
  CHECK(cpu.hash() == autod.hash());
  CHECK(cpu.canonical_text().find("train.device") == std::string::npos);
  auto other = small_config("dist");
  other.set("train.steps", config::Value(int64_t{7}));
  CHECK(other.hash() != cpu.hash());  // the hash still sees every other key
  if (!gpu) CHECK(run_losses(autod) == run_losses(cpu));
}

TEST_CASE("a trainer says which loss implementation its steps ran, and why not fused", "[train]") {
  auto ran = [](config::Config cfg) {
    RegressionTask task;
    const auto data = task.generate(cfg);
    Tokenizer tok = tokenizer_for(cfg);
    MetricSpace metric = metric_space(cfg, tok);
    Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
    TrainHooks hooks;
    hooks.show_progress = false;
    CHECK(trainer.loss_impl_used().empty());
    trainer.train(data.train, hooks);
    return std::pair{trainer.loss_impl_used(), trainer.loss_fallback_reason()};
  };
  // dist with place weights and contrastive targets: the fused kernels cover it.
  CHECK(ran(small_config("dist")) == std::pair<std::string, std::string>{"fused", ""});
  auto reference = small_config("dist");
  reference.set("loss.impl", config::Value(std::string("reference")));
  CHECK(ran(reference) == std::pair<std::string, std::string>{"reference", ""});
  const auto [impl, why] = ran(small_config("ntl_was"));
  CHECK(impl == "reference");
  CHECK(why == "loss kind ntl_was has no fused kernel");
  auto linear = small_config("dist");
  linear.set("loss.impl", config::Value(std::string("fused_linear")));
  CHECK(ran(linear) == std::pair<std::string, std::string>{"fused_linear", ""});
}

TEST_CASE("contrastive training on the fused kernels follows the reference step for step", "[train]") {
  auto fused = small_config("dist"), reference = small_config("dist");
  reference.set("loss.impl", config::Value(std::string("reference")));
  const auto a = run_losses(fused), b = run_losses(reference);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i] - b[i]) <= 1e-5 * std::max(1.0, std::fabs(b[i])));
}
