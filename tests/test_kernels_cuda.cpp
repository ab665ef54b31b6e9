// The CUDA kernel against the CPU reference (float64) over the same case table
// as the CPU kernel. Skipped, with a message, where dist2 has no CUDA kernels
// or no CUDA device is visible (the build machines); run by `make gpu-check`.
#include <catch2/catch.hpp>

#include "dist2/loss/fused.h"
#include "tests/kernel_cases.h"

using namespace dist2;
using dist2::test::LossCase;

namespace {

// Why the CUDA tests cannot run here, or "".
std::string cuda_skip_reason() {
#ifndef DIST2_WITH_CUDA
  return "dist2 was built without the CUDA kernels (no nvcc)";
#else
  if (!torch::cuda::is_available()) return "no CUDA device visible to LibTorch";
  return "";
#endif
}

LossBatch to_cuda(const LossBatch& b, torch::ScalarType dtype = torch::kFloat32) {
  LossBatch out = b;
  out.logits = b.logits.to(torch::kCUDA, dtype);
  out.targets = b.targets.to(torch::kCUDA);
  if (b.weights.defined()) out.weights = b.weights.to(torch::kCUDA);
  if (b.metric_mask.defined()) out.metric_mask = b.metric_mask.to(torch::kCUDA);
  return out;
}

}  // namespace

TEST_CASE("fused CUDA loss and gradient match the CPU reference on every case", "[kernels][cuda]") {
  const std::string skip = cuda_skip_reason();
  if (!skip.empty()) {
    WARN("CUDA kernel tests skipped: " << skip);
    return;
  }
  uint64_t seed = 9000;
  for (const LossCase& c : test::kernel_cases()) {
    INFO(c.name());
    auto in = test::make_inputs(c, seed++);
    const LossOptions opt = c.options();
    auto ref = test::reference_f64(in, opt);
    auto fused = fused_loss_and_grad(to_cuda(in.batch), in.metric, opt);
    REQUIRE(fused.dlogits.is_cuda());
    auto cmp = test::compare(fused.terms, fused.dlogits, ref);
    CHECK(cmp.total < 1e-5);
    CHECK(cmp.ce < 1e-5);
    CHECK(cmp.aux < 1e-5);
    CHECK(cmp.grad < 1e-5);
  }
}

TEST_CASE("CUDA: bf16 and fp16 logits are computed in float32", "[kernels][cuda]") {
  const std::string skip = cuda_skip_reason();
  if (!skip.empty()) {
    WARN("CUDA kernel tests skipped: " << skip);
    return;
  }
  for (auto dtype : {torch::kBFloat16, torch::kFloat16}) {
    for (LossCase c : {LossCase{}, LossCase{}}) {
      c.n = 24;
      c.v = 3001;
      c.m = 200;
      c.layout = test::VdLayout::scattered;
      auto in = test::make_inputs(c, 77);
      // The reference sees the same rounded logits; the gradient is rounded once
      // on the way out (2^-8 relative for bf16).
      in.batch.logits = in.batch.logits.to(dtype).to(torch::kFloat32);
      auto ref = test::reference_f64(in, c.options());
      auto fused = fused_loss_and_grad(to_cuda(in.batch, dtype), in.metric, c.options());
      REQUIRE(fused.dlogits.scalar_type() == dtype);
      auto cmp = test::compare(fused.terms, fused.dlogits, ref);
      CHECK(cmp.total < 1e-5);
      CHECK(cmp.grad < (dtype == torch::kBFloat16 ? 1e-2 : 2e-3));
    }
  }
}

TEST_CASE("CUDA: in place, autograd, forward only and the reference on the device", "[kernels][cuda]") {
  const std::string skip = cuda_skip_reason();
  if (!skip.empty()) {
    WARN("CUDA kernel tests skipped: " << skip);
    return;
  }
  LossCase c;
  c.n = 40;
  c.v = 32003;  // rows not 16-byte aligned: the scalar path
  c.m = 1000;
  c.weights = true;
  for (int64_t v : {int64_t{32003}, int64_t{32000}}) {
    c.v = v;
    auto in = test::make_inputs(c, 5);
    const auto opt = c.options();
    auto ref = test::reference_f64(in, opt);
    LossBatch b = to_cuda(in.batch);
    auto separate = fused_loss_and_grad(b, in.metric, opt);
    FusedConfig config;
    config.grad_in_place = true;
    LossBatch bi = b;
    bi.logits = b.logits.clone();
    auto inplace = fused_loss_and_grad(bi, in.metric, opt, config);
    CHECK(torch::equal(inplace.dlogits, separate.dlogits));
    CHECK(test::compare(separate.terms, separate.dlogits, ref).grad < 1e-5);

    LossBatch ba = b;
    ba.logits = b.logits.clone().requires_grad_(true);
    auto terms = compute_loss(ba, in.metric, opt, LossImpl::fused);
    (terms.total * 3.0).backward();
    CHECK(test::compare(terms, ba.logits.grad() / 3.0, ref).grad < 1e-5);

    auto fwd = fused_loss_forward(b, in.metric, opt);
    CHECK(test::rel_error(fwd.total, ref.terms.total) < 1e-5);

    // The reference itself runs on CUDA tensors.
    auto on_device = reference_loss(b, in.metric, opt);
    CHECK(test::rel_error(on_device.total, ref.terms.total) < 1e-5);
  }
  // A NaN on the device raises the reference's message.
  auto in = test::make_inputs(c, 6);
  LossBatch b = to_cuda(in.batch);
  b.logits.index_put_({3, 5}, NAN);
  CHECK_THROWS_WITH(fused_loss_and_grad(b, in.metric, c.options()), Catch::Contains("non-finite logit"));
}
