#include "dist2/tasks/manipulation/sim.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "dist2/util/error.h"
#include "dist2/util/splitmix.h"

namespace dist2::manipulation {

namespace {

constexpr double kRim = 2.0;  // px: the width of a receptacle's rim
constexpr int kRotationStep = 15, kMaxRotation = 165;  // asked rotations: 15, 30, ..., 165 degrees
constexpr uint64_t kTrainStream = 1, kL1Stream = 2, kL2Stream = 3, kAuxStream = 4;
// Goal::family, as indices into family_names().
constexpr int kPut = 0, kRotate = 1, kPutAll = 2;

const std::array<std::array<float, 3>, 6> kColourRgb = {{{0.9f, 0.15f, 0.15f},
                                                         {0.15f, 0.8f, 0.2f},
                                                         {0.2f, 0.35f, 0.95f},
                                                         {0.95f, 0.85f, 0.1f},
                                                         {0.65f, 0.25f, 0.85f},
                                                         {0.1f, 0.85f, 0.85f}}};
constexpr float kTable = 0.2f;

int uniform(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
double uniform_real(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

// Is the point (u, v), in the object's frame scaled to its half-size, inside its shape?
bool in_shape(int shape, double u, double v) {
  switch (shape) {
    case 0: return std::abs(u) <= 0.8 && std::abs(v) <= 0.8;  // square
    case 1: {                                                  // triangle, apex up
      if (v > 0.75 || v < -0.95) return false;
      const double half_width = 0.95 * (v + 0.95) / 1.7;
      return std::abs(u) <= half_width;
    }
    case 2: return std::abs(u) <= 1.0 && std::abs(v) <= 0.35;  // bar
    case 3: return (std::abs(u) <= 1.0 && std::abs(v) <= 0.3) || (std::abs(u) <= 0.3 && std::abs(v) <= 1.0);  // cross
    default: return u * u + v * v <= 0.8;  // disc
  }
}

bool object_covers(const Object& o, double x, double y) {
  const double a = -o.angle * M_PI / 180.0, dx = x - o.cx, dy = y - o.cy, h = o.size / 2;
  return in_shape(o.shape, (dx * std::cos(a) - dy * std::sin(a)) / h, (dx * std::sin(a) + dy * std::cos(a)) / h);
}

bool rim_covers(const Receptacle& r, double x, double y) {
  const double dx = std::abs(x - r.cx), dy = std::abs(y - r.cy), h = r.size / 2;
  if (r.kind == 0) {
    const double d = std::max(dx, dy);
    return d <= h && d >= h - kRim;
  }
  const double d = std::hypot(dx, dy);
  return d <= h && d >= h - kRim;
}

bool footprint_holds(const Object& o, double x, double y) {
  return std::abs(x - o.cx) <= o.size / 2 && std::abs(y - o.cy) <= o.size / 2;
}

std::string object_name(const Object& o) {
  return colour_names()[static_cast<size_t>(o.colour)] + " " + shape_names()[static_cast<size_t>(o.shape)];
}
std::string receptacle_name(const Receptacle& r) {
  return colour_names()[static_cast<size_t>(r.colour)] + " " + receptacle_kinds()[static_cast<size_t>(r.kind)];
}

int held_out_shape_of(int colour) {
  for (int s = 0; s < static_cast<int>(shape_names().size()); ++s)
    if (held_out(s, colour)) return s;
  throw Error(fmt::format("no held-out shape for colour {}", colour));
}

// Uniform centres that keep every footprint on the table and apart from the
// others (square footprints, a pixel of gap); false after too many tries.
bool place_all(std::vector<Receptacle>& recs, std::vector<Object>& objs, int64_t canvas, std::mt19937_64& rng) {
  struct Square {
    double cx, cy, half;
  };
  std::vector<Square> placed;
  auto try_place = [&](double size, double& cx, double& cy) {
    const double half = size / 2;
    for (int t = 0; t < 200; ++t) {
      const double x = uniform_real(rng, half + 1, static_cast<double>(canvas) - half - 1);
      const double y = uniform_real(rng, half + 1, static_cast<double>(canvas) - half - 1);
      const bool clear = std::all_of(placed.begin(), placed.end(), [&](const Square& s) {
        return std::max(std::abs(x - s.cx), std::abs(y - s.cy)) >= half + s.half + 1;
      });
      if (clear) {
        cx = x, cy = y;
        placed.push_back({x, y, half});
        return true;
      }
    }
    return false;
  };
  for (auto& r : recs)
    if (!try_place(r.size, r.cx, r.cy)) return false;
  for (auto& o : objs)
    if (!try_place(o.size, o.cx, o.cy)) return false;
  return true;
}

uint64_t stream_of_group(const std::string& group) {
  if (group == "train") return kTrainStream;
  if (group.rfind("l1.", 0) == 0) return kL1Stream;
  if (group.rfind("l2.", 0) == 0) return kL2Stream;
  throw Error(fmt::format("unknown manipulation group '{}' (train, l1.<family>, l2.<family>)", group));
}

int family_index(const std::string& name) {
  const auto& f = family_names();
  const auto it = std::find(f.begin(), f.end(), name);
  DIST2_CHECK(it != f.end(), "unknown manipulation family '{}'", name);
  return static_cast<int>(it - f.begin());
}

std::string instruction_of(const Scene& s, const Goal& g) {
  if (g.family == kPut)
    return "put the " + object_name(s.objects[static_cast<size_t>(g.objects[0])]) + " into the " +
           receptacle_name(s.receptacles[static_cast<size_t>(g.receptacle)]);
  if (g.family == kRotate)
    return fmt::format("rotate the {} by {} degrees", object_name(s.objects[static_cast<size_t>(g.objects[0])]),
                       g.rotation);
  return "put all " + colour_names()[static_cast<size_t>(g.colour)] + " objects into the " +
         receptacle_name(s.receptacles[static_cast<size_t>(g.receptacle)]);
}

// One attempt at an episode of the family: combinations, then positions.
std::optional<Episode> draw_episode(int family, bool novel, const SceneOptions& opt, std::mt19937_64& rng) {
  const int n_colours = static_cast<int>(colour_names().size()), n_shapes = static_cast<int>(shape_names().size());
  const int n = uniform(rng, static_cast<int>(opt.min_objects), static_cast<int>(opt.max_objects));
  std::vector<std::pair<int, int>> combos;  // (shape, colour); the first `targets` are the goal's objects
  auto taken = [&](int s, int c) {
    return std::find(combos.begin(), combos.end(), std::pair{s, c}) != combos.end();
  };
  Goal goal;
  goal.family = family;
  int targets = 1, excluded_colour = -1;
  if (family == kPutAll) {
    if (n < 2) return std::nullopt;
    goal.colour = uniform(rng, 0, n_colours - 1);
    targets = uniform(rng, 2, std::min(3, n));
    if (novel) combos.push_back({held_out_shape_of(goal.colour), goal.colour});
    while (static_cast<int>(combos.size()) < targets) {
      const int s = uniform(rng, 0, n_shapes - 1);
      if (!held_out(s, goal.colour) && !taken(s, goal.colour)) combos.push_back({s, goal.colour});
    }
    excluded_colour = goal.colour;
  } else if (novel) {
    const int c = uniform(rng, 0, n_colours - 1);
    combos.push_back({held_out_shape_of(c), c});
  }
  while (static_cast<int>(combos.size()) < n) {  // the other objects: seen combinations only
    const int s = uniform(rng, 0, n_shapes - 1), c = uniform(rng, 0, n_colours - 1);
    if (!held_out(s, c) && !taken(s, c) && c != excluded_colour) combos.push_back({s, c});
  }
  Scene scene;
  scene.canvas = opt.canvas;
  for (int k = 0; k < 2; ++k) {
    Receptacle r;
    do {
      r.kind = uniform(rng, 0, 1), r.colour = uniform(rng, 0, n_colours - 1);
    } while (k == 1 && r.kind == scene.receptacles[0].kind && r.colour == scene.receptacles[0].colour);
    r.size = opt.receptacle_size;
    scene.receptacles.push_back(r);
  }
  // Drawing order is shuffled, so that the goal's objects are not always the first.
  std::vector<int> order(combos.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::shuffle(order.begin(), order.end(), rng);
  scene.objects.resize(combos.size());
  for (size_t i = 0; i < order.size(); ++i) {
    Object& o = scene.objects[i];
    std::tie(o.shape, o.colour) = combos[static_cast<size_t>(order[i])];
    o.size = opt.object_size;
    o.angle = kRotationStep * uniform(rng, 0, 180 / kRotationStep - 1);
    if (order[i] < targets) goal.objects.push_back(static_cast<int>(i));
  }
  if (!place_all(scene.receptacles, scene.objects, opt.canvas, rng)) return std::nullopt;
  std::sort(goal.objects.begin(), goal.objects.end());
  if (family == kRotate)
    goal.rotation = kRotationStep * uniform(rng, 1, kMaxRotation / kRotationStep);
  else
    goal.receptacle = uniform(rng, 0, 1);
  Episode e{std::move(scene), goal, "", ""};
  e.instruction = instruction_of(e.scene, e.goal);
  e.actions = format_actions(oracle_actions(e.scene, e.goal));
  return e;
}

Action in_grid(double pick_x, double pick_y, double place_x, double place_y, int rotation, int64_t canvas) {
  return {to_grid(pick_x, canvas), to_grid(pick_y, canvas), to_grid(place_x, canvas), to_grid(place_y, canvas),
          rotation};
}

}  // namespace

const std::vector<std::string>& colour_names() {
  static const std::vector<std::string> v = {"red", "green", "blue", "yellow", "purple", "cyan"};
  return v;
}
const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> v = {"square", "triangle", "bar", "cross", "disc"};
  return v;
}
const std::vector<std::string>& receptacle_kinds() {
  static const std::vector<std::string> v = {"frame", "bowl"};
  return v;
}
const std::vector<std::string>& family_names() {
  static const std::vector<std::string> v = {"put", "rotate", "put_all"};
  return v;
}
bool held_out(int shape, int colour) { return (shape + colour) % 5 == 0; }

bool Receptacle::holds(double x, double y) const {
  const double dx = std::abs(x - cx), dy = std::abs(y - cy), inner = size / 2 - kRim;
  return kind == 0 ? std::max(dx, dy) < inner : std::hypot(dx, dy) < inner;
}

int to_grid(double px, int64_t canvas) {
  return std::clamp(static_cast<int>(std::lround(px / static_cast<double>(canvas) * kGridMax)), 0, kGridMax);
}
double from_grid(double grid, int64_t canvas) { return grid * static_cast<double>(canvas) / kGridMax; }

std::string format_actions(const std::vector<Action>& actions) {
  std::string s;
  for (const Action& a : actions)
    s += fmt::format("{}{},{},{},{},{}", s.empty() ? "" : ";", a.pick_x, a.pick_y, a.place_x, a.place_y, a.rotation);
  return s;
}

std::optional<std::vector<Action>> parse_actions(std::string_view text) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto read_int = [&](int& out) {
    const size_t start = i;
    while (i < text.size() && i - start < 3 && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))) return false;
    out = std::stoi(std::string(text.substr(start, i - start)));
    return true;
  };
  std::vector<Action> out;
  skip_space();
  for (;;) {
    Action a;
    int* fields[] = {&a.pick_x, &a.pick_y, &a.place_x, &a.place_y, &a.rotation};
    for (size_t k = 0; k < 5; ++k) {
      if (k > 0) {
        if (i >= text.size() || text[i] != ',') return std::nullopt;
        ++i;
      }
      if (!read_int(*fields[k])) return std::nullopt;
    }
    out.push_back(a);
    if (i < text.size() && text[i] == ';') {
      ++i;
      continue;
    }
    break;
  }
  skip_space();
  if (i != text.size()) return std::nullopt;
  return out;
}

