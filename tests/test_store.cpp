// The run store: schema and migrations, runs/params/metrics, stale runs,
// concurrent writer processes, and `dist2 runs` through the built executable.
// Checks read the database with the sqlite3 C API directly, not through Store.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dist2/store/listing.h"
#include "dist2/store/schema.h"
#include "dist2/store/store.h"
#include "dist2/util/csv.h"
#include "dist2/util/error.h"

using namespace dist2::store;
using Catch::Matchers::Contains;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/dist2-store-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string sub(const std::string& name) const { return path + "/" + name; }
};

// The database opened without the store, for independent checks.
class RawDb {
 public:
  explicit RawDb(const std::string& store_dir) {
    REQUIRE(sqlite3_open((store_dir + "/runs.db").c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 30000);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    const std::string msg = err ? err : "";
    sqlite3_free(err);
    INFO(sql << ": " << msg);
    REQUIRE(rc == SQLITE_OK);
  }
  // The first column of the first row as text ("" when there is none).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  int64_t count(const std::string& sql) { return std::stoll(scalar(sql)); }

 private:
  sqlite3* db_ = nullptr;
};

std::string hostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

std::map<std::string, std::string> params_of(const std::string& loss, int seed) {
  return {{"loss.kind", loss}, {"seed", std::to_string(seed)}, {"model.layers", "2"}};
}

std::string new_run(Store& s, const std::string& experiment, const std::string& loss, int seed,
                    const std::string& hash = "h0") {
  return s.create_run(experiment, "regression", "smoke", "loss:\n  kind: " + loss + "\n", hash, params_of(loss, seed));
}

struct Cli {
  int rc;
  std::string out;
};

// Runs the built dist2 with `args`; stdout (and stderr when merge_stderr) captured.
Cli run_dist2(const std::string& args, bool merge_stderr = false) {
  const std::string cmd = std::string(DIST2_EXE) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Forks `n` workers that each run work(i) with their own Store; returns how many
// failed (a failure prints its message on stderr). Children never touch Catch2.
template <class Work>
int run_workers(int n, Work work) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        work(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "worker %d: %s\n", i, e.what());
        code = 1;
      }
      std::fflush(stderr);
      _exit(code);
    }
    pids.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed;
}

}  // namespace

