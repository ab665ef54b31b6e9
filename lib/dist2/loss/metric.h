#pragma once
// Metric spaces over a sub-vocabulary V_d (paper section 2.2 and 2.4): M tokens,
// each with a scalar value or an embedding, and a distance d(v, x) between them.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dist2 {

enum class MetricKind {
  squared,           // d = (v - x)^2 over scalar values
  absolute,          // d = |v - x|
  embedding_mse,     // d = mean_k (e_v,k - e_x,k)^2 over embeddings [M, D]
  embedding_cosine,  // d = 1 - cos(e_v, e_x)   (paper eq. 7)
  random,            // a seeded random symmetric table, entries uniform (the old table 8 check)
  permuted,          // d = (pi(v) - pi(x))^2 for a seeded permutation pi of the values (table 8)
  table,             // an explicit [M, M] table, e.g. read from a file
};
// Accepts "sq"/"squared", "abs"/"absolute", "mse", "cosine", "random", "permuted", "table".
MetricKind parse_metric_kind(const std::string& name);
std::string to_string(MetricKind kind);

class MetricSpace {
 public:
  // Scalar values with squared or absolute distance.
  static MetricSpace scalar(std::vector<int64_t> token_ids, std::vector<double> values,
                            MetricKind kind = MetricKind::squared);
  // Embedding vectors [M, D] with MSE or cosine distance.
  static MetricSpace embedding(std::vector<int64_t> token_ids, torch::Tensor embeddings,
                               MetricKind kind = MetricKind::embedding_mse);
  // A random symmetric table with a zero diagonal whose off-diagonal entries are
  // uniform over the range of the squared distance between the values: the same
  // scale as the real metric, none of its structure.
  static MetricSpace random(std::vector<int64_t> token_ids, std::vector<double> values, uint64_t seed);
  // The squared distance between randomly permuted values, d(v, x) = (pi(v) - pi(x))^2,
  // the control of the paper's random-metric check (Table 8: "randomly assigned
  // distances between labels"). pi permutes only the label values (label_sets: the
  // values each kind of label takes; empty: all of V_d), within the classes of
  // values that lie in the same sets, so that a label maps to a label of the same
  // kind; every other value keeps its own. Then the target at label x is the real
  // target at label pi(x) with the label tokens relabelled: the same sharpness and
  // the same mass on label tokens, none of the order. pi is seeded and never the
  // identity. (Permuting all of V_d would put most of the soft mass, under chunk3's
  // 1,000 number tokens, on numbers the task never writes.)
  static MetricSpace permuted(std::vector<int64_t> token_ids, std::vector<double> values, uint64_t seed,
                              const std::vector<std::vector<double>>& label_sets = {});
  // An explicit table [M, M]: row x holds d(v, x) for every v.
  static MetricSpace table(std::vector<int64_t> token_ids, torch::Tensor distances);
  // A whitespace- or comma-separated M x M text file.
  static MetricSpace table_from_file(std::vector<int64_t> token_ids, const std::string& path);

  MetricKind kind() const { return kind_; }
  int64_t size() const { return token_ids_.size(0); }
  const torch::Tensor& token_ids() const { return token_ids_; }  // [M] int64
  bool has_values() const { return values_.defined(); }
  const torch::Tensor& values() const;          // [M] float64
  const torch::Tensor& embeddings() const { return embeddings_; }  // [M, D] float64 or undefined
  const torch::Tensor& table_rows() const { return table_; }       // [M, M] float64 or undefined
  int64_t min_token_id() const { return min_id_; }
  int64_t max_token_id() const { return max_id_; }

  // The V_d indices of the tokens whose value is a label value ([L] int64; by
  // default every index): the targets soft_target summaries average over.
  const torch::Tensor& label_indices() const { return label_indices_; }
  // Sets label_indices() from the task's label value sets (empty: every index).
  void set_label_values(const std::vector<std::vector<double>>& label_sets);

  // Maps vocabulary ids [N] to indices into V_d [N]; -1 where an id is not in V_d.
  // (On the device of the ids.)
  torch::Tensor index_of(const torch::Tensor& vocab_ids) const;
  // d(v, x) for every v in V_d and each target index x: [N] -> [N, M] float64,
  // on the device of target_index.
  torch::Tensor distances_from(const torch::Tensor& target_index) const;

 private:
  torch::Tensor distances_on_cpu(const torch::Tensor& x) const;  // x: [N] int64 on the CPU
  MetricSpace(MetricKind kind, std::vector<int64_t> ids);
  MetricKind kind_;
  torch::Tensor token_ids_, values_, embeddings_, table_, lookup_, label_indices_;
  int64_t min_id_ = 0, max_id_ = 0;
};

}  // namespace dist2