bool goal_holds(const Scene& scene, const Scene& start, const Goal& goal, const SimOptions& opt) {
  DIST2_CHECK(goal.family >= kPut && goal.family <= kPutAll, "unknown manipulation family {}", goal.family);
  if (goal.family == kPut) {
    const Object& o = scene.objects.at(static_cast<size_t>(goal.objects.at(0)));
    return scene.receptacles.at(static_cast<size_t>(goal.receptacle)).holds(o.cx, o.cy);
  }
  if (goal.family == kRotate) {
    const Object& now = scene.objects.at(static_cast<size_t>(goal.objects.at(0)));
    const Object& was = start.objects.at(static_cast<size_t>(goal.objects.at(0)));
    double d = std::fmod(now.angle - was.angle - goal.rotation, 360.0);
    if (d > 180) d -= 360;
    if (d <= -180) d += 360;
    return std::abs(d) <= opt.rotation_tolerance && footprint_holds(was, now.cx, now.cy);
  }
  const Receptacle& r = scene.receptacles.at(static_cast<size_t>(goal.receptacle));
  return std::all_of(scene.objects.begin(), scene.objects.end(),
                     [&](const Object& o) { return o.colour != goal.colour || r.holds(o.cx, o.cy); });
}

Outcome execute(const Scene& scene, const Goal& goal, const std::vector<Action>& actions, const SimOptions& opt) {
  Outcome out;
  out.final_scene = scene;
  Scene& s = out.final_scene;
  auto fail = [&](const char* kind, std::string why) {
    out.kind = kind;
    out.reason = std::move(why);
    return out;
  };
  if (actions.empty()) return fail("malformed", "no action");
  if (static_cast<int>(actions.size()) > kMaxActions)
    return fail("too_many", fmt::format("{} actions, at most {}", actions.size(), kMaxActions));
  for (size_t k = 0; k < actions.size(); ++k) {
    const Action& a = actions[k];
    for (int v : {a.pick_x, a.pick_y, a.place_x, a.place_y})
      if (v < 0 || v > kGridMax) return fail("off_table", fmt::format("action {}: coordinate {} is off the table (0-99)", k + 1, v));
    if (a.rotation < 0 || a.rotation >= 360) return fail("off_table", fmt::format("action {}: rotation {} is not 0-359", k + 1, a.rotation));
    const double px = from_grid(a.pick_x, s.canvas), py = from_grid(a.pick_y, s.canvas);
    int picked = -1;
    double best = 0;
    for (size_t i = 0; i < s.objects.size(); ++i) {
      const Object& o = s.objects[i];
      const double d = std::hypot(px - o.cx, py - o.cy);
      if (footprint_holds(o, px, py) && (picked < 0 || d < best)) picked = static_cast<int>(i), best = d;
    }
    if (picked < 0) return fail("no_object", fmt::format("action {}: no object at {},{}", k + 1, a.pick_x, a.pick_y));
    Object& o = s.objects[static_cast<size_t>(picked)];
    o.cx = from_grid(a.place_x, s.canvas), o.cy = from_grid(a.place_y, s.canvas);
    o.angle = std::fmod(o.angle + a.rotation, 360.0);
  }
  out.success = goal_holds(s, scene, goal, opt);
  if (!out.success) out.kind = "goal", out.reason = "goal not reached";
  return out;
}

