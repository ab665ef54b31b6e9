#include "dist2/train/trainer.h"

#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include "dist2/loss/fused.h"
#include "dist2/train/batch.h"
#include "dist2/train/device.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/progress.h"
#include "dist2/util/splitmix.h"

namespace dist2 {

uint64_t mix_seed(uint64_t a, uint64_t b) { return splitmix64_pair(a, b); }

GptOptions gpt_options(const config::Config& cfg, int64_t vocab_size) {
  GptOptions o;
  o.vocab_size = vocab_size;
  o.context = cfg.get_int("model.context");
  o.n_layer = cfg.get_int("model.n_layer");
  o.d_model = cfg.get_int("model.d_model");
  o.n_head = cfg.get_int("model.n_head");
  o.dropout = cfg.get_double("model.dropout");
  if (cfg.has("model.image_size")) {
    o.image_size = cfg.get_int("model.image_size");
    o.image_channels = cfg.get_int("model.image_channels");
    o.max_images = cfg.get_int("model.max_images");
    o.patch_size = cfg.get_int("model.patch_size");
    o.patch_hidden = cfg.get_int("model.patch_hidden");
    o.patch_context = cfg.get_int("model.patch_context");
  }
  return o;
}

Trainer::Trainer(const config::Config& cfg, const Tokenizer& tok, const MetricSpace& metric, const LossOptions& loss,
                 const Task* task)
    : cfg_(cfg), tok_(tok), metric_(metric), loss_(loss), task_(task), seed_(static_cast<uint64_t>(cfg.get_int("seed"))) {
  device_ = resolve_device(cfg.get_string("train.device"));
  torch::manual_seed(mix_seed(seed_, 1));  // init depends on the seed only, not on the loss
  GptOptions o = gpt_options(cfg, tok.vocab_size());
  o.scalar_head = kind_needs_scalar_head(cfg.get_string("loss.kind"));
  model_ = Gpt(o);  // initialised on the CPU, so a seed gives the same weights on every device
  model_->to(device_);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      model_->parameters(), torch::optim::AdamWOptions(cfg.get_double("train.lr"))
                                .betas({0.9, 0.95})
                                .weight_decay(cfg.get_double("train.weight_decay")));
}

int64_t Trainer::total_steps(int64_t n_train) const {
  const double epochs = cfg_.get_double("train.epochs");
  if (epochs <= 0) return cfg_.get_int("train.steps");
  const double per_epoch = static_cast<double>(n_train) / static_cast<double>(cfg_.get_int("train.batch_size"));
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * per_epoch)));
}

std::vector<int64_t> Trainer::indices_for_step(int64_t n, int64_t step, int64_t B) const {
  // Sample stream = epoch permutations back to back; step s takes [s B, (s + 1) B).
  std::vector<int64_t> out;
  int64_t cached_epoch = -1;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t k = step * B; k < (step + 1) * B; ++k) {
    const int64_t epoch = k / n;
    if (epoch != cached_epoch) {
      std::iota(perm.begin(), perm.end(), 0);
      std::mt19937_64 rng(mix_seed(seed_, 1000 + static_cast<uint64_t>(epoch)));
      std::shuffle(perm.begin(), perm.end(), rng);
      cached_epoch = epoch;
    }
    out.push_back(perm[static_cast<size_t>(k % n)]);
  }
  return out;
}

