#include "dist2/store/store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dist2/commit.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <random>
#include <set>
#include <thread>

#include "dist2/store/schema.h"
#include "dist2/store/sqlite.h"
#include "dist2/util/error.h"
#include "dist2/util/process.h"
#include "dist2/util/files.h"

namespace dist2::store {

namespace fs = std::filesystem;

// ---- time, identity of this process ----

std::string now_iso() {
  using namespace std::chrono;
  const int64_t us = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
}

std::optional<double> parse_iso(const std::string& iso) {
  std::tm tm{};
  int used = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &used) != 6)
    return std::nullopt;
  double fraction = 0, scale = 0.1;  // any number of fractional digits
  if (iso[static_cast<size_t>(used)] == '.')
    for (size_t i = static_cast<size_t>(used) + 1; i < iso.size() && std::isdigit(static_cast<unsigned char>(iso[i]));
         ++i, scale /= 10)
      fraction += (iso[i] - '0') * scale;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + fraction;
}

namespace {

// The commit this binary was built from (stamped at build time, "-dirty" when
// the tree had uncommitted changes), so a run records the code that ran.
const std::string& source_commit() {
  static const std::string sha = DIST2_COMMIT;
  return sha;
}

// 12 hex characters (48 bits) from the random device mixed with the clock and
// pid; a fresh random_device each call so that forked workers never share a
// generator state. Collisions are still checked against the table.
std::string new_run_id() {
  std::random_device rd;
  uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
               (static_cast<uint64_t>(getpid()) << 40);
  t ^= t >> 33, t *= 0xff51afd7ed558ccdULL, t ^= t >> 33;  // murmur finalizer
  return fmt::format("{:012x}", (x ^ t) & 0xffffffffffffULL);
}

bool is_safe_run_id(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// Waits between attempts of a transaction that met a lock: exponential with
// jitter, so that workers that collided once do not collide again in lockstep.
class Backoff {
 public:
  std::chrono::microseconds next() {
    std::uniform_real_distribution<double> jitter(0.5, 1.5);
    const double us = delay_us_ * jitter(rng_);
    delay_us_ = std::min(delay_us_ * 2, 1e6);
    return std::chrono::microseconds(static_cast<int64_t>(us));
  }

 private:
  double delay_us_ = 5000;
  std::mt19937 rng_{std::random_device{}()};
};

constexpr int kBusyTimeoutMs = 30000;
constexpr int kMaxAttempts = 12;

const char* const kRunColumns =
    "id, experiment, task, status, config, config_hash, profile, started_at, ended_at, heartbeat_at, commit_sha, "
    "host, pid, error, variant";

RunInfo read_run(const sql::Statement& q) {
  RunInfo r;
  r.id = q.text(0), r.experiment = q.text(1), r.task = q.text(2), r.status = q.text(3);
  r.config = q.text(4), r.config_hash = q.text(5), r.profile = q.text(6);
  r.started_at = q.text(7), r.ended_at = q.text(8), r.heartbeat_at = q.text(9);
  r.commit = q.text(10), r.host = q.text(11), r.pid = q.int64(12), r.error = q.text(13);
  r.variant = q.text(14);
  return r;
}

}  // namespace

// ---- the connection and its transactions ----

struct Store::Impl {
  std::string dir;
  sql::Connection db;
  std::string host = this_host();

  explicit Impl(const std::string& d) : dir(d), db((fs::path(d) / "runs.db").string(), d) {}

  // Runs fn, retrying it from the start when it meets a lock. fn must leave
  // nothing behind outside the database when it throws.
  void with_retry(const std::string& op, const std::function<void()>& fn) {
    Backoff backoff;
    for (int attempt = 1;; ++attempt) {
      try {
        fn();
        return;
      } catch (const sql::Busy& e) {
        rollback();
        if (attempt == kMaxAttempts)
          throw Error(fmt::format("store {}: {}: the database stayed locked through {} attempts ({})", dir, op,
                                  attempt, e.what()));
        std::this_thread::sleep_for(backoff.next());
      } catch (...) {
        rollback();
        throw;
      }
    }
  }

  // One short write transaction. BEGIN IMMEDIATE takes the write lock up front, so
  // a transaction never has to upgrade a read lock (which SQLite cannot wait for).
  void write(const std::string& op, const std::function<void()>& fn) {
    with_retry(op, [&] {
      db.exec("BEGIN IMMEDIATE", op);
      fn();
      db.exec("COMMIT", op);
    });
  }

