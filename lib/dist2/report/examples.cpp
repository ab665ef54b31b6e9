#include "dist2/report/examples.h"

#include <cmath>
#include <set>
#include <sstream>

#include "dist2/util/csv.h"
#include "dist2/util/error.h"

namespace dist2::report {

std::vector<ExampleRow> parse_examples_csv(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  DIST2_CHECK(std::getline(in, line) && line == "index,group,score,prompt,truth,prediction",
              "{}: not an examples file (its header must be index,group,score,prompt,truth,prediction)", name);
  std::vector<ExampleRow> rows;
  for (int64_t no = 2; std::getline(in, line); ++no) {
    if (line.empty()) continue;
    const auto f = parse_csv_line(line);
    DIST2_CHECK(f.size() == 6, "{}:{}: {} fields, 6 expected", name, no, f.size());
    const auto index = as_number(f[0]), score = as_number(f[2]);
    DIST2_CHECK(index && score && *index >= 0 && *index == std::floor(*index), "{}:{}: index and score must be numbers",
                name, no);
    rows.push_back({static_cast<int64_t>(*index), f[1], *score, f[3], f[4], f[5]});
  }
  return rows;
}

namespace {

std::string pair_key(const RunRecord& r, const std::vector<std::string>& keys) {
  std::string k;
  for (const auto& key : keys) {
    const auto it = r.params.find(key);
    k += key + "=" + (it == r.params.end() ? std::string("<default>") : it->second) + ";";
  }
  return k;
}

// index -> score of one run's examples of `group` ("": every group).
std::map<int64_t, double> scores_of(const std::vector<ExampleRow>& rows, const std::string& group) {
  std::map<int64_t, double> out;
  for (const auto& r : rows)
    if (group.empty() || r.group == group) out[r.index] = r.score;
  return out;
}

// Every param except the loss's: runs that differ only in their loss pair.
std::vector<std::string> non_loss_keys(const std::vector<RunRecord>& runs) {
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.params)
      if (k.rfind("loss.", 0) != 0) keys.insert(k);
  return {keys.begin(), keys.end()};
}

}  // namespace

int add_shared_failure_metrics(std::vector<RunRecord>& runs,
                               const std::map<std::string, std::vector<ExampleRow>>& examples, const RowSpec& a,
                               const RowSpec& b, const std::vector<std::string>& pair_keys, const std::string& group,
                               double threshold, const std::string& prefix) {
  const auto keys = pair_keys.empty() ? non_loss_keys(runs) : pair_keys;
  std::map<std::string, RunRecord*> first, second;
  for (auto& r : runs) {
    if (!is_finished(r) || !examples.count(r.id)) continue;
    if (matches(r, a.filter)) first.emplace(pair_key(r, keys), &r);
    else if (matches(r, b.filter)) second.emplace(pair_key(r, keys), &r);
  }
  int pairs = 0;
  for (auto& [key, ra] : first) {
    const auto it = second.find(key);
    if (it == second.end()) continue;
    RunRecord* rb = it->second;
    const auto sa = scores_of(examples.at(ra->id), group), sb = scores_of(examples.at(rb->id), group);
    double sum_a = 0, sum_b = 0;
    int64_t n = 0;
    for (const auto& [index, score_a] : sa) {
      const auto other = sb.find(index);
      if (other == sb.end() || score_a >= threshold || other->second >= threshold) continue;
      sum_a += score_a, sum_b += other->second, ++n;
    }
    const std::string metric = prefix + "." + (group.empty() ? std::string("all") : group);
    ra->metrics[metric + ".n"] = rb->metrics[metric + ".n"] = static_cast<double>(n);
    ra->metrics[metric + ".score"] = n ? sum_a / static_cast<double>(n) : NAN;
    rb->metrics[metric + ".score"] = n ? sum_b / static_cast<double>(n) : NAN;
    ++pairs;
  }
  return pairs;
}

}  // namespace dist2::report
