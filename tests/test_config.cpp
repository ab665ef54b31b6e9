// Config: typed schema, values, resolved configs (hash, YAML / JSON), experiment
// files with profiles, sweeps and command-line overrides, and their error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include "dist2/config/config.h"
#include "dist2/config/experiment.h"
#include "dist2/config/overrides.h"
#include "dist2/config/schema.h"
#include "dist2/config/value.h"
#include "dist2/util/error.h"

using namespace dist2::config;
using Catch::Matchers::Contains;

// Values print as their canonical text in failure messages.
namespace Catch {
template <>
struct StringMaker<Value> {
  static std::string convert(const Value& v) { return format_value(v); }
};
template <>
struct StringMaker<std::vector<Value>> {
  static std::string convert(const std::vector<Value>& vs) {
    std::string out = "[";
    for (size_t i = 0; i < vs.size(); ++i) out += (i ? ", " : "") + format_value(vs[i]);
    return out + "]";
  }
};
}  // namespace Catch

namespace {

// A small stand-in for the pipeline schema; the "reward" task adds a key of its own.
Schema test_schema(const std::string& task = "regression") {
  Schema s;
  s.add_string("task.name", "regression", {"regression", "reward"}, "which task adapter");
  s.add_int("task.n_train", 1024, 1, {}, "training examples");
  s.add_string("loss.kind", "dist", {"sft", "vocab", "dist", "label_smoothing"}, "loss");
  s.add_float("loss.alpha", 0.1, 0, {}, "weight of the distance term");
  s.add_float("loss.tau", 2.0, 0, {}, "temperature", /*min_exclusive=*/true);
  s.add_int("train.steps", 1000, 1, {}, "optimizer steps");
  s.add_int("train.batch_size", 64, 1, 4096, "examples per step");
  s.add_float("train.lr", 1e-3, 0, {}, "learning rate", true);
  s.add_bool("train.use_x", false, "a switch");
  s.add_int("seed", 1, 0, {}, "random seed");
  s.add_string("note", "", {}, "free text");
  if (task == "reward") s.add_float("task.margin", 0.5, 0, 1, "reward margin");
  return s;
}

std::string fixture(const std::string& name) { return std::string(DIST2_TEST_DATA) + "/config/" + name; }

// "PATH:LINE:COL" of the first occurrence of `needle` in the file (1-based), found
// independently of the YAML parser.
std::string where_in(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    size_t col = line.find(needle);
    if (col != std::string::npos) return path + ":" + std::to_string(number) + ":" + std::to_string(col + 1);
  }
  FAIL("'" << needle << "' not in " << path);
  return "";
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const dist2::Error& e) {
    return e.what();
  }
  FAIL("expected a dist2::Error");
  return "";
}

Experiment load(const std::string& name, const std::string& profile = "", const std::vector<std::string>& args = {}) {
  return Experiment::load(fixture(name), profile, parse_overrides(args), test_schema);
}

std::string load_error(const std::string& name, const std::string& profile = "",
                       const std::vector<std::string>& args = {}) {
  return error_of([&] { load(name, profile, args); });
}

// FNV-1a 64 written out here, to check Config::hash against the documented algorithm.
std::string fnv1a_hex(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  std::ostringstream out;
  out << std::hex;
  out.width(16);
  out.fill('0');
  out << h;
  return out.str();
}

}  // namespace

// ---- values ----

TEST_CASE("format_double gives Python's repr and reads back exactly", "[config]") {
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(2.0) == "2.0");
  CHECK(format_double(-0.0) == "-0.0");
  CHECK(format_double(1e-5) == "1e-05");
  CHECK(format_double(0.0001) == "0.0001");
  CHECK(format_double(1e16) == "1e+16");
  CHECK(format_double(123456.789) == "123456.789");
  CHECK(format_double(1.0 / 3.0) == "0.3333333333333333");
  CHECK(format_double(HUGE_VAL) == ".inf");
  CHECK(format_double(-HUGE_VAL) == "-.inf");
  CHECK(format_double(std::nan("")) == ".nan");

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-10, 10);
  std::uniform_int_distribution<int> exponent(-30, 30);
  for (int i = 0; i < 2000; ++i) {
    double x = mantissa(rng) * std::pow(10.0, exponent(rng));
    std::string text = format_double(x);
    INFO(text);
    CHECK(std::strtod(text.c_str(), nullptr) == x);
    // It must also parse back as a Float value through the YAML scalar rules.
    auto parsed = parse_scalar(Type::Float, text);
    REQUIRE(parsed);
    CHECK(std::get<double>(*parsed) == x);
  }
}