  // A read transaction: several queries see one snapshot.
  void read(const std::string& op, const std::function<void()>& fn) {
    with_retry(op, [&] {
      db.exec("BEGIN", op);
      fn();
      db.exec("COMMIT", op);
    });
  }

  // Inside a transaction: whether another process that is still there holds
  // the trial's claim (gone: a dead pid on this host, or silent for the remote
  // staleness on another).
  bool claim_held_elsewhere(const std::string& config_hash) {
    auto q = db.prepare("SELECT host, pid, claimed_at FROM trial_claims WHERE config_hash = ?1", "read trial claim");
    q.bind(1, config_hash);
    if (!q.step()) return false;
    const std::string holder = q.text(0);
    const int64_t pid = q.int64(1);
    if (holder == host) return pid != static_cast<int64_t>(getpid()) && pid_alive(pid);
    const auto since = parse_iso(q.text(2)), now = parse_iso(now_iso());
    return !(since && now && *now - *since > static_cast<double>(Store::kRemoteStaleAfter.count()));
  }

  void rollback() noexcept {
    if (!db.in_transaction()) return;
    try {
      db.exec("ROLLBACK", "rollback");
    } catch (...) {
    }
  }

  void configure() {
    db.exec(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs), "set busy_timeout");
    db.exec("PRAGMA foreign_keys = ON", "enable foreign keys");
    // WAL lets readers run beside the one writer; synchronous=NORMAL is safe in WAL
    // mode (a crash of the process loses nothing, a power loss the last commits).
    with_retry("enable WAL", [&] { db.exec("PRAGMA journal_mode = WAL", "enable WAL"); });
    db.exec("PRAGMA synchronous = NORMAL", "set synchronous");
  }

  // Reads the version without a write lock; migrates (re-checking under the lock)
  // only when behind, so concurrent openers of a current store never serialize.
  void migrate() {
    int version = 0;
    with_retry("read schema version", [&] { version = schema::recorded_version(db); });
    schema::check_not_newer(db, version);
    if (version < schema::latest_version()) write("migrate schema", [&] { schema::migrate(db); });
  }

  // DIR/runs/<id>, where the run's checkpoints and artifacts go (not created here).
  std::string run_path(const std::string& id) const { return (fs::path(dir) / "runs" / id).string(); }

  // A writer killed mid-write (a checkpoint being replaced) leaves its temporary
  // file in the run's folder. Those of the runs that stopped (interrupted, which
  // includes the ones mark_stale_runs just marked, or failed) are removed when
  // their writer is surely gone (remove_stale_temporary_files: a dead pid on this
  // host, else untouched for kRemoteStaleAfter); a live writer's stays. Only
  // stopped runs are looked at (a running run's writer is alive, or its run is
  // marked stopped first), so an open costs nothing per finished run.
  void remove_abandoned_temporary_files() {
    std::vector<std::string> stopped;
    read("find stopped runs", [&] {
      stopped.clear();
      auto q = db.prepare("SELECT id FROM runs WHERE status IN ('interrupted', 'failed')", "find stopped runs");
      while (q.step()) stopped.push_back(q.text(0));
    });
    for (const auto& id : stopped)
      if (is_safe_run_id(id)) remove_stale_temporary_files(run_path(id), kRemoteStaleAfter);
  }

  [[noreturn]] void no_run(const std::string& id) const {
    throw Error(fmt::format("no run '{}' in store {}", id, dir));
  }

  bool run_exists(const std::string& id) {
    auto q = db.prepare("SELECT 1 FROM runs WHERE id = ?1", "look up run");
    q.bind(1, id);
    return q.step();
  }

  void require_run(const std::string& id) {
    if (!run_exists(id)) no_run(id);
  }

