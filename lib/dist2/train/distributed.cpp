#include "dist2/train/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "dist2/util/error.h"

// c10d's Gloo process group: Debian's LibTorch ships it (with libgloo-dev for
// its headers); a LibTorch without it builds dist2 for one process only.
#if __has_include(<gloo/algorithm.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#define DIST2_HAVE_GLOO 1
#endif

namespace dist2 {

namespace {

// An integer environment variable; `fallback` when unset.
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  DIST2_CHECK(end != v && *end == '\0' && x >= 0 && x <= 1 << 20, "{}='{}' is not a non-negative integer", name, v);
  return static_cast<int>(x);
}

std::string env_text(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::string(v);
}

}  // namespace

Rendezvous rendezvous_from_env() {
  Rendezvous rz;
  const bool torchrun = std::getenv("RANK") != nullptr || std::getenv("WORLD_SIZE") != nullptr;
  rz.rank = torchrun ? env_int("RANK", 0) : env_int("SLURM_PROCID", 0);
  rz.world = torchrun ? env_int("WORLD_SIZE", 1) : env_int("SLURM_NTASKS", 1);
  rz.addr = env_text("MASTER_ADDR", "127.0.0.1");
  rz.port = env_int("MASTER_PORT", 29500);
  DIST2_CHECK(rz.world >= 1 && rz.rank < rz.world, "rank {} of world size {}: RANK must lie in [0, WORLD_SIZE)",
              rz.rank, rz.world);
  DIST2_CHECK(rz.port > 0 && rz.port < 65536, "MASTER_PORT {} is not a TCP port", rz.port);
  return rz;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  DIST2_CHECK(fd >= 0, "cannot open a socket to find a free port");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;  // the kernel picks
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  DIST2_CHECK(ok, "cannot find a free TCP port on this machine");
  return ntohs(a.sin_port);
}

bool distributed_available() {
#ifdef DIST2_HAVE_GLOO
  return true;
#else
  return false;
#endif
}

double ProcessGroup::sum(double local) {
  std::vector<torch::Tensor> t{torch::tensor({local}, torch::kFloat64)};
  allreduce_sum(t);
  return t[0].item<double>();
}

#ifdef DIST2_HAVE_GLOO
namespace {

class GlooGroup : public ProcessGroup {
 public:
  GlooGroup(const Rendezvous& rz, std::chrono::milliseconds timeout) : ProcessGroup(rz.rank, rz.world) {
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(rz.port);
      so.isServer = rz.rank == 0;
      so.numWorkers = static_cast<std::size_t>(rz.world);
      so.waitWorkers = true;
      so.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(rz.addr, so);
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const bool loopback = rz.addr.rfind("127.", 0) == 0 || rz.addr == "localhost";
      const std::string iface = env_text("GLOO_SOCKET_IFNAME", "");
      options->devices.push_back(!iface.empty() ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                                 : loopback     ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                : c10d::ProcessGroupGloo::createDefaultDevice());
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rz.rank, rz.world, options);
    } catch (const std::exception& e) {
      throw Error(fmt::format("rank {} of {} cannot join the others at {}:{} within {} s: {}", rz.rank, rz.world,
                              rz.addr, rz.port, timeout.count() / 1000, first_line(e.what())));
    }
  }

  void allreduce_sum(std::vector<torch::Tensor>& tensors) override {
    run("allreduce", [&] { pg_->allreduce(tensors)->wait(); });
  }
  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    c10d::BroadcastOptions o;
    o.rootRank = root;
    run("broadcast", [&] { pg_->broadcast(tensors, o)->wait(); });
  }

 private:
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
  // A rank that died or stopped answering surfaces here: one line, not a backtrace.
  template <class F>
  void run(const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      throw Error(fmt::format("{} across {} ranks failed on rank {} (another rank stopped?): {}", what, world(),
                              rank(), first_line(e.what())));
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

}  // namespace
#endif

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const Rendezvous& rz, std::chrono::milliseconds timeout) {
#ifdef DIST2_HAVE_GLOO
  return std::make_unique<GlooGroup>(rz, timeout);
#else
  (void)timeout;
  throw Error(fmt::format("world size {}: this dist2 was built without c10d's Gloo process group (install "
                          "libgloo-dev and rebuild)", rz.world));
#endif
}

void allreduce_gradients(ProcessGroup& pg, const std::vector<torch::Tensor>& params) {
  if (params.empty()) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    grads.push_back(p.grad().defined() ? p.grad().reshape({-1}) : torch::zeros({p.numel()}, p.options()));
  std::vector<torch::Tensor> flat{torch::cat(grads)};
  pg.allreduce_sum(flat);
  int64_t at = 0;
  for (const auto& p : params) {
    const int64_t n = p.numel();
    auto summed = flat[0].slice(0, at, at + n).view_as(p);
    if (p.grad().defined()) p.mutable_grad().copy_(summed);
    else p.mutable_grad() = summed.clone();
    at += n;
  }
}

void broadcast_parameters(ProcessGroup& pg, const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat_list;
  for (const auto& p : params) flat_list.push_back(p.detach().reshape({-1}));
  std::vector<torch::Tensor> flat{torch::cat(flat_list)};
  pg.broadcast(flat, 0);
  int64_t at = 0;
  for (const auto& p : params) {
    const int64_t n = p.numel();
    p.detach().copy_(flat[0].slice(0, at, at + n).view_as(p));
    at += n;
  }
}

std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world) {
  const int64_t base = n / world, extra = n % world;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace dist2
