// The manipulation task: the tabletop simulator's goals and executor, the L1/L2
// splits, rendering, the reference policies, and the task adapter's data and metrics.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "dist2/tasks/manipulation/task.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "tests/support.h"

using namespace dist2;
using namespace dist2::manipulation;

namespace {

// A 40 px table: a blue frame at (10, 10), a red bowl at (30, 30); a red bar at
// (30, 10) and a green cross at (10, 30), both at angle 0.
Scene hand_scene() {
  Scene s;
  s.canvas = 40;
  s.receptacles = {{0, 2, 10, 10, 14}, {1, 0, 30, 30, 14}};
  s.objects = {{2, 0, 30, 10, 7, 0}, {3, 1, 10, 30, 7, 0}};
  return s;
}

Goal put_goal(int object, int receptacle) {
  Goal g;
  g.family = 0, g.objects = {object}, g.receptacle = receptacle;
  return g;
}

int g(double px) { return to_grid(px, 40); }

config::Config task_config(const std::vector<std::pair<std::string, config::Value>>& set) {
  config::Config cfg(experiment_schema("manipulation"));
  cfg.set("task.name", config::Value{std::string("manipulation")});
  for (const auto& [k, v] : set) cfg.set(k, v);
  return cfg;
}

Action move(double from_x, double from_y, double to_x, double to_y, int rotation = 0) {
  return {g(from_x), g(from_y), g(to_x), g(to_y), rotation};
}

}  // namespace

TEST_CASE("manipulation goals: put, rotate and put_all on a hand-made scene", "[manipulation]") {
  const Scene s = hand_scene();
  SECTION("put: the centre inside the interior, not on the rim or outside") {
    const Goal goal = put_goal(0, 0);
    CHECK(execute(s, goal, {move(30, 10, 10, 10)}).success);
    CHECK(execute(s, goal, {move(30, 10, 14.5, 10)}).success);  // 4.5 px from the centre: inside (interior half 5)
    const Outcome rim = execute(s, goal, {move(30, 10, 15.6, 10)});  // on the rim
    CHECK_FALSE(rim.success);
    CHECK(rim.kind == "goal");
    CHECK_FALSE(execute(s, goal, {move(30, 10, 30, 30)}).success);  // the other receptacle
    CHECK_FALSE(execute(s, put_goal(1, 0), {move(30, 10, 10, 10)}).success);  // moved the wrong object
  }
  SECTION("put into a bowl: inside its circle, not its bounding square's corner") {
    const Goal goal = put_goal(1, 1);
    CHECK(execute(s, goal, {move(10, 30, 33, 33)}).success);       // 4.2 px from the centre
    CHECK_FALSE(execute(s, goal, {move(10, 30, 34, 34)}).success);  // 5.7 px: inside the square, outside the circle
  }
  SECTION("rotate: the asked angle within 10 degrees, modulo 360, and in place") {
    Goal goal;
    goal.family = 1, goal.objects = {0}, goal.rotation = 45;
    CHECK(execute(s, goal, {move(30, 10, 30, 10, 45)}).success);
    CHECK(execute(s, goal, {move(30, 10, 30, 10, 50)}).success);
    CHECK_FALSE(execute(s, goal, {move(30, 10, 30, 10, 60)}).success);
    CHECK_FALSE(execute(s, goal, {move(30, 10, 20, 20, 45)}).success);  // turned but moved away
    CHECK(execute(s, goal, {move(30, 10, 30, 10, 200), move(30, 10, 30, 10, 205)}).success);  // 405 = 45 mod 360
  }
  SECTION("put_all: every object of the colour, and only the ones placed count") {
    Scene two_red = s;
    two_red.objects[1].colour = 0;
    Goal goal;
    goal.family = 2, goal.objects = {0, 1}, goal.receptacle = 1, goal.colour = 0;
    CHECK(execute(two_red, goal, {move(30, 10, 30, 30), move(10, 30, 30, 30)}).success);
    const Outcome half = execute(two_red, goal, {move(30, 10, 30, 30)});
    CHECK_FALSE(half.success);
    CHECK(half.kind == "goal");
  }
}

