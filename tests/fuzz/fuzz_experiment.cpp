// Fuzz target: experiment files (Experiment::load on the input as a file, with
// each of its profiles) and run configs (Config::from_yaml_string). Any input
// must either load or raise dist2::Error; a loaded one must round-trip.
#include <cstdint>
#include <string>
#include <vector>

#include "dist2/config/config.h"
#include "dist2/config/experiment.h"
#include "dist2/util/error.h"
#include "tests/fuzz/fuzz_support.h"

using namespace dist2;

namespace {

// Loads the file with `profile` and checks its trials; returns its profiles.
std::vector<std::string> check_experiment(const std::string& path, const std::string& profile) {
  try {
    const auto exp = config::Experiment::load(path, profile, {}, fuzz::schema_for);
    // A grid can name millions of trials in a few bytes; expanding them is not the parser's work.
    if (exp.trial_count() <= 256)
      for (const auto& point : exp.trial_points()) {
        const auto back = config::Config::from_yaml_string(point.config.to_yaml(), exp.schema());
        if (back.hash() != point.config.hash()) std::abort();  // a resolved config must round-trip
      }
    return exp.profiles();
  } catch (const Error&) {
    return {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = config::Config::from_yaml_string(text, fuzz::schema_for("regression"), "fuzz.yaml");
    const auto back = config::Config::from_yaml_string(cfg.to_yaml(), fuzz::schema_for("regression"));
    if (back != cfg) std::abort();
  } catch (const Error&) {
  }
  const std::string path = fuzz::scratch_file(data, size, ".yaml");
  for (const auto& profile : check_experiment(path, ""))
    if (profile != "default") check_experiment(path, profile);
  return 0;
}
