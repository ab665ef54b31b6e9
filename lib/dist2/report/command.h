#pragma once
// `dist2 report` as a library call (apps/dist2/report.cpp binds the flags): a
// layout's table or figure, the samples report, a picture report, `all`, or the
// generic report of an experiment file, from the runs of one store.
#include <string>
#include <vector>

#include "dist2/image/image.h"
#include "dist2/report/render.h"
#include "dist2/report/scene_samples.h"

namespace dist2::report {

struct ReportRequest {
  std::string name;                      // a layout, samples_report_name(), a picture report, "all", or a .yaml file
  std::vector<std::string> experiments;  // names, or experiment files (their `experiment:` name)
  std::string profile = "default";
  std::string store;                     // the store's folder (resolved by the caller)
  std::string format = "md";
  std::string out;
  std::vector<std::string> pins;
  std::string baseline = "loss.kind=sft";
  std::vector<std::string> metrics;
  std::string command;                   // the command line each report records
};

// A report of pictures: one seed's sft and dist predictions drawn (on test
// scenes, or as generated images), from the runs of layout `layout`'s rows, a
// picture per test group (the groups of the layout's metrics that end in
// `group_suffix`). The writer returns the report's Markdown.
using PictureWriter = std::string (*)(const std::vector<SampleRun>& runs, const std::vector<Image>& scenes,
                                      const std::vector<std::string>& groups, const ReportContext& context,
                                      const std::string& out_dir, const std::string& name);
struct PictureReport {
  std::string name, layout, group_suffix, title;
  bool needs_scenes = false;  // draws on the test split's images (the dataset artifact's test.images)
  PictureWriter write = nullptr;
};
// Adds (or replaces, by name) a picture report: how a task whose pictures need
// code beyond report/ (the image task's VQ decoder) offers them.
void add_picture_report(PictureReport p);

// The report names beside the layouts': the samples report (figure 7) and the picture reports.
std::string samples_report_name();
std::vector<std::string> picture_report_names();

// Writes or prints the report the request names; throws dist2::Error on bad input.
void run_report_request(const ReportRequest& r);

}  // namespace dist2::report