  std::optional<RunInfo> select_run(const std::string& id) {
    auto q = db.prepare(fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns), "read run");
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    RunInfo r = read_run(q);
    r.params = select_params(id);
    return r;
  }

  std::map<std::string, std::string> select_params(const std::string& id) {
    std::map<std::string, std::string> params;
    auto q = db.prepare("SELECT key, value FROM params WHERE run_id = ?1", "read params");
    q.bind(1, id);
    while (q.step()) params[q.text(0)] = q.text(1);
    return params;
  }

  // Full ids whose first characters are `prefix` (at most `limit`).
  std::vector<std::string> ids_with_prefix(const std::string& prefix, int64_t limit) {
    std::vector<std::string> ids;
    auto q = db.prepare("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT ?2",
                        "look up run prefix");
    q.bind(1, prefix).bind(2, limit);
    while (q.step()) ids.push_back(q.text(0));
    return ids;
  }

  void insert_metric(const std::string& run, const std::string& split, const std::string& name, int64_t step,
                     double value, const std::string& timestamp) {
    DIST2_CHECK(!split.empty() && !name.empty(), "metric of run '{}' needs a split and a name, got '{}'/'{}'", run,
                split, name);
    auto q = db.prepare("INSERT INTO metrics(run_id, split, name, step, value, timestamp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        "log metric");
    q.bind(1, run).bind(2, split).bind(3, name).bind(4, step).bind(5, value).bind(6, timestamp);
    q.run();
  }

  // split -> name -> value at the highest step; one split, or all when empty.
  std::map<std::string, std::map<std::string, double>> final_values(const std::string& run, const std::string& split) {
    std::map<std::string, std::map<std::string, double>> out;
    read("read final metrics", [&] {
      out.clear();
      require_run(run);
      auto q = db.prepare(
          "SELECT k.split, k.name, (SELECT m.value FROM metrics m WHERE m.run_id = ?1 AND m.split = k.split "
          "AND m.name = k.name ORDER BY m.step DESC, m.rowid DESC LIMIT 1) "
          "FROM (SELECT DISTINCT split, name FROM metrics WHERE run_id = ?1 AND (?2 = '' OR split = ?2)) k",
          "read final metrics");
      q.bind(1, run).bind(2, split);
      while (q.step()) out[q.text(0)][q.text(1)] = q.real(2);
    });
    return out;
  }

  void upsert_tag(const std::string& run, const std::string& key, const std::string& value) {
    db.prepare("INSERT INTO tags(run_id, key, value) VALUES (?1, ?2, ?3) "
               "ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value",
               "set tag")
        .bind(1, run)
        .bind(2, key)
        .bind(3, value)
        .run();
  }
};

// ---- opening ----

std::string Store::default_dir() {
  const char* env = std::getenv("DIST2_STORE");
  return env && *env ? env : "dist2-runs";
}

bool Store::exists(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / "runs.db"); }

int Store::latest_schema_version() { return schema::latest_version(); }

