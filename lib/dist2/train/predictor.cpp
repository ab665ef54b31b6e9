#include "dist2/train/predictor.h"

#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "dist2/train/batch.h"
#include "dist2/util/error.h"

namespace dist2 {

GptPredictor::GptPredictor(Gpt model, const Tokenizer& tok, int64_t batch_size)
    : model_(std::move(model)), tok_(tok), batch_size_(batch_size) {
  // On the model's device once: decoding reads them every step.
  const auto device = model_->parameters().front().device();
  vd_ids_ = torch::tensor(tok.number_token_ids(), torch::kInt64).to(device);
  vd_values_ = torch::tensor(tok.number_token_values(), torch::kFloat32).to(device);
}

std::vector<GptPredictor::Encoded> GptPredictor::encode_prompts(const std::vector<Prompt>& prompts) const {
  std::vector<Encoded> out;
  for (const auto& p : prompts) {
    Encoded e{{Tokenizer::kBos}, p.images};
    const auto ids = tok_.encode_ids(p.text);
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::vector<size_t>> GptPredictor::length_batches(const std::vector<Encoded>& encoded) const {
  std::map<std::pair<size_t, size_t>, std::vector<size_t>> by_shape;
  for (size_t i = 0; i < encoded.size(); ++i) by_shape[{encoded[i].ids.size(), encoded[i].images.size()}].push_back(i);
  std::vector<std::vector<size_t>> batches;
  const auto B = static_cast<size_t>(batch_size_);
  for (auto& [shape, idx] : by_shape)
    for (size_t s = 0; s < idx.size(); s += B)
      batches.emplace_back(idx.begin() + static_cast<std::ptrdiff_t>(s),
                           idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), s + B)));
  return batches;
}

namespace {
struct RowBatch {
  torch::Tensor ids, images;  // (b, T) int64; (b, N, C, H, W) or undefined
};

// The encoded prompts `rows` (all of one length and image count) as one batch.
template <typename Encoded>
RowBatch stack_rows(const std::vector<Encoded>& enc, const std::vector<size_t>& rows) {
  const auto T = static_cast<int64_t>(enc[rows[0]].ids.size());
  RowBatch b{torch::empty({static_cast<int64_t>(rows.size()), T}, torch::kInt64), {}};
  std::vector<std::vector<const Image*>> images;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::copy(enc[rows[r]].ids.begin(), enc[rows[r]].ids.end(), b.ids[static_cast<int64_t>(r)].data_ptr<int64_t>());
    images.push_back(enc[rows[r]].images);
  }
  b.images = image_batch(images);
  return b;
}
}  // namespace

std::vector<Predictor::Generation> GptPredictor::decode(const std::vector<Prompt>& prompts, int64_t max_new_tokens,
                                                        bool cached) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts);
  const int64_t context = model_->options().context;
  std::vector<Generation> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    auto [ids, images] = stack_rows(enc, rows);
    int64_t length = ids.size(1);
    DIST2_CHECK(length < context, "a prompt of {} tokens leaves no room in model.context = {}", length, context);
    KvCache cache;
    auto logits = model_->forward(ids, images, cached ? &cache : nullptr).select(1, length - 1);  // (b, V)
    std::vector<bool> done(rows.size(), false);
    for (int64_t s = 0; s < max_new_tokens; ++s) {
      auto next = logits.argmax(1);
      auto q = torch::softmax(logits.index_select(1, vd_ids_), 1);
      auto expected = (q * vd_values_.unsqueeze(0)).sum(1).to(torch::kCPU);
      const auto next_cpu = next.to(torch::kCPU);
      auto next_a = next_cpu.accessor<int64_t, 1>();
      auto exp_a = expected.accessor<float, 1>();
      bool all_done = true;
      for (size_t r = 0; r < rows.size(); ++r) {
        if (done[r]) continue;
        const int64_t tok = next_a[static_cast<int64_t>(r)];
        if (tok == Tokenizer::kEos) {
          done[r] = true;
          continue;
        }
        auto& g = out[rows[r]];
        g.ids.push_back(tok);
        g.expected.push_back(tok_.is_number_token(tok) ? static_cast<double>(exp_a[static_cast<int64_t>(r)]) : NAN);
        all_done = false;
      }
      // Stop when every row ended, or when the next read would fill the context.
      if (all_done || s + 1 >= max_new_tokens || length + 1 >= context) break;
      ++length;
      if (cached) {
        logits = model_->forward(next.unsqueeze(1), {}, &cache).select(1, 0);
      } else {
        ids = torch::cat({ids, next_cpu.unsqueeze(1)}, 1);
        logits = model_->forward(ids, images).select(1, length - 1);
      }
    }
  }
  for (auto& g : out) g.text = tok_.decode(g.ids);
  return out;
}

