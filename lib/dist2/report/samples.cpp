#include "dist2/report/samples.h"

#include <fmt/format.h>

namespace dist2::report {

std::vector<RowSpec> sample_rows() {
  // Table 3's sft and dist rows, so figure 7 shows the runs that table reports.
  const Layout& table3 = find_layout("table3");
  std::vector<RowSpec> rows;
  for (const char* label : {"sft", "dist"})
    for (const RowSpec& row : table3.rows)
      if (row.label == label) {
        RowSpec r = row;
        r.filter.insert(r.filter.begin(), table3.common.begin(), table3.common.end());
        rows.push_back(std::move(r));
      }
  return rows;
}

const RunRecord* lowest_seed_run(const std::vector<RunRecord>& runs, const RowSpec& row) {
  const RunRecord* best = nullptr;
  double best_seed = 0;
  for (const auto& r : runs) {
    if (r.status != kFinishedStatus || !matches(r, row.filter)) continue;
    const auto it = r.params.find("seed");
    const double seed = it == r.params.end() ? 0 : as_number(it->second).value_or(0);
    if (!best || seed < best_seed) best = &r, best_seed = seed;
  }
  return best;
}

std::string render_samples(const std::vector<SampleSet>& sets, const ReportContext& c) {
  std::string md = "# Figure 7: qualitative samples, generative reward modeling\n\n";
  md += fmt::format("- command: `{}`\n- profile: {}\n- commit: {}\n- date: {}\n- machine: {}\n\n", c.command, c.profile,
                    c.commit, c.date, c.machine);
  md += "Each response of a held-out pair with the model's expected overall score (sum of s p(s) over the score "
        "tokens, 0-20), the annotators' label and the noise-free score. The paper's figure 7 shows the same for "
        "Llama-3.1-8B on RewardBench prompts.\n\n";
  if (sets.empty()) md += "No finished run with samples yet (run `dist2 sweep` first).\n";
  for (const auto& s : sets) md += fmt::format("## {} (run {}, seed {})\n\n{}\n", s.label, s.run_id, s.seed, s.markdown);
  return md;
}

}  // namespace dist2::report