Store::Store(const std::string& dir) {
  DIST2_CHECK(!dir.empty(), "the store directory is empty: give --store DIR or set DIST2_STORE");
  std::error_code ec;
  fs::create_directories(dir, ec);
  DIST2_CHECK(!ec && fs::is_directory(dir), "cannot create the store directory {}: {}", dir,
              ec ? ec.message() : "not a directory");
  impl_ = std::make_unique<Impl>(dir);
  impl_->configure();
  impl_->migrate();
  mark_stale_runs();
  impl_->remove_abandoned_temporary_files();
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

const std::string& Store::dir() const { return impl_->dir; }

int Store::schema_version() {
  int v = 0;
  impl_->with_retry("read schema version", [&] { v = schema::recorded_version(impl_->db); });
  return v;
}

// ---- writing ----

std::string Store::create_run(const std::string& experiment, const std::string& task, const std::string& profile,
                              const std::string& config_yaml, const std::string& config_hash,
                              const std::map<std::string, std::string>& params, const std::string& variant) {
  DIST2_CHECK(!experiment.empty(), "a run needs an experiment name (store {})", dir());
  DIST2_CHECK(!task.empty(), "run of experiment '{}' needs a task (store {})", experiment, dir());
  std::string id;
  const std::string now = now_iso();
  auto& db = impl_->db;
  impl_->write("create run", [&] {
    db.prepare("INSERT OR IGNORE INTO experiments(name, created_at) VALUES (?1, ?2)", "create experiment")
        .bind(1, experiment)
        .bind(2, now)
        .run();
    do id = new_run_id();
    while (impl_->run_exists(id));
    db.prepare("INSERT INTO runs(id, experiment, task, status, config, config_hash, profile, started_at, "
               "heartbeat_at, commit_sha, host, pid, variant) VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, "
               "?11)",
               "create run")
        .bind(1, id)
        .bind(2, experiment)
        .bind(3, task)
        .bind(4, config_yaml)
        .bind(5, config_hash)
        .bind(6, profile)
        .bind(7, now)
        .bind(8, source_commit())
        .bind(9, impl_->host)
        .bind(10, static_cast<int64_t>(getpid()))
        .bind(11, variant)
        .run();
    for (const auto& [key, value] : params)
      db.prepare("INSERT INTO params(run_id, key, value) VALUES (?1, ?2, ?3)", "store params")
          .bind(1, id)
          .bind(2, key)
          .bind(3, value)
          .run();
  });
  return id;
}

void Store::log_metric(const std::string& run, const std::string& split, const std::string& name, int64_t step,
                       double value) {
  const std::string now = now_iso();
  impl_->write("log metric", [&] {
    impl_->require_run(run);
    impl_->insert_metric(run, split, name, step, value, now);
  });
}

void Store::log_metrics(const std::string& run, const std::vector<MetricRow>& rows) {
  if (rows.empty()) return;
  const std::string now = now_iso();
  impl_->write("log metrics", [&] {
    impl_->require_run(run);
    for (const auto& r : rows)
      impl_->insert_metric(run, r.split, r.name, r.step, r.value, r.timestamp.empty() ? now : r.timestamp);
  });
}

void Store::log_artifact(const std::string& run, const std::string& kind, const std::string& path) {
  DIST2_CHECK(!kind.empty() && !path.empty(), "artifact of run '{}' needs a kind and a path", run);
  const std::string now = now_iso();
  impl_->write("log artifact", [&] {
    impl_->require_run(run);
    impl_->db.prepare("INSERT INTO artifacts(run_id, kind, path, created_at) VALUES (?1, ?2, ?3, ?4)", "log artifact")
        .bind(1, run)
        .bind(2, kind)
        .bind(3, path)
        .bind(4, now)
        .run();
  });
}

void Store::set_tag(const std::string& run, const std::string& key, const std::string& value) {
  DIST2_CHECK(!key.empty(), "tag of run '{}' needs a key", run);
  impl_->write("set tag", [&] {
    impl_->require_run(run);
    impl_->upsert_tag(run, key, value);
  });
}

void Store::heartbeat(const std::string& run) {
  const std::string now = now_iso();
  impl_->write("heartbeat", [&] {
    impl_->db.prepare("UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1", "heartbeat").bind(1, run).bind(2, now).run();
    if (impl_->db.changes() == 0) impl_->no_run(run);
  });
}

void Store::finish_run(const std::string& run, const std::string& status, const std::string& error) {
  DIST2_CHECK(status == "finished" || status == "failed" || status == "interrupted",
              "a run ends as finished, failed or interrupted, not '{}'", status);
  const std::string now = now_iso();
  impl_->write("finish run", [&] {
    impl_->db
        .prepare("UPDATE runs SET status = ?2, ended_at = ?3, heartbeat_at = ?3, error = NULLIF(?4, '') WHERE id = ?1",
                 "finish run")
        .bind(1, run)
        .bind(2, status)
        .bind(3, now)
        .bind(4, error)
        .run();
    if (impl_->db.changes() == 0) impl_->no_run(run);
  });
}

void Store::reopen_run(const std::string& run) {
  const std::string now = now_iso();
  impl_->write("reopen run", [&] {
    const auto before = impl_->select_run(run);
    if (!before) impl_->no_run(run);
    impl_->db
        .prepare("UPDATE runs SET status = 'running', pid = ?2, host = ?3, heartbeat_at = ?4, ended_at = NULL, "
                 "error = NULL WHERE id = ?1",
                 "reopen run")
        .bind(1, run)
        .bind(2, static_cast<int64_t>(getpid()))
        .bind(3, impl_->host)
        .bind(4, now)
        .run();
    // The run keeps the commit it started with; a resume under other code says so.
    impl_->upsert_tag(run, "resumed_at", now);
    if (before->commit != source_commit()) impl_->upsert_tag(run, "resumed_commit", source_commit());
  });
  // What a killed writer of this run left (also done at open; here for a Store
  // opened before that writer died).
  if (is_safe_run_id(run)) remove_stale_temporary_files(impl_->run_path(run), kRemoteStaleAfter);
}

int64_t Store::drop_metrics_after(const std::string& run, const std::string& split, int64_t step) {
  int64_t dropped = 0;
  impl_->write("drop metrics after a checkpoint", [&] {
    impl_->require_run(run);
    impl_->db.prepare("DELETE FROM metrics WHERE run_id = ?1 AND split = ?2 AND step > ?3", "drop metrics")
        .bind(1, run)
        .bind(2, split)
        .bind(3, step)
        .run();
    dropped = impl_->db.changes();
  });
  return dropped;
}

bool Store::claimed_elsewhere(const std::string& config_hash) {
  bool held = false;
  impl_->read("read trial claim", [&] { held = impl_->claim_held_elsewhere(config_hash); });
  return held;
}

bool Store::claim_trial(const std::string& config_hash) {
  bool claimed = false;
  impl_->write("claim trial", [&] {
    claimed = false;
    auto busy = impl_->db.prepare(
        "SELECT 1 FROM runs WHERE config_hash = ?1 AND status IN ('finished', 'running') LIMIT 1", "claim trial");
    busy.bind(1, config_hash);
    if (busy.step() || impl_->claim_held_elsewhere(config_hash)) return;
    impl_->db
        .prepare("INSERT OR REPLACE INTO trial_claims(config_hash, host, pid, claimed_at) VALUES (?1, ?2, ?3, ?4)",
                 "claim trial")
        .bind(1, config_hash)
        .bind(2, impl_->host)
        .bind(3, static_cast<int64_t>(getpid()))
        .bind(4, now_iso())
        .run();
    claimed = true;
  });
  return claimed;
}

void Store::release_trial(const std::string& config_hash) {
  impl_->write("release trial", [&] {
    impl_->db.prepare("DELETE FROM trial_claims WHERE config_hash = ?1 AND host = ?2 AND pid = ?3", "release trial")
        .bind(1, config_hash)
        .bind(2, impl_->host)
        .bind(3, static_cast<int64_t>(getpid()))
        .run();
  });
}

int64_t Store::mark_stale_runs(std::chrono::seconds remote_stale_after) {
  struct Candidate {
    std::string id, host, last_seen;
    int64_t pid;
  };
  std::vector<Candidate> running;
  impl_->read("find stale runs", [&] {
    running.clear();
    auto q = impl_->db.prepare(
        "SELECT id, host, pid, COALESCE(heartbeat_at, started_at) FROM runs WHERE status = 'running'",
        "find stale runs");
    while (q.step()) running.push_back({q.text(0), q.text(1), q.text(3), q.int64(2)});
  });

  const double now = *parse_iso(now_iso());
  std::vector<std::pair<Candidate, std::string>> stale;  // with the reason
  for (const auto& c : running) {
    if (c.host == impl_->host) {
      if (!pid_alive(c.pid))
        stale.push_back({c, fmt::format("process {} on {} exited without finishing the run", c.pid, c.host)});
    } else if (const auto seen = parse_iso(c.last_seen);
               seen && now - *seen > static_cast<double>(remote_stale_after.count())) {
      stale.push_back({c, fmt::format("no heartbeat from {} since {}", c.host, c.last_seen)});
    }
  }
  if (stale.empty()) return 0;

  int64_t marked = 0;
  impl_->write("mark stale runs", [&] {
    marked = 0;
    for (const auto& [c, reason] : stale) {
      // Only if the run is still as observed: a heartbeat or a resume in between wins.
      impl_->db
          .prepare("UPDATE runs SET status = 'interrupted', ended_at = COALESCE(heartbeat_at, started_at), "
                   "error = ?5 WHERE id = ?1 AND status = 'running' AND host IS ?2 AND pid IS ?3 AND "
                   "COALESCE(heartbeat_at, started_at) IS ?4",
                   "mark stale run")
          .bind(1, c.id)
          .bind(2, c.host)
          .bind(3, c.pid)
          .bind(4, c.last_seen)
          .bind(5, reason)
          .run();
      marked += impl_->db.changes();
    }
  });
  return marked;
}

// ---- reading ----

std::optional<RunInfo> Store::get_run(const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) return std::nullopt;
  std::optional<RunInfo> found;
  std::vector<std::string> candidates;
  impl_->read("read run", [&] {
    candidates.clear();
    found = impl_->select_run(id_or_prefix);
    if (found) return;
    candidates = impl_->ids_with_prefix(id_or_prefix, 6);
    if (candidates.size() == 1) found = impl_->select_run(candidates[0]);
  });
  if (candidates.size() > 1) {
    const bool more = candidates.size() > 5;
    if (more) candidates.resize(5);
    throw Error(fmt::format("run id prefix '{}' is ambiguous in store {}: it matches {}{}; give more characters",
                            id_or_prefix, dir(), fmt::join(candidates, ", "), more ? ", ..." : ""));
  }
  return found;
}