TEST_CASE("an Int key takes integers only, a Float key takes integers and floats", "[config]") {
  Schema s = test_schema();
  const KeySpec& steps = s.require("train.steps");
  const KeySpec& alpha = s.require("loss.alpha");
  const KeySpec& use_x = s.require("train.use_x");
  const KeySpec& note = s.require("note");

  CHECK(parse_value(steps, "20") == Value{int64_t{20}});
  CHECK(parse_value(steps, "+20") == Value{int64_t{20}});
  CHECK_THAT(error_of([&] { parse_value(steps, "2.5"); }), Contains("train.steps must be an integer, got '2.5'"));
  CHECK_THAT(error_of([&] { parse_value(steps, "1e3"); }), Contains("must be an integer"));
  CHECK_THAT(error_of([&] { parse_value(steps, "99999999999999999999"); }), Contains("must be an integer"));

  CHECK(parse_value(alpha, "2") == Value{2.0});  // an integer is a number
  CHECK(parse_value(alpha, "0.5") == Value{0.5});
  CHECK(parse_value(alpha, "1e-3") == Value{1e-3});
  CHECK(parse_value(alpha, ".5") == Value{0.5});
  CHECK(std::isinf(std::get<double>(parse_value(alpha, ".inf"))));
  CHECK_THAT(error_of([&] { parse_value(alpha, "abc"); }), Contains("loss.alpha must be a number, got 'abc'"));
  CHECK_THAT(error_of([&] { parse_value(alpha, "inf"); }), Contains("must be a number"));

  CHECK(parse_value(use_x, "true") == Value{true});
  CHECK(parse_value(use_x, "False") == Value{false});
  CHECK_THAT(error_of([&] { parse_value(use_x, "yes"); }), Contains("train.use_x must be true or false, got 'yes'"));

  CHECK(parse_value(note, "123") == Value{std::string("123")});

  // Typed values: an int widens for a Float key, never the other way round.
  CHECK(check_value(alpha, int64_t{1}) == Value{1.0});
  CHECK_THAT(error_of([&] { check_value(steps, 2.0); }), Contains("train.steps must be an integer"));
  CHECK_THAT(error_of([&] { check_value(use_x, std::string("true")); }), Contains("train.use_x"));
}

TEST_CASE("ranges and choices are enforced with the bound or the choices named", "[config]") {
  Schema s = test_schema();
  CHECK_THAT(error_of([&] { parse_value(s.require("loss.alpha"), "-1"); }),
             Contains("loss.alpha must be >= 0, got -1"));
  CHECK(parse_value(s.require("loss.alpha"), "0") == Value{0.0});
  CHECK_THAT(error_of([&] { parse_value(s.require("loss.tau"), "0"); }), Contains("loss.tau must be > 0, got 0"));
  CHECK_THAT(error_of([&] { parse_value(s.require("train.batch_size"), "5000"); }),
             Contains("train.batch_size must be <= 4096, got 5000"));
  CHECK_THAT(error_of([&] { parse_value(s.require("loss.alpha"), ".nan"); }), Contains("loss.alpha must be >= 0"));
  std::string msg = error_of([&] { parse_value(s.require("loss.kind"), "dst"); });
  CHECK_THAT(msg, Contains("loss.kind must be one of sft, vocab, dist, label_smoothing") && Contains("'dst'") &&
                      Contains("did you mean 'dist'?"));
}

// ---- schema ----

TEST_CASE("schema rejects duplicates, key/group clashes and invalid defaults", "[config]") {
  Schema s = test_schema();
  CHECK_THAT(error_of([&] { s.add_int("seed", 2); }), Contains("'seed' is defined twice"));
  CHECK_THAT(error_of([&] { s.add_int("loss", 2); }), Contains("conflicts with 'loss.kind'"));
  CHECK_THAT(error_of([&] { s.add_int("seed.offset", 2); }), Contains("conflicts with 'seed'"));
  CHECK_THAT(error_of([&] { s.add_int("x.y", 0, 1); }), Contains("invalid default") && Contains("x.y must be >= 1"));
  CHECK_THAT(error_of([&] { s.add_string("kind2", "b", {"a"}); }), Contains("invalid default"));
  CHECK_THAT(error_of([&] { s.add_int("sweep.n", 1); }), Contains("reserved"));
  CHECK_THAT(error_of([&] { s.add_int("a..b", 1); }), Contains("malformed"));
  KeySpec mistyped;
  mistyped.key = "y";
  mistyped.type = Type::Int;
  mistyped.default_value = std::string("x");
  CHECK_THAT(error_of([&] { s.add(mistyped); }), Contains("invalid default"));
}

