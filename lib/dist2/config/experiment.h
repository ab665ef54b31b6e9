#pragma once
// An experiment file: one YAML per paper table, with a base config, a sweep grid and
// named profiles, resolved against the task's schema with command-line overrides.
//
//   experiment: table11_regression
//   report: table11                 # or a list
//   description: free text
//   config:   {task: {name: regression}, loss: {alpha: 0.1}, seed: 1}
//   sweep:    {loss.kind: [sft, dist], seed: [1, 2, 3]}
//   profiles: {smoke: {train.steps: 20, sweep: {seed: [1]}}, default: {}}
//
// Precedence: schema defaults < config: < the profile < command-line overrides.
// Within each of the three layers, plain values are applied first and then sweep
// entries, so a key both set and swept in one layer is swept (config: seed: 1 with
// sweep: seed: [1..5] sweeps the seed). A higher layer's plain value of a swept key
// removes it from the grid (fixes it); its sweep entry replaces the grid entry in
// place, or appends one. The profile "default" always exists (empty unless given).
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dist2/config/config.h"
#include "dist2/config/overrides.h"
#include "dist2/config/schema.h"

namespace dist2::config {

// The schema for a task: the pipeline's keys merged with the task adapter's.
// Called with "" when no task.name is given anywhere (and then once more with
// the returned schema's default task.name, when it has one).
using SchemaProvider = std::function<Schema(const std::string& task_name)>;

// Sweep keys and their values, in file order (first key outermost).
using Grid = std::vector<std::pair<std::string, std::vector<Value>>>;

// A named set of settings applied on top of the base config (e.g. the rows of an
// ablation table that differ in several keys at once); trials cross variants
// with the grid.
//   variants: {dist: {}, no_place_value: {loss.place_weighting: false}}
struct Variant {
  std::string name;
  std::vector<std::pair<std::string, Value>> settings;
};

// One trial: its variant (or ""), the settings that make it (variant then grid
// values), and its resolved config.
struct TrialPoint {
  std::string variant;
  std::vector<std::pair<std::string, Value>> settings;
  Config config;
};

class Experiment {
 public:
  // Reads and validates the file. `profile` "" means "default". Every error is a
  // dist2::Error naming the file:line:col (or the override) and the culprit.
  static Experiment load(const std::string& path, const std::string& profile,
                         const std::vector<Override>& overrides, const SchemaProvider& schema_for);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& reports() const { return reports_; }
  const std::string& description() const { return description_; }
  const std::string& path() const { return path_; }
  const std::string& profile() const { return profile_; }
  // Profiles in file order, "default" last when the file does not list it.
  const std::vector<std::string>& profiles() const { return profiles_; }
  const std::vector<Override>& overrides() const { return overrides_; }
  const Schema& schema() const { return *schema_; }

  // The resolved config before the grid is applied.
  const Config& base() const { return base_; }
  const Grid& grid() const { return grid_; }
  const std::vector<Variant>& variants() const { return variants_; }
  // Variants (at least one) times the product of the grid's list sizes.
  size_t trial_count() const;
  // Every trial: the grid (first key outermost), each grid point crossed with the variants.
  std::vector<TrialPoint> trial_points() const;
  // base() with each grid point applied: the cartesian product in grid order, first
  // key outermost (its value changes slowest).
  std::vector<Config> trials() const;

 private:
  std::string path_, name_, description_, profile_;
  std::vector<std::string> reports_, profiles_;
  std::vector<Override> overrides_;
  std::shared_ptr<const Schema> schema_;
  Config base_;
  Grid grid_;
  std::vector<Variant> variants_;
};

}  // namespace dist2::config
