#pragma once
// The data behind the visual-grounding experiment (paper section 3.2, appendix
// C.2 and F): a scaled stand-in for RefCOCO / RefCOCO+ / RefCOCOg. Neither COCO
// nor a 4B vision-language model is available here, so each example is a small
// scene of real Fashion-MNIST items, a referring expression that names exactly
// one of them, and that item's bounding box on a 0-99 grid ("12,40,37,88"), the
// numbers the model writes and DIST²Loss supervises.
//
// Scenes: a black canvas (64 x 64 by default) with 2-5 items, each a
// Fashion-MNIST image shrunk (area filter) to a square of 14-28 px, placed at a
// random position with limited overlap, pasted with max() compositing. An item's
// box is the tight box of its own pixels brighter than `ink_threshold`.
// Training scenes use the Fashion-MNIST training items, every evaluation column
// the test items, so no item image of an evaluation scene was seen in training.
//
// Column groups (RefCOCO's columns; each group has its own random stream):
//   ref.testA   class alone suffices: the target's class occurs once in the
//               scene ("the sneaker").
//   ref.testB   location needed: the target's class occurs 2+ times; class plus
//               a location word, left / right / upper / lower, chosen among those
//               that single it out ("the left bag").
//   ref.val     each example is a ref.testA or a ref.testB one, 50/50.
//   ref+.testA  RefCOCO+ forbids absolute location words: a class occurring
//               once, named with its nearest item of another class ("the coat
//               next to the bag"), the relation being redundant but to be read.
//   ref+.testB  the class occurs 2+ times; size (bigger / smaller) or relation
//               (next to the <class>), whichever single it out, no location word.
//   ref+.val    each example is a ref+.testA or a ref+.testB one, 50/50.
//   refg.val,   RefCOCOg's longer expressions: the class occurs 2+ times and two
//   refg.test   cues of different kinds, each of which alone singles the target
//               out ("the bigger bag next to the coat", "the left shirt next to
//               the boot", "the smaller dress on the left").
//   train       the three datasets combined (as the paper fine-tunes on their
//               union): ref, ref+ and refg with probability 1/3 each, the first
//               two split 50/50 between their testA and testB kinds.
// A target is drawn uniformly among the scene's items that an expression of the
// family can name, and a cue uniformly among those that single it out; when no
// item can be named that way, the scene is redrawn (GroundingExample::attempts).
//
// Cue semantics (resolve() implements them; generation keeps an expression only
// when resolve() returns exactly its target), among the items of the named class:
//   left / right / upper / lower  its box centre is left of (right of, above,
//        below) every other item of the class by at least location_margin;
//   bigger / smaller  its box area is at least size_ratio times every other
//        one's (at most 1/size_ratio);
//   next to the <L>   it is closer (centre to centre) to its nearest item of
//        class L than every other item of the class is to theirs, by at least
//        relation_margin; and L is the class of the target's nearest item of
//        another class, nearer by relation_margin than any third class.
// Several cues hold together (conjunction).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dist2/image/idx.h"
#include "dist2/image/image.h"

namespace dist2::grounding {

// Fashion-MNIST's classes by label: t-shirt, trouser, pullover, dress, coat,
// sandal, shirt, sneaker, bag, boot.
const std::array<std::string, 10>& class_names();
// The label of a class name, -1 when it is none.
int class_index(std::string_view name);

// ---- boxes ----

// An axis-aligned box [x1, x2) x [y1, y2): in pixels for scene items, in grid
// units (integers 0-99) for what the model reads and writes.
struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
  double area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0; }
  double cx() const { return (x1 + x2) / 2; }
  double cy() const { return (y1 + y2) / 2; }
  bool operator==(const Box& o) const { return x1 == o.x1 && y1 == o.y1 && x2 == o.x2 && y2 == o.y2; }
};

// Intersection over union; 0 when the union is empty.
double iou(const Box& a, const Box& b);
// Intersection area over the smaller box's area (how much one hides the other).
double cover(const Box& a, const Box& b);