Outcome execute_text(const Scene& scene, const Goal& goal, std::string_view text, const SimOptions& opt) {
  const auto actions = parse_actions(text);
  if (!actions) {
    Outcome out;
    out.final_scene = scene;
    out.kind = "malformed";
    out.reason = "malformed action text";
    return out;
  }
  return execute(scene, goal, *actions, opt);
}

Image render(const Scene& scene) {
  Image img(3, scene.canvas, scene.canvas, kTable);
  for (int64_t y = 0; y < scene.canvas; ++y)
    for (int64_t x = 0; x < scene.canvas; ++x) {
      std::array<float, 3> sum{0, 0, 0};
      for (double sy : {0.25, 0.75})
        for (double sx : {0.25, 0.75}) {
          const double px = static_cast<double>(x) + sx, py = static_cast<double>(y) + sy;
          std::array<float, 3> c{kTable, kTable, kTable};
          for (const auto& r : scene.receptacles)
            if (rim_covers(r, px, py)) c = kColourRgb[static_cast<size_t>(r.colour)];
          for (const auto& o : scene.objects)  // later objects on top
            if (object_covers(o, px, py)) c = kColourRgb[static_cast<size_t>(o.colour)];
          for (size_t ch = 0; ch < 3; ++ch) sum[ch] += c[ch] / 4;
        }
      for (int64_t ch = 0; ch < 3; ++ch) img.at(ch, y, x) = sum[static_cast<size_t>(ch)];
    }
  return img;
}