TEST_CASE("nearest finds typos over the dotted key and over its last component", "[config]") {
  Schema s = test_schema();
  CHECK(s.nearest("loss.kindd") == "loss.kind");
  CHECK(s.nearest("los.alpha") == "loss.alpha");
  CHECK(s.nearest("alpha") == "loss.alpha");
  CHECK(s.nearest("train.alpha") == "loss.alpha");
  CHECK(s.nearest("sed") == "seed");
  CHECK(s.nearest("completely_unrelated") == "");
  CHECK_THAT(s.unknown_key_message("zzzzzzzz"), Contains("known keys begin with: loss, note, seed, task, train"));
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
}

TEST_CASE("merge adds keys and lets the merged schema replace a default", "[config]") {
  Schema pipeline = test_schema();
  Schema task;
  task.add_int("train.steps", 50, 1);
  task.add_float("task.noise", 0.1, 0);
  pipeline.merge(task);
  CHECK(pipeline.find("task.noise"));
  CHECK(std::get<int64_t>(pipeline.find("train.steps")->default_value) == 50);
  CHECK(pipeline.keys().size() == test_schema().keys().size() + 1);
}

// ---- Config ----

TEST_CASE("a config from a schema holds every key at its default", "[config]") {
  Schema s = test_schema();
  Config c(s);
  CHECK(c.values().size() == s.keys().size());
  for (const auto& key : s.keys()) {
    REQUIRE(c.has(key));
    CHECK(c.get(key) == s.find(key)->default_value);
  }
  CHECK(c.get_int("train.steps") == 1000);
  CHECK(c.get_double("loss.alpha") == 0.1);
  CHECK(c.get_double("train.steps") == 1000.0);  // get_double accepts an integer
  CHECK(c.get_bool("train.use_x") == false);
  CHECK(c.get_string("loss.kind") == "dist");
  CHECK_THAT(error_of([&] { c.get_int("loss.alpha"); }), Contains("'loss.alpha'") && Contains("not an integer"));
  CHECK_THAT(error_of([&] { c.get_string("seed"); }), Contains("'seed'"));
  CHECK_THAT(error_of([&] { c.get_int("train.stepz"); }),
             Contains("no key 'train.stepz'") && Contains("did you mean 'train.steps'?"));
}

TEST_CASE("Config::set checks keys and values against the schema", "[config]") {
  Config c(test_schema());
  c.set("loss.alpha", int64_t{1});
  CHECK(c.get("loss.alpha") == Value{1.0});
  CHECK_THAT(error_of([&] { c.set("loss.alpah", 0.5); }), Contains("did you mean 'loss.alpha'?"));
  CHECK_THAT(error_of([&] { c.set("loss.alpha", -2.0); }), Contains("loss.alpha must be >= 0"));
  Config free;  // without a schema anything goes
  free.set("anything", std::string("x"));
  CHECK(free.get_string("anything") == "x");
}

TEST_CASE("hash is FNV-1a of the sorted key=value text, whatever the insertion order", "[config]") {
  Config a, b;
  a.set("b", int64_t{2});
  a.set("a", 0.5);
  a.set("c", std::string("x"));
  b.set("c", std::string("x"));
  b.set("a", 0.5);
  b.set("b", int64_t{2});
  CHECK(a.canonical_text() == "a=0.5\nb=2\nc=x\n");
  CHECK(a.hash() == b.hash());
  CHECK(a.hash() == fnv1a_hex("a=0.5\nb=2\nc=x\n"));
  CHECK(a.hash().size() == 16);

  // Escaping keeps a newline inside a string from imitating another key.
  Config tricky, plain;
  tricky.set("a", std::string("x\nb=2"));
  plain.set("a", std::string("x"));
  plain.set("b", std::string("2"));
  CHECK(tricky.hash() != plain.hash());
}

