// dist2 report: a paper table or figure from the store, our numbers beside the paper's.
// The flags; the work is dist2::report::run_report_request (lib/dist2/report/command.h).
#include <memory>

#include "commands.h"
#include "common.h"
#include "dist2/imagegen/samples.h"
#include "dist2/report/command.h"
#include "dist2/report/layouts.h"

namespace dist2::cli {

void setup_report(CLI::App& app) {
  imagegen::add_picture_reports();  // the picture reports that need the image task's VQ decoder
  auto o = std::make_shared<report::ReportRequest>();
  auto layouts_files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("report", "Regenerate a paper table or figure from the store, our numbers beside the paper's");
  std::string names, picture_names;
  for (const auto& n : report::layout_names()) names += (names.empty() ? "" : ", ") + n;
  for (const auto& p : report::picture_report_names()) picture_names += (picture_names.empty() ? "" : ", ") + p;
  cmd->add_option("name", o->name,
                  "Report: " + names + ", " + report::samples_report_name() + " (samples, md), " + picture_names +
                      " (PNG pictures and md; needs --out), all (every report with runs; with --format html, "
                      "one page: DIR/index.html), or an experiment file of your own (a generic table of its grid)")
      ->required();
  cmd->add_option("--experiment", o->experiments,
                  "Experiment (name or file) whose latest recorded sweep feeds it (default: every experiment whose "
                  "sweep names the report; with all: only the reports these feed)");
  cmd->add_option("--profile", o->profile, "Profile the runs were made with")->capture_default_str();
  cmd->add_option("--store", o->store, "Run store folder (default $DIST2_STORE or ./dist2-runs)");
  cmd->add_option("--format", o->format, "md, csv, tex, html, or svg (figures)")->capture_default_str();
  cmd->add_option("--out", o->out, "Write NAME.<ext> (and figures' .svg) into this folder instead of printing");
  cmd->add_option("--baseline", o->baseline,
                  "Generic report (NAME is an experiment file): the row the others are paired against")
      ->capture_default_str();
  cmd->add_option("--metric", o->metrics, "Generic report: show only these metrics (repeat; default: every one logged)");
  cmd->add_option("--pin", o->pins, "Hold a param at a value, e.g. --pin task.n_train=512 (Table 5)");
  cmd->add_option("--layouts", *layouts_files,
                  "A layouts file (the form of lib/dist2/report/data/layouts.yaml): its tables are added to the "
                  "built-in ones, replacing those of the same name (repeat for more)");
  cmd->callback([o, layouts_files] {
    for (const auto& file : *layouts_files) report::add_layouts_file(file);
    report::ReportRequest r = *o;
    r.store = store_dir(o->store);
    r.command = "dist2 report " + o->name;
    for (const auto& e : o->experiments) r.command += " --experiment " + e;
    if (o->profile != "default") r.command += " --profile " + o->profile;
    if (!o->out.empty()) r.command += " --format " + o->format + " --out " + o->out;
    for (const auto& p : o->pins) r.command += " --pin " + p;
    for (const auto& f : *layouts_files) r.command += " --layouts " + f;
    report::run_report_request(r);
  });
}

}  // namespace dist2::cli