void SceneOptions::validate() const {
  DIST2_CHECK(min_objects >= 2 && min_objects <= max_objects, "task.min_objects ({}) must be 2 to task.max_objects ({})",
              min_objects, max_objects);
  DIST2_CHECK(max_objects <= 6, "task.max_objects ({}) must be at most 6", max_objects);
  DIST2_CHECK(object_size >= 3 && receptacle_size >= object_size + 2 * kRim + 2,
              "receptacles ({} px) must hold an object ({} px) inside their rim", receptacle_size, object_size);
  DIST2_CHECK(static_cast<double>(canvas) >= 2 * receptacle_size + 4,
              "task.canvas ({} px) is too small for two receptacles of {} px", canvas, receptacle_size);
}

const std::vector<std::string>& test_groups() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> g;
    for (const char* p : {"l1", "l2"})
      for (const auto& f : family_names()) g.push_back(std::string(p) + "." + f);
    return g;
  }();
  return v;
}

uint64_t stream_seed(uint64_t seed, uint64_t stream, int64_t index) {
  return splitmix64_mix(seed * kSplitMix64Gamma + stream * 0xD1B54A32D192ED03ull + static_cast<uint64_t>(index) + 1);
}

Episode make_episode(const std::string& group, uint64_t seed, int64_t index, const SceneOptions& opt) {
  opt.validate();
  const uint64_t stream = stream_of_group(group);
  std::mt19937_64 rng(stream_seed(seed, stream * 16 + (group == "train" ? 0 : 1 + static_cast<uint64_t>(family_index(group.substr(3)))), index));
  const int family = group == "train" ? uniform(rng, 0, static_cast<int>(family_names().size()) - 1)
                                      : family_index(group.substr(3));
  for (int attempt = 0; attempt < 100; ++attempt)
    if (auto e = draw_episode(family, stream == kL2Stream, opt, rng)) return std::move(*e);
  throw Error(fmt::format("no scene of {} objects fits a {} px canvas after 100 tries", opt.max_objects, opt.canvas));
}

