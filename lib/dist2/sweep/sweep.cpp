#include "dist2/sweep/sweep.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "dist2/store/store.h"
#include "dist2/sweep/shards.h"
#include "dist2/sweep/slurm.h"
#include "dist2/train/backbone.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/progress.h"
#include "dist2/util/signals.h"
#include "dist2/util/threads.h"
#include "dist2/util/process.h"

namespace dist2 {

namespace {
// Whether `key` is one of the settings of variant `name` (labels show the variant's name instead).
bool is_variant_key(const config::Experiment& exp, const std::string& name, const std::string& key) {
  for (const auto& v : exp.variants())
    if (v.name == name)
      for (const auto& [k, value] : v.settings)
        if (k == key) return true;
  return false;
}

config::Experiment load_experiment(const SweepRequest& req) {
  return config::Experiment::load(req.experiment_path, req.profile, config::parse_overrides(req.overrides),
                                  experiment_schema);
}

std::vector<Trial> trials_of(const config::Experiment& exp) {
  std::vector<Trial> trials;
  for (auto& point : exp.trial_points()) {
    Trial t{point.config, {}, point.config.hash(), point.variant};
    for (const auto& [key, value] : point.settings) {
      const std::string kv = key + "=" + config::format_value(value);
      t.grid_overrides.push_back(kv);
      if (point.variant.empty() || exp.variants().empty() || !is_variant_key(exp, point.variant, key))
        t.label += (t.label.empty() ? "" : " ") + kv;
    }
    trials.push_back(std::move(t));
  }
  return trials;
}

}  // namespace

std::vector<Trial> expand_trials(const SweepRequest& req) { return trials_of(load_experiment(req)); }

namespace {

struct Worker {
  pid_t pid;
  size_t trial;
  std::chrono::steady_clock::time_point start;
};

pid_t spawn_trial(const SweepRequest& req, const Trial& t, int threads, const std::string& log_path) {
  std::vector<std::string> args{req.executable, "--threads", std::to_string(threads), "train", req.experiment_path,
                                "--profile", req.profile, "--store", req.store_dir, "--no-progress",
                                "--variant", t.label};
  args.insert(args.end(), req.overrides.begin(), req.overrides.end());
  args.insert(args.end(), t.grid_overrides.begin(), t.grid_overrides.end());
  // A worker dies with its sweep, so a restarted sweep never races an orphan.
  return spawn_child(args, {}, log_path);
}

// How often `--wait` asks Slurm's queue (DIST2_SLURM_POLL_S, default 5 s).
std::chrono::milliseconds slurm_poll_interval() {
  const char* v = std::getenv("DIST2_SLURM_POLL_S");
  const double s = v && *v ? std::atof(v) : 5.0;
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.05, s) * 1000));
}

std::string final_metric_text(store::Store& st, const std::string& hash) {
  const auto run = st.find_finished(hash);
  if (!run) return "";
  // Headline metrics first: the fewer the dots, the broader the metric ("success"
  // before "l1.success" before "l1.put.success"); references are left out.
  std::vector<std::pair<std::string, double>> metrics;
  for (const auto& [name, value] : st.final_metrics(run->id, "test"))
    if (name.rfind("ref.", 0) != 0) metrics.emplace_back(name, value);
  const auto dots = [](const std::string& n) { return std::count(n.begin(), n.end(), '.'); };
  std::stable_sort(metrics.begin(), metrics.end(), [&](const auto& a, const auto& b) { return dots(a.first) < dots(b.first); });
  std::string s;
  for (const auto& [name, value] : metrics)
    if (s.size() < 60) s += fmt::format(" {}={:.4g}", name, value);
  return s;
}

enum class TrialState { finished, running_elsewhere, failed_before, to_run };

