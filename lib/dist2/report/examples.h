#pragma once
// Per-example scores of runs (the "examples" CSV artifact a task writes at
// evaluation, e.g. each grounding test box's IoU), and what reports derive from
// them by pairing the examples of two runs: the paper's Table 13 asks for the
// mean IoU of each model on the examples where both models are wrong.
#include <map>
#include <string>
#include <vector>

#include "dist2/report/layouts.h"
#include "dist2/report/records.h"

namespace dist2::report {

struct ExampleRow {
  int64_t index = 0;
  std::string group;
  double score = 0;
  std::string prompt, truth, prediction;
};

// The rows of an examples CSV (header index,group,score,prompt,truth,prediction);
// an Error naming `name` and the line on a malformed row.
std::vector<ExampleRow> parse_examples_csv(const std::string& text, const std::string& name);

// Shared failures (Table 13): for each pair of runs, one matching row `a` and one
// matching row `b` that agree on `pair_keys` (empty: on every param but the
// loss.* ones), the examples of `group` ("": every group, named "all") on which
// both score below `threshold`; each run gets the mean score of its own
// predictions on them as metric "<prefix>.<group>.score" and their count as
// "<prefix>.<group>.n". Runs without examples or without a partner get neither.
// Returns how many pairs were found.
int add_shared_failure_metrics(std::vector<RunRecord>& runs,
                               const std::map<std::string, std::vector<ExampleRow>>& examples, const RowSpec& a,
                               const RowSpec& b, const std::vector<std::string>& pair_keys, const std::string& group,
                               double threshold, const std::string& prefix);

}  // namespace dist2::report
