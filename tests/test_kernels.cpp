// The fused loss kernels against the reference (float64, autograd) over one
// table of cases; the autograd wrapper, in-place gradients, forward-only
// calls, fallbacks and the reference's errors.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>

#include "dist2/loss/fused.h"
#include "dist2/util/error.h"
#include "dist2/util/threads.h"
#include "kernels/cpu/fused_loss_cpu.h"
#include "kernels/cpu/vec_ops.h"
#include "tests/kernel_cases.h"

using namespace dist2;
using dist2::test::LossCase;

namespace {

constexpr double kTol = 1e-5;

FusedConfig in_place(bool on = true) {
  FusedConfig config;
  config.grad_in_place = on;
  return config;
}

void check_case_cpu(const LossCase& c, uint64_t seed) {
  INFO(c.name() << " seed " << seed);
  auto in = test::make_inputs(c, seed);
  const LossOptions opt = c.options();
  REQUIRE(fused_unsupported_reason(in.batch, in.metric, opt).empty());
  auto ref = test::reference_f64(in, opt);
  auto fused = fused_loss_and_grad(in.batch, in.metric, opt);
  auto cmp = test::compare(fused.terms, fused.dlogits, ref);
  INFO("total " << fused.terms.total.item<double>() << " vs " << ref.terms.total.item<double>() << ", ce "
                << fused.terms.ce.item<double>() << " vs " << ref.terms.ce.item<double>() << ", aux "
                << fused.terms.aux.item<double>() << " vs " << ref.terms.aux.item<double>());
  CHECK(cmp.total < kTol);
  CHECK(cmp.ce < kTol);
  CHECK(cmp.aux < kTol);
  CHECK(cmp.grad < kTol);
}

}  // namespace

TEST_CASE("fused CPU loss and gradient match the float64 reference on every case", "[kernels]") {
  uint64_t seed = 1000;
  for (const LossCase& c : test::kernel_cases()) check_case_cpu(c, seed++);
}

TEST_CASE("the CUDA case table's float32 cases match the reference on the CPU kernel", "[kernels]") {
  uint64_t seed = 20000;
  size_t ran = 0;
  for (const LossCase& c : test::cuda_cases())
    if (c.dtype == torch::kFloat32) check_case_cpu(c, seed++), ++ran;
  CHECK(ran > 300);
}

TEST_CASE("the scalar fallback matches the reference as the AVX2 path does", "[kernels]") {
  kernels::cpu::prefer_scalar_vec_ops(true);
  uint64_t seed = 5000;
  const auto cases = test::kernel_cases();
  for (size_t i = 0; i < cases.size(); i += 7) check_case_cpu(cases[i], seed++);
  kernels::cpu::prefer_scalar_vec_ops(false);
}

TEST_CASE("the fused float32 loss is as close to float64 as the float32 reference", "[kernels]") {
  // A sanity bound on the tolerance: the reference in float32 sits within it too.
  LossCase c;
  c.n = 64;
  c.v = 5003;
  c.m = 100;
  auto in = test::make_inputs(c, 42);
  auto opt = c.options();
  auto ref64 = test::reference_f64(in, opt);
  LossBatch b = in.batch;
  b.logits = in.batch.logits.clone().requires_grad_(true);
  auto ref32 = reference_loss(b, in.metric, opt);
  ref32.total.backward();
  auto cmp32 = test::compare(ref32, b.logits.grad(), ref64);
  auto fused = fused_loss_and_grad(in.batch, in.metric, opt);
  auto cmp = test::compare(fused.terms, fused.dlogits, ref64);
  CHECK(cmp32.total < kTol);
  CHECK(cmp32.grad < kTol);
  CHECK(cmp.total < kTol);
  CHECK(cmp.grad < kTol);
}