TEST_CASE("any changed value changes the hash", "[config]") {
  Schema s = test_schema();
  Config base(s);
  std::set<std::string> seen = {base.hash()};
  auto changed = [&](const std::string& key, const Value& v) {
    Config c = base;
    c.set(key, v);
    INFO(key);
    CHECK(seen.insert(c.hash()).second);
  };
  changed("task.n_train", int64_t{1025});
  changed("loss.kind", std::string("sft"));
  changed("loss.alpha", 0.10000000000000002);  // the next double after 0.1
  changed("loss.tau", 2.5);
  changed("train.steps", int64_t{999});
  changed("train.batch_size", int64_t{65});
  changed("train.lr", 2e-3);
  changed("train.use_x", true);
  changed("seed", int64_t{2});
  changed("note", std::string(" "));
  changed("task.name", std::string("reward"));
  // Setting a key back to its value restores the hash.
  Config c = base;
  c.set("seed", int64_t{9});
  c.set("seed", int64_t{1});
  CHECK(c.hash() == base.hash());
}

TEST_CASE("to_yaml is nested and reads back to the same config and hash", "[config]") {
  Schema s = test_schema();
  Config c(s);
  c.set("loss.alpha", 0.1 + 0.2);  // 0.30000000000000004 must survive
  c.set("train.lr", 1e-7);
  c.set("loss.tau", 2.0);
  std::string yaml = c.to_yaml();
  CHECK_THAT(yaml, Contains("loss:\n  alpha: 0.30000000000000004"));
  CHECK_THAT(yaml, Contains("train:\n"));
  CHECK_THAT(yaml, Contains("tau: 2.0"));

  for (std::string note : {"true", "123", "1.5", "a: b", "", "x\ny", "#hash", " lead", "null", "~", "[1, 2]"}) {
    INFO("note = '" << note << "'");
    c.set("note", note);
    Config back = Config::from_yaml_string(c.to_yaml(), s);
    CHECK(back == c);
    CHECK(back.hash() == c.hash());
  }
}

TEST_CASE("from_yaml_string fills defaults and reports errors with their place", "[config]") {
  Schema s = test_schema();
  Config c = Config::from_yaml_string("train:\n  steps: 7\nseed: 3\n", s);
  CHECK(c.get_int("train.steps") == 7);
  CHECK(c.get_int("seed") == 3);
  CHECK(c.get_double("loss.alpha") == 0.1);
  CHECK(Config::from_yaml_string("", s) == Config(s));
  CHECK_THAT(error_of([&] { Config::from_yaml_string("seed: 1\ntrain:\n  stepz: 7\n", s, "run.yaml"); }),
             Contains("run.yaml:3:3: unknown key 'train.stepz' (did you mean 'train.steps'?)"));
  CHECK_THAT(error_of([&] { Config::from_yaml_string("seed: x\n", s, "run.yaml"); }),
             Contains("run.yaml:1:7: seed must be an integer, got 'x'"));
  CHECK_THAT(error_of([&] { Config::from_yaml_string("- 1\n", s, "run.yaml"); }), Contains("mapping"));
}

TEST_CASE("to_json is one flat object with sorted keys", "[config]") {
  Config c;
  c.set("z.b", std::string("q\"uote"));
  c.set("a", int64_t{3});
  c.set("m", 0.25);
  c.set("n", std::nan(""));
  c.set("t", true);
  CHECK(c.to_json() == R"({"a":3,"m":0.25,"n":null,"t":true,"z.b":"q\"uote"})");
}

// ---- overrides ----

TEST_CASE("parse_overrides splits key=value and rejects anything else", "[config]") {
  auto o = parse_overrides({"loss.alpha=0.1", "note=a=b", "seed="});
  REQUIRE(o.size() == 3);
  CHECK(o[0].key == "loss.alpha");
  CHECK(o[0].value_text == "0.1");
  CHECK(o[1].key == "note");
  CHECK(o[1].value_text == "a=b");
  CHECK(o[2].value_text == "");
  CHECK_THAT(error_of([] { parse_overrides({"loss.alpha"}); }),
             Contains("override 'loss.alpha'") && Contains("expected key=value"));
  CHECK_THAT(error_of([] { parse_overrides({"=3"}); }), Contains("override '=3'"));
  CHECK_THAT(error_of([] { parse_overrides({"--profile=smoke"}); }), Contains("override '--profile=smoke'"));
}