RunInfo Store::run(const std::string& id_or_prefix) {
  auto r = get_run(id_or_prefix);
  if (!r) impl_->no_run(id_or_prefix);
  return *r;
}

std::vector<RunInfo> Store::list_runs(const RunFilter& filter) {
  if (filter.status) {
    const auto& ok = run_statuses();
    DIST2_CHECK(std::find(ok.begin(), ok.end(), *filter.status) != ok.end(),
                "run status must be one of {}, got '{}'", fmt::join(ok, ", "), *filter.status);
  }
  DIST2_CHECK(filter.limit >= 0, "the run limit must be >= 0 (0: all), got {}", filter.limit);

  // The filter as SQL with numbered parameters, shared by the runs and params queries.
  std::string where = " WHERE 1 = 1";
  std::vector<std::string> values;
  auto param = [&](const std::string& v) {
    values.push_back(v);
    return fmt::format("?{}", values.size());
  };
  if (filter.experiment) where += " AND experiment = " + param(*filter.experiment);
  if (filter.status) where += " AND status = " + param(*filter.status);
  if (filter.config_hash) where += " AND config_hash = " + param(*filter.config_hash);
  for (const auto& [key, value] : filter.where)
    where += fmt::format(" AND EXISTS (SELECT 1 FROM params p WHERE p.run_id = runs.id AND p.key = {} AND p.value = {})",
                         param(key), param(value));
  std::string order = " ORDER BY started_at DESC, rowid DESC";
  if (filter.limit > 0) order += " LIMIT " + param(std::to_string(filter.limit));

  std::vector<RunInfo> runs;
  impl_->read("list runs", [&] {
    runs.clear();
    std::map<std::string, size_t> index;
    {
      auto q = impl_->db.prepare(fmt::format("SELECT {} FROM runs{}{}", kRunColumns, where, order), "list runs");
      for (size_t i = 0; i < values.size(); ++i) q.bind(static_cast<int>(i + 1), values[i]);
      while (q.step()) {
        index[q.text(0)] = runs.size();
        runs.push_back(read_run(q));
      }
    }
    // All their params in one query rather than one per run.
    auto q = impl_->db.prepare(
        fmt::format("SELECT run_id, key, value FROM params WHERE run_id IN (SELECT id FROM runs{}{})", where, order),
        "list run params");
    for (size_t i = 0; i < values.size(); ++i) q.bind(static_cast<int>(i + 1), values[i]);
    while (q.step()) {
      const auto it = index.find(q.text(0));
      if (it != index.end()) runs[it->second].params[q.text(1)] = q.text(2);
    }
  });
  return runs;
}