TEST_CASE("manipulation executor: bad actions fail with a reason, never throw", "[manipulation]") {
  const Scene s = hand_scene();
  const Goal goal = put_goal(0, 0);
  struct Case {
    std::string text, kind;
  };
  for (const Case& c : std::vector<Case>{{"50,50,25,25,0", "no_object"},           // empty table
                                         {"6,74,25,25,0", "no_object"},            // a receptacle is not an object
                                         {"74,25,120,25,0", "off_table"},          // place beyond 99
                                         {"150,25,25,25,0", "off_table"},          // pick beyond 99
                                         {"74,25,25,25,400", "off_table"},         // rotation beyond 359
                                         {"74,25,25,25", "malformed"},             // four fields
                                         {"74,25,25,25,0;", "malformed"},          // a dangling separator
                                         {"put it there", "malformed"},
                                         {"", "malformed"},
                                         {"7425,25,25,25,0", "malformed"},         // four digits
                                         {"74,25,25,25,0;74,25,25,25,0;74,25,25,25,0;74,25,25,25,0;74,25,25,25,0",
                                          "too_many"}}) {
    INFO(c.text);
    Outcome out;
    REQUIRE_NOTHROW(out = execute_text(s, goal, c.text));
    CHECK_FALSE(out.success);
    CHECK(out.kind == c.kind);
    CHECK_FALSE(out.reason.empty());
  }
  // The first failing action stops the episode: a later right action does not rescue it.
  CHECK(execute_text(s, goal, "50,50,25,25,0;74,25,25,25,0").kind == "no_object");
  // Whitespace around the text is allowed (a model may emit it).
  CHECK(execute_text(s, goal, " 74,25,25,25,0 ").success);
}

TEST_CASE("manipulation actions: format and parse round trip", "[manipulation]") {
  const std::vector<Action> a = {{1, 2, 3, 4, 0}, {99, 0, 50, 50, 165}};
  CHECK(format_actions(a) == "1,2,3,4,0;99,0,50,50,165");
  const auto back = parse_actions(format_actions(a));
  REQUIRE(back);
  REQUIRE(back->size() == 2);
  CHECK(format_actions(*back) == format_actions(a));
  CHECK_FALSE(parse_actions("1,2,3,4,5,6"));
  CHECK_FALSE(parse_actions("1,2,3,4,-5"));
}

TEST_CASE("manipulation episodes: the oracle succeeds on every group, the references rarely", "[manipulation]") {
  std::map<std::string, int> oracle, random, heuristic, n;
  for (const auto& group : test_groups())
    for (int64_t i = 0; i < 150; ++i) {
      const Episode e = make_episode(group, 3, i);
      INFO(group << " " << i << " " << e.instruction);
      REQUIRE(parse_actions(e.actions));
      const Outcome out = execute_text(e.scene, e.goal, e.actions);
      INFO(out.reason);
      REQUIRE(out.success);
      oracle[group] += out.success;
      random[group] += execute(e.scene, e.goal, random_actions(e.scene, e.goal, 100 + static_cast<uint64_t>(i))).success;
      heuristic[group] += execute(e.scene, e.goal, heuristic_actions(e.scene, e.goal, 200 + static_cast<uint64_t>(i))).success;
      n[group] += 1;
    }
  for (const auto& group : test_groups()) {
    INFO(group << ": random " << random[group] << ", heuristic " << heuristic[group] << " of " << n[group]);
    CHECK(oracle[group] == n[group]);
    CHECK(random[group] < n[group] / 10);
    CHECK(heuristic[group] < n[group] / 2);
  }
  // The heuristic is right when it picks the target and the receptacle by luck.
  CHECK(heuristic["l1.put"] > 0);
  CHECK(heuristic["l1.rotate"] == 0);  // it never turns an object
}

