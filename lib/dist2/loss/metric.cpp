#include "dist2/loss/metric.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dist2/util/error.h"
#include "dist2/util/shape.h"

namespace dist2 {

namespace {
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);
}

MetricKind parse_metric_kind(const std::string& name) {
  if (name == "sq" || name == "squared") return MetricKind::squared;
  if (name == "abs" || name == "absolute") return MetricKind::absolute;
  if (name == "mse" || name == "embedding_mse") return MetricKind::embedding_mse;
  if (name == "cosine" || name == "embedding_cosine") return MetricKind::embedding_cosine;
  if (name == "random") return MetricKind::random;
  if (name == "permuted") return MetricKind::permuted;
  if (name == "table") return MetricKind::table;
  throw Error(fmt::format("unknown metric '{}' (valid: sq, abs, mse, cosine, random, permuted, table)", name));
}

std::string to_string(MetricKind kind) {
  switch (kind) {
    case MetricKind::squared: return "sq";
    case MetricKind::absolute: return "abs";
    case MetricKind::embedding_mse: return "mse";
    case MetricKind::embedding_cosine: return "cosine";
    case MetricKind::random: return "random";
    case MetricKind::permuted: return "permuted";
    case MetricKind::table: return "table";
  }
  return "?";
}

MetricSpace::MetricSpace(MetricKind kind, std::vector<int64_t> ids) : kind_(kind) {
  DIST2_CHECK(!ids.empty(), "the metric sub-vocabulary V_d is empty");
  std::set<int64_t> seen;
  for (int64_t id : ids) {
    DIST2_CHECK(id >= 0, "V_d token id {} is negative", id);
    DIST2_CHECK(seen.insert(id).second, "V_d lists token id {} twice", id);
  }
  min_id_ = *seen.begin();
  max_id_ = *seen.rbegin();
  token_ids_ = torch::tensor(ids, torch::kInt64);
  // Dense id -> index lookup over [0, max_id]; V_d ids are vocabulary ids, so small.
  lookup_ = torch::full({max_id_ + 1}, -1, torch::kInt64);
  lookup_.index_put_({token_ids_}, torch::arange(static_cast<int64_t>(ids.size()), torch::kInt64));
  label_indices_ = torch::arange(static_cast<int64_t>(ids.size()), torch::kInt64);
}

MetricSpace MetricSpace::scalar(std::vector<int64_t> ids, std::vector<double> values, MetricKind kind) {
  DIST2_CHECK(kind == MetricKind::squared || kind == MetricKind::absolute,
              "a scalar metric must be sq or abs, got {}", to_string(kind));
  DIST2_CHECK(ids.size() == values.size(), "V_d has {} token ids but {} values", ids.size(), values.size());
  MetricSpace m(kind, std::move(ids));
  m.values_ = torch::tensor(values, kF64);
  DIST2_CHECK(torch::isfinite(m.values_).all().item<bool>(), "V_d values must be finite");
  return m;
}

MetricSpace MetricSpace::embedding(std::vector<int64_t> ids, torch::Tensor emb, MetricKind kind) {
  DIST2_CHECK(kind == MetricKind::embedding_mse || kind == MetricKind::embedding_cosine,
              "an embedding metric must be mse or cosine, got {}", to_string(kind));
  DIST2_CHECK(emb.dim() == 2 && emb.size(0) == static_cast<int64_t>(ids.size()),
              "embeddings must be [M, D] with M = {} tokens, got {}", ids.size(), shape_of(emb));
  MetricSpace m(kind, std::move(ids));
  m.embeddings_ = emb.to(torch::kFloat64).contiguous();
  DIST2_CHECK(torch::isfinite(m.embeddings_).all().item<bool>(), "embeddings must be finite");
  if (kind == MetricKind::embedding_cosine)
    DIST2_CHECK((m.embeddings_.norm(2, 1) > 0).all().item<bool>(), "cosine distance needs non-zero embeddings");
  return m;
}