constexpr int kGridMax = 99;
// Pixel box -> grid: each coordinate v of a canvas side S becomes round(v / S * 99),
// clamped to 0-99 (so 0 -> 0 and S -> 99).
Box to_grid(const Box& pixels, int64_t canvas_width, int64_t canvas_height);
// Grid box -> pixels: v * S / 99.
Box from_grid(const Box& grid, int64_t canvas_width, int64_t canvas_height);
// "x1,y1,x2,y2" with the coordinates rounded to integers ("12,40,37,88").
std::string format_box(const Box& grid);
// The box of a text in format_box's form: four integers 0-99 of one or two
// digits separated by commas, x1 <= x2 and y1 <= y2, surrounding whitespace
// allowed. Anything else is nullopt, never an exception.
std::optional<Box> parse_box(std::string_view text);

// ---- scenes ----

struct SceneOptions {
  int64_t canvas = 64;                 // square canvas side, px
  int64_t min_items = 2, max_items = 5;
  int64_t min_size = 14, max_size = 28;  // side of the square an item is shrunk to, px
  double max_iou = 0.2;                // between any two item boxes
  double max_cover = 0.5;              // intersection / the smaller box's area
  int64_t max_tries = 100;             // positions tried per item before it is dropped
  float background = 0.0f;
  float ink_threshold = 0.1f;          // pixels brighter than this make an item's box
  // dist2::Error naming the option when the options are inconsistent.
  void validate() const;
};

struct Item {
  int label = 0;           // class, 0-9
  int64_t source = 0;      // index of the Fashion-MNIST item in its split
  int64_t top = 0, left = 0, side = 0;  // where its square was pasted
  Box box;                 // tight box of its pixels, in canvas pixels
  double cx = 0, cy = 0;   // box centre
  double area = 0;         // box area, px^2
};

struct Scene {
  Image image;               // 1 x canvas x canvas
  std::vector<Item> items;   // in drawing order
  int64_t drawn = 0;         // items drawn; drawn - items.size() found no place
  int64_t redraws = 0;       // whole scenes redrawn because fewer than min_items found a place
};

// splitmix64 of (seed, stream, index): the seed of item `index` of a stream.
uint64_t stream_seed(uint64_t seed, uint64_t stream, int64_t index);
// The scene of a seed, from the items of `source` (a Fashion-MNIST split).
// Items: uniform count in [min_items, max_items], each a uniformly drawn source
// item at a uniform side in [min_size, max_size] and a uniform position; a
// position whose box overlaps a placed one by more than max_iou (IoU) or
// max_cover is rejected; after max_tries rejections the item is dropped. A scene
// left with fewer than min_items is redrawn (counted in `redraws`); after 100
// redraws, dist2::Error (the canvas is too small for the options).
Scene make_scene(const FashionMnist& source, const SceneOptions& opt, uint64_t seed);

// ---- referring expressions ----

enum class Location { none, left, right, upper, lower };
enum class Size { none, bigger, smaller };

// An expression in structured form: the target and the cues that name it.
struct Expression {
  int target = -1;                      // index into Scene::items
  int label = -1;                       // the class it names (the target's)
  Location location = Location::none;
  Size size = Size::none;
  int landmark = -1;                    // "next to the <class landmark>"; -1: no relation
  int cue_count() const;
  // "the sneaker", "the left bag", "the bigger trouser", "the dress next to the
  // sandal", "the bigger bag next to the coat", "the smaller bag on the left".
  std::string text() const;
};

// Margins are fractions of the canvas side (8 px and 6.4 px on 64 x 64).
struct CueRules {
  double location_margin = 0.125;  // between box centres along the axis
  double size_ratio = 1.5;         // box area ratio
  double relation_margin = 0.1;    // between nearest-landmark distances
};

// The items (indices, ascending) that the expression describes in the scene, by
// the semantics above; ignores `target` (that is what it finds).
std::vector<int> resolve(const Expression& e, const Scene& scene, const CueRules& rules = {});

