#pragma once
// The fused DIST² loss on a CUDA device (contract: kernels/fused_loss.h): one
// block per row, float32 / bfloat16 / float16 logits computed in float32.
// Plain C++ API, no torch headers: the dispatcher passes raw device pointers.
#include "kernels/fused_loss.h"

namespace dist2::kernels::cuda {

// Launches the loss (and its gradient when args.dlogits is set) on args.stream;
// every pointer in args must be device memory. Asynchronous: the outputs are
// ready once the stream is. Throws std::runtime_error on a CUDA error.
void fused_loss(const FusedLossArgs& args);

}  // namespace dist2::kernels::cuda
