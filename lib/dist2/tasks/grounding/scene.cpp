#include "dist2/tasks/grounding/scene.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dist2/util/error.h"
#include "dist2/util/hash.h"
#include "dist2/util/splitmix.h"

namespace dist2::grounding {

namespace {

// A splitmix64 generator with its own integer and real draws: unlike the
// standard distributions, the same on every standard library, so a seed makes
// the same scenes under g++ and clang.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += kSplitMix64Gamma;
    return splitmix64_mix(state_);
  }
  // Uniform in [lo, hi] (inclusive), unbiased (rejection).
  int64_t uniform(int64_t lo, int64_t hi) {
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    if (range == 0) return static_cast<int64_t>(next());  // the whole 64-bit range
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return lo + static_cast<int64_t>(x % range);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  uint64_t state_;
};

constexpr int kMaxSceneRedraws = 100;
constexpr int kMaxExampleAttempts = 1000;

double centre_distance(const Item& a, const Item& b) { return std::hypot(a.cx - b.cx, a.cy - b.cy); }

// Distance from item i to its nearest item of class `label` (infinite when none).
double nearest_of_class(const Scene& s, int i, int label) {
  double d = std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < s.items.size(); ++j)
    if (static_cast<int>(j) != i && s.items[j].label == label) d = std::min(d, centre_distance(s.items[i], s.items[j]));
  return d;
}

// The class of item i's nearest item of another class, -1 when none.
int nearest_other_class(const Scene& s, int i) {
  double best = std::numeric_limits<double>::infinity();
  int label = -1;
  for (size_t j = 0; j < s.items.size(); ++j) {
    if (s.items[j].label == s.items[i].label) continue;
    const double d = centre_distance(s.items[i], s.items[j]);
    if (d < best) best = d, label = s.items[j].label;
  }
  return label;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

}  // namespace

const std::array<std::string, 10>& class_names() {
  static const std::array<std::string, 10> n = {"t-shirt", "trouser", "pullover", "dress", "coat",
                                                "sandal",  "shirt",   "sneaker",  "bag",   "boot"};
  return n;
}

int class_index(std::string_view name) {
  for (size_t i = 0; i < class_names().size(); ++i)
    if (class_names()[i] == name) return static_cast<int>(i);
  return -1;
}

// ---- boxes ----

double iou(const Box& a, const Box& b) {
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1), h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double inter = w > 0 && h > 0 ? w * h : 0.0;
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

double cover(const Box& a, const Box& b) {
  const double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1), h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double smaller = std::min(a.area(), b.area());
  return w > 0 && h > 0 && smaller > 0 ? w * h / smaller : 0.0;
}

Box to_grid(const Box& p, int64_t canvas_width, int64_t canvas_height) {
  DIST2_CHECK(canvas_width > 0 && canvas_height > 0, "to_grid: canvas {}x{} is empty", canvas_width, canvas_height);
  auto g = [](double v, int64_t side) {
    return std::clamp(std::round(v / static_cast<double>(side) * kGridMax), 0.0, static_cast<double>(kGridMax));
  };
  return {g(p.x1, canvas_width), g(p.y1, canvas_height), g(p.x2, canvas_width), g(p.y2, canvas_height)};
}

Box from_grid(const Box& g, int64_t canvas_width, int64_t canvas_height) {
  const double sx = static_cast<double>(canvas_width) / kGridMax, sy = static_cast<double>(canvas_height) / kGridMax;
  return {g.x1 * sx, g.y1 * sy, g.x2 * sx, g.y2 * sy};
}

std::string format_box(const Box& g) {
  return fmt::format("{},{},{},{}", std::lround(g.x1), std::lround(g.y1), std::lround(g.x2), std::lround(g.y2));
}

