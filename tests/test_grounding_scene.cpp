// The visual-grounding data: boxes on the 0-99 grid, scenes of Fashion-MNIST
// items, referring expressions and their resolver, pretraining questions and
// the reference predictors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "dist2/image/idx.h"
#include "dist2/tasks/grounding/scene.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

using namespace dist2;
using namespace dist2::grounding;

namespace {

bool have_fashion_mnist() {
  const std::string dir = default_fashion_mnist_dir();
  return file_exists(dir + "/train-images-idx3-ubyte.gz") || file_exists(dir + "/train-images-idx3-ubyte");
}

// Stand-in items when the dataset is absent: filled rectangles of varied shape.
const FashionMnist& synthetic_items(const std::string& split) {
  static std::map<std::string, FashionMnist> made;
  FashionMnist& f = made[split];
  if (f.count > 0) return f;
  f.split = split, f.count = 200, f.rows = 28, f.cols = 28;
  f.pixels.assign(200 * 784, 0);
  std::mt19937 rng(split == "train" ? 1 : 2);
  for (int64_t i = 0; i < 200; ++i) {
    f.labels.push_back(static_cast<uint8_t>(i % 10));
    const int w = 8 + static_cast<int>(rng() % 18), h = 8 + static_cast<int>(rng() % 18);
    for (int y = (28 - h) / 2; y < (28 - h) / 2 + h; ++y)
      for (int x = (28 - w) / 2; x < (28 - w) / 2 + w; ++x) f.pixels[static_cast<size_t>(i * 784 + y * 28 + x)] = 200;
  }
  return f;
}

// The real split (it must be there after `make setup`), else the stand-in.
const FashionMnist& items(const std::string& split) {
  if (have_fashion_mnist()) return load_fashion_mnist(split);
  WARN("Fashion-MNIST is not installed (make setup): scenes use synthetic items");
  return synthetic_items(split);
}

Item item_at(int label, double x1, double y1, double x2, double y2) {
  Item it;
  it.label = label;
  it.box = {x1, y1, x2, y2};
  it.cx = it.box.cx(), it.cy = it.box.cy(), it.area = it.box.area();
  return it;
}

bool has_location_word(const std::string& text) {
  for (const char* w : {"left", "right", "upper", "lower", "top", "bottom"})
    if (text.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("grounding: class names", "[grounding]") {
  CHECK(class_names()[0] == "t-shirt");
  CHECK(class_names()[7] == "sneaker");
  CHECK(class_names()[9] == "boot");
  CHECK(class_index("bag") == 8);
  CHECK(class_index("hat") == -1);
}

TEST_CASE("grounding: IoU and cover on hand-made boxes", "[grounding]") {
  const Box a{0, 0, 10, 10};
  // Overlap 5x5 = 25; union 100 + 100 - 25 = 175.
  CHECK(iou(a, {5, 5, 15, 15}) == Approx(25.0 / 175.0));
  CHECK(iou(a, a) == Approx(1.0));
  CHECK(iou(a, {10, 0, 20, 10}) == 0.0);  // touching edges
  CHECK(iou(a, {20, 20, 30, 30}) == 0.0);
  // Contained 2x2 in 10x10: 4 / 100.
  CHECK(iou(a, {2, 2, 4, 4}) == Approx(0.04));
  CHECK(cover(a, {2, 2, 4, 4}) == Approx(1.0));
  // Half overlapping 10x10 and 10x20: overlap 5x10 = 50; union 100 + 200 - 50 = 250.
  CHECK(iou(a, {5, 0, 15, 20}) == Approx(0.2));
  CHECK(cover(a, {5, 0, 15, 20}) == Approx(0.5));
  CHECK(iou({3, 3, 3, 8}, {3, 3, 3, 8}) == 0.0);  // degenerate boxes have no area
  CHECK(iou(a, {5, 5, 15, 15}) == iou({5, 5, 15, 15}, a));
}

TEST_CASE("grounding: boxes on the 0-99 grid, format and parse", "[grounding]") {
  CHECK(to_grid({0, 0, 64, 64}, 64, 64) == Box{0, 0, 99, 99});
  // 32/64*99 = 49.5 -> 50, 16/64*99 = 24.75 -> 25, 48/64*99 = 74.25 -> 74.
  const Box g = to_grid({32, 16, 48, 64}, 64, 64);
  CHECK(format_box(g) == "50,25,74,99");
  const Box back = from_grid(g, 64, 64);
  CHECK(back.x1 == Approx(50 * 64.0 / 99));
  CHECK(std::abs(back.x1 - 32) <= 64.0 / 198 + 1e-9);
  CHECK(std::abs(back.y2 - 64) <= 64.0 / 198 + 1e-9);
  CHECK(to_grid({-5, 0, 70, 64}, 64, 64) == Box{0, 0, 99, 99});  // clamped

  CHECK(parse_box("12,40,37,88") == Box{12, 40, 37, 88});
  CHECK(parse_box(" 12,40,37,88\n") == Box{12, 40, 37, 88});
  CHECK(parse_box("5,5,5,5") == Box{5, 5, 5, 5});  // equal corners allowed
  CHECK(parse_box("0,0,99,99") == Box{0, 0, 99, 99});
  CHECK(parse_box("07,0,9,9") == Box{7, 0, 9, 9});
  for (const char* bad : {"", "1,2,3", "1,2,3,4,5", "1,2,3,4,", ",1,2,3", "a,b,c,d", "1,2,100,4", "-1,2,3,4",
                          "1, 2,3,4", "1,,3,4", "3,2,1,4", "1,4,3,2", "007,1,2,3", "1.5,2,3,4", "12 40 37 88",
                          "99999999999999999999,1,2,3", "1,2,3,4x"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_box(bad).has_value());
  }
  // Every grid box formats and parses back; random text never throws and what
  // parses formats to a text that parses to the same box.
  for (int x1 = 0; x1 <= 99; x1 += 7)
    for (int x2 = x1; x2 <= 99; x2 += 13) {
      const Box b{double(x1), double(x2 / 2), double(x2), double(x2)};
      CHECK(parse_box(format_box(b)) == b);
    }
  std::mt19937 rng(7);
  const std::string alphabet = "0123456789,, -x";
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    for (size_t n = rng() % 14; n > 0; --n) s.push_back(alphabet[rng() % alphabet.size()]);
    std::optional<Box> b;
    REQUIRE_NOTHROW(b = parse_box(s));
    if (!b) continue;
    ++parsed;
    CHECK(parse_box(format_box(*b)) == *b);
    CHECK(b->x1 <= b->x2);
    CHECK(b->y2 <= 99);
  }
  CHECK(parsed > 0);
}

TEST_CASE("grounding: scenes are deterministic, inside the canvas, with limited overlap", "[grounding]") {
  const FashionMnist& test = items("test");
  const SceneOptions opt;
  const Scene a = make_scene(test, opt, 42), b = make_scene(test, opt, 42), c = make_scene(test, opt, 43);
  CHECK(a.image.pixels == b.image.pixels);
  REQUIRE(a.items.size() == b.items.size());
  for (size_t i = 0; i < a.items.size(); ++i) CHECK(a.items[i].box == b.items[i].box);
  CHECK(a.image.pixels != c.image.pixels);

  std::map<size_t, int> counts;
  int64_t dropped = 0;
  for (int64_t s = 0; s < 300; ++s) {
    const Scene sc = make_scene(test, opt, stream_seed(5, 1, s));
    CHECK(sc.image.channels == 1);
    CHECK(sc.image.height == 64);
    CHECK(sc.image.width == 64);
    REQUIRE(sc.items.size() >= 2);
    REQUIRE(sc.items.size() <= 5);
    ++counts[sc.items.size()];
    dropped += sc.drawn - static_cast<int64_t>(sc.items.size());
    for (size_t i = 0; i < sc.items.size(); ++i) {
      const Item& it = sc.items[i];
      CHECK(it.label == test.labels[static_cast<size_t>(it.source)]);
      CHECK(it.box.x1 >= 0);
      CHECK(it.box.y1 >= 0);
      CHECK(it.box.x2 <= 64);
      CHECK(it.box.y2 <= 64);
      CHECK(it.box.width() >= 1);
      CHECK(it.box.x1 >= it.left);
      CHECK(it.box.x2 <= it.left + it.side);
      CHECK(it.side >= 14);
      CHECK(it.side <= 28);
      CHECK(it.area == Approx(it.box.area()));
      for (size_t j = 0; j < i; ++j) {
        CHECK(iou(it.box, sc.items[j].box) <= 0.2 + 1e-12);
        CHECK(cover(it.box, sc.items[j].box) <= 0.5 + 1e-12);
      }
      // Tight: each edge row and column of the box holds a pixel brighter than
      // the threshold (compositing with max never darkens an item).
      auto inked_row = [&](int64_t y) {
        for (auto x = static_cast<int64_t>(it.box.x1); x < it.box.x2; ++x)
          if (sc.image.at(0, y, x) > opt.ink_threshold) return true;
        return false;
      };
      auto inked_col = [&](int64_t x) {
        for (auto y = static_cast<int64_t>(it.box.y1); y < it.box.y2; ++y)
          if (sc.image.at(0, y, x) > opt.ink_threshold) return true;
        return false;
      };
      CHECK(inked_row(static_cast<int64_t>(it.box.y1)));
      CHECK(inked_row(static_cast<int64_t>(it.box.y2) - 1));
      CHECK(inked_col(static_cast<int64_t>(it.box.x1)));
      CHECK(inked_col(static_cast<int64_t>(it.box.x2) - 1));
    }
    // Every inked canvas pixel belongs to some item's box.
    for (int64_t y = 0; y < 64; ++y)
      for (int64_t x = 0; x < 64; ++x)
        if (sc.image.at(0, y, x) > opt.ink_threshold) {
          bool inside = false;
          for (const Item& it : sc.items) inside |= x >= it.box.x1 && x < it.box.x2 && y >= it.box.y1 && y < it.box.y2;
          REQUIRE(inside);
        }
  }
  CHECK(counts.size() == 4);  // 2, 3, 4 and 5 items all occur
  CHECK(dropped < 30);        // placement rarely gives up at the defaults

  SceneOptions tight;
  tight.canvas = 28, tight.min_items = 5, tight.max_items = 5, tight.min_size = 28, tight.max_size = 28,
  tight.max_tries = 3;
  CHECK_THROWS_WITH(make_scene(test, tight, 1), Catch::Matchers::Contains("use a larger canvas"));
  SceneOptions bad;
  bad.max_size = 80;
  CHECK_THROWS_WITH(make_scene(test, bad, 1), Catch::Matchers::Contains("max_size <= canvas"));
}

TEST_CASE("grounding: the resolver follows each cue's semantics on a hand-made scene", "[grounding]") {
  Scene s;
  s.image = Image(1, 64, 64);
  // Two bags: bag 0 left and upper and big; bag 1 right and lower and small.
  s.items.push_back(item_at(8, 2, 2, 26, 26));     // 0: bag, centre (14, 14), area 576
  s.items.push_back(item_at(8, 40, 40, 52, 52));   // 1: bag, centre (46, 46), area 144
  s.items.push_back(item_at(4, 44, 10, 60, 30));   // 2: coat, centre (52, 20)
  s.items.push_back(item_at(5, 4, 44, 20, 60));    // 3: sandal, centre (12, 52)
  auto ids = [&](Expression e) { return resolve(e, s); };
  Expression bag;
  bag.label = 8;
  CHECK(ids(bag) == std::vector<int>{0, 1});
  Expression e = bag;
  e.location = Location::left;
  CHECK(ids(e) == std::vector<int>{0});
  e.location = Location::right;
  CHECK(ids(e) == std::vector<int>{1});
  e.location = Location::upper;
  CHECK(ids(e) == std::vector<int>{0});
  e.location = Location::lower;
  CHECK(ids(e) == std::vector<int>{1});
  e = bag;
  e.size = Size::bigger;
  CHECK(ids(e) == std::vector<int>{0});
  e.size = Size::smaller;
  CHECK(ids(e) == std::vector<int>{1});
  e = bag;
  // Bag 1's nearest other-class item is the coat (26.7; sandal 34.5, beyond the
  // 6.4 px margin) and bag 0's coat is at 38.5, beyond 26.7 + 6.4: bag 1.
  e.landmark = 4;
  CHECK(ids(e) == std::vector<int>{1});
  // "Next to the sandal": bag 0's sandal (38.05) and coat (38.5) are within the
  // 6.4 px margin of each other, so not clearly; bag 1's coat is nearer than its
  // sandal (34.5). Neither bag is named.
  e.landmark = 5;
  CHECK(ids(e).empty());
  e.landmark = 8;  // "the bag next to the bag" names nothing
  CHECK(ids(e).empty());
  Expression coat;
  coat.label = 4;
  CHECK(ids(coat) == std::vector<int>{2});
  coat.landmark = 8;  // the coat's nearest other-class item is bag 1 (26.8) vs sandal (50.9)
  CHECK(ids(coat) == std::vector<int>{2});
  // Two cues hold together.
  e = bag;
  e.size = Size::smaller;
  e.landmark = 4;
  CHECK(ids(e) == std::vector<int>{1});
  e.size = Size::bigger;
  CHECK(ids(e).empty());
  // Within the margin nothing is "left": centres 6 px apart (margin 8 px).
  s.items[1] = item_at(8, 8, 40, 32, 64);  // centre x 20 vs 14, same area as bag 0
  e = bag;
  e.location = Location::left;
  CHECK(ids(e).empty());
  e.size = Size::none, e.location = Location::upper;
  CHECK(ids(e) == std::vector<int>{0});
  e.location = Location::none, e.size = Size::bigger;
  CHECK(ids(e).empty());  // equal areas

  Expression t;
  t.label = 8, t.size = Size::bigger, t.location = Location::left, t.landmark = 4;
  CHECK(t.text() == "the bigger bag on the left next to the coat");
  t.size = Size::none;
  CHECK(t.text() == "the left bag next to the coat");
  t.landmark = -1, t.location = Location::none;
  CHECK(t.text() == "the bag");
  t.size = Size::smaller, t.location = Location::lower;
  CHECK(t.text() == "the smaller bag at the bottom");
  CHECK(t.cue_count() == 2);
}

TEST_CASE("grounding: every generated expression names exactly its target (500 scenes per group)", "[grounding]") {
  std::vector<std::string> groups = group_names();
  groups.push_back("train");
  for (const auto& group : groups) {
    INFO(group);
    const FashionMnist& src = items(split_of_group(group));
    std::map<Family, int> families;
    std::set<std::string> texts;
    for (int64_t i = 0; i < 500; ++i) {
      const GroundingExample ex = make_example(src, group, 3, i);
      const Expression& e = ex.expression;
      const std::string text = e.text();
      INFO(i << ": " << text);
      ++families[ex.family];
      texts.insert(text);
      REQUIRE(e.target >= 0);
      REQUIRE(e.target < static_cast<int>(ex.scene.items.size()));
      const Item& target = ex.scene.items[static_cast<size_t>(e.target)];
      CHECK(resolve(e, ex.scene) == std::vector<int>{e.target});
      CHECK(e.label == target.label);
      CHECK(ex.target_grid == to_grid(target.box, 64, 64));
      CHECK(text.rfind("the " , 0) == 0);
      CHECK(text.find(class_names()[static_cast<size_t>(e.label)]) != std::string::npos);
      int same_class = 0;
      for (const Item& it : ex.scene.items) same_class += it.label == e.label;
      const bool repeats = same_class > 1;
      switch (ex.family) {
        case Family::class_only:
          CHECK_FALSE(repeats);
          CHECK(e.cue_count() == 0);
          break;
        case Family::location:
          CHECK(repeats);
          CHECK(e.cue_count() == 1);
          CHECK(e.location != Location::none);
          break;
        case Family::class_relation:
          CHECK_FALSE(repeats);
          CHECK(e.cue_count() == 1);
          CHECK(e.landmark >= 0);
          break;
        case Family::size_or_relation:
          CHECK(repeats);
          CHECK(e.cue_count() == 1);
          CHECK(e.location == Location::none);
          break;
        case Family::two_cues:
          CHECK(repeats);
          CHECK(e.cue_count() == 2);
          break;
      }
      if (group.rfind("ref+", 0) == 0) CHECK_FALSE(has_location_word(text));
      if (e.landmark >= 0) CHECK(e.landmark != e.label);
      // The opposite location names someone else (or no one), never the target.
      if (e.location != Location::none) {
        Expression o = e;
        o.location = e.location == Location::left    ? Location::right
                     : e.location == Location::right ? Location::left
                     : e.location == Location::upper ? Location::lower
                                                     : Location::upper;
        const auto r = resolve(o, ex.scene);
        CHECK(std::find(r.begin(), r.end(), e.target) == r.end());
      }
      if (e.size != Size::none) {
        Expression o = e;
        o.size = e.size == Size::bigger ? Size::smaller : Size::bigger;
        const auto r = resolve(o, ex.scene);
        CHECK(std::find(r.begin(), r.end(), e.target) == r.end());
      }
    }
    CHECK(texts.size() >= (group == "ref.testA" ? 10u : 30u));  // varied expressions (testA: the 10 classes)
    if (group == "ref.val" || group == "ref+.val") {
      CHECK(families.size() == 2);
      for (const auto& [f, n] : families) CHECK(std::abs(n - 250) < 50);  // 50/50
    } else if (group == "train") {
      CHECK(families.size() == 5);
    } else {
      CHECK(families.size() == 1);
    }
  }
}

TEST_CASE("grounding: examples are deterministic by (seed, group, index)", "[grounding]") {
  const FashionMnist& test = items("test");
  const auto a = make_example(test, "refg.val", 9, 17), b = make_example(test, "refg.val", 9, 17);
  CHECK(a.expression.text() == b.expression.text());
  CHECK(a.target_grid == b.target_grid);
  CHECK(a.scene.image.pixels == b.scene.image.pixels);
  CHECK(a.attempts == b.attempts);
  // Another group, seed or index gives another scene.
  CHECK(make_example(test, "refg.test", 9, 17).scene.image.pixels != a.scene.image.pixels);
  CHECK(make_example(test, "refg.val", 10, 17).scene.image.pixels != a.scene.image.pixels);
  CHECK(make_example(test, "refg.val", 9, 18).scene.image.pixels != a.scene.image.pixels);
  // Groups read the right split.
  CHECK(split_of_group("train") == "train");
  CHECK(split_of_group("ref+.testB") == "test");
  CHECK_THROWS_WITH(split_of_group("refcoco"), Catch::Matchers::Contains("unknown grounding group 'refcoco'"));
  CHECK_THROWS_WITH(make_example(items("train"), "ref.val", 1, 0),
                    Catch::Matchers::Contains("made of Fashion-MNIST test items, not train ones"));
}

TEST_CASE("grounding: pretraining questions are answered correctly, held-out sets apart", "[grounding]") {
  const FashionMnist& train = items("train");
  const FashionMnist& test = items("test");
  std::map<std::string, int> kinds;
  std::map<std::string, std::map<std::string, int>> answers;
  for (int64_t i = 0; i < 400; ++i) {
    const QuestionExample ex = make_question_example(test, "test", 1, i);
    const Question& q = ex.question;
    INFO(i << ": " << q.text << " -> " << q.answer);
    ++kinds[q.kind];
    ++answers[q.kind][q.answer];
    CHECK(std::find(q.candidates.begin(), q.candidates.end(), q.answer) != q.candidates.end());
    CHECK(std::set<std::string>(q.candidates.begin(), q.candidates.end()).size() == q.candidates.size());
    const auto& its = ex.scene.items;
    std::set<std::string> present;
    for (const Item& it : its) present.insert(class_names()[static_cast<size_t>(it.label)]);
    if (q.kind == "items") {
      CHECK(q.answer == std::to_string(its.size()));
    } else if (q.kind == "shoes") {
      int n = 0;
      for (const Item& it : its) n += it.label == 5 || it.label == 7 || it.label == 9;
      CHECK(q.answer == std::to_string(n));
    } else if (q.kind == "exists") {
      const std::string cls = q.text.substr(11, q.text.size() - 12);  // "is there a X?"
      REQUIRE(class_index(cls) >= 0);
      CHECK(q.answer == (present.count(cls) ? "yes" : "no"));
    } else if (q.kind == "biggest") {
      const auto big = std::max_element(its.begin(), its.end(), [](const Item& a, const Item& b) { return a.area < b.area; });
      CHECK(q.answer == class_names()[static_cast<size_t>(big->label)]);
    } else if (q.kind == "where") {
      const bool bottom = q.text.find("bottom") != std::string::npos, right = q.text.find("right") != std::string::npos;
      const Box quad{right ? 32.0 : 0.0, bottom ? 32.0 : 0.0, right ? 64.0 : 32.0, bottom ? 64.0 : 32.0};
      int at = 0;
      for (const Item& it : its) {
        const double share = cover(it.box, quad) * std::min(it.box.area(), quad.area()) / it.box.area();
        if (share >= 0.6) {
          ++at;
          CHECK(q.answer == class_names()[static_cast<size_t>(it.label)]);
        }
        if (q.answer == "nothing") CHECK(share <= 0.15);
      }
      CHECK(at == (q.answer == "nothing" ? 0 : 1));
    }
  }
  CHECK(kinds.size() == question_kinds().size());
  CHECK(std::abs(answers["exists"]["yes"] - answers["exists"]["no"]) < 40);
  CHECK(answers["where"].size() >= 8);
  CHECK(answers["where"]["nothing"] < 30);
  // Deterministic by seed; the pretraining and held-out sets are streams of their
  // own (different scenes even of the same items) and each reads its split.
  const auto a = make_question_example(train, "train", 1, 5), b = make_question_example(train, "train", 1, 5);
  CHECK(a.question.text == b.question.text);
  CHECK(a.scene.image.pixels == b.scene.image.pixels);
  const FashionMnist& same = synthetic_items("either");
  std::set<std::vector<float>> train_scenes;
  for (int64_t i = 0; i < 100; ++i) train_scenes.insert(make_question_example(same, "train", 1, i).scene.image.pixels);
  int shared = 0;
  for (int64_t i = 0; i < 100; ++i) shared += train_scenes.count(make_question_example(same, "test", 1, i).scene.image.pixels);
  CHECK(shared == 0);
  CHECK_THROWS_WITH(make_question_example(train, "test", 1, 0),
                    Catch::Matchers::Contains("made of Fashion-MNIST test items, not train ones"));
  CHECK_THROWS_WITH(make_question(a.scene, "colour", 1), Catch::Matchers::Contains("unknown question kind 'colour'"));
}

TEST_CASE("grounding: reference predictors and box scores", "[grounding]") {
  Scene s;
  s.image = Image(1, 64, 64);
  s.items.push_back(item_at(1, 0, 0, 10, 10));
  s.items.push_back(item_at(2, 20, 20, 50, 40));
  s.items.push_back(item_at(3, 40, 0, 60, 10));
  CHECK(largest_item_box(s) == Box{20, 20, 50, 40});
  std::set<double> picked;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const Box b = random_item_box(s, seed);
    CHECK(b == random_item_box(s, seed));
    CHECK((b == s.items[0].box || b == s.items[1].box || b == s.items[2].box));
    picked.insert(b.x1);
  }
  CHECK(picked.size() == 3);
  CHECK(mean_box({{0, 0, 10, 10}, {10, 20, 30, 40}}) == Box{5, 10, 20, 25});
  CHECK_THROWS_AS(mean_box({}), Error);
  // IoUs 1, 25/175 and 0: mean 0.3810, one of three >= 0.5.
  const BoxScores sc = score_boxes({{0, 0, 10, 10}, {5, 5, 15, 15}, {50, 50, 60, 60}},
                                   {{0, 0, 10, 10}, {0, 0, 10, 10}, {0, 0, 10, 10}});
  CHECK(sc.n == 3);
  CHECK(sc.mean_iou == Approx((1.0 + 25.0 / 175.0) / 3.0));
  CHECK(sc.acc50 == Approx(1.0 / 3.0));
  CHECK_THROWS_AS(score_boxes({Box{}}, {}), Error);
}

// The reference predictors of Table 1's columns and how often each group had to
// redraw its scene: `dist2_tests "[grounding-table]"` prints them (hidden).
TEST_CASE("grounding: reference predictors per column group (printed)", "[.][grounding-table]") {
  const FashionMnist& train = items("train");
  const FashionMnist& test = items("test");
  const int64_t n = 1000;
  std::vector<Box> train_boxes;
  for (int64_t i = 0; i < n; ++i) train_boxes.push_back(make_example(train, "train", 1, i).target_grid);
  const Box mean = mean_box(train_boxes);
  std::printf("mean training box (grid): %.1f,%.1f,%.1f,%.1f\n", mean.x1, mean.y1, mean.x2, mean.y2);
  std::printf("| group | redrawn | scenes/example | items | random IoU | random Acc@0.5 | largest IoU | largest Acc@0.5 "
              "| mean-box IoU | mean-box Acc@0.5 |\n|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<std::string> groups = group_names();
  groups.push_back("train");
  for (const auto& group : groups) {
    std::vector<Box> truth, random, largest, means;
    double redrawn = 0, attempts = 0, n_items = 0;
    for (int64_t i = 0; i < n; ++i) {
      const GroundingExample ex = make_example(group == "train" ? train : test, group, 1, i);
      truth.push_back(ex.target_grid);
      random.push_back(to_grid(random_item_box(ex.scene, static_cast<uint64_t>(i)), 64, 64));
      largest.push_back(to_grid(largest_item_box(ex.scene), 64, 64));
      means.push_back(mean);
      redrawn += ex.attempts > 1;
      attempts += static_cast<double>(ex.attempts);
      n_items += static_cast<double>(ex.scene.items.size());
    }
    const BoxScores r = score_boxes(random, truth), l = score_boxes(largest, truth), m = score_boxes(means, truth);
    std::printf("| %s | %.1f%% | %.2f | %.2f | %.3f | %.1f%% | %.3f | %.1f%% | %.3f | %.1f%% |\n", group.c_str(),
                100 * redrawn / n, attempts / n, n_items / n, r.mean_iou, 100 * r.acc50, l.mean_iou, 100 * l.acc50,
                m.mean_iou, 100 * m.acc50);
    CHECK(r.acc50 > 0.1);
    CHECK(r.acc50 < 0.6);
    CHECK(m.acc50 < r.acc50);
  }
}
