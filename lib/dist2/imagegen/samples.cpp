#include "dist2/imagegen/samples.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dist2/image/png.h"
#include "dist2/imagegen/assets.h"
#include "dist2/imagegen/substitution.h"
#include "dist2/imagegen/task.h"
#include "dist2/report/command.h"
#include "dist2/train/schema.h"
#include "dist2/util/error.h"
#include "dist2/util/files.h"

namespace dist2::imagegen {

namespace {
std::vector<Image> to_images(const torch::Tensor& batch) {
  const auto t = batch.contiguous();
  std::vector<Image> out;
  for (int64_t i = 0; i < t.size(0); ++i) {
    Image img(t.size(1), t.size(2), t.size(3));
    std::copy(t[i].data_ptr<float>(), t[i].data_ptr<float>() + img.pixels.size(), img.pixels.begin());
    out.push_back(std::move(img));
  }
  return out;
}
}  // namespace

std::vector<Image> decode_samples(VqVae& vq, const std::vector<Sample>& samples) {
  const int64_t g = vq->options().grid();
  auto codes = torch::empty({static_cast<int64_t>(samples.size()), g, g}, torch::kInt64);
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto c = parse_codes(samples[i].codes);
    DIST2_CHECK(static_cast<int64_t>(c.size()) == g * g, "sample {} has {} codes, not {}", i, c.size(), g * g);
    for (int64_t k : c)
      DIST2_CHECK(k >= 0 && k < vq->options().codebook_size, "sample {} has code {} outside the codebook", i, k);
    std::copy(c.begin(), c.end(), codes[static_cast<int64_t>(i)].data_ptr<int64_t>());
  }
  return to_images(decode_codes(vq, codes));
}

Image image_grid(const std::vector<std::vector<const Image*>>& rows, int64_t scale) {
  const Image* first = nullptr;
  size_t columns = 0;
  for (const auto& row : rows) {
    columns = std::max(columns, row.size());
    for (const Image* img : row) first = first ? first : img;
  }
  DIST2_CHECK(first != nullptr, "a grid needs at least one image");
  const int64_t side = first->height, cell = side + 1;
  Image grid(1, static_cast<int64_t>(rows.size()) * cell + 1, static_cast<int64_t>(columns) * cell + 1, 0.5f);
  for (size_t y = 0; y < rows.size(); ++y)
    for (size_t x = 0; x < rows[y].size(); ++x) {
      const Image* img = rows[y][x];
      if (!img) continue;
      DIST2_CHECK(img->height == side && img->width == first->width, "the images of a grid differ in size");
      const int64_t top = 1 + static_cast<int64_t>(y) * cell, left = 1 + static_cast<int64_t>(x) * cell;
      for (int64_t r = 0; r < side; ++r)
        for (int64_t c = 0; c < img->width; ++c) grid.at(0, top + r, left + c) = std::clamp(img->at(0, r, c), 0.0f, 1.0f);
    }
  return upscale_nearest(to_rgb(grid), scale);
}

Image sample_grid(const std::vector<Sample>& samples, const std::vector<Image>& images, int64_t classes,
                  int64_t per_row, int64_t scale) {
  DIST2_CHECK(samples.size() == images.size() && !images.empty(), "{} samples and {} images", samples.size(),
              images.size());
  std::vector<std::vector<const Image*>> rows(static_cast<size_t>(classes));
  for (size_t i = 0; i < samples.size(); ++i) {
    const int64_t y = samples[i].label;
    if (y >= 0 && y < classes && static_cast<int64_t>(rows[static_cast<size_t>(y)].size()) < per_row)
      rows[static_cast<size_t>(y)].push_back(&images[i]);
  }
  for (auto& row : rows) row.resize(static_cast<size_t>(per_row), nullptr);  // blank where a class has fewer
  return image_grid(rows, scale);
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
  std::string md = "# Image generation samples (Table 4's task)\n\n" + report::context_lines(context) +
                   "The first sampling draw of each run, decoded by the VQ tokenizer: one row per class (0-9, "
                   "Fashion-MNIST's order), the first " + std::to_string(kPerRow) + " samples of each.\n\n";
  if (runs.empty()) return md + "No finished run with samples.\n";
  make_dirs(out_dir);
  md += "| run | loss | picture |\n|---|---|---|\n";
  for (const auto& run : runs) {
    const auto cfg = config::Config::from_yaml_string(run.config_yaml, experiment_schema("imagegen"));
    Assets& a = load_or_train_assets(cfg);
    std::vector<Sample> samples;
    for (const auto& row : run.examples) {
      samples.push_back({class_of_prompt(row.prompt), row.prediction});
    }
    const auto images = decode_samples(a.vq, samples);
    const std::string file = fmt::format("{}-{}.png", name, run.label);
    write_png(out_dir + "/" + file, sample_grid(samples, images, kClasses, kPerRow));
    md += fmt::format("| {} | {} | ![{} samples]({}) |\n", run.run_id, run.label, run.label, file);
  }
  return md;
}

std::string write_substitution_samples(const std::vector<report::SampleRun>& runs, const std::vector<Image>&,
                                       const std::vector<std::string>&, const report::ReportContext& context,
                                       const std::string& out_dir, const std::string& name) {
  std::string md = "# Figure 4 pictures: test images with their central codes replaced by near, random and far codes\n\n" + report::context_lines(context);
  if (runs.empty()) return md + "No finished run says which VQ tokenizer to draw.\n";
  const auto cfg = config::Config::from_yaml_string(runs.front().config_yaml, experiment_schema("imagegen"));
  Assets& a = load_or_train_assets(cfg);
  VqVae& vq = a.vq;
  torch::NoGradGuard no_grad;
  const auto test = load_split("test", cfg.get_string("task.data_dir"));
  std::vector<int64_t> picks;  // the first test image of each class
  for (int64_t y = 0; y < 10; ++y) picks.push_back((test.labels == y).nonzero()[0][0].item<int64_t>());
  const auto images = test.images.index_select(0, torch::tensor(picks, torch::kInt64));
  const auto codes = vq->codes(images);
  const auto order = codes_by_distance(vq->codebook());
  std::mt19937_64 rng(41);
  std::vector<std::vector<Image>> columns = {to_images(images), to_images(vq->decode(codes))};
  for (const auto& [mode, mode_name] : substitutions())
    columns.push_back(to_images(vq->decode(substitute_central_codes(codes, order, mode, rng))));
  std::vector<std::vector<const Image*>> rows(picks.size());
  for (size_t r = 0; r < picks.size(); ++r)
    for (const auto& col : columns) rows[r].push_back(&col[r]);
  make_dirs(out_dir);
  write_png(out_dir + "/" + name + ".png", image_grid(rows, 3));
  md += fmt::format("Tokenizer {} (from run {}). One row per class (Fashion-MNIST's order), its first test image; "
                    "columns: the image, its VQ reconstruction, then the central 2x2 codes replaced by one of the 10 "
                    "nearest codes, a random code, and one of the 10 farthest.\n\n![Figure 4]({}.png)\n",
                    a.id, runs.front().run_id, name);
  return md;
}

void add_picture_reports() {
  report::add_picture_report({"imagegen-samples", "table4_large", "", "Image generation samples (Table 4's task)",
                              false, write_sample_grids});
  report::add_picture_report({"figure4-samples", "figure4", "",
                              "Figure 4 pictures: test images with their central codes replaced by near, random "
                              "and far codes",
                              false, write_substitution_samples});
}

}  // namespace dist2::imagegen
