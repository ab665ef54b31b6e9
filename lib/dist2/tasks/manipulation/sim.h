#pragma once
// The tabletop behind the `manipulation` task (paper section 3.3, appendix D.3):
// a scaled stand-in for VIMA-Bench. Neither its simulator nor LLaVA is available
// here, so a 2-D table is simulated with rigid placement and no physics.
//
// A scene: 2 receptacles (square frames and round bowls, each of a colour) and
// 2-4 objects (a shape of a colour at an angle), drawn top-down on an RGB canvas
// (40 x 40 by default). Every object's (colour, shape) is unique in its scene, and
// so is every receptacle's (colour, kind), so an instruction names each exactly.
//
// Task families, modelled on VIMA's single- and multi-step tasks:
//   put       "put the red bar into the blue bowl"        one action
//   rotate    "rotate the green cross by 45 degrees"      one action, in place
//   put_all   "put all yellow objects into the red frame" one action per object
// An action is pick (x, y), place (x, y) and a rotation in degrees, written on the
// 0-99 grid of the grounding task as "x,y,x,y,a"; the actions of an episode are
// joined by ';'. The executor runs them in turn:
//   pick   the object whose footprint (its square of side `size`) holds the point,
//          the nearest centre if several; none: the episode fails.
//   place  the object's centre moves to the point and it turns by the angle.
// A coordinate above 99, a pick of empty table, more actions than allowed or
// malformed text fail the episode with a reason, never an exception.
// Goals: put, the object's centre inside the receptacle's interior; rotate, the
// object turned by the asked angle (within rotation_tolerance degrees, modulo 360)
// and still over its starting point (within half its size); put_all, every object
// of the colour inside the receptacle.
//
// Protocols: L1 tests the training objects and templates in new placements; L2
// tests (colour, shape) combinations that no training scene contains (held_out()).
// Every split has its own random stream, deterministic by (seed, group, index).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dist2/image/image.h"

namespace dist2::manipulation {

const std::vector<std::string>& colour_names();  // red, green, blue, yellow, purple, cyan
const std::vector<std::string>& shape_names();   // square, triangle, bar, cross, disc
const std::vector<std::string>& receptacle_kinds();  // frame, bowl
const std::vector<std::string>& family_names();      // put, rotate, put_all
// L2's combinations, never in a training scene: (shape + colour) % 5 == 0, one per
// colour (six of 30), so every colour and shape also occurs in training.
bool held_out(int shape, int colour);

struct Object {
  int shape = 0, colour = 0;
  double cx = 0, cy = 0;  // centre, canvas pixels
  double size = 7;        // side of its footprint square, px
  double angle = 0;       // degrees
};

struct Receptacle {
  int kind = 0, colour = 0;  // kind: 0 frame, 1 bowl
  double cx = 0, cy = 0;
  double size = 14;  // outer side (frame) or diameter (bowl), px
  // Whether a point lies in its interior (inside the rim).
  bool holds(double x, double y) const;
};

struct Scene {
  int64_t canvas = 40;
  std::vector<Receptacle> receptacles;
  std::vector<Object> objects;
};

struct Goal {
  int family = 0;            // index into family_names()
  std::vector<int> objects;  // the objects to move (put, rotate: one)
  int receptacle = -1;       // put, put_all
  int colour = -1;           // put_all
  int rotation = 0;          // rotate: degrees asked
};

struct Episode {
  Scene scene;
  Goal goal;
  std::string instruction;  // "put the red bar into the blue bowl"
  std::string actions;      // the ground truth, "x,y,x,y,a;..."
};

struct Action {
  int pick_x = 0, pick_y = 0, place_x = 0, place_y = 0, rotation = 0;  // grid units and degrees
};

constexpr int kGridMax = 99;
constexpr int kMaxActions = 4;
// Pixel <-> grid as grounding: v px of a side S is round(v / S * 99); grid g is g * S / 99 px.
int to_grid(double px, int64_t canvas);
double from_grid(double grid, int64_t canvas);

std::string format_actions(const std::vector<Action>& actions);
// Actions of a text in format_actions' form (1 to 3 digits per field, whitespace
// around allowed). nullopt when malformed: never an exception.
std::optional<std::vector<Action>> parse_actions(std::string_view text);

struct Outcome {
  bool success = false;
  std::string kind;    // "" on success, else malformed, off_table, no_object, too_many or goal
  std::string reason;  // why it failed, in words ("" on success)
  Scene final_scene;
};
struct SimOptions {
  double rotation_tolerance = 10;  // degrees
};
// Runs the actions on the scene and checks the goal.
Outcome execute(const Scene& scene, const Goal& goal, const std::vector<Action>& actions, const SimOptions& opt = {});
// The same from action text: a malformed text fails with reason "malformed action text".
Outcome execute_text(const Scene& scene, const Goal& goal, std::string_view text, const SimOptions& opt = {});
bool goal_holds(const Scene& scene, const Scene& start, const Goal& goal, const SimOptions& opt = {});

// The top-down picture: grey table, receptacles as rims, objects filled, 2x2
// supersampled. 3 x canvas x canvas.
Image render(const Scene& scene);

struct SceneOptions {
  int64_t canvas = 40;
  int64_t min_objects = 2, max_objects = 4;
  double object_size = 7, receptacle_size = 14;
  void validate() const;  // dist2::Error naming the option when inconsistent
};

// Groups: "train", and the test groups "l1.put" ... "l2.put_all" (protocol.family).
const std::vector<std::string>& test_groups();
// splitmix64 of (seed, stream, index).
uint64_t stream_seed(uint64_t seed, uint64_t stream, int64_t index);
// Episode `index` of a group: "train" draws its family uniformly and only
// non-held-out combinations; "l1.<family>" the same distribution in its own
// stream; "l2.<family>" a target that is a held-out combination (put_all: at least
// one of the colour's objects). dist2::Error on an unknown group.
Episode make_episode(const std::string& group, uint64_t seed, int64_t index, const SceneOptions& opt = {});
// The ground-truth actions of an episode's goal in its scene.
std::vector<Action> oracle_actions(const Scene& scene, const Goal& goal);
// A LLaRA-style auxiliary question about a training scene: "where is the red bar?"
// and its centre "x,y".
std::pair<std::string, std::string> localisation_question(const Scene& scene, uint64_t seed);

// An episode as numbers (for the dataset's example values) and back.
std::vector<double> to_values(const Scene& scene, const Goal& goal);
std::pair<Scene, Goal> from_values(const std::vector<double>& values);

// Reference policies (grid actions, as many as the oracle's):
//   random     pick and place uniform over the table, a random angle of the asked set;
//   heuristic  a random object's centre, placed at a random receptacle's centre, no turn.
std::vector<Action> random_actions(const Scene& scene, const Goal& goal, uint64_t seed);
std::vector<Action> heuristic_actions(const Scene& scene, const Goal& goal, uint64_t seed);

// Every word an instruction can use (for whole-word tokens).
std::vector<std::string> vocabulary_words();

}  // namespace dist2::manipulation
