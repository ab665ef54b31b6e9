#include "dist2/config/experiment.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "dist2/config/yaml_source.h"
#include "dist2/util/error.h"

namespace dist2::config {

namespace {

using detail::located;
using detail::Setting;

const std::vector<std::string> kTopLevelKeys = {"experiment", "report",  "description", "config",
                                                "sweep",      "variants", "profiles"};
const std::string kTaskNameKey = "task.name";
const std::string kDefaultProfile = "default";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// One precedence level: its plain values, then its sweep entries (keys without "sweep.").
struct Layer {
  std::vector<Setting> plain;
  std::vector<Setting> sweep;
};

Layer split_sweep_entries(std::vector<Setting> settings) {
  Layer layer;
  for (auto& s : settings) {
    DIST2_CHECK(s.key != "sweep", "{}: sweep must map keys to lists, e.g. sweep: {{seed: [1, 2]}}", s.key_where);
    if (starts_with(s.key, "sweep.")) {
      s.key = s.key.substr(6);
      layer.sweep.push_back(std::move(s));
    } else {
      layer.plain.push_back(std::move(s));
    }
  }
  return layer;
}

// The top-level entries of the file, by name, checked against kTopLevelKeys.
struct TopLevel {
  std::map<std::string, YAML::Node> values;
  std::map<std::string, std::string> key_where;
  bool has(const std::string& k) const { return values.count(k) && !values.at(k).IsNull(); }
};

TopLevel read_top_level(const YAML::Node& doc, const std::string& path) {
  DIST2_CHECK(doc.IsDefined() && !doc.IsNull(), "{}: the experiment file is empty; expected {}", path,
              fmt::join(kTopLevelKeys, ", "));
  DIST2_CHECK(doc.IsMap(), "{}: expected a mapping with the keys {}", yaml_location(path, doc.Mark()), fmt::join(kTopLevelKeys, ", "));
  TopLevel top;
  for (const auto& pair : doc) {
    std::string where = yaml_location(path, pair.first.Mark());
    std::string key = pair.first.IsScalar() ? pair.first.Scalar() : "";
    if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), key) == kTopLevelKeys.end()) {
      std::string hint = closest_match(key, kTopLevelKeys);
      throw Error(fmt::format("{}: unknown top-level key '{}' ({}valid: {})", where, key,
                              hint.empty() ? "" : fmt::format("did you mean '{}'? ", hint), fmt::join(kTopLevelKeys, ", ")));
    }
    DIST2_CHECK(!top.values.count(key), "{}: top-level key '{}' is given twice (first at {})", where, key,
                top.key_where[key]);
    top.values[key] = pair.second;
    top.key_where[key] = where;
  }
  return top;
}

// A mapping, or nothing (null): the config:, sweep: and profiles: blocks.
YAML::Node mapping_or_empty(const TopLevel& top, const std::string& key, const std::string& path,
                            const std::string& expected) {
  if (!top.has(key)) return YAML::Node(YAML::NodeType::Map);
  const YAML::Node& node = top.values.at(key);
  DIST2_CHECK(node.IsMap(), "{}: {}: must be {}", yaml_location(path, node.Mark()), key, expected);
  return node;
}

std::string read_name(const TopLevel& top, const std::string& path) {
  DIST2_CHECK(top.has("experiment"), "{}: missing 'experiment:' (the experiment's name)", path);
  const YAML::Node& node = top.values.at("experiment");
  DIST2_CHECK(node.IsScalar() && !node.Scalar().empty(), "{}: experiment: must be a name",
              yaml_location(path, node.Mark()));
  return node.Scalar();
}

std::vector<std::string> read_reports(const TopLevel& top, const std::string& path) {
  if (!top.has("report")) return {};
  const YAML::Node& node = top.values.at("report");
  if (node.IsScalar()) return {node.Scalar()};
  DIST2_CHECK(node.IsSequence(), "{}: report: must be a report name or a list of them", yaml_location(path, node.Mark()));
  std::vector<std::string> reports;
  for (const auto& item : node) {
    DIST2_CHECK(item.IsScalar(), "{}: report: each item must be a report name", yaml_location(path, item.Mark()));
    reports.push_back(item.Scalar());
  }
  return reports;
}

std::string read_description(const TopLevel& top, const std::string& path) {
  if (!top.has("description")) return "";
  const YAML::Node& node = top.values.at("description");
  DIST2_CHECK(node.IsScalar(), "{}: description: must be text", yaml_location(path, node.Mark()));
  return node.Scalar();
}

// Profile names in file order, and the chosen profile's settings.
struct Profiles {
  std::vector<std::string> names;
  Layer chosen;
};

