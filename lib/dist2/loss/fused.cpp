#include "dist2/loss/fused.h"

#include <cmath>
#include <limits>

#include <torch/csrc/autograd/variable.h>

#include "dist2/loss/positions.h"
#include "dist2/util/error.h"
#include "dist2/util/shape.h"
#include "kernels/cpu/fused_loss_cpu.h"
#include "kernels/fused_loss.h"

#ifdef DIST2_WITH_CUDA
#include "kernels/cuda/fused_loss_cuda.h"
// Debian ships the c10/cuda headers without the generated config: check both.
#if __has_include(<c10/cuda/CUDAStream.h>) && __has_include(<c10/cuda/impl/cuda_cmake_macros.h>)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define DIST2_HAVE_TORCH_CUDA_STREAM 1
#endif
#endif

namespace dist2 {

LossImpl parse_loss_impl(const std::string& name) {
  if (name == "fused") return LossImpl::fused;
  if (name == "reference") return LossImpl::reference;
  throw Error(fmt::format("unknown loss implementation '{}' (valid: fused, reference)", name));
}

std::string to_string(LossImpl impl) { return impl == LossImpl::fused ? "fused" : "reference"; }

namespace {

namespace k = kernels;

bool cuda_kernels_built() {
#ifdef DIST2_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// Per-row inputs of the kernel, computed as the reference does (loss.cpp):
// which rows are metric positions, the weight of each in L_aux, the scale of L_CE.
struct RowPlan {
  torch::Tensor metric_index;  // [N] int32, index into V_d at metric rows, else -1
  torch::Tensor aux_scale;     // [N] float32
  double ce_scale = 1.0;
  // A metric-mask row whose target is outside V_d: the reference raises this
  // after the finiteness check, so it is raised after the kernel's.
  int64_t outside_row = -1;
  int64_t outside_token = 0;
};

RowPlan plan_rows(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  RowPlan plan;
  auto targets = b.targets.to(torch::kCPU);
  auto supervised = targets != opt.ignore_index;
  const int64_t n_supervised = supervised.sum().item<int64_t>();
  const double ce_count = opt.ce_divisor > 0 ? opt.ce_divisor : static_cast<double>(std::max<int64_t>(1, n_supervised));
  plan.ce_scale = opt.reduction == Reduction::mean ? 1.0 / ce_count : 1.0;
  // Raised after the kernel's finiteness check, as the reference raises it after its own.
  const MetricPositions positions = metric_positions(targets, b.metric_mask, metric, opt.ignore_index);
  plan.outside_row = positions.outside_row;
  if (plan.outside_row >= 0) plan.outside_token = targets[plan.outside_row].item<int64_t>();
  const torch::Tensor& target_index = positions.target_index;
  torch::Tensor mask = positions.mask;
  if (opt.kind == LossKind::sft) mask = torch::zeros_like(mask);
  plan.metric_index = torch::where(mask, target_index, torch::full_like(target_index, -1)).to(torch::kInt32);
  auto w = b.weights.defined() ? b.weights.to(torch::kCPU).to(torch::kFloat64)
                               : torch::ones({targets.size(0)}, torch::kFloat64);
  w = torch::where(mask, w, torch::zeros_like(w));
  if (opt.reduction == Reduction::mean) {
    const double wsum = opt.aux_divisor > 0 ? opt.aux_divisor : w.sum().item<double>();
    w = wsum > 0 ? w / wsum : torch::zeros_like(w);  // no metric weight: L_aux = 0, not NaN
  }
  plan.aux_scale = w.to(torch::kFloat32);
  return plan;
}

// V_d on the device of the logits, in the kernel's layout. The tensors keep the
// pointers of SubVocabulary alive.
struct SubVocabTensors {
  torch::Tensor ids, member_bits, values, table, codebook;
  k::SubVocabulary view;
};

int64_t contiguous_start(const torch::Tensor& ids) {
  const int64_t m = ids.size(0);
  const int64_t* a = ids.data_ptr<int64_t>();
  for (int64_t i = 1; i < m; ++i)
    if (a[i] != a[0] + i) return -1;
  return a[0];
}

k::Distance kernel_distance(MetricKind kind) {
  switch (kind) {
    case MetricKind::squared: return k::Distance::squared;
    case MetricKind::absolute: return k::Distance::absolute;
    case MetricKind::embedding_mse: return k::Distance::codebook_mse;
    case MetricKind::embedding_cosine: return k::Distance::codebook_cosine;
    case MetricKind::random:
    case MetricKind::permuted:
    case MetricKind::table: return k::Distance::table;
  }
  throw Error("unreachable metric kind");
}

SubVocabTensors prepare_subvocab(const MetricSpace& metric, const LossOptions& opt, int64_t vocab,
                                 const torch::Device& device) {
  SubVocabTensors t;
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  auto ids = metric.token_ids().contiguous();
  k::SubVocabulary& vd = t.view;
  vd.size = ids.size(0);
  vd.contiguous_from = contiguous_start(ids);
  vd.distance = kernel_distance(metric.kind());
  // Bit v of member_bits: v is in V_d (the CUDA kernel's dense sweep skips those).
  auto bits = torch::zeros({(vocab + 31) / 32}, torch::kInt32);
  auto* words = reinterpret_cast<uint32_t*>(bits.data_ptr<int32_t>());
  const int64_t* id = ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < vd.size; ++i) words[id[i] / 32] |= 1u << (id[i] % 32);
  if (opt.kind == LossKind::dist) {
    switch (vd.distance) {
      case k::Distance::squared:
      case k::Distance::absolute: t.values = metric.values().to(f32).contiguous(); break;
      case k::Distance::table: t.table = metric.table_rows().to(f32).contiguous(); break;
      case k::Distance::codebook_mse:
      case k::Distance::codebook_cosine: {
        auto e = metric.embeddings();  // [M, D] float64
        if (vd.distance == k::Distance::codebook_cosine) e = e / e.norm(2, 1, true);
        t.codebook = e.t().contiguous().to(f32);  // [D, M]
        vd.dim = e.size(1);
        break;
      }
    }
  }
  auto to_device = [&](torch::Tensor& x) {
    if (x.defined()) x = x.to(device).contiguous();
  };
  t.ids = ids;
  t.member_bits = bits;
  for (torch::Tensor* x : {&t.ids, &t.member_bits, &t.values, &t.table, &t.codebook}) to_device(*x);
  vd.ids = t.ids.data_ptr<int64_t>();
  vd.member_bits = reinterpret_cast<const uint32_t*>(t.member_bits.data_ptr<int32_t>());
  if (t.values.defined()) vd.values = t.values.data_ptr<float>();
  if (t.table.defined()) vd.table = t.table.data_ptr<float>();
  if (t.codebook.defined()) vd.codebook = t.codebook.data_ptr<float>();
  return t;
}

k::AuxKind kernel_aux(LossKind kind) {
  switch (kind) {
    case LossKind::sft: return k::AuxKind::none;
    case LossKind::vocab: return k::AuxKind::vocab;
    case LossKind::label_smoothing: return k::AuxKind::label_smoothing;
    case LossKind::dist: return k::AuxKind::dist;
    default: throw Error(fmt::format("the fused kernels do not cover loss kind {}", to_string(kind)));
  }
}

k::LogitType kernel_dtype(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return k::LogitType::f32;
    case torch::kBFloat16: return k::LogitType::bf16;
    case torch::kFloat16: return k::LogitType::f16;
    default: throw Error(fmt::format("the fused kernels do not take {} logits", c10::toString(t)));
  }
}

void launch(const k::FusedLossArgs& args, const torch::Device& device) {
  if (device.is_cpu()) return k::cpu::fused_loss(args);
#ifdef DIST2_WITH_CUDA
#ifdef DIST2_HAVE_TORCH_CUDA_STREAM
  k::FusedLossArgs a = args;
  const c10::cuda::CUDAGuard guard(device);  // launch on the logits' device
  a.stream = c10::cuda::getCurrentCUDAStream(device.index()).stream();
  return k::cuda::fused_loss(a);
#else
  (void)args;
  // Without them the launch could pick neither the tensors' device nor
  // LibTorch's current stream (a wrong device, or a race with a non-blocking stream).
  throw Error("dist2 was built without LibTorch's CUDA headers (c10/cuda/impl/cuda_cmake_macros.h), so the fused "
              "kernel cannot launch on the tensors' device and stream; rebuild against a CUDA LibTorch or use loss.impl=reference");
#endif
#else
  throw Error("dist2 was built without CUDA kernels");
#endif
}

enum class GradMode { none, separate, in_place };

}  // namespace

