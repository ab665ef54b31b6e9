#include "dist2/store/schema.h"

namespace dist2::store::schema {

namespace {

// v1: the initial schema. Times are ISO-8601 UTC text; params, tags and metric
// names are text; a NaN metric value is stored as NULL.
const char* const kV1 = R"sql(
CREATE TABLE experiments (
  name       TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE runs (
  id           TEXT PRIMARY KEY,
  experiment   TEXT NOT NULL REFERENCES experiments(name),
  task         TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  config       TEXT NOT NULL,  -- the resolved config, YAML
  config_hash  TEXT NOT NULL,
  profile      TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  ended_at     TEXT,
  heartbeat_at TEXT,
  commit_sha   TEXT,
  host         TEXT,
  pid          INTEGER,
  error        TEXT
);
CREATE INDEX runs_config_hash ON runs(config_hash);
CREATE INDEX runs_experiment ON runs(experiment);
CREATE INDEX runs_started_at ON runs(started_at);
CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE TABLE metrics (
  run_id    TEXT NOT NULL REFERENCES runs(id),
  split     TEXT NOT NULL,
  name      TEXT NOT NULL,
  step      INTEGER NOT NULL,
  value     REAL,
  timestamp TEXT NOT NULL
);
CREATE INDEX metrics_run_split_name ON metrics(run_id, split, name, step);
CREATE TABLE artifacts (
  run_id     TEXT NOT NULL REFERENCES runs(id),
  kind       TEXT NOT NULL,
  path       TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TABLE tags (
  run_id TEXT NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
)sql";

// v2: a run names the trial of its experiment it answers (`variant`, the sweep's
// trial label: "no_contrastive seed=1"; empty for a run started by hand), and a
// sweep records its plan, so that a report finds an experiment's runs from the
// store alone: the experiment's reports, and per profile its trials by config
// hash. A trial is answered by the latest finished run with its hash, whichever
// experiment made that run. `overrides` holds the sweep's command-line overrides
// (one "key=value" per line; empty for the experiment as written).
const char* const kV2 = R"sql(
ALTER TABLE runs ADD COLUMN variant TEXT NOT NULL DEFAULT '';
CREATE TABLE experiment_reports (
  experiment TEXT NOT NULL REFERENCES experiments(name),
  report     TEXT NOT NULL,
  PRIMARY KEY (experiment, report)
);
CREATE TABLE experiment_trials (
  experiment  TEXT NOT NULL REFERENCES experiments(name),
  profile     TEXT NOT NULL,
  overrides   TEXT NOT NULL,
  position    INTEGER NOT NULL,  -- the trial's place in the sweep's order
  config_hash TEXT NOT NULL,
  variant     TEXT NOT NULL,     -- the trial's label
  settings    TEXT NOT NULL,     -- its grid point, one "key=value" per line
  PRIMARY KEY (experiment, profile, overrides, position)
);
CREATE INDEX experiment_trials_hash ON experiment_trials(config_hash);
)sql";

// v3: a sweep claims a trial before it starts it, in one transaction, so two
// sweeps started at the same instant never run the same trial twice. A claim
// is held by a process (host, pid) until it releases it; one whose process is
// gone (a dead pid on this host, or older than the remote staleness on another)
// may be taken over.
const char* const kV3 = R"sql(
CREATE TABLE trial_claims (
  config_hash TEXT PRIMARY KEY,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  claimed_at  TEXT NOT NULL
);
)sql";

}  // namespace

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> steps{kV1, kV2, kV3};
  return steps;
}

int recorded_version(sql::Connection& db) {
  {
    auto q = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                        "read schema version");
    if (!q.step()) return 0;
  }
  auto q = db.prepare("SELECT max(version) FROM schema_version", "read schema version");
  return q.step() && !q.is_null(0) ? static_cast<int>(q.int64(0)) : 0;
}

void check_not_newer(sql::Connection& db, int version) {
  DIST2_CHECK(version <= latest_version(), "store {} was written by a newer dist2 (schema v{}, this build knows v{})",
              db.label(), version, latest_version());
}

void migrate(sql::Connection& db) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", "create schema_version");
  const int have = recorded_version(db);
  const int known = latest_version();
  check_not_newer(db, have);
  for (int v = have; v < known; ++v) db.exec(migrations()[static_cast<size_t>(v)], fmt::format("migrate to v{}", v + 1));
  if (have == known) return;
  db.exec("DELETE FROM schema_version", "update schema version");
  db.prepare("INSERT INTO schema_version(version) VALUES (?1)", "update schema version")
      .bind(1, static_cast<int64_t>(known))
      .run();
}

}  // namespace dist2::store::schema
