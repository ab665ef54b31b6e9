#include "dist2/train/schema.h"

#include "dist2/loss/soft_target.h"
#include "dist2/tasks/schema_util.h"
#include "dist2/tasks/task.h"
#include "dist2/util/error.h"

namespace dist2 {

config::Schema pipeline_schema() {
  config::Schema s;
  add_int(s, "seed", 1, 0, "seed of data, init and batch order (the same seed pairs runs across losses)");
  add_string(s, "task.name", "regression", "task adapter", task_names());
  add_string(s, "tokenizer.numbers", "digits", "number splitting: digits (0-9) or chunk3 (0-999)",
             {"digits", "chunk3"});

  add_int(s, "model.n_layer", 2, 1, "transformer blocks");
  add_int(s, "model.d_model", 64, 8, "model width");
  add_int(s, "model.n_head", 4, 1, "attention heads");
  add_int(s, "model.context", 64, 8, "maximum sequence length");
  add_float(s, "model.dropout", 0.0, 0.0, "dropout", false, 0.9);

  add_int(s, "train.steps", 1000, 1, "optimizer steps (unless train.epochs > 0)");
  add_float(s, "train.epochs", 0.0, 0.0, "if > 0: steps = ceil(epochs * n_train / batch_size)");
  add_int(s, "train.batch_size", 64, 1, "sequences per step");
  add_float(s, "train.lr", 1e-3, 0.0, "peak learning rate (AdamW)", true);
  add_float(s, "train.min_lr_ratio", 0.0, 0.0, "final lr as a share of the peak (linear decay)", false, 1.0);
  add_int(s, "train.warmup_steps", 0, 0, "linear warmup steps");
  add_float(s, "train.weight_decay", 0.01, 0.0, "AdamW weight decay");
  add_float(s, "train.grad_clip", 1.0, 0.0, "clip the gradient norm (0 = off)");
  add_int(s, "train.log_every", 50, 1, "steps between logged training losses");
  add_int(s, "train.checkpoint_every", 0, 0, "steps between checkpoints (0 = only at the end)");

  add_string(s, "loss.kind", "dist", "loss", {"sft", "vocab", "label_smoothing", "dist", "ntl_was", "ntl_mse"});
  add_float(s, "loss.alpha", 0.1, 0.0, "weight of the auxiliary term (paper: 0.1)");
  add_float(s, "loss.tau", 2.0, 0.0, "soft-target temperature (tau = 2 sigma^2; 2 = unit-variance Gaussian)", true);
  add_float(s, "loss.sigma", 0.0, 0.0, "if > 0: tau = 2 sigma^2 (overrides loss.tau)");
  add_float(s, "loss.entropy", 0.0, 0.0, "if > 0: tau by entropy matching to this mean entropy (nats)");
  add_string(s, "loss.metric", "sq", "distance over V_d: sq, abs, or random (the sanity check)",
             {"sq", "abs", "random"});
  add_int(s, "loss.metric_seed", 0, 0, "seed of loss.metric=random");
  add_string(s, "loss.q", "subvocab", "q renormalised over V_d (subvocab) or the full softmax (full)",
             {"subvocab", "full"});
  add_float(s, "loss.smoothing", 0.1, 0.0, "eps of label_smoothing", false, 1.0);
  add_bool(s, "loss.place_weighting", false, "weight metric positions by place value (appendix A.2)");
  add_bool(s, "loss.contrastive", false, "contrastive target augmentation (appendix A.2)");
  add_string(s, "loss.impl", "reference", "loss implementation", {"reference", "fused"});

  add_string(s, "eval.decoding", "greedy", "greedy, or expected (sum of v q(v) per number token)",
             {"greedy", "expected"});
  add_int(s, "eval.batch_size", 250, 1, "prompts per decoding batch");
  return s;
}

config::Schema experiment_schema(const std::string& task_name) {
  config::Schema s = pipeline_schema();
  s.merge(make_task(task_name)->schema());
  return s;
}

Tokenizer tokenizer_for(const config::Config& cfg) {
  return Tokenizer(parse_number_split(cfg.get_string("tokenizer.numbers")));
}

MetricSpace metric_space(const config::Config& cfg, const Tokenizer& tok) {
  const std::string m = cfg.get_string("loss.metric");
  if (m == "random")
    return MetricSpace::random(tok.number_token_ids(), tok.number_token_values(),
                               static_cast<uint64_t>(cfg.get_int("loss.metric_seed")));
  return MetricSpace::scalar(tok.number_token_ids(), tok.number_token_values(), parse_metric_kind(m));
}

LossOptions loss_options(const config::Config& cfg, const MetricSpace& metric) {
  LossOptions o;
  o.kind = parse_loss_kind(cfg.get_string("loss.kind"));
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
