#include "dist2/imagegen/task.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "dist2/imagegen/assets.h"
#include "dist2/imagegen/substitution.h"
#include "dist2/tasks/grounding/scene.h"
#include "dist2/util/error.h"
#include "dist2/util/splitmix.h"

namespace dist2 {

namespace imagegen {

std::string code_token(int64_t code) { return fmt::format("<c{}>", code); }

std::string class_token(int64_t label) { return label < 0 ? std::string("<y->") : fmt::format("<y{}>", label); }

std::vector<int64_t> parse_codes(const std::string& completion) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < completion.size();) {
    const size_t end = completion.find('>', i);
    DIST2_CHECK(completion.compare(i, 2, "<c") == 0 && end != std::string::npos && end > i + 2,
                "not a code token at offset {} of '{}'", i, completion.substr(i, 12));
    int64_t code = 0;
    for (size_t k = i + 2; k < end; ++k) {
      DIST2_CHECK(completion[k] >= '0' && completion[k] <= '9', "not a code token: '{}'", completion.substr(i, end + 1 - i));
      code = code * 10 + (completion[k] - '0');
    }
    out.push_back(code);
    i = end + 1;
  }
  return out;
}

int64_t class_of_prompt(const std::string& prompt) {
  const std::string digits = prompt.size() > 3 ? prompt.substr(2, prompt.size() - 3) : "";
  DIST2_CHECK(prompt.rfind("<y", 0) == 0 && prompt.back() == '>' && !digits.empty() && digits.size() < 4 &&
                  digits.find_first_not_of("0123456789") == std::string::npos,
              "not a class prompt: '{}'", prompt.substr(0, 12));
  return std::stoll(digits);
}

}  // namespace imagegen

namespace {

using imagegen::Assets;

constexpr int64_t kClasses = 10;
const int64_t kGrid = VqVaeOptions{}.grid();  // 28 -> 7

uint64_t stream_seed(const config::Config& cfg, uint64_t stream) {
  return splitmix64(splitmix64(static_cast<uint64_t>(cfg.get_int("seed"))) ^ stream);
}

torch::Tensor grids_of(const std::vector<std::vector<int64_t>>& codes) {
  auto t = torch::empty({static_cast<int64_t>(codes.size()), kGrid, kGrid}, torch::kInt64);
  for (size_t i = 0; i < codes.size(); ++i) {
    DIST2_CHECK(static_cast<int64_t>(codes[i].size()) == kGrid * kGrid, "an image needs {} codes, got {}",
                kGrid * kGrid, codes[i].size());
    std::copy(codes[i].begin(), codes[i].end(), t[static_cast<int64_t>(i)].data_ptr<int64_t>());
  }
  return t;
}

struct Scored {
  double fid = 0, is = 0, class_match = NAN;
  std::vector<int64_t> predicted;
  std::vector<std::vector<double>> features;
};

// FID against the test images' features, IS, and the share classified as `labels` (when given).
Scored score_images(Assets& a, const torch::Tensor& images, const std::vector<int64_t>& labels = {}) {
  auto out = classify(a.classifier, images);
  Scored s;
  s.fid = imagegen::frechet_distance(imagegen::fit_gaussian(out.features), a.test_features);
  s.is = imagegen::inception_score(out.probabilities).mean;
  if (!labels.empty()) {
    int64_t right = 0;
    for (size_t i = 0; i < labels.size(); ++i) right += out.predicted[i] == labels[i];
    s.class_match = static_cast<double>(right) / static_cast<double>(labels.size());
  }
  s.predicted = std::move(out.predicted);
  s.features = std::move(out.features);
  return s;
}

void put_scores(std::map<std::string, double>& m, const std::string& prefix, const Scored& s) {
  m[prefix + "fid"] = s.fid;
  m[prefix + "is"] = s.is;
  if (!std::isnan(s.class_match)) m[prefix + "class_match"] = s.class_match;
}

std::string completion_of(const torch::Tensor& grid) {
  std::string out;
  const auto flat = grid.reshape({-1}).contiguous();
  for (int64_t k = 0; k < flat.size(0); ++k) out += imagegen::code_token(flat.data_ptr<int64_t>()[k]);
  return out;
}

// The labels of a draw: per_class prompts for each class in turn.
std::vector<int64_t> draw_labels(int64_t per_class) {
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < kClasses; ++c) labels.insert(labels.end(), static_cast<size_t>(per_class), c);
  return labels;
}