// Everything one kernel call needs, on the logits' device: the row plan, V_d in
// the kernel's layout, the per-row outputs, and the argument block over them.
struct PreparedFused {
  torch::Tensor logits;  // contiguous (a copy when the caller's were not)
  bool copied = false;
  RowPlan plan;
  SubVocabTensors vd;
  torch::Tensor targets, metric_index, aux_scale, row_ce, row_aux, row_nonfinite;
  torch::Tensor contrast_index, contrast_distance;  // undefined without contrastive targets
  k::FusedLossArgs args;
  torch::Device device{torch::kCPU};
};

namespace {

// Validates like the reference and prepares the call; the gradient pointer is
// left unset.
std::unique_ptr<PreparedFused> prepare_fused(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  validate_loss_inputs(b, metric, opt);
  const std::string why = fused_unsupported_reason(b, metric, opt);
  DIST2_CHECK(why.empty(), "the fused loss does not apply here: {}", why);
  auto p = std::make_unique<PreparedFused>();
  p->logits = b.logits.detach();
  if (!p->logits.is_contiguous()) {
    p->logits = p->logits.contiguous();
    p->copied = true;
  }
  p->device = p->logits.device();
  const int64_t n = p->logits.size(0), v = p->logits.size(1);
  p->plan = plan_rows(b, metric, opt);
  p->vd = prepare_subvocab(metric, opt, v, p->device);
  p->targets = b.targets.to(p->device).contiguous();
  p->metric_index = p->plan.metric_index.to(p->device).contiguous();
  p->aux_scale = p->plan.aux_scale.to(p->device).contiguous();
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(p->device);
  p->row_ce = torch::empty({n}, f32);
  p->row_aux = torch::empty({n}, f32);
  p->row_nonfinite = torch::zeros({n}, f32.dtype(torch::kUInt8));

  k::FusedLossArgs& args = p->args;
  args.rows = n;
  args.vocab = v;
  args.row_stride = v;
  args.dtype = kernel_dtype(p->logits.scalar_type());
  args.logits = p->logits.data_ptr();
  args.targets = p->targets.data_ptr<int64_t>();
  args.ignore_index = opt.ignore_index;
  args.metric_index = p->metric_index.data_ptr<int32_t>();
  args.aux_scale = p->aux_scale.data_ptr<float>();
  args.ce_scale = static_cast<float>(p->plan.ce_scale);
  args.aux = kernel_aux(opt.kind);
  args.q = opt.q == QNorm::subvocab ? k::QMode::subvocab : k::QMode::full;
  args.alpha = static_cast<float>(opt.alpha);
  args.tau = static_cast<float>(opt.tau);
  args.smoothing = static_cast<float>(opt.smoothing);
  args.vd = p->vd.view;
  if (b.contrast_index.defined()) {
    p->contrast_index = b.contrast_index.to(p->device, torch::kInt32).contiguous();
    p->contrast_distance = b.contrast_distance.to(p->device, torch::kFloat32).contiguous();
    args.contrast_index = p->contrast_index.data_ptr<int32_t>();
    args.contrast_distance = p->contrast_distance.data_ptr<float>();
  }
  args.row_ce = p->row_ce.data_ptr<float>();
  args.row_aux = p->row_aux.data_ptr<float>();
  args.row_nonfinite = p->row_nonfinite.data_ptr<uint8_t>();
  return p;
}

void check_grad_buffer(const torch::Tensor& buffer, const torch::Tensor& logits) {
  DIST2_CHECK(buffer.sizes() == logits.sizes() && buffer.scalar_type() == logits.scalar_type() &&
                  buffer.device() == logits.device() && buffer.is_contiguous(),
              "the gradient buffer must be a contiguous {} tensor like the logits {}, got {} {}",
              c10::toString(logits.scalar_type()), shape_of(logits), c10::toString(buffer.scalar_type()),
              shape_of(buffer));
}

struct FusedRun {
  torch::Tensor total, ce, aux, dlogits;
};

// Runs the kernel over all rows: the loss terms and, unless mode is none, the
// gradient. Raises the reference's errors (non-finite logits first, then a
// metric-mask target outside V_d), before the logits are overwritten in place.
FusedRun run_fused(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt, GradMode mode,
                   const torch::Tensor& grad_buffer = {}) {
  auto prepared = prepare_fused(b, metric, opt);
  PreparedFused& p = *prepared;
  if (p.copied && mode == GradMode::in_place) mode = GradMode::separate;  // the copy would be overwritten
  k::FusedLossArgs& args = p.args;
  auto raise_input_errors = [&] {
    if (p.row_nonfinite.any().item<bool>()) check_finite_logits(p.logits);  // throws the reference's message
    if (p.plan.outside_row >= 0)
      throw Error(fmt::format("target token {} at metric position {} is not in the metric sub-vocabulary V_d",
                              p.plan.outside_token, p.plan.outside_row));
  };
  torch::Tensor dlogits;
  if (mode == GradMode::in_place) {
    // Check before anything is overwritten: on the CPU a read-only scan, on
    // CUDA a forward-only launch (its exps are cheap there).
    if (p.device.is_cpu()) {
      if (k::cpu::first_nonfinite_row(args) >= 0) check_finite_logits(p.logits);
    } else {
      launch(args, p.device);
    }
    raise_input_errors();
    dlogits = p.logits;
    args.dlogits = dlogits.data_ptr();
    launch(args, p.device);
    torch::autograd::impl::bump_version(b.logits);
  } else {
    if (mode == GradMode::separate) {
      if (grad_buffer.defined()) check_grad_buffer(grad_buffer, p.logits);
      dlogits = grad_buffer.defined() ? grad_buffer : torch::empty_like(p.logits, torch::MemoryFormat::Contiguous);
      args.dlogits = dlogits.data_ptr();
    }
    launch(args, p.device);
    raise_input_errors();
  }

  FusedRun run;
  run.ce = (p.row_ce.to(torch::kFloat64).sum() * p.plan.ce_scale).to(torch::kFloat32);
  run.aux = (p.row_aux.to(torch::kFloat64) * p.aux_scale.to(torch::kFloat64)).sum().to(torch::kFloat32);
  run.total = opt.kind == LossKind::sft ? run.ce.clone() : run.ce + static_cast<float>(opt.alpha) * run.aux;
  run.dlogits = dlogits;
  return run;
}

// Autograd: forward runs the kernel and keeps d total / d logits; backward
// scales it by grad_output (no copy when grad_output is 1, the usual case).
struct FusedCall {
  const LossBatch* batch;
  const MetricSpace* metric;
  const LossOptions* opt;
  const FusedConfig* config;
  torch::Tensor ce, aux;
};

class FusedLossFunction : public torch::autograd::Function<FusedLossFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& logits, FusedCall* call) {
    FusedRun run = run_fused(*call->batch, *call->metric, *call->opt,
                             call->config->grad_in_place ? GradMode::in_place : GradMode::separate,
                             call->config->grad_buffer);
    ctx->save_for_backward({run.dlogits});
    call->ce = run.ce;
    call->aux = run.aux;
    return run.total;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_output) {
    torch::Tensor g = ctx->get_saved_variables()[0];
    const torch::Tensor& go = grad_output[0];
    if (!(go.numel() == 1 && go.item<double>() == 1.0)) g = g * go.to(g.scalar_type());
    return {g, torch::Tensor()};
  }
};

}  // namespace

