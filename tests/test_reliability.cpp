// Runs that survive: concurrent `dist2 train` processes, SIGKILL / SIGTERM / SIGINT
// mid-run and resume, sweeps killed and started again, checksummed checkpoints and
// dataset files, non-finite losses, and bad input at the command line. Everything
// goes through the built executable; checks read the store with the sqlite3 C API
// (or a Store where marking stale runs is the point).
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "dist2/config/config.h"
#include "dist2/store/store.h"
#include "dist2/tasks/dataset_cache.h"
#include "dist2/tasks/regression/task.h"
#include "dist2/train/schema.h"
#include "dist2/train/trainer.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"
#include "tests/support.h"

using namespace dist2;
using Catch::Matchers::Contains;

namespace {

const std::string kExperiment = std::string(DIST2_SOURCE_DIR) + "/experiments/table11_regression.yaml";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/dist2-reliability-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string sub(const std::string& name) const { return path + "/" + name; }
};

// ---- processes ----

// Starts `dist2 ARGS` in the background (its output to `log`); the pid is dist2's own.
pid_t spawn_dist2(const std::string& args, const std::string& log, const std::string& shell_prefix = "") {
  const std::string cmd = shell_prefix + " exec " + std::string(DIST2_EXE) + " " + args + " > " + log + " 2>&1";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Exit status as a shell reports it: the code, or 128 + the signal.
int wait_exit(pid_t pid) {
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool wait_for(const std::function<bool()>& ready, double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return ready();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- the store, read without dist2 (opening a Store would mark stale runs) ----

class RawDb {
 public:
  explicit RawDb(const std::string& store_dir) {
    const std::string path = store_dir + "/runs.db";
    REQUIRE(std::filesystem::exists(path));
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 30000);
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Every row as text columns.
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* t = sqlite3_column_text(st, c);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }
  std::string scalar(const std::string& sql) {
    const auto r = rows(sql);
    return r.empty() || r[0].empty() ? "" : r[0][0];
  }
  int64_t count(const std::string& sql) { return std::stoll(scalar(sql)); }
  void exec(const std::string& sql) { REQUIRE(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK); }

 private:
  sqlite3* db_ = nullptr;
};

// The run a process created (by its pid), "" until it has one.
std::string run_of_pid(const std::string& store_dir, pid_t pid) {
  if (!std::filesystem::exists(store_dir + "/runs.db")) return "";
  RawDb db(store_dir);
  if (db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'runs'") != "1") return "";  // not migrated yet
  return db.scalar(fmt::format("SELECT id FROM runs WHERE pid = {}", pid));
}

// The highest training step a run has logged (-1 when none).
int64_t last_logged_step(const std::string& store_dir, const std::string& run) {
  RawDb db(store_dir);
  const std::string s =
      db.scalar(fmt::format("SELECT max(step) FROM metrics WHERE run_id = '{}' AND split = 'train' AND name = 'loss'", run));
  return s.empty() ? -1 : std::stoll(s);
}

// Waits until the process `pid` has logged training step `step` of its run; returns the run.
std::string wait_for_step(const std::string& store_dir, pid_t pid, int64_t step) {
  std::string run;
  const bool reached = wait_for(
      [&] {
        if (run.empty()) run = run_of_pid(store_dir, pid);
        return !run.empty() && last_logged_step(store_dir, run) >= step;
      },
      60);
  REQUIRE(reached);
  return run;
}

// step -> value of one training metric, each step at most once (a step logged twice fails).
std::map<int64_t, double> train_curve(const std::string& store_dir, const std::string& run, const std::string& name) {
  RawDb db(store_dir);
  std::map<int64_t, double> curve;
  for (const auto& r : db.rows(fmt::format(
           "SELECT step, quote(value) FROM metrics WHERE run_id = '{}' AND split = 'train' AND name = '{}'", run, name))) {
    INFO("run " << run << " logs " << name << " at step " << r[0] << " more than once");
    // quote() gives the exact double (as SQL text) so that equality is bit for bit.
    REQUIRE(curve.emplace(std::stoll(r[0]), std::stod(r[1])).second);
  }
  return curve;
}

// `dist2 train` of the smoke profile: one thread, no progress bar.
std::string train_args(const std::string& store, const std::string& overrides) {
  return fmt::format("--threads 1 train {} --profile smoke --store {} --no-progress {}", kExperiment, store, overrides);
}

// A run long enough to be stopped midway (about a second of training on a loaded
// core), with a small model: log every step, checkpoint every 5.
constexpr int64_t kLongSteps = 60;
const std::string kLongRun = fmt::format(
    "seed=7 train.steps={} train.log_every=1 train.checkpoint_every=5 task.n_test=8 model.n_layer=1 "
    "model.d_model=16 model.n_head=2 train.batch_size=16",
    kLongSteps);

// The uninterrupted run of kLongRun, trained once for the tests that compare with it.
struct Reference {
  TempDir dir;
  std::string store = dir.sub("store"), run;
  std::map<std::string, std::map<int64_t, double>> curves;  // loss, ce, aux
  std::string final_test;                                   // its test metrics as text
};

std::string test_metrics_text(const std::string& store_dir, const std::string& run) {
  RawDb db(store_dir);
  std::string out;
  for (const auto& r : db.rows(fmt::format("SELECT name, quote(value) FROM metrics WHERE run_id = '{}' AND split = 'test' "
                                           "AND step > 0 ORDER BY name",
                                           run)))
    out += r[0] + "=" + r[1] + " ";
  return out;
}

const Reference& reference_run() {
  static const std::unique_ptr<Reference> ref = [] {
    auto r = std::make_unique<Reference>();
    const auto res = test::run_dist2(train_args(r->store, kLongRun));
    INFO(res.out);
    REQUIRE(res.status == 0);
    RawDb db(r->store);
    r->run = db.scalar("SELECT id FROM runs");
    for (const char* name : {"loss", "ce", "aux"}) r->curves[name] = train_curve(r->store, r->run, name);
    r->final_test = test_metrics_text(r->store, r->run);
    return r;
  }();
  return *ref;
}

// Resumes `run` and requires that its logged losses and final test metrics equal
// the uninterrupted reference run's bit for bit, every step logged once.
void require_resume_equals_reference(const std::string& store, const std::string& run) {
  const auto res = test::run_dist2(
      fmt::format("--threads 1 train {} --store {} --no-progress --resume {}", kExperiment, store, run));
  INFO(res.out);
  REQUIRE(res.status == 0);
  REQUIRE_THAT(res.out, Contains("run " + run + " finished"));
  const Reference& ref = reference_run();
  for (const char* name : {"loss", "ce", "aux"}) {
    INFO(name);
    const auto curve = train_curve(store, run, name);
    REQUIRE(curve.size() == static_cast<size_t>(kLongSteps));
    REQUIRE(curve == ref.curves.at(name));
  }
  REQUIRE(test_metrics_text(store, run) == ref.final_test);
  RawDb db(store);
  REQUIRE(db.scalar(fmt::format("SELECT status FROM runs WHERE id = '{}'", run)) == "finished");
}

// Runs with this status (0 while the store has no runs table).
int64_t count_runs(const std::string& store_dir, const std::string& status) {
  if (!std::filesystem::exists(store_dir + "/runs.db")) return 0;
  RawDb db(store_dir);
  if (db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'runs'") != "1") return 0;
  return db.count(fmt::format("SELECT count(*) FROM runs WHERE status = '{}'", status));
}

// Statuses of every run in a store (empty when it has no database or no runs table).
std::multiset<std::string> statuses(const std::string& store_dir) {
  std::multiset<std::string> out;
  if (!std::filesystem::exists(store_dir + "/runs.db")) return out;
  RawDb db(store_dir);
  if (db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'runs'") != "1") return out;
  for (const auto& r : db.rows("SELECT status FROM runs")) out.insert(r[0]);
  return out;
}

}  // namespace

// ---- concurrency ----

namespace {
// N `dist2 train` processes of the smoke profile at once, seeds 1..N, one store.
void concurrent_trains(int n) {
  TempDir dir;
  const std::string store = dir.sub("store");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int seed = 1; seed <= n; ++seed)
    pids.push_back(spawn_dist2(train_args(store, fmt::format("seed={}", seed)), dir.sub(fmt::format("{}.log", seed))));
  for (int i = 0; i < n; ++i) {
    const int code = wait_exit(pids[static_cast<size_t>(i)]);
    INFO(slurp(dir.sub(fmt::format("{}.log", i + 1))));
    REQUIRE(code == 0);
  }
  // Independently of the trainer: the smoke profile logs loss, ce, aux and lr every
  // train.log_every steps, plus tau once; and test metrics after training.
  const int64_t steps = 8, log_every = 4, want_train_rows = steps / log_every * 4 + 1;
  RawDb db(store);
  REQUIRE(db.count("SELECT count(*) FROM runs") == n);
  REQUIRE(db.count("SELECT count(*) FROM runs WHERE status = 'finished'") == n);
  REQUIRE(db.count("SELECT count(DISTINCT params.value) FROM params WHERE key = 'seed'") == n);
  for (const auto& r : db.rows("SELECT id FROM runs")) {
    INFO("run " << r[0]);
    REQUIRE(db.count(fmt::format("SELECT count(*) FROM metrics WHERE run_id = '{}' AND split = 'train'", r[0])) ==
            want_train_rows);
    REQUIRE(db.count(fmt::format("SELECT count(*) FROM metrics WHERE run_id = '{}' AND split = 'test' AND step = {} "
                                 "AND name = 'mae'",
                                 r[0], steps)) == 1);
  }
  const int64_t train_rows = db.count("SELECT count(*) FROM metrics WHERE split = 'train'");
  WARN(fmt::format("{} concurrent dist2 train: {} runs finished, {} metric rows ({} training rows of {} expected, {} "
                   "lost), {:.1f} s",
                   n, db.count("SELECT count(*) FROM runs WHERE status = 'finished'"),
                   db.count("SELECT count(*) FROM metrics"), train_rows, n * want_train_rows,
                   n * want_train_rows - train_rows,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
}
}  // namespace

TEST_CASE("reliability: 3 concurrent dist2 train processes, one store, every run and metric row kept",
          "[reliability]") {
  concurrent_trains(3);
}

TEST_CASE("reliability: 8 concurrent dist2 train processes, one store", "[reliability][slow]") { concurrent_trains(8); }

// ---- crashes, signals and resume ----

TEST_CASE("reliability: a run killed with SIGKILL is interrupted at the next open, and resumes bit for bit",
          "[reliability]") {
  reference_run();
  TempDir dir;
  const std::string store = dir.sub("store");
  const pid_t pid = spawn_dist2(train_args(store, kLongRun), dir.sub("train.log"));
  const std::string run = wait_for_step(store, pid, 7);  // past the checkpoint at step 5
  REQUIRE(kill(pid, SIGKILL) == 0);
  REQUIRE(wait_exit(pid) == 128 + SIGKILL);
  REQUIRE(statuses(store) == std::multiset<std::string>{"running"});  // nobody could record it

  {
    store::Store st(store);  // opening marks it
    const auto info = st.run(run);
    REQUIRE(info.status == "interrupted");
    REQUIRE_THAT(info.error, Contains(fmt::format("process {}", pid)));
  }
  REQUIRE(std::filesystem::exists(store + "/runs/" + run + "/checkpoint.pt"));
  require_resume_equals_reference(store, run);
}

TEST_CASE("reliability: a resumed run's rows after the checkpoint are dropped, nothing else", "[reliability]") {
  TempDir dir;
  store::Store st(dir.path);
  const std::string run = st.create_run("e", "regression", "smoke", "seed: 1\n", "0123456789abcdef", {});
  const std::string other = st.create_run("e", "regression", "smoke", "seed: 2\n", "fedcba9876543210", {});
  for (const auto& id : {run, other})
    for (int64_t step = 1; step <= 10; ++step) {
      st.log_metric(id, "train", "loss", step, 1.0 / static_cast<double>(step));
      st.log_metric(id, "test", "mae", step, 1.0);
    }
  REQUIRE(st.drop_metrics_after(run, "train", 5) == 5);
  REQUIRE(st.metrics(run, "train").size() == 5);
  REQUIRE(st.metrics(run, "train").back().step == 5);
  REQUIRE(st.metrics(run, "test").size() == 10);   // another split: untouched
  REQUIRE(st.metrics(other, "train").size() == 10);  // another run: untouched
  REQUIRE(st.drop_metrics_after(run, "train", 5) == 0);
  REQUIRE_THROWS_WITH(st.drop_metrics_after("nosuchrun", "train", 0), Contains("no run 'nosuchrun'"));
}

// ---- temporary files of writes cut short ----

namespace {

// A pid that no process has: a child that exited and was reaped.
pid_t dead_pid() {
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  REQUIRE(wait_exit(child) == 0);
  REQUIRE(kill(child, 0) == -1);
  return child;
}

void write_bytes(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// What `dist2 train --resume RUN` does up to the middle of a checkpoint write, in
// a child process killed there with SIGKILL: reopens the run (its pid is now the
// child's), writes part of the checkpoint under the temporary name
// write_file_atomic uses, dies. Returns that name.
std::string killed_mid_checkpoint(const std::string& store, const std::string& run) {
  int names[2];
  REQUIRE(pipe(names) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(names[0]);
    try {
      store::Store st(store);
      st.reopen_run(run);
      const std::string tmp = temporary_path(st.run_dir(run) + "/checkpoint.pt", getpid());
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::write(fd, "half a checkpo", 14) != 14) _exit(2);
      if (::write(names[1], tmp.data(), tmp.size()) != static_cast<ssize_t>(tmp.size())) _exit(3);
      close(names[1]);
      raise(SIGKILL);
    } catch (...) {
    }
    _exit(1);
  }
  close(names[1]);
  std::string tmp;
  char buf[256];
  for (ssize_t n; (n = read(names[0], buf, sizeof buf)) > 0;) tmp.append(buf, static_cast<size_t>(n));
  close(names[0]);
  REQUIRE(wait_exit(child) == 128 + SIGKILL);
  REQUIRE(std::filesystem::exists(tmp));
  return tmp;
}

}  // namespace

TEST_CASE("reliability: a write cut short by SIGKILL leaves a temporary file, removed at the next open or resume",
          "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  std::string run, run_dir;
  {
    store::Store st(store);
    run = st.create_run("e", "regression", "smoke", "seed: 1\n", "0123456789abcdef", {});
    run_dir = st.run_dir(run);
  }
  const std::string ckpt = run_dir + "/checkpoint.pt";
  write_bytes(ckpt, "an older checkpoint");
  const std::string killed = killed_mid_checkpoint(store, run);
  REQUIRE(statuses(store) == std::multiset<std::string>{"running"});

  // Beside it: a live writer's file (this process is writing the checkpoint too);
  // files from another host, whose pid means nothing here, one just written and one
  // untouched for two hours; a name without a host (an older build), fresh; and
  // files that are not temporary names.
  const pid_t gone = dead_pid();
  const std::string live = temporary_path(ckpt, getpid());
  const std::string remote_fresh = fmt::format("{}.tmp.another-host.{}.17", ckpt, gone);
  const std::string remote_old = fmt::format("{}.tmp.another-host.{}.18", ckpt, gone);
  const std::string hostless = fmt::format("{}.tmp.{}.19", ckpt, gone);
  const std::string others[] = {run_dir + "/notes.tmp", run_dir + "/samples.md.tmp.draft", ckpt + ".checksum"};
  for (const auto& f : {live, remote_fresh, remote_old, hostless}) write_bytes(f, "part");
  for (const auto& f : others) write_bytes(f, "not temporary");
  std::filesystem::last_write_time(remote_old,
                                   std::filesystem::file_time_type::clock::now() - std::chrono::hours(2));

  SECTION("the next open marks the run interrupted and removes what dead writers left") {
    store::Store st(store);
    CHECK(st.run(run).status == "interrupted");
    CHECK_FALSE(std::filesystem::exists(killed));
    CHECK_FALSE(std::filesystem::exists(remote_old));
    CHECK(std::filesystem::exists(live));          // its writer is alive
    CHECK(std::filesystem::exists(remote_fresh));  // its writer may be alive on its host
    CHECK(std::filesystem::exists(hostless));      // the same: fresh, and nothing says where it was written
    for (const auto& f : others) CHECK(std::filesystem::exists(f));
    CHECK(read_file(ckpt) == "an older checkpoint");
  }
  SECTION("a resume removes what a writer killed since the store was opened left") {
    store::Store st(store);  // opened before the second kill: this open cannot have seen its file
    REQUIRE(st.mark_stale_runs() == 0);
    const std::string killed_again = killed_mid_checkpoint(store, run);
    REQUIRE(st.mark_stale_runs() == 1);
    st.reopen_run(run);
    CHECK_FALSE(std::filesystem::exists(killed_again));
    CHECK(std::filesystem::exists(live));
    CHECK(std::filesystem::exists(remote_fresh));
    CHECK(read_file(ckpt) == "an older checkpoint");
  }
}

TEST_CASE("reliability: SIGTERM and SIGINT stop a run cleanly: checkpoint, interrupted, exit 130", "[reliability]") {
  reference_run();
  TempDir dir;
  const std::string store = dir.sub("store");
  // Both at once, each stopped after its third logged step. --fresh: they train
  // the same trial, and one that starts late would otherwise resume the run the
  // other's SIGTERM interrupted.
  const pid_t term = spawn_dist2(train_args(store, kLongRun) + " --fresh", dir.sub("term.log"));
  const pid_t intr = spawn_dist2(train_args(store, kLongRun) + " --fresh", dir.sub("int.log"));
  const std::string term_run = wait_for_step(store, term, 3);
  REQUIRE(kill(term, SIGTERM) == 0);
  const std::string int_run = wait_for_step(store, intr, 3);
  REQUIRE(kill(intr, SIGINT) == 0);
  REQUIRE(wait_exit(term) == 130);
  REQUIRE(wait_exit(intr) == 130);
  REQUIRE(term_run != int_run);
  REQUIRE_THAT(slurp(dir.sub("term.log")), Contains("run " + term_run + " interrupted"));

  RawDb db(store);
  for (const auto& [run, sig] : {std::pair{term_run, SIGTERM}, std::pair{int_run, SIGINT}}) {
    INFO("run " << run);
    REQUIRE(db.scalar(fmt::format("SELECT status FROM runs WHERE id = '{}'", run)) == "interrupted");
    const std::string error = db.scalar(fmt::format("SELECT error FROM runs WHERE id = '{}'", run));
    REQUIRE_THAT(error, Contains(fmt::format("signal {}", sig)));
    // The checkpoint is at the step it stopped at, which it states.
    const std::string ckpt = store + "/runs/" + run + "/checkpoint.pt";
    REQUIRE(std::filesystem::exists(ckpt));
    REQUIRE(std::filesystem::exists(ckpt + ".checksum"));
    const int64_t logged = last_logged_step(store, run);
    REQUIRE_THAT(error, Contains(fmt::format("at step {}", logged)));
  }
  // Stopped between checkpoints: the resume starts from the signal's checkpoint.
  require_resume_equals_reference(store, term_run);
}

TEST_CASE("reliability: train of a trial whose latest run is interrupted resumes it; --fresh starts a new run",
          "[reliability]") {
  const Reference& ref = reference_run();
  TempDir dir;
  const std::string store = dir.sub("store");
  const pid_t pid = spawn_dist2(train_args(store, kLongRun), dir.sub("train.log"));
  const std::string run = wait_for_step(store, pid, 7);
  REQUIRE(kill(pid, SIGTERM) == 0);
  REQUIRE(wait_exit(pid) == 130);

  // The same command again (a requeued cluster task, a restarted sweep worker).
  const auto again = test::run_dist2(train_args(store, kLongRun));
  INFO(again.out);
  REQUIRE(again.status == 0);
  REQUIRE_THAT(again.out, Contains("resuming run " + run));
  REQUIRE_THAT(again.out, Contains("run " + run + " finished"));
  REQUIRE(statuses(store) == std::multiset<std::string>{"finished"});
  REQUIRE(train_curve(store, run, "loss") == ref.curves.at("loss"));  // every step once, as uninterrupted
  REQUIRE(test_metrics_text(store, run) == ref.final_test);

  // The latest run is finished: training the trial again is a new run, and so
  // is --fresh after an interruption.
  const auto third = test::run_dist2(train_args(store, kLongRun));
  INFO(third.out);
  REQUIRE(third.status == 0);
  REQUIRE_THAT(third.out, !Contains("resuming"));
  const pid_t pid2 = spawn_dist2(train_args(store, kLongRun), dir.sub("train2.log"));
  const std::string run2 = wait_for_step(store, pid2, 3);
  REQUIRE(kill(pid2, SIGTERM) == 0);
  REQUIRE(wait_exit(pid2) == 130);
  const auto fresh = test::run_dist2(train_args(store, kLongRun) + " --fresh");
  INFO(fresh.out);
  REQUIRE(fresh.status == 0);
  REQUIRE_THAT(fresh.out, !Contains("resuming"));
  REQUIRE(statuses(store) == std::multiset<std::string>{"finished", "finished", "finished", "interrupted"});
  RawDb db(store);
  REQUIRE(db.scalar(fmt::format("SELECT status FROM runs WHERE id = '{}'", run2)) == "interrupted");
}

TEST_CASE("reliability: SIGTERM during backbone pretraining stops it at once: interrupted, exit 130, no backbone",
          "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store"), log = dir.sub("train.log");
  const std::string reward = std::string(DIST2_SOURCE_DIR) + "/experiments/table3_reward.yaml";
  // A backbone of a million steps: without the stop check it would pretrain for hours.
  const pid_t pid = spawn_dist2(fmt::format("train {} --profile smoke --store {} --no-progress loss.kind=sft "
                                            "backbone.pretrain_steps=1000000",
                                            reward, store),
                                log);
  // Pretraining begins once its lock file exists (it logs only every 50,000 steps).
  auto has_lock = [&] {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(store + "/backbones", ec))
      if (e.path().extension() == ".lock") return true;
    return false;
  };
  const bool started = wait_for(has_lock, 120);
  if (started) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  REQUIRE(kill(pid, SIGTERM) == 0);
  // It must exit within a minute; a process that does not is killed, never left running.
  int status = 0;
  const bool exited = wait_for([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 60);
  if (!exited) kill(pid, SIGKILL), waitpid(pid, &status, 0);
  REQUIRE(started);
  REQUIRE(exited);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 130));
  RawDb db(store);
  REQUIRE(db.scalar("SELECT status FROM runs") == "interrupted");
  REQUIRE_THAT(db.scalar("SELECT error FROM runs"), Contains("backbone pretraining was stopped by signal 15"));
  // No half-pretrained backbone is left to be taken for a finished one.
  for (const auto& e : std::filesystem::directory_iterator(store + "/backbones"))
    if (e.is_directory()) CHECK_FALSE(std::filesystem::exists(e.path() / "manifest.json"));
}

TEST_CASE("reliability: resume refuses a run that is still running, or that does not exist", "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  std::string live;
  {
    store::Store st(store);
    live = st.create_run("table11_regression", "regression", "smoke", "seed: 1\n", "0123456789abcdef", {});
  }  // its pid is this test process, which is alive
  auto r = test::run_dist2(fmt::format("train {} --store {} --resume {}", kExperiment, store, live));
  INFO(r.out);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Contains("run " + live + " is still running (pid " + std::to_string(getpid())));
  REQUIRE(statuses(store) == std::multiset<std::string>{"running"});

  r = test::run_dist2(fmt::format("train {} --store {} --resume nosuchrun", kExperiment, store));
  INFO(r.out);
  REQUIRE(r.status == 1);
  REQUIRE_THAT(r.out, Contains("no run 'nosuchrun' in store " + store));
}

// ---- sweeps stopped and started again ----

namespace {
// Four cheap trials (loss.kind x seed) of the smoke profile.
const std::string kSweepOverrides = "sweep.loss.kind=[sft,dist] sweep.seed=[1,2] train.steps=2 task.n_test=8";

std::string sweep_args(const std::string& store, const std::string& extra = "") {
  return fmt::format("--threads 1 sweep {} --profile smoke --store {} -j 2 {} {}", kExperiment, store, kSweepOverrides,
                     extra);
}

// config hash -> status -> runs.
std::map<std::string, std::map<std::string, int>> runs_by_hash(const std::string& store) {
  std::map<std::string, std::map<std::string, int>> out;
  RawDb db(store);
  for (const auto& r : db.rows("SELECT config_hash, status FROM runs")) ++out[r[0]][r[1]];
  return out;
}

void stop_sweep_midway_and_restart(int sig) {
  TempDir dir;
  const std::string store = dir.sub("store");
  const pid_t pid = spawn_dist2(sweep_args(store), dir.sub("sweep.log"));
  REQUIRE(wait_for([&] { return count_runs(store, "finished") >= 1; }, 120));
  REQUIRE(kill(pid, sig) == 0);
  const int code = wait_exit(pid);
  INFO(slurp(dir.sub("sweep.log")));
  REQUIRE(code == (sig == SIGKILL ? 128 + SIGKILL : 130));

  // Started again at once: the killed sweep's workers may still be winding down.
  const std::string restart = store::now_iso();
  const auto again = test::run_dist2(sweep_args(store));
  INFO(again.out);
  REQUIRE(again.status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(again.out, m,
                            std::regex("4 trials: (\\d+) finished before, (\\d+) ran \\((\\d+) finished.* (\\d+) "
                                       "running elsewhere")));
  const int finished_before = std::stoi(m[1]), ran = std::stoi(m[2]), elsewhere = std::stoi(m[4]);
  REQUIRE(finished_before >= 1);
  REQUIRE(finished_before < 4);
  REQUIRE(std::stoi(m[3]) == ran);
  const auto after = runs_by_hash(store);
  REQUIRE(after.size() == 4);
  for (const auto& [hash, by_status] : after) {
    INFO("trial " << hash);
    REQUIRE(by_status.count("finished"));
    REQUIRE(by_status.at("finished") == 1);
    REQUIRE(!by_status.count("running"));
    REQUIRE(!by_status.count("failed"));
  }
  // The second sweep started one run for each trial that had not finished, no more.
  RawDb db(store);
  // (a trial the killed sweep left interrupted is resumed: its run, reopened)
  REQUIRE(db.count(fmt::format("SELECT count(*) FROM runs WHERE started_at > '{0}' OR id IN (SELECT run_id FROM tags "
                               "WHERE key = 'resumed_at' AND value > '{0}')",
                               restart)) == ran);
  REQUIRE(finished_before + ran <= 4);
  REQUIRE(finished_before + ran + elsewhere >= 4);
}
}  // namespace

TEST_CASE("reliability: a sweep killed with SIGKILL midway, started again, runs each remaining trial once",
          "[reliability]") {
  stop_sweep_midway_and_restart(SIGKILL);
}

TEST_CASE("reliability: a sweep stopped with SIGTERM midway, started again, runs each remaining trial once",
          "[reliability][slow]") {
  stop_sweep_midway_and_restart(SIGTERM);
}

TEST_CASE("reliability: failed trials are reported and skipped, and rerun with --retry-failed", "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  // Two trials; model.n_head=3 does not divide model.d_model=32, which only the model notices, at run time.
  const std::string args = fmt::format(
      "--threads 1 sweep {} --profile smoke --store {} -j 2 sweep.loss.kind=[sft] sweep.model.n_head=[4,3] "
      "train.steps=2 task.n_test=8",
      kExperiment, store);
  auto first = test::run_dist2(args);
  INFO(first.out);
  REQUIRE(first.status == 1);
  REQUIRE_THAT(first.out, Contains("FAILED"));
  REQUIRE_THAT(first.out, Contains("1 finished, 1 failed"));
  auto count = [&](const std::string& status) {
    return RawDb(store).count(fmt::format("SELECT count(*) FROM runs WHERE status = '{}'", status));
  };
  REQUIRE(count("finished") == 1);
  REQUIRE(count("failed") == 1);
  REQUIRE_THAT(RawDb(store).scalar("SELECT error FROM runs WHERE status = 'failed'"),
               Contains("must be a multiple of model.n_head (3)"));

  auto skipped = test::run_dist2(args);
  INFO(skipped.out);
  REQUIRE(skipped.status == 1);
  REQUIRE_THAT(skipped.out, Contains("skip (failed before; --retry-failed reruns it): seed=1 task.n_train=32 loss.kind=sft model.n_head=3"));
  REQUIRE_THAT(skipped.out, Contains("0 ran"));
  REQUIRE(count("failed") == 1);

  auto retried = test::run_dist2(args + " --retry-failed");
  INFO(retried.out);
  REQUIRE_THAT(retried.out, Contains("1 finished already, 1 to run"));
  REQUIRE(count("failed") == 2);  // ran again (and failed again); the finished one did not run again
  REQUIRE(count("finished") == 1);
}

// ---- files that are never half-written ----

TEST_CASE("reliability: checksummed files detect truncation and corruption", "[reliability]") {
  TempDir dir;
  const std::string path = dir.sub("blob.bin");
  const std::string content(10000, 'x');
  write_file_checksummed(path, content);
  REQUIRE(read_file_checksummed(path) == content);
  write_file_checksummed(path, content + "y");  // a second version replaces the first
  REQUIRE(read_file_checksummed(path) == content + "y");
  REQUIRE(read_file(path + ".checksum").find('\n') == read_file(path + ".checksum").size() - 1);

  std::filesystem::resize_file(path, 5000);
  REQUIRE_THROWS_WITH(read_file_checksummed(path), Contains("'" + path + "' is truncated or corrupted"));
  write_file_atomic(path, content + "z");  // same size, other bytes
  REQUIRE_THROWS_WITH(read_file_checksummed(path), Contains("truncated or corrupted"));

  // A crash between the two renames of a save: the checksum file lists both.
  write_file_checksummed(path, "old");
  write_file_atomic(path + ".checksum", read_file(path + ".checksum") + read_file(path + ".checksum"));
  write_file_checksummed(path, "new");
  write_file_atomic(path + ".checksum", read_file(path + ".checksum") + "fnv1a64=0000000000000000 bytes=3\n");
  REQUIRE(read_file_checksummed(path) == "new");
  // No temporary files are left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
  REQUIRE(files == 2);
}

TEST_CASE("reliability: a truncated or corrupted checkpoint is refused with a clear error", "[reliability]") {
  TempDir dir;
  config::Config cfg(experiment_schema("regression"));
  cfg.set("model.d_model", config::Value(int64_t{16}));
  cfg.set("model.n_head", config::Value(int64_t{2}));
  cfg.set("model.n_layer", config::Value(int64_t{1}));
  Tokenizer tok = tokenizer_for(cfg);
  MetricSpace metric = metric_space(cfg, tok);
  Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
  const std::string ckpt = dir.sub("checkpoint.pt");
  trainer.save_checkpoint(ckpt);
  trainer.load_checkpoint(ckpt);  // intact: loads
  const auto size = std::filesystem::file_size(ckpt);

  std::filesystem::resize_file(ckpt, size / 2);
  REQUIRE_THROWS_WITH(trainer.load_checkpoint(ckpt), Contains("'" + ckpt + "' is truncated or corrupted"));
  trainer.save_checkpoint(ckpt);
  {
    std::fstream f(ckpt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('\x55');
  }
  REQUIRE_THROWS_WITH(trainer.load_checkpoint(ckpt), Contains("truncated or corrupted"));
}

TEST_CASE("reliability: eval and resume refuse a damaged checkpoint with a one-line error", "[reliability][slow]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  const auto trained = test::run_dist2(train_args(store, "train.steps=10 train.checkpoint_every=5 task.n_test=8"));
  INFO(trained.out);
  REQUIRE(trained.status == 0);
  const std::string run = RawDb(store).scalar("SELECT id FROM runs");
  const std::string ckpt = store + "/runs/" + run + "/checkpoint.pt";
  std::filesystem::resize_file(ckpt, std::filesystem::file_size(ckpt) / 2);

  auto eval = test::run_dist2(fmt::format("eval {} --store {}", run, store));
  INFO(eval.out);
  REQUIRE(eval.status == 1);
  REQUIRE(eval.out == "dist2: error: '" + ckpt + "' is truncated or corrupted: " +
                          eval.out.substr(eval.out.find("it has ")));  // one line, the file named first
  REQUIRE(std::count(eval.out.begin(), eval.out.end(), '\n') == 1);

  auto resume = test::run_dist2(fmt::format("train {} --store {} --resume {}", kExperiment, store, run));
  INFO(resume.out);
  REQUIRE(resume.status == 1);
  REQUIRE_THAT(resume.out, Contains("run " + run + " is already finished"));

  RawDb(store).exec(fmt::format("UPDATE runs SET status = 'interrupted' WHERE id = '{}'", run));
  resume = test::run_dist2(fmt::format("train {} --store {} --resume {} --no-progress", kExperiment, store, run));
  INFO(resume.out);
  REQUIRE(resume.status == 1);
  REQUIRE_THAT(resume.out, Contains("'" + ckpt + "' is truncated or corrupted"));
  REQUIRE(RawDb(store).scalar("SELECT status FROM runs") == "failed");
}

TEST_CASE("reliability: truncated dataset files and manifests are detected, never used", "[reliability]") {
  TempDir dir;
  RegressionTask task;
  config::Config cfg(experiment_schema("regression"));
  cfg.set("task.n_train", config::Value(int64_t{16}));
  cfg.set("task.n_test", config::Value(int64_t{4}));
  const auto first = load_or_generate(task, cfg, dir.path);
  const std::string train = first.dir + "/train.jsonl", manifest = first.dir + "/manifest.json";

  const std::string text = read_file(train);
  write_file_atomic(train, text.substr(0, text.size() / 2));  // cut mid-line
  REQUIRE_THROWS_WITH(load_or_generate(task, cfg, dir.path),
                      Contains("dataset file '" + train + "' is corrupted (checksum mismatch)"));
  write_file_atomic(train, text.substr(0, text.rfind('\n', text.size() - 2) + 1));  // one whole line fewer
  REQUIRE_THROWS_WITH(load_or_generate(task, cfg, dir.path), Contains("corrupted"));
  write_file_atomic(train, text);
  REQUIRE(load_or_generate(task, cfg, dir.path).from_cache);

  const std::string m = read_file(manifest);
  write_file_atomic(manifest, m.substr(0, m.size() / 2));
  REQUIRE_THROWS_WITH(load_or_generate(task, cfg, dir.path),
                      Contains("dataset manifest '" + manifest + "' is damaged (JSON: "));
}

// ---- numerical faults ----

TEST_CASE("reliability: a non-finite loss fails the run at that step and keeps the last good checkpoint",
          "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  const auto r = test::run_dist2(
      train_args(store, "train.lr=1e30 train.warmup_steps=0 train.steps=50 train.log_every=1 train.checkpoint_every=1"));
  INFO(r.out);
  REQUIRE(r.status == 1);
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex("non-finite (loss|logit) .* at step (\\d+)")));
  const int64_t step = std::stoll(m[2]);
  REQUIRE(step >= 1);

  RawDb db(store);
  REQUIRE(db.scalar("SELECT status FROM runs") == "failed");
  REQUIRE_THAT(db.scalar("SELECT error FROM runs"), Contains(fmt::format("at step {}", step)));
  // Every logged loss is finite, up to the failing step.
  const std::string run = db.scalar("SELECT id FROM runs");
  const auto losses = train_curve(store, run, "loss");
  REQUIRE(losses.size() == static_cast<size_t>(step));
  for (const auto& [s, v] : losses) REQUIRE(std::isfinite(v));

  // The checkpoint is the one after the last good step, and loads.
  const auto cfg = config::Config::from_yaml_string(db.scalar("SELECT config FROM runs"), experiment_schema("regression"));
  Tokenizer tok = tokenizer_for(cfg);
  MetricSpace metric = metric_space(cfg, tok);
  Trainer trainer(cfg, tok, metric, loss_options(cfg, metric));
  trainer.load_checkpoint(store + "/runs/" + run + "/checkpoint.pt");
  REQUIRE(trainer.step() == step);
  for (const auto& p : trainer.model()->parameters()) REQUIRE(torch::isfinite(p).all().item<bool>());
}

