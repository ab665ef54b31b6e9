#pragma once
// The generic `text` task for users' own data: JSONL lines {"prompt", "completion"},
// or CSV with a prompt template over its columns ("age={age} bmi={bmi} ->") and a
// target column. Numbers in completions become metric positions under the
// tokenizer's number splitting. Metrics: exact match, MAE, RMSE, parse failures.
#include <string>
#include <vector>

#include "dist2/tasks/task.h"
#include "dist2/util/csv.h"

namespace dist2 {

// Reads one file into examples; format is "jsonl", "csv" or "auto" (by extension).
std::vector<Example> read_text_examples(const std::string& path, const std::string& format,
                                        const std::string& prompt_template, const std::string& target_column);
// "{a} and {b}" with columns -> the filled text; an unknown column is an error.
std::string fill_template(const std::string& tmpl, const std::vector<std::string>& header,
                          const std::vector<std::string>& row);

class TextTask : public Task {
 public:
  std::string name() const override { return "text"; }
  config::Schema schema() const override;
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config& cfg) const override;
};

}  // namespace dist2
