#include "dist2/report/action_samples.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "dist2/image/png.h"
#include "dist2/tasks/manipulation_sim.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::report {

namespace {

constexpr int64_t kUpscale = 4;

Rgb colour_of(size_t run) {
  static const std::vector<Rgb> colours{{0.95f, 0.2f, 0.2f}, {0.25f, 0.5f, 1.0f}, {1.0f, 0.6f, 0.1f}};
  return colours[std::min(run, colours.size() - 1)];
}

void put_pixel(Image& rgb, int64_t x, int64_t y, const Rgb& c) {
  if (x < 0 || y < 0 || x >= rgb.width || y >= rgb.height) return;
  for (int64_t ch = 0; ch < 3; ++ch) rgb.at(ch, y, x) = c[static_cast<size_t>(ch)];
}

// Grid units (0-99) to pixels of the upscaled picture.
int64_t upscaled(int grid, int64_t side) {
  return static_cast<int64_t>(std::lround(manipulation::from_grid(grid, side) * kUpscale));
}

void draw_actions(Image& rgb, const std::vector<manipulation::Action>& actions, int64_t side, const Rgb& colour) {
  for (const auto& a : actions) {
    const int64_t x1 = upscaled(a.pick_x, side), y1 = upscaled(a.pick_y, side);
    const int64_t x2 = upscaled(a.place_x, side), y2 = upscaled(a.place_y, side);
    const int64_t steps = std::max<int64_t>({std::abs(x2 - x1), std::abs(y2 - y1), 1});
    for (int64_t k = 0; k <= steps; k += 2)  // a dotted line from pick to place
      put_pixel(rgb, x1 + (x2 - x1) * k / steps, y1 + (y2 - y1) * k / steps, colour);
    draw_rect(rgb, x1 - 3, y1 - 3, x1 + 4, y1 + 4, colour, 2);
    draw_rect(rgb, x2 - 6, y2 - 6, x2 + 7, y2 + 7, colour, 1);
  }
}

std::string instruction_of(const std::string& prompt) {
  // "DO:<instruction> ACT:" as the manipulation task writes it; anything else as it is.
  const std::string head = "DO:", tail = " ACT:";
  if (prompt.rfind(head, 0) == 0 && prompt.size() >= head.size() + tail.size() &&
      prompt.compare(prompt.size() - tail.size(), tail.size(), tail) == 0)
    return prompt.substr(head.size(), prompt.size() - head.size() - tail.size());
  return prompt;
}

}  // namespace

std::string write_action_samples(const std::vector<BoxRun>& runs, const std::vector<Image>& images,
                                 const std::vector<std::string>& groups, const ReportContext& c,
                                 const std::string& out_dir, const std::string& name) {
  std::string md = "# Manipulation samples: test episodes with the true and the predicted actions\n\n";
  md += fmt::format("- command: `{}`\n- profile: {}\n- commit: {}\n- date: {}\n- machine: {}\n\n", c.command, c.profile,
                    c.commit, c.date, c.machine);
  if (runs.empty()) return md + "No finished pair of runs with per-example predictions yet (run `dist2 sweep` first).\n";
  md += "Green: the true actions. Small square: pick; large square: place; dotted: the move.";
  for (size_t r = 0; r < runs.size(); ++r)
    md += fmt::format(" {}: {} (run {}).", r == 0 ? "Red" : r == 1 ? "Blue" : "Orange", runs[r].label, runs[r].run_id);
  md += "\n\n| scene | group | instruction | truth |";
  for (const auto& r : runs) md += fmt::format(" {} |", r.label);
  md += "\n|---|---|---|---|";
  for (size_t r = 0; r < runs.size(); ++r) md += "---|";
  md += "\n";
  make_dirs(out_dir);
  int k = 0;
  for (const auto& group : groups) {
    const ExampleRow* first = nullptr;
    for (const auto& e : runs[0].examples)
      if (e.group == group) {
        first = &e;
        break;
      }
    if (!first) continue;
    DIST2_CHECK(first->index >= 0 && static_cast<size_t>(first->index) < images.size(),
                "example {} has no scene in the dataset's image file ({} images)", first->index, images.size());
    const Image& scene = images[static_cast<size_t>(first->index)];
    Image rgb = upscale_nearest(to_rgb(scene), kUpscale);
    std::string cells;
    for (size_t r = 0; r < runs.size(); ++r) {
      const ExampleRow* mine = nullptr;
      for (const auto& e : runs[r].examples)
        if (e.index == first->index) mine = &e;
      if (!mine) {
        cells += " (no prediction) |";
        continue;
      }
      if (const auto actions = manipulation::parse_actions(mine->prediction))
        draw_actions(rgb, *actions, scene.width, colour_of(r));
      cells += fmt::format(" `{}` ({}) |", mine->prediction.empty() ? "(nothing)" : mine->prediction,
                           mine->score >= 1 ? "success" : "failed");
    }
    if (const auto truth = manipulation::parse_actions(first->truth)) draw_actions(rgb, *truth, scene.width, {0.2f, 0.9f, 0.3f});
    const std::string file = fmt::format("{}-{}.png", name, ++k);
    write_png((std::filesystem::path(out_dir) / file).string(), rgb);
    md += fmt::format("| ![{}]({}) | {} | {} | `{}` |{}\n", group, file, group, instruction_of(first->prompt),
                      first->truth, cells);
  }
  return md;
}

}  // namespace dist2::report