std::optional<Box> parse_box(std::string_view text) {
  const std::string s = trim(text);
  double v[4];
  size_t at = 0;
  for (int k = 0; k < 4; ++k) {
    if (k > 0) {
      if (at >= s.size() || s[at] != ',') return std::nullopt;
      ++at;
    }
    const size_t start = at;
    int value = 0;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])) && at - start < 3)
      value = value * 10 + (s[at++] - '0');
    const size_t digits = at - start;
    if (digits == 0 || digits > 2) return std::nullopt;  // also "100" and longer: out of range
    v[k] = value;
  }
  if (at != s.size()) return std::nullopt;
  if (v[0] > v[2] || v[1] > v[3]) return std::nullopt;
  return Box{v[0], v[1], v[2], v[3]};
}

// ---- scenes ----

void SceneOptions::validate() const {
  DIST2_CHECK(canvas >= 8 && canvas <= 4096, "scene canvas {} is not in [8, 4096]", canvas);
  DIST2_CHECK(min_items >= 1 && min_items <= max_items && max_items <= 20,
              "scene items [{}, {}]: need 1 <= min_items <= max_items <= 20", min_items, max_items);
  DIST2_CHECK(min_size >= 4 && min_size <= max_size && max_size <= canvas,
              "item sizes [{}, {}]: need 4 <= min_size <= max_size <= canvas ({})", min_size, max_size, canvas);
  DIST2_CHECK(max_iou >= 0 && max_iou <= 1, "max_iou {} is not in [0, 1]", max_iou);
  DIST2_CHECK(max_cover >= 0 && max_cover <= 1, "max_cover {} is not in [0, 1]", max_cover);
  DIST2_CHECK(max_tries >= 1 && max_tries <= 100000, "max_tries {} is not in [1, 100000]", max_tries);
  DIST2_CHECK(background >= 0 && background <= 1, "background {} is not in [0, 1]", background);
  DIST2_CHECK(ink_threshold >= 0 && ink_threshold < 1, "ink_threshold {} is not in [0, 1)", ink_threshold);
}

uint64_t stream_seed(uint64_t seed, uint64_t stream, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) + static_cast<uint64_t>(index));
}

Scene make_scene(const FashionMnist& source, const SceneOptions& opt, uint64_t seed) {
  opt.validate();
  DIST2_CHECK(source.count > 0, "Fashion-MNIST {} has no items to make scenes of", source.split);
  const int64_t C = opt.canvas;
  for (int64_t redraw = 0; redraw < kMaxSceneRedraws; ++redraw) {
    Rng rng(splitmix64(seed + static_cast<uint64_t>(redraw) * 0xD1B54A32D192ED03ull));
    Scene s;
    s.redraws = redraw;
    s.image = Image(1, C, C, opt.background);
    s.drawn = rng.uniform(opt.min_items, opt.max_items);
    for (int64_t k = 0; k < s.drawn; ++k) {
      Item item;
      item.source = rng.uniform(0, source.count - 1);
      item.label = source.labels[static_cast<size_t>(item.source)];
      item.side = rng.uniform(opt.min_size, opt.max_size);
      const Image img = resize(source.image(item.source), item.side, item.side, ResizeMode::area);
      const PixelBox ink = ink_box(img, opt.ink_threshold);
      if (ink.empty()) continue;  // nothing visible to refer to: dropped
      bool placed = false;
      for (int64_t t = 0; t < opt.max_tries && !placed; ++t) {
        item.top = rng.uniform(0, C - item.side);
        item.left = rng.uniform(0, C - item.side);
        item.box = {static_cast<double>(item.left + ink.x1), static_cast<double>(item.top + ink.y1),
                    static_cast<double>(item.left + ink.x2), static_cast<double>(item.top + ink.y2)};
        placed = std::all_of(s.items.begin(), s.items.end(), [&](const Item& o) {
          return iou(item.box, o.box) <= opt.max_iou && cover(item.box, o.box) <= opt.max_cover;
        });
      }
      if (!placed) continue;
      item.cx = item.box.cx(), item.cy = item.box.cy(), item.area = item.box.area();
      paste_max(s.image, img, item.top, item.left);
      s.items.push_back(item);
    }
    if (static_cast<int64_t>(s.items.size()) >= opt.min_items) return s;
  }
  throw Error(fmt::format("no scene with {} items of {}-{} px found room on a {}x{} canvas in {} draws "
                          "(max_iou {}, max_cover {}): use a larger canvas or smaller or fewer items",
                          opt.min_items, opt.min_size, opt.max_size, C, C, kMaxSceneRedraws, opt.max_iou,
                          opt.max_cover));
}

