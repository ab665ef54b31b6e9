#pragma once
// Examples -> padded training tensors. The task encodes each example (by default
// <bos> prompt completion <eos>, see Task::encode): the model reads all but the
// last token, after the example's images, and is supervised where the encoding
// says (the completion and <eos>). Metric positions carry their place-value
// weights (appendix A.2, eq. 9) when asked for.
#include <random>
#include <vector>

#include <torch/torch.h>

#include "dist2/loss/loss.h"
#include "dist2/tasks/task.h"
#include "dist2/tokenizer/tokenizer.h"

namespace dist2 {

struct BatchOptions {
  bool place_weighting = false;
  bool contrastive = false;    // add a contrastive candidate per number (training only)
  bool squared_distance = true;  // the candidate's token-wise distance: squared or absolute
  int64_t ignore_index = -100;
  int64_t context = 64;
};

struct TrainBatch {
  torch::Tensor inputs;  // [B, T] int64
  torch::Tensor images;  // [B, N, C, H, W] float32, or undefined when the examples have none
  LossBatch loss;        // targets, metric_mask, weights (and contrast) flattened to [B*T]
};

// `rng` draws the contrastive candidates, unless `example_seeds` gives each
// example its own generator's seed (then an example's candidates do not depend
// on which other examples share its batch: a data-parallel shard draws what
// one process would). `task` encodes the examples (nullptr: the default
// prompt/completion encoding); with example seeds, through its
// encode_for_training (a training step), else through its encode.
TrainBatch make_batch(const std::vector<const Example*>& examples, const Tokenizer& tok, const MetricSpace& metric,
                      const BatchOptions& opt, std::mt19937_64& rng, const Task* task = nullptr,
                      const std::vector<uint64_t>& example_seeds = {});

// The images of a batch as one tensor [B, N, C, H, W]; undefined when there are none.
// Every row must have the same number of images of the same shape.
torch::Tensor image_batch(const std::vector<std::vector<const Image*>>& rows);

// Contrastive target augmentation (appendix A.2). For a number x in the
// completion, a neighbour xbar = x +- one unit in the last place (same token
// count). At each number token i, the candidate's token joins the target with
// distance ((xbar - x) / place_i)^2, place_i the place value of token i: for
// x = 40, xbar = 39 the tens token 3 gets 0.01 (~0) and the units token 9 gets 1,
// the paper's example. Returns per-token (candidate token id or -1, distance).
std::vector<std::pair<int64_t, double>> contrastive_candidates(const Tokenizer::Encoding& completion,
                                                               const Tokenizer& tok, bool squared,
                                                               std::mt19937_64& rng);

}  // namespace dist2