// ---- experiments ----

TEST_CASE("experiment metadata and profiles are read", "[config]") {
  Experiment e = load("table11.yaml");
  CHECK(e.name() == "table11_regression");
  CHECK(e.reports() == std::vector<std::string>{"table11"});
  CHECK_THAT(e.description(), Contains("scaled-down size"));
  CHECK(e.path() == fixture("table11.yaml"));
  CHECK(e.profile() == "default");
  CHECK(e.profiles() == std::vector<std::string>{"smoke", "quick", "fixed", "default"});
  CHECK(load("reward.yaml").reports() == std::vector<std::string>{"table3", "table6"});
  CHECK(load("reward.yaml").profiles() == std::vector<std::string>{"default"});
}

TEST_CASE("precedence: defaults < config < profile < command line", "[config]") {
  Schema s = test_schema();
  Experiment plain = load("table11.yaml");
  CHECK(plain.base().get_double("loss.alpha") == 0.2);                                    // config:
  CHECK(plain.base().get("train.use_x") == s.find("train.use_x")->default_value);  // schema default
  CHECK(plain.base().get_int("train.steps") == 1000);

  Experiment quick = load("table11.yaml", "quick");
  CHECK(quick.base().get_double("loss.alpha") == 0.3);  // profile over config:
  CHECK(quick.base().get_int("train.steps") == 300);

  Experiment cli = load("table11.yaml", "quick", {"loss.alpha=0.4", "train.use_x=true"});
  CHECK(cli.base().get_double("loss.alpha") == 0.4);  // command line over profile
  CHECK(cli.base().get_bool("train.use_x") == true);
  CHECK(cli.base().get_int("train.steps") == 300);
  CHECK(cli.overrides().size() == 2);

  // The last of repeated overrides wins.
  CHECK(load("table11.yaml", "", {"train.steps=5", "train.steps=6"}).base().get_int("train.steps") == 6);
  // Override text forms: a quoted string is unquoted, anything else is kept as typed.
  CHECK(load("table11.yaml", "", {"note=a: b"}).base().get_string("note") == "a: b");
  CHECK(load("table11.yaml", "", {"note='x y'"}).base().get_string("note") == "x y");
  CHECK(load("table11.yaml", "", {"note="}).base().get_string("note") == "");
}

TEST_CASE("the grid expands as a cartesian product, first key outermost", "[config]") {
  Experiment e = load("table11.yaml");
  const Grid& grid = e.grid();
  REQUIRE(grid.size() == 3);
  CHECK(grid[0].first == "loss.kind");
  CHECK(grid[1].first == "task.n_train");
  CHECK(grid[2].first == "seed");

  const std::vector<std::string> kinds = {"sft", "vocab", "dist"};
  const std::vector<int64_t> sizes = {256, 1024, 4096};
  std::vector<Config> trials = e.trials();
  REQUIRE(trials.size() == kinds.size() * sizes.size() * 5);
  CHECK(e.trial_count() == trials.size());
  size_t t = 0;
  std::set<std::string> hashes;
  for (const auto& kind : kinds)
    for (int64_t n : sizes)
      for (int64_t seed = 1; seed <= 5; ++seed, ++t) {
        INFO("trial " << t);
        CHECK(trials[t].get_string("loss.kind") == kind);
        CHECK(trials[t].get_int("task.n_train") == n);
        CHECK(trials[t].get_int("seed") == seed);
        CHECK(trials[t].get_double("loss.alpha") == 0.2);  // the base is kept
        hashes.insert(trials[t].hash());
      }
  CHECK(hashes.size() == trials.size());
  // The base keeps the config: value of a swept key.
  CHECK(e.base().get_int("seed") == 1);
  CHECK(e.base().get_string("loss.kind") == "dist");
}

TEST_CASE("a profile's sweep replaces grid entries in place", "[config]") {
  Experiment e = load("table11.yaml", "smoke");
  const Grid& grid = e.grid();
  REQUIRE(grid.size() == 3);
  CHECK(grid[1].first == "task.n_train");
  CHECK(grid[1].second == std::vector<Value>{int64_t{64}});
  CHECK(grid[2].second == std::vector<Value>{int64_t{1}});
  CHECK(e.trials().size() == 3);
  CHECK(e.base().get_int("train.steps") == 20);
  // A profile's plain value of a swept key fixes it.
  Experiment fixed = load("table11.yaml", "fixed");
  CHECK(fixed.grid().size() == 2);
  for (const auto& trial : fixed.trials()) CHECK(trial.get_int("seed") == 7);
}

