#pragma once
// The run store: experiments, runs, their resolved params, metrics, artifacts and
// tags in one SQLite database, DIR/runs.db, with plain tables a person can query in
// the sqlite3 shell (MLflow-like). A run's checkpoints and artifacts go under
// DIR/runs/<run_id>/.
//
// Many processes may write at once (sweep workers): the database runs in WAL mode,
// every write is one short BEGIN IMMEDIATE transaction, and a transaction that
// meets a lock is retried with exponential backoff and jitter, so concurrent
// writers wait instead of failing with "database is locked".
//
// The schema carries a version; opening a store applies the missing migrations in
// order and refuses a store written by a newer dist2.
//
// A Store is one SQLite connection: use it from one thread at a time, and open a
// new Store in a forked child rather than using the parent's.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dist2::store {

struct RunInfo {
  std::string id, experiment, task, status, config, config_hash, profile, started_at, ended_at, heartbeat_at, commit,
      host, error;
  std::string variant;  // the sweep trial it answers ("no_contrastive seed=1"); "" when started by hand
  int64_t pid = 0;
  std::map<std::string, std::string> params;  // every resolved config key, as text
};

struct MetricRow {
  std::string run_id, split, name;  // run_id is ignored by Store::log_metrics (the run is its argument)
  int64_t step = 0;
  double value = 0;  // NaN is stored as NULL and read back as NaN
  std::string timestamp;  // ISO-8601 UTC; filled in by the store when empty
};

struct ArtifactRow {
  std::string kind, path, created_at;
};

struct RunFilter {
  std::optional<std::string> experiment, status, config_hash;
  std::vector<std::pair<std::string, std::string>> where;  // params key=value; all must match
  int64_t limit = 0;                                       // 0: no limit
};

// A sweep's plan, as a report reads it: the experiment's reports, and per profile
// (and command-line overrides) its trials in order, each by the hash of its
// resolved config.
struct PlannedTrial {
  std::string config_hash;
  std::string variant;                // the trial's label
  std::vector<std::string> settings;  // its grid point, "key=value"
};

struct SweepPlan {
  std::string experiment, profile;
  std::vector<std::string> overrides;  // "key=value"; empty for the experiment as written
  std::vector<std::string> reports;
  std::vector<PlannedTrial> trials;
};

// What merging a shard brought over.
struct MergeSummary {
  int64_t runs = 0;          // runs copied (new or updated)
  int64_t metric_rows = 0;   // their metric rows
  int64_t files = 0;         // files linked or copied into the store's run folders
};

// Run statuses; a run is `running` from create_run until finish_run.
inline const std::vector<std::string>& run_statuses() {
  static const std::vector<std::string> s{"running", "finished", "failed", "interrupted"};
  return s;
}

// Current UTC time as ISO-8601 with microseconds, e.g. 2024-05-01T12:34:56.789012Z
// (fine enough that two successive writes of one process never tie).
std::string now_iso();
// Seconds since the epoch of a time written by now_iso(); nullopt when unreadable.
std::optional<double> parse_iso(const std::string& iso);

class Store {
 public:
  // A run marked `running` by another host is taken as interrupted when its
  // heartbeat is older than this; trainers heartbeat far more often.
  static constexpr std::chrono::seconds kRemoteStaleAfter{30 * 60};

  static std::string default_dir();       // $DIST2_STORE, else ./dist2-runs
  static bool exists(const std::string& dir);  // DIR/runs.db is there
  static int latest_schema_version();     // the schema version this build writes

  // Creates DIR and DIR/runs.db when missing, applies migrations, marks runs
  // whose process died as interrupted (mark_stale_runs), and removes the temporary
  // files that writers killed mid-write left in the folders of stopped runs.
  explicit Store(const std::string& dir);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const;
  int schema_version();  // as recorded in the database