std::optional<RunInfo> Store::find_finished(const std::string& config_hash) {
  std::optional<RunInfo> found;
  impl_->read("find finished run", [&] {
    found.reset();
    std::string id;
    {
      auto q = impl_->db.prepare(
          "SELECT id FROM runs WHERE config_hash = ?1 AND status = 'finished' "
          "ORDER BY ended_at DESC, rowid DESC LIMIT 1",
          "find finished run");
      q.bind(1, config_hash);
      if (!q.step()) return;
      id = q.text(0);
    }
    found = impl_->select_run(id);
  });
  return found;
}

std::optional<RunInfo> Store::latest_run(const std::string& config_hash) {
  RunFilter f;
  f.config_hash = config_hash;
  f.limit = 1;
  auto runs = list_runs(f);  // newest first
  if (runs.empty()) return std::nullopt;
  return std::move(runs.front());
}

std::vector<MetricRow> Store::metrics(const std::string& run, const std::string& split, const std::string& name) {
  std::vector<MetricRow> rows;
  impl_->read("read metrics", [&] {
    rows.clear();
    impl_->require_run(run);
    auto q = impl_->db.prepare(
        "SELECT split, name, step, value, timestamp FROM metrics WHERE run_id = ?1 "
        "AND (?2 = '' OR split = ?2) AND (?3 = '' OR name = ?3) ORDER BY split, name, step, rowid",
        "read metrics");
    q.bind(1, run).bind(2, split).bind(3, name);
    while (q.step()) rows.push_back({run, q.text(0), q.text(1), q.int64(2), q.real(3), q.text(4)});
  });
  return rows;
}

// The last value of each (split, name): the distinct names come from the index
// alone, and each value is one index seek to its highest step (the latest write on
// a tie), so a long training log is never read row by row.
std::map<std::string, std::map<std::string, double>> Store::final_metrics_all(const std::string& run) {
  return impl_->final_values(run, "");
}

std::map<std::string, double> Store::final_metrics(const std::string& run, const std::string& split) {
  DIST2_CHECK(!split.empty(), "final_metrics of run '{}' needs a split (e.g. test)", run);
  auto all = impl_->final_values(run, split);
  return all.empty() ? std::map<std::string, double>{} : all.begin()->second;
}

std::vector<ArtifactRow> Store::artifacts(const std::string& run) {
  std::vector<ArtifactRow> rows;
  impl_->read("read artifacts", [&] {
    rows.clear();
    impl_->require_run(run);
    auto q = impl_->db.prepare("SELECT kind, path, created_at FROM artifacts WHERE run_id = ?1 ORDER BY rowid",
                               "read artifacts");
    q.bind(1, run);
    while (q.step()) rows.push_back({q.text(0), q.text(1), q.text(2)});
  });
  return rows;
}

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> Store::experiments_for_report(const std::string& report) {
  std::vector<std::string> out;
  impl_->read("read experiment reports", [&] {
    out.clear();
    auto q = impl_->db.prepare("SELECT experiment FROM experiment_reports WHERE report = ?1 ORDER BY experiment",
                               "read experiment reports");
    q.bind(1, report);
    while (q.step()) out.push_back(q.text(0));
  });
  return out;
}

