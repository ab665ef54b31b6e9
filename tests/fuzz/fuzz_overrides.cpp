// Fuzz target: command-line overrides. Each input line is one argument; they are
// parsed (parse_overrides), checked against the schema, and applied on top of a
// small experiment file. Any input must either apply or raise dist2::Error.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "dist2/config/experiment.h"
#include "dist2/config/overrides.h"
#include "dist2/util/error.h"
#include "tests/fuzz/fuzz_support.h"

using namespace dist2;

namespace {

const char* const kExperiment =
    "experiment: fuzz\n"
    "config: {seed: 1, loss: {kind: dist, alpha: 0.1}}\n"
    "sweep: {loss.kind: [sft, dist], seed: [1, 2]}\n"
    "profiles: {smoke: {train.steps: 8, sweep: {seed: [1]}}}\n";

const std::string& experiment_file() {
  static const std::string path = [] {
    const std::string text = kExperiment;
    return fuzz::scratch_file(reinterpret_cast<const uint8_t*>(text.data()), text.size(), "-base.yaml");
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  for (std::string line; std::getline(in, line);) args.push_back(line);
  try {
    const auto overrides = config::parse_overrides(args);
    for (const auto& o : overrides)
      if (config::override_text(o).find('=') == std::string::npos) std::abort();
    const auto exp = config::Experiment::load(experiment_file(), "smoke", overrides, fuzz::schema_for);
    if (exp.trial_count() <= 256) exp.trial_points();
  } catch (const Error&) {
  }
  return 0;
}