// Where a trial stands in the store: finished by some run, running in a live
// process, failed before, or to run.
TrialState trial_state(store::Store& st, const Trial& t) {
  if (st.find_finished(t.hash)) return TrialState::finished;
  store::RunFilter f;
  f.config_hash = t.hash;
  bool running = false, failed = false;
  for (const auto& r : st.list_runs(f)) {
    // Another host's run is alive until the store marks it stale (by its heartbeat).
    running |= r.status == "running" && (r.host != this_host() || pid_alive(r.pid));
    failed |= r.status == "failed";
  }
  if (running || st.claimed_elsewhere(t.hash)) return TrialState::running_elsewhere;
  return failed ? TrialState::failed_before : TrialState::to_run;
}

// Looks again at trials that were running elsewhere: those that finished there
// are done, those whose process stopped without finishing move to `todo`.
void recheck_waiting(store::Store& st, const std::vector<Trial>& trials, bool retry_failed,
                     std::vector<size_t>& waiting, std::deque<size_t>& todo, SweepSummary& sum) {
  st.mark_stale_runs();  // a process that died without a word
  std::vector<size_t> still;
  for (size_t i : waiting) {
    const Trial& t = trials[i];
    switch (trial_state(st, t)) {
      case TrialState::finished: fmt::print("finished elsewhere: {}\n", t.label); break;
      case TrialState::running_elsewhere: still.push_back(i); break;
      case TrialState::failed_before:
        if (!retry_failed) {
          ++sum.skipped_failed;
          fmt::print("skip (failed elsewhere; --retry-failed reruns it): {}\n", t.label);
          break;
        }
        [[fallthrough]];
      case TrialState::to_run:
        fmt::print("stopped elsewhere unfinished, runs here: {}\n", t.label);
        todo.push_back(i);
        break;
    }
  }
  waiting = std::move(still);
  std::fflush(stdout);
}

// The plan goes to the store before any trial runs: a report finds the
// experiment's runs from it, without reading the experiment file.
void record_plan(store::Store& st, const config::Experiment& exp, const SweepRequest& req,
                 const std::vector<Trial>& trials) {
  store::SweepPlan plan{exp.name(), req.profile, req.overrides, exp.reports(), {}};
  for (const Trial& t : trials) plan.trials.push_back({t.hash, t.label, t.grid_overrides});
  st.record_sweep_plan(plan);
}

}  // namespace

namespace {

// What to do with each trial: run it, wait for another process that runs it,
// or nothing (finished, failed before, queued in Slurm).
struct TrialPlan {
  std::deque<size_t> todo;
  std::vector<size_t> waiting;  // running in another process: run here only if that one stops unfinished
};

TrialPlan plan_trials(store::Store& st, const std::vector<Trial>& trials, const std::set<std::string>& queued,
                      bool retry_failed, SweepSummary& sum) {
  TrialPlan plan;
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    if (queued.count(t.hash)) {
      ++sum.queued_elsewhere;
      fmt::print("skip (queued in an earlier sweep's Slurm job array): {}\n", t.label);
      continue;
    }
    switch (trial_state(st, t)) {
      case TrialState::finished: ++sum.already_finished; break;
      case TrialState::running_elsewhere:
        ++sum.running_elsewhere;
        plan.waiting.push_back(i);
        fmt::print("wait (running elsewhere; runs here if it stops unfinished): {}\n", t.label);
        break;
      case TrialState::failed_before:
        if (!retry_failed) {
          ++sum.skipped_failed;
          fmt::print("skip (failed before; --retry-failed reruns it): {}\n", t.label);
          break;
        }
        [[fallthrough]];
      case TrialState::to_run: plan.todo.push_back(i); break;
    }
  }
  return plan;
}

// ---- local: worker processes on this machine ----

// Threads per local worker: --worker-threads, else the cores shared among -j workers.
int local_worker_threads(const SweepRequest& req) {
  return req.threads > 0 ? req.threads : std::max(1, machine_cores() / req.jobs);
}

