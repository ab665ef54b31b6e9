#pragma once
// Qualitative samples (paper appendix F, figure 7): each run of a task that has
// them stores a Markdown artifact of worked predictions (for reward modeling:
// pairs, each response with its expected score); the report puts the artifacts of
// a few runs, one per loss at the lowest seed, under one provenance header.
#include <string>
#include <vector>

#include "dist2/report/render.h"

namespace dist2::report {

struct SampleSet {
  std::string label;     // "dist", "sft"
  std::string run_id;
  std::string seed;
  std::string markdown;  // the run's samples artifact
};

// The rows figure 7 shows: Table 3's sft and dist rows, with its common filter.
std::vector<RowSpec> sample_rows();

// The run of `runs` that matches `row` with the lowest seed, or none.
const RunRecord* lowest_seed_run(const std::vector<RunRecord>& runs, const RowSpec& row);

std::string render_samples(const std::vector<SampleSet>& sets, const ReportContext& context);

}  // namespace dist2::report
