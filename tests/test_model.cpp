// The model's image front end, the KV cache, likelihood scoring, and the task
// interface's vocabulary and metric hooks.
#include <catch2/catch.hpp>

#include <cmath>

#include "dist2/model/gpt.h"
#include "dist2/tasks/task.h"
#include "dist2/train/batch.h"
#include "dist2/train/predictor.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"

using namespace dist2;

namespace {

GptOptions image_model_options() {
  GptOptions o;
  o.vocab_size = 120;
  o.context = 24;
  o.n_layer = 2;
  o.d_model = 32;
  o.n_head = 4;
  o.image_size = 16;
  o.image_channels = 2;
  o.max_images = 2;
  o.patch_size = 4;
  o.patch_hidden = 24;
  return o;
}

Image random_image(int64_t c, int64_t side, uint64_t seed) {
  Image img(c, side, side);
  uint64_t x = seed * 2654435761u + 1;
  for (auto& p : img.pixels) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    p = static_cast<float>((x >> 40) % 1000) / 1000.f;
  }
  return img;
}

}  // namespace

TEST_CASE("tokenizer: added tokens follow the built-in ones and match longest first", "[model]") {
  const Tokenizer plain(NumberSplit::digits);
  const Tokenizer tok(NumberSplit::digits, {"<c1>", "<c12>", "<img>"});
  REQUIRE(tok.vocab_size() == plain.vocab_size() + 3);
  for (int64_t id = 0; id < plain.vocab_size(); ++id) REQUIRE(tok.token_text(id) == plain.token_text(id));
  const auto e = tok.encode("a<c12><c1>7");
  REQUIRE(e.ids == std::vector<int64_t>{plain.encode_ids("a")[0], tok.added_token_id("<c12>"),
                                        tok.added_token_id("<c1>"), tok.number_token(7)});
  REQUIRE(e.is_number == std::vector<uint8_t>{0, 0, 0, 1});
  REQUIRE(tok.decode(e.ids) == "a<c12><c1>7");
  REQUIRE(tok.encode("<c").ids.size() == 2);  // no partial match
  REQUIRE_THROWS_AS(Tokenizer(NumberSplit::digits, {"<x>", "<x>"}), Error);
  REQUIRE_THROWS_AS(tok.added_token_id("<c3>"), Error);
}

TEST_CASE("image front end: patch tokens equal a patch-by-patch computation", "[model]") {
  // context 0: plain 4x4 patches; context 1: 6x6 windows around them, zero beyond the border.
  const int64_t context = GENERATE(0, 1);
  INFO("patch_context " << context);
  torch::manual_seed(3);
  GptOptions opt = image_model_options();
  opt.patch_context = context;
  Gpt model(opt);
  model->eval();
  torch::NoGradGuard no_grad;
  const Image a = random_image(2, 16, 1), b = random_image(2, 16, 2);
  const auto images = image_batch({{&a, &b}});  // (1, 2, 2, 16, 16)
  REQUIRE(images.sizes() == torch::IntArrayRef({1, 2, 2, 16, 16}));
  const auto tokens = model->image_tokens(images).to(torch::kFloat64);
  REQUIRE(tokens.sizes() == torch::IntArrayRef({1, 2 * 16, 32}));
  auto params = model->named_parameters();
  auto P = [&](const std::string& n) { return params[n].to(torch::kFloat64); };
  // Patch (r, c) of image n: its window's pixels in (channel, y, x) order through the
  // MLP, plus the row, column and image-slot embeddings, in float64 from the parameters.
  for (int64_t n = 0; n < 2; ++n) {
    const Image& img = n == 0 ? a : b;
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 4; ++c) {
        std::vector<double> flat;
        for (int64_t ch = 0; ch < 2; ++ch)
          for (int64_t y = 4 * r - context; y < 4 * r + 4 + context; ++y)
            for (int64_t x = 4 * c - context; x < 4 * c + 4 + context; ++x)
              flat.push_back(y < 0 || x < 0 || y >= 16 || x >= 16 ? 0.0 : img.at(ch, y, x));
        auto v = torch::tensor(flat, torch::kFloat64);
        auto h = torch::matmul(P("patch_fc1.weight"), v) + P("patch_fc1.bias");
        h = 0.5 * h * (1 + torch::erf(h / std::sqrt(2.0)));  // exact GELU
        auto out = torch::matmul(P("patch_fc2.weight"), h) + P("patch_fc2.bias") + P("patch_row.weight")[r] +
                   P("patch_col.weight")[c] + P("image_slot.weight")[n];
        REQUIRE(torch::allclose(tokens[0][n * 16 + r * 4 + c], out, 1e-5, 1e-5));
      }
  }
  // The text logits read the images: other images, other logits.
  const auto ids = torch::tensor(std::vector<int64_t>{1, 40, 41, 42}).view({1, 4});
  const auto with_ab = model->forward(ids, images), with_ba = model->forward(ids, image_batch({{&b, &a}}));
  REQUIRE(with_ab.sizes() == torch::IntArrayRef({1, 4, 120}));
  REQUIRE_FALSE(torch::allclose(with_ab, with_ba));
  // Shapes the model cannot read are refused with a message.
  const Image wrong = random_image(1, 16, 3);
  REQUIRE_THROWS_WITH(model->forward(ids, image_batch({{&wrong}})), Catch::Contains("images must be"));
  GptOptions text_only = image_model_options();
  text_only.image_size = 0;
  REQUIRE_THROWS_WITH(Gpt(text_only)->forward(ids, images), Catch::Contains("no image input"));
}

