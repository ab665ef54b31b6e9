#pragma once
// Data-parallel training over c10d: the ranks of one run, how they find each
// other, and the collectives the trainer needs (ProcessGroupGloo: CPU tensors,
// and CUDA tensors through the host).
//
// A run with world size W splits every global batch of step s (which depends
// only on the seed and s) into W contiguous shards; each rank computes its
// shard's share of the global loss (sums over its positions divided by the
// global counts), the gradients are summed across ranks, and every rank takes
// the same optimizer step. So W ranks follow the single-process run on the same
// global batch. Only rank 0 touches the run store.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace dist2 {

struct Rendezvous {
  int rank = 0, world = 1;
  std::string addr = "127.0.0.1";  // rank 0's host (MASTER_ADDR)
  int port = 0;                    // its TCP store port (MASTER_PORT)
};

// RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as torchrun sets them (or
// SLURM_PROCID / SLURM_NTASKS under srun when RANK is unset); world 1 when the
// process runs alone. Bad values are a one-line dist2::Error.
Rendezvous rendezvous_from_env();

// A free TCP port on this machine (for `--nproc N`: rank 0's store).
int free_local_port();

// Whether this dist2 was built with c10d's Gloo process group.
bool distributed_available();

class ProcessGroup {
 public:
  // Connects to the others (rank 0 serves the store); waits at most `timeout`
  // for every rank, then fails with a one-line dist2::Error naming the address.
  static std::unique_ptr<ProcessGroup> connect(const Rendezvous& rz, std::chrono::milliseconds timeout);
  virtual ~ProcessGroup() = default;

  int rank() const { return rank_; }
  int world() const { return world_; }

  // Sums each tensor across ranks, in place (all ranks get the sum).
  virtual void allreduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  // Rank `root`'s values into every rank's tensors, in place.
  virtual void broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;

  // The sum across ranks of one number per rank.
  double sum(double local);

 protected:
  ProcessGroup(int rank, int world) : rank_(rank), world_(world) {}

 private:
  int rank_, world_;
};

// Sums the gradients of `params` across ranks in one flat buffer (a parameter
// without a gradient contributes zeros).
void allreduce_gradients(ProcessGroup& pg, const std::vector<torch::Tensor>& params);
// Every rank takes rank 0's weights.
void broadcast_parameters(ProcessGroup& pg, const std::vector<torch::Tensor>& params);

// Rank `rank`'s share [begin, end) of `n` items: contiguous, sizes differing by at most one.
std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int world);

}  // namespace dist2