std::vector<Predictor::Generation> GptPredictor::generate(const std::vector<Prompt>& prompts, int64_t max_new_tokens) {
  return decode(prompts, max_new_tokens, true);
}

std::vector<Predictor::Generation> GptPredictor::generate_uncached(const std::vector<Prompt>& prompts,
                                                                   int64_t max_new_tokens) {
  return decode(prompts, max_new_tokens, false);
}

namespace {
// The draws of prompt `row`: a stream of its own, so that batching changes nothing.
std::mt19937_64 row_stream(uint64_t seed, size_t row) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(row),
                    static_cast<uint32_t>(static_cast<uint64_t>(row) >> 32), 0x5a3e1u};
  return std::mt19937_64(seq);
}

// One index per row of probs (b, M), float64 on the CPU, by the inverse CDF at a uniform draw.
int64_t draw_index(const double* p, int64_t M, std::mt19937_64& rng) {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  double cum = 0;
  for (int64_t j = 0; j < M; ++j) {
    cum += p[j];
    if (u < cum) return j;
  }
  for (int64_t j = M - 1; j >= 0; --j)  // u beyond the rounded total: the last index with mass
    if (p[j] > 0) return j;
  return M - 1;
}
}  // namespace

std::vector<std::vector<int64_t>> GptPredictor::draw(const std::vector<Prompt>& prompts,
                                                     const std::vector<Prompt>& unconditional, int64_t length,
                                                     const Sampling& s, bool cached) {
  DIST2_CHECK(!s.allowed.empty(), "sampling needs the token ids it may draw");
  DIST2_CHECK(s.temperature > 0, "the sampling temperature must be > 0, got {}", s.temperature);
  DIST2_CHECK(length >= 1, "sampling needs at least one token, got {}", length);
  const bool guided = !unconditional.empty();
  DIST2_CHECK(!guided || unconditional.size() == prompts.size(), "{} unconditional prompts for {} prompts",
              unconditional.size(), prompts.size());
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto device = model_->parameters().front().device();
  const auto allowed = torch::tensor(s.allowed, torch::kInt64).to(device);
  const auto M = static_cast<int64_t>(s.allowed.size());
  const auto enc = encode_prompts(prompts);
  const auto enc_u = guided ? encode_prompts(unconditional) : std::vector<Encoded>{};
  for (size_t i = 0; i < enc_u.size(); ++i)
    DIST2_CHECK(enc_u[i].ids.size() == enc[i].ids.size() && enc_u[i].images.size() == enc[i].images.size(),
                "an unconditional prompt must have its prompt's token length and images ({} vs {} tokens)",
                enc_u[i].ids.size(), enc[i].ids.size());
  const int64_t context = model_->options().context;
  std::vector<std::vector<int64_t>> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    auto [ids, images] = stack_rows(enc, rows);
    const auto b = static_cast<int64_t>(rows.size());
    if (guided) {  // conditional rows first, then their unconditional twins, in one batch
      auto twin = stack_rows(enc_u, rows);
      ids = torch::cat({ids, twin.ids}, 0);
      if (images.defined()) images = torch::cat({images, twin.images}, 0);
    }
    DIST2_CHECK(ids.size(1) + length - 1 <= context, "{} prompt tokens and {} sampled ones exceed model.context = {}",
                ids.size(1), length, context);
    std::vector<std::mt19937_64> rngs;
    for (size_t r : rows) rngs.push_back(row_stream(s.seed, r));
    KvCache cache;
    auto logits = model_->forward(ids, images, cached ? &cache : nullptr).select(1, ids.size(1) - 1);
    for (int64_t step = 0; step < length; ++step) {
      auto lg = logits.index_select(1, allowed).to(torch::kFloat64);
      if (guided) {
        const auto c = lg.slice(0, 0, b), u = lg.slice(0, b, 2 * b);
        lg = u + s.guidance * (c - u);
      }
      lg = lg / s.temperature;
      if (s.top_k > 0 && s.top_k < M) {
        const auto kth = std::get<0>(lg.topk(s.top_k, 1)).select(1, s.top_k - 1).unsqueeze(1);
        lg = lg.masked_fill(lg < kth, -std::numeric_limits<double>::infinity());
      }
      const auto probs = torch::softmax(lg, 1).to(torch::kCPU).contiguous();
      std::vector<int64_t> next(static_cast<size_t>(b));
      for (int64_t r = 0; r < b; ++r) {
        const int64_t j = draw_index(probs[r].data_ptr<double>(), M, rngs[static_cast<size_t>(r)]);
        next[static_cast<size_t>(r)] = s.allowed[static_cast<size_t>(j)];
        out[rows[static_cast<size_t>(r)]].push_back(next[static_cast<size_t>(r)]);
      }
      if (step + 1 == length) break;
      auto next_t = torch::tensor(next, torch::kInt64);
      if (guided) next_t = torch::cat({next_t, next_t});
      if (cached) {
        logits = model_->forward(next_t.to(device).unsqueeze(1), {}, &cache).select(1, 0);
      } else {
        ids = torch::cat({ids, next_t.unsqueeze(1)}, 1);
        logits = model_->forward(ids, images).select(1, ids.size(1) - 1);
      }
    }
  }
  return out;
}

