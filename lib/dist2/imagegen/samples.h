#pragma once
// Generated images as pictures and files: a run's samples (its "examples"
// artifact: the first draw's code grids, one row per image with its class)
// decoded by the VQ tokenizer into a grid with one row per class (`dist2 report
// imagegen-samples`), or exported as PNG files and an IDX pair with their labels
// (`dist2 eval RUN --export-samples DIR`) for other FID tools.
#include <string>
#include <vector>

#include "dist2/image/image.h"
#include "dist2/model/vqvae.h"
#include "dist2/report/scene_samples.h"

namespace dist2::imagegen {

struct Sample {
  int64_t label = 0;
  std::string codes;  // "<c3><c17>..."
};

// Decoded images (1 x 28 x 28, values in [0, 1]) of samples, in order.
std::vector<Image> decode_samples(VqVae& vq, const std::vector<Sample>& samples);

// Images in rows (nullptr: a blank cell), 1-pixel grey gaps, upscaled by `scale`, as RGB.
Image image_grid(const std::vector<std::vector<const Image*>>& rows, int64_t scale = 2);

// One row per class 0..classes-1, the first `per_row` samples of each (blank
// where a class has fewer), 1-pixel gaps, upscaled by `scale`, as RGB.
Image sample_grid(const std::vector<Sample>& samples, const std::vector<Image>& images, int64_t classes,
                  int64_t per_row, int64_t scale = 2);

// DIR/sample-<k>-class<y>.png for each sample, and DIR/samples-images-idx3-ubyte
// and DIR/samples-labels-idx1-ubyte (the MNIST format); returns the files written.
std::vector<std::string> export_samples(const std::vector<Sample>& samples, const std::vector<Image>& images,
                                        const std::string& dir);

// The picture report imagegen-samples: a grid per run (sft, dist), one row per
// class, at out_dir/<name>-<label>.png; returns the Markdown listing them. The
// runs' VQ tokenizer is read from the asset folder (asset_dir()).
std::string write_sample_grids(const std::vector<report::SampleRun>& runs, const std::vector<Image>& unused_scenes,
                               const std::vector<std::string>& unused_groups, const report::ReportContext& context,
                               const std::string& out_dir, const std::string& name);

// The picture report figure4-samples (paper Figure 4): for the first test image
// of each class, the image, its reconstruction, and the reconstruction with its
// central 2x2 codes replaced by a near, a random and a far code, one row per
// image, at out_dir/<name>.png. The runs only say which tokenizer (their config).
std::string write_substitution_samples(const std::vector<report::SampleRun>& runs,
                                       const std::vector<Image>& unused_scenes,
                                       const std::vector<std::string>& unused_groups,
                                       const report::ReportContext& context, const std::string& out_dir,
                                       const std::string& name);

// Adds the image task's picture reports (imagegen-samples, figure4-samples) to
// `dist2 report` (report/command.h).
void add_picture_reports();

}  // namespace dist2::imagegen