TEST_CASE("manipulation splits: L2's combinations never occur in training; L1 uses the training ones", "[manipulation]") {
  int held = 0;
  for (int s = 0; s < 5; ++s)
    for (int c = 0; c < 6; ++c) held += held_out(s, c);
  CHECK(held == 6);
  std::set<std::string> families_seen;
  for (int64_t i = 0; i < 3000; ++i) {
    const Episode e = make_episode("train", 1, i);
    for (const auto& o : e.scene.objects) REQUIRE_FALSE(held_out(o.shape, o.colour));
    families_seen.insert(family_names()[static_cast<size_t>(e.goal.family)]);
  }
  CHECK(families_seen.size() == 3);
  for (const auto& family : family_names())
    for (int64_t i = 0; i < 200; ++i) {
      const Episode l1 = make_episode("l1." + family, 1, i), l2 = make_episode("l2." + family, 1, i);
      for (const auto& o : l1.scene.objects) REQUIRE_FALSE(held_out(o.shape, o.colour));
      int novel_targets = 0;
      for (int t : l2.goal.objects) {
        const Object& o = l2.scene.objects[static_cast<size_t>(t)];
        novel_targets += held_out(o.shape, o.colour);
      }
      REQUIRE(novel_targets == 1);
      // Names are unique in a scene: the instruction singles out what it asks for.
      std::set<std::pair<int, int>> combos;
      for (const auto& o : l2.scene.objects) combos.insert({o.shape, o.colour});
      REQUIRE(combos.size() == l2.scene.objects.size());
      REQUIRE((l2.scene.receptacles[0].kind != l2.scene.receptacles[1].kind ||
               l2.scene.receptacles[0].colour != l2.scene.receptacles[1].colour));
    }
  // Groups have their own streams; a training scene is not a test scene.
  CHECK(make_episode("train", 1, 0).instruction + make_episode("train", 1, 1).instruction !=
        make_episode("l1.put", 1, 0).instruction + make_episode("l1.put", 1, 1).instruction);
  CHECK_THROWS_AS(make_episode("l3.put", 1, 0), Error);
}

TEST_CASE("manipulation rendering: deterministic by seed, objects and rims where the scene has them", "[manipulation]") {
  const Episode a = make_episode("train", 5, 7), b = make_episode("train", 5, 7), c = make_episode("train", 6, 7);
  const Image ia = render(a.scene), ib = render(b.scene), ic = render(c.scene);
  REQUIRE(ia.channels == 3);
  REQUIRE(ia.height == 40);
  CHECK(ia.pixels == ib.pixels);
  CHECK(ia.pixels != ic.pixels);
  const Image hand = render(hand_scene());
  auto rgb = [&](int x, int y) {
    return std::array<float, 3>{hand.at(0, y, x), hand.at(1, y, x), hand.at(2, y, x)};
  };
  CHECK(rgb(30, 10)[0] > 0.8f);  // the red bar's centre
  CHECK(rgb(30, 10)[1] < 0.3f);
  CHECK(rgb(10, 30)[1] > 0.7f);  // the green cross
  CHECK(rgb(10, 3)[2] > 0.9f);   // the blue frame's rim, 7 px above its centre (3.5 px wide pixel centre)
  CHECK(rgb(10, 10)[2] < 0.3f);  // its empty interior is the table
  CHECK(rgb(20, 20)[0] == Approx(0.2f));  // bare table
}

TEST_CASE("manipulation values: an episode survives the dataset's numbers", "[manipulation]") {
  const Episode e = make_episode("l2.put_all", 2, 3);
  const auto [scene, goal] = from_values(to_values(e.scene, e.goal));
  CHECK(to_values(scene, goal) == to_values(e.scene, e.goal));
  CHECK(execute_text(scene, goal, e.actions).success);
  auto short_values = to_values(e.scene, e.goal);
  short_values.pop_back();
  CHECK_THROWS_AS(from_values(short_values), Error);
}