double Trainer::lr_at(int64_t step, int64_t total) const {
  const double peak = cfg_.get_double("train.lr"), floor = peak * cfg_.get_double("train.min_lr_ratio");
  const int64_t warmup = cfg_.get_int("train.warmup_steps");
  if (step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double frac = total > warmup ? static_cast<double>(step - warmup) / static_cast<double>(total - warmup) : 0.0;
  return floor + (peak - floor) * (1.0 - frac);
}

bool Trainer::train(const std::vector<Example>& data, const TrainHooks& hooks) {
  DIST2_CHECK(!data.empty(), "no training examples");
  const int64_t total = total_steps(static_cast<int64_t>(data.size()));
  const int64_t log_every = cfg_.get_int("train.log_every"), ckpt_every = cfg_.get_int("train.checkpoint_every");
  const double clip = cfg_.get_double("train.grad_clip");
  model_->train();
  // Pairs only for a pair objective: a language-model step never asks the task for them.
  const bool pair_objective = !is_lm_loss_kind(cfg_.get_string("loss.kind"));
  auto pairs = !pair_objective || !pairs_.empty() || task_ == nullptr ? pairs_ : task_->preference_pairs(data);
  auto objective = make_objective(cfg_, tok_, metric_, loss_, task_, std::move(pairs));
  const int64_t items = objective->item_count(data);
  const int64_t per_step = items_per_step(cfg_.get_int("train.batch_size"), *objective);
  const int world = pg_ ? pg_->world() : 1;
  DIST2_CHECK(per_step >= world, "{} ranks need at least {} items per step, and train.batch_size gives {}", world,
              world, per_step);
  if (world > 1) {
    objective->set_process_group(pg_);
    broadcast_parameters(*pg_, model_->parameters());  // every rank starts from rank 0's weights
  }
  Progress progress("train", total, hooks.show_progress);
  double sum_loss = 0, sum_ce = 0, sum_aux = 0;
  int64_t window = 0;
  while (step_ < total) {
    bool stop = hooks.should_stop && hooks.should_stop();
    if (world > 1) stop = pg_->sum(stop ? 1.0 : 0.0) > 0;  // all ranks stop at the same step
    if (stop) return false;
    const double lr = lr_at(step_, total);
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);

    optimizer_->zero_grad();
    std::vector<int64_t> picked = indices_for_step(items, step_, per_step);
    if (world > 1) {  // this rank's contiguous shard of the global batch
      const auto [begin, end] = shard_range(static_cast<int64_t>(picked.size()), pg_->rank(), world);
      picked = std::vector<int64_t>(picked.begin() + begin, picked.begin() + end);
    }
    LossTerms terms = objective->step(model_, data, picked, mix_seed(seed_, 5000000 + static_cast<uint64_t>(step_)));
    if (impl_used_.empty()) impl_used_ = objective->impl_used(), fallback_reason_ = objective->fallback_reason();
    double loss_value = terms.total.item<double>(), ce_value = terms.ce.item<double>(), aux_value = terms.aux.item<double>();
    if (world > 1) {  // the shards' shares add up to the global batch's loss
      std::vector<torch::Tensor> v{torch::tensor({loss_value, ce_value, aux_value}, torch::kFloat64)};
      pg_->allreduce_sum(v);
      loss_value = v[0][0].item<double>(), ce_value = v[0][1].item<double>(), aux_value = v[0][2].item<double>();
    }
    DIST2_CHECK(std::isfinite(loss_value), "non-finite loss {} at step {}", loss_value, step_);
    terms.total.backward();
    if (world > 1) allreduce_gradients(*pg_, model_->parameters());
    if (clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), clip);
    optimizer_->step();
    ++step_;

    sum_loss += loss_value, sum_ce += ce_value, sum_aux += aux_value, ++window;
    if (step_ % log_every == 0 || step_ == total) {
      if (hooks.on_log)
        hooks.on_log(step_, {{"loss", sum_loss / window}, {"ce", sum_ce / window}, {"aux", sum_aux / window}, {"lr", lr}});
      progress.update(step_, fmt::format("loss {:.4f}", sum_loss / window));
      sum_loss = sum_ce = sum_aux = 0, window = 0;
    }
    if (hooks.on_checkpoint && ckpt_every > 0 && step_ % ckpt_every == 0 && step_ < total) hooks.on_checkpoint(step_);
  }
  progress.finish();
  if (hooks.on_checkpoint) hooks.on_checkpoint(step_);
  return true;
}

void Trainer::save_checkpoint(const std::string& path) const {
  torch::serialize::OutputArchive archive, model_ar, opt_ar;
  model_->save(model_ar);
  optimizer_->save(opt_ar);
  archive.write("model", model_ar);
  archive.write("optimizer", opt_ar);
  archive.write("step", torch::tensor(step_, torch::kInt64));
  std::ostringstream bytes;
  archive.save_to(bytes);
  // Synced, renamed into place and checksummed: a crash leaves the previous
  // checkpoint, and a damaged file is refused at load instead of misread.
  write_file_checksummed(path, bytes.str());
}

void Trainer::save_weights(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  model_->save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_checksummed(path, bytes.str());
}

void Trainer::load_backbone(const std::string& path) {
  std::istringstream bytes(read_file_checksummed(path));
  GptOptions o = model_->options();
  o.scalar_head = false;
  Gpt backbone(o);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(bytes, torch::Device(torch::kCPU));  // a backbone saved on any device
    backbone->load(archive);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("backbone '{}' is unreadable or from another model: {}", path,
                            std::string(e.what_without_backtrace()).substr(0, 200)));
  }
  copy_matching_parameters(backbone, model_);
}

void Trainer::load_checkpoint(const std::string& path) {
  DIST2_CHECK(std::filesystem::exists(path), "no checkpoint at '{}'", path);
  std::istringstream bytes(read_file_checksummed(path));
  torch::serialize::InputArchive archive, model_ar, opt_ar;
  try {
    archive.load_from(bytes, device_);  // a checkpoint from any device resumes on this one
    archive.read("model", model_ar);
    archive.read("optimizer", opt_ar);
    model_->load(model_ar);
    optimizer_->load(opt_ar);
    torch::Tensor step;
    archive.read("step", step);
    step_ = step.item<int64_t>();
  } catch (const c10::Error& e) {
    throw Error(fmt::format("checkpoint '{}' is unreadable or from another model: {}", path,
                            std::string(e.what_without_backtrace()).substr(0, 200)));
  }
}

}  // namespace dist2
