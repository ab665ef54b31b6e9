// The CUDA kernel against the CPU reference (float64) over a cross product of
// the paths the dispatcher can send (tests/kernel_cases.h: cuda_cases), each
// also written in place, plus the shapes and streams a training loop meets.
// Skipped, with a message, where dist2 has no CUDA kernels or no CUDA device is
// visible (the build machines); `make gpu-check` runs them and fails if they skip.
#include <catch2/catch.hpp>

#include "dist2/loss/fused.h"
#include "tests/kernel_cases.h"

#if defined(DIST2_WITH_CUDA) && __has_include(<c10/cuda/CUDAStream.h>) && \
    __has_include(<c10/cuda/impl/cuda_cmake_macros.h>)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define DIST2_TEST_CUDA_STREAMS 1
#endif

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

#define SKIP_WITHOUT_CUDA()                                  \
  do {                                                       \
    const std::string skip = cuda_skip_reason();             \
    if (!skip.empty()) {                                     \
      WARN("CUDA kernel tests skipped: " << skip);           \
      return;                                                \
    }                                                        \
  } while (0)

LossBatch to_cuda(const LossBatch& b, torch::ScalarType dtype = torch::kFloat32) {
  LossBatch out = b;
  out.logits = b.logits.to(torch::kCUDA, dtype);
  out.targets = b.targets.to(torch::kCUDA);
  for (auto [from, to] : {std::pair{&b.weights, &out.weights}, std::pair{&b.metric_mask, &out.metric_mask},
                          std::pair{&b.contrast_index, &out.contrast_index},
                          std::pair{&b.contrast_distance, &out.contrast_distance}})
    if (from->defined()) *to = from->to(torch::kCUDA);
  return out;
}

// The gradient is rounded once on the way out: 2^-8 relative for bf16, 2^-11 for fp16.
double grad_tolerance(torch::ScalarType dtype) {
  if (dtype == torch::kBFloat16) return 1e-2;
  if (dtype == torch::kFloat16) return 2e-3;
  return 1e-5;
}

void check_cuda_case(const LossCase& c, uint64_t seed) {
  INFO(c.name() << " seed " << seed);
  auto in = test::make_inputs(c, seed);
  const LossOptions opt = c.options();
  auto ref = test::reference_f64(in, opt);
  LossBatch b = to_cuda(in.batch, c.dtype);
  REQUIRE(fused_unsupported_reason(b, in.metric, opt).empty());
  auto fused = fused_loss_and_grad(b, in.metric, opt);
  REQUIRE(fused.dlogits.is_cuda());
  REQUIRE(fused.dlogits.scalar_type() == c.dtype);
  auto cmp = test::compare(fused.terms, fused.dlogits, ref);
  CHECK(cmp.total < 1e-5);
  CHECK(cmp.ce < 1e-5);
  CHECK(cmp.aux < 1e-5);
  CHECK(cmp.grad < grad_tolerance(c.dtype));
  // The same call written over the logits gives the same bits.
  FusedConfig config;
  config.grad_in_place = true;
  LossBatch bi = b;
  bi.logits = b.logits.clone();
  auto inplace = fused_loss_and_grad(bi, in.metric, opt, config);
  CHECK(torch::equal(inplace.dlogits, fused.dlogits));
  CHECK(inplace.terms.total.item<double>() == fused.terms.total.item<double>());
}

}  // namespace

TEST_CASE("fused CUDA loss and gradient match the CPU reference on the CPU case table", "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
  uint64_t seed = 9000;
  for (const LossCase& c : test::kernel_cases()) check_cuda_case(c, seed++);
}

TEST_CASE("CUDA: every path of the dispatcher (types x kinds x q x metrics x weights x reductions x widths)",
          "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
  const auto cases = test::cuda_cases();
  REQUIRE(cases.size() > 900);
  uint64_t seed = 20000;
  for (const LossCase& c : cases) check_cuda_case(c, seed++);
}

TEST_CASE("CUDA: many rows over a small vocabulary, and a large vocabulary", "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
  LossCase many;  // one block per row: tens of thousands of small blocks
  many.n = 70000;
  many.v = 12;
  many.m = 5;
  many.weights = true;
  check_cuda_case(many, 31);
  many.contrastive = true;
  many.q = QNorm::full;
  check_cuda_case(many, 32);
  LossCase wide;  // 512 threads per row, the vector path with 32000 = 8 * 4000
  wide.n = 40;
  wide.m = 1000;
  for (int64_t v : {int64_t{32003}, int64_t{32000}})
    for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
      wide.v = v;
      wide.dtype = dtype;
      check_cuda_case(wide, 33);
    }
}