SweepSummary launch_local(const SweepRequest& req, const std::vector<Trial>& trials, TrialPlan plan,
                          store::Store& st, SweepSummary sum) {
  auto& todo = plan.todo;
  auto& waiting = plan.waiting;
  const int threads = local_worker_threads(req);
  const std::string log_dir = req.store_dir + "/logs";
  make_dirs(log_dir);
  install_stop_handlers();

  std::vector<Worker> workers;
  size_t n_run = todo.size();
  size_t done = 0;
  const auto start = std::chrono::steady_clock::now();
  bool forwarded = false;
  while (!todo.empty() || !workers.empty() || !waiting.empty()) {
    while (!todo.empty() && static_cast<int>(workers.size()) < req.jobs && !stop_requested()) {
      const size_t i = todo.front();
      todo.pop_front();
      // One transaction decides who runs a trial: two sweeps started at the same
      // instant never both start it; the loser waits for the winner's run.
      if (!st.claim_trial(trials[i].hash)) {
        fmt::print("wait (claimed by another sweep): {}\n", trials[i].label);
        waiting.push_back(i);
        --n_run;
        ++sum.running_elsewhere;
        continue;
      }
      const std::string log = log_dir + "/" + trials[i].hash + ".log";
      workers.push_back({spawn_trial(req, trials[i], threads, log), i, std::chrono::steady_clock::now()});
      ++sum.ran;
    }
    if (stop_requested() && !forwarded) {
      for (const auto& w : workers) ::kill(w.pid, SIGTERM);  // workers checkpoint and record 'interrupted'
      sum.not_started = static_cast<int>(todo.size() + waiting.size());
      todo.clear();
      waiting.clear();
      forwarded = true;
    }
    if (workers.empty()) {
      // Only trials running in another process are left: wait for that process
      // to end, then run the trial here if it did not finish.
      const size_t queued = todo.size();
      recheck_waiting(st, trials, req.retry_failed, waiting, todo, sum);
      n_run += todo.size() - queued;
      if (todo.empty() && !waiting.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    // Polled rather than blocking: a stop signal does not interrupt waitpid
    // (handlers restart system calls), and it must reach the workers at once.
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) == 0 && (forwarded || !stop_requested()))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (pid == 0) continue;  // asked to stop: forward it to the workers first
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = std::find_if(workers.begin(), workers.end(), [&](const Worker& w) { return w.pid == pid; });
    if (it == workers.end()) continue;
    const Trial& t = trials[it->trial];
    st.release_trial(t.hash);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->start).count();
    ++done;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(n_run - done);
    std::string what;
    if (code == 0) ++sum.finished, what = "done" + final_metric_text(st, t.hash);
    else if (code == 130 || code == 143) ++sum.interrupted, what = "interrupted";
    else ++sum.failed, what = fmt::format("FAILED (exit {}; log {}/{}.log)", code, log_dir, t.hash);
    fmt::print("[{}/{}] {} in {}: {}  eta {}\n", done, n_run, t.label, format_duration(secs), what,
               format_duration(eta));
    std::fflush(stdout);
    workers.erase(it);
  }
  return sum;
}