TEST_CASE("command-line overrides fix, replace or add grid entries", "[config]") {
  Experiment fixed = load("table11.yaml", "", {"seed=3"});
  REQUIRE(fixed.grid().size() == 2);
  CHECK(fixed.grid()[0].first == "loss.kind");
  CHECK(fixed.grid()[1].first == "task.n_train");
  CHECK(fixed.trials().size() == 9);
  for (const auto& trial : fixed.trials()) CHECK(trial.get_int("seed") == 3);

  Experiment replaced = load("table11.yaml", "smoke", {"sweep.seed=[1,2]", "sweep.train.lr=[0.1, 1e-2]"});
  REQUIRE(replaced.grid().size() == 4);
  CHECK(replaced.grid()[2].first == "seed");
  CHECK(replaced.grid()[2].second == std::vector<Value>{int64_t{1}, int64_t{2}});
  CHECK(replaced.grid()[3].first == "train.lr");
  CHECK(replaced.grid()[3].second == std::vector<Value>{0.1, 0.01});
  CHECK(replaced.trials().size() == 3 * 1 * 2 * 2);
  // The last trial takes the last value of every entry.
  CHECK(replaced.trials().back().get_double("train.lr") == 0.01);
  CHECK(replaced.trials().back().get_string("loss.kind") == "dist");

  // A file without a sweep has a single trial: the base.
  Experiment single = load("reward.yaml");
  CHECK(single.grid().empty());
  REQUIRE(single.trials().size() == 1);
  CHECK(single.trials()[0] == single.base());
}

TEST_CASE("the schema follows task.name from the file, a profile or the command line", "[config]") {
  std::vector<std::string> asked;
  SchemaProvider provider = [&](const std::string& task) {
    asked.push_back(task);
    return test_schema(task);
  };
  Experiment reward = Experiment::load(fixture("reward.yaml"), "", {}, provider);
  CHECK(asked == std::vector<std::string>{"reward"});
  CHECK(reward.base().get_double("task.margin") == 0.25);

  // task.margin only exists for the reward task.
  auto as_regression = parse_overrides({"task.name=regression"});
  CHECK_THAT(error_of([&] { Experiment::load(fixture("reward.yaml"), "", as_regression, provider); }),
             Contains(where_in(fixture("reward.yaml"), "margin")) && Contains("unknown key 'task.margin'"));
  Experiment switched =
      Experiment::load(fixture("table11.yaml"), "", parse_overrides({"task.name=reward", "task.margin=0.9"}), provider);
  CHECK(switched.base().get_double("task.margin") == 0.9);

  // Without task.name anywhere, the schema's default task is used.
  asked.clear();
  Experiment defaults = Experiment::load(fixture("no_task.yaml"), "", {}, provider);
  CHECK(asked == std::vector<std::string>{"", "regression"});
  CHECK(defaults.base().get_string("task.name") == "regression");
  CHECK(defaults.base().get_int("train.steps") == 5);

  CHECK_THAT(load_error("sweep_task.yaml"), Contains(where_in(fixture("sweep_task.yaml"), "task.name")) &&
                                                Contains("task.name cannot be swept"));
}

TEST_CASE("stored trial configs reload to the same config and hash", "[config]") {
  Experiment e = load("table11.yaml", "smoke");
  for (const auto& trial : e.trials()) {
    Config back = Config::from_yaml_string(trial.to_yaml(), e.schema());
    CHECK(back == trial);
    CHECK(back.hash() == trial.hash());
  }
}

// ---- experiment errors: each names where it is and the culprit ----

