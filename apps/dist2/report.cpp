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
#include "dist2/image/image_file.h"
#include "dist2/report/box_samples.h"
#include "dist2/report/examples.h"
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
const std::string kBoxSamplesReport = "grounding-samples";

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

// Each run's per-example scores (its "examples" artifact), by run id.
std::map<std::string, std::vector<report::ExampleRow>> run_examples(const ReportOptions& o,
                                                                    const std::vector<report::RunRecord>& runs) {
  store::Store st(store_dir(o.store));
  std::map<std::string, std::vector<report::ExampleRow>> out;
  for (const auto& r : runs)
    for (const auto& a : st.artifacts(r.id))
      if (a.kind == "examples" && std::filesystem::exists(a.path))
        out[r.id] = report::parse_examples_csv(read_file(a.path), a.path);
  return out;
}

// Table 13: the IoU of sft and dist on the test examples both get wrong, per seed.
void add_shared_failures(const ReportOptions& o, std::vector<report::RunRecord>& runs) {
  const auto examples = run_examples(o, runs);
  const report::Layout& l = report::find_layout("table13");
  auto with_common = [&](report::RowSpec row) {
    row.filter.insert(row.filter.begin(), l.common.begin(), l.common.end());
    return row;
  };
  const auto sft = with_common(l.rows.at(0)), dist = with_common(l.rows.at(1));
  for (const std::string group : {"ref.testA", ""})
    report::add_shared_failure_metrics(runs, examples, sft, dist, {}, group, 0.5, "shared_failures");
}

// Grounding samples: one seed's sft and dist predictions drawn on test scenes.
void write_box_samples(const ReportOptions& o, const std::vector<report::RunRecord>& runs,
                       const report::ReportContext& ctx) {
  DIST2_CHECK(!o.out.empty(), "{} writes PNG pictures: give --out DIR", o.name);
  store::Store st(store_dir(o.store));
  const report::Layout& table1 = report::find_layout("table1");
  std::vector<report::BoxRun> box_runs;
  std::vector<Image> images;
  const report::RunRecord* anchor = nullptr;
  for (const char* label : {"sft", "dist"}) {
    for (auto row : table1.rows) {
      if (row.label != label) continue;
      row.filter.insert(row.filter.begin(), table1.common.begin(), table1.common.end());
      // The sft run of the lowest seed, then the dist run that pairs with it.
      // It pairs on the seed, the column and every pinned param (runs from scratch and
      // from a backbone never pair).
      if (anchor) {
        row.filter.push_back({"seed", anchor->params.at("seed")});
        row.filter.push_back({"task.n_train", anchor->params.at("task.n_train")});
        for (const auto& key : table1.pins)
          if (anchor->params.count(key)) row.filter.push_back({key, anchor->params.at(key)});
      }
      const report::RunRecord* run = report::lowest_seed_run(runs, row);
      if (!run) continue;
      if (!anchor) anchor = run;
      report::BoxRun br{label, run->id, {}};
      for (const auto& a : st.artifacts(run->id)) {
        if (a.kind == "examples" && std::filesystem::exists(a.path))
          br.examples = report::parse_examples_csv(read_file(a.path), a.path);
        if (a.kind == "dataset" && images.empty() && std::filesystem::exists(a.path + "/test.images"))
          images = read_image_file(a.path + "/test.images");
      }
      if (!br.examples.empty()) box_runs.push_back(std::move(br));
    }
  }
  std::vector<std::string> groups;
  for (const auto& m : table1.metrics)
    if (m.key.size() > 6 && m.key.compare(m.key.size() - 6, 6, ".acc50") == 0) groups.push_back(m.key.substr(0, m.key.size() - 6));
  if (images.empty()) box_runs.clear();
  const std::string md = report::write_box_samples(box_runs, images, groups, ctx, o.out, o.name);
  const std::string path = (std::filesystem::path(o.out) / (o.name + ".md")).string();
  write_file_atomic(path, md);
  fmt::print("wrote {}\n", path);
}

void run_report(const ReportOptions& o, const std::string& command) {
  const bool samples = o.name == kSamplesReport, box_samples = o.name == kBoxSamplesReport;
  if (!samples && !box_samples) report::find_layout(o.name);  // a typo fails here, naming the valid reports
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
  if (box_samples) return write_box_samples(o, runs, ctx);
  if (o.name == "table13") add_shared_failures(o, runs);
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
  cmd->add_option("name", o->name,
                  "Report: " + names + ", " + kSamplesReport + " (samples, md), " + kBoxSamplesReport +
                      " (PNG pictures and md; needs --out)")
      ->required();
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
