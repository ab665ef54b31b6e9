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

// The expected value of an integer in [lo, hi] written right after each prefix:
// sum of v p(v) over the valid values, renormalised by their total mass, where
// p(v) is the product of q over V_d at each of v's tokens. This is the paper's
// sum of s p(s) for a score written in several tokens: 10 E[tens] + E[units]
// would count tens digits that never occur and take the units of one tens digit
// only. Under digits v is written zero-padded to hi's width ("07" for 0-20),
// under chunk3 as its base-1000 chunks (0-20: one token each). NaN when the
// valid values have no mass. The model is asked once per distinct token prefix.
std::vector<double> expected_in_range(Predictor& model, const std::vector<Prompt>& prefixes, int64_t lo, int64_t hi);
// The same distribution itself: per prefix, p(v) for v = lo..hi renormalised over
// the valid values (all NaN when they have no mass).
std::vector<std::vector<double>> distribution_in_range(Predictor& model, const std::vector<Prompt>& prefixes,
                                                       int64_t lo, int64_t hi);
// The mean of a distribution over lo, lo + 1, ... and its entropy in nats.
double mean_over_range(const std::vector<double>& p, int64_t lo);
double entropy_nats(const std::vector<double>& p);

struct ErrorStats {
  double mae = 0, rmse = 0, parse_failure_rate = 0, exact_match = 0;
  int64_t n = 0, parsed = 0;
};
// MAE and RMSE over the predictions that parsed; failures are counted as a rate.
ErrorStats error_stats(const std::vector<std::optional<double>>& predicted, const std::vector<double>& truth);

}  // namespace dist2
