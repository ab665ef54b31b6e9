#pragma once
// The paper's own numbers, as printed, for the tables dist2 regenerates (from
// data/paper_numbers.yaml). They are only ever shown in rows labelled as the
// paper's, never in our columns.
#include <string>
#include <vector>

namespace dist2::report {

struct PaperRow {
  std::string label;                // the row as the paper prints it (markup removed)
  std::string loss;                 // our loss kind it corresponds to ("sft", "dist"); "" if none
  std::string note;                 // extra columns that are not numbers (model type, #data)
  std::vector<std::string> values;  // exactly as printed; "-" where the paper prints "-"
};

struct PaperTable {
  std::string id;       // "table11", "table7_top", ...
  std::string caption;  // the paper's caption (abridged)
  std::string source;   // where in the paper the numbers were read
  std::string model;    // the paper's backbone, for the "paper (<model>)" row labels
  // The paper's column axis ("training problems" 1..10), printed as the paper has
  // it and never aligned with ours; empty when the table has one column group.
  std::string axis_label;
  std::vector<std::string> axis_values;
  std::vector<std::string> value_labels;  // per column group ("MAE mean", "MAE std", ...)
  std::vector<PaperRow> rows;
  std::string note;     // transcription remarks a reader needs
  size_t width() const { return (axis_values.empty() ? 1 : axis_values.size()) * value_labels.size(); }
};

// The tables of a paper-numbers file (the form of data/paper_numbers.yaml).
// Throws dist2::Error "SOURCE:LINE:COL: what" for a malformed file, an unknown
// key, a missing field or a row whose value count does not fit the table.
std::vector<PaperTable> parse_paper_tables(const std::string& yaml_text, const std::string& source);

const PaperTable& paper_table(const std::string& id);  // throws Error naming the valid ids
std::vector<std::string> paper_table_ids();

// A printed paper value as a number: NaN for "-" or anything that is not a number.
double paper_value(const std::string& printed);

}  // namespace dist2::report
