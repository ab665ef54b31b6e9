#pragma once
// Qualitative grounding samples (paper appendix F, figures 5/6 of the grounding
// experiment): test scenes with the ground-truth box and the boxes two runs
// predicted (sft and dist of one seed), each scene a PNG, listed in Markdown.
#include <string>
#include <vector>

#include "dist2/image/image.h"
#include "dist2/report/examples.h"
#include "dist2/report/render.h"

namespace dist2::report {

struct BoxRun {
  std::string label;  // "sft", "dist"
  std::string run_id;
  std::vector<ExampleRow> examples;  // per test example: prompt, truth and predicted box text
};

// Picks the first test example of each group present in the first run (in
// `groups` order), draws its scene (upscaled) with the truth in green and each
// run's box in its colour (sft red, dist blue, further runs orange), writes
// out_dir/<name>-<k>.png, and returns the Markdown that lists them with the
// expression, the boxes and their IoU. `images[i]` is test example i's scene.
std::string write_box_samples(const std::vector<BoxRun>& runs, const std::vector<Image>& images,
                              const std::vector<std::string>& groups, const ReportContext& context,
                              const std::string& out_dir, const std::string& name);

}  // namespace dist2::report