TEST_CASE("fused autograd: total is differentiable and backward scales by grad_output", "[kernels]") {
  LossCase c;
  c.n = 20;
  c.v = 150;
  c.weights = true;
  auto in = test::make_inputs(c, 7);
  auto opt = c.options();
  auto ref = test::reference_f64(in, opt);

  LossBatch b = in.batch;
  b.logits = in.batch.logits.clone().requires_grad_(true);
  auto terms = compute_loss(b, in.metric, opt, LossImpl::fused);
  REQUIRE(terms.total.requires_grad());
  REQUIRE_FALSE(terms.ce.requires_grad());
  (terms.total * 2.5).backward();
  auto cmp = test::compare(terms, b.logits.grad() / 2.5, ref);
  CHECK(cmp.total < kTol);
  CHECK(cmp.grad < kTol);

  // grad_output 1: the saved gradient itself.
  b.logits.mutable_grad() = torch::Tensor();
  compute_loss(b, in.metric, opt, LossImpl::fused).total.backward();
  CHECK(test::compare(terms, b.logits.grad(), ref).grad < kTol);

  // The logits through a linear layer: the gradient flows on to the weights.
  auto h = torch::randn({c.n, 12});
  auto w = (torch::randn({12, c.v}) * 0.3).requires_grad_(true);
  LossBatch lb = in.batch;
  lb.logits = torch::matmul(h, w);
  compute_loss(lb, in.metric, opt, LossImpl::fused).total.backward();
  auto w_ref = w.detach().clone().requires_grad_(true);
  lb.logits = torch::matmul(h, w_ref);
  reference_loss(lb, in.metric, opt).total.backward();
  CHECK((w.grad() - w_ref.grad()).abs().max().item<double>() <= kTol * w_ref.grad().abs().max().item<double>());
}

TEST_CASE("gradient written in place over the logits equals the separate gradient", "[kernels]") {
  for (QNorm q : {QNorm::subvocab, QNorm::full}) {
    LossCase c;
    c.n = 33;
    c.v = 1001;
    c.m = 1001;  // V_d = the whole vocabulary: every entry takes the correction
    c.metric = MetricKind::embedding_cosine;
    c.q = q;
    auto in = test::make_inputs(c, 11);
    auto opt = c.options();
    auto separate = fused_loss_and_grad(in.batch, in.metric, opt);
    LossBatch b = in.batch;
    b.logits = in.batch.logits.clone();
    const void* storage = b.logits.data_ptr();
    auto inplace = fused_loss_and_grad(b, in.metric, opt, in_place());
    REQUIRE(inplace.dlogits.data_ptr() == storage);
    CHECK(torch::equal(inplace.dlogits, separate.dlogits));
    CHECK(torch::equal(b.logits, separate.dlogits));  // the logits are gone
    CHECK(inplace.terms.total.item<double>() == separate.terms.total.item<double>());

    // Through autograd: the gradient reaches a linear layer's weights.
    auto h = torch::randn({c.n, 6});
    auto w = torch::randn({6, c.v}).requires_grad_(true);
    LossBatch lb = in.batch;
    lb.logits = torch::matmul(h, w);
    fused_loss(lb, in.metric, opt, in_place()).total.backward();
    auto w2 = w.detach().clone().requires_grad_(true);
    lb.logits = torch::matmul(h, w2);
    fused_loss(lb, in.metric, opt).total.backward();
    CHECK(torch::allclose(w.grad(), w2.grad(), 1e-6, 1e-7));
  }
}

TEST_CASE("a reused gradient buffer receives the gradient", "[kernels]") {
  LossCase c;
  c.n = 30;
  c.v = 515;
  auto in = test::make_inputs(c, 23);
  auto want = fused_loss_and_grad(in.batch, in.metric, c.options());
  FusedConfig config;
  config.grad_buffer = torch::full_like(in.batch.logits, 7.0f);
  auto got = fused_loss_and_grad(in.batch, in.metric, c.options(), config);
  CHECK(got.dlogits.data_ptr() == config.grad_buffer.data_ptr());
  CHECK(torch::equal(config.grad_buffer, want.dlogits));
  config.grad_buffer = torch::zeros({c.n, c.v + 1});
  CHECK_THROWS_AS(fused_loss_and_grad(in.batch, in.metric, c.options(), config), Error);
}

TEST_CASE("in place: autograd raises when another node saved the logits", "[kernels]") {
  LossCase c;
  auto in = test::make_inputs(c, 3);
  auto x = in.batch.logits.clone().requires_grad_(true);
  LossBatch b = in.batch;
  b.logits = x.exp();  // exp saves its output for backward
  auto terms = fused_loss(b, in.metric, c.options(), in_place());
  REQUIRE_THROWS(terms.total.backward());
}