TEST_CASE("unknown keys are located and get the nearest suggestion", "[config]") {
  CHECK_THAT(load_error("unknown_key.yaml"),
             Contains(where_in(fixture("unknown_key.yaml"), "kindd") +
                      ": unknown key 'loss.kindd' (did you mean 'loss.kind'?)"));
  CHECK_THAT(load_error("unknown_sweep_key.yaml"),
             Contains(where_in(fixture("unknown_sweep_key.yaml"), "train.step")) &&
                 Contains("unknown key 'train.step' (did you mean 'train.steps'?)"));
  CHECK_THAT(load_error("table11.yaml", "", {"loss.alpah=0.1"}),
             Contains("override 'loss.alpah=0.1': unknown key 'loss.alpah' (did you mean 'loss.alpha'?)"));
  CHECK_THAT(load_error("table11.yaml", "", {"sweep.sed=[1]"}),
             Contains("override 'sweep.sed=[1]'") && Contains("did you mean 'seed'?"));
  CHECK_THAT(load_error("bad_top_level.yaml"),
             Contains(where_in(fixture("bad_top_level.yaml"), "sweeps") +
                      ": unknown top-level key 'sweeps' (did you mean 'sweep'?"));
}

TEST_CASE("wrong types, ranges and choices are located at the value", "[config]") {
  CHECK_THAT(load_error("wrong_type.yaml"),
             Contains(where_in(fixture("wrong_type.yaml"), "abc") + ": loss.alpha must be a number, got 'abc'"));
  CHECK_THAT(load_error("int_given_float.yaml"),
             Contains(where_in(fixture("int_given_float.yaml"), "2.5") +
                      ": train.steps must be an integer, got '2.5'"));
  CHECK_THAT(load_error("out_of_range.yaml"),
             Contains(where_in(fixture("out_of_range.yaml"), "-1") + ": loss.alpha must be >= 0, got -1"));
  CHECK_THAT(load_error("bad_choice.yaml"), Contains(where_in(fixture("bad_choice.yaml"), "dst")) &&
                                                Contains("must be one of sft, vocab, dist, label_smoothing"));
  CHECK_THAT(load_error("table11.yaml", "", {"loss.alpha=-1"}),
             Contains("override 'loss.alpha=-1': loss.alpha must be >= 0, got -1"));
  CHECK_THAT(load_error("table11.yaml", "", {"loss.alpha=abc"}),
             Contains("override 'loss.alpha=abc': loss.alpha must be a number, got 'abc'"));
  CHECK_THAT(load_error("table11.yaml", "", {"sweep.seed=[1, x]"}),
             Contains("override 'sweep.seed=[1, x]': seed must be an integer, got 'x'"));
  CHECK_THAT(load_error("table11.yaml", "", {"seed=[1,2,3]"}),
             Contains("override 'seed=[1,2,3]'") && Contains("single value") && Contains("sweep.seed="));
  CHECK_THAT(load_error("list_in_config.yaml"),
             Contains(where_in(fixture("list_in_config.yaml"), "[1, 2]")) && Contains("seed must be a single value"));
  CHECK_THAT(load_error("duplicate_key.yaml"),
             Contains(where_in(fixture("duplicate_key.yaml"), "train.steps")) && Contains("given twice"));
}

TEST_CASE("malformed YAML, missing files, unknown profiles and empty grids are reported", "[config]") {
  // The parser stops at the second ':' on the `lr:` line.
  std::string malformed = load_error("malformed.yaml");
  std::string lr_line = where_in(fixture("malformed.yaml"), "lr:");
  CHECK_THAT(malformed, Contains(lr_line.substr(0, lr_line.rfind(':')) + ":") && Contains("malformed YAML"));

  CHECK_THAT(load_error("does_not_exist.yaml"),
             Contains("cannot read experiment file") && Contains("does_not_exist.yaml"));

  std::string profile = load_error("table11.yaml", "smok");
  CHECK_THAT(profile, Contains("unknown profile 'smok'") && Contains("did you mean 'smoke'?") &&
                          Contains("smoke, quick, fixed, default") && Contains(fixture("table11.yaml")));

  CHECK_THAT(load_error("empty_grid.yaml"),
             Contains(where_in(fixture("empty_grid.yaml"), "[]") + ": sweep: seed has an empty list"));
  CHECK_THAT(load_error("table11.yaml", "", {"sweep.seed=[]"}),
             Contains("override 'sweep.seed=[]': sweep: seed has an empty list"));
  CHECK_THAT(load_error("table11.yaml", "", {"sweep.seed=[1, 1]"}), Contains("seed lists 1 twice"));
  CHECK_THAT(load_error("table11.yaml", "", {"sweep.seed=[1,2"}),
             Contains("override 'sweep.seed=[1,2'") && Contains("malformed"));
}
