#pragma once
// The typed config schema: every key a config may hold, with its type, default,
// valid range or choices and a help line. Values read from YAML or the command line
// are parsed and checked against it; unknown keys get a "did you mean" suggestion.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dist2/config/value.h"

namespace dist2::config {

struct KeySpec {
  std::string key;  // dotted, e.g. "loss.alpha"
  Type type = Type::String;
  Value default_value;
  std::optional<double> min, max;  // numeric keys only; min is exclusive when min_exclusive
  bool min_exclusive = false;
  std::vector<std::string> choices;  // when non-empty, the value's canonical text must be one
  std::string help;
  // Part of the run's identity (the config hash). Where a run computes (its
  // device) is not: the same trial on another device is the same trial.
  bool hashed = true;
};

class Schema {
 public:
  // Adds one key. Throws dist2::Error on a duplicate or malformed key, a key that is
  // also the prefix of another ("loss" beside "loss.kind"), a key under the reserved
  // "sweep." prefix, or a default that fails its own type, range or choices.
  void add(KeySpec spec);
  Schema& add_int(const std::string& key, int64_t default_value, std::optional<double> min = {},
                  std::optional<double> max = {}, const std::string& help = "");
  Schema& add_float(const std::string& key, double default_value, std::optional<double> min = {},
                    std::optional<double> max = {}, const std::string& help = "",
                    bool min_exclusive = false);
  Schema& add_bool(const std::string& key, bool default_value, const std::string& help = "");
  Schema& add_string(const std::string& key, const std::string& default_value,
                     std::vector<std::string> choices = {}, const std::string& help = "");

  // Leaves `key` (already added) out of the config hash.
  Schema& not_hashed(const std::string& key);

  // Adds every key of `other`; a key both define takes other's spec (so a task
  // adapter can change a pipeline default).
  void merge(const Schema& other);

  const KeySpec* find(const std::string& key) const;
  // The spec, or dist2::Error "unknown key 'x' (did you mean 'y'?)".
  const KeySpec& require(const std::string& key) const;
  // Keys in the order they were added.
  std::vector<std::string> keys() const;
  size_t size() const { return specs_.size(); }
  bool empty() const { return specs_.empty(); }

  // The key closest to `key` by edit distance (over the whole dotted key, and over
  // the last components alone so "alpha" finds "loss.alpha"); "" when none is close.
  std::string nearest(const std::string& key) const;
  // "unknown key 'x' (did you mean 'y'?)", or the known top-level groups when
  // nothing is close.
  std::string unknown_key_message(const std::string& key) const;

 private:
  void check_new_key(const std::string& key) const;
  std::vector<KeySpec> specs_;
  std::map<std::string, size_t> index_;
};

// Parses the text of a YAML scalar as a value of spec's type and checks it:
// "loss.alpha must be a number, got 'abc'", "loss.alpha must be >= 0, got -1",
// "loss.kind must be one of sft, vocab, dist; got 'dst' (did you mean 'dist'?)".
Value parse_value(const KeySpec& spec, const std::string& text);
// Checks a typed value against spec (an integer is accepted for a Float key and
// returned as a double); the same messages as parse_value.
Value check_value(const KeySpec& spec, const Value& value);
// Dot-separated names of letters, digits, '_' and '-' (not leading): "loss.alpha".
bool is_valid_key(const std::string& key);
// "an integer", "a number", "true or false", "a string".
std::string expected_kind(Type type);

// Levenshtein distance, and the candidate nearest to `word` ("" when none is within
// about a third of its length; ties go to the earlier candidate).
size_t edit_distance(const std::string& a, const std::string& b);
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace dist2::config
