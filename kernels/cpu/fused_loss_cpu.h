#pragma once
// The fused DIST² loss on the CPU (contract: kernels/fused_loss.h): float32
// logits, rows spread over LibTorch's intra-op threads, AVX2 where available.
// Per row, one sweep over V gathers the softmax statistics, the V_d part runs
// over M entries held in a per-thread scratch of a few M floats, and a second
// sweep writes the gradient. Nothing of size N x V is allocated.
#include "kernels/fused_loss.h"

namespace dist2::kernels::cpu {

// Runs the loss (and its gradient when args.dlogits is set) over every row.
// Requires args.dtype == LogitType::f32.
void fused_loss(const FusedLossArgs& args);

// How many threads the last fused_loss call ran its rows on: at most LibTorch's
// intra-op thread count, and 1 when this file was compiled without OpenMP
// (at::parallel_for then runs its whole range on the calling thread).
int fused_loss_workers();

// The first row of args.logits holding a NaN or infinity, or -1: a read-only
// check (no exp) run before a gradient overwrites the logits in place.
int64_t first_nonfinite_row(const FusedLossArgs& args);

}  // namespace dist2::kernels::cpu