// ---- Slurm: one job array, a task per trial, each into its shard ----

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string shell_command(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

// Paths written into job scripts are absolute: a task starts in another directory.
std::string absolute_store(const SweepRequest& req) {
  return std::filesystem::absolute(req.store_dir).lexically_normal().string();
}

std::string slurm_dir(const SweepRequest& req) { return absolute_store(req) + "/slurm"; }

// The command of one array task: the trial's `dist2 train` into its shard.
std::vector<std::string> slurm_trial_command(const SweepRequest& req, const Trial& t, int threads) {
  std::vector<std::string> args{req.executable, "--threads", std::to_string(threads), "train", req.experiment_path,
                                "--profile", req.profile, "--store", req.store_dir, "--shard",
                                shard_dir_for(req.store_dir, t.hash), "--no-progress", "--variant", t.label};
  args.insert(args.end(), req.overrides.begin(), req.overrides.end());
  args.insert(args.end(), t.grid_overrides.begin(), t.grid_overrides.end());
  return args;
}

// Array task k runs trial list[k]; the script is kept beside the logs, so a
// person can read (or rerun) exactly what each task ran.
std::string write_array_script(const SweepRequest& req, const std::vector<Trial>& trials,
                               const std::vector<size_t>& list, int threads, const std::string& name) {
  std::string body = fmt::format("#!/bin/sh\n# dist2 sweep {} --profile {}: array task k runs trial k.\n"
                                 "case \"$SLURM_ARRAY_TASK_ID\" in\n",
                                 req.experiment_path, req.profile);
  for (size_t k = 0; k < list.size(); ++k)
    body += fmt::format("  {}) exec {} ;;\n", k, shell_command(slurm_trial_command(req, trials[list[k]], threads)));
  body += "  *) echo \"no trial for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n";
  const std::string path = slurm_dir(req) + "/" + name + ".sh";
  write_file_atomic(path, body);
  return path;
}

std::string write_prepare_script(const SweepRequest& req, int threads, const std::string& name) {
  std::vector<std::string> args{req.executable, "--threads", std::to_string(threads), "sweep", req.experiment_path,
                                "--profile", req.profile, "--store", req.store_dir, "--prepare-only"};
  args.insert(args.end(), req.overrides.begin(), req.overrides.end());
  const std::string path = slurm_dir(req) + "/" + name + ".sh";
  write_file_atomic(path, "#!/bin/sh\n# Trains the models the sweep's trials share (backbones, a task's shared\n"
                          "# models) before its job array.\nexec " +
                              shell_command(args) + "\n");
  return path;
}

// DIR/slurm/<array job>.tsv: "task <TAB> config hash" per line, so that a later
// sweep knows which trials are still queued in this array.
std::string record_path(const SweepRequest& req, const std::string& job) { return slurm_dir(req) + "/" + job + ".tsv"; }

// Trial hashes still queued (pending or running) in the arrays earlier sweeps
// submitted; records of arrays that left the queue are removed. Nothing when
// Slurm's commands are not here (a local sweep on another machine).
std::set<std::string> queued_in_slurm(const SweepRequest& req) {
  std::set<std::string> hashes;
  const std::string dir = slurm_dir(req);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec) || !slurm::missing_commands().empty()) return hashes;
  std::map<std::string, std::map<std::string, std::string>> records;  // job -> task -> hash
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".tsv") continue;
    auto& tasks = records[e.path().stem().string()];
    std::istringstream in(read_file(e.path().string()));
    std::string task, hash;
    while (in >> task >> hash) tasks[task] = hash;
  }
  if (records.empty()) return hashes;
  std::vector<std::string> jobs;
  for (const auto& [job, _] : records) jobs.push_back(job);
  std::set<std::string> live_jobs;
  for (const auto& q : slurm::queue(jobs)) {
    live_jobs.insert(q.job());
    const auto& tasks = records[q.job()];
    for (size_t k : q.tasks())
      if (auto it = tasks.find(std::to_string(k)); it != tasks.end()) hashes.insert(it->second);
  }
  for (const auto& job : jobs)
    if (!live_jobs.count(job)) std::filesystem::remove(record_path(req, job), ec);
  return hashes;
}

// How a trial's task ended, from the run its shard recorded (merged first).
std::string task_outcome(store::Store& st, const Trial& t, SweepSummary& sum, const std::string& log) {
  const std::string shard = shard_dir_for(st.dir(), t.hash);
  if (store::Store::exists(shard)) st.merge_shard(shard);
  if (st.find_finished(t.hash)) {
    ++sum.finished;
    return "done" + final_metric_text(st, t.hash);
  }
  const auto latest = st.latest_run(t.hash);
  if (latest && latest->status == "interrupted") {
    ++sum.interrupted;
    return "interrupted (the next sweep resumes it)";
  }
  ++sum.failed;
  return fmt::format("FAILED ({}; log {})", latest ? latest->error : "no run recorded", log);
}

