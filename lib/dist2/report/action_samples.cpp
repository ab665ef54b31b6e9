#include "dist2/report/action_samples.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "dist2/tasks/manipulation/sim.h"

namespace dist2::report {

namespace {

void put_pixel(Image& rgb, int64_t x, int64_t y, const Rgb& c) {
  if (x < 0 || y < 0 || x >= rgb.width || y >= rgb.height) return;
  for (int64_t ch = 0; ch < 3; ++ch) rgb.at(ch, y, x) = c[static_cast<size_t>(ch)];
}

// Grid units (0-99) to pixels of the upscaled picture.
int64_t upscaled(int grid, int64_t side) {
  return static_cast<int64_t>(std::lround(manipulation::from_grid(grid, side) * kSampleUpscale));
}

bool draw_actions(Image& rgb, const std::string& text, int64_t side, const Rgb& colour) {
  const auto actions = manipulation::parse_actions(text);
  if (!actions) return false;
  for (const auto& a : *actions) {
    const int64_t x1 = upscaled(a.pick_x, side), y1 = upscaled(a.pick_y, side);
    const int64_t x2 = upscaled(a.place_x, side), y2 = upscaled(a.place_y, side);
    const int64_t steps = std::max<int64_t>({std::abs(x2 - x1), std::abs(y2 - y1), 1});
    for (int64_t k = 0; k <= steps; k += 2)  // a dotted line from pick to place
      put_pixel(rgb, x1 + (x2 - x1) * k / steps, y1 + (y2 - y1) * k / steps, colour);
    draw_rect(rgb, x1 - 3, y1 - 3, x1 + 4, y1 + 4, colour, 2);
    draw_rect(rgb, x2 - 6, y2 - 6, x2 + 7, y2 + 7, colour, 1);
  }
  return true;
}

}  // namespace

std::string write_action_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                                 const std::vector<std::string>& groups, const ReportContext& context,
                                 const std::string& out_dir, const std::string& name) {
  SceneSampleStyle style;
  style.heading = "Manipulation samples: test episodes with the true and the predicted actions";
  style.legend = "Green: the true actions. Small square: pick; large square: place; dotted: the move.";
  style.prompt_column = "instruction";
  style.prompt_text = [](const std::string& prompt) { return between(prompt, "DO:", " ACT:"); };
  style.draw = draw_actions;
  style.cell = [](const ExampleRow& row, bool) {
    return fmt::format("`{}` ({})", row.prediction.empty() ? "(nothing)" : row.prediction,
                       row.score >= 1 ? "success" : "failed");
  };
  style.truth_cell = [](const std::string& truth) { return "`" + truth + "`"; };
  return write_scene_samples(runs, images, groups, context, out_dir, name, style);
}

}  // namespace dist2::report