MetricSpace MetricSpace::table(std::vector<int64_t> ids, torch::Tensor distances) {
  const auto n = static_cast<int64_t>(ids.size());
  DIST2_CHECK(distances.dim() == 2 && distances.size(0) == n && distances.size(1) == n,
              "a distance table must be [M, M] with M = {}, got {}", n, shape_of(distances));
  MetricSpace m(MetricKind::table, std::move(ids));
  m.table_ = distances.to(torch::kFloat64).contiguous();
  DIST2_CHECK(torch::isfinite(m.table_).all().item<bool>(), "the distance table must be finite");
  return m;
}

MetricSpace MetricSpace::random(std::vector<int64_t> ids, std::vector<double> values, uint64_t seed) {
  auto scalar_space = scalar(ids, values, MetricKind::squared);
  const int64_t n = scalar_space.size();
  auto all = torch::arange(n, torch::kInt64);
  auto real = scalar_space.distances_from(all);
  const double hi = real.max().item<double>();
  const double lo = n > 1 ? real.masked_fill(torch::eye(n, torch::kBool), hi).min().item<double>() : 0.0;
  auto gen = at::detail::createCPUGenerator(seed);
  auto u = at::empty({n, n}, kF64).uniform_(lo, hi, gen);
  auto sym = torch::triu(u, 1);
  sym = sym + sym.t();  // symmetric, zero diagonal
  auto m = table(std::move(ids), sym);
  m.kind_ = MetricKind::random;
  m.values_ = scalar_space.values_;
  return m;
}

namespace {
// The indices of V_d grouped by which label sets hold their value (values in no
// set are in no group); one group of every index when there are no sets.
std::vector<std::vector<int64_t>> label_classes(const std::vector<double>& values,
                                                const std::vector<std::vector<double>>& label_sets) {
  std::map<std::vector<bool>, std::vector<int64_t>> by_membership;
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<bool> in(label_sets.size());
    bool any = label_sets.empty();
    for (size_t s = 0; s < label_sets.size(); ++s)
      any |= in[s] = std::find(label_sets[s].begin(), label_sets[s].end(), values[i]) != label_sets[s].end();
    if (any) by_membership[in].push_back(static_cast<int64_t>(i));
  }
  std::vector<std::vector<int64_t>> out;
  for (auto& [membership, indices] : by_membership) out.push_back(std::move(indices));
  return out;
}
}  // namespace

MetricSpace MetricSpace::permuted(std::vector<int64_t> ids, std::vector<double> values, uint64_t seed,
                                  const std::vector<std::vector<double>>& label_sets) {
  auto scalar_space = scalar(ids, values, MetricKind::squared);
  const int64_t n = scalar_space.size();
  const auto classes = label_classes(values, label_sets);
  bool can_move = false;
  for (const auto& c : classes) can_move |= c.size() > 1;
  DIST2_CHECK(can_move, "loss.metric=permuted needs two label values of one kind in V_d to permute");
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  // Redraw the identity (it would be the real metric); deterministic given the seed.
  for (bool identity = true; identity;) {
    for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
    for (const auto& c : classes) {
      const auto shuffle = torch::randperm(static_cast<int64_t>(c.size()), gen, torch::kInt64);
      for (size_t k = 0; k < c.size(); ++k) perm[static_cast<size_t>(c[k])] = c[static_cast<size_t>(shuffle[static_cast<int64_t>(k)].item<int64_t>())];
    }
    identity = true;
    for (int64_t i = 0; i < n; ++i) identity &= perm[static_cast<size_t>(i)] == i;
  }
  auto pi = scalar_space.values_.index({torch::tensor(perm, torch::kInt64)});  // pi(v_i) = the value of another label token
  auto diff = pi.unsqueeze(0) - pi.unsqueeze(1);
  auto m = table(std::move(ids), diff * diff);
  m.kind_ = MetricKind::permuted;
  m.values_ = scalar_space.values_;
  m.set_label_values(label_sets);
  return m;
}