std::vector<std::string> Store::swept_profiles() {
  std::vector<std::string> out;
  impl_->read("read swept profiles", [&] {
    out.clear();
    auto q = impl_->db.prepare("SELECT DISTINCT profile FROM experiment_trials ORDER BY profile", "read swept profiles");
    while (q.step()) out.push_back(q.text(0));
  });
  return out;
}

std::vector<PlannedTrial> Store::planned_trials(const std::string& experiment, const std::string& profile,
                                                const std::vector<std::string>& overrides) {
  std::vector<PlannedTrial> out;
  impl_->read("read sweep plan", [&] {
    out.clear();
    auto q = impl_->db.prepare(
        "SELECT config_hash, variant, settings FROM experiment_trials "
        "WHERE experiment = ?1 AND profile = ?2 AND overrides = ?3 ORDER BY position",
        "read sweep plan");
    q.bind(1, experiment).bind(2, profile).bind(3, fmt::format("{}", fmt::join(overrides, "\n")));
    while (q.step()) out.push_back({q.text(0), q.text(1), split_lines(q.text(2))});
  });
  return out;
}

void Store::record_sweep_plan(const SweepPlan& plan) {
  DIST2_CHECK(!plan.experiment.empty(), "a sweep plan needs an experiment name (store {})", dir());
  const std::string overrides = fmt::format("{}", fmt::join(plan.overrides, "\n"));
  auto& db = impl_->db;
  impl_->write("record sweep plan", [&] {
    db.prepare("INSERT OR IGNORE INTO experiments(name, created_at) VALUES (?1, ?2)", "create experiment")
        .bind(1, plan.experiment)
        .bind(2, now_iso())
        .run();
    db.prepare("DELETE FROM experiment_reports WHERE experiment = ?1", "record sweep plan").bind(1, plan.experiment).run();
    for (const auto& report : plan.reports)
      db.prepare("INSERT OR IGNORE INTO experiment_reports(experiment, report) VALUES (?1, ?2)", "record sweep plan")
          .bind(1, plan.experiment)
          .bind(2, report)
          .run();
    db.prepare("DELETE FROM experiment_trials WHERE experiment = ?1 AND profile = ?2 AND overrides = ?3",
               "record sweep plan")
        .bind(1, plan.experiment)
        .bind(2, plan.profile)
        .bind(3, overrides)
        .run();
    for (size_t i = 0; i < plan.trials.size(); ++i)
      db.prepare("INSERT INTO experiment_trials(experiment, profile, overrides, position, config_hash, variant, "
                 "settings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 "record sweep plan")
          .bind(1, plan.experiment)
          .bind(2, plan.profile)
          .bind(3, overrides)
          .bind(4, static_cast<int64_t>(i))
          .bind(5, plan.trials[i].config_hash)
          .bind(6, plan.trials[i].variant)
          .bind(7, fmt::format("{}", fmt::join(plan.trials[i].settings, "\n")))
          .run();
  });
}

std::map<std::string, std::string> Store::tags(const std::string& run) {
  std::map<std::string, std::string> out;
  impl_->read("read tags", [&] {
    out.clear();
    impl_->require_run(run);
    auto q = impl_->db.prepare("SELECT key, value FROM tags WHERE run_id = ?1", "read tags");
    q.bind(1, run);
    while (q.step()) out[q.text(0)] = q.text(1);
  });
  return out;
}

std::string Store::run_dir(const std::string& run) {
  DIST2_CHECK(is_safe_run_id(run), "'{}' is not a run id (letters, digits, - and _)", run);
  impl_->read("look up run", [&] { impl_->require_run(run); });
  const fs::path path = fs::path(dir()) / "runs" / run;
  std::error_code ec;
  fs::create_directories(path, ec);
  DIST2_CHECK(!ec, "cannot create the run directory {}: {}", path.string(), ec.message());
  return path.string();
}

// ---- merging a shard ----

namespace {

// Hard link where the file system allows (same device: free, and a checkpoint
// the shard replaces later gets a new inode, so the link stays the old file),
// else a copy. Temporary files of a writer are skipped. Returns files placed.
int64_t link_run_files(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return 0;
  int64_t placed = 0;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    if (name.find(".tmp.") != std::string::npos) continue;
    const fs::path target = to / fs::relative(it->path(), from);
    fs::create_directories(target.parent_path());
    // Into a temporary name, then renamed over the target: a reader never sees half a file.
    const fs::path tmp = temporary_path(target.string(), static_cast<long>(getpid()));
    std::error_code link_ec;
    fs::create_hard_link(it->path(), tmp, link_ec);
    if (link_ec) fs::copy_file(it->path(), tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, target);
    ++placed;
  }
  DIST2_CHECK(!ec, "cannot read the run folder {}: {}", from.string(), ec.message());
  return placed;
}

}  // namespace