TEST_CASE("KV cache: incremental logits and greedy decoding equal the full recomputation", "[model]") {
  torch::manual_seed(5);
  Gpt model(image_model_options());
  model->eval();
  torch::NoGradGuard no_grad;
  const Image a = random_image(2, 16, 4), b = random_image(2, 16, 5);
  const auto images = image_batch({{&a, &b}, {&b, &a}});
  auto ids = torch::randint(5, 120, {2, 9}, torch::kInt64);
  const auto full = model->forward(ids, images);
  KvCache cache;
  auto first = model->forward(ids.slice(1, 0, 5), images, &cache);
  REQUIRE(cache.text_length == 5);
  REQUIRE(cache.length() == 5 + 32);  // text and image prefix
  REQUIRE(torch::allclose(first, full.slice(1, 0, 5), 1e-5, 1e-5));
  for (int64_t t = 5; t < 9; ++t) {
    auto step = model->forward(ids.slice(1, t, t + 1), {}, &cache);
    REQUIRE(torch::allclose(step.select(1, 0), full.select(1, t), 1e-5, 1e-5));
  }

  // Greedy decoding through GptPredictor, cached and not, on prompts of several lengths.
  const Tokenizer tok(NumberSplit::digits);
  GptOptions o = image_model_options();
  o.vocab_size = tok.vocab_size();
  torch::manual_seed(6);
  Gpt lm(o);
  GptPredictor predictor(lm, tok, 3);
  std::vector<Prompt> prompts;
  for (int i = 0; i < 7; ++i)
    prompts.push_back(Prompt(std::string(static_cast<size_t>(1 + i % 3), 'a' + static_cast<char>(i)) + "=",
                             {i % 2 ? &a : &b}));
  const auto cached = predictor.generate(prompts, 12), uncached = predictor.generate_uncached(prompts, 12);
  int64_t tokens = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    REQUIRE(cached[i].ids == uncached[i].ids);
    REQUIRE(cached[i].expected.size() == uncached[i].expected.size());
    for (size_t k = 0; k < cached[i].expected.size(); ++k)
      if (!std::isnan(cached[i].expected[k])) REQUIRE(cached[i].expected[k] == Approx(uncached[i].expected[k]).margin(1e-4));
    tokens += static_cast<int64_t>(cached[i].ids.size());
  }
  REQUIRE(tokens > 20);  // an untrained model rarely stops: the comparison covered many steps
}

TEST_CASE("log-likelihoods: teacher-forced sums match a float64 computation; ranking picks the most likely", "[model]") {
  const Tokenizer tok(NumberSplit::digits);
  GptOptions o = image_model_options();
  o.vocab_size = tok.vocab_size();
  torch::manual_seed(8);
  Gpt model(o);
  GptPredictor predictor(model, tok, 4);
  const Image a = random_image(2, 16, 9);
  const std::vector<Prompt> prompts{Prompt("q:", {&a}), Prompt("q:", {&a}), Prompt("qq:", {&a})};
  const std::vector<std::string> conts{"7", "yes", "no"};
  const auto ll = predictor.log_likelihoods(prompts, conts);
  torch::NoGradGuard no_grad;
  model->eval();
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int64_t> ids{Tokenizer::kBos};
    for (auto id : tok.encode_ids(prompts[i].text)) ids.push_back(id);
    const size_t P = ids.size();
    for (auto id : tok.encode_ids(conts[i])) ids.push_back(id);
    const auto logits = model->forward(torch::tensor(ids).view({1, -1}), image_batch({{&a}})).to(torch::kFloat64)[0];
    double want = 0;
    for (size_t t = P; t < ids.size(); ++t) {
      const auto row = logits[static_cast<int64_t>(t - 1)];
      want += row[ids[t]].item<double>() - torch::logsumexp(row, 0).item<double>();
    }
    REQUIRE(ll[i] == Approx(want).epsilon(1e-6));  // float32 logits, read at another sequence length
  }
}