// ---- referring expressions ----

int Expression::cue_count() const {
  return (location != Location::none) + (size != Size::none) + (landmark >= 0);
}

std::string Expression::text() const {
  DIST2_CHECK(label >= 0 && label < 10, "expression with no class (label {})", label);
  static const char* adjective[] = {"", "left", "right", "upper", "lower"};
  static const char* phrase[] = {"", "on the left", "on the right", "at the top", "at the bottom"};
  const auto loc = static_cast<size_t>(location);
  std::string s = "the ";
  if (size != Size::none) s += size == Size::bigger ? "bigger " : "smaller ";
  if (location != Location::none && size == Size::none) s += std::string(adjective[loc]) + " ";
  s += class_names()[static_cast<size_t>(label)];
  if (location != Location::none && size != Size::none) s += std::string(" ") + phrase[loc];
  if (landmark >= 0) s += " next to the " + class_names().at(static_cast<size_t>(landmark));
  return s;
}

std::vector<int> resolve(const Expression& e, const Scene& scene, const CueRules& r) {
  const double C = static_cast<double>(scene.image.width);
  const double lm = r.location_margin * C, rm = r.relation_margin * C;
  if (e.landmark >= 0 && e.landmark == e.label) return {};  // "the bag next to the bag" names nothing
  std::vector<int> cands;
  for (size_t i = 0; i < scene.items.size(); ++i)
    if (scene.items[i].label == e.label) cands.push_back(static_cast<int>(i));
  auto holds = [&](int c) {
    const Item& a = scene.items[static_cast<size_t>(c)];
    double dc = 0;
    if (e.landmark >= 0) {
      // Its nearest item of another class is of class L, clearly nearer than any third class.
      dc = nearest_of_class(scene, c, e.landmark);
      if (!std::isfinite(dc)) return false;
      for (size_t j = 0; j < scene.items.size(); ++j) {
        const int l = scene.items[j].label;
        if (l != e.label && l != e.landmark && centre_distance(a, scene.items[j]) < dc + rm) return false;
      }
    }
    for (int o : cands) {
      if (o == c) continue;
      const Item& b = scene.items[static_cast<size_t>(o)];
      switch (e.location) {
        case Location::none: break;
        case Location::left: if (!(a.cx + lm <= b.cx)) return false; break;
        case Location::right: if (!(a.cx >= b.cx + lm)) return false; break;
        case Location::upper: if (!(a.cy + lm <= b.cy)) return false; break;
        case Location::lower: if (!(a.cy >= b.cy + lm)) return false; break;
      }
      if (e.size == Size::bigger && !(a.area >= r.size_ratio * b.area)) return false;
      if (e.size == Size::smaller && !(a.area * r.size_ratio <= b.area)) return false;
      if (e.landmark >= 0 && !(dc + rm <= nearest_of_class(scene, o, e.landmark))) return false;
    }
    return true;
  };
  std::vector<int> out;
  for (int c : cands)
    if (holds(c)) out.push_back(c);
  return out;
}

const char* family_name(Family f) {
  switch (f) {
    case Family::class_only: return "class_only";
    case Family::location: return "location";
    case Family::class_relation: return "class_relation";
    case Family::size_or_relation: return "size_or_relation";
    case Family::two_cues: return "two_cues";
  }
  return "?";
}

