#pragma once
// Qualitative samples drawn on test scenes: for the first test example of each
// group, its scene (upscaled) with the truth in green and the prediction of each
// run in its colour (the first red, the second blue, further ones orange), one
// PNG per scene, listed in Markdown. What a prediction looks like (a box, pick
// and place points) is the task's: a SceneSampleStyle says how to draw and print it.
#include <functional>
#include <string>
#include <vector>

#include "dist2/image/image.h"
#include "dist2/image/png.h"
#include "dist2/report/examples.h"
#include "dist2/report/render.h"

namespace dist2::report {

// One run's per-example predictions (its "examples" artifact).
struct SampleRun {
  std::string label;  // "sft", "dist"
  std::string run_id;
  std::vector<ExampleRow> examples;
  std::string config_yaml;  // the run's resolved config (what decoding its predictions may need)
};

constexpr int64_t kSampleUpscale = 4;  // scene pixels per source pixel in the pictures

struct SceneSampleStyle {
  std::string heading;        // the Markdown title line, without "# "
  std::string legend;         // what green and the marks mean
  std::string prompt_column;  // "expression", "instruction"
  std::string run_column;     // appended to each run's column label, e.g. " (IoU)"
  std::function<std::string(const std::string& prompt)> prompt_text;
  // Draws a prediction (or the truth) given as the model's text on the upscaled
  // picture of a scene `side` pixels wide; false when the text does not read.
  std::function<bool(Image& rgb, const std::string& text, int64_t side, const Rgb& colour)> draw;
  // A run's table cell for its example, given whether its text was drawn.
  std::function<std::string(const ExampleRow& row, bool drawn)> cell;
  std::function<std::string(const std::string& truth)> truth_cell;
};

// Writes out_dir/<name>-<k>.png for the first example of each of `groups` in the
// first run's examples, and returns the Markdown listing them. `images[i]` is
// test example i's scene.
std::string write_scene_samples(const std::vector<SampleRun>& runs, const std::vector<Image>& images,
                                const std::vector<std::string>& groups, const ReportContext& context,
                                const std::string& out_dir, const std::string& name, const SceneSampleStyle& style);

// The provenance list under a picture report's heading (command, profile,
// commit, date, machine), then a blank line.
std::string context_lines(const ReportContext& context);

// "HEAD<text>TAIL" -> "<text>"; anything else as it is.
std::string between(const std::string& s, const std::string& head, const std::string& tail);

}  // namespace dist2::report