// Figure 4 (substitution.h) as numbers over task.per_class x 10 test images: the
// classifier's class kept against the unmodified reconstruction, and the mean
// feature distance to it.
void code_substitution_metrics(const config::Config& cfg, Assets& a, std::map<std::string, double>& m) {
  VqVae& vq = a.vq;
  const int64_t n = cfg.get_int("task.per_class") * kClasses;
  const auto test = imagegen::load_split("test", cfg.get_string("task.data_dir"), n);
  const auto base_codes = imagegen::encode_codes(vq, test.images);
  const Scored base = score_images(a, imagegen::decode_codes(vq, base_codes));
  const auto order = imagegen::codes_by_distance(vq->codebook());
  std::mt19937_64 rng(stream_seed(cfg, 41));
  for (const auto& [mode, name] : imagegen::substitutions()) {
    const auto codes = imagegen::substitute_central_codes(base_codes, order, mode, rng);
    const Scored s = score_images(a, imagegen::decode_codes(vq, codes));
    double kept = 0, fdist = 0;
    for (size_t i = 0; i < s.predicted.size(); ++i) {
      kept += s.predicted[i] == base.predicted[i];
      double d2 = 0;
      for (size_t k = 0; k < s.features[i].size(); ++k) d2 += std::pow(s.features[i][k] - base.features[i][k], 2);
      fdist += std::sqrt(d2);
    }
    const auto count = static_cast<double>(s.predicted.size());
    m["fig4." + name + ".class_kept"] = kept / count;
    m["fig4." + name + ".feature_distance"] = fdist / count;
  }
}

}  // namespace

config::Schema ImageGenTask::schema() const {
  config::Schema s;
  imagegen::add_asset_keys(s);
  s.add_int("task.n_train", 10000, 10, 60000, "training images (the first n of the seed's permutation of the 60,000)");
  s.add_float("task.class_dropout", 0.1, 0.0, 1.0,
              "probability that a training example is shown with the null class at a step (for guidance)");
  s.add_int("task.per_class", 100, 1, {}, "images sampled per class in each draw (and per reference)");
  s.add_int("task.draws", 2, 1, {}, "sampling draws per evaluation (FID and IS are their mean)");
  s.add_float("task.guidance", 2.0, 0.0, {}, "classifier-free guidance scale (1: the conditional model alone)");
  s.add_float("task.temperature", 1.0, 0.0, {}, "sampling temperature", true);
  s.add_int("task.top_k", 0, 0, {}, "sample among the k most likely codes (0: all)");
  s.add_int("model.context", 64, 8, {}, "maximum sequence length (<bos>, class token, 49 codes)");
  return s;
}

std::vector<std::string> ImageGenTask::added_tokens(const config::Config& cfg) const {
  std::vector<std::string> t;
  for (int64_t k = 0; k < cfg.get_int("task.vq_codes"); ++k) t.push_back(imagegen::code_token(k));
  for (int64_t c = -1; c < kClasses; ++c) t.push_back(imagegen::class_token(c));
  return t;
}

int64_t ImageGenTask::max_new_tokens(const config::Config&) const { return kGrid * kGrid + 1; }

MetricTokens ImageGenTask::metric_tokens(const config::Config& cfg, const Tokenizer& tok) const {
  Assets& a = imagegen::load_or_train_assets(cfg);
  const auto book = a.vq->codebook().to(torch::kFloat64).contiguous();
  MetricTokens m;
  m.dim = book.size(1);
  for (int64_t k = 0; k < book.size(0); ++k) m.token_ids.push_back(tok.added_token_id(imagegen::code_token(k)));
  m.embeddings.assign(book.data_ptr<double>(), book.data_ptr<double>() + book.numel());
  return m;
}

EncodedExample ImageGenTask::encode(const Example& e, const Tokenizer& tok) const {
  // <bos> class codes <eos>, the codes and <eos> supervised (the default encoding);
  // every code is a metric position of weight 1 (the default marks number tokens only).
  EncodedExample out = encode_prompt_completion(e, tok);
  for (size_t t = out.completion_begin; t < out.completion_end; ++t) out.metric[t] = 1, out.place[t] = 1.0f;
  return out;
}

