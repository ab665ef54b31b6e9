// Every trial's config hash, of every experiment file at every profile, against
// the list committed in tests/data/config_hashes.tsv. A run is found again by its
// hash (a sweep resumes, a report pairs runs), so a refactor must not move one.
// A change that means to (a new key, a new default) regenerates the list:
//   DIST2_UPDATE_HASHES=1 build/dist2_tests "[hashes]"
// and the diff shows which trials it moved.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dist2/config/experiment.h"
#include "dist2/train/schema.h"

using namespace dist2;

namespace {

const std::string kSource = DIST2_SOURCE_DIR;

// "experiment<TAB>profile<TAB>variant<TAB>settings<TAB>hash", one line a trial, in file and trial order.
std::string current_hashes() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(kSource + "/experiments"))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::ostringstream out;
  for (const auto& file : files) {
    const auto any = config::Experiment::load(file.string(), "", {}, experiment_schema);
    for (const std::string& profile : any.profiles()) {
      const auto exp = config::Experiment::load(file.string(), profile, {}, experiment_schema);
      for (const auto& t : exp.trial_points()) {
        std::string settings;
        for (const auto& [key, value] : t.settings) settings += (settings.empty() ? "" : " ") + key + "=" + config::format_value(value);
        out << exp.name() << '\t' << profile << '\t' << (t.variant.empty() ? "-" : t.variant) << '\t'
            << (settings.empty() ? "-" : settings) << '\t' << t.config.hash() << '\n';
      }
    }
  }
  return out.str();
}

}  // namespace

TEST_CASE("every trial's config hash is the committed one", "[config][hashes]") {
  const std::string path = kSource + "/tests/data/config_hashes.tsv";
  const std::string now = current_hashes();
  if (const char* update = std::getenv("DIST2_UPDATE_HASHES"); update && std::string(update) == "1") {
    std::ofstream(path) << now;
    WARN("rewrote " << path);
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream committed;
  committed << in.rdbuf();
  // Line by line, so a failure names the trials that moved.
  std::istringstream a(committed.str()), b(now);
  std::string want, got;
  int line = 0;
  while (std::getline(a, want)) {
    ++line;
    INFO("line " << line);
    REQUIRE(std::getline(b, got));
    CHECK(got == want);
  }
  CHECK_FALSE(std::getline(b, got));  // no trial beyond the list
  CHECK(line > 100);
}