TEST_CASE("forward only: the same terms, no gradient, under no-grad", "[kernels]") {
  LossCase c;
  c.kind = LossKind::label_smoothing;
  c.n = 40;
  c.v = 777;
  c.weights = true;
  auto in = test::make_inputs(c, 5);
  auto opt = c.options();
  auto both = fused_loss_and_grad(in.batch, in.metric, opt);
  auto fwd = fused_loss_forward(in.batch, in.metric, opt);
  CHECK(fwd.total.item<double>() == both.terms.total.item<double>());
  CHECK(fwd.aux.item<double>() == both.terms.aux.item<double>());
  CHECK_FALSE(fwd.total.requires_grad());
  LossBatch b = in.batch;
  b.logits = in.batch.logits.clone().requires_grad_(true);
  torch::NoGradGuard no_grad;
  auto eval = compute_loss(b, in.metric, opt);
  CHECK_FALSE(eval.total.requires_grad());
  CHECK(eval.total.item<double>() == both.terms.total.item<double>());
}

TEST_CASE("zero weight at every metric position: L_aux is 0, not NaN", "[kernels]") {
  LossCase c;
  c.weights = true;
  c.mask = true;
  for (Reduction red : {Reduction::mean, Reduction::sum}) {
    c.reduction = red;
    auto in = test::make_inputs(c, 9);
    in.batch.weights = torch::zeros({c.n});
    auto fused = fused_loss_and_grad(in.batch, in.metric, c.options());
    auto ref = test::reference_f64(in, c.options());
    CHECK(fused.terms.aux.item<double>() == 0.0);
    CHECK(test::compare(fused.terms, fused.dlogits, ref).grad < kTol);
  }
}

TEST_CASE("results do not depend on the thread count", "[kernels]") {
  LossCase c;
  c.n = 57;
  c.v = 2001;
  c.m = 300;
  c.layout = test::VdLayout::scattered;
  auto in = test::make_inputs(c, 21);
  const int before = threads();
  set_threads(1);
  auto one = fused_loss_and_grad(in.batch, in.metric, c.options());
  set_threads(std::max(2u, std::thread::hardware_concurrency()));
  auto many = fused_loss_and_grad(in.batch, in.metric, c.options());
  set_threads(before);
  CHECK(torch::equal(one.dlogits, many.dlogits));
  CHECK(one.terms.total.item<double>() == many.terms.total.item<double>());
}

TEST_CASE("the CPU kernel spreads its rows over the threads it is given", "[kernels]") {
  // at::parallel_for runs on one thread unless the kernel's own file is compiled
  // with OpenMP: this fails on a build without it, whatever the machine.
  LossCase c;
  c.n = 64;
  c.v = 500;
  c.m = 20;
  auto in = test::make_inputs(c, 5);
  const int before = threads();
  set_threads(2);
  fused_loss_and_grad(in.batch, in.metric, c.options());
  const int two = kernels::cpu::fused_loss_workers();
  set_threads(1);
  fused_loss_and_grad(in.batch, in.metric, c.options());
  const int one = kernels::cpu::fused_loss_workers();
  set_threads(before);
  CHECK(two == 2);
  CHECK(one == 1);
}

TEST_CASE("kinds and inputs the kernels do not cover fall back to the reference", "[kernels]") {
  LossCase c;
  c.n = 10;
  c.v = 60;
  auto in = test::make_inputs(c, 13);
  for (LossKind kind : {LossKind::ntl_was, LossKind::ntl_mse}) {
    LossOptions opt = c.options();
    opt.kind = kind;
    CHECK_FALSE(fused_unsupported_reason(in.batch, in.metric, opt).empty());
    auto got = compute_loss(in.batch, in.metric, opt, LossImpl::fused);
    CHECK(got.total.item<double>() == reference_loss(in.batch, in.metric, opt).total.item<double>());
    CHECK_THROWS_AS(fused_loss(in.batch, in.metric, opt), Error);
  }
  LossBatch b64 = in.batch;
  b64.logits = in.batch.logits.to(torch::kFloat64);
  CHECK_FALSE(fused_unsupported_reason(b64, in.metric, c.options()).empty());
  CHECK(compute_loss(b64, in.metric, c.options()).total.scalar_type() == torch::kFloat64);
  LossBatch bc = in.batch;  // contrastive targets run fused
  bc.contrast_index = torch::full({c.n}, -1, torch::kInt64);
  bc.contrast_distance = torch::zeros({c.n});
  CHECK(fused_unsupported_reason(bc, in.metric, c.options()).empty());
  CHECK(parse_loss_impl("reference") == LossImpl::reference);
  CHECK(to_string(parse_loss_impl("fused")) == "fused");
  CHECK_THROWS_AS(parse_loss_impl("fast"), Error);
}