std::optional<Expression> make_expression(const Scene& scene, Family family, uint64_t seed, const CueRules& rules) {
  const int n = static_cast<int>(scene.items.size());
  std::array<int, 10> per_class{};
  for (const Item& it : scene.items) ++per_class[static_cast<size_t>(it.label)];
  std::vector<int> eligible;
  std::vector<std::vector<Expression>> options(static_cast<size_t>(n));
  for (int t = 0; t < n; ++t) {
    Expression base;
    base.target = t;
    base.label = scene.items[static_cast<size_t>(t)].label;
    auto names_target = [&](const Expression& e) {
      const auto r = resolve(e, scene, rules);
      return r.size() == 1 && r[0] == t;
    };
    const bool unique = per_class[static_cast<size_t>(base.label)] == 1;
    // The single cues that name the target.
    std::vector<Expression> locations, sizes, relations;
    for (Location l : {Location::left, Location::right, Location::upper, Location::lower}) {
      Expression e = base;
      e.location = l;
      if (!unique && names_target(e)) locations.push_back(e);
    }
    for (Size z : {Size::bigger, Size::smaller}) {
      Expression e = base;
      e.size = z;
      if (!unique && names_target(e)) sizes.push_back(e);
    }
    if (const int landmark = nearest_other_class(scene, t); landmark >= 0) {
      Expression e = base;
      e.landmark = landmark;
      if (names_target(e)) relations.push_back(e);
    }
    auto& opts = options[static_cast<size_t>(t)];
    switch (family) {
      case Family::class_only:
        if (unique) opts.push_back(base);
        break;
      case Family::location:
        opts = locations;
        break;
      case Family::class_relation:
        if (unique) opts = relations;
        break;
      case Family::size_or_relation:
        if (!unique) {
          opts = sizes;
          opts.insert(opts.end(), relations.begin(), relations.end());
        }
        break;
      case Family::two_cues: {
        if (unique) break;
        auto combine = [&](const std::vector<Expression>& as, const std::vector<Expression>& bs) {
          for (const auto& a : as)
            for (const auto& b : bs) {
              Expression e = base;
              e.location = a.location != Location::none ? a.location : b.location;
              e.size = a.size != Size::none ? a.size : b.size;
              e.landmark = a.landmark >= 0 ? a.landmark : b.landmark;
              if (names_target(e)) opts.push_back(e);
            }
        };
        combine(sizes, locations);
        combine(sizes, relations);
        combine(locations, relations);
        break;
      }
    }
    if (!opts.empty()) eligible.push_back(t);
  }
  if (eligible.empty()) return std::nullopt;
  Rng rng(splitmix64(seed));
  const int t = rng.pick(eligible);
  return rng.pick(options[static_cast<size_t>(t)]);
}

const std::vector<std::string>& group_names() {
  static const std::vector<std::string> g = {"ref.val",  "ref.testA",  "ref.testB", "ref+.val",
                                             "ref+.testA", "ref+.testB", "refg.val",  "refg.test"};
  return g;
}

std::string split_of_group(const std::string& group) {
  if (group == "train") return "train";
  for (const auto& g : group_names())
    if (g == group) return "test";
  throw Error(fmt::format("unknown grounding group '{}': expected train or one of {}", group,
                          fmt::format("{}", fmt::join(group_names(), ", "))));
}

namespace {
Family draw_family(const std::string& group, Rng& rng) {
  const bool a = rng.unit() < 0.5;  // drawn for every group so that streams line up
  if (group == "ref.testA") return Family::class_only;
  if (group == "ref.testB") return Family::location;
  if (group == "ref.val") return a ? Family::class_only : Family::location;
  if (group == "ref+.testA") return Family::class_relation;
  if (group == "ref+.testB") return Family::size_or_relation;
  if (group == "ref+.val") return a ? Family::class_relation : Family::size_or_relation;
  if (group == "refg.val" || group == "refg.test") return Family::two_cues;
  // train: ref, ref+, refg with probability 1/3 each.
  const int64_t dataset = rng.uniform(0, 2);
  if (dataset == 0) return a ? Family::class_only : Family::location;
  if (dataset == 1) return a ? Family::class_relation : Family::size_or_relation;
  return Family::two_cues;
}
}  // namespace