MergeSummary Store::merge_shard(const std::string& shard_dir) {
  DIST2_CHECK(fs::absolute(shard_dir).lexically_normal() != fs::absolute(dir()).lexically_normal(),
              "cannot merge store {} into itself", dir());
  DIST2_CHECK(exists(shard_dir), "no run store at {} (its runs.db is missing)", shard_dir);
  // Opened as a store first: migrated to this build's schema, its dead local runs marked.
  std::vector<std::pair<std::string, std::string>> runs;  // id, status
  {
    Store shard(shard_dir);
    for (const auto& r : shard.list_runs()) runs.push_back({r.id, r.status});
  }
  MergeSummary sum;
  // Files first: a merge cut short leaves rows to copy again, never rows whose files are missing.
  const fs::path shard_runs = fs::path(shard_dir) / "runs";
  for (const auto& [id, status] : runs)
    if (status != "running" && is_safe_run_id(id))
      sum.files += link_run_files(shard_runs / id, fs::path(impl_->run_path(id)));

  auto& db = impl_->db;
  db.prepare("ATTACH DATABASE ?1 AS shard", "attach shard").bind(1, (fs::path(shard_dir) / "runs.db").string()).run();
  struct Detach {
    sql::Connection& db;
    ~Detach() {
      try {
        db.exec("DETACH DATABASE shard", "detach shard");
      } catch (...) {
      }
    }
  } detach{db};
  const std::string shard_prefix = (shard_runs / "").string();
  const std::string main_prefix = (fs::path(dir()) / "runs" / "").string();
  impl_->write("merge shard " + shard_dir, [&] {
    db.exec("INSERT INTO experiments(name, created_at) SELECT name, created_at FROM shard.experiments WHERE true "
            "ON CONFLICT(name) DO NOTHING",
            "merge experiments");
    db.exec(fmt::format("INSERT INTO runs({0}) SELECT {0} FROM shard.runs WHERE true ON CONFLICT(id) DO UPDATE SET "
                        "experiment = excluded.experiment, task = excluded.task, status = excluded.status, "
                        "config = excluded.config, config_hash = excluded.config_hash, profile = excluded.profile, "
                        "started_at = excluded.started_at, ended_at = excluded.ended_at, "
                        "heartbeat_at = excluded.heartbeat_at, commit_sha = excluded.commit_sha, "
                        "host = excluded.host, pid = excluded.pid, error = excluded.error, variant = excluded.variant",
                        kRunColumns),
            "merge runs");
    sum.runs = db.changes();
    // A run's rows are replaced as a whole: repeating the merge never doubles them.
    for (const char* table : {"params", "tags", "metrics", "artifacts"})
      db.exec(fmt::format("DELETE FROM main.{0} WHERE run_id IN (SELECT id FROM shard.runs)", table),
              fmt::format("merge {}", table));
    db.exec("INSERT INTO params(run_id, key, value) SELECT run_id, key, value FROM shard.params", "merge params");
    db.exec("INSERT INTO tags(run_id, key, value) SELECT run_id, key, value FROM shard.tags", "merge tags");
    db.exec("INSERT INTO metrics(run_id, split, name, step, value, timestamp) "
            "SELECT run_id, split, name, step, value, timestamp FROM shard.metrics ORDER BY rowid",
            "merge metrics");
    sum.metric_rows = db.changes();
    // A file in the shard's run folder now lives in this store's.
    db.prepare("INSERT INTO artifacts(run_id, kind, path, created_at) "
               "SELECT run_id, kind, CASE WHEN substr(path, 1, length(?1)) = ?1 "
               "THEN ?2 || substr(path, length(?1) + 1) ELSE path END, created_at FROM shard.artifacts ORDER BY rowid",
               "merge artifacts")
        .bind(1, shard_prefix)
        .bind(2, main_prefix)
        .run();
  });
  return sum;
}

}  // namespace dist2::store