std::vector<Action> oracle_actions(const Scene& scene, const Goal& goal) {
  std::vector<Action> out;
  std::vector<int> objs = goal.objects;
  std::sort(objs.begin(), objs.end(), [&](int a, int b) {  // left to right, then top to bottom
    const Object &oa = scene.objects[static_cast<size_t>(a)], &ob = scene.objects[static_cast<size_t>(b)];
    return std::tie(oa.cx, oa.cy) < std::tie(ob.cx, ob.cy);
  });
  for (int i : objs) {
    const Object& o = scene.objects[static_cast<size_t>(i)];
    if (goal.family == kRotate) {
      out.push_back(in_grid(o.cx, o.cy, o.cx, o.cy, goal.rotation, scene.canvas));
    } else {
      const Receptacle& r = scene.receptacles.at(static_cast<size_t>(goal.receptacle));
      out.push_back(in_grid(o.cx, o.cy, r.cx, r.cy, 0, scene.canvas));
    }
  }
  return out;
}

std::pair<std::string, std::string> localisation_question(const Scene& scene, uint64_t seed) {
  std::mt19937_64 rng(stream_seed(seed, kAuxStream, 0));
  const Object& o = scene.objects.at(static_cast<size_t>(uniform(rng, 0, static_cast<int>(scene.objects.size()) - 1)));
  return {"where is the " + object_name(o) + "?",
          fmt::format("{},{}", to_grid(o.cx, scene.canvas), to_grid(o.cy, scene.canvas))};
}

