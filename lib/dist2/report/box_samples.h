#pragma once
// Qualitative grounding samples (paper appendix F, figures 5/6 of the grounding
// experiment): test scenes with the ground-truth box and the boxes two runs
// predicted (sft and dist of one seed), each scene a PNG, listed in Markdown
// with the expression, the boxes and their IoU.
#include "dist2/report/scene_samples.h"

namespace dist2::report {

std::string write_box_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                              const std::vector<std::string>& groups, const ReportContext& context,
                              const std::string& out_dir, const std::string& name);

}  // namespace dist2::report
