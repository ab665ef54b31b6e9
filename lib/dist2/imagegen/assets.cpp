#include "dist2/imagegen/assets.h"

#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>

#include "dist2/image/idx.h"
#include "dist2/tasks/task.h"
#include "dist2/util/error.h"
#include "dist2/util/file_lock.h"
#include "dist2/util/files.h"
#include "dist2/util/hash.h"
#include "dist2/util/json.h"
#include "dist2/util/progress.h"

namespace dist2::imagegen {

void add_asset_keys(config::Schema& s) {
  s.add_string("task.data_dir", "", {}, "Fashion-MNIST folder (default: $DIST2_FASHION_MNIST, else the Debian package's)");
  s.add_int("task.asset_seed", 0, 0, {}, "seed of the VQ tokenizer's and the classifier's training (shared by every run)");
  s.add_int("task.vq_codes", 64, 2, 4096, "VQ codebook size K (the code tokens, V_d)");
  s.add_int("task.vq_dim", 16, 1, 256, "VQ code dimension D (the metric's embedding width)");
  s.add_int("task.vq_hidden", 32, 1, 512, "VQ-VAE convolution width");
  s.add_int("task.vq_steps", 3000, 1, {}, "VQ-VAE training steps (batch 128, Adam)");
  s.add_int("task.clf_steps", 2000, 1, {}, "evaluation classifier training steps (batch 128, Adam)");
  s.add_int("task.clf_width", 32, 1, 512, "evaluation classifier width (first convolution's channels)");
}

namespace {

VqVaeOptions vq_options(const config::Config& cfg) {
  VqVaeOptions o;
  o.codebook_size = cfg.get_int("task.vq_codes");
  o.code_dim = cfg.get_int("task.vq_dim");
  o.hidden = cfg.get_int("task.vq_hidden");
  return o;
}

ClassifierOptions classifier_options(const config::Config& cfg) {
  ClassifierOptions o;
  o.width = cfg.get_int("task.clf_width");
  return o;
}

std::string asset_id(const config::Config& cfg) {
  std::string canonical;
  for (const auto& [key, value] : cfg.values())
    if (key.rfind("task.vq_", 0) == 0 || key.rfind("task.clf_", 0) == 0 || key == "task.asset_seed" ||
        (key == "task.data_dir" && !cfg.get_string(key).empty()))  // other data, other models; the default adds nothing
      canonical += key + "=" + cfg.value_string(key) + "\n";
  return "imagegen-" + hex16(fnv1a64(canonical));
}

void save_manifest(const std::string& dir, const Assets& a) {
  json::Json m;
  m["id"] = a.id;
  m["vq_reconstruction_mse"] = a.vq_test.reconstruction_mse;
  m["vq_codebook_usage"] = a.vq_test.codebook_usage;
  m["classifier_accuracy"] = a.classifier_accuracy;
  write_file_atomic(dir + "/manifest.json", json::dump(m) + "\n");  // last: without it the assets are incomplete
}

bool read_manifest(const std::string& dir, Assets& a) {
  if (!file_exists(dir + "/manifest.json") || !file_exists(dir + "/vq.pt") || !file_exists(dir + "/classifier.pt"))
    return false;
  const auto m = json::parse(read_file(dir + "/manifest.json"));
  json::reading([&] {
    a.vq_test.reconstruction_mse = m.at("vq_reconstruction_mse").get<double>();
    a.vq_test.codebook_usage = m.at("vq_codebook_usage").get<double>();
    a.classifier_accuracy = m.at("classifier_accuracy").get<double>();
    return 0;
  });
  return true;
}

// The FID reference (a Gaussian fit of the 10,000 test images' features) is a
// function of the classifier alone, so it is cached beside it: fitting it costs
// a classifier pass over the test set, which every process would otherwise repeat.
// JSON keeps every double exactly (shortest round-trip form).
void save_reference(const std::string& dir, const Gaussian& g) {
  json::Json j;
  j["n"] = g.n;
  j["mean"] = g.mean;
  j["cov"] = g.cov.a;
  write_file_atomic(dir + "/test_features.json", json::dump(j) + "\n");
}

bool read_reference(const std::string& dir, Gaussian& g) {
  const std::string path = dir + "/test_features.json";
  if (!file_exists(path)) return false;
  const auto j = json::parse(read_file(path));
  json::reading([&] {
    g.n = j.at("n").get<size_t>();
    g.mean = j.at("mean").get<std::vector<double>>();
    g.cov = linalg::Matrix(g.mean.size());
    g.cov.a = j.at("cov").get<std::vector<double>>();
    return 0;
  });
  DIST2_CHECK(g.cov.a.size() == g.mean.size() * g.mean.size() && g.n >= 2, "{}: a malformed Gaussian", path);
  return true;
}

Gaussian fit_test_features(ImageClassifier& classifier, const torch::Tensor& test_images) {
  return fit_gaussian(classify(classifier, test_images).features);
}

void train_assets(const config::Config& cfg, Assets& a) {
  const auto seed = static_cast<uint64_t>(cfg.get_int("task.asset_seed"));
  const auto train = load_split("train", cfg.get_string("task.data_dir"));
  const auto test = load_split("test", cfg.get_string("task.data_dir"));
  torch::manual_seed(static_cast<int64_t>(seed));  // the initial weights too: the assets are a function of the keys
  a.vq = VqVae(vq_options(cfg));
  a.classifier = ImageClassifier(classifier_options(cfg));
  VqTrainOptions vt;
  vt.steps = cfg.get_int("task.vq_steps");
  vt.seed = seed;
  Progress vq_progress("imagegen assets: VQ tokenizer steps", vt.steps);
  train_vqvae(a.vq, train.images, vt, [&](int64_t s, double l) {
    vq_progress.update(s, fmt::format("loss {:.4f}", l));
    return true;
  });
  vq_progress.finish();
  a.vq_test = evaluate_vqvae(a.vq, test.images);
  ClassifierTrainOptions ct;
  ct.steps = cfg.get_int("task.clf_steps");
  ct.seed = seed;
  Progress clf_progress("imagegen assets: classifier steps", ct.steps);
  train_classifier(a.classifier, train.images, train.labels, ct, [&](int64_t s, double l) {
    clf_progress.update(s, fmt::format("loss {:.4f}", l));
    return true;
  });
  clf_progress.finish();
  a.classifier_accuracy = classifier_accuracy(a.classifier, test.images, test.labels);
  a.vq->eval();
  a.classifier->eval();
  a.test_features = fit_test_features(a.classifier, test.images);  // the split train_assets already holds
  make_dirs(a.dir);
  torch::save(a.vq, a.dir + "/vq.pt");
  torch::save(a.classifier, a.dir + "/classifier.pt");
  save_reference(a.dir, a.test_features);
  save_manifest(a.dir, a);
  fmt::print("imagegen assets {}: VQ test reconstruction MSE {:.5f}, codebook usage {:.3f}; classifier test accuracy {:.4f}\n",
             a.id, a.vq_test.reconstruction_mse, a.vq_test.codebook_usage, a.classifier_accuracy);
}

}  // namespace

namespace {
// fn over slices of at most 500 rows of x, concatenated.
template <typename Fn>
torch::Tensor in_batches(const torch::Tensor& x, Fn fn) {
  torch::NoGradGuard no_grad;
  if (x.size(0) == 0) return fn(x);
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < x.size(0); b += 500) parts.push_back(fn(x.slice(0, b, std::min(x.size(0), b + 500))));
  return torch::cat(parts, 0);
}
}  // namespace

