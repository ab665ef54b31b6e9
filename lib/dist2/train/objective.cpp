#include "dist2/train/objective.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "dist2/loss/fused_linear.h"
#include "dist2/train/batch.h"
#include "dist2/train/distributed.h"
#include "dist2/train/trainer.h"  // mix_seed
#include "dist2/util/error.h"

namespace dist2 {

const std::vector<std::string>& lm_loss_kinds() {
  static const std::vector<std::string> kinds{"sft", "vocab", "label_smoothing", "dist", "ntl_was", "ntl_mse"};
  return kinds;
}

bool is_lm_loss_kind(const std::string& kind) {
  const auto& k = lm_loss_kinds();
  return std::find(k.begin(), k.end(), kind) != k.end();
}

bool kind_needs_scalar_head(const std::string& kind) { return kind == "binary"; }

namespace {

class LmObjective : public Objective {
 public:
  LmObjective(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric, const LossOptions& loss,
              const Task* task)
      : tok_(tok),
        metric_(metric),
        loss_(loss),
        linear_(cfg.get_string("loss.impl") == "fused_linear"),
        impl_(linear_ ? LossImpl::fused : parse_loss_impl(cfg.get_string("loss.impl"))),
        task_(task) {
    opt_.place_weighting = cfg.get_bool("loss.place_weighting");
    opt_.contrastive = cfg.get_bool("loss.contrastive") && loss.kind == LossKind::dist;
    opt_.squared_distance = metric.kind() != MetricKind::absolute;
    opt_.context = cfg.get_int("model.context");
    opt_.ignore_index = loss.ignore_index;
  }

  LossTerms step(Gpt& model, const std::vector<Example>& data, const std::vector<int64_t>& picked,
                 uint64_t step_seed) override {
    std::vector<const Example*> examples;
    std::vector<uint64_t> seeds;  // contrastive draws per (step, example): the same in any shard
    for (int64_t i : picked) {
      examples.push_back(&data[static_cast<size_t>(i)]);
      seeds.push_back(mix_seed(step_seed, static_cast<uint64_t>(i)));
    }
    std::mt19937_64 rng(step_seed);
    TrainBatch batch = make_batch(examples, tok_, metric_, opt_, rng, task_, seeds);
    LossBatch& b = batch.loss;
    const torch::Device device = model->parameters().front().device();
    for (torch::Tensor* t : {&b.targets, &b.metric_mask, &b.weights, &b.contrast_index, &b.contrast_distance})
      if (t->defined()) *t = t->to(device);
    const LossOptions opt = shard_options(b);
    if (linear_) return linear_step(model, batch, opt);
    auto logits = model->forward(batch.inputs, batch.images);
    b.logits = logits.view({-1, logits.size(-1)});
    if (impl_used_.empty()) {  // the same for every step of a run: kind, options, dtype and device do not change
      fallback_ = impl_ == LossImpl::fused ? fused_unsupported_reason(b, metric_, loss_) : "";
      impl_used_ = impl_ == LossImpl::fused && fallback_.empty() ? "fused" : "reference";
    }
    return compute_loss(b, metric_, opt, impl_);
  }

  std::string impl_used() const override { return impl_used_; }
  std::string fallback_reason() const override { return fallback_; }

 private:
  // A data-parallel shard divides its sums by the whole batch's counts: the
  // ranks' losses (and gradients) add up to the mean over the global batch.
  LossOptions shard_options(const LossBatch& b) const {
    if (pg_ == nullptr || pg_->world() == 1) return loss_;
    const LossNormalisers local = loss_normalisers(b, metric_, loss_);
    std::vector<torch::Tensor> counts{torch::tensor({local.supervised, local.aux_weight}, torch::kFloat64)};
    pg_->allreduce_sum(counts);
    LossOptions shard = loss_;
    shard.ce_divisor = std::max(1.0, counts[0][0].item<double>());
    shard.aux_divisor = counts[0][1].item<double>();
    return shard;
  }

  // loss.impl=fused_linear: the LM head's projection fused with the loss, so the
  // step never holds the [B T, V] logits (loss/fused_linear.h).
  LossTerms linear_step(Gpt& model, TrainBatch& batch, const LossOptions& opt) {
    const torch::Tensor h = model->hidden(batch.inputs, batch.images);
    const LinearLossBatch lb = linear_batch_of(h.reshape({-1, h.size(-1)}), model->lm_weight(), {}, batch.loss);
    if (impl_used_.empty()) {
      fallback_ = fused_linear_fallback_reason(lb, metric_, loss_);
      impl_used_ = fallback_.empty() ? "fused_linear" : "fused_linear_reference";
    }
    return fused_linear_loss(lb, metric_, opt);
  }

