#include "dist2/report/scene_samples.h"

#include <filesystem>

#include <fmt/format.h>

#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::report {

namespace {

Rgb colour_of(size_t run) {
  static const std::vector<Rgb> colours{{0.95f, 0.2f, 0.2f}, {0.25f, 0.5f, 1.0f}, {1.0f, 0.6f, 0.1f}};
  return colours[std::min(run, colours.size() - 1)];
}

const char* colour_name(size_t run) { return run == 0 ? "Red" : run == 1 ? "Blue" : "Orange"; }

}  // namespace

std::string between(const std::string& s, const std::string& head, const std::string& tail) {
  if (s.rfind(head, 0) == 0 && s.size() >= head.size() + tail.size() &&
      s.compare(s.size() - tail.size(), tail.size(), tail) == 0)
    return s.substr(head.size(), s.size() - head.size() - tail.size());
  return s;
}

std::string context_lines(const ReportContext& c) {
  return fmt::format("- command: `{}`\n- profile: {}\n- commit: {}\n- date: {}\n- machine: {}\n\n", c.command, c.profile,
                     c.commit, c.date, c.machine);
}

std::string write_scene_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                                const std::vector<std::string>& groups, const ReportContext& c,
                                const std::string& out_dir, const std::string& name, const SceneSampleStyle& style) {
  std::string md = "# " + style.heading + "\n\n";
  md += context_lines(c);
  if (runs.empty()) return md + "No finished pair of runs with per-example predictions yet (run `dist2 sweep` first).\n";
  md += style.legend;
  for (size_t r = 0; r < runs.size(); ++r)
    md += fmt::format(" {}: {} (run {}).", colour_name(r), runs[r].label, runs[r].run_id);
  md += fmt::format("\n\n| scene | group | {} | truth |", style.prompt_column);
  for (const auto& r : runs) md += fmt::format(" {}{} |", r.label, style.run_column);
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
    Image rgb = upscale_nearest(to_rgb(scene), kSampleUpscale);
    std::string cells;
    for (size_t r = 0; r < runs.size(); ++r) {
      const ExampleRow* mine = nullptr;
      for (const auto& e : runs[r].examples)
        if (e.index == first->index) mine = &e;
      if (!mine) {
        cells += " (no prediction) |";
        continue;
      }
      const bool drawn = style.draw(rgb, mine->prediction, scene.width, colour_of(r));
      cells += " " + style.cell(*mine, drawn) + " |";
    }
    style.draw(rgb, first->truth, scene.width, {0.2f, 0.9f, 0.3f});
    const std::string file = fmt::format("{}-{}.png", name, ++k);
    write_png((std::filesystem::path(out_dir) / file).string(), rgb);
    md += fmt::format("| ![{}]({}) | {} | {} | {} |{}\n", group, file, group, style.prompt_text(first->prompt),
                      style.truth_cell(first->truth), cells);
  }
  return md;
}

}  // namespace dist2::report
