#include "dist2/tasks/numbers.h"

#include <cctype>
#include <cmath>

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