GroundingExample make_example(const FashionMnist& items, const std::string& group, uint64_t seed, int64_t index,
                              const SceneOptions& opt, const CueRules& rules) {
  const std::string split = split_of_group(group);  // also validates the group
  DIST2_CHECK(items.split != (split == "train" ? "test" : "train"),
              "grounding group {} is made of Fashion-MNIST {} items, not {} ones", group, split, items.split);
  Rng rng(stream_seed(seed, fnv1a64(group), index));
  GroundingExample ex;
  ex.group = group;
  ex.index = index;
  ex.family = draw_family(group, rng);
  for (ex.attempts = 1; ex.attempts <= kMaxExampleAttempts; ++ex.attempts) {
    ex.scene = make_scene(items, opt, rng.next());
    const uint64_t expression_seed = rng.next();
    if (auto e = make_expression(ex.scene, ex.family, expression_seed, rules)) {
      ex.expression = *e;
      ex.target_grid = to_grid(ex.scene.items[static_cast<size_t>(e->target)].box, opt.canvas, opt.canvas);
      return ex;
    }
  }
  throw Error(fmt::format("grounding group {}: no scene with a {} expression in {} draws (seed {}, example {})",
                          group, family_name(ex.family), kMaxExampleAttempts, seed, index));
}

GroundingExample make_example(const std::string& group, uint64_t seed, int64_t index, const SceneOptions& opt,
                              const CueRules& rules, const std::string& dir) {
  return make_example(load_fashion_mnist(split_of_group(group), dir), group, seed, index, opt, rules);
}

// ---- questions ----

const std::vector<std::string>& question_kinds() {
  static const std::vector<std::string> k = {"where", "shoes", "items", "exists", "biggest"};
  return k;
}

std::optional<Question> make_question(const Scene& scene, const std::string& kind, uint64_t seed) {
  Rng rng(splitmix64(seed));
  std::vector<std::string> classes(class_names().begin(), class_names().end());
  std::vector<std::string> digits;
  for (int d = 0; d <= 9; ++d) digits.push_back(std::to_string(d));
  const auto& items = scene.items;
  if (kind == "where") {
    // The quadrants with a clear answer, those naming an item apart from the empty
    // ones; an empty quadrant is asked about with probability 1/11 (as if
    // "nothing" were one more class), and the scene is redrawn when the drawn
    // kind of quadrant has none.
    const double W = static_cast<double>(scene.image.width), H = static_cast<double>(scene.image.height);
    std::vector<std::pair<int, std::string>> named, empty;
    for (int q = 0; q < 4; ++q) {
      const bool bottom = q >= 2, right = q % 2 == 1;
      const Box quad{right ? W / 2 : 0, bottom ? H / 2 : 0, right ? W : W / 2, bottom ? H : H / 2};
      std::vector<int> at, touch;
      for (size_t i = 0; i < items.size(); ++i) {
        const Box& b = items[i].box;
        const double w = std::min(b.x2, quad.x2) - std::max(b.x1, quad.x1);
        const double h = std::min(b.y2, quad.y2) - std::max(b.y1, quad.y1);
        const double share = w > 0 && h > 0 && b.area() > 0 ? w * h / b.area() : 0.0;
        if (share >= 0.6) at.push_back(static_cast<int>(i));
        if (share > 0.15) touch.push_back(static_cast<int>(i));
      }
      if (touch.empty()) empty.emplace_back(q, "nothing");
      else if (at.size() == 1 && touch.size() == 1)
        named.emplace_back(q, class_names()[static_cast<size_t>(items[static_cast<size_t>(at[0])].label)]);
    }
    const bool ask_empty = rng.unit() < 1.0 / 11.0;
    const auto& pool = ask_empty ? empty : named;
    if (pool.empty()) return std::nullopt;
    const auto& [q, answer] = rng.pick(pool);
    std::vector<std::string> cands = classes;
    cands.push_back("nothing");
    return Question{kind, fmt::format("what is at the {} {}?", q >= 2 ? "bottom" : "top", q % 2 ? "right" : "left"),
                    answer, cands};
  }
  if (kind == "shoes" || kind == "items") {
    int64_t n = 0;
    for (const Item& it : items) n += kind == "items" || it.label == 5 || it.label == 7 || it.label == 9;
    if (n > 9) return std::nullopt;
    return Question{kind, kind == "items" ? "how many items?" : "how many shoes?", std::to_string(n), digits};
  }
  if (kind == "exists") {
    std::array<bool, 10> present{};
    for (const Item& it : items) present[static_cast<size_t>(it.label)] = true;
    const bool yes = rng.unit() < 0.5;
    std::vector<int> pool;
    for (int l = 0; l < 10; ++l)
      if (present[static_cast<size_t>(l)] == yes) pool.push_back(l);
    if (pool.empty()) return std::nullopt;
    const int l = rng.pick(pool);
    return Question{kind, fmt::format("is there a {}?", class_names()[static_cast<size_t>(l)]), yes ? "yes" : "no",
                    {"yes", "no"}};
  }
  if (kind == "biggest") {
    if (items.empty()) return std::nullopt;
    std::vector<const Item*> by_area;
    for (const Item& it : items) by_area.push_back(&it);
    std::sort(by_area.begin(), by_area.end(), [](const Item* a, const Item* b) { return a->area > b->area; });
    if (by_area.size() > 1 && by_area[0]->area < 1.3 * by_area[1]->area) return std::nullopt;
    return Question{kind, "what is the biggest item?", class_names()[static_cast<size_t>(by_area[0]->label)], classes};
  }
  throw Error(fmt::format("unknown question kind '{}': expected one of {}", kind,
                          fmt::format("{}", fmt::join(question_kinds(), ", "))));
}