TEST_CASE("manipulation task: data, auxiliary questions, and the metrics of the references", "[manipulation]") {
  const auto task = make_task("manipulation");
  const auto cfg = task_config({{"task.n_train", config::Value{int64_t{30}}},
                                {"task.n_test", config::Value{int64_t{20}}},
                                {"task.aux", config::Value{0.5}}});
  const Dataset d = task->generate(cfg);
  REQUIRE(d.train.size() == 45);
  for (size_t i = 30; i < 45; ++i) {
    CHECK(d.train[i].group == "aux");
    CHECK(d.train[i].prompt.rfind("DO:where is the ", 0) == 0);
    CHECK(d.train[i].images.size() == 1);
  }
  REQUIRE(d.test.size() == 20 * test_groups().size());
  const auto m = task->reference_metrics(cfg, d);
  CHECK(m.at("ref.oracle.success") == 1.0);
  CHECK(m.at("ref.oracle.l1.success") == 1.0);
  CHECK(m.at("ref.oracle.l2.success") == 1.0);
  CHECK(m.at("ref.oracle.parse_failure_rate") == 0.0);
  CHECK(m.at("ref.random.success") < 0.1);
  CHECK(m.at("ref.heuristic.success") < 0.5);
  // The failure kinds and successes partition the episodes.
  double parts = m.at("ref.random.success");
  for (const char* k : {"malformed", "off_table", "no_object", "too_many", "goal"})
    parts += m.at(std::string("ref.random.failure.") + k);
  CHECK(parts == Approx(1.0));
  // Text that is no action is a parse failure, counted as a failed episode.
  std::vector<std::string> junk(d.test.size(), "nothing");
  const auto j = episode_metrics(junk, d.test, "");
  CHECK(j.at("success") == 0.0);
  CHECK(j.at("parse_failure_rate") == 1.0);
  // The canvas must match the image front end.
  CHECK_THROWS_AS(task->generate(task_config({{"task.canvas", config::Value{int64_t{48}}}})), Error);
}

TEST_CASE("manipulation smoke sweep of Table 2 through the executable, its tables and pictures", "[manipulation][pipeline]") {
  char tmpl[] = "/tmp/dist2-manipulation-XXXXXX";
  const std::string store = mkdtemp(tmpl);
  const std::string exp = std::string(DIST2_SOURCE_DIR) + "/experiments/table2_manipulation.yaml";
  auto sweep = dist2::test::run_dist2("--threads 1 sweep " + exp + " --profile smoke --store " + store + " -j 2");
  INFO(sweep.out);
  REQUIRE(sweep.status == 0);
  REQUIRE(sweep.out.find("3 trials: 0 finished before, 3 ran (3 finished") != std::string::npos);
  auto t2 = dist2::test::run_dist2("report table2 --profile smoke --store " + store);
  INFO(t2.out);
  REQUIRE(t2.status == 0);
  REQUIRE(t2.out.find("| sft |") != std::string::npos);
  REQUIRE(t2.out.find("reference: oracle (the true actions) | 100.0") != std::string::npos);
  REQUIRE(t2.out.find("LLaRA-dist") != std::string::npos);
  auto fam = dist2::test::run_dist2("report table2_families --profile smoke --store " + store);
  INFO(fam.out);
  REQUIRE(fam.status == 0);
  REQUIRE(fam.out.find("L2 put all (%)") != std::string::npos);
  const std::string out = store + "/pictures";
  auto pics = dist2::test::run_dist2("report manipulation-samples --profile smoke --store " + store + " --out " + out);
  INFO(pics.out);
  REQUIRE(pics.status == 0);
  for (int k = 1; k <= 6; ++k) REQUIRE(std::filesystem::exists(out + fmt::format("/manipulation-samples-{}.png", k)));
  std::ifstream md(out + "/manipulation-samples.md");
  const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
  REQUIRE(text.find("| sft | dist |") != std::string::npos);
  REQUIRE(text.find("l2.put_all") != std::string::npos);
  std::filesystem::remove_all(store);
}