void MetricSpace::set_label_values(const std::vector<std::vector<double>>& label_sets) {
  if (label_sets.empty() || !values_.defined()) {
    label_indices_ = torch::arange(size(), torch::kInt64);
    return;
  }
  const auto v = values_.contiguous();
  std::vector<double> values(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  std::vector<int64_t> labels;
  for (const auto& c : label_classes(values, label_sets)) labels.insert(labels.end(), c.begin(), c.end());
  std::sort(labels.begin(), labels.end());
  DIST2_CHECK(!labels.empty(), "no token of V_d has a label value");
  label_indices_ = torch::tensor(labels, torch::kInt64);
}

MetricSpace MetricSpace::table_from_file(std::vector<int64_t> ids, const std::string& path) {
  std::ifstream in(path);
  DIST2_CHECK(in.good(), "cannot read distance table '{}'", path);
  std::vector<double> flat;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    for (char& c : line)
      if (c == ',') c = ' ';
    std::istringstream ss(line);
    std::string tok;
    while (ss >> tok) {
      try {
        size_t used = 0;
        flat.push_back(std::stod(tok, &used));
        DIST2_CHECK(used == tok.size(), "{}:{}: '{}' is not a number", path, line_no, tok);
      } catch (const std::logic_error&) {
        throw Error(fmt::format("{}:{}: '{}' is not a number", path, line_no, tok));
      }
    }
  }
  const auto n = static_cast<int64_t>(ids.size());
  DIST2_CHECK(static_cast<int64_t>(flat.size()) == n * n, "{}: expected {} x {} = {} distances, found {}", path,
              n, n, n * n, flat.size());
  return table(std::move(ids), torch::tensor(flat, kF64).view({n, n}));
}

const torch::Tensor& MetricSpace::values() const {
  DIST2_CHECK(values_.defined(), "metric '{}' has no scalar values", to_string(kind_));
  return values_;
}

torch::Tensor MetricSpace::index_of(const torch::Tensor& vocab_ids) const {
  // The tables live on the CPU; the answer goes back to the device of the ids.
  auto ids = vocab_ids.to(torch::kCPU, torch::kInt64);
  auto inside = (ids >= 0) & (ids <= max_id_);
  auto idx = lookup_.index({ids.clamp(0, max_id_)});
  return torch::where(inside, idx, torch::full_like(idx, -1)).to(vocab_ids.device());
}

torch::Tensor MetricSpace::distances_from(const torch::Tensor& target_index) const {
  return distances_on_cpu(target_index.to(torch::kCPU, torch::kInt64)).to(target_index.device());
}

torch::Tensor MetricSpace::distances_on_cpu(const torch::Tensor& x) const {
  DIST2_CHECK(x.numel() == 0 || (x.min().item<int64_t>() >= 0 && x.max().item<int64_t>() < size()),
              "target index outside V_d [0, {})", size());
  switch (kind_) {
    case MetricKind::squared: {
      auto diff = values_.unsqueeze(0) - values_.index({x}).unsqueeze(1);
      return diff * diff;
    }
    case MetricKind::absolute:
      return (values_.unsqueeze(0) - values_.index({x}).unsqueeze(1)).abs();
    case MetricKind::embedding_mse: {
      // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, so no [N, M, D] temporary (codebooks are large).
      auto sq = (embeddings_ * embeddings_).sum(1);  // [M]
      auto dot = torch::matmul(embeddings_.index({x}), embeddings_.t());  // [N, M]
      auto d = sq.index({x}).unsqueeze(1) + sq.unsqueeze(0) - 2.0 * dot;
      return d.clamp_min(0.0) / static_cast<double>(embeddings_.size(1));
    }
    case MetricKind::embedding_cosine: {
      auto unit = embeddings_ / embeddings_.norm(2, 1, true);
      return 1.0 - torch::matmul(unit.index({x}), unit.t());
    }
    case MetricKind::random:
    case MetricKind::permuted:
    case MetricKind::table:
      return table_.index({x});
  }
  throw Error("unreachable metric kind");
}

}  // namespace dist2