  // ---- writing ----
  // A new run, status running, with this process's pid, host and the source
  // commit; returns its id (12 hex characters, unique across processes and hosts).
  std::string create_run(const std::string& experiment, const std::string& task, const std::string& profile,
                         const std::string& config_yaml, const std::string& config_hash,
                         const std::map<std::string, std::string>& params, const std::string& variant = "");
  // Records (replacing any earlier one) the plan of a sweep of plan.experiment at
  // plan.profile with plan.overrides, and the reports the experiment feeds.
  void record_sweep_plan(const SweepPlan& plan);
  void log_metric(const std::string& run, const std::string& split, const std::string& name, int64_t step,
                  double value);
  void log_metrics(const std::string& run, const std::vector<MetricRow>& rows);  // one transaction
  void log_artifact(const std::string& run, const std::string& kind, const std::string& path);
  void set_tag(const std::string& run, const std::string& key, const std::string& value);  // replaces
  void heartbeat(const std::string& run);
  // Claims the trial with this config hash for this process, atomically: false
  // when a run of it finished, when one is running (not marked stale), or when
  // another live process holds the claim. A claim by a process that is gone is
  // taken over. The holder releases it when its worker has stopped.
  bool claim_trial(const std::string& config_hash);
  void release_trial(const std::string& config_hash);  // only this process's claim
  // Whether another live process holds the claim on this trial.
  bool claimed_elsewhere(const std::string& config_hash);
  // status: finished, failed or interrupted; sets ended_at; error is kept when not empty.
  void finish_run(const std::string& run, const std::string& status, const std::string& error = "");
  // For resume: status back to running with this process's pid and host; ended_at
  // and error cleared. Params, config and started_at stay as they were. Temporary
  // files a killed writer left in the run's folder are removed.
  void reopen_run(const std::string& run);
  // For resume: deletes the run's `split` rows logged after `step` (the resumed
  // run logs those steps again, so a crash never leaves a step counted twice).
  // Returns how many rows went.
  int64_t drop_metrics_after(const std::string& run, const std::string& split, int64_t step);
  // Runs left `running` by a process that is gone become `interrupted`: on this
  // host, when their pid no longer exists; on another host, when their heartbeat
  // (or start) is older than remote_stale_after. Returns how many were marked.
  int64_t mark_stale_runs(std::chrono::seconds remote_stale_after = kRemoteStaleAfter);
  // Copies the runs of the store at shard_dir (a cluster job's own database, see
  // sweep/shards.h) into this one, by run id: their rows replace what an earlier
  // merge copied, their metrics, params, tags and artifacts are replaced as a
  // whole, and the files of runs that stopped are linked (else copied) into
  // DIR/runs/<id>, artifact paths rewritten to point there. Safe to repeat, and
  // to run while the shard's run is still training (its rows so far come over;
  // its files when it stops). One transaction per shard.
  MergeSummary merge_shard(const std::string& shard_dir);

  // ---- reading ----
  // By full id or by a unique id prefix; nullopt when nothing matches; an
  // ambiguous prefix is an error that lists the candidates.
  std::optional<RunInfo> get_run(const std::string& id_or_prefix);
  // As get_run, but a missing run is an error: "no run 'abc' in store DIR".
  RunInfo run(const std::string& id_or_prefix);
  std::vector<RunInfo> list_runs(const RunFilter& filter = {});  // newest first
  // The latest finished run with this config hash (to skip work already done).
  std::optional<RunInfo> find_finished(const std::string& config_hash);
  // The newest run with this config hash, whatever its status.
  std::optional<RunInfo> latest_run(const std::string& config_hash);
  // Rows ordered by split, name, step; empty split/name means all.
  std::vector<MetricRow> metrics(const std::string& run, const std::string& split = "", const std::string& name = "");
  // name -> value at the last step logged for that name in `split`.
  std::map<std::string, double> final_metrics(const std::string& run, const std::string& split);
  // split -> name -> value at the last step, for every split of the run.
  std::map<std::string, std::map<std::string, double>> final_metrics_all(const std::string& run);
  std::vector<ArtifactRow> artifacts(const std::string& run);
  // Experiments a recorded sweep says feed `report`, sorted by name.
  std::vector<std::string> experiments_for_report(const std::string& report);
  // The profiles of every recorded sweep, sorted (to say which exist when a report asks for another).
  std::vector<std::string> swept_profiles();
  // The trials of the latest recorded sweep of `experiment` at `profile` with these
  // overrides, in sweep order; empty when no such sweep was recorded.
  std::vector<PlannedTrial> planned_trials(const std::string& experiment, const std::string& profile,
                                           const std::vector<std::string>& overrides = {});
  std::map<std::string, std::string> tags(const std::string& run);

  // DIR/runs/<run>, created when missing; the run must exist.
  std::string run_dir(const std::string& run);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dist2::store