std::string ImageGenTask::prepare_shared(const config::Config& cfg) const {
  const Assets& a = imagegen::load_or_train_assets(cfg);
  if (!a.from_cache) return fmt::format("imagegen assets {}: trained, in {}", a.id, a.dir);
  return fmt::format("imagegen assets {}: cached (VQ test reconstruction MSE {:.5f}, codebook usage {:.3f}; "
                     "classifier test accuracy {:.4f})",
                     a.id, a.vq_test.reconstruction_mse, a.vq_test.codebook_usage, a.classifier_accuracy);
}

EncodedExample ImageGenTask::encode_for_training(const Example& e, const Tokenizer& tok, uint64_t draw) const {
  EncodedExample out = encode(e, tok);
  DIST2_CHECK(out.completion_begin == 2, "an image example's prompt is one class token, not '{}'", e.prompt);
  const double dropout = e.values.size() > 1 ? e.values[1] : 0.0;
  const double u = static_cast<double>(draw >> 11) * 0x1.0p-53;  // uniform in [0, 1) from the draw's top 53 bits
  if (u < dropout) out.ids[1] = tok.added_token_id(imagegen::class_token(-1));
  return out;
}

Dataset ImageGenTask::generate(const config::Config& cfg) const {
  Assets& a = imagegen::load_or_train_assets(cfg);
  VqVae& vq = a.vq;
  const auto train = imagegen::load_split("train", cfg.get_string("task.data_dir"));
  const auto test = imagegen::load_split("test", cfg.get_string("task.data_dir"));
  std::vector<int64_t> perm(static_cast<size_t>(train.images.size(0)));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(stream_seed(cfg, 1));
  std::shuffle(perm.begin(), perm.end(), rng);
  perm.resize(static_cast<size_t>(cfg.get_int("task.n_train")));
  const auto rows = torch::tensor(perm, torch::kInt64);
  const auto codes = imagegen::encode_codes(vq, train.images.index_select(0, rows));
  const auto labels = train.labels.index_select(0, rows);
  const double dropout = cfg.get_double("task.class_dropout");
  Dataset d;
  for (int64_t i = 0; i < codes.size(0); ++i) {
    const int64_t y = labels[i].item<int64_t>();
    d.train.push_back({imagegen::class_token(y), completion_of(codes[i]), {static_cast<double>(y), dropout},
                       grounding::class_names()[static_cast<size_t>(y)], {}});
  }
  // One test image per class: the prompts evaluation asks with (and a held-out loss).
  for (int64_t c = 0; c < kClasses; ++c) {
    const auto idx = (test.labels == c).nonzero().select(1, 0);
    DIST2_CHECK(idx.numel() > 0, "no test image of class {}", c);
    const int64_t i = idx[0].item<int64_t>();
    d.test.push_back({imagegen::class_token(c), completion_of(imagegen::encode_codes(vq, test.images.slice(0, i, i + 1))[0]),
                      {static_cast<double>(c)}, grounding::class_names()[static_cast<size_t>(c)], {}});
  }
  return d;
}

std::map<std::string, double> ImageGenTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                     Predictor& model) const {
  std::vector<ExampleScore> ignored;
  return evaluate_examples(cfg, data, model, ignored);
}