  const Tokenizer& tok_;
  const MetricSpace& metric_;
  LossOptions loss_;
  bool linear_;
  LossImpl impl_;
  const Task* task_;
  BatchOptions opt_;
  std::string impl_used_, fallback_;
};

class PreferenceObjective : public Objective {
 public:
  PreferenceObjective(const config::Config& cfg, const Tokenizer& tok, std::vector<std::pair<size_t, size_t>> pairs)
      : tok_(tok), context_(cfg.get_int("model.context")), pairs_(std::move(pairs)) {}

  bool needs_scalar_head() const override { return true; }
  int64_t sequences_per_item() const override { return 2; }  // the chosen and the rejected response
  int64_t item_count(const std::vector<Example>&) const override {
    DIST2_CHECK(!pairs_.empty(), "loss.kind=binary needs preference pairs, and this task's training data has none");
    return static_cast<int64_t>(pairs_.size());
  }

  LossTerms step(Gpt& model, const std::vector<Example>& data, const std::vector<int64_t>& picked, uint64_t) override {
    // Rows 0..B-1 are the chosen prompts, B..2B-1 the rejected ones, right-padded.
    std::vector<std::vector<int64_t>> rows;
    std::vector<std::vector<const Image*>> images;
    for (bool chosen : {true, false})
      for (int64_t p : picked) {
        const auto& pair = pairs_[static_cast<size_t>(p)];
        const Example& e = data.at(chosen ? pair.first : pair.second);
        std::vector<int64_t> ids{Tokenizer::kBos};
        const auto enc = tok_.encode_ids(e.prompt);
        ids.insert(ids.end(), enc.begin(), enc.end());
        DIST2_CHECK(static_cast<int64_t>(ids.size()) <= context_, "a prompt needs {} tokens but model.context is {}",
                    ids.size(), context_);
        rows.push_back(std::move(ids));
        images.push_back(Prompt::of(e).images);
      }
    size_t T = 0;
    for (const auto& r : rows) T = std::max(T, r.size());
    auto ids = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(T)}, Tokenizer::kPad, torch::kInt64);
    auto last = torch::empty({static_cast<int64_t>(rows.size())}, torch::kInt64);
    for (size_t r = 0; r < rows.size(); ++r) {
      std::copy(rows[r].begin(), rows[r].end(), ids[static_cast<int64_t>(r)].data_ptr<int64_t>());
      last[static_cast<int64_t>(r)] = static_cast<int64_t>(rows[r].size()) - 1;
    }
    const auto scores = model->score(ids, last, image_batch(images));
    const auto B = static_cast<int64_t>(picked.size());
    // Bradley-Terry: -log sigmoid(r_chosen - r_rejected) = softplus(r_rejected - r_chosen).
    // A shard's share of the global mean: its sum over the global pair count.
    auto per_pair = torch::softplus(scores.slice(0, B, 2 * B) - scores.slice(0, 0, B));
    auto loss = pg_ != nullptr && pg_->world() > 1 ? per_pair.sum() / pg_->sum(static_cast<double>(B)) : per_pair.mean();
    return {loss, loss.detach(), torch::zeros_like(loss)};
  }

  std::string impl_used() const override { return "bradley-terry"; }  // no language-model loss

 private:
  const Tokenizer& tok_;
  int64_t context_;
  std::vector<std::pair<size_t, size_t>> pairs_;
};

}  // namespace

std::unique_ptr<Objective> lm_objective(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric,
                                        const LossOptions& loss, const Task* task) {
  return std::make_unique<LmObjective>(cfg, tok, metric, loss, task);
}

std::unique_ptr<Objective> preference_objective(const config::Config& cfg, const Tokenizer& tok,
                                                std::vector<std::pair<size_t, size_t>> pairs) {
  return std::make_unique<PreferenceObjective>(cfg, tok, std::move(pairs));
}

std::unique_ptr<Objective> make_objective(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric,
                                          const LossOptions& loss, const Task* task,
                                          std::vector<std::pair<size_t, size_t>> pairs) {
  const std::string kind = cfg.get_string("loss.kind");
  if (is_lm_loss_kind(kind)) return lm_objective(cfg, tok, metric, loss, task);
  if (task != nullptr) {
    const auto offered = task->extra_loss_kinds();
    DIST2_CHECK(std::find(offered.begin(), offered.end(), kind) != offered.end(),
                "loss.kind={} is not offered by task '{}' (it trains {}{}{})", kind, task->name(),
                fmt::join(lm_loss_kinds(), ", "), offered.empty() ? "" : ", ", fmt::join(offered, ", "));
  }
  if (kind == "binary") return preference_objective(cfg, tok, std::move(pairs));
  throw Error(fmt::format("loss.kind={} has no training objective", kind));
}

}  // namespace dist2
