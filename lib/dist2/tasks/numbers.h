#pragma once
// Reading numbers back out of generated text, and the error metrics on them.
#include <optional>
#include <string>
#include <vector>

#include "dist2/tasks/task.h"

namespace dist2 {

// The first number in text ("-0.25", "12", "3.5e2" is read as 3.5), if any.
std::optional<double> parse_first_number(const std::string& text);

// Expected-value decoding of the first number in a generation: each number
// token contributes E_q[v] (the sum of v q(v) over V_d at its step) times its
// place value (10^k for digits, 1000^k for chunk3), so 0.372 with digit
// expectations (0.1, 3.2, 7.0, 2.4) reads 0.1 + 0.32 + 0.070 + 0.0024.
std::optional<double> expected_number(const Predictor::Generation& gen, const Tokenizer& tok);

// Expected values of every integer in a generation, in order: each run of number
// tokens is one integer, sum over its tokens of E_q[v] times base^place (the
// paper's reward, sum of s p(s), read as digit pairs under digits and as one
// token 0-999 under chunk3).
std::vector<double> expected_integers(const Predictor::Generation& gen, const Tokenizer& tok);

struct ErrorStats {
  double mae = 0, rmse = 0, parse_failure_rate = 0, exact_match = 0;
  int64_t n = 0, parsed = 0;
};
// MAE and RMSE over the predictions that parsed; failures are counted as a rate.
ErrorStats error_stats(const std::vector<std::optional<double>>& predicted, const std::vector<double>& truth);

}  // namespace dist2
