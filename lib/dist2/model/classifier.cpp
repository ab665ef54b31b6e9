#include "dist2/model/classifier.h"

#include <random>

#include "dist2/util/error.h"

namespace dist2 {

namespace nn = torch::nn;

void ClassifierOptions::validate() const {
  DIST2_CHECK(channels >= 1 && classes >= 2 && width >= 1 && features >= 1,
              "a classifier needs channels, width and features of at least 1 and two classes");
  DIST2_CHECK(image_size >= 4 && image_size % 4 == 0, "the classifier's image side must be a multiple of 4, got {}",
              image_size);
}

ImageClassifierImpl::ImageClassifierImpl(const ClassifierOptions& o) : o_(o) {
  o.validate();
  // Two 3x3 convolutions, each followed by 2x2 max pooling, then a linear layer
  // to the feature width: LeNet's shape, enough for Fashion-MNIST's ~90%.
  const int64_t side = o.image_size / 4;
  body_ = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(o.channels, o.width, 3).padding(1)), nn::ReLU(),
                         nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                         nn::Conv2d(nn::Conv2dOptions(o.width, 2 * o.width, 3).padding(1)), nn::ReLU(),
                         nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Flatten(),
                         nn::Linear(2 * o.width * side * side, o.features), nn::ReLU());
  head_ = nn::Linear(o.features, o.classes);
  register_module("body", body_);
  register_module("head", head_);
}

torch::Tensor ImageClassifierImpl::features(const torch::Tensor& images) { return body_->forward(images); }

void train_classifier(ImageClassifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                      const ClassifierTrainOptions& t, const std::function<bool(int64_t, double)>& progress) {
  DIST2_CHECK(images.dim() == 4 && images.size(0) > 0 && labels.dim() == 1 && labels.size(0) == images.size(0),
              "train_classifier needs images (N, C, H, W) and N labels");
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(t.lr));
  std::mt19937_64 rng(t.seed * 0x9E3779B97F4A7C15ull + 29);
  std::uniform_int_distribution<int64_t> pick(0, images.size(0) - 1);
  for (int64_t step = 0; step < t.steps; ++step) {
    std::vector<int64_t> rows(static_cast<size_t>(std::min(t.batch_size, images.size(0))));
    for (auto& r : rows) r = pick(rng);
    const auto idx = torch::tensor(rows, torch::kInt64);
    const auto loss = torch::nn::functional::cross_entropy(model->forward(images.index_select(0, idx)),
                                                           labels.index_select(0, idx));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (progress && ((step + 1) % 100 == 0 || step + 1 == t.steps) && !progress(step + 1, loss.item<double>())) break;
  }
  model->eval();
}

namespace {
std::vector<std::vector<double>> rows_of(const torch::Tensor& m) {
  const auto c = m.to(torch::kFloat64).contiguous();
  std::vector<std::vector<double>> out(static_cast<size_t>(c.size(0)));
  for (int64_t i = 0; i < c.size(0); ++i) out[static_cast<size_t>(i)].assign(c[i].data_ptr<double>(), c[i].data_ptr<double>() + c.size(1));
  return out;
}
}  // namespace

ClassifierOutputs classify(ImageClassifier& model, const torch::Tensor& images, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model->eval();
  ClassifierOutputs out;
  for (int64_t begin = 0; begin < images.size(0); begin += batch_size) {
    const auto batch = images.slice(0, begin, std::min(images.size(0), begin + batch_size));
    const auto f = model->features(batch);
    const auto p = torch::softmax(model->logits(f).to(torch::kFloat64), 1);
    for (auto& row : rows_of(f)) out.features.push_back(std::move(row));
    for (auto& row : rows_of(p)) out.probabilities.push_back(std::move(row));
    const auto pred = p.argmax(1).contiguous();
    out.predicted.insert(out.predicted.end(), pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + pred.size(0));
  }
  return out;
}

double classifier_accuracy(ImageClassifier& model, const torch::Tensor& images, const torch::Tensor& labels) {
  DIST2_CHECK(labels.size(0) == images.size(0) && images.size(0) > 0, "{} labels for {} images", labels.size(0),
              images.size(0));
  const auto pred = classify(model, images).predicted;
  const auto lab = labels.to(torch::kInt64).contiguous();
  int64_t right = 0;
  for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == lab.data_ptr<int64_t>()[i];
  return static_cast<double>(right) / static_cast<double>(pred.size());
}

}  // namespace dist2