Profiles read_profiles(const YAML::Node& block, const std::string& path, const std::string& wanted) {
  Profiles profiles;
  YAML::Node chosen;
  bool found = false;
  for (const auto& pair : block) {
    std::string where = yaml_location(path, pair.first.Mark());
    DIST2_CHECK(pair.first.IsScalar(), "{}: a profile name must be a plain name", where);
    const std::string name = pair.first.Scalar();
    const YAML::Node settings = pair.second;
    DIST2_CHECK(settings.IsNull() || settings.IsMap(), "{}: profile '{}' must map keys to values",
                yaml_location(path, settings.Mark()), name);
    profiles.names.push_back(name);
    if (name == wanted) chosen = settings, found = true;
  }
  if (std::find(profiles.names.begin(), profiles.names.end(), kDefaultProfile) == profiles.names.end())
    profiles.names.push_back(kDefaultProfile);
  if (!found && wanted != kDefaultProfile) {
    std::string hint = closest_match(wanted, profiles.names);
    throw Error(fmt::format("{}: unknown profile '{}' ({}profiles: {})", path, wanted,
                            hint.empty() ? "" : fmt::format("did you mean '{}'? ", hint), fmt::join(profiles.names, ", ")));
  }
  if (found && chosen.IsMap()) profiles.chosen = split_sweep_entries(detail::flatten(chosen, path));
  return profiles;
}

// An override as a setting: "[...]" is a YAML flow list, a quoted value is unquoted,
// anything else is the scalar text as typed (so "name=a: b" is the string "a: b").
Setting override_setting(const Override& o) {
  Setting s;
  s.key = o.key;
  s.key_where = s.value_where = fmt::format("override '{}'", override_text(o));
  s.list_hint = fmt::format(" (to sweep it, write sweep.{}=[...])", o.key);
  const std::string& text = o.value_text;
  if (text.empty() || (text[0] != '[' && text[0] != '"' && text[0] != '\'')) {
    s.text = text;
    return s;
  }
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(fmt::format("{}: malformed value: {}", s.value_where, e.msg));
  }
  if (node.IsScalar()) {
    s.text = node.Scalar();
  } else {
    DIST2_CHECK(node.IsSequence(), "{}: malformed value", s.value_where);
    s.kind = Setting::Kind::List;
    for (const auto& item : node) {
      DIST2_CHECK(item.IsScalar(), "{}: each list item must be a single value", s.value_where);
      s.items.push_back(item.Scalar());
      s.items_where.push_back(s.value_where);
    }
  }
  return s;
}

Layer override_layer(const std::vector<Override>& overrides) {
  std::vector<Setting> settings;
  for (const auto& o : overrides) settings.push_back(override_setting(o));
  return split_sweep_entries(std::move(settings));
}

// The task decides the schema, so task.name is read before anything is validated:
// the highest layer that sets it wins. It cannot be swept.
struct TaskName {
  std::string name, where;
  bool given = false;
};

TaskName find_task_name(const std::vector<const Layer*>& layers) {
  TaskName task;
  for (const Layer* layer : layers) {
    for (const auto& s : layer->sweep)
      DIST2_CHECK(s.key != kTaskNameKey,
                  "{}: {} cannot be swept: the task decides the config keys; write one experiment per task",
                  s.key_where, kTaskNameKey);
    for (const auto& s : layer->plain) {
      if (s.key != kTaskNameKey) continue;
      DIST2_CHECK(s.kind == Setting::Kind::Scalar, "{}: {} must be a single task name", s.value_where, kTaskNameKey);
      task = {s.text, s.value_where, true};
    }
  }
  return task;
}

std::shared_ptr<const Schema> schema_for_task(const SchemaProvider& schema_for, const TaskName& task,
                                              const std::string& path) {
  const std::string where = task.given ? task.where : path;
  Schema schema = located(where, [&] { return schema_for(task.name); });
  if (!task.given) {
    // No task named: use the schema's default task, if it has one.
    const KeySpec* spec = schema.find(kTaskNameKey);
    if (spec && spec->type == Type::String && !std::get<std::string>(spec->default_value).empty())
      schema = located(where, [&] { return schema_for(std::get<std::string>(spec->default_value)); });
  }
  return std::make_shared<const Schema>(std::move(schema));
}

