#include "dist2/tasks/numbers.h"

#include <cctype>
#include <cmath>
#include <map>

#include "dist2/util/error.h"

namespace dist2 {

std::optional<double> parse_first_number(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) continue;
    size_t start = i;
    if (i > 0 && text[i - 1] == '-') start = i - 1;
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j + 1 < text.size() && text[j] == '.' && std::isdigit(static_cast<unsigned char>(text[j + 1]))) {
      ++j;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    }
    return std::stod(text.substr(start, j - start));
  }
  return std::nullopt;
}

std::optional<double> expected_number(const Predictor::Generation& gen, const Tokenizer& tok) {
  const double base = tok.split() == NumberSplit::digits ? 10.0 : 1000.0;
  const auto& ids = gen.ids;
  size_t i = 0;
  while (i < ids.size() && !tok.is_number_token(ids[i])) ++i;
  if (i == ids.size()) return std::nullopt;
  std::vector<double> int_part, frac_part;
  for (; i < ids.size() && tok.is_number_token(ids[i]); ++i) int_part.push_back(gen.expected.at(i));
  if (i + 1 < ids.size() && tok.token_text(ids[i]) == "." && tok.is_number_token(ids[i + 1]))
    for (++i; i < ids.size() && tok.is_number_token(ids[i]); ++i) frac_part.push_back(gen.expected.at(i));
  double value = 0, scale = 1;
  for (auto it = int_part.rbegin(); it != int_part.rend(); ++it, scale *= base) value += *it * scale;
  scale = 1 / base;
  for (double e : frac_part) value += e * scale, scale /= base;
  return value;
}

std::vector<double> expected_integers(const Predictor::Generation& gen, const Tokenizer& tok) {
  const double base = tok.split() == NumberSplit::digits ? 10.0 : 1000.0;
  std::vector<double> out;
  bool in_number = false;
  for (size_t i = 0; i < gen.ids.size(); ++i) {
    if (!tok.is_number_token(gen.ids[i])) {
      in_number = false;
      continue;
    }
    if (!in_number) out.push_back(0.0);
    out.back() = out.back() * base + gen.expected.at(i);
    in_number = true;
  }
  return out;
}

namespace {

// How v is written as a value in [lo, hi]: zero-padded to hi's width under digits.
std::string written_in_range(int64_t v, int64_t hi, const Tokenizer& tok) {
  const std::string plain = std::to_string(v);
  if (tok.split() != NumberSplit::digits) return plain;
  const size_t width = std::to_string(hi).size();
  return std::string(width - plain.size(), '0') + plain;
}

}  // namespace

std::vector<std::vector<double>> distribution_in_range(Predictor& model, const std::vector<Prompt>& prefixes,
                                                       int64_t lo, int64_t hi) {
  DIST2_CHECK(0 <= lo && lo <= hi, "distribution_in_range needs 0 <= lo <= hi, got [{}, {}]", lo, hi);
  if (prefixes.empty()) return {};
  const Tokenizer& tok = model.tokenizer();
  std::map<int64_t, size_t> column;  // number token id -> column of next_number_probs
  for (size_t c = 0; c < tok.number_token_ids().size(); ++c) column[tok.number_token_ids()[c]] = c;
  // Each value as its steps: (which distinct proper prefix the model is asked after,
  // which column of q its next token is), found once for every prompt.
  struct Step {
    size_t prefix, column;
  };
  std::vector<std::vector<Step>> steps_of;
  std::map<std::string, size_t> prefix_index;
  std::vector<std::string> prefix_texts;
  for (int64_t v = lo; v <= hi; ++v) {
    const auto ids = tok.encode_ids(written_in_range(v, hi, tok));
    std::vector<Step> steps;
    for (size_t k = 0; k < ids.size(); ++k) {
      DIST2_CHECK(column.count(ids[k]), "{} is not written in number tokens alone", v);
      const std::string text = tok.decode({ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k)});
      const auto [it, added] = prefix_index.emplace(text, prefix_texts.size());
      if (added) prefix_texts.push_back(text);
      steps.push_back({it->second, column.at(ids[k])});
    }
    steps_of.push_back(std::move(steps));
  }
  std::vector<Prompt> asks;
  for (const Prompt& p : prefixes)
    for (const std::string& t : prefix_texts) asks.push_back({p.text + t, p.images});
  const auto q = model.next_number_probs(asks);
  DIST2_CHECK(q.size() == asks.size(), "{} distributions for {} prompts", q.size(), asks.size());
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    std::vector<double> p;
    double mass = 0;
    for (int64_t v = lo; v <= hi; ++v) {
      double pv = 1;
      for (const Step& s : steps_of[static_cast<size_t>(v - lo)]) pv *= q[i * prefix_texts.size() + s.prefix].at(s.column);
      p.push_back(pv), mass += pv;
    }
    for (double& pv : p) pv = mass > 0 ? pv / mass : NAN;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<double> expected_in_range(Predictor& model, const std::vector<Prompt>& prefixes, int64_t lo, int64_t hi) {
  std::vector<double> out;
  for (const auto& p : distribution_in_range(model, prefixes, lo, hi)) out.push_back(mean_over_range(p, lo));
  return out;
}

double mean_over_range(const std::vector<double>& p, int64_t lo) {
  double sum = 0;
  for (size_t k = 0; k < p.size(); ++k) sum += p[k] * static_cast<double>(lo + static_cast<int64_t>(k));
  return p.empty() ? NAN : sum;  // NaN probabilities give NaN
}

double entropy_nats(const std::vector<double>& p) {
  double h = 0;
  for (double pv : p) h -= pv > 0 ? pv * std::log(pv) : (std::isnan(pv) ? NAN : 0.0);
  return p.empty() ? NAN : h;
}

ErrorStats error_stats(const std::vector<std::optional<double>>& predicted, const std::vector<double>& truth) {
  DIST2_CHECK(predicted.size() == truth.size(), "{} predictions for {} targets", predicted.size(), truth.size());
  ErrorStats s;
  s.n = static_cast<int64_t>(truth.size());
  double abs_sum = 0, sq_sum = 0;
  int64_t exact = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (!predicted[i]) continue;
    const double e = *predicted[i] - truth[i];
    abs_sum += std::abs(e), sq_sum += e * e;
    exact += std::abs(e) < 1e-9;
    ++s.parsed;
  }
  if (s.parsed > 0) s.mae = abs_sum / s.parsed, s.rmse = std::sqrt(sq_sum / s.parsed);
  else s.mae = s.rmse = NAN;
  if (s.n > 0) {
    s.parse_failure_rate = 1.0 - static_cast<double>(s.parsed) / s.n;
    s.exact_match = static_cast<double>(exact) / s.n;
  }
  return s;
}

}  // namespace dist2
