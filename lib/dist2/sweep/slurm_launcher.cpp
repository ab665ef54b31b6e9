// The Slurm launcher: one job array, a task per trial, each recording its run
// into its own shard (sweep/shards.h), after a prepare job when the trials
// share models; with --wait it polls the queue and merges each task's run as it ends.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "dist2/sweep/launcher.h"
#include "dist2/sweep/shards.h"
#include "dist2/sweep/slurm.h"
#include "dist2/train/backbone.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/progress.h"
#include "dist2/util/signals.h"

namespace dist2 {

namespace {

// How often `--wait` asks Slurm's queue (DIST2_SLURM_POLL_S, default 5 s).
std::chrono::milliseconds slurm_poll_interval() {
  const char* v = std::getenv("DIST2_SLURM_POLL_S");
  const double s = v && *v ? std::atof(v) : 5.0;
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(0.05, s) * 1000));
}

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
std::set<std::string> queued_in_arrays(const SweepRequest& req) {
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

SweepSummary submit_and_wait(const SweepRequest& req, const config::Experiment& exp, const std::vector<Trial>& trials,
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

class SlurmLauncher : public Launcher {
 public:
  std::string where(const SweepRequest&) const override { return "on Slurm"; }
  SweepSummary launch(const LaunchInput& in, TrialPlan plan, SweepSummary sum) override {
    return submit_and_wait(in.req, in.exp, in.trials, std::move(plan), in.st, sum);
  }
};

}  // namespace

std::unique_ptr<Launcher> slurm_launcher() { return std::make_unique<SlurmLauncher>(); }

std::set<std::string> queued_in_slurm(const SweepRequest& req) { return queued_in_arrays(req); }

}  // namespace dist2