namespace {
// A predictor whose continuation log-likelihoods are given by the continuation's text.
class ScoredPredictor : public Predictor {
 public:
  explicit ScoredPredictor(std::map<std::string, double> ll) : ll_(std::move(ll)) {}
  using Predictor::generate;
  std::vector<Generation> generate(const std::vector<Prompt>& p, int64_t) override { return std::vector<Generation>(p.size()); }
  std::vector<std::vector<double>> next_number_probs(const std::vector<Prompt>&) override { return {}; }
  const Tokenizer& tokenizer() const override { return tok_; }
  std::vector<double> log_likelihoods(const std::vector<Prompt>& prompts, const std::vector<std::string>& c) override {
    std::vector<double> out;
    for (size_t i = 0; i < c.size(); ++i) out.push_back(ll_.at(prompts[i].text + "|" + c[i]));
    return out;
  }

 private:
  std::map<std::string, double> ll_;
  Tokenizer tok_;
};
}  // namespace

TEST_CASE("knowledge accuracy by likelihood ranking: the answer must beat every other candidate", "[model]") {
  ScoredPredictor model({{"q1|red", -1.0}, {"q1|blue", -2.0}, {"q2|3", -4.0}, {"q2|4", -0.5}, {"q2|5", -9.0},
                         {"q3|yes", -1.0}, {"q3|no", -1.0}});
  const std::vector<KnowledgeItem> items{{"q1", "red", {"red", "blue"}, {}},    // right
                                         {"q2", "3", {"3", "4", "5"}, {}},      // wrong: 4 is likelier
                                         {"q3", "yes", {"yes", "no"}, {}}};     // a tie counts as wrong
  REQUIRE(knowledge_accuracy(items, model) == Approx(1.0 / 3.0));
  // The answer's log-loss among its candidates, by hand in float64.
  const double want = (-std::log(std::exp(-1.0) / (std::exp(-1.0) + std::exp(-2.0))) -
                       std::log(std::exp(-4.0) / (std::exp(-4.0) + std::exp(-0.5) + std::exp(-9.0))) + std::log(2.0)) /
                      3.0;
  REQUIRE(knowledge_scores(items, model).log_loss == Approx(want).epsilon(1e-12));
  // Large log-likelihoods do not overflow the normaliser.
  ScoredPredictor far({{"q|a", -2000.0}, {"q|b", -2001.0}});
  REQUIRE(knowledge_scores({{"q", "b", {"a", "b"}, {}}}, far).log_loss == Approx(1.0 + std::log1p(std::exp(-1.0))));
  const std::vector<KnowledgeItem> bad{{"q1", "green", {"red", "blue"}, {}}};
  REQUIRE_THROWS_WITH(knowledge_accuracy(bad, model), Catch::Contains("must be among its candidates"));
}

TEST_CASE("metric from the task: values give sq/abs/random, embeddings give mse/cosine, a mismatch one line", "[model]") {
  auto cfg = config::Config(experiment_schema("regression"));
  const Tokenizer tok = tokenizer_for(cfg);
  REQUIRE(metric_space(cfg, tok).kind() == MetricKind::squared);
  REQUIRE(metric_space(cfg, tok).size() == 10);
  cfg.set("loss.metric", config::Value{std::string("mse")});
  REQUIRE_THROWS_WITH(metric_space(cfg, tok), Catch::Contains("needs token embeddings"));
  MetricTokens codes;
  codes.token_ids = {200, 201, 202};
  codes.dim = 2;
  codes.embeddings = {0, 0, 1, 0, 0, 3};
  const MetricSpace m = metric_space(cfg, codes);
  REQUIRE(m.kind() == MetricKind::embedding_mse);
  // d(v, x = code 2) for v = codes 0, 1, 2: mean squared difference over the dimensions.
  const auto d = m.distances_from(torch::tensor(std::vector<int64_t>{2}));
  REQUIRE(d[0][0].item<double>() == Approx(4.5));
  REQUIRE(d[0][1].item<double>() == Approx(5.0));
  REQUIRE(d[0][2].item<double>() == Approx(0.0));
  cfg.set("loss.metric", config::Value{std::string("sq")});
  REQUIRE_THROWS_WITH(metric_space(cfg, codes), Catch::Contains("needs token values"));
}

TEST_CASE("batches carry the examples' images; mixed image counts are refused", "[model]") {
  const Tokenizer tok(NumberSplit::digits);
  const auto metric = MetricSpace::scalar(tok.number_token_ids(), tok.number_token_values());
  Example a{"x", "12", {}, "", {random_image(1, 8, 1)}}, b{"yy", "3", {}, "", {random_image(1, 8, 2)}};
  BatchOptions opt;
  std::mt19937_64 rng(1);
  const auto batch = make_batch({&a, &b}, tok, metric, opt, rng);
  REQUIRE(batch.images.sizes() == torch::IntArrayRef({2, 1, 1, 8, 8}));
  REQUIRE(batch.images[1][0][0][3][5].item<float>() == b.images[0].at(0, 3, 5));
  Example none{"z", "4", {}, "", {}};
  REQUIRE_THROWS_WITH(make_batch({&a, &none}, tok, metric, opt, rng), Catch::Contains("examples of a batch have 1 and 0 images"));
}