TEST_CASE("CUDA: logits that do not start on a 16-byte boundary take the scalar path", "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
    LossCase c;
    c.n = 17;
    c.v = 264;  // rows a multiple of 16 bytes: only the base pointer is off
    c.m = 30;
    c.dtype = dtype;
    c.contrastive = true;
    INFO(c.name());
    auto in = test::make_inputs(c, 41);
    const auto opt = c.options();
    auto ref = test::reference_f64(in, opt);
    // A contiguous view one element into a larger buffer.
    auto storage = torch::zeros({c.n * c.v + 1}, torch::TensorOptions().dtype(dtype).device(torch::kCUDA));
    auto view = storage.slice(0, 1, 1 + c.n * c.v).view({c.n, c.v});
    view.copy_(in.batch.logits.to(torch::kCUDA, dtype));
    REQUIRE(view.is_contiguous());
    REQUIRE(reinterpret_cast<uintptr_t>(view.data_ptr()) % 16 != 0);
    LossBatch b = to_cuda(in.batch, dtype);
    b.logits = view;
    auto fused = fused_loss_and_grad(b, in.metric, opt);
    CHECK(test::compare(fused.terms, fused.dlogits, ref).grad < grad_tolerance(dtype));
    FusedConfig config;  // in place over the misaligned view
    config.grad_in_place = true;
    auto inplace = fused_loss_and_grad(b, in.metric, opt, config);
    CHECK(torch::equal(inplace.dlogits, fused.dlogits));
  }
}

TEST_CASE("CUDA: the kernel runs on LibTorch's current stream", "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
#ifndef DIST2_TEST_CUDA_STREAMS
  FAIL("LibTorch's CUDA stream headers are missing: the fused kernel cannot launch (see lib/dist2/loss/fused.cpp)");
#else
  LossCase c;
  c.n = 300;
  c.v = 5000;
  c.m = 100;
  c.weights = true;
  auto in = test::make_inputs(c, 51);
  const auto opt = c.options();
  auto ref = test::reference_f64(in, opt);
  const auto stream = c10::cuda::getStreamFromPool();
  REQUIRE(stream != c10::cuda::getDefaultCUDAStream());
  const c10::cuda::CUDAStreamGuard guard(stream);  // inputs, kernel and read-back all on the pool stream
  LossBatch b = to_cuda(in.batch);
  auto fused = fused_loss_and_grad(b, in.metric, opt);
  auto grad = fused.dlogits.to(torch::kCPU);
  CHECK(test::compare(fused.terms, grad, ref).grad < 1e-5);
  // Autograd on the pool stream as a training step would.
  LossBatch ba = b;
  ba.logits = b.logits.clone().requires_grad_(true);
  compute_loss(ba, in.metric, opt, LossImpl::fused).total.backward();
  CHECK(test::compare(fused.terms, ba.logits.grad().to(torch::kCPU), ref).grad < 1e-5);
#endif
}

TEST_CASE("CUDA: autograd, forward only and the reference on the device", "[kernels][cuda]") {
  SKIP_WITHOUT_CUDA();
  LossCase c;
  c.n = 40;
  c.v = 3001;
  c.m = 200;
  c.weights = true;
  c.contrastive = true;
  auto in = test::make_inputs(c, 5);
  const auto opt = c.options();
  auto ref = test::reference_f64(in, opt);
  LossBatch b = to_cuda(in.batch);

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

  // A NaN on the device raises the reference's message, in place or not.
  LossBatch bad = to_cuda(in.batch);
  bad.logits.index_put_({3, 5}, NAN);
  CHECK_THROWS_WITH(fused_loss_and_grad(bad, in.metric, opt), Catch::Contains("non-finite logit"));
  FusedConfig config;
  config.grad_in_place = true;
  CHECK_THROWS_WITH(fused_loss_and_grad(bad, in.metric, opt, config), Catch::Contains("non-finite logit"));
  CHECK(std::isnan(bad.logits[3][5].item<double>()));  // nothing was overwritten
}
