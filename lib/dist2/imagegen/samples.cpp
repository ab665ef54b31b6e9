#include "dist2/imagegen/samples.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dist2/image/png.h"
#include "dist2/imagegen/assets.h"
#include "dist2/imagegen/task.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::imagegen {

std::vector<Image> decode_samples(VqVae& vq, const std::vector<Sample>& samples) {
  torch::NoGradGuard no_grad;
  vq->eval();
  const int64_t g = vq->options().grid();
  std::vector<Image> out;
  for (size_t begin = 0; begin < samples.size(); begin += 500) {
    const size_t end = std::min(samples.size(), begin + 500);
    auto codes = torch::empty({static_cast<int64_t>(end - begin), g, g}, torch::kInt64);
    for (size_t i = begin; i < end; ++i) {
      const auto c = parse_codes(samples[i].codes);
      DIST2_CHECK(static_cast<int64_t>(c.size()) == g * g, "sample {} has {} codes, not {}", i, c.size(), g * g);
      for (int64_t k : c)
        DIST2_CHECK(k >= 0 && k < vq->options().codebook_size, "sample {} has code {} outside the codebook", i, k);
      std::copy(c.begin(), c.end(), codes[static_cast<int64_t>(i - begin)].data_ptr<int64_t>());
    }
    const auto images = vq->decode(codes).contiguous();
    for (int64_t i = 0; i < images.size(0); ++i) {
      Image img(images.size(1), images.size(2), images.size(3));
      const float* p = images[i].data_ptr<float>();
      std::copy(p, p + img.pixels.size(), img.pixels.begin());
      out.push_back(std::move(img));
    }
  }
  return out;
}

Image sample_grid(const std::vector<Sample>& samples, const std::vector<Image>& images, int64_t classes,
                  int64_t per_row, int64_t scale) {
  DIST2_CHECK(samples.size() == images.size() && !images.empty(), "{} samples and {} images", samples.size(),
              images.size());
  const int64_t side = images[0].height, cell = side + 1;
  Image grid(1, classes * cell + 1, per_row * cell + 1, 0.5f);  // grey gaps between the cells
  std::vector<int64_t> filled(static_cast<size_t>(classes), 0);
  for (size_t i = 0; i < samples.size(); ++i) {
    const int64_t y = samples[i].label;
    if (y < 0 || y >= classes || filled[static_cast<size_t>(y)] >= per_row) continue;
    const int64_t top = 1 + y * cell, left = 1 + filled[static_cast<size_t>(y)]++ * cell;
    for (int64_t r = 0; r < side; ++r)
      for (int64_t c = 0; c < side; ++c) grid.at(0, top + r, left + c) = std::clamp(images[i].at(0, r, c), 0.0f, 1.0f);
  }
  return upscale_nearest(to_rgb(grid), scale);
}

std::vector<std::string> export_samples(const std::vector<Sample>& samples, const std::vector<Image>& images,
                                        const std::string& dir) {
  DIST2_CHECK(samples.size() == images.size() && !images.empty(), "{} samples and {} images", samples.size(),
              images.size());
  make_dirs(dir);
  std::vector<std::string> files;
  const int64_t h = images[0].height, w = images[0].width;
  std::string idx_images, idx_labels;
  auto be32 = [](std::string& s, uint32_t v) {
    for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>((v >> sh) & 0xff));
  };
  be32(idx_images, 0x803);
  be32(idx_images, static_cast<uint32_t>(images.size()));
  be32(idx_images, static_cast<uint32_t>(h));
  be32(idx_images, static_cast<uint32_t>(w));
  be32(idx_labels, 0x801);
  be32(idx_labels, static_cast<uint32_t>(images.size()));
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string png = fmt::format("{}/sample-{}-class{}.png", dir, i, samples[i].label);
    write_png(png, images[i]);
    files.push_back(png);
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c)
        idx_images.push_back(static_cast<char>(std::lround(std::clamp(images[i].at(0, r, c), 0.0f, 1.0f) * 255.0f)));
    idx_labels.push_back(static_cast<char>(samples[i].label));
  }
  write_file_atomic(dir + "/samples-images-idx3-ubyte", idx_images);
  write_file_atomic(dir + "/samples-labels-idx1-ubyte", idx_labels);
  files.push_back(dir + "/samples-images-idx3-ubyte");
  files.push_back(dir + "/samples-labels-idx1-ubyte");
  return files;
}

std::string write_sample_grids(const std::vector<report::SampleRun>& runs, const std::vector<Image>&,
                               const std::vector<std::string>&, const report::ReportContext& context,
                               const std::string& out_dir, const std::string& name) {
  constexpr int64_t kClasses = 10, kPerRow = 10;
  const auto& c = context;
  std::string md = fmt::format("# Image generation samples (Table 4's task)\n\n- command: `{}`\n- profile: {}\n"
                               "- commit: {}\n- date: {}\n- machine: {}\n\n",
                               c.command, c.profile, c.commit, c.date, c.machine) +
                   "The first sampling draw of each run, decoded by the VQ tokenizer: one row per class (0-9, "
                   "Fashion-MNIST's order), the first " + std::to_string(kPerRow) + " samples of each.\n\n";
  if (runs.empty()) return md + "No finished run with samples.\n";
  make_dirs(out_dir);
  md += "| run | loss | picture |\n|---|---|---|\n";
  for (const auto& run : runs) {
    const auto cfg = config::Config::from_yaml_string(run.config_yaml, experiment_schema("imagegen"));
    const Assets& a = load_or_train_assets(cfg);
    std::vector<Sample> samples;
    for (const auto& row : run.examples) {
      samples.push_back({class_of_prompt(row.prompt), row.prediction});
    }
    const auto images = decode_samples(const_cast<VqVae&>(a.vq), samples);
    const std::string file = fmt::format("{}-{}.png", name, run.label);
    write_png(out_dir + "/" + file, sample_grid(samples, images, kClasses, kPerRow));
    md += fmt::format("| {} | {} | ![{} samples]({}) |\n", run.run_id, run.label, run.label, file);
  }
  return md;
}

}  // namespace dist2::imagegen
