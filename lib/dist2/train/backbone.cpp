#include "dist2/train/backbone.h"

#include <cmath>
#include <set>

#include "dist2/train/predictor.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/error.h"
#include "dist2/util/file_lock.h"
#include "dist2/util/files.h"
#include "dist2/util/hash.h"
#include "dist2/util/json.h"
#include "dist2/util/signals.h"

namespace dist2 {

bool uses_backbone(const config::Config& cfg) { return cfg.get_int("backbone.pretrain_steps") > 0; }

namespace {

// The config a backbone is pretrained under: the run's model and tokenizer, the
// backbone.* settings, plain next-token prediction (sft) on every token.
config::Config pretraining_config(const config::Config& cfg) {
  config::Config p = cfg;
  const int64_t steps = cfg.get_int("backbone.pretrain_steps");
  p.set("seed", config::Value{cfg.get_int("backbone.seed")});
  p.set("train.steps", config::Value{steps});
  p.set("train.epochs", config::Value{0.0});
  p.set("train.batch_size", config::Value{cfg.get_int("backbone.batch_size")});
  p.set("train.lr", config::Value{cfg.get_double("backbone.lr")});
  p.set("train.warmup_steps", config::Value{std::max<int64_t>(1, steps / 20)});
  p.set("train.log_every", config::Value{std::max<int64_t>(1, steps / 20)});
  p.set("loss.kind", config::Value{std::string("sft")});
  p.set("loss.place_weighting", config::Value{false});
  p.set("loss.contrastive", config::Value{false});
  return p;
}

// The hash covers the model, tokenizer and backbone.* keys and the corpus itself
// (text, and the pixels of any images), not the run's seed or loss.
std::string backbone_id(const config::Config& cfg, const std::vector<Example>& corpus) {
  std::string canonical;
  for (const auto& [key, value] : cfg.values())
    if (key.rfind("model.", 0) == 0 || key.rfind("backbone.", 0) == 0 || key == "tokenizer.numbers" ||
        key == "task.name")
      canonical += key + "=" + cfg.value_string(key) + "\n";
  uint64_t h = fnv1a64(canonical);
  for (const auto& doc : corpus) {
    h = fnv1a64(doc.prompt + doc.completion + "\n", h);
    for (const auto& img : doc.images)
      h = fnv1a64(std::string_view(reinterpret_cast<const char*>(img.pixels.data()), img.pixels.size() * sizeof(float)), h);
  }
  return cfg.get_string("task.name") + "-" + hex16(h);
}

bool read_manifest(const std::string& dir, Backbone& b) {
  if (!file_exists(dir + "/manifest.json") || !file_exists(b.weights_path)) return false;
  const auto v = json::parse(read_file(dir + "/manifest.json"));
  b.knowledge_accuracy = json::reading([&] {
    const auto& a = v.at("knowledge_accuracy");
    return a.is_null() ? NAN : a.get<double>();  // null: it was not a number
  });
  return true;
}

}  // namespace

Backbone load_or_pretrain_backbone(const config::Config& cfg, const Task& task, const std::string& store_dir,
                                   bool show_progress) {
  const auto docs = task.pretraining_examples(cfg);
  DIST2_CHECK(!docs.empty(), "task '{}' has no pretraining corpus; set backbone.pretrain_steps=0", task.name());
  Backbone b;
  b.id = backbone_id(cfg, docs);
  const std::string dir = store_dir + "/backbones/" + b.id;
  b.weights_path = dir + "/weights.pt";
  make_dirs(store_dir + "/backbones");
  FileLock lock(dir + ".lock");
  if (read_manifest(dir, b)) {
    b.from_cache = true;
    return b;
  }
  const config::Config pcfg = pretraining_config(cfg);
  const Tokenizer tok = tokenizer_for(pcfg);
  const MetricSpace metric = metric_space(pcfg, tok);
  const LossOptions loss = loss_options(pcfg, metric);
  Trainer trainer(pcfg, tok, metric, loss, &task);
  TrainHooks hooks;
  hooks.show_progress = show_progress;
  hooks.on_log = [&](int64_t step, const std::map<std::string, double>& v) {
    if (show_progress) return;
    fmt::print("backbone {} step {} loss {:.4f}\n", b.id, step, v.at("loss"));
    std::fflush(stdout);
  };
  hooks.should_stop = [] { return stop_requested(); };  // a stop signal does not wait for the whole pretraining
  DIST2_CHECK(trainer.train(docs, hooks), "backbone pretraining was stopped by signal {} at step {}", stop_signal(),
              trainer.step());
  GptPredictor predictor(trainer.model(), tok, pcfg.get_int("eval.batch_size"));
  b.knowledge_accuracy = knowledge_accuracy(task.knowledge_questions(pcfg), predictor);
  make_dirs(dir);
  trainer.save_weights(b.weights_path);
  // The manifest last: a backbone without one is incomplete and pretrained again.
  json::Json manifest;
  manifest["id"] = b.id;
  manifest["steps"] = pcfg.get_int("train.steps");
  manifest["documents"] = docs.size();
  manifest["knowledge_accuracy"] = b.knowledge_accuracy;
  write_file_atomic(dir + "/manifest.json", json::dump(manifest) + "\n");
  return b;
}

void prepare_backbones(const std::vector<config::Config>& configs, const std::string& store_dir) {
  std::set<std::string> seen;
  for (const auto& cfg : configs) {
    if (!uses_backbone(cfg)) continue;
    const Backbone b = load_or_pretrain_backbone(cfg, *make_task(cfg.get_string("task.name")), store_dir, true);
    if (seen.insert(b.id).second)
      fmt::print("backbone {}: {} (knowledge accuracy {:.3f})\n", b.id, b.from_cache ? "cached" : "pretrained",
                 b.knowledge_accuracy);
  }
  std::fflush(stdout);
}

bool uses_shared_models(const config::Config& cfg) {
  return uses_backbone(cfg) || make_task(cfg.get_string("task.name"))->has_shared_models(cfg);
}

void prepare_shared_models(const std::vector<config::Config>& configs, const std::string& store_dir) {
  set_asset_dir(store_dir + "/assets");
  std::set<std::string> said;
  for (const auto& cfg : configs) {
    const std::string line = make_task(cfg.get_string("task.name"))->prepare_shared(cfg);
    if (!line.empty() && said.insert(line).second) fmt::print("{}\n", line);
  }
  std::fflush(stdout);
  prepare_backbones(configs, store_dir);
}

}  // namespace dist2
