#include "dist2/report/box_samples.h"

#include <filesystem>

#include <fmt/format.h>

#include "dist2/image/png.h"
#include "dist2/tasks/grounding_scene.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::report {

namespace {

constexpr int64_t kUpscale = 4;

Rgb colour_of(size_t run) {
  static const std::vector<Rgb> colours{{0.95f, 0.2f, 0.2f}, {0.25f, 0.5f, 1.0f}, {1.0f, 0.6f, 0.1f}};
  return colours[std::min(run, colours.size() - 1)];
}

// A grid box drawn on the upscaled scene.
void draw_grid_box(Image& rgb, const grounding::Box& grid, int64_t side, const Rgb& colour) {
  const grounding::Box px = grounding::from_grid(grid, side, side);
  auto at = [](double v) { return static_cast<int64_t>(std::lround(v * kUpscale)); };
  draw_rect(rgb, at(px.x1), at(px.y1), at(px.x2), at(px.y2), colour, 2);
}

std::string expression_of(const std::string& prompt) {
  // "REF:<expression> BOX:" as the grounding task writes it; anything else as it is.
  const std::string head = "REF:", tail = " BOX:";
  if (prompt.rfind(head, 0) == 0 && prompt.size() >= head.size() + tail.size() &&
      prompt.compare(prompt.size() - tail.size(), tail.size(), tail) == 0)
    return prompt.substr(head.size(), prompt.size() - head.size() - tail.size());
  return prompt;
}

}  // namespace

std::string write_box_samples(const std::vector<BoxRun>& runs, const std::vector<Image>& images,
                              const std::vector<std::string>& groups, const ReportContext& c,
                              const std::string& out_dir, const std::string& name) {
  std::string md = "# Grounding samples: test scenes with the true and the predicted boxes\n\n";
  md += fmt::format("- command: `{}`\n- profile: {}\n- commit: {}\n- date: {}\n- machine: {}\n\n", c.command, c.profile,
                    c.commit, c.date, c.machine);
  if (runs.empty()) return md + "No finished pair of runs with per-example predictions yet (run `dist2 sweep` first).\n";
  md += "Green: the true box.";
  for (size_t r = 0; r < runs.size(); ++r)
    md += fmt::format(" {}: {} (run {}).", r == 0 ? "Red" : r == 1 ? "Blue" : "Orange", runs[r].label, runs[r].run_id);
  md += "\n\n| scene | group | expression | truth |";
  for (const auto& r : runs) md += fmt::format(" {} (IoU) |", r.label);
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
      const auto box = mine ? grounding::parse_box(mine->prediction) : std::nullopt;
      if (box) draw_grid_box(rgb, *box, scene.width, colour_of(r));
      cells += mine ? fmt::format(" {} ({:.2f}) |", box ? mine->prediction : "unparsed: " + mine->prediction, mine->score)
                    : " (no prediction) |";
    }
    if (const auto truth = grounding::parse_box(first->truth)) draw_grid_box(rgb, *truth, scene.width, {0.2f, 0.9f, 0.3f});
    const std::string file = fmt::format("{}-{}.png", name, ++k);
    write_png((std::filesystem::path(out_dir) / file).string(), rgb);
    md += fmt::format("| ![{}]({}) | {} | {} | {} |{}\n", group, file, group, expression_of(first->prompt), first->truth,
                      cells);
  }
  return md;
}

}  // namespace dist2::report
