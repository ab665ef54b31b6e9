#include "dist2/train/predictor.h"

#include <cmath>
#include <map>

#include "dist2/util/error.h"

namespace dist2 {

GptPredictor::GptPredictor(Gpt model, const Tokenizer& tok, int64_t batch_size)
    : model_(std::move(model)), tok_(tok), batch_size_(batch_size) {
  vd_ids_ = torch::tensor(tok.number_token_ids(), torch::kInt64);
  vd_values_ = torch::tensor(tok.number_token_values(), torch::kFloat32);
}

std::vector<std::vector<size_t>> GptPredictor::length_batches(const std::vector<std::vector<int64_t>>& encoded) const {
  std::map<size_t, std::vector<size_t>> by_len;
  for (size_t i = 0; i < encoded.size(); ++i) by_len[encoded[i].size()].push_back(i);
  std::vector<std::vector<size_t>> batches;
  for (auto& [len, idx] : by_len)
    for (size_t s = 0; s < idx.size(); s += static_cast<size_t>(batch_size_))
      batches.emplace_back(idx.begin() + static_cast<std::ptrdiff_t>(s),
                           idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), s + static_cast<size_t>(batch_size_))));
  return batches;
}

namespace {
std::vector<std::vector<int64_t>> encode_prompts(const std::vector<std::string>& prompts, const Tokenizer& tok) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& p : prompts) {
    std::vector<int64_t> ids{Tokenizer::kBos};
    auto e = tok.encode_ids(p);
    ids.insert(ids.end(), e.begin(), e.end());
    out.push_back(std::move(ids));
  }
  return out;
}

torch::Tensor stack_rows(const std::vector<std::vector<int64_t>>& enc, const std::vector<size_t>& rows) {
  const auto T = static_cast<int64_t>(enc[rows[0]].size());
  auto t = torch::empty({static_cast<int64_t>(rows.size()), T}, torch::kInt64);
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy(enc[rows[r]].begin(), enc[rows[r]].end(), t[static_cast<int64_t>(r)].data_ptr<int64_t>());
  return t;
}
}  // namespace

std::vector<Predictor::Generation> GptPredictor::generate(const std::vector<std::string>& prompts,
                                                          int64_t max_new_tokens) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts, tok_);
  const int64_t context = model_->options().context;
  std::vector<Generation> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    auto ids = stack_rows(enc, rows);
    DIST2_CHECK(ids.size(1) < context, "a prompt of {} tokens leaves no room in model.context = {}", ids.size(1), context);
    std::vector<bool> done(rows.size(), false);
    for (int64_t s = 0; s < max_new_tokens && ids.size(1) < context; ++s) {
      auto logits = model_->forward(ids).select(1, ids.size(1) - 1);  // (b, V)
      auto next = logits.argmax(1);
      auto q = torch::softmax(logits.index_select(1, vd_ids_), 1);
      auto expected = (q * vd_values_.unsqueeze(0)).sum(1);
      auto next_a = next.accessor<int64_t, 1>();
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
      if (all_done) break;
      ids = torch::cat({ids, next.unsqueeze(1)}, 1);
    }
  }
  for (auto& g : out) g.text = tok_.decode(g.ids);
  return out;
}

std::vector<std::vector<double>> GptPredictor::next_number_probs(const std::vector<std::string>& prompts) {
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts, tok_);
  std::vector<std::vector<double>> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    auto ids = stack_rows(enc, rows);
    auto logits = model_->forward(ids).select(1, ids.size(1) - 1);
    auto q = torch::softmax(logits.index_select(1, vd_ids_).to(torch::kFloat64), 1).contiguous();
    for (size_t r = 0; r < rows.size(); ++r) {
      const double* p = q[static_cast<int64_t>(r)].data_ptr<double>();
      out[rows[r]].assign(p, p + q.size(1));
    }
  }
  return out;
}

std::vector<double> GptPredictor::scalar_scores(const std::vector<std::string>& prompts) {
  if (!model_->has_scalar_head()) return Predictor::scalar_scores(prompts);
  torch::NoGradGuard no_grad;
  model_->eval();
  const auto enc = encode_prompts(prompts, tok_);
  std::vector<double> out(prompts.size());
  for (const auto& rows : length_batches(enc)) {
    auto ids = stack_rows(enc, rows);
    auto last = torch::full({ids.size(0)}, ids.size(1) - 1, torch::kInt64);
    auto s = model_->score(ids, last).to(torch::kFloat64).contiguous();
    for (size_t r = 0; r < rows.size(); ++r) out[rows[r]] = s[static_cast<int64_t>(r)].item<double>();
  }
  return out;
}

}  // namespace dist2