TEST_CASE("store: a new store gets the full schema, and reopening changes nothing", "[store]") {
  TempDir tmp;
  const std::string dir = tmp.sub("store");  // does not exist yet: the store creates it
  std::string id;
  {
    Store s(dir);
    CHECK(s.schema_version() == Store::latest_schema_version());
    id = new_run(s, "e", "dist", 0);
  }
  RawDb raw(dir);
  for (const char* table : {"schema_version", "experiments", "runs", "params", "metrics", "artifacts", "tags"})
    CHECK(raw.count(fmt::format("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{}'", table)) == 1);
  CHECK(raw.count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'runs_config_hash'") == 1);
  CHECK(raw.count("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'metrics_run_split_name'") == 1);
  CHECK(raw.scalar("PRAGMA journal_mode") == "wal");
  const std::string schema_before = raw.scalar("SELECT group_concat(sql, ';') FROM sqlite_master");

  for (int i = 0; i < 2; ++i) {
    Store again(dir);
    CHECK(again.schema_version() == Store::latest_schema_version());
    CHECK(again.get_run(id).has_value());
  }
  CHECK(raw.count("SELECT count(*) FROM schema_version") == 1);
  CHECK(raw.count("SELECT version FROM schema_version") == Store::latest_schema_version());
  CHECK(raw.scalar("SELECT group_concat(sql, ';') FROM sqlite_master") == schema_before);
  CHECK(raw.count("SELECT count(*) FROM runs") == 1);
}

TEST_CASE("store: a store written by a newer dist2 is refused", "[store]") {
  TempDir tmp;
  { Store s(tmp.path); }
  const int newer = Store::latest_schema_version() + 1;
  RawDb(tmp.path).exec(fmt::format("UPDATE schema_version SET version = {}", newer));
  REQUIRE_THROWS_AS(Store(tmp.path), dist2::Error);
  REQUIRE_THROWS_WITH(Store(tmp.path),
                      Contains("store " + tmp.path + " was written by a newer dist2") &&
                          Contains(fmt::format("schema v{}, this build knows v{}", newer, newer - 1)));
}

TEST_CASE("store: default directory comes from DIST2_STORE", "[store]") {
  const char* old = std::getenv("DIST2_STORE");
  const std::string saved = old ? old : "";
  setenv("DIST2_STORE", "/tmp/somewhere-else", 1);
  CHECK(Store::default_dir() == "/tmp/somewhere-else");
  unsetenv("DIST2_STORE");
  CHECK(Store::default_dir() == "dist2-runs");
  if (old) setenv("DIST2_STORE", saved.c_str(), 1);
}

TEST_CASE("store: create, finish, list, filter and look up runs", "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  const std::string a = new_run(s, "table1", "dist", 0);
  const std::string b = new_run(s, "table1", "sft", 0);
  const std::string c = new_run(s, "table1", "dist", 1);
  const std::string d = new_run(s, "table2", "dist", 0);
  for (const auto& id : {a, b, c, d}) {
    CHECK(id.size() == 12);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  CHECK(std::set<std::string>{a, b, c, d}.size() == 4);

  SECTION("a new run records who and where") {
    const RunInfo r = s.run(a);
    CHECK(r.status == "running");
    CHECK(r.experiment == "table1");
    CHECK(r.task == "regression");
    CHECK(r.profile == "smoke");
    CHECK(r.config == "loss:\n  kind: dist\n");
    CHECK(r.config_hash == "h0");
    CHECK(r.pid == getpid());
    CHECK(r.host == hostname());
    CHECK_FALSE(r.commit.empty());
    CHECK(r.ended_at.empty());
    CHECK(r.params == params_of("dist", 0));
    const auto started = parse_iso(r.started_at);
    REQUIRE(started);
    CHECK(std::abs(*started - std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()) < 60);
    CHECK(RawDb(tmp.path).count("SELECT count(*) FROM experiments") == 2);
  }

  SECTION("finish sets status, end time and error") {
    s.finish_run(a, "finished");
    s.finish_run(b, "failed", "loss became NaN at step 7");
    const RunInfo ra = s.run(a), rb = s.run(b);
    CHECK(ra.status == "finished");
    CHECK(ra.error.empty());
    REQUIRE(parse_iso(ra.ended_at));
    CHECK(*parse_iso(ra.ended_at) >= *parse_iso(ra.started_at));
    CHECK(rb.status == "failed");
    CHECK(rb.error == "loss became NaN at step 7");
    CHECK_THROWS_WITH(s.finish_run(c, "done"), Contains("finished, failed or interrupted"));
  }

  SECTION("list is newest first; filters combine") {
    s.finish_run(a, "finished");
    s.finish_run(c, "finished");
    auto ids = [](const std::vector<RunInfo>& runs) {
      std::vector<std::string> out;
      for (const auto& r : runs) out.push_back(r.id);
      return out;
    };
    CHECK(ids(s.list_runs()) == std::vector<std::string>{d, c, b, a});
    CHECK(s.list_runs().front().params == params_of("dist", 0));

    RunFilter f;
    f.experiment = "table1";
    CHECK(ids(s.list_runs(f)) == std::vector<std::string>{c, b, a});
    f.where = {{"loss.kind", "dist"}};
    CHECK(ids(s.list_runs(f)) == std::vector<std::string>{c, a});
    f.where.push_back({"seed", "1"});
    CHECK(ids(s.list_runs(f)) == std::vector<std::string>{c});
    f.where = {{"no.such.key", "x"}};
    CHECK(s.list_runs(f).empty());

    RunFilter st;
    st.status = "finished";
    CHECK(ids(s.list_runs(st)) == std::vector<std::string>{c, a});
    st.status = "running";
    st.where = {{"loss.kind", "dist"}};
    CHECK(ids(s.list_runs(st)) == std::vector<std::string>{d});

    RunFilter lim;
    lim.limit = 2;
    CHECK(ids(s.list_runs(lim)) == std::vector<std::string>{d, c});
    lim.where = {{"loss.kind", "dist"}};  // limit applies after the filter, params still complete
    const auto limited = s.list_runs(lim);
    CHECK(ids(limited) == std::vector<std::string>{d, c});
    CHECK(limited[1].params == params_of("dist", 1));

    RunFilter bad;
    bad.status = "done";
    CHECK_THROWS_WITH(s.list_runs(bad), Contains("running, finished, failed, interrupted"));
  }

  SECTION("lookup by unique prefix; unknown ids are named in the error") {
    CHECK(s.get_run(b.substr(0, 8))->id == b);
    CHECK_FALSE(s.get_run("").has_value());
    CHECK_FALSE(s.get_run("zzzz").has_value());
    CHECK_THROWS_WITH(s.run("zzzz"), Contains("no run 'zzzz' in store " + tmp.path));
    CHECK_THROWS_WITH(s.log_metric("zzzz", "test", "mae", 0, 1.0), Contains("no run 'zzzz'"));
    CHECK_THROWS_WITH(s.finish_run("zzzz", "finished"), Contains("no run 'zzzz'"));
    CHECK_THROWS_WITH(s.heartbeat("zzzz"), Contains("no run 'zzzz'"));
    CHECK_THROWS_WITH(s.run_dir("zzzz"), Contains("no run 'zzzz'"));
    CHECK_THROWS_WITH(s.metrics("zzzz"), Contains("no run 'zzzz'"));

    // 17 ids over 16 first hex digits: two must share their first character.
    std::map<char, std::vector<std::string>> by_first;
    for (const auto& id : {a, b, c, d}) by_first[id[0]].push_back(id);
    for (int i = 0; i < 13; ++i) {
      const auto id = new_run(s, "prefix", "dist", i);
      by_first[id[0]].push_back(id);
    }
    for (const auto& [first, ids] : by_first)
      if (ids.size() > 1) {
        CHECK_THROWS_WITH(s.get_run(std::string(1, first)), Contains("ambiguous") && Contains(ids[0]));
        break;
      }
  }

  SECTION("reopen for resume keeps params, config and start") {
    s.finish_run(a, "interrupted");
    const RunInfo before = s.run(a);
    s.reopen_run(a);
    const RunInfo after = s.run(a);
    CHECK(after.status == "running");
    CHECK(after.ended_at.empty());
    CHECK(after.params == before.params);
    CHECK(after.config == before.config);
    CHECK(after.started_at == before.started_at);
    CHECK(s.tags(a).count("resumed_at") == 1);
    CHECK_THROWS_WITH(s.reopen_run("zzzz"), Contains("no run 'zzzz'"));
  }

  SECTION("artifacts, tags and the run directory") {
    const std::string dir = s.run_dir(a);
    CHECK(dir == tmp.path + "/runs/" + a);
    CHECK(std::filesystem::is_directory(dir));
    s.log_artifact(a, "checkpoint", dir + "/last.pt");
    s.log_artifact(a, "predictions", dir + "/test.jsonl");
    const auto arts = s.artifacts(a);
    REQUIRE(arts.size() == 2);
    CHECK(arts[0].kind == "checkpoint");
    CHECK(arts[1].path == dir + "/test.jsonl");
    s.set_tag(a, "note", "first");
    s.set_tag(a, "note", "second");
    CHECK(s.tags(a) == std::map<std::string, std::string>{{"note", "second"}});
    CHECK_THROWS_WITH(s.run_dir("../x"), Contains("not a run id"));
  }
}

TEST_CASE("store: metrics and final metrics", "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  const std::string run = new_run(s, "e", "dist", 0);
  const std::string other = new_run(s, "e", "sft", 0);

  // Logged out of step order, with a repeated step (the later write wins).
  struct Logged {
    std::string split, name;
    int64_t step;
    double value;
  };
  const std::vector<Logged> logged{{"train", "loss", 0, 2.5}, {"train", "loss", 10, 1.5}, {"test", "mae", 20, 3.0},
                                   {"test", "mae", 40, 2.0},  {"test", "mae", 30, 9.0},   {"test", "rmse", 40, 4.0},
                                   {"test", "rmse", 40, 3.5}, {"train", "loss", 5, 2.0}};
  for (size_t i = 0; i < 4; ++i) s.log_metric(run, logged[i].split, logged[i].name, logged[i].step, logged[i].value);
  std::vector<MetricRow> batch;
  for (size_t i = 4; i < logged.size(); ++i) batch.push_back({"", logged[i].split, logged[i].name, logged[i].step, logged[i].value, ""});
  s.log_metrics(run, batch);
  s.log_metric(other, "test", "mae", 40, 100.0);
  s.log_metric(run, "test", "nan_metric", 1, std::nan(""));

  // Expected final values computed from the log: highest step, last write on ties.
  std::map<std::string, std::map<std::string, std::pair<int64_t, double>>> expect;
  for (const auto& l : logged) {
    auto it = expect[l.split].find(l.name);
    if (it == expect[l.split].end() || l.step >= it->second.first) expect[l.split][l.name] = {l.step, l.value};
  }

  const auto test_final = s.final_metrics(run, "test");
  CHECK(test_final.at("mae") == expect["test"]["mae"].second);
  CHECK(test_final.at("rmse") == expect["test"]["rmse"].second);
  CHECK(std::isnan(test_final.at("nan_metric")));
  CHECK(s.final_metrics(run, "train") == std::map<std::string, double>{{"loss", expect["train"]["loss"].second}});
  CHECK(s.final_metrics(other, "test") == std::map<std::string, double>{{"mae", 100.0}});
  CHECK(s.final_metrics(run, "val").empty());
  const auto all = s.final_metrics_all(run);
  CHECK(all.size() == 2);
  CHECK(all.at("train").at("loss") == expect["train"]["loss"].second);

  const auto mae = s.metrics(run, "test", "mae");
  REQUIRE(mae.size() == 3);
  CHECK(mae[0].step == 20);
  CHECK(mae[1].step == 30);
  CHECK(mae[2].step == 40);
  CHECK(mae[1].value == 9.0);
  CHECK(parse_iso(mae[0].timestamp).has_value());
  CHECK(s.metrics(run).size() == logged.size() + 1);
  CHECK(s.metrics(run, "train").size() == 3);

  RawDb raw(tmp.path);
  CHECK(raw.count(fmt::format("SELECT count(*) FROM metrics WHERE run_id = '{}'", run)) ==
        static_cast<int64_t>(logged.size() + 1));
  CHECK(raw.count(fmt::format("SELECT count(*) FROM metrics WHERE run_id = '{}' AND value IS NULL", run)) == 1);
  CHECK_THROWS_WITH(s.log_metric(run, "", "mae", 0, 1.0), Contains("needs a split and a name"));
}

TEST_CASE("store: find_finished returns the latest finished run of a config", "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  const std::string first = new_run(s, "e", "dist", 0, "hashA");
  const std::string second = new_run(s, "e", "dist", 0, "hashA");
  const std::string failed = new_run(s, "e", "dist", 0, "hashA");
  const std::string running = new_run(s, "e", "dist", 0, "hashA");
  const std::string elsewhere = new_run(s, "e", "sft", 0, "hashB");
  CHECK_FALSE(s.find_finished("hashA").has_value());
  s.finish_run(second, "finished");
  s.finish_run(first, "finished");  // ends last: the latest finished
  s.finish_run(failed, "failed", "boom");
  s.finish_run(elsewhere, "finished");
  const auto found = s.find_finished("hashA");
  REQUIRE(found);
  CHECK(found->id == first);
  CHECK(found->params == params_of("dist", 0));
  CHECK(s.find_finished("hashB")->id == elsewhere);
  CHECK_FALSE(s.find_finished("hashC").has_value());
  CHECK(s.run(running).status == "running");
}

TEST_CASE("store: runs whose process is gone are marked interrupted", "[store]") {
  TempDir tmp;
  std::string orphan, mine, remote_old, remote_fresh;
  {
    Store s(tmp.path);
    orphan = new_run(s, "e", "dist", 0);
    mine = new_run(s, "e", "dist", 1);
    remote_old = new_run(s, "e", "dist", 2);
    remote_fresh = new_run(s, "e", "dist", 3);
  }
  // A pid that surely no longer exists: a child that exited and was reaped.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(kill(child, 0) == -1);

  RawDb raw(tmp.path);
  raw.exec(fmt::format("UPDATE runs SET pid = {} WHERE id = '{}'", child, orphan));
  raw.exec(fmt::format("UPDATE runs SET host = 'another-host', heartbeat_at = '2000-01-01T00:00:00.000Z' "
                       "WHERE id = '{}'", remote_old));
  raw.exec(fmt::format("UPDATE runs SET host = 'another-host', pid = {} WHERE id = '{}'", child, remote_fresh));

  SECTION("on open") {
    Store s(tmp.path);
    CHECK(s.run(orphan).status == "interrupted");
    CHECK_THAT(s.run(orphan).error, Contains(std::to_string(child)));
    CHECK_FALSE(s.run(orphan).ended_at.empty());
    CHECK(s.run(remote_old).status == "interrupted");
    CHECK_THAT(s.run(remote_old).error, Contains("another-host"));
    CHECK(s.run(mine).status == "running");          // this process is alive
    CHECK(s.run(remote_fresh).status == "running");  // another host's pid means nothing here
    CHECK(s.mark_stale_runs() == 0);
  }
  SECTION("explicitly, with a threshold") {
    CHECK(Store::exists(tmp.path));
    // Reopening already marked the two; a fresh heartbeat from far away is stale
    // only under a zero threshold.
    Store s(tmp.path);
    CHECK(s.list_runs(RunFilter{std::nullopt, std::string("interrupted"), std::nullopt, {}, 0}).size() == 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(s.mark_stale_runs(std::chrono::seconds(0)) == 1);
    CHECK(s.run(remote_fresh).status == "interrupted");
    CHECK(s.run(mine).status == "running");
  }
}

namespace {

// Each worker: one run written row by row (a transaction each, with heartbeats
// and a tag), one written as a single batch; both finished.
void concurrent_worker(const std::string& dir, int worker, int rows) {
  Store s(dir);
  const std::string one = new_run(s, "concurrent", "dist", worker, fmt::format("w{}", worker));
  for (int step = 0; step < rows; ++step) {
    s.log_metric(one, "train", "loss", step, worker + step * 1e-3);
    if (step % 50 == 0) s.heartbeat(one);
  }
  s.set_tag(one, "worker", std::to_string(worker));
  s.finish_run(one, "finished");
  const std::string batch = new_run(s, "concurrent", "sft", worker, fmt::format("b{}", worker));
  std::vector<MetricRow> rows_batch;
  for (int step = 0; step < rows; ++step) rows_batch.push_back({"", "test", "mae", step, 1.0 * step, ""});
  s.log_metrics(batch, rows_batch);
  s.finish_run(batch, "finished");
  s.list_runs();  // readers beside the writers
}

void check_nothing_lost(const std::string& dir, int workers, int rows) {
  RawDb raw(dir);
  CHECK(raw.count("SELECT count(*) FROM runs") == 2 * workers);
  CHECK(raw.count("SELECT count(*) FROM runs WHERE status = 'finished'") == 2 * workers);
  CHECK(raw.count("SELECT count(*) FROM metrics") == 2 * workers * rows);
  CHECK(raw.count("SELECT count(*) FROM tags WHERE key = 'worker'") == workers);
  // Every run has every step exactly once.
  CHECK(raw.count(fmt::format("SELECT count(*) FROM (SELECT run_id FROM metrics GROUP BY run_id "
                              "HAVING count(*) = {0} AND count(DISTINCT step) = {0} AND min(step) = 0 "
                              "AND max(step) = {1})",
                              rows, rows - 1)) == 2 * workers);
  CHECK(raw.count("SELECT count(DISTINCT id) FROM runs") == 2 * workers);
  CHECK(raw.count("SELECT count(*) FROM schema_version") == 1);
}

}  // namespace

TEST_CASE("store: 8 concurrent writer processes lose nothing", "[store]") {
  TempDir tmp;
  const std::string dir = tmp.sub("store");  // the workers race to create it
  const int workers = 8, rows = 200;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(run_workers(workers, [&](int i) { concurrent_worker(dir, i, rows); }) == 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN(fmt::format("{} workers x {} single-row transactions + a {}-row batch each: {:.2f} s", workers, rows, rows, secs));
  check_nothing_lost(dir, workers, rows);
}

TEST_CASE("store: a write waits for another connection's lock instead of failing", "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  const std::string run = new_run(s, "e", "dist", 0);
  RawDb holder(tmp.path);
  holder.exec("BEGIN IMMEDIATE");
  holder.exec(fmt::format("INSERT INTO tags(run_id, key, value) VALUES ('{}', 'held', 'yes')", run));
  const auto t0 = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    holder.exec("COMMIT");
  });
  s.log_metric(run, "train", "loss", 0, 1.0);  // blocks until the holder commits
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  release.join();
  CHECK(waited > 0.2);
  CHECK(s.metrics(run).size() == 1);
  CHECK(s.tags(run).at("held") == "yes");
}

TEST_CASE("store: 8 concurrent writer processes and a reader, long", "[store][slow]") {
  TempDir tmp;
  const std::string dir = tmp.sub("store");
  const int workers = 8, rows = 5000;
  const auto t0 = std::chrono::steady_clock::now();
  const auto work = [&](int i) {
    if (i < workers) return concurrent_worker(dir, i, rows);
    Store reader(dir);
    for (int k = 0; k < 300; ++k)
      for (const auto& r : reader.list_runs()) reader.final_metrics(r.id, "train");
  };
  CHECK(run_workers(workers + 1, work) == 0);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN(fmt::format("{} workers x {} single-row transactions + a {}-row batch each: {:.2f} s", workers, rows, rows, secs));
  check_nothing_lost(dir, workers, rows);
}

TEST_CASE("store: listing helpers", "[store]") {
  RunInfo a, b, c;
  a.params = {{"loss.kind", "dist"}, {"seed", "0"}, {"lr", "0.001"}, {"zeta", "1"}};
  b.params = {{"loss.kind", "sft"}, {"seed", "0"}, {"lr", "0.001"}, {"zeta", "2"}};
  c.params = {{"loss.kind", "dist"}, {"seed", "1"}, {"lr", "0.001"}};  // zeta missing: differs too
  CHECK(varying_params({a, b, c}) == std::vector<std::string>{"loss.kind", "seed", "zeta"});
  CHECK(varying_params({a}).empty());
  CHECK(format_duration(42.04) == "42.0s");
  CHECK(format_duration(185) == "3m05s");
  CHECK(format_duration(7260) == "2h01m");
  CHECK(dist2::csv_quote("plain") == "plain");
  CHECK(dist2::csv_quote("a,b") == "\"a,b\"");
  CHECK(dist2::csv_quote("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(dist2::csv_quote("two\nlines") == "\"two\nlines\"");  // RFC 4180: the break stays, quoted
  CHECK(dist2::csv_field("two\nlines, one record") == "\"two lines, one record\"");  // read back a line at a time
  a.started_at = "2024-05-01T12:00:00.000Z";
  a.ended_at = "2024-05-01T12:01:30.500Z";
  CHECK(run_duration_s(a) == Approx(90.5));
  CHECK_THROWS_WITH(parse_format("xml"), Contains("table, csv or json"));
}

namespace {

// Five finished runs (losses alternate dist/sft, seeds 0..4) with two test
// mae values each; returns id -> (loss kind, final test mae).
std::map<std::string, std::pair<std::string, double>> fill_store(const std::string& dir) {
  std::map<std::string, std::pair<std::string, double>> runs;
  Store s(dir);
  for (int i = 0; i < 5; ++i) {
    const std::string loss = i % 2 ? "sft" : "dist";
    const std::string id = new_run(s, "table1", loss, i);
    s.log_metric(id, "test", "mae", 10, 5.0 + i);
    s.log_metric(id, "test", "mae", 20, 1.0 + i / 4.0);
    s.finish_run(id, "finished");
    runs[id] = {loss, 1.0 + i / 4.0};
  }
  return runs;
}

}  // namespace

TEST_CASE("store: format_runs as table, csv and json", "[store]") {
  TempDir tmp;
  auto runs = fill_store(tmp.path);
  Store s(tmp.path);
  ListingOptions opt;
  opt.metrics_split = "test";

  SECTION("json: one object per run with its params and final metrics") {
    opt.format = Format::json;
    const nlohmann::json list = nlohmann::json::parse(format_runs(s, s.list_runs(), opt));
    REQUIRE(list.is_array());
    REQUIRE(list.size() == runs.size());
    for (const auto& r : list) {
      const std::string id = r["id"].get<std::string>();
      REQUIRE(runs.count(id) == 1);
      CHECK(r["status"].get<std::string>() == "finished");
      CHECK(r["params"]["loss.kind"].get<std::string>() == runs[id].first);
      CHECK(r["metrics"]["test"]["mae"].get<double>() == runs[id].second);
      CHECK(r["duration_s"].get<double>() >= 0);
    }
    CHECK(nlohmann::json::parse(format_runs(s, {}, opt)).size() == 0);
  }

  SECTION("csv: a header and one line per run, every param and metric a column") {
    opt.format = Format::csv;
    RunFilter f;
    f.limit = 3;
    const std::string out = format_runs(s, s.list_runs(f), opt);
    CHECK(std::count(out.begin(), out.end(), '\n') == 4);
    const std::string header = out.substr(0, out.find('\n'));
    CHECK_THAT(header, Contains("params.loss.kind") && Contains("params.model.layers") && Contains("metrics.test.mae"));
  }

  SECTION("table: the params that vary and the final metrics") {
    const std::string out = format_runs(s, s.list_runs(), opt);
    const std::string header = out.substr(0, out.find('\n'));
    CHECK_THAT(header, Contains("loss.kind") && Contains("seed") && Contains("test.mae"));
    CHECK_THAT(header, !Contains("model.layers"));  // the same in every run
    for (const auto& [id, info] : runs) CHECK_THAT(out, Contains(id));
    CHECK_THAT(out, Contains("5 runs"));
    opt.param_keys = {"model.layers"};
    const std::string chosen = format_runs(s, s.list_runs(), opt);
    CHECK_THAT(chosen.substr(0, chosen.find('\n')), Contains("model.layers") && !Contains("loss.kind"));
  }

  SECTION("one run in full") {
    const std::string id = runs.begin()->first;
    s.log_artifact(id, "checkpoint", "ckpt/last.pt");
    const nlohmann::json r = nlohmann::json::parse(format_run(s, s.run(id), Format::json));
    CHECK(r["id"].get<std::string>() == id);
    CHECK(r["final_metrics"]["test"]["mae"].get<double>() == runs[id].second);
    CHECK(r["config"].get<std::string>() == "loss:\n  kind: " + runs[id].first + "\n");
    CHECK(r["artifacts"][0]["path"].get<std::string>() == "ckpt/last.pt");
    const std::string text = format_run(s, s.run(id), Format::table);
    CHECK_THAT(text, Contains("params (3)") && Contains("final metrics") && Contains("checkpoint"));
  }
}

// Each start of the executable loads LibTorch (about a second), so the fast case
// makes two calls and the rest of the command line is checked in the slow one.
TEST_CASE("store: dist2 runs --format json through the executable", "[store]") {
  TempDir tmp;
  auto runs = fill_store(tmp.path);
  const std::string store = "--store " + tmp.path;

  const Cli out = run_dist2("runs " + store + " --format json --metrics test --where loss.kind=dist");
  REQUIRE(out.rc == 0);
  const nlohmann::json list = nlohmann::json::parse(out.out);
  REQUIRE(list.is_array());
  size_t dist_runs = 0;
  for (const auto& [id, info] : runs) dist_runs += info.first == "dist";
  REQUIRE(list.size() == dist_runs);
  for (const auto& r : list) {
    const std::string id = r["id"].get<std::string>();
    REQUIRE(runs.count(id) == 1);
    CHECK(r["params"]["loss.kind"].get<std::string>() == "dist");
    CHECK(r["metrics"]["test"]["mae"].get<double>() == runs[id].second);
  }

  const std::string id = runs.begin()->first;
  const Cli show = run_dist2("runs " + store + " --format json show " + id.substr(0, 10));
  REQUIRE(show.rc == 0);
  CHECK(nlohmann::json::parse(show.out)["id"].get<std::string>() == id);
}

TEST_CASE("store: dist2 runs command line, table and errors", "[store][slow]") {
  TempDir tmp;
  auto runs = fill_store(tmp.path);
  const std::string store = "--store " + tmp.path;
  const std::string id = runs.begin()->first;

  const Cli table = run_dist2("runs " + store + " --metrics test --status finished");
  REQUIRE(table.rc == 0);
  CHECK_THAT(table.out, Contains("loss.kind") && Contains("test.mae") && Contains("5 runs"));
  const Cli csv = run_dist2("runs " + store + " --format csv --limit 2");
  REQUIRE(csv.rc == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);
  const Cli text = run_dist2("runs show " + id + " " + store);  // options after the subcommand
  REQUIRE(text.rc == 0);
  CHECK_THAT(text.out, Contains(id) && Contains("params (3)"));
  const Cli config = run_dist2("runs " + store + " show " + id + " --config");
  REQUIRE(config.rc == 0);
  CHECK(config.out == "loss:\n  kind: " + runs[id].first + "\n");

  const Cli missing = run_dist2("runs " + store + " show zzzz", true);
  CHECK(missing.rc == 1);
  CHECK_THAT(missing.out, Contains("no run 'zzzz' in store"));
  const Cli no_store = run_dist2("runs --store " + tmp.sub("nothing-here"), true);
  CHECK(no_store.rc == 1);
  CHECK_THAT(no_store.out, Contains("no run store at"));
  CHECK_FALSE(std::filesystem::exists(tmp.sub("nothing-here")));
  const Cli bad_where = run_dist2("runs " + store + " --where seed", true);
  CHECK(bad_where.rc == 1);
  CHECK_THAT(bad_where.out, Contains("key=value"));
}

TEST_CASE("store: a v1 store migrates to the latest and keeps its runs; runs carry their variant", "[store]") {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path);
  {
    RawDb raw(tmp.path);
    raw.exec(dist2::store::schema::migrations().at(0));
    raw.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);");
    raw.exec("INSERT INTO experiments VALUES ('e', '2026-01-01T00:00:00Z');"
             "INSERT INTO runs(id, experiment, task, status, config, config_hash, profile, started_at) "
             "VALUES ('aaaaaaaaaaaa', 'e', 'regression', 'finished', '{}', 'h1', 'smoke', '2026-01-01T00:00:00Z')");
  }
  Store s(tmp.path);
  CHECK(s.schema_version() == Store::latest_schema_version());
  CHECK(Store::latest_schema_version() == 3);
  const auto old = s.get_run("aaaaaaaaaaaa");
  REQUIRE(old.has_value());
  CHECK(old->variant.empty());
  CHECK(old->status == "finished");
  const std::string id = s.create_run("e", "regression", "smoke", "{}", "h2", {{"seed", "1"}}, "no_pw seed=1");
  CHECK(s.run(id).variant == "no_pw seed=1");
  CHECK(s.find_finished("h1")->variant.empty());
}

TEST_CASE("store: a sweep plan round-trips, replaces the earlier one, and is kept per profile and overrides",
          "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  CHECK(s.planned_trials("e", "smoke").empty());
  CHECK(s.experiments_for_report("table11").empty());
  SweepPlan plan{"e", "smoke", {}, {"table11", "figure3"},
                 {{"h1", "seed=1 loss.kind=sft", {"seed=1", "loss.kind=sft"}}, {"h2", "no_pw seed=1", {"seed=1"}}}};
  s.record_sweep_plan(plan);
  auto got = s.planned_trials("e", "smoke");
  REQUIRE(got.size() == 2);
  CHECK(got[0].config_hash == "h1");
  CHECK(got[0].variant == "seed=1 loss.kind=sft");
  CHECK(got[0].settings == std::vector<std::string>{"seed=1", "loss.kind=sft"});
  CHECK(got[1].settings == std::vector<std::string>{"seed=1"});
  CHECK(s.experiments_for_report("figure3") == std::vector<std::string>{"e"});
  CHECK(s.planned_trials("e", "default").empty());

  // A sweep with overrides is its own plan; the plain one stays.
  SweepPlan over = plan;
  over.overrides = {"train.steps=3"};
  over.trials = {{"h9", "seed=1", {"seed=1"}}};
  s.record_sweep_plan(over);
  CHECK(s.planned_trials("e", "smoke").size() == 2);
  CHECK(s.planned_trials("e", "smoke", {"train.steps=3"}).at(0).config_hash == "h9");

  // The same sweep again, with one trial and one report: the old rows go.
  plan.trials.pop_back();
  plan.reports = {"table5"};
  s.record_sweep_plan(plan);
  CHECK(s.planned_trials("e", "smoke").size() == 1);
  CHECK(s.experiments_for_report("table11").empty());
  CHECK(s.experiments_for_report("table5") == std::vector<std::string>{"e"});
}

TEST_CASE("store: a trial is claimed by one process at a time; a dead holder's claim is taken over", "[store]") {
  TempDir tmp;
  Store s(tmp.path);
  // In a child process: try to claim `hash`, exit 0 when it got it, 1 when not;
  // `hold` keeps the child alive (holding what it got) until the parent kills it.
  auto claim_in_child = [&](const std::string& hash, bool hold) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      bool got = false;
      try {
        Store child(tmp.path);
        got = child.claim_trial(hash);
      } catch (...) {
        _exit(2);
      }
      if (hold) pause();
      _exit(got ? 0 : 1);
    }
    return pid;
  };
  auto exit_code = [](pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  CHECK(s.claim_trial("h1"));
  CHECK(s.claim_trial("h1"));  // its holder may claim again
  CHECK_FALSE(s.claimed_elsewhere("h1"));
  CHECK(exit_code(claim_in_child("h1", false)) == 1);  // held by a live process: refused
  s.release_trial("h1");
  CHECK(exit_code(claim_in_child("h1", false)) == 0);  // released: the child takes it, then exits
  CHECK(s.claim_trial("h1"));                          // its holder is gone: taken over

  // A live child holds h2: refused here, and seen as claimed elsewhere.
  const pid_t holder = claim_in_child("h2", true);
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = s.claimed_elsewhere("h2");
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(seen);
  CHECK_FALSE(s.claim_trial("h2"));
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  CHECK_FALSE(s.claimed_elsewhere("h2"));
  CHECK(s.claim_trial("h2"));

  // A finished or running run of the trial: nobody claims it.
  const std::string id = s.create_run("e", "regression", "smoke", "{}", "h3", {});
  CHECK_FALSE(s.claim_trial("h3"));
  s.finish_run(id, "failed", "boom");
  CHECK(s.claim_trial("h3"));  // a failed run may be retried
  const std::string done = s.create_run("e", "regression", "smoke", "{}", "h4", {});
  s.finish_run(done, "finished");
  CHECK_FALSE(s.claim_trial("h4"));
}