std::vector<double> to_values(const Scene& scene, const Goal& goal) {
  std::vector<double> v = {static_cast<double>(scene.canvas),
                           static_cast<double>(scene.receptacles.size()),
                           static_cast<double>(scene.objects.size()),
                           static_cast<double>(goal.family),
                           static_cast<double>(goal.receptacle),
                           static_cast<double>(goal.colour),
                           static_cast<double>(goal.rotation),
                           static_cast<double>(goal.objects.size())};
  for (int i : goal.objects) v.push_back(i);
  for (const auto& r : scene.receptacles) v.insert(v.end(), {double(r.kind), double(r.colour), r.cx, r.cy, r.size});
  for (const auto& o : scene.objects)
    v.insert(v.end(), {double(o.shape), double(o.colour), o.cx, o.cy, o.size, o.angle});
  return v;
}

std::pair<Scene, Goal> from_values(const std::vector<double>& v) {
  DIST2_CHECK(v.size() >= 8, "a manipulation example's values are too short ({} numbers)", v.size());
  Scene s;
  Goal g;
  s.canvas = static_cast<int64_t>(v[0]);
  const auto n_rec = static_cast<size_t>(v[1]), n_obj = static_cast<size_t>(v[2]), n_targets = static_cast<size_t>(v[7]);
  g.family = static_cast<int>(v[3]), g.receptacle = static_cast<int>(v[4]), g.colour = static_cast<int>(v[5]);
  g.rotation = static_cast<int>(v[6]);
  DIST2_CHECK(v.size() == 8 + n_targets + 5 * n_rec + 6 * n_obj,
              "a manipulation example's values hold {} numbers, not the {} its counts imply", v.size(),
              8 + n_targets + 5 * n_rec + 6 * n_obj);
  size_t k = 8;
  for (size_t i = 0; i < n_targets; ++i) g.objects.push_back(static_cast<int>(v[k++]));
  for (size_t i = 0; i < n_rec; ++i, k += 5)
    s.receptacles.push_back({static_cast<int>(v[k]), static_cast<int>(v[k + 1]), v[k + 2], v[k + 3], v[k + 4]});
  for (size_t i = 0; i < n_obj; ++i, k += 6)
    s.objects.push_back({static_cast<int>(v[k]), static_cast<int>(v[k + 1]), v[k + 2], v[k + 3], v[k + 4], v[k + 5]});
  return {s, g};
}

std::vector<Action> random_actions(const Scene& scene, const Goal& goal, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Action> out(oracle_actions(scene, goal).size());
  const bool turns = goal.family == kRotate;
  for (Action& a : out)
    a = {uniform(rng, 0, kGridMax), uniform(rng, 0, kGridMax), uniform(rng, 0, kGridMax), uniform(rng, 0, kGridMax),
         turns ? kRotationStep * uniform(rng, 1, kMaxRotation / kRotationStep) : 0};
  return out;
}

std::vector<Action> heuristic_actions(const Scene& scene, const Goal& goal, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Action> out(oracle_actions(scene, goal).size());
  for (Action& a : out) {
    const Object& o = scene.objects[static_cast<size_t>(uniform(rng, 0, static_cast<int>(scene.objects.size()) - 1))];
    const Receptacle& r = scene.receptacles[static_cast<size_t>(uniform(rng, 0, 1))];
    a = in_grid(o.cx, o.cy, r.cx, r.cy, 0, scene.canvas);
  }
  return out;
}

std::vector<std::string> vocabulary_words() {
  std::vector<std::string> w = {"put", "the", "into", "all", "objects", "rotate", "by", "degrees", "where", "is"};
  for (const auto* list : {&colour_names(), &shape_names(), &receptacle_kinds()}) w.insert(w.end(), list->begin(), list->end());
  return w;
}

}  // namespace dist2::manipulation