// ---- found by fuzzing ----

TEST_CASE("reliability: config text must be UTF-8, so a stored config reads back to the same hash", "[reliability]") {
  // Found by fuzz_experiment: a string value with stray bytes that also needed
  // quoting was written to YAML with U+FFFD in their place, so the YAML a run
  // stores for its config read back to another config (another hash).
  const auto schema = experiment_schema("text");
  config::Config cfg(schema);
  for (const std::string& bad : {std::string("3\xe5\xe5\x1e\x1a\xe5"), std::string("\xe5\xe5"), std::string("a\xc0\xaf" "b"),
                                std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
    REQUIRE_THROWS_WITH(cfg.set("task.path", config::Value(bad)), Contains("task.path must be UTF-8 text; byte "));
    REQUIRE_THROWS_WITH(config::Config::from_yaml_string("task: {name: text, path: \"" + bad + "\"}\n", schema, "run.yaml"),
                        Contains("run.yaml:1:") && Contains("task.path must be UTF-8 text"));
  }
  REQUIRE_THROWS_WITH(cfg.set("task.path", config::Value(std::string("ab\xe5"))), Contains("byte 3 of the value"));
  // Well-formed text of every width, with control characters and YAML syntax, round-trips.
  for (const std::string& good : {std::string("\xc3\xa9t\xc3\xa9"), std::string("\xe2\x82\xac 5"), std::string("\xf0\x9f\x98\x80"),
                                 std::string("a\x1e\x1a b"), std::string("x: [y, \"z\"] # c"), std::string(" \t\n"),
                                 std::string("~"), std::string("1e3")}) {
    cfg.set("task.path", config::Value(good));
    const auto back = config::Config::from_yaml_string(cfg.to_yaml(), schema);
    REQUIRE(back.get_string("task.path") == good);
    REQUIRE(back.hash() == cfg.hash());
  }
}

// ---- bad input at the command line ----

namespace {

struct BadInput {
  std::string what;   // the case, for messages
  std::string args;   // dist2 arguments; {store} and {dir} are replaced
  std::string want;   // the one-line error must contain this ({store} and {dir} replaced)
  std::string shell;  // commands run before dist2 in the same shell (ulimit)
  bool fast = false;  // also in the fast suite
};

BadInput bad(std::string what, std::string args, std::string want, std::string shell = "", bool fast = false) {
  return {std::move(what), std::move(args), std::move(want), std::move(shell), fast};
}

std::string fill(std::string s, const TempDir& dir) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{store}", dir.sub("store")}, {"{dir}", dir.path}})
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Files and stores the bad inputs refer to.
void prepare_bad_inputs(const TempDir& dir) {
  write_text(dir.sub("malformed.yaml"), "experiment: x\nconfig: {seed: 1\nsweep: {}\n");
  write_text(dir.sub("unknown_key.yaml"), "experiment: x\nconfig:\n  loss: {alpah: 0.1}\n");
  write_text(dir.sub("empty_grid.yaml"), "experiment: x\nsweep:\n  seed: []\n");
  write_text(dir.sub("text.yaml"), "experiment: x\nconfig:\n  task: {name: text, path: " + dir.sub("nope.jsonl") +
                                       "}\n  train: {steps: 2}\n");
  std::filesystem::create_directories(dir.sub("a_directory.yaml"));
  store::Store empty(dir.sub("empty"));
  store::Store newer(dir.sub("newer"));
  RawDb(dir.sub("newer")).exec("UPDATE schema_version SET version = 99");
}

std::vector<BadInput> bad_inputs() {
  const std::string exp = kExperiment,
                    train = "--threads 1 train " + kExperiment + " --store {store} --profile smoke --no-progress ";
  return {
      bad("malformed YAML", "train {dir}/malformed.yaml --store {store}", "{dir}/malformed.yaml:3:6: malformed YAML: end of map flow not found",
       "", true),
      bad("unknown key in a file", "train {dir}/unknown_key.yaml --store {store}",
       "{dir}/unknown_key.yaml:3:10: unknown key 'loss.alpah' (did you mean 'loss.alpha'?)"),
      bad("unknown key in an override", train + "loss.alpah=0.1",
       "override 'loss.alpah=0.1': unknown key 'loss.alpah' (did you mean 'loss.alpha'?)", "", true),
      bad("wrong type", train + "loss.alpha=abc", "loss.alpha must be a number, got 'abc'"),
      bad("wrong type (integer)", train + "train.steps=1.5", "train.steps must be an integer, got '1.5'"),
      bad("alpha < 0", train + "loss.alpha=-1", "loss.alpha must be >= 0, got -1"),
      bad("tau <= 0", train + "loss.tau=0", "loss.tau must be > 0, got 0"),
      bad("empty grid", "sweep {dir}/empty_grid.yaml --store {store} --dry-run", "sweep: seed has an empty list"),
      bad("empty grid in an override", "sweep " + exp + " --store {store} --dry-run sweep.seed=[]",
       "sweep: seed has an empty list"),
      bad("unknown choice", train + "loss.kind=dst", "loss.kind must be one of"),
      bad("unknown profile", "train " + exp + " --store {store} --profile smok", "profile 'smok'"),
      bad("override without =", train + "loss.alpha", "override 'loss.alpha': expected key=value"),
      bad("missing experiment file", "train {dir}/nope.yaml --store {store}", "{dir}/nope.yaml"),
      bad("experiment file is a directory", "train {dir}/a_directory.yaml --store {store}", "a_directory.yaml"),
      bad("missing data file", "--threads 1 train {dir}/text.yaml --store {store} --no-progress",
       "cannot read data file '{dir}/nope.jsonl'"),
      bad("store from a newer schema", train.substr(0, train.find("--store")) + "--store {dir}/newer",
       "store {dir}/newer was written by a newer dist2 (schema v99, this build knows v" +
           std::to_string(dist2::store::Store::latest_schema_version()) + ")",
       "", true),
      bad("run id that does not exist (eval)", "eval nosuchrun --store {dir}/empty",
          "no run 'nosuchrun' in store {dir}/empty"),
      bad("run id that does not exist (runs show)", "runs show nosuchrun --store {dir}/empty",
          "no run 'nosuchrun' in store {dir}/empty"),
      bad("run id that does not exist (resume)", "train " + exp + " --store {dir}/empty --resume nosuchrun",
          "no run 'nosuchrun' in store {dir}/empty"),
      bad("store that does not exist (eval)", "eval abc --store {dir}/nostore",
          "no run store at {dir}/nostore (give --store DIR or set DIST2_STORE)"),
      bad("full disk while writing the checkpoint", train + "model.d_model=128", "checkpoint.pt': File too large",
       "ulimit -f 4096;", true),
      // ulimit -f counts 512-byte blocks in sh: 8 KiB is less than the store's schema,
      // 160 KiB holds the store (and its write-ahead log) but not a dataset of 4,096 problems, 2 MiB holds both but
      // not the checkpoint.
      bad("full disk while writing the store", train, "store {store}: read schema version failed: disk I/O error", "ulimit -f 16;"),
      bad("full disk while writing the dataset", train + "task.n_train=4096", "train.jsonl': File too large",
          "ulimit -f 320;"),
  };
}

// `record`: print the exact message (the full list's output is the record of them).
void check_bad_input(const BadInput& b, bool record) {
  TempDir dir;
  prepare_bad_inputs(dir);
  const auto r = test::run_dist2(fill(b.args, dir), b.shell);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  INFO(b.what << ": dist2 " << fill(b.args, dir) << "\n-> exit " << r.status << ": " << r.out);
  REQUIRE(r.status != 0);
  REQUIRE(r.status < 128);                                // an error, not a signal
  REQUIRE(out.find('\n') == std::string::npos);           // one line
  REQUIRE(out.rfind("dist2: error: ", 0) == 0);
  REQUIRE_THAT(out, Contains(fill(b.want, dir)));
  REQUIRE(!std::filesystem::exists(dir.sub("nostore")));  // reading commands create no store
  // A config error is found before the store is opened.
  if (out.find("override '") != std::string::npos || out.find(".yaml:") != std::string::npos)
    REQUIRE(!std::filesystem::exists(dir.sub("store")));
  // Nothing half-written: no run is left running or marked finished.
  for (const std::string& store : {dir.sub("store"), dir.sub("newer"), dir.sub("empty")})
    for (const auto& s : statuses(store)) REQUIRE((s == "failed" || s == "interrupted"));
  if (record) WARN(b.what << " -> " << out.substr(std::string("dist2: error: ").size()));
}

}  // namespace

TEST_CASE("reliability: bad input gives a one-line error naming the culprit and writes nothing half-way",
          "[reliability]") {
  for (const auto& b : bad_inputs())
    if (b.fast) check_bad_input(b, false);
}

TEST_CASE("reliability: bad input, the full list", "[reliability][slow]") {
  for (const auto& b : bad_inputs()) check_bad_input(b, true);
}

TEST_CASE("reliability: a sweep waits for a trial running elsewhere and runs it if it stops unfinished",
          "[reliability]") {
  TempDir dir;
  const std::string store = dir.sub("store");
  const std::string args =
      fmt::format("--threads 1 sweep {} --profile smoke --store {} sweep.loss.kind=[sft] train.steps=2 task.n_test=8",
                  kExperiment, store);
  const auto dry = test::run_dist2(args + " --dry-run");
  std::smatch m;
  REQUIRE(std::regex_search(dry.out, m, std::regex("would run: .*\\[([0-9a-f]{16})\\]")));
  const std::string hash = m[1];
  std::string other;
  {
    store::Store st(store);  // a run of that trial in a live process: this one
    other = st.create_run("table11_regression", "regression", "smoke", "seed: 1\n", hash, {});
  }
  const pid_t sweep = spawn_dist2(args, dir.sub("sweep.log"));
  REQUIRE(wait_for([&] { return slurp(dir.sub("sweep.log")).find("0 to run") != std::string::npos; }, 60));
  REQUIRE_THAT(slurp(dir.sub("sweep.log")), Contains("wait (running elsewhere"));
  store::Store(store).finish_run(other, "interrupted", "stopped for the test");
  REQUIRE(wait_exit(sweep) == 0);
  INFO(slurp(dir.sub("sweep.log")));
  REQUIRE_THAT(slurp(dir.sub("sweep.log")), Contains("stopped elsewhere unfinished, runs here"));
  RawDb db(store);
  REQUIRE(db.count(fmt::format("SELECT count(*) FROM runs WHERE config_hash = '{}' AND status = 'finished'", hash)) == 1);
}
