#pragma once
// Where L_aux applies (paper eq. 6), one rule for the reference, the fused
// dispatcher and the data-parallel normalisers: supervised targets in V_d, or,
// with a metric mask, the masked supervised positions. A masked target outside
// V_d is an error its caller raises (when it raises it differs by path).
#include <cstdint>

#include <torch/torch.h>

#include "dist2/loss/metric.h"

namespace dist2 {

struct MetricPositions {
  torch::Tensor mask;          // [N] bool, on the targets' device; outside rows left out
  torch::Tensor target_index;  // [N] index into V_d of each target (ignored ones read as id 0), -1 outside V_d
  int64_t outside_row = -1;    // the first masked supervised row whose target is not in V_d, or -1
};

MetricPositions metric_positions(const torch::Tensor& targets, const torch::Tensor& metric_mask,
                                 const MetricSpace& metric, int64_t ignore_index);

}  // namespace dist2
