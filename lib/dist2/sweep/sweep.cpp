#include "dist2/sweep/sweep.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

#include "dist2/store/store.h"
#include "dist2/train/backbone.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "dist2/util/progress.h"
#include "dist2/util/signals.h"
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

std::string final_metric_text(store::Store& st, const std::string& hash) {
  const auto run = st.find_finished(hash);
  if (!run) return "";
  std::string s;
  for (const auto& [name, value] : st.final_metrics(run->id, "test"))
    if (name.rfind("ref.", 0) != 0 && s.size() < 60) s += fmt::format(" {}={:.4g}", name, value);
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

SweepSummary run_sweep(const SweepRequest& req) {
  DIST2_CHECK(req.jobs >= 1, "-j must be >= 1, got {}", req.jobs);
  const auto exp = load_experiment(req);
  const auto trials = trials_of(exp);
  SweepSummary sum;
  sum.total = static_cast<int>(trials.size());
  store::Store st(req.store_dir);

  // Decide what to run: each trial at most once, whatever ran before.
  std::deque<size_t> todo;
  std::vector<size_t> waiting;  // running in another process: run here only if that one stops unfinished
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    switch (trial_state(st, t)) {
      case TrialState::finished: ++sum.already_finished; break;
      case TrialState::running_elsewhere:
        ++sum.running_elsewhere;
        waiting.push_back(i);
        fmt::print("wait (running elsewhere; runs here if it stops unfinished): {}\n", t.label);
        break;
      case TrialState::failed_before:
        if (!req.retry_failed) {
          ++sum.skipped_failed;
          fmt::print("skip (failed before; --retry-failed reruns it): {}\n", t.label);
          break;
        }
        [[fallthrough]];
      case TrialState::to_run: todo.push_back(i); break;
    }
  }
  fmt::print("sweep {}: {} trials, {} finished already, {} to run with -j {}\n", req.experiment_path, sum.total,
             sum.already_finished, todo.size(), req.jobs);
  std::fflush(stdout);  // the plan shows in a log before the first trial ends
  // Even a dry run records the plan: reports then read the runs that already answer it.
  record_plan(st, exp, req, trials);
  if (req.dry_run) {
    for (size_t i : todo) fmt::print("would run: {}  [{}]\n", trials[i].label, trials[i].hash);
    return sum;
  }
  if (todo.empty() && waiting.empty()) return sum;

  // Backbones first, here with every core: otherwise the first workers would all
  // wait on one backbone's lock.
  std::vector<config::Config> to_run;
  for (size_t i : todo) to_run.push_back(trials[i].config);
  prepare_backbones(to_run, req.store_dir);

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = req.threads > 0 ? req.threads : std::max(1, cores / req.jobs);
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

}  // namespace dist2
