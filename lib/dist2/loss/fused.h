#pragma once
// The loss dispatcher: the fused kernels (kernels/cpu, kernels/cuda) behind the
// same interface as the reference (loss.h), with autograd.
//
// The fused path computes the loss and d total / d logits in one call over the
// logits (two sweeps per row, no N x V temporary but the gradient itself),
// saves the gradient and scales it by grad_output in backward. It covers loss
// kinds sft, vocab, label_smoothing and dist, every metric, both q modes and
// reductions, contrastive targets, on float32 CPU logits and float32/bf16/fp16
// CUDA logits (CUDA when built with nvcc). Anything else (ntl_was, ntl_mse,
// float64 logits, ...) runs the reference, so compute_loss always answers.
// Bad inputs raise exactly the reference's errors.
#include <memory>
#include <string>

#include <torch/torch.h>

#include "dist2/loss/loss.h"
#include "dist2/loss/metric.h"

namespace dist2 {

enum class LossImpl { fused, reference };
LossImpl parse_loss_impl(const std::string& name);  // "fused" | "reference"
std::string to_string(LossImpl impl);

// L_CE + alpha L_aux by `impl`; fused falls back to the reference where it does
// not apply. total is differentiable; ce and aux are detached on the fused path.
// Without grad (no requires_grad, or under NoGradGuard) the fused path runs
// forward only and allocates no gradient.
LossTerms compute_loss(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                       LossImpl impl = LossImpl::fused);

// "" when the fused kernels cover this call, else why not (the fallback reason).
std::string fused_unsupported_reason(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt);

struct FusedConfig {
  // Write d total / d logits over the logits (as Liger-Kernel does) instead of a
  // new N x V tensor: the logits are lost. Safe when nothing else saved them
  // for its backward (the output of a linear layer); autograd raises if
  // something did, as the version counter is bumped. Errors are checked before
  // anything is overwritten (at the cost of one more read of the logits).
  bool grad_in_place = false;
  // Write d total / d logits into this contiguous [N, V] tensor of the logits'
  // dtype and device (a buffer a training loop reuses, so that no fresh N x V
  // memory is faulted in each step) instead of a new one. Nothing else may
  // hold it while the gradient is in use.
  torch::Tensor grad_buffer;
};

// The fused path with autograd; throws dist2::Error where it does not apply.
LossTerms fused_loss(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                     const FusedConfig& config = {});

// The loss terms and the gradient d total / d logits, without autograd (tests,
// benchmarks, custom training loops). With grad_in_place, dlogits is the logits.
struct FusedLossAndGrad {
  LossTerms terms;       // detached
  torch::Tensor dlogits; // [N, V], the dtype of the logits
};
FusedLossAndGrad fused_loss_and_grad(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                                     const FusedConfig& config = {});

// Forward only (evaluation): the loss terms, no gradient, nothing N x V allocated.
LossTerms fused_loss_forward(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt);

// The kernel launch alone, prepared once (checks, row plan, V_d tables): what a
// benchmark times against a copy of the same bytes. launch() writes d total /
// d logits into grad_buffer from the current contents of the batch's logits
// (contiguous; refill them in place between launches) and returns without
// waiting on a CUDA device. It does not raise on non-finite logits.
struct PreparedFused;
class FusedKernelLaunch {
 public:
  FusedKernelLaunch(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                    torch::Tensor grad_buffer);
  ~FusedKernelLaunch();
  FusedKernelLaunch(const FusedKernelLaunch&) = delete;
  FusedKernelLaunch& operator=(const FusedKernelLaunch&) = delete;
  void launch();

 private:
  std::unique_ptr<PreparedFused> prepared_;
  torch::Tensor grad_buffer_;
};

}  // namespace dist2