std::map<std::string, double> ImageGenTask::evaluate_examples(const config::Config& cfg, const Dataset&,
                                                              Predictor& model,
                                                              std::vector<ExampleScore>& scores) const {
  Assets& a = imagegen::load_or_train_assets(cfg);
  const Tokenizer& tok = model.tokenizer();
  const int64_t K = cfg.get_int("task.vq_codes"), per_class = cfg.get_int("task.per_class");
  Predictor::Sampling s;
  std::map<int64_t, int64_t> code_of_token;
  for (int64_t k = 0; k < K; ++k) {
    s.allowed.push_back(tok.added_token_id(imagegen::code_token(k)));
    code_of_token[s.allowed.back()] = k;
  }
  s.guidance = cfg.get_double("task.guidance");
  s.temperature = cfg.get_double("task.temperature");
  s.top_k = cfg.get_int("task.top_k");
  const auto labels = draw_labels(per_class);
  std::vector<Prompt> prompts, unconditional;
  for (int64_t y : labels) prompts.emplace_back(imagegen::class_token(y));
  if (s.guidance != 1.0) unconditional.assign(prompts.size(), Prompt(imagegen::class_token(-1)));
  std::map<std::string, double> m;
  const int64_t draws = cfg.get_int("task.draws");
  double fid = 0, is = 0, match = 0;
  for (int64_t d = 0; d < draws; ++d) {
    s.seed = stream_seed(cfg, 100 + static_cast<uint64_t>(d));
    const auto tokens = model.sample(prompts, unconditional, kGrid * kGrid, s);
    std::vector<std::vector<int64_t>> codes(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i)
      for (int64_t t : tokens[i]) codes[i].push_back(code_of_token.at(t));
    const auto grids = grids_of(codes);
    const Scored sc = score_images(a, imagegen::decode_codes(a.vq, grids), labels);
    m[fmt::format("fid.draw{}", d + 1)] = sc.fid;
    m[fmt::format("is.draw{}", d + 1)] = sc.is;
    fid += sc.fid, is += sc.is, match += sc.class_match;
    if (d > 0) continue;
    // The first draw's samples: the "examples" artifact the sample grids are drawn from.
    for (size_t i = 0; i < codes.size(); ++i)
      scores.push_back({static_cast<int64_t>(i), grounding::class_names()[static_cast<size_t>(labels[i])],
                        sc.predicted[i] == labels[i] ? 1.0 : 0.0, imagegen::class_token(labels[i]), "",
                        completion_of(grids[static_cast<int64_t>(i)])});
  }
  m["fid"] = fid / static_cast<double>(draws);
  m["is"] = is / static_cast<double>(draws);
  m["class_match"] = match / static_cast<double>(draws);
  return m;
}

std::map<std::string, double> ImageGenTask::reference_metrics(const config::Config& cfg, const Dataset& data) const {
  Assets& a = imagegen::load_or_train_assets(cfg);
  VqVae& vq = a.vq;
  const int64_t per_class = cfg.get_int("task.per_class"), n = per_class * kClasses;
  std::map<std::string, double> m;
  m["ref.vq.reconstruction_mse"] = a.vq_test.reconstruction_mse;
  m["ref.vq.codebook_usage"] = a.vq_test.codebook_usage;
  m["ref.classifier.accuracy"] = a.classifier_accuracy;
  // The tokenizer's floor: VQ reconstructions of test images.
  const auto test = imagegen::load_split("test", cfg.get_string("task.data_dir"), n);
  put_scores(m, "ref.recon.", score_images(a, imagegen::decode_codes(vq, imagegen::encode_codes(vq, test.images))));
  // Real training images against the test set: the data's own floor.
  put_scores(m, "ref.train.", score_images(a, imagegen::load_split("train", cfg.get_string("task.data_dir"), n).images));
  // Each class's code frequencies over the training split, codes drawn independently.
  const int64_t K = cfg.get_int("task.vq_codes");
  std::vector<std::vector<double>> freq(kClasses, std::vector<double>(static_cast<size_t>(K), 0.0));
  for (const auto& e : data.train)
    for (int64_t c : imagegen::parse_codes(e.completion)) freq[static_cast<size_t>(e.values.at(0))][static_cast<size_t>(c)] += 1;
  std::mt19937_64 rng(stream_seed(cfg, 40));
  const auto labels = draw_labels(per_class);
  std::vector<std::vector<int64_t>> codes;
  for (int64_t y : labels) {
    std::discrete_distribution<int64_t> pick(freq[static_cast<size_t>(y)].begin(), freq[static_cast<size_t>(y)].end());
    codes.emplace_back();
    for (int64_t k = 0; k < kGrid * kGrid; ++k) codes.back().push_back(pick(rng));
  }
  put_scores(m, "ref.unigram.", score_images(a, imagegen::decode_codes(vq, grids_of(codes)), labels));
  code_substitution_metrics(cfg, a, m);
  return m;
}

}  // namespace dist2