torch::Tensor encode_codes(VqVae& vq, const torch::Tensor& images) {
  return in_batches(images, [&](const torch::Tensor& b) { return vq->codes(b); });
}

torch::Tensor decode_codes(VqVae& vq, const torch::Tensor& codes) {
  return in_batches(codes, [&](const torch::Tensor& b) { return vq->decode(b); });
}

ImageSet load_split(const std::string& split, const std::string& data_dir, int64_t limit) {
  const FashionMnist& f = load_fashion_mnist(split, data_dir);
  const int64_t n = limit < 0 ? f.count : std::min(limit, f.count);
  ImageSet s;
  s.images = torch::from_blob(const_cast<uint8_t*>(f.pixels.data()), {n, 1, f.rows, f.cols}, torch::kUInt8)
                 .to(torch::kFloat32)
                 .div_(255.0f);
  s.labels = torch::from_blob(const_cast<uint8_t*>(f.labels.data()), {n}, torch::kUInt8).to(torch::kInt64);
  return s;
}

Assets& load_or_train_assets(const config::Config& cfg) {
  static std::map<std::string, std::unique_ptr<Assets>> loaded;
  const std::string id = asset_id(cfg), dir = asset_dir() + "/" + id;
  if (auto it = loaded.find(dir); it != loaded.end()) return *it->second;
  auto a = std::make_unique<Assets>();
  a->id = id;
  a->dir = dir;
  a->vq = VqVae(vq_options(cfg));
  a->classifier = ImageClassifier(classifier_options(cfg));
  {
    make_dirs(asset_dir());
    FileLock lock(a->dir + ".lock");
    if (read_manifest(a->dir, *a)) {
      torch::load(a->vq, a->dir + "/vq.pt");
      torch::load(a->classifier, a->dir + "/classifier.pt");
      a->vq->eval();
      a->classifier->eval();
      a->from_cache = true;
      if (!read_reference(a->dir, a->test_features)) {  // assets cached before the reference was
        a->test_features = fit_test_features(a->classifier, load_split("test", cfg.get_string("task.data_dir")).images);
        save_reference(a->dir, a->test_features);
      }
    } else {
      train_assets(cfg, *a);
    }
  }
  return *loaded.emplace(dir, std::move(a)).first->second;
}

}  // namespace dist2::imagegen
