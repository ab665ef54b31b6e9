#pragma once
// Command-line overrides, `key=value` (Hydra / torchtune style): `loss.alpha=0.1`,
// `train.use_x=true`, `sweep.seed=[1,2,3]` (a list replaces a sweep entry).
#include <string>
#include <vector>

namespace dist2::config {

struct Override {
  std::string key;         // dotted; "sweep.<key>" for a sweep entry
  std::string value_text;  // as typed; parsed against the schema when applied
};

// Splits each argument at its first '='. dist2::Error when one has no '=' or a
// malformed key: "override 'loss.alpha': expected key=value, e.g. loss.alpha=0.1".
std::vector<Override> parse_overrides(const std::vector<std::string>& args);

// "key=value": how an override is named in messages and stored with a run.
std::string override_text(const Override& o);

}  // namespace dist2::config