SweepSummary launch_slurm(const SweepRequest& req, const config::Experiment& exp, const std::vector<Trial>& trials,
                          TrialPlan plan, store::Store& st, SweepSummary sum) {
  std::vector<size_t> list;  // array task k runs trials[list[k]]
  for (size_t i : plan.todo) {
    if (st.claim_trial(trials[i].hash)) list.push_back(i);
    else ++sum.running_elsewhere, fmt::print("skip (claimed by another sweep): {}\n", trials[i].label);
  }
  if (list.empty()) return sum;
  make_dirs(slurm_dir(req));
  const std::string log_dir = absolute_store(req) + "/logs";
  make_dirs(log_dir);
  const int threads = req.threads > 0 ? req.threads : req.slurm.cpus_per_task;
  const std::string stamp = fmt::format("{}-{}", exp.name(), ::getpid());

  slurm::JobOptions opt;
  opt.partition = req.slurm.partition, opt.time = req.slurm.time, opt.cpus_per_task = req.slurm.cpus_per_task;
  std::string prepare_job;
  bool any_shared = false;
  for (size_t i : list) any_shared |= uses_shared_models(trials[i].config);
  if (any_shared) {
    opt.job_name = "dist2-prepare-" + exp.name();
    opt.output = log_dir + "/slurm-%j.log";
    prepare_job = slurm::submit(write_prepare_script(req, threads, stamp + "-prepare"), opt);
  }
  opt.job_name = "dist2-" + exp.name();
  opt.output = log_dir + "/slurm-%A_%a.log";
  opt.array = fmt::format("0-{}", list.size() - 1) + (req.jobs_given ? fmt::format("%{}", req.jobs) : "");
  opt.after_ok = prepare_job;
  const std::string job = slurm::submit(write_array_script(req, trials, list, threads, stamp), opt);
  std::string record;
  for (size_t k = 0; k < list.size(); ++k) record += fmt::format("{}\t{}\n", k, trials[list[k]].hash);
  write_file_atomic(record_path(req, job), record);
  sum.submitted = static_cast<int>(list.size());
  sum.slurm_job = job;
  fmt::print("submitted job array {} ({} trials{}); logs {}/slurm-{}_*.log\n", job, list.size(),
             prepare_job.empty() ? "" : fmt::format(", after prepare job {}", prepare_job), log_dir, job);
  std::fflush(stdout);
  if (!req.slurm.wait) {
    for (size_t i : list) st.release_trial(trials[i].hash);  // the record above now marks them queued
    return sum;
  }

  // --wait: a task that has left the queue has ended; its shard says how.
  install_stop_handlers();
  std::set<size_t> pending;
  for (size_t k = 0; k < list.size(); ++k) pending.insert(k);
  const auto start = std::chrono::steady_clock::now();
  size_t done = 0;
  int poll_failures = 0;
  bool cancelled = false;
  while (!pending.empty()) {
    if (stop_requested() && !cancelled) {
      // The tasks get SIGTERM: running ones checkpoint and record 'interrupted'.
      slurm::cancel({job});
      if (!prepare_job.empty()) slurm::cancel({prepare_job});
      fmt::print("cancelled job array {}; the next sweep resumes what was cut short\n", job);
      cancelled = true;
    }
    std::vector<slurm::QueuedTask> queued;
    try {
      queued = slurm::queue({job});
      poll_failures = 0;
    } catch (const Error& e) {
      // A busy controller is not the end of the sweep; a controller gone for long is.
      DIST2_CHECK(++poll_failures < 30, "{} (30 polls in a row)", e.what());
      std::this_thread::sleep_for(std::chrono::seconds(2));
      continue;
    }
    std::set<size_t> in_queue;
    bool never = false;
    for (const auto& q : queued) {
      never |= q.reason == "DependencyNeverSatisfied";
      for (size_t k : q.tasks()) in_queue.insert(k);
    }
    if (never) {
      // The prepare job failed; a cluster that ignores --kill-on-invalid-dep
      // would keep the array pending forever.
      slurm::cancel({job});
      fmt::print("prepare job {} failed (log {}/slurm-{}.log): cancelled job array {}\n", prepare_job, log_dir,
                 prepare_job, job);
      sum.failed += static_cast<int>(pending.size());
      sum.ran = static_cast<int>(list.size());
      for (size_t i : list) st.release_trial(trials[i].hash);
      return sum;
    }
    for (auto it = pending.begin(); it != pending.end();) {
      if (in_queue.count(*it)) {
        ++it;
        continue;
      }
      const Trial& t = trials[list[*it]];
      const std::string what = task_outcome(st, t, sum, fmt::format("{}/slurm-{}_{}.log", log_dir, job, *it));
      st.release_trial(t.hash);
      ++done;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double eta = elapsed / static_cast<double>(done) * static_cast<double>(list.size() - done);
      fmt::print("[{}/{}] {}: {}  elapsed {}  eta {}\n", done, list.size(), t.label, what, format_duration(elapsed),
                 format_duration(eta));
      std::fflush(stdout);
      it = pending.erase(it);
    }
    if (!pending.empty()) std::this_thread::sleep_for(slurm_poll_interval());
  }
  sum.ran = static_cast<int>(list.size());
  return sum;
}

}  // namespace

