#include "dist2/train/batch.h"

#include <algorithm>
#include <cmath>

#include "dist2/train/trainer.h"
#include "dist2/util/error.h"

namespace dist2 {

namespace {

// Mixed into an example's seed for its encode_for_training draw, so that the
// draw is not the first number of the example's contrastive stream.
constexpr uint64_t kEncodeDrawSalt = 0x6c61626c64726f70ull;

// Number spans of an encoding: [begin, end) token ranges of number tokens and '.'.
std::vector<std::pair<size_t, size_t>> number_spans(const Tokenizer::Encoding& e, const Tokenizer& tok) {
  std::vector<std::pair<size_t, size_t>> spans;
  size_t i = 0;
  while (i < e.ids.size()) {
    if (!e.is_number[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < e.ids.size() && (e.is_number[j] || (tok.token_text(e.ids[j]) == "." && j + 1 < e.ids.size() && e.is_number[j + 1])))
      ++j;
    spans.emplace_back(i, j);
    i = j;
  }
  return spans;
}

}  // namespace

std::vector<std::pair<int64_t, double>> contrastive_candidates(const Tokenizer::Encoding& e, const Tokenizer& tok,
                                                               bool squared, std::mt19937_64& rng) {
  std::vector<std::pair<int64_t, double>> out(e.ids.size(), {-1, 0.0});
  const int64_t base = tok.split() == NumberSplit::digits ? 10 : 1000;
  for (auto [b, end] : number_spans(e, tok)) {
    // The number as base-`base` digits, and the exponent of each token.
    std::vector<size_t> pos;
    std::vector<int> exponent;
    int int_tokens = 0;
    bool seen_point = false;
    for (size_t i = b; i < end; ++i) {
      if (!e.is_number[i]) {
        seen_point = true;
        continue;
      }
      pos.push_back(i);
      int_tokens += !seen_point;
    }
    for (size_t k = 0; k < pos.size(); ++k) exponent.push_back(int_tokens - 1 - static_cast<int>(k));
    // Add +-1 in the last place with carries; skip when the token count would change.
    std::vector<int64_t> digits;
    for (size_t p : pos) digits.push_back(static_cast<int64_t>(tok.number_value(e.ids[p])));
    const int step = std::bernoulli_distribution(0.5)(rng) ? 1 : -1;
    std::vector<int64_t> cand = digits;
    int64_t carry = step;
    for (size_t k = cand.size(); k-- > 0 && carry != 0;) {
      cand[k] += carry;
      carry = cand[k] >= base ? 1 : cand[k] < 0 ? -1 : 0;
      cand[k] = (cand[k] % base + base) % base;
    }
    if (carry != 0) continue;  // overflow or below zero: no candidate of the same shape
    const double ulp = std::pow(static_cast<double>(base), exponent.back());
    for (size_t k = 0; k < pos.size(); ++k) {
      const double scaled = step * ulp / std::pow(static_cast<double>(base), exponent[k]);
      out[pos[k]] = {tok.number_token(cand[k]), squared ? scaled * scaled : std::abs(scaled)};
    }
  }
  return out;
}

torch::Tensor image_batch(const std::vector<std::vector<const Image*>>& rows) {
  if (rows.empty() || rows[0].empty()) {
    for (const auto& r : rows) DIST2_CHECK(r.empty(), "some examples of a batch have images and some do not");
    return {};
  }
  const Image& first = *rows[0][0];
  const auto B = static_cast<int64_t>(rows.size()), N = static_cast<int64_t>(rows[0].size());
  auto out = torch::empty({B, N, first.channels, first.height, first.width}, torch::kFloat32);
  float* dst = out.data_ptr<float>();
  for (const auto& r : rows) {
    DIST2_CHECK(static_cast<int64_t>(r.size()) == N, "examples of a batch have {} and {} images", N, r.size());
    for (const Image* img : r) {
      DIST2_CHECK(img->channels == first.channels && img->height == first.height && img->width == first.width,
                  "images of a batch differ in shape: {}x{}x{} and {}x{}x{}", first.channels, first.height,
                  first.width, img->channels, img->height, img->width);
      dst = std::copy(img->pixels.begin(), img->pixels.end(), dst);
    }
  }
  return out;
}

TrainBatch make_batch(const std::vector<const Example*>& examples, const Tokenizer& tok, const MetricSpace& metric,
                      const BatchOptions& opt, std::mt19937_64& rng, const Task* task,
                      const std::vector<uint64_t>& example_seeds) {
  DIST2_CHECK(!examples.empty(), "empty batch");
  DIST2_CHECK(example_seeds.empty() || example_seeds.size() == examples.size(), "{} example seeds for {} examples",
              example_seeds.size(), examples.size());
  struct Row {
    EncodedExample enc;
    std::vector<std::pair<int64_t, double>> contrast;  // per id of the completion
  };
  std::vector<Row> rows;
  std::vector<std::vector<const Image*>> images;
  int64_t T = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example* ex = examples[i];
    Row r;
    // With per-example seeds (training steps), the task may vary the example per step.
    r.enc = !task                   ? encode_prompt_completion(*ex, tok)
            : example_seeds.empty() ? task->encode(*ex, tok)
                                    : task->encode_for_training(*ex, tok, mix_seed(example_seeds[i], kEncodeDrawSalt));
    const auto n = static_cast<int64_t>(r.enc.ids.size()) - 1;
    DIST2_CHECK(n <= opt.context, "an example needs {} tokens but model.context is {} (prompt '{}...')", n + 1,
                opt.context, ex->prompt.substr(0, 40));
    if (opt.contrastive) {
      // Candidates over the completion's tokens only, as the draws of the rng must not depend on the prompt.
      Tokenizer::Encoding completion;
      for (size_t c = r.enc.completion_begin; c < r.enc.completion_end; ++c) {
        completion.ids.push_back(r.enc.ids[c]);
        completion.is_number.push_back(tok.is_number_token(r.enc.ids[c]));
        completion.place.push_back(r.enc.place[c]);
      }
      if (example_seeds.empty()) {
        r.contrast = contrastive_candidates(completion, tok, opt.squared_distance, rng);
      } else {
        std::mt19937_64 own(example_seeds[i]);
        r.contrast = contrastive_candidates(completion, tok, opt.squared_distance, own);
      }
    }
    T = std::max(T, n);
    images.push_back(r.enc.images);
    rows.push_back(std::move(r));
  }
  const auto B = static_cast<int64_t>(rows.size());
  auto inputs = torch::full({B, T}, Tokenizer::kPad, torch::kInt64);
  auto targets = torch::full({B, T}, opt.ignore_index, torch::kInt64);
  auto mask = torch::zeros({B, T}, torch::kBool);
  auto weights = torch::zeros({B, T}, torch::kFloat32);
  auto c_index = torch::full({B, T}, -1, torch::kInt64);
  auto c_dist = torch::zeros({B, T}, torch::kFloat64);
  auto in_a = inputs.accessor<int64_t, 2>(), tg_a = targets.accessor<int64_t, 2>(), ci_a = c_index.accessor<int64_t, 2>();
  auto m_a = mask.accessor<bool, 2>();
  auto w_a = weights.accessor<float, 2>();
  auto cd_a = c_dist.accessor<double, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const Row& r = rows[static_cast<size_t>(b)];
    const EncodedExample& e = r.enc;
    const auto n = static_cast<int64_t>(e.ids.size()) - 1;
    for (int64_t t = 0; t < n; ++t) {
      in_a[b][t] = e.ids[static_cast<size_t>(t)];
      const auto next = static_cast<size_t>(t + 1);  // position t predicts token t + 1
      if (!e.supervised[next]) continue;
      tg_a[b][t] = e.ids[next];
      if (!e.metric[next]) continue;
      m_a[b][t] = true;
      w_a[b][t] = opt.place_weighting ? e.place[next] : 1.0f;
      if (opt.contrastive && next >= e.completion_begin && next < e.completion_end) {
        const auto& cand = r.contrast[next - e.completion_begin];
        if (cand.first >= 0) {
          ci_a[b][t] = cand.first;  // a vocabulary id for now, mapped to V_d below
          cd_a[b][t] = cand.second;
        }
      }
    }
  }
  TrainBatch out;
  out.inputs = inputs;
  out.images = image_batch(images);
  out.loss.targets = targets.view({-1});
  out.loss.metric_mask = mask.view({-1});
  out.loss.weights = weights.view({-1});
  if (opt.contrastive) {
    auto ids = c_index.view({-1});
    out.loss.contrast_index = torch::where(ids >= 0, metric.index_of(ids), ids);
    out.loss.contrast_distance = c_dist.view({-1});
  }
  return out;
}

}  // namespace dist2
