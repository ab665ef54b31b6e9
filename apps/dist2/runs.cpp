// dist2 runs: list and filter the runs in the store; `dist2 runs show RUN` for one.
#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/store/listing.h"
#include "dist2/store/store.h"
#include "dist2/util/error.h"

namespace dist2::cli {

namespace {

struct RunsOptions {
  std::string store = store::Store::default_dir();
  std::string experiment, status, config_hash;
  std::vector<std::string> where;
  std::vector<std::string> params;
  std::string format = "table";
  std::string metrics_split;
  int64_t limit = 0;
  std::string show_id;
  bool show_config = false;
};

// Listing never creates a store: a mistyped --store should not leave a new one behind.
store::Store open_existing(const std::string& dir) {
  return open_existing_store(dir, "give --store DIR or set DIST2_STORE");
}

std::pair<std::string, std::string> parse_where(const std::string& s) {
  const auto eq = s.find('=');
  DIST2_CHECK(eq != std::string::npos && eq > 0, "--where must look like key=value (e.g. loss.kind=dist), got '{}'",
              s);
  return {s.substr(0, eq), s.substr(eq + 1)};
}

void run_list(const RunsOptions& o) {
  store::RunFilter filter;
  if (!o.experiment.empty()) filter.experiment = o.experiment;
  if (!o.status.empty()) filter.status = o.status;
  if (!o.config_hash.empty()) filter.config_hash = o.config_hash;
  for (const auto& w : o.where) filter.where.push_back(parse_where(w));
  filter.limit = o.limit;

  store::ListingOptions listing;
  listing.format = store::parse_format(o.format);
  listing.metrics_split = o.metrics_split;
  listing.param_keys = o.params;

  auto s = open_existing(o.store);
  fmt::print("{}", store::format_runs(s, s.list_runs(filter), listing));
}

void run_show(const RunsOptions& o) {
  auto s = open_existing(o.store);
  const store::RunInfo run = s.run(o.show_id);
  if (o.show_config) {
    fmt::print("{}{}", run.config, run.config.empty() || run.config.back() == '\n' ? "" : "\n");
    return;
  }
  fmt::print("{}", store::format_run(s, run, store::parse_format(o.format)));
}

}  // namespace

void setup_runs(CLI::App& app) {
  auto opt = std::make_shared<RunsOptions>();
  auto* cmd = app.add_subcommand("runs", "List and filter runs in the store as a table, CSV or JSON");
  cmd->add_option("--store", opt->store, "Store directory (holds runs.db). Env: DIST2_STORE")->capture_default_str();
  cmd->add_option("--format", opt->format, "Output: table, csv or json (an array of objects)")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  cmd->add_option("--experiment", opt->experiment, "Only runs of this experiment");
  cmd->add_option("--status", opt->status, "Only runs with this status")
      ->check(CLI::IsMember(store::run_statuses()));
  cmd->add_option("--config-hash", opt->config_hash, "Only runs of this resolved config");
  cmd->add_option("--where", opt->where, "Only runs whose param KEY has VALUE (KEY=VALUE; repeat to AND)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--metrics", opt->metrics_split, "Add the final metrics of this split (e.g. test) as columns");
  cmd->add_option("--param", opt->params, "Param columns of the table (repeat; default: the params that vary)")
      ->allow_extra_args(false);
  cmd->add_option("--limit", opt->limit, "At most N runs, newest first (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->fallthrough();  // --store and --format also work after `show`

  auto* show = cmd->add_subcommand("show", "Print one run in full: fields, params, final metrics, artifacts, tags");
  show->add_option("run", opt->show_id, "Run id or a unique prefix of it")->required();
  show->add_flag("--config", opt->show_config, "Print only the run's resolved config (YAML)");

  cmd->callback([opt, show] {
    if (show->parsed()) run_show(*opt);
    else run_list(*opt);
  });
}

}  // namespace dist2::cli