void apply_layer(const Layer& layer, const Schema& schema, Config& base, Grid& grid) {
  for (const auto& s : layer.plain) {
    base.set(s.key, detail::resolve_single(schema, s));
    grid.erase(std::remove_if(grid.begin(), grid.end(), [&](const auto& entry) { return entry.first == s.key; }),
               grid.end());
  }
  for (const auto& s : layer.sweep) {
    std::vector<Value> values = detail::resolve_list(schema, s, s.key);
    auto entry = std::find_if(grid.begin(), grid.end(), [&](const auto& e) { return e.first == s.key; });
    if (entry != grid.end()) entry->second = std::move(values);
    else grid.emplace_back(s.key, std::move(values));
  }
}

// variants: {name: {key: value, ...}, ...} -> named settings, validated against the schema.
std::vector<Variant> read_variants(const TopLevel& top, const std::string& path, const Schema& schema, const Grid& grid) {
  std::vector<Variant> out;
  const YAML::Node block = mapping_or_empty(top, "variants", path, "a mapping of variant names to settings");
  for (auto it = block.begin(); it != block.end(); ++it) {
    Variant v;
    v.name = it->first.as<std::string>();
    DIST2_CHECK(it->second.IsMap(), "{}: variant '{}' must map keys to values", yaml_location(path, it->second.Mark()),
                v.name);
    for (const auto& setting : detail::flatten(it->second, path)) {
      for (const auto& [grid_key, values] : grid)
        DIST2_CHECK(grid_key != setting.key, "{}: variant '{}' sets {}, which the sweep grid also varies",
                    setting.key_where, v.name, setting.key);
      v.settings.emplace_back(setting.key, detail::resolve_single(schema, setting));
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

Experiment Experiment::load(const std::string& path, const std::string& profile,
                            const std::vector<Override>& overrides, const SchemaProvider& schema_for) {
  YAML::Node doc = parse_yaml(read_text_file(path, "experiment file"), path);
  TopLevel top = read_top_level(doc, path);

  Experiment e;
  e.path_ = path;
  e.name_ = read_name(top, path);
  e.reports_ = read_reports(top, path);
  e.description_ = read_description(top, path);
  e.profile_ = profile.empty() ? kDefaultProfile : profile;
  e.overrides_ = overrides;

  Layer file_layer;
  file_layer.plain = detail::flatten(mapping_or_empty(top, "config", path, "a mapping of keys to values"), path);
  for (const auto& s : file_layer.plain)
    DIST2_CHECK(!starts_with(s.key, "sweep.") && s.key != "sweep",
                "{}: sweep: belongs at the top level, not under config:", s.key_where);
  file_layer.sweep = detail::flatten(mapping_or_empty(top, "sweep", path, "a mapping of keys to lists"), path);
  Profiles profiles =
      read_profiles(mapping_or_empty(top, "profiles", path, "a mapping of profile names"), path, e.profile_);
  e.profiles_ = profiles.names;
  Layer command_line = override_layer(overrides);

  const std::vector<const Layer*> layers = {&file_layer, &profiles.chosen, &command_line};
  e.schema_ = schema_for_task(schema_for, find_task_name(layers), path);
  e.base_ = Config(e.schema_);
  for (const Layer* layer : layers) apply_layer(*layer, *e.schema_, e.base_, e.grid_);
  e.variants_ = read_variants(top, path, *e.schema_, e.grid_);
  return e;
}

size_t Experiment::trial_count() const {
  size_t n = std::max<size_t>(1, variants_.size());
  for (const auto& entry : grid_) n *= entry.second.size();
  return n;
}

std::vector<TrialPoint> Experiment::trial_points() const {
  std::vector<TrialPoint> out;
  const std::vector<Variant> variants = variants_.empty() ? std::vector<Variant>{Variant{}} : variants_;
  size_t grid_points = 1;
  for (const auto& entry : grid_) grid_points *= entry.second.size();
  out.reserve(variants.size() * grid_points);
  std::vector<size_t> index(grid_.size(), 0);  // an odometer, last key fastest
  for (size_t t = 0; t < grid_points; ++t) {
    // Variants innermost: the rows of one grid point (e.g. one seed) run together.
    for (const Variant& variant : variants) {
      TrialPoint point{variant.name, variant.settings, base_};
      for (size_t k = 0; k < grid_.size(); ++k) point.settings.emplace_back(grid_[k].first, grid_[k].second[index[k]]);
      for (const auto& [key, value] : point.settings) point.config.set(key, value);
      out.push_back(std::move(point));
    }
    for (size_t k = grid_.size(); k-- > 0;) {
      if (++index[k] < grid_[k].second.size()) break;
      index[k] = 0;
    }
  }
  return out;
}

std::vector<Config> Experiment::trials() const {
  std::vector<Config> out;
  for (auto& point : trial_points()) out.push_back(std::move(point.config));
  return out;
}

}  // namespace dist2::config