TEST_CASE("contrastive candidates outside V_d or at a negative distance are refused by both paths", "[kernels]") {
  LossCase c;
  c.n = 8;
  c.v = 40;
  c.contrastive = true;
  auto in = test::make_inputs(c, 23);
  const auto opt = c.options();
  for (int64_t bad_index : {c.m, int64_t{-2}}) {
    LossBatch b = in.batch;
    b.contrast_index = in.batch.contrast_index.clone();
    b.contrast_index.index_put_({4}, bad_index);
    CHECK_THROWS_WITH(reference_loss(b, in.metric, opt), Catch::Contains("contrast_index") && Catch::Contains("position 4"));
    CHECK_THROWS_WITH(fused_loss_and_grad(b, in.metric, opt), Catch::Contains("contrast_index") && Catch::Contains("position 4"));
  }
  LossBatch b = in.batch;
  b.contrast_index = torch::full({c.n}, 1, torch::kInt64);
  b.contrast_distance = -torch::ones({c.n});
  CHECK_THROWS_WITH(fused_loss_and_grad(b, in.metric, opt), Catch::Contains("contrast_distance must be >= 0"));
  LossOptions vocab = opt;
  vocab.kind = LossKind::vocab;
  CHECK_THROWS_WITH(fused_loss_and_grad(in.batch, in.metric, vocab), Catch::Contains("dist only"));
}

TEST_CASE("non-contiguous logits are taken as they are", "[kernels]") {
  LossCase c;
  c.n = 12;
  c.v = 90;
  auto in = test::make_inputs(c, 17);
  LossBatch b = in.batch;
  b.logits = in.batch.logits.t().contiguous().t();  // column-major
  REQUIRE_FALSE(b.logits.is_contiguous());
  auto got = fused_loss_and_grad(b, in.metric, c.options());
  auto want = fused_loss_and_grad(in.batch, in.metric, c.options());
  CHECK(torch::equal(got.dlogits, want.dlogits));
}

namespace {
// The message the reference raises for `batch`, or "" when it raises nothing.
std::string reference_error(const LossBatch& b, const MetricSpace& m, const LossOptions& o) {
  try {
    reference_loss(b, m, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
std::string fused_error(const LossBatch& b, const MetricSpace& m, const LossOptions& o, bool in_place_on) {
  try {
    fused_loss_and_grad(b, m, o, in_place(in_place_on));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("bad inputs raise the reference's errors, before anything is overwritten", "[kernels]") {
  LossCase c;
  c.n = 10;
  c.v = 50;
  c.ignored = false;
  auto in = test::make_inputs(c, 19);
  const auto opt = c.options();
  std::vector<std::pair<std::string, LossBatch>> bad;
  {
    LossBatch b = in.batch;
    b.logits = in.batch.logits.clone();
    b.logits.index_put_({6, 17}, NAN);
    b.logits.index_put_({8, 3}, INFINITY);
    bad.emplace_back("NaN logit", b);
  }
  {
    LossBatch b = in.batch;
    b.logits = in.batch.logits.clone();
    b.targets = in.batch.targets.clone();
    b.targets.index_put_({4}, -100);
    b.logits.index_put_({4, 0}, -INFINITY);  // in an ignored row: still an error
    bad.emplace_back("-inf in an ignored row", b);
  }
  {
    LossBatch b = in.batch;
    b.targets = in.batch.targets.clone();
    b.targets.index_put_({2}, c.v + 3);
    bad.emplace_back("target outside the vocabulary", b);
  }
  {
    LossBatch b = in.batch;
    b.logits = in.batch.logits.clone();
    b.targets = torch::full({c.n}, c.v - 1, torch::kInt64);  // not in V_d (ids 0..9)
    b.metric_mask = torch::ones({c.n}, torch::kBool);
    bad.emplace_back("mask over a target outside V_d", b);
    LossBatch b2 = b;
    b2.logits = b.logits.clone();
    b2.logits.index_put_({7, 1}, NAN);  // the reference checks finiteness first
    bad.emplace_back("mask error and a NaN", b2);
  }
  {
    LossBatch b = in.batch;
    b.weights = -torch::ones({c.n});
    bad.emplace_back("negative weights", b);
  }
  for (auto& [what, b] : bad) {
    INFO(what);
    const std::string want = reference_error(b, in.metric, opt);
    REQUIRE_FALSE(want.empty());
    CHECK(fused_error(b, in.metric, opt, false) == want);
    auto before = b.logits.clone();
    CHECK(fused_error(b, in.metric, opt, true) == want);
    CHECK(torch::equal(before.nan_to_num(0, 1, -1), b.logits.nan_to_num(0, 1, -1)));
  }
}