std::string fused_unsupported_reason(const LossBatch& b, const MetricSpace& metric, const LossOptions& opt) {
  (void)metric;
  if (opt.kind == LossKind::ntl_was || opt.kind == LossKind::ntl_mse)
    return fmt::format("loss kind {} has no fused kernel", to_string(opt.kind));
  if (!b.logits.defined() || b.logits.dim() != 2) return "logits are not [N, V]";
  const auto dtype = b.logits.scalar_type();
  if (b.logits.is_cpu()) {
    if (dtype != torch::kFloat32) return fmt::format("the CPU kernel takes float32 logits, not {}", c10::toString(dtype));
  } else if (b.logits.is_cuda()) {
    if (!cuda_kernels_built()) return "dist2 was built without the CUDA kernels";
    if (dtype != torch::kFloat32 && dtype != torch::kBFloat16 && dtype != torch::kFloat16)
      return fmt::format("the CUDA kernel takes float32, bfloat16 or float16 logits, not {}", c10::toString(dtype));
  } else {
    return fmt::format("no fused kernel for device {}", b.logits.device().str());
  }
  if (b.logits.size(1) > std::numeric_limits<int32_t>::max()) return "the vocabulary exceeds 2^31 entries";
  return "";
}

LossTerms fused_loss(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                     const FusedConfig& config) {
  FusedCall call{&batch, &metric, &opt, &config, {}, {}};
  torch::Tensor total = FusedLossFunction::apply(batch.logits, &call);
  return {total, call.ce, call.aux};
}

