#pragma once
// Qualitative manipulation samples (Table 2's task): test episodes with the true
// and the predicted actions of two runs (sft and dist of one seed), each episode
// a PNG (a pick is a small square, a place a larger one, a dotted line between),
// listed in Markdown with the instruction, the action texts and each run's outcome.
#include "dist2/report/scene_samples.h"

namespace dist2::report {

std::string write_action_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                                 const std::vector<std::string>& groups, const ReportContext& context,
                                 const std::string& out_dir, const std::string& name);

}  // namespace dist2::report
