#pragma once
// Qualitative manipulation samples (Table 2's task): test episodes with the true
// and the predicted pick and place points of two runs (sft and dist of one
// seed), each episode a PNG, listed in Markdown with the simulator's outcome.
#include <string>
#include <vector>

#include "dist2/image/image.h"
#include "dist2/report/box_samples.h"

namespace dist2::report {

// Picks the first test example of each group present in the first run (in
// `groups` order), draws its scene (upscaled) with the true actions in green and
// each run's in its colour (sft red, dist blue, further runs orange): a pick is a
// small square, a place a larger one, joined by a line. Writes
// out_dir/<name>-<k>.png and returns the Markdown listing them with the
// instruction, the action texts and whether each run's episode succeeded.
// `images[i]` is test example i's scene.
std::string write_action_samples(const std::vector<BoxRun>& runs, const std::vector<Image>& images,
                                 const std::vector<std::string>& groups, const ReportContext& context,
                                 const std::string& out_dir, const std::string& name);

}  // namespace dist2::report