FusedLossAndGrad fused_loss_and_grad(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                                     const FusedConfig& config) {
  torch::NoGradGuard no_grad;
  FusedRun run = run_fused(batch, metric, opt, config.grad_in_place ? GradMode::in_place : GradMode::separate,
                           config.grad_buffer);
  return {{run.total, run.ce, run.aux}, run.dlogits};
}

FusedKernelLaunch::FusedKernelLaunch(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt,
                                     torch::Tensor grad_buffer)
    : prepared_(prepare_fused(batch, metric, opt)), grad_buffer_(std::move(grad_buffer)) {
  DIST2_CHECK(!prepared_->copied, "FusedKernelLaunch needs contiguous logits");
  check_grad_buffer(grad_buffer_, prepared_->logits);
  prepared_->args.dlogits = grad_buffer_.data_ptr();
}

FusedKernelLaunch::~FusedKernelLaunch() = default;

void FusedKernelLaunch::launch() { dist2::launch(prepared_->args, prepared_->device); }

LossTerms fused_loss_forward(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt) {
  torch::NoGradGuard no_grad;
  FusedRun run = run_fused(batch, metric, opt, GradMode::none);
  return {run.total, run.ce, run.aux};
}

LossTerms compute_loss(const LossBatch& batch, const MetricSpace& metric, const LossOptions& opt, LossImpl impl) {
  if (impl == LossImpl::reference || !fused_unsupported_reason(batch, metric, opt).empty())
    return reference_loss(batch, metric, opt);
  const bool wants_grad = torch::GradMode::is_enabled() && batch.logits.requires_grad();
  return wants_grad ? fused_loss(batch, metric, opt) : fused_loss_forward(batch, metric, opt);
}

}  // namespace dist2
