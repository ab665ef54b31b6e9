// The local launcher: each trial a `dist2 train` worker process on this
// machine, -j at a time, so that one crash fails one trial and not the sweep.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <thread>

#include <fmt/format.h>

#include "dist2/sweep/launcher.h"
#include "dist2/train/backbone.h"
#include "dist2/util/files.h"
#include "dist2/util/process.h"
#include "dist2/util/progress.h"
#include "dist2/util/signals.h"
#include "dist2/util/threads.h"

namespace dist2 {

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

// Threads per local worker: --worker-threads, else the cores shared among -j workers.
int local_worker_threads(const SweepRequest& req) {
  return req.threads > 0 ? req.threads : std::max(1, machine_cores() / req.jobs);
}

SweepSummary run_workers(const SweepRequest& req, const std::vector<Trial>& trials, TrialPlan plan,
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

class LocalLauncher : public Launcher {
 public:
  std::string where(const SweepRequest& req) const override { return fmt::format("with -j {}", req.jobs); }

  SweepSummary launch(const LaunchInput& in, TrialPlan plan, SweepSummary sum) override {
    if (plan.todo.empty() && plan.waiting.empty()) return sum;
    // The cores the workers will share (at most this machine's), while no worker runs yet.
    if (threads_requested() > 0)
      set_threads(std::max(threads_requested(), std::min(machine_cores(), in.req.jobs * local_worker_threads(in.req))));
    // Backbones and a task's shared models first, with every core here:
    // otherwise the first trials would all wait on one backbone's lock.
    std::vector<config::Config> to_run;
    for (size_t i : plan.todo) to_run.push_back(in.trials[i].config);
    prepare_shared_models(to_run, in.req.store_dir);
    return run_workers(in.req, in.trials, std::move(plan), in.st, sum);
  }
};

}  // namespace

std::unique_ptr<Launcher> local_launcher() { return std::make_unique<LocalLauncher>(); }

}  // namespace dist2