SweepSummary run_sweep(const SweepRequest& req) {
  DIST2_CHECK(req.jobs >= 1, "-j must be >= 1, got {}", req.jobs);
  DIST2_CHECK(req.launcher == "local" || req.launcher == "slurm", "--launcher must be local or slurm, got '{}'",
              req.launcher);
  if (req.launcher == "slurm" && !req.dry_run && !req.prepare_only) {
    const std::string missing = slurm::missing_commands();
    DIST2_CHECK(missing.empty(), "--launcher slurm: {} not found on PATH (run on a node with Slurm's client, or "
                "use --launcher local)", missing);
  }
  const auto exp = load_experiment(req);
  const auto trials = trials_of(exp);
  SweepSummary sum;
  sum.total = static_cast<int>(trials.size());
  store::Store st(req.store_dir);

  // Runs that cluster jobs recorded in their shards come into the store first.
  const ShardMerge merged = merge_shards(st);
  for (const auto& p : merged.problems) fmt::print("warning: shard not merged: {}\n", p);
  if (merged.runs > 0) fmt::print("merged {} runs from {} shards\n", merged.runs, merged.shards);
  st.mark_stale_runs();

  // Decide what to run: each trial at most once, whatever ran before.
  TrialPlan plan = plan_trials(st, trials, queued_in_slurm(req), req.retry_failed, sum);
  fmt::print("sweep {}: {} trials, {} finished already, {} to run {}\n", req.experiment_path, sum.total,
             sum.already_finished, plan.todo.size(),
             req.launcher == "slurm" ? "on Slurm" : fmt::format("with -j {}", req.jobs));
  std::fflush(stdout);  // the plan shows in a log before the first trial ends
  // Even a dry run records the plan: reports then read the runs that already answer it.
  record_plan(st, exp, req, trials);
  if (req.dry_run) {
    for (size_t i : plan.todo) fmt::print("would run: {}  [{}]\n", trials[i].label, trials[i].hash);
    return sum;
  }
  // Backbones first, with every core here (or as Slurm's first job): otherwise
  // the first trials would all wait on one backbone's lock.
  std::vector<config::Config> to_run;
  for (size_t i : plan.todo) to_run.push_back(trials[i].config);
  if (req.prepare_only) {  // a Slurm prepare job: its --threads are the job's cores
    prepare_shared_models(to_run, req.store_dir);
    return sum;
  }
  if (req.launcher == "slurm") return launch_slurm(req, exp, trials, std::move(plan), st, sum);
  if (plan.todo.empty() && plan.waiting.empty()) return sum;
  // The cores the workers will share (at most this machine's), while no worker runs yet.
  if (threads_requested() > 0)
    set_threads(std::max(threads_requested(), std::min(machine_cores(), req.jobs * local_worker_threads(req))));
  prepare_shared_models(to_run, req.store_dir);
  return launch_local(req, trials, std::move(plan), st, sum);
}

}  // namespace dist2
