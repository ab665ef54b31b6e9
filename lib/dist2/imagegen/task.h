#pragma once
// Class-conditional VQ image generation (paper sections 2.4, 3.5 and D.3),
// scaled: LlamaGen's setup on Fashion-MNIST. The VQ tokenizer of assets.h turns
// each 28x28 image into a 7x7 grid of code tokens "<c17>"; a GPT reads a class
// token "<y3>" and writes the 49 codes in raster order. Every code token is a
// metric position: V_d is the codebook, the distance the MSE (or cosine)
// between codebook vectors (loss.metric: mse | cosine), tau from loss.tau or by
// entropy matching (loss.entropy, appendix C.1).
//
// Classifier-free guidance as LlamaGen trains it: at every training step, each
// example is shown with the null class "<y->" instead of its own with
// probability task.class_dropout (LlamaGen's class_dropout_prob), drawn afresh
// per step and example (encode_for_training); sampling mixes the two,
// u + guidance (c - u).
//
// Evaluation: task.draws sampling draws of task.per_class images per class,
// decoded and read by the evaluation classifier: FID against the test images'
// features and IS (each the mean over the draws, and per draw), and the share of
// samples classified as the class they were asked for. References: the VQ
// reconstructions of test images (the tokenizer's floor), real training images,
// and each class's code-frequency (unigram) model, with as many images as a draw;
// Figure 4's code substitutions ("fig4.<near|random|far>.class_kept" and
// ".feature_distance"): the central 2x2 codes of test images replaced by one of
// the 10 nearest codes, a random one, or one of the 10 farthest.
#include "dist2/tasks/task.h"

namespace dist2 {

class ImageGenTask : public Task {
 public:
  std::string name() const override { return "imagegen"; }
  config::Schema schema() const override;
  // train: task.n_train images of the seed's permutation as code grids, values
  // {label, task.class_dropout}; test: one image per class.
  Dataset generate(const config::Config& cfg) const override;
  std::map<std::string, double> evaluate(const config::Config& cfg, const Dataset& data,
                                         Predictor& model) const override;
  std::map<std::string, double> evaluate_examples(const config::Config& cfg, const Dataset& data, Predictor& model,
                                                  std::vector<ExampleScore>& scores) const override;
  std::map<std::string, double> reference_metrics(const config::Config& cfg, const Dataset& data) const override;
  int64_t max_new_tokens(const config::Config& cfg) const override;
  std::vector<std::string> added_tokens(const config::Config& cfg) const override;
  MetricTokens metric_tokens(const config::Config& cfg, const Tokenizer& tok) const override;
  EncodedExample encode(const Example& e, const Tokenizer& tok) const override;
  // encode(), its class token replaced by the null class with probability values[1] (task.class_dropout).
  EncodedExample encode_for_training(const Example& e, const Tokenizer& tok, uint64_t draw) const override;
  // The VQ tokenizer and the evaluation classifier (imagegen/assets.h).
  std::string prepare_shared(const config::Config& cfg) const override;
  bool has_shared_models(const config::Config&) const override { return true; }
};

namespace imagegen {
std::string code_token(int64_t code);   // "<c17>"
std::string class_token(int64_t label);  // "<y3>"; -1: the null class "<y->"
// The code indices of a completion "<c1><c17>..." (dist2::Error on anything else).
std::vector<int64_t> parse_codes(const std::string& completion);
// The label of a class prompt "<y3>" (dist2::Error on anything else, the null class included).
int64_t class_of_prompt(const std::string& prompt);
}  // namespace imagegen

}  // namespace dist2
