// dist2 report: a paper table or figure from the store, our numbers beside the paper's.
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "commands.h"
#include "common.h"
#include "dist2/report/layouts.h"
#include "dist2/report/render.h"
#include "dist2/report/samples.h"
#include "dist2/store/store.h"
#include "dist2/sweep/records.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::cli {

namespace {

const std::string kSamplesReport = "figure7";

struct ReportOptions {
  std::string name;
  std::vector<std::string> experiments;
  std::string experiments_dir;  // "" = ./experiments, else the source tree's
  std::string profile = "default";
  std::string store;
  std::string format = "md";
  std::string out;
  std::vector<std::string> pins;
};

std::string machine_description() {
  utsname u{};
  uname(&u);
  return fmt::format("{} ({} {}, {} cores)", u.nodename, u.sysname, u.machine, std::thread::hardware_concurrency());
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

// Figure 7: the samples artifacts of one run per loss, not a layout of metrics.
void write_samples(const ReportOptions& o, const std::vector<report::RunRecord>& runs, const report::ReportContext& ctx) {
  store::Store st(store_dir(o.store));
  std::vector<report::SampleSet> sets;
  for (const auto& row : report::sample_rows()) {
    const report::RunRecord* run = report::lowest_seed_run(runs, row);
    if (!run) continue;
    for (const auto& a : st.artifacts(run->id))
      if (a.kind == "samples" && std::filesystem::exists(a.path))
        sets.push_back({row.label, run->id, run->params.at("seed"), read_file(a.path)});
  }
  const std::string md = report::render_samples(sets, ctx);
  if (o.out.empty()) {
    fmt::print("{}", md);
    return;
  }
  make_dirs(o.out);
  const std::string path = (std::filesystem::path(o.out) / (o.name + ".md")).string();
  write_file_atomic(path, md);
  fmt::print("wrote {}\n", path);
}

void run_report(const ReportOptions& o, const std::string& command) {
  const bool samples = o.name == kSamplesReport;
  if (!samples) report::find_layout(o.name);  // a typo fails here, naming the valid reports
  std::string dir = o.experiments_dir;
  if (dir.empty())  // run from the checkout, or from anywhere with the build's source tree
    dir = std::filesystem::is_directory("experiments") ? "experiments" : std::string(DIST2_SOURCE_DIR) + "/experiments";
  std::vector<std::string> files = o.experiments;
  if (files.empty()) files = experiments_for_report(o.name, dir);
  DIST2_CHECK(!files.empty(), "no experiment in {}/ feeds report '{}' (pass --experiment FILE)", dir, o.name);
  std::vector<report::RunRecord> runs;
  std::vector<std::string> commits;
  int trials = 0, missing = 0;
  for (const auto& file : files) {
    SweepRequest req;
    req.experiment_path = file;
    req.profile = o.profile;
    req.store_dir = store_dir(o.store);
    auto found = finished_records(req);
    trials += found.trials, missing += found.missing;
    runs.insert(runs.end(), found.runs.begin(), found.runs.end());
    for (const auto& c : found.commits)
      if (std::find(commits.begin(), commits.end(), c) == commits.end()) commits.push_back(c);
  }
  if (missing > 0)
    fmt::print(stderr, "report {}: {} of {} trials have no finished run yet (run `dist2 sweep` first); their cells are empty\n",
               o.name, missing, trials);
  report::ReportContext ctx;
  ctx.command = command;
  ctx.profile = o.profile;
  for (const auto& c : commits) ctx.commit += (ctx.commit.empty() ? "" : ", ") + c;
  ctx.date = utc_now();
  ctx.machine = machine_description();
  for (const auto& p : o.pins) {
    const auto eq = p.find('=');
    DIST2_CHECK(eq != std::string::npos, "--pin must be key=value, got '{}'", p);
    ctx.pins[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (samples) return write_samples(o, runs, ctx);
  const auto format = report::parse_format(o.format);
  if (o.out.empty()) {
    fmt::print("{}", report::render(report::find_layout(o.name), runs, format, ctx));
    return;
  }
  for (const auto& path : report::write_report(o.name, runs, format, ctx, o.out).paths) fmt::print("wrote {}\n", path);
}

}  // namespace

void setup_report(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Regenerate a paper table or figure from the store, our numbers beside the paper's");
  std::string names;
  for (const auto& n : report::layout_names()) names += (names.empty() ? "" : ", ") + n;
  cmd->add_option("name", o->name, "Report: " + names + ", " + kSamplesReport + " (samples, md)")->required();
  cmd->add_option("--experiment", o->experiments, "Experiment file(s) whose trials feed it (default: those in "
                                                  "experiments/ that name the report)");
  cmd->add_option("--experiments-dir", o->experiments_dir,
                  "Where to look for experiment files (default ./experiments, else the source tree's)");
  cmd->add_option("--profile", o->profile, "Profile the runs were made with")->capture_default_str();
  cmd->add_option("--store", o->store, "Run store folder (default $DIST2_STORE or ./dist2-runs)");
  cmd->add_option("--format", o->format, "md, csv, tex, or svg (figures)")->capture_default_str();
  cmd->add_option("--out", o->out, "Write NAME.<ext> (and figures' .svg) into this folder instead of printing");
  cmd->add_option("--pin", o->pins, "Hold a param at a value, e.g. --pin task.n_train=512 (Table 5)");
  cmd->callback([o, &app] {
    std::string command = "dist2 report " + o->name;
    if (o->profile != "default") command += " --profile " + o->profile;
    if (!o->out.empty()) command += " --format " + o->format + " --out " + o->out;
    for (const auto& p : o->pins) command += " --pin " + p;
    run_report(*o, command);
  });
}

}  // namespace dist2::cli
