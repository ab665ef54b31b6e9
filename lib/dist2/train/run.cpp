#include "dist2/train/run.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "dist2/config/experiment.h"
#include "dist2/imagegen/assets.h"
#include "dist2/imagegen/samples.h"
#include "dist2/imagegen/task.h"
#include "dist2/loss/soft_target.h"
#include "dist2/store/store.h"
#include "dist2/tasks/dataset_cache.h"
#include "dist2/train/backbone.h"
#include "dist2/train/device.h"
#include "dist2/train/distributed.h"
#include "dist2/train/objective.h"
#include "dist2/train/predictor.h"
#include "dist2/train/resources.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/csv.h"
#include "dist2/util/allocator.h"
#include "dist2/util/blas_kernels.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/signals.h"
#include "dist2/util/process.h"
#include "dist2/util/threads.h"

namespace dist2 {

namespace {

// The run's params: every key of its identity. Keys outside the config hash
// (train.device) are left out, so runs of one trial on two devices do not read
// as a cell of mixed configurations; the device is the run's `device` tag.
std::map<std::string, std::string> params_of(const config::Config& cfg) {
  std::map<std::string, std::string> p;
  for (const auto& [key, value] : cfg.values()) {
    const config::KeySpec* spec = cfg.schema() ? cfg.schema()->find(key) : nullptr;
    if (spec == nullptr || spec->hashed) p[key] = cfg.value_string(key);
  }
  return p;
}

std::vector<store::MetricRow> rows_of(const std::string& run, const std::string& split, int64_t step,
                                      const std::map<std::string, double>& values) {
  std::vector<store::MetricRow> rows;
  for (const auto& [name, value] : values) rows.push_back({run, split, name, step, value, ""});
  return rows;
}

struct Prepared {
  std::unique_ptr<Task> task;
  CachedDataset data;
  Tokenizer tok;
  MetricSpace metric;
  LossOptions loss;
};

Prepared prepare_run(const config::Config& cfg, const std::string& store_dir) {
  set_asset_dir(store_dir + "/assets");
  auto task = make_task(cfg.get_string("task.name"));
  auto data = load_or_generate(*task, cfg, store_dir + "/datasets");
  Tokenizer tok = tokenizer_for(cfg);
  MetricSpace metric = metric_space(cfg, tok);
  LossOptions loss = loss_options(cfg, metric);
  return {std::move(task), std::move(data), std::move(tok), std::move(metric), loss};
}

// What a model knows of the backbone's pretraining (Table 7), as prefix + "accuracy" and "log_loss".
void add_knowledge_metrics(const config::Config& cfg, const Task& task, Predictor& model, const std::string& prefix,
                           std::map<std::string, double>& metrics) {
  const KnowledgeScores k = knowledge_scores(task.knowledge_questions(cfg), model);
  metrics[prefix + "accuracy"] = k.accuracy;
  if (!std::isnan(k.log_loss)) metrics[prefix + "log_loss"] = k.log_loss;
}

// The task's metrics, plus what the model kept of its backbone's pretraining
// knowledge when it was fine-tuned from one (paper Table 7).
std::map<std::string, double> evaluate_all(const config::Config& cfg, const Task& task, const Dataset& data,
                                           Predictor& predictor, std::vector<ExampleScore>& scores) {
  auto metrics = task.evaluate_examples(cfg, data, predictor, scores);
  if (uses_backbone(cfg)) add_knowledge_metrics(cfg, task, predictor, "pretrain.", metrics);
  return metrics;
}

// What the steps ran (loss.impl_used), and why not the fused kernel when
// loss.impl asked for it (loss.impl_fallback), as tags; false before the first step.
bool record_loss_impl(store::Store& st, const std::string& run_id, const Trainer& trainer) {
  if (trainer.loss_impl_used().empty()) return false;
  st.set_tag(run_id, "loss.impl_used", trainer.loss_impl_used());
  if (!trainer.loss_fallback_reason().empty()) st.set_tag(run_id, "loss.impl_fallback", trainer.loss_fallback_reason());
  return true;
}

// Per-example scores as CSV beside the run's checkpoint, logged as the "examples" artifact.
void log_example_scores(store::Store& st, const std::string& run_id, const std::string& name,
                        const std::vector<ExampleScore>& scores) {
  if (scores.empty()) return;
  std::string csv = "index,group,score,prompt,truth,prediction\n";
  for (const auto& e : scores)
    csv += fmt::format("{},{},{},{},{},{}\n", e.index, csv_field(e.group), e.score, csv_field(e.prompt),
                       csv_field(e.truth), csv_field(e.prediction));
  const std::string path = st.run_dir(run_id) + "/" + name + ".csv";
  write_file_atomic(path, csv);
  st.log_artifact(run_id, name, path);
}

// Where the run is recorded: the cluster job's shard, else the store.
const std::string& runs_store(const RunRequest& req) { return req.shard_dir.empty() ? req.store_dir : req.shard_dir; }

// The trial's latest run when it is interrupted (a later start resumes it), else "".
std::string interrupted_trial_run(store::Store& st, const std::string& config_hash) {
  const auto latest = st.latest_run(config_hash);
  return latest && latest->status == "interrupted" ? latest->id : "";
}

// How long a rank waits for the others to join (DIST2_RENDEZVOUS_TIMEOUT_S, default 300 s).
std::chrono::milliseconds rendezvous_timeout() {
  const char* v = std::getenv("DIST2_RENDEZVOUS_TIMEOUT_S");
  const double s = v && *v ? std::atof(v) : 300.0;
  DIST2_CHECK(s > 0, "DIST2_RENDEZVOUS_TIMEOUT_S must be a number of seconds > 0, got '{}'", v ? v : "");
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

// Ranks 1..N-1 of `dist2 train --nproc N`, started by rank 0 with the same
// command and the rendezvous in their environment; they die with it, and a
// rank 0 that fails stops them.
class LocalRanks {
 public:
  LocalRanks(const LocalRanks&) = delete;
  LocalRanks& operator=(const LocalRanks&) = delete;
  LocalRanks(const RunRequest& req, const Rendezvous& rz, const std::string& log_dir) {
    std::vector<std::string> args{self_executable(), "--threads", std::to_string(threads_requested()), "train",
                                  req.experiment_path, "--profile", req.profile, "--store", req.store_dir,
                                  "--no-progress"};
    if (!req.shard_dir.empty()) args.insert(args.end(), {"--shard", req.shard_dir});
    // Rank 0 has decided which run this is: the others follow it, not their own lookup.
    if (!req.resume_run.empty()) args.insert(args.end(), {"--resume", req.resume_run});
    else args.push_back("--fresh");
    args.insert(args.end(), req.overrides.begin(), req.overrides.end());
    for (int r = 1; r < rz.world; ++r)
      pids_.push_back(spawn_child(args,
                                  {{"RANK", std::to_string(r)}, {"WORLD_SIZE", std::to_string(rz.world)},
                                   {"MASTER_ADDR", rz.addr}, {"MASTER_PORT", std::to_string(rz.port)}},
                                  fmt::format("{}/rank{}.log", log_dir, r)));
  }
  ~LocalRanks() {
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
    for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
  }
  // Waits for every rank to exit; "" when all finished, else which did not.
  std::string wait_all() {
    std::string why;
    for (size_t i = 0; i < pids_.size(); ++i) {
      int status = 0;
      ::waitpid(pids_[i], &status, 0);
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && why.empty())
        why = fmt::format("rank {} exited with {} {}", i + 1, WIFEXITED(status) ? "status" : "signal",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    pids_.clear();
    return why;
  }

 private:
  std::vector<pid_t> pids_;
};

// A rank other than 0: the same data, model and steps as rank 0, nothing
// recorded; its gradients join rank 0's through the process group.
RunOutcome run_rank(const RunRequest& req, const Rendezvous& rz) {
  config::Config cfg;
  std::string ckpt;
  if (!req.resume_run.empty()) {
    store::Store st(runs_store(req));  // read for the run's config and checkpoint only
    const auto info = st.get_run(req.resume_run);
    DIST2_CHECK(info.has_value(), "no run '{}' in store {}", req.resume_run, runs_store(req));
    cfg = config::Config::from_yaml_string(info->config, experiment_schema(info->task));
    ckpt = st.run_dir(info->id) + "/checkpoint.pt";
  } else {
    cfg = config::Experiment::load(req.experiment_path, req.profile, config::parse_overrides(req.overrides),
                                   experiment_schema)
              .base();
    // Under an external launcher rank 0 may be resuming the trial: follow the
    // trial's latest run when it is interrupted or running (rank 0 reopened it).
    // A run rank 0 just created has no checkpoint yet: none is written before
    // every rank has joined.
    if (!req.fresh && store::Store::exists(runs_store(req))) {
      store::Store st(runs_store(req));
      const auto latest = st.latest_run(cfg.hash());
      if (latest && (latest->status == "interrupted" || latest->status == "running"))
        ckpt = st.run_dir(latest->id) + "/checkpoint.pt";
    }
  }
  install_stop_handlers();
  Prepared p = prepare_run(cfg, req.store_dir);
  std::optional<Backbone> backbone;
  if (uses_backbone(cfg)) backbone = load_or_pretrain_backbone(cfg, *p.task, req.store_dir, false);
  Trainer trainer(cfg, p.tok, p.metric, p.loss, p.task.get());
  if (!ckpt.empty() && std::filesystem::exists(ckpt)) trainer.load_checkpoint(ckpt);
  else if (backbone) trainer.load_backbone(backbone->weights_path);
  const auto pg = ProcessGroup::connect(rz, rendezvous_timeout());
  trainer.set_process_group(pg.get());
  TrainHooks hooks;
  hooks.show_progress = false;
  hooks.should_stop = [] { return stop_requested(); };
  const bool completed = trainer.train(p.data.data.train, hooks);
  return {"", completed ? "finished" : "interrupted", {}};
}

}  // namespace

RunOutcome run_experiment(const RunRequest& request) {
  RunRequest req = request;
  DIST2_CHECK(req.nproc >= 1, "--nproc must be >= 1, got {}", req.nproc);
  Rendezvous rz = rendezvous_from_env();
  if (req.nproc > 1) {
    DIST2_CHECK(rz.world == 1, "--nproc {} under a launcher that already set WORLD_SIZE={}: use one or the other",
                req.nproc, rz.world);
    DIST2_CHECK(distributed_available(), "--nproc {}: this dist2 was built without c10d's Gloo process group "
                "(install libgloo-dev and rebuild)", req.nproc);
    rz = Rendezvous{0, req.nproc, "127.0.0.1", free_local_port()};
  }
  if (rz.rank != 0) return run_rank(req, rz);

  // Resuming reads a store; only a new run may create one.
  DIST2_CHECK(req.resume_run.empty() || store::Store::exists(runs_store(req)),
              "no run store at {} (give --store DIR or set DIST2_STORE)", runs_store(req));
  // A new run's config is checked before the store is opened: bad input leaves no trace.
  std::optional<config::Experiment> exp;
  if (req.resume_run.empty())
    exp = config::Experiment::load(req.experiment_path, req.profile, config::parse_overrides(req.overrides),
                                   experiment_schema);
  store::Store st(runs_store(req));
  if (req.resume_run.empty() && !req.fresh) {
    req.resume_run = interrupted_trial_run(st, exp->base().hash());
    if (!req.resume_run.empty())
      fmt::print(stderr, "resuming run {}, this trial's interrupted run (--fresh starts a new one)\n",
                 req.resume_run);
  }
  config::Config cfg;
  std::string run_id;
  if (!req.resume_run.empty()) {
    const auto info = st.get_run(req.resume_run);
    DIST2_CHECK(info.has_value(), "no run '{}' in store {}", req.resume_run, runs_store(req));
    DIST2_CHECK(info->status != "finished", "run {} is already finished", info->id);
    // Opening the store marked runs whose process is gone as interrupted: one
    // still running has a live process, and two trainers must not share a run.
    DIST2_CHECK(info->status != "running", "run {} is still running (pid {} on {}); stop it before resuming it",
                info->id, info->pid, info->host);
    cfg = config::Config::from_yaml_string(info->config, experiment_schema(info->task));
    run_id = info->id;
    st.reopen_run(run_id);
  } else {
    cfg = exp->base();
    run_id = st.create_run(exp->name(), cfg.get_string("task.name"), req.profile, cfg.to_yaml(), cfg.hash(),
                           params_of(cfg), req.variant);
  }
  if (req.verbose) fmt::print("# run {}\n{}\n", run_id, cfg.to_yaml());
  install_stop_handlers();
  RunOutcome outcome{run_id, "running", {}};
  const bool resuming = !req.resume_run.empty();
  std::optional<LocalRanks> ranks;
  std::unique_ptr<ProcessGroup> pg;
  try {
    if (req.nproc > 1) ranks.emplace(req, rz, st.run_dir(run_id));
    Prepared p = prepare_run(cfg, req.store_dir);
    std::optional<Backbone> backbone;
    if (uses_backbone(cfg)) backbone = load_or_pretrain_backbone(cfg, *p.task, req.store_dir, req.progress);
    Trainer trainer(cfg, p.tok, p.metric, p.loss, p.task.get());
    const std::string ckpt = st.run_dir(run_id) + "/checkpoint.pt";
    const bool from_checkpoint = resuming && std::filesystem::exists(ckpt);
    if (from_checkpoint) trainer.load_checkpoint(ckpt);
    else if (backbone) trainer.load_backbone(backbone->weights_path);
    if (rz.world > 1) {
      pg = ProcessGroup::connect(rz, rendezvous_timeout());
      trainer.set_process_group(pg.get());
      st.set_tag(run_id, "world_size", std::to_string(rz.world));
    }
    // The step-0 rows, once per run (a resumed run has them from its first start).
    if (!resuming || st.metrics(run_id, "train", "tau").empty()) {
      auto refs = p.task->reference_metrics(cfg, p.data.data);
      // The backbone's knowledge, scored now as every fine-tuned model is (the
      // manifest's number may come from an older way of scoring).
      if (backbone && !from_checkpoint) {
        GptPredictor before(trainer.model(), p.tok, cfg.get_int("eval.batch_size"));
        add_knowledge_metrics(cfg, *p.task, before, "backbone.pretrain.", refs);
      }
      // How sharp the metric's soft targets are at the task's labels, in nats, and
      // how much of their mass lies on label tokens (Table 8 compares a control
      // metric's with the real one's).
      if (is_lm_loss_kind(cfg.get_string("loss.kind")) && p.loss.tau > 0) {
        const TargetSummary t = summarize_targets(p.metric, p.loss.tau);
        refs["target.mean_entropy"] = t.mean_entropy;
        refs["target.label_mass"] = t.mean_label_mass;
      }
      st.log_metrics(run_id, rows_of(run_id, "test", 0, refs));
      st.log_metric(run_id, "train", "tau", 0, p.loss.tau);
      if (backbone) st.log_artifact(run_id, "backbone", backbone->weights_path);
      st.log_artifact(run_id, "dataset", p.data.dir);
    }
    // Steps logged after the checkpoint by the process that stopped are logged again.
    if (resuming) st.drop_metrics_after(run_id, "train", trainer.step());

    TrainHooks hooks;
    hooks.show_progress = req.progress;
    st.set_tag(run_id, "device", device_label(trainer.device()));
    st.set_tag(run_id, "allocator", allocator_setting());  // util/allocator.h: the speed of a step depends on it
    if (const std::string core = blas_core(); !core.empty()) st.set_tag(run_id, "blas_core", core);  // and on this
    if (const std::string own = blas_core_raised_from(); !own.empty()) st.set_tag(run_id, "blas_core_openblas", own);
    bool impl_recorded = false;
    hooks.on_log = [&](int64_t step, const std::map<std::string, double>& v) {
      if (!impl_recorded) impl_recorded = record_loss_impl(st, run_id, trainer);
      st.log_metrics(run_id, rows_of(run_id, "train", step, v));
      st.heartbeat(run_id);
    };
    hooks.on_checkpoint = [&](int64_t) { trainer.save_checkpoint(ckpt); };
    hooks.should_stop = [] { return stop_requested(); };
    bool completed = false;
    try {
      completed = trainer.train(p.data.data.train, hooks);
    } catch (const Error& e) {
      // An error inside a training step (the loss's input checks, a hook's write)
      // names the step, as the trainer's own non-finite-loss check does.
      const std::string what = e.what();
      if (what.find(" at step ") != std::string::npos) throw;
      throw Error(fmt::format("{} at step {}", what, trainer.step()));
    }
    if (ranks) {
      const std::string why = ranks->wait_all();
      DIST2_CHECK(why.empty(), "{} at step {} (its log: {}/rank*.log)", why, trainer.step(), st.run_dir(run_id));
    }
    if (!completed) {
      trainer.save_checkpoint(ckpt);
      st.finish_run(run_id, "interrupted", fmt::format("stopped by signal {} at step {}", stop_signal(), trainer.step()));
      outcome.status = "interrupted";
      return outcome;
    }
    st.log_artifact(run_id, "checkpoint", ckpt);
    GptPredictor predictor(trainer.model(), p.tok, cfg.get_int("eval.batch_size"));
    std::vector<ExampleScore> scores;
    outcome.test_metrics = evaluate_all(cfg, *p.task, p.data.data, predictor, scores);
    st.log_metrics(run_id, rows_of(run_id, "test", trainer.step(), outcome.test_metrics));
    log_example_scores(st, run_id, "examples", scores);
    const std::string samples = p.task->samples(cfg, p.data.data, predictor);
    if (!samples.empty()) {
      const std::string path = st.run_dir(run_id) + "/samples.md";
      write_file_atomic(path, samples);
      st.log_artifact(run_id, "samples", path);
    }
    st.log_metrics(run_id, rows_of(run_id, "system", trainer.step(), run_resources(trainer.model())));
    st.finish_run(run_id, "finished");
    outcome.status = "finished";
    return outcome;
  } catch (const std::exception& e) {
    // Stopped by a signal before training began (e.g. during backbone pretraining):
    // interrupted, not failed, and a later start or resume runs it.
    if (stop_requested()) {
      st.finish_run(run_id, "interrupted", e.what());
      outcome.status = "interrupted";
      return outcome;
    }
    // Report the first error even when the store cannot record it (a full disk);
    // the run, left running, is then marked interrupted when the store is next opened.
    try {
      st.finish_run(run_id, "failed", e.what());
    } catch (const std::exception&) {
    }
    throw;
  }
}

std::map<std::string, double> evaluate_run(const EvalRequest& req) {
  DIST2_CHECK(store::Store::exists(req.store_dir), "no run store at {} (give --store DIR or set DIST2_STORE)",
              req.store_dir);
  store::Store st(req.store_dir);
  const auto info = st.get_run(req.run_id);
  DIST2_CHECK(info.has_value(), "no run '{}' in store {}", req.run_id, req.store_dir);
  DIST2_CHECK(req.export_samples_dir.empty() || info->task == "imagegen",
              "--export-samples: task '{}' generates no images (only imagegen does)", info->task);
  const auto schema = experiment_schema(info->task);
  config::Config cfg = config::Config::from_yaml_string(info->config, schema);
  for (const auto& o : config::parse_overrides(req.overrides)) {
    DIST2_CHECK(o.key.rfind("eval.", 0) == 0, "eval takes only eval.* overrides, got '{}'", o.key);
    cfg.set(o.key, config::parse_value(schema.require(o.key), o.value_text));
  }
  Prepared p = prepare_run(cfg, req.store_dir);
  Trainer trainer(cfg, p.tok, p.metric, p.loss, p.task.get());
  const std::string ckpt = st.run_dir(info->id) + "/checkpoint.pt";
  trainer.load_checkpoint(ckpt);
  GptPredictor predictor(trainer.model(), p.tok, cfg.get_int("eval.batch_size"));
  std::vector<ExampleScore> scores;
  auto metrics = evaluate_all(cfg, *p.task, p.data.data, predictor, scores);
  if (uses_backbone(cfg)) {
    // The backbone scored again beside the model, the same way (Table 7's "before").
    const Backbone backbone = load_or_pretrain_backbone(cfg, *p.task, req.store_dir, false);
    Trainer before(cfg, p.tok, p.metric, p.loss, p.task.get());
    before.load_backbone(backbone.weights_path);
    GptPredictor before_predictor(before.model(), p.tok, cfg.get_int("eval.batch_size"));
    add_knowledge_metrics(cfg, *p.task, before_predictor, "backbone.pretrain.", metrics);
  }
  st.log_metrics(info->id, rows_of(info->id, "eval", trainer.step(), metrics));
  log_example_scores(st, info->id, "eval-examples", scores);
  if (!req.export_samples_dir.empty()) {
    std::vector<imagegen::Sample> samples;
    for (const auto& e : scores) samples.push_back({imagegen::class_of_prompt(e.prompt), e.prediction});
    auto& assets = imagegen::load_or_train_assets(cfg);
    imagegen::export_samples(samples, imagegen::decode_samples(assets.vq, samples),
                                                req.export_samples_dir);
    fmt::print("exported {} samples to {} (PNG files, and samples-images-idx3-ubyte with samples-labels-idx1-ubyte)\n",
               samples.size(), req.export_samples_dir);
  }
  return metrics;
}

}  // namespace dist2
