#include "dist2/train/schema.h"

#include "dist2/loss/soft_target.h"
#include <algorithm>

#include "dist2/tasks/task.h"
#include "dist2/train/objective.h"
#include "dist2/util/error.h"

namespace dist2 {

namespace {
// The language-model kinds, then each task's extra kinds (binary), once each.
std::vector<std::string> loss_kind_choices() {
  std::vector<std::string> kinds = lm_loss_kinds();
  for (const auto& name : task_names())
    for (const auto& k : make_task(name)->extra_loss_kinds())
      if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  return kinds;
}
}  // namespace

config::Schema pipeline_schema() {
  config::Schema s;
  s.add_int("seed", 1, 0, {}, "seed of data, init and batch order (the same seed pairs runs across losses)");
  s.add_string("task.name", "regression", task_names(), "task adapter");
  s.add_string("tokenizer.numbers", "digits", {"digits", "chunk3"}, "number splitting: digits (0-9) or chunk3 (0-999)");

  s.add_int("model.n_layer", 2, 1, {}, "transformer blocks");
  s.add_int("model.d_model", 64, 8, {}, "model width");
  s.add_int("model.n_head", 4, 1, {}, "attention heads");
  s.add_int("model.context", 64, 8, {}, "maximum sequence length");
  s.add_float("model.dropout", 0.0, 0.0, 0.9, "dropout", false);

  s.add_int("train.steps", 1000, 1, {}, "optimizer steps (unless train.epochs > 0)");
  s.add_float("train.epochs", 0.0, 0.0, {}, "if > 0: steps = ceil(epochs * n_train / batch_size)", false);
  s.add_int("train.batch_size", 64, 1, {}, "sequences per step");
  s.add_float("train.lr", 1e-3, 0.0, {}, "peak learning rate (AdamW)", true);
  s.add_float("train.min_lr_ratio", 0.0, 0.0, 1.0, "final lr as a share of the peak (linear decay)", false);
  s.add_int("train.warmup_steps", 0, 0, {}, "linear warmup steps");
  s.add_float("train.weight_decay", 0.01, 0.0, {}, "AdamW weight decay", false);
  s.add_float("train.grad_clip", 1.0, 0.0, {}, "clip the gradient norm (0 = off)", false);
  s.add_int("train.log_every", 50, 1, {}, "steps between logged training losses");
  s.add_int("train.checkpoint_every", 0, 0, {}, "steps between checkpoints (0 = only at the end)");
  s.add_string("train.device", "cpu", {"cpu", "cuda", "auto"},
               "where the run computes: cpu, cuda (the fused CUDA kernel is the loss), or auto (cuda when LibTorch sees a GPU); not part of the config hash");
  s.not_hashed("train.device");

  s.add_string("loss.kind", "dist", loss_kind_choices(),
               "loss (binary: a scalar head trained on preference pairs, the reward task's baseline)");
  s.add_float("loss.alpha", 0.1, 0.0, {}, "weight of the auxiliary term (paper: 0.1)", false);
  s.add_float("loss.tau", 2.0, 0.0, {}, "soft-target temperature (tau = 2 sigma^2; 2 = unit-variance Gaussian)", true);
  s.add_float("loss.sigma", 0.0, 0.0, {}, "if > 0: tau = 2 sigma^2 (overrides loss.tau)", false);
  s.add_float("loss.entropy", 0.0, 0.0, {}, "if > 0: tau by entropy matching to this mean entropy (nats)", false);
  s.add_string("loss.metric", "sq", {"sq", "abs", "permuted", "random", "mse", "cosine"},
               "distance over V_d: sq or abs over token values; permuted (the sanity check: sq over the task's label values randomly permuted) or random (uniform random table); mse or cosine over token embeddings (tasks with embedding metrics)");
  s.add_int("loss.metric_seed", 0, 0, {}, "seed of loss.metric=random; for permuted, mixed with the run's seed");
  s.add_string("loss.q", "subvocab", {"subvocab", "full"}, "q renormalised over V_d (subvocab) or the full softmax (full)");
  s.add_float("loss.smoothing", 0.1, 0.0, 1.0, "eps of label_smoothing", false);
  s.add_bool("loss.place_weighting", false, "weight metric positions by place value (appendix A.2)");
  s.add_bool("loss.contrastive", false, "contrastive target augmentation (appendix A.2)");
  s.add_string("loss.impl", "fused", {"fused", "reference", "fused_linear"}, "loss implementation: fused kernels (kernels/), the LibTorch reference they are tested against, or fused_linear (the LM head's projection fused with the loss, chunked: the logits are never held)");

  s.add_int("backbone.pretrain_steps", 0, 0, {}, "if > 0: start from a backbone pretrained this many steps on the task's corpus (cached in the store)");
  s.add_int("backbone.batch_size", 64, 1, {}, "pretraining sequences per step");
  s.add_float("backbone.lr", 2e-3, 0.0, {}, "pretraining peak learning rate", true);
  s.add_int("backbone.seed", 0, 0, {}, "seed of the backbone's init and batch order (one backbone serves every run seed)");

  s.add_string("eval.decoding", "greedy", {"greedy", "expected"}, "greedy, or expected (sum of v q(v) per number token)");
  s.add_int("eval.batch_size", 250, 1, {}, "prompts per decoding batch");
  return s;
}

config::Schema experiment_schema(const std::string& task_name) {
  config::Schema s = pipeline_schema();
  // No task named (an experiment file without task.name): the pipeline's keys,
  // whose default task.name Experiment::load then asks for.
  if (task_name.empty()) return s;
  s.merge(make_task(task_name)->schema());
  return s;
}

Tokenizer tokenizer_for(const config::Config& cfg) {
  return Tokenizer(parse_number_split(cfg.get_string("tokenizer.numbers")),
                   make_task(cfg.get_string("task.name"))->added_tokens(cfg));
}

MetricSpace metric_space(const config::Config& cfg, const Tokenizer& tok) {
  return metric_space(cfg, make_task(cfg.get_string("task.name"))->metric_tokens(cfg, tok));
}

MetricSpace metric_space(const config::Config& cfg, const MetricTokens& m) {
  const std::string name = cfg.get_string("loss.metric");
  const MetricKind kind = parse_metric_kind(name);
  DIST2_CHECK(!m.token_ids.empty(), "task '{}' has no metric tokens", cfg.get_string("task.name"));
  if (kind == MetricKind::embedding_mse || kind == MetricKind::embedding_cosine) {
    DIST2_CHECK(!m.embeddings.empty(), "loss.metric={} needs token embeddings, and the metric tokens of task '{}' have values only (use sq, abs or random)",
                name, cfg.get_string("task.name"));
    auto emb = torch::tensor(m.embeddings, torch::kFloat64).view({static_cast<int64_t>(m.token_ids.size()), m.dim});
    return MetricSpace::embedding(m.token_ids, emb, kind);
  }
  DIST2_CHECK(!m.values.empty(), "loss.metric={} needs token values, and the metric tokens of task '{}' have embeddings only (use mse or cosine)",
              name, cfg.get_string("task.name"));
  if (kind == MetricKind::permuted)  // one permutation per run seed, so seeds do not share one table
    return MetricSpace::permuted(m.token_ids, m.values,
                                 static_cast<uint64_t>(cfg.get_int("seed")) * 0x9E3779B97F4A7C15ull +
                                     static_cast<uint64_t>(cfg.get_int("loss.metric_seed")),
                                 m.label_values);
  MetricSpace space = kind == MetricKind::random
                          ? MetricSpace::random(m.token_ids, m.values, static_cast<uint64_t>(cfg.get_int("loss.metric_seed")))
                          : MetricSpace::scalar(m.token_ids, m.values, kind);
  space.set_label_values(m.label_values);
  return space;
}

LossOptions loss_options(const config::Config& cfg, const MetricSpace& metric) {
  LossOptions o;
  // A task's own objective (binary) trains no LM loss: its LossOptions are unused.
  const std::string kind = cfg.get_string("loss.kind");
  o.kind = is_lm_loss_kind(kind) ? parse_loss_kind(kind) : LossKind::sft;
  o.alpha = cfg.get_double("loss.alpha");
  o.tau = cfg.get_double("loss.tau");
  if (cfg.get_double("loss.sigma") > 0) o.tau = tau_from_sigma(cfg.get_double("loss.sigma"));
  if (cfg.get_double("loss.entropy") > 0) o.tau = tau_for_entropy(metric, cfg.get_double("loss.entropy"));
  o.smoothing = cfg.get_double("loss.smoothing");
  o.q = parse_qnorm(cfg.get_string("loss.q"));
  return o;
}

std::string tau_spelling(const config::Config& cfg, double tau) {
  if (cfg.get_double("loss.entropy") > 0) return fmt::format("entropy={} (tau={:.4g})", cfg.get_double("loss.entropy"), tau);
  if (cfg.get_double("loss.sigma") > 0) return fmt::format("sigma={} (tau={:.4g})", cfg.get_double("loss.sigma"), tau);
  return fmt::format("tau={:.4g}", tau);
}

}  // namespace dist2
