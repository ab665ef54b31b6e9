#include "dist2/tasks/text/task.h"

#include <algorithm>
#include <fstream>
#include <random>

#include "dist2/tasks/numbers.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"

namespace dist2 {

std::string fill_template(const std::string& tmpl, const std::vector<std::string>& header,
                          const std::vector<std::string>& row) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '{') {
      out += tmpl[i];
      continue;
    }
    const size_t close = tmpl.find('}', i);
    DIST2_CHECK(close != std::string::npos, "prompt template '{}' has an unclosed '{{'", tmpl);
    const std::string col = tmpl.substr(i + 1, close - i - 1);
    auto it = std::find(header.begin(), header.end(), col);
    DIST2_CHECK(it != header.end(), "prompt template names column '{}', which the CSV header does not have", col);
    out += row.at(static_cast<size_t>(it - header.begin()));
    i = close;
  }
  return out;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<Example> read_jsonl(std::ifstream& in, const std::string& path) {
  std::vector<Example> out;
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto v = json::parse(line);
      DIST2_CHECK(v.is_object(), "expected a JSON object");
      json::reading([&] {
        out.push_back({json::text(v.at("prompt"), "prompt"), json::text(v.at("completion"), "completion"), {}, "", {}});
      });
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: {}", path, no, e.what()));
    }
  }
  return out;
}

std::vector<Example> read_csv(std::ifstream& in, const std::string& path, const std::string& tmpl,
                              const std::string& target) {
  std::string line;
  DIST2_CHECK(std::getline(in, line), "{}: empty CSV file (a header line is needed)", path);
  const auto header = parse_csv_line(line);
  auto t = std::find(header.begin(), header.end(), target);
  DIST2_CHECK(!target.empty() && t != header.end(), "{}: task.target_column '{}' is not a column of the header", path,
              target);
  DIST2_CHECK(!tmpl.empty(), "{}: a CSV needs task.template, e.g. 'x={{x}} ->'", path);
  std::vector<Example> out;
  for (int64_t no = 2; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const auto row = parse_csv_line(line);
      DIST2_CHECK(row.size() == header.size(), "{} fields where the header has {}", row.size(), header.size());
      out.push_back({fill_template(tmpl, header, row), row[static_cast<size_t>(t - header.begin())], {}, "", {}});
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: {}", path, no, e.what()));
    }
  }
  return out;
}

}  // namespace

std::vector<Example> read_text_examples(const std::string& path, const std::string& format,
                                        const std::string& tmpl, const std::string& target) {
  std::ifstream in(path);
  DIST2_CHECK(in.good(), "cannot read data file '{}'", path);
  const bool csv = format == "csv" || (format == "auto" && ends_with(path, ".csv"));
  auto out = csv ? read_csv(in, path, tmpl, target) : read_jsonl(in, path);
  DIST2_CHECK(!out.empty(), "{}: no examples", path);
  return out;
}

config::Schema TextTask::schema() const {
  config::Schema s;
  s.add_string("task.path", "", {}, "training data: JSONL {prompt, completion} or CSV");
  s.add_string("task.test_path", "", {}, "test data (same format); empty = split task.path by task.test_fraction");
  s.add_string("task.format", "auto", {"auto", "jsonl", "csv"}, "data format");
  s.add_string("task.template", "", {}, "CSV prompt template over columns, e.g. 'age={age} bmi={bmi} ->'");
  s.add_string("task.target_column", "", {}, "CSV column that is the completion");
  s.add_float("task.test_fraction", 0.2, 0.0, 1.0, "share of task.path held out as test when no test_path", true);
  s.add_int("task.max_new_tokens", 16, 1, {}, "tokens generated per completion at evaluation");
  return s;
}

int64_t TextTask::max_new_tokens(const config::Config& cfg) const { return cfg.get_int("task.max_new_tokens"); }

Dataset TextTask::generate(const config::Config& cfg) const {
  const std::string path = cfg.get_string("task.path");
  DIST2_CHECK(!path.empty(), "the text task needs task.path=FILE (JSONL or CSV)");
  const auto fmt_ = cfg.get_string("task.format"), tmpl = cfg.get_string("task.template"),
             target = cfg.get_string("task.target_column");
  Dataset d;
  d.train = read_text_examples(path, fmt_, tmpl, target);
  const std::string test_path = cfg.get_string("task.test_path");
  if (!test_path.empty()) {
    d.test = read_text_examples(test_path, fmt_, tmpl, target);
    return d;
  }
  // A seeded split: shuffle, then hold out the first test_fraction.
  std::mt19937_64 rng(static_cast<uint64_t>(cfg.get_int("seed")));
  std::shuffle(d.train.begin(), d.train.end(), rng);
  const auto n_test = std::max<size_t>(1, static_cast<size_t>(cfg.get_double("task.test_fraction") * d.train.size()));
  DIST2_CHECK(n_test < d.train.size(), "{}: {} examples are too few to hold out {} for test", path, d.train.size(),
              n_test);
  d.test.assign(d.train.begin(), d.train.begin() + static_cast<std::ptrdiff_t>(n_test));
  d.train.erase(d.train.begin(), d.train.begin() + static_cast<std::ptrdiff_t>(n_test));
  return d;
}

namespace {
std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

std::map<std::string, double> TextTask::evaluate(const config::Config& cfg, const Dataset& data,
                                                 Predictor& model) const {
  std::vector<std::string> prompts;
  for (const auto& e : data.test) prompts.push_back(e.prompt);
  const auto gens = model.generate(prompts, max_new_tokens(cfg));
  int64_t exact = 0;
  std::vector<std::optional<double>> pred;
  std::vector<double> truth;
  for (size_t i = 0; i < gens.size(); ++i) {
    exact += trim(gens[i].text) == trim(data.test[i].completion);
    if (auto y = parse_first_number(data.test[i].completion)) {
      truth.push_back(*y);
      const Prediction p = parse(cfg, gens[i], model.tokenizer());
      pred.push_back(p.parsed ? std::optional<double>(p.numbers[0]) : std::nullopt);
    }
  }
  std::map<std::string, double> m{{"exact_match", static_cast<double>(exact) / std::max<size_t>(1, gens.size())}};
  if (!truth.empty()) {
    const ErrorStats s = error_stats(pred, truth);
    m["mae"] = s.mae, m["rmse"] = s.rmse, m["parse_failure_rate"] = s.parse_failure_rate;
  }
  return m;
}

std::map<std::string, double> TextTask::reference_metrics(const config::Config&, const Dataset& data) const {
  // Constant predictor: the mean of the numeric training completions.
  double sum = 0;
  int64_t n = 0;
  for (const auto& e : data.train)
    if (auto y = parse_first_number(e.completion)) sum += *y, ++n;
  if (n == 0) return {};
  std::vector<std::optional<double>> pred;
  std::vector<double> truth;
  for (const auto& e : data.test)
    if (auto y = parse_first_number(e.completion)) truth.push_back(*y), pred.push_back(sum / n);
  if (truth.empty()) return {};
  const ErrorStats s = error_stats(pred, truth);
  return {{"ref.constant.mae", s.mae}, {"ref.constant.rmse", s.rmse}};
}

}  // namespace dist2