enum class Family {
  class_only,        // ref.testA
  location,          // ref.testB
  class_relation,    // ref+.testA
  size_or_relation,  // ref+.testB
  two_cues,          // refg
};
const char* family_name(Family f);

// An expression of the family for the scene, target and cue drawn with `seed`
// among those possible; nullopt when the scene has none (draw another scene).
std::optional<Expression> make_expression(const Scene& scene, Family family, uint64_t seed,
                                          const CueRules& rules = {});

// The evaluation column groups in Table 1's order (ref.val ... refg.test).
const std::vector<std::string>& group_names();
// "train" for the group "train", "test" for every evaluation group: the
// Fashion-MNIST split its scenes are made of. dist2::Error on an unknown group.
std::string split_of_group(const std::string& group);

struct GroundingExample {
  std::string group;
  int64_t index = 0;
  Family family = Family::class_only;
  Scene scene;
  Expression expression;
  Box target_grid;     // the target's box on the 0-99 grid: the completion
  int64_t attempts = 1;  // scenes drawn until one had an expression of the family
};

// Example `index` of a group: deterministic by (seed, group, index); `items`
// must be the split split_of_group(group) names.
GroundingExample make_example(const FashionMnist& items, const std::string& group, uint64_t seed, int64_t index,
                              const SceneOptions& opt = {}, const CueRules& rules = {});
// The same, with the split read by load_fashion_mnist (cached) from `dir`.
GroundingExample make_example(const std::string& group, uint64_t seed, int64_t index, const SceneOptions& opt = {},
                              const CueRules& rules = {}, const std::string& dir = "");

// ---- backbone pretraining questions (the RealWorldQA stand-in, Table 7 bottom) ----

// A question about a scene with its answer among `candidates` (for ranking the
// candidates by likelihood). Kinds:
//   where      "what is at the top left?" (top/bottom x left/right) -> a class,
//              or "nothing"; an item is "at" a quadrant when >= 60% of its box
//              lies in it; a quadrant is asked about only when exactly one item
//              is at it and no other has > 15% of its box there, or when no item
//              has (then "nothing"); "nothing" is the drawn kind of answer with
//              probability 1/11 (as if one more class), and nullopt when the
//              scene has no quadrant of the drawn kind.
//   shoes      "how many shoes?" (sandal, sneaker, boot) -> "0".."5"
//   items      "how many items?" -> "0".."5"
//   exists     "is there a <class>?" -> "yes" | "no" (50/50 by construction)
//   biggest    "what is the biggest item?" -> a class; asked only when the
//              biggest box is at least 1.3 times the area of the next.
struct Question {
  std::string kind, text, answer;
  std::vector<std::string> candidates;
};
const std::vector<std::string>& question_kinds();
// A question of the kind about the scene, drawn with `seed`; nullopt when the
// kind has no clear question for it.
std::optional<Question> make_question(const Scene& scene, const std::string& kind, uint64_t seed);

struct QuestionExample {
  std::string split;  // "train" (pretraining) | "test" (held out)
  int64_t index = 0;
  Scene scene;
  Question question;
  int64_t attempts = 1;
};
// Question `index` of a split: its scene from that Fashion-MNIST split and a
// stream of its own (disjoint from every grounding group's), its kind uniform.
QuestionExample make_question_example(const FashionMnist& items, const std::string& split, uint64_t seed,
                                      int64_t index, const SceneOptions& opt = {});

// ---- reference predictors (boxes in the scene's pixels) ----

Box random_item_box(const Scene& scene, uint64_t seed);  // a uniformly drawn item's box
Box largest_item_box(const Scene& scene);                // the item with the largest box
Box mean_box(const std::vector<Box>& boxes);             // coordinate-wise mean (e.g. of the training targets)

struct BoxScores {
  double mean_iou = 0;  // mean IoU
  double acc50 = 0;     // share with IoU >= 0.5 (the paper's accuracy)
  int64_t n = 0;
};
// Scores of predicted boxes against the truth, pairwise (same size).
BoxScores score_boxes(const std::vector<Box>& predicted, const std::vector<Box>& truth);

}  // namespace dist2::grounding
