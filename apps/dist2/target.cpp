// dist2 target: print the soft target p_d = softmax(-d / tau) a metric and tau give.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "commands.h"
#include "dist2/loss/metric.h"
#include "dist2/loss/soft_target.h"
#include "dist2/tokenizer/tokenizer.h"
#include "dist2/util/error.h"
#include "dist2/util/json.h"

namespace dist2::cli {

namespace {

struct TargetOptions {
  std::string metric = "sq";
  std::string range = "0:9";
  std::string tokenizer;
  std::string table_file;
  double target = 5;
  std::optional<double> tau, sigma, entropy;
  uint64_t seed = 0;
  bool json = false;
};

// "lo:hi" -> the integers lo..hi.
std::vector<double> parse_range(const std::string& s) {
  const auto colon = s.find(':');
  DIST2_CHECK(colon != std::string::npos, "--range must look like LO:HI (e.g. 0:9), got '{}'", s);
  long long lo = 0, hi = 0;
  try {
    size_t a = 0, b = 0;
    lo = std::stoll(s.substr(0, colon), &a);
    hi = std::stoll(s.substr(colon + 1), &b);
    DIST2_CHECK(a == colon && b == s.size() - colon - 1, "--range must look like LO:HI, got '{}'", s);
  } catch (const std::logic_error&) {
    throw Error(fmt::format("--range must look like LO:HI with integers, got '{}'", s));
  }
  DIST2_CHECK(lo <= hi && hi - lo < 100000, "--range needs LO <= HI and at most 100000 values, got '{}'", s);
  std::vector<double> v;
  for (long long x = lo; x <= hi; ++x) v.push_back(static_cast<double>(x));
  return v;
}

MetricSpace build_metric(const TargetOptions& o, const std::vector<double>& values) {
  std::vector<int64_t> ids(values.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  const MetricKind kind = parse_metric_kind(o.metric);
  switch (kind) {
    case MetricKind::squared:
    case MetricKind::absolute: return MetricSpace::scalar(ids, values, kind);
    case MetricKind::random: return MetricSpace::random(ids, values, o.seed);
    case MetricKind::permuted: return MetricSpace::permuted(ids, values, o.seed);
    case MetricKind::table:
      DIST2_CHECK(!o.table_file.empty(), "--metric table needs --table FILE");
      return MetricSpace::table_from_file(ids, o.table_file);
    default:
      throw Error(fmt::format("'dist2 target' shows scalar metrics (sq, abs, permuted, random, table), not '{}'", o.metric));
  }
}

void run_target(const TargetOptions& o) {
  const std::vector<double> values =
      o.tokenizer.empty() ? parse_range(o.range) : Tokenizer(parse_number_split(o.tokenizer)).number_token_values();
  const MetricSpace metric = build_metric(o, values);
  int64_t target_index = -1;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] == o.target) target_index = static_cast<int64_t>(i);
  DIST2_CHECK(target_index >= 0, "--target {} is not one of the values {}..{}", o.target, values.front(),
              values.back());

  double tau = 2.0;
  std::string tau_from = "default";
  if (o.tau) tau = *o.tau, tau_from = "--tau";
  if (o.sigma) {
    DIST2_CHECK(*o.sigma > 0 && std::isfinite(*o.sigma), "--sigma must be > 0, got {}", *o.sigma);
    tau = tau_from_sigma(*o.sigma), tau_from = "--sigma";
  }
  if (o.entropy) tau = tau_for_entropy(metric, *o.entropy), tau_from = "--entropy";
  auto probs_t = soft_target(metric, torch::tensor({target_index}), tau)[0].contiguous();
  std::vector<double> probs(probs_t.data_ptr<double>(), probs_t.data_ptr<double>() + probs_t.numel());
  double h = 0;
  for (double p : probs) h -= p > 0 ? p * std::log(p) : 0.0;

  if (o.json) {
    json::Json j;
    j["metric"] = to_string(metric.kind());
    j["tau"] = tau;
    j["sigma"] = sigma_from_tau(tau);
    j["tau_from"] = tau_from;
    j["target"] = o.target;
    j["entropy"] = h;
    j["values"] = values;
    j["probs"] = probs;
    fmt::print("{}\n", json::dump(j));
    return;
  }
  fmt::print("soft target  metric={}  tau={:.6g} (sigma={:.6g}, from {})  target={}  entropy={:.4f} nats\n",
             to_string(metric.kind()), tau, sigma_from_tau(tau), tau_from, o.target, h);
  double pmax = 0;
  for (double p : probs) pmax = std::max(pmax, p);
  const bool long_list = values.size() > 40;
  for (size_t i = 0; i < values.size(); ++i) {
    if (long_list && probs[i] < 1e-4 * pmax) continue;  // keep long vocabularies readable
    const int bar = static_cast<int>(std::lround(40.0 * probs[i] / pmax));
    fmt::print("{:>8g}  {:.6f}  {}\n", values[i], probs[i], std::string(static_cast<size_t>(bar), '#'));
  }
  if (long_list) fmt::print("(values with p < 1e-4 x max omitted)\n");
}

}  // namespace

void setup_target(CLI::App& app) {
  auto opt = std::make_shared<TargetOptions>();
  auto* cmd = app.add_subcommand("target", "Print the soft target p_d = softmax(-d(v, x) / tau) for a metric");
  cmd->add_option("--metric", opt->metric, "Distance: sq, abs, permuted (sq over permuted values), random (seeded uniform table), table (from --table)")
      ->capture_default_str();
  cmd->add_option("--range", opt->range, "Integer values LO:HI of the sub-vocabulary")->capture_default_str();
  cmd->add_option("--tokenizer", opt->tokenizer, "Take the values from a tokenizer's number tokens instead")
      ->check(CLI::IsMember({"digits", "chunk3"}));
  cmd->add_option("--table", opt->table_file, "M x M distance table file for --metric table")
      ->check(CLI::ExistingFile);
  cmd->add_option("--target", opt->target, "The target value x")->required();
  auto* tau = cmd->add_option("--tau", opt->tau, "Temperature tau (default 2, i.e. sigma = 1)");
  auto* sigma = cmd->add_option("--sigma", opt->sigma, "Gaussian width sigma instead of tau (tau = 2 sigma^2)");
  auto* ent = cmd->add_option("--entropy", opt->entropy, "Solve tau so the mean target entropy is H nats");
  tau->excludes(sigma)->excludes(ent);
  sigma->excludes(ent);
  cmd->add_option("--seed", opt->seed, "Seed of --metric permuted or random")->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print one JSON object with keys values and probs");
  cmd->callback([opt] { run_target(*opt); });
}

}  // namespace dist2::cli
