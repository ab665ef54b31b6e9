#pragma once
// A small convolutional image classifier: the stand-in for Inception-v3 in the
// image-generation metrics (paper section 3.5, Table 4). Trained once on the
// real training images, it supplies the features whose Gaussian fits give the
// FID (its penultimate layer) and the class probabilities that give the IS.
#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace dist2 {

struct ClassifierOptions {
  int64_t channels = 1, image_size = 28;  // square images, the side a multiple of 4
  int64_t classes = 10;
  int64_t width = 32;     // channels of the first convolution (the second has twice as many)
  int64_t features = 128;  // width of the penultimate layer (the FID features)
  void validate() const;
};

class ImageClassifierImpl : public torch::nn::Module {
 public:
  explicit ImageClassifierImpl(const ClassifierOptions& o);
  // Images (B, C, H, W) in [0, 1] -> the penultimate activations (B, features).
  torch::Tensor features(const torch::Tensor& images);
  // Features (B, features) -> class logits (B, classes).
  torch::Tensor logits(const torch::Tensor& features) { return head_->forward(features); }
  // Images -> class logits (B, classes).
  torch::Tensor forward(const torch::Tensor& images) { return logits(features(images)); }
  const ClassifierOptions& options() const { return o_; }

 private:
  ClassifierOptions o_;
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(ImageClassifier);

struct ClassifierTrainOptions {
  int64_t steps = 1500, batch_size = 128;
  double lr = 2e-3;
  uint64_t seed = 0;
};
// Trains on images (N, C, H, W) and labels (N) int64 with Adam and a cross-
// entropy, batches drawn with replacement by the seed; `progress(step, loss)`
// every 100 steps and at the end when given, and may return false to stop.
void train_classifier(ImageClassifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                      const ClassifierTrainOptions& t, const std::function<bool(int64_t, double)>& progress = {});

struct ClassifierOutputs {
  std::vector<std::vector<double>> features, probabilities;  // per image
  std::vector<int64_t> predicted;                            // argmax class per image
};
// Features, class probabilities and predictions of images (N, C, H, W), in batches, float64.
ClassifierOutputs classify(ImageClassifier& model, const torch::Tensor& images, int64_t batch_size = 500);
// The share of images whose predicted class is their label.
double classifier_accuracy(ImageClassifier& model, const torch::Tensor& images, const torch::Tensor& labels);

}  // namespace dist2