QuestionExample make_question_example(const FashionMnist& items, const std::string& split, uint64_t seed,
                                      int64_t index, const SceneOptions& opt) {
  DIST2_CHECK(split == "train" || split == "test", "question split '{}' is not one of: train, test", split);
  DIST2_CHECK(items.split != (split == "train" ? "test" : "train"),
              "{} questions are made of Fashion-MNIST {} items, not {} ones", split, split, items.split);
  Rng rng(stream_seed(seed, fnv1a64("questions." + split), index));
  QuestionExample ex;
  ex.split = split;
  ex.index = index;
  const std::string& kind = rng.pick(question_kinds());
  for (ex.attempts = 1; ex.attempts <= kMaxExampleAttempts; ++ex.attempts) {
    ex.scene = make_scene(items, opt, rng.next());
    if (auto q = make_question(ex.scene, kind, rng.next())) {
      ex.question = std::move(*q);
      return ex;
    }
  }
  throw Error(fmt::format("questions {}: no scene with a '{}' question in {} draws (seed {}, example {})", split, kind,
                          kMaxExampleAttempts, seed, index));
}

// ---- reference predictors ----

Box random_item_box(const Scene& scene, uint64_t seed) {
  DIST2_CHECK(!scene.items.empty(), "random_item_box: the scene has no items");
  Rng rng(splitmix64(seed));
  return rng.pick(scene.items).box;
}

Box largest_item_box(const Scene& scene) {
  DIST2_CHECK(!scene.items.empty(), "largest_item_box: the scene has no items");
  return std::max_element(scene.items.begin(), scene.items.end(),
                          [](const Item& a, const Item& b) { return a.area < b.area; })
      ->box;
}

Box mean_box(const std::vector<Box>& boxes) {
  DIST2_CHECK(!boxes.empty(), "mean_box of no boxes");
  Box m;
  const auto n = static_cast<double>(boxes.size());
  for (const Box& b : boxes) m.x1 += b.x1 / n, m.y1 += b.y1 / n, m.x2 += b.x2 / n, m.y2 += b.y2 / n;
  return m;
}

BoxScores score_boxes(const std::vector<Box>& predicted, const std::vector<Box>& truth) {
  DIST2_CHECK(predicted.size() == truth.size(), "score_boxes: {} predictions for {} boxes", predicted.size(),
              truth.size());
  BoxScores s;
  s.n = static_cast<int64_t>(truth.size());
  if (s.n == 0) return s;
  for (size_t i = 0; i < truth.size(); ++i) {
    const double v = iou(predicted[i], truth[i]);
    s.mean_iou += v;
    s.acc50 += v >= 0.5;
  }
  s.mean_iou /= static_cast<double>(s.n);
  s.acc50 /= static_cast<double>(s.n);
  return s;
}

}  // namespace dist2::grounding
