#pragma once
// The image-generation experiment's shared models (paper sections 3.5 and D.3),
// trained once on the Fashion-MNIST training images and cached under
// asset_dir()/<id>/ like the backbones: the VQ tokenizer (model/vqvae.h), whose
// codes the generator models, and the evaluation classifier
// (model/classifier.h), whose features and probabilities give FID and IS. Every
// run and seed reads the same ones, as the paper's runs share LlamaGen's
// pretrained VQGAN. The id hashes the task.vq_*, task.clf_* and task.asset_seed keys
// (and task.data_dir when it is set).
#include <string>

#include <torch/torch.h>

#include "dist2/config/config.h"
#include "dist2/model/classifier.h"
#include "dist2/model/vqvae.h"
#include "dist2/tasks/imagegen/metrics.h"

namespace dist2::imagegen {

// A Fashion-MNIST split as tensors: images (N, 1, 28, 28) in [0, 1], labels (N) int64.
struct ImageSet {
  torch::Tensor images, labels;
};
// The first `limit` images of a split (all when limit < 0), read once per process.
ImageSet load_split(const std::string& split, const std::string& data_dir, int64_t limit = -1);

struct Assets {
  std::string id, dir;
  VqVae vq{nullptr};
  ImageClassifier classifier{nullptr};
  VqQuality vq_test;                // reconstruction MSE and codebook usage on the test images
  double classifier_accuracy = 0;  // on the test images
  Gaussian test_features;           // the FID reference: a Gaussian fit of the test images' features
  bool from_cache = false;
};

// The cached assets of cfg, trained first when missing (concurrent callers wait
// on a lock file); held in memory for the rest of the process.
Assets& load_or_train_assets(const config::Config& cfg);

// Images (N, 1, 28, 28) -> code grids (N, h, w), and back, in batches without gradients.
torch::Tensor encode_codes(VqVae& vq, const torch::Tensor& images);
torch::Tensor decode_codes(VqVae& vq, const torch::Tensor& codes);

// The keys of the assets (task.vq_*, task.clf_*, task.asset_seed), for the image tasks' schemas.
void add_asset_keys(config::Schema& s);

}  // namespace dist2::imagegen