std::vector<std::vector<int64_t>> GptPredictor::sample(const std::vector<Prompt>& prompts,
                                                       const std::vector<Prompt>& unconditional, int64_t length,
                                                       const Sampling& s) {
  return draw(prompts, unconditional, length, s, true);
}

std::vector<std::vector<int64_t>> GptPredictor::sample_uncached(const std::vector<Prompt>& prompts,
                                                                const std::vector<Prompt>& unconditional,
                                                                int64_t length, const Sampling& s) {
  return draw(prompts, unconditional, length, s, false);
}

std::vector<std::vector<double>> GptPredictor::next_number_probs(const std::vector<Prompt>& prompts) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts);
  std::vector<std::vector<double>> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    const auto [ids, images] = stack_rows(enc, rows);
    auto logits = model_->forward(ids, images).select(1, ids.size(1) - 1);
    auto q = torch::softmax(logits.index_select(1, vd_ids_).to(torch::kCPU, torch::kFloat64), 1).contiguous();
    for (size_t r = 0; r < rows.size(); ++r) {
      const double* p = q[static_cast<int64_t>(r)].data_ptr<double>();
      out[rows[r]].assign(p, p + q.size(1));
    }
  }
  return out;
}

std::vector<double> GptPredictor::scalar_scores(const std::vector<Prompt>& prompts) {
  if (!model_->has_scalar_head()) return Predictor::scalar_scores(prompts);
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts);
  std::vector<double> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    const auto [ids, images] = stack_rows(enc, rows);
    auto last = torch::full({ids.size(0)}, ids.size(1) - 1, torch::kInt64);
    auto s = model_->score(ids, last, images).to(torch::kCPU, torch::kFloat64).contiguous();
    for (size_t r = 0; r < rows.size(); ++r) out[rows[r]] = s[static_cast<int64_t>(r)].item<double>();
  }
  return out;
}

std::vector<double> GptPredictor::log_likelihoods(const std::vector<Prompt>& prompts,
                                                  const std::vector<std::string>& continuations) {
  DIST2_CHECK(prompts.size() == continuations.size(), "{} prompts for {} continuations", prompts.size(),
              continuations.size());
  torch::NoGradGuard no_grad;
  model_->eval();
  // Each row is <bos> prompt continuation; rows batch by (prompt length, total length, images).
  auto enc = encode_prompts(prompts);
  std::vector<size_t> prompt_len(enc.size());
  std::map<std::tuple<size_t, size_t, size_t>, std::vector<size_t>> by_shape;
  for (size_t i = 0; i < enc.size(); ++i) {
    prompt_len[i] = enc[i].ids.size();
    const auto c = tok_.encode_ids(continuations[i]);
    DIST2_CHECK(!c.empty(), "an empty continuation has no likelihood to rank");
    enc[i].ids.insert(enc[i].ids.end(), c.begin(), c.end());
    by_shape[{prompt_len[i], enc[i].ids.size(), enc[i].images.size()}].push_back(i);
  }
  std::vector<double> out(prompts.size());
  for (const auto& [shape, idx] : by_shape) {
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(batch_size_)) {
      const std::vector<size_t> rows(idx.begin() + static_cast<std::ptrdiff_t>(s),
                                     idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), s + static_cast<size_t>(batch_size_))));
      const auto [ids, images] = stack_rows(enc, rows);
      const auto P = static_cast<int64_t>(std::get<0>(shape)), T = ids.size(1);
      // Position t predicts token t + 1: the continuation's tokens P..T-1 from positions P-1..T-2.
      auto logp = torch::log_softmax(model_->forward(ids.slice(1, 0, T - 1), images).to(torch::kCPU, torch::kFloat64), -1);
      auto picked = logp.slice(1, P - 1, T - 1).gather(2, ids.slice(1, P, T).unsqueeze(2)).squeeze(2).sum(1).contiguous();
      for (size_t r = 0; r < rows.size(); ++r) out[rows[r]] = picked[static_cast<int64_t>(r)].item<double>();
    }
  }
  return out;
}

}  // namespace dist2
