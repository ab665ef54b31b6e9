#include "dist2/report/box_samples.h"

#include <cmath>

#include <fmt/format.h>

#include "dist2/tasks/grounding/scene.h"

namespace dist2::report {

std::string write_box_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                              const std::vector<std::string>& groups, const ReportContext& context,
                              const std::string& out_dir, const std::string& name) {
  SceneSampleStyle style;
  style.heading = "Grounding samples: test scenes with the true and the predicted boxes";
  style.legend = "Green: the true box.";
  style.prompt_column = "expression";
  style.run_column = " (IoU)";
  style.prompt_text = [](const std::string& prompt) { return between(prompt, "REF:", " BOX:"); };
  style.draw = [](Image& rgb, const std::string& text, int64_t side, const Rgb& colour) {
    const auto box = grounding::parse_box(text);
    if (!box) return false;
    const grounding::Box px = grounding::from_grid(*box, side, side);
    auto at = [](double v) { return static_cast<int64_t>(std::lround(v * kSampleUpscale)); };
    draw_rect(rgb, at(px.x1), at(px.y1), at(px.x2), at(px.y2), colour, 2);
    return true;
  };
  style.cell = [](const ExampleRow& row, bool drawn) {
    return fmt::format("{} ({:.2f})", drawn ? row.prediction : "unparsed: " + row.prediction, row.score);
  };
  style.truth_cell = [](const std::string& truth) { return truth; };
  return write_scene_samples(runs, images, groups, context, out_dir, name, style);
}

}  // namespace dist2::report
