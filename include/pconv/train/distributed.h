#pragma once
// Several processes training one model: the launch environment and a c10d process group.
//
// Launchers (torchrun, Slurm or MPI wrappers, a shell loop) start one process per rank and set
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; rank 0 hosts the rendezvous store
// (or, under torchrun, its agent does). Collectives run on Gloo, LibTorch's CPU backend, which
// also carries CUDA tensors. Every collective is bounded by the timeout, and a peer that dies
// ends the others' waits with an error instead of a hang.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pconv {

struct DistributedEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  /// Under torchrun the agent already serves the store on MASTER_PORT: every rank is a client.
  bool agent_store = false;

  bool enabled() const { return world_size > 1; }
  /// Reads the launcher's variables; none set means one process. Throws pconv::Error naming the
  /// variable for a value that is not a number, out of range, or missing when WORLD_SIZE > 1.
  static DistributedEnv from_environment();
};

/// True when this build can run several processes (LibTorch with c10d and Gloo).
bool distributed_available();

class ProcessGroup {
 public:
  /// Joins the group: waits up to `timeout` for all WORLD_SIZE ranks to arrive.
  ProcessGroup(const DistributedEnv& env, std::chrono::seconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;

  /// Sums `tensor` over all ranks, in place; blocks.
  void all_reduce_sum(torch::Tensor& tensor);
  /// Starts the sum and returns at once; call the returned function to wait for it.
  std::function<void()> all_reduce_sum_async(torch::Tensor& tensor);
  /// Copies rank `root`'s tensor into every rank's (same shape and type everywhere).
  void broadcast(torch::Tensor& tensor, int root = 0);
  /// Rank `root`'s bytes on every rank (other ranks pass anything).
  std::vector<uint8_t> broadcast_bytes(const std::vector<uint8_t>& bytes, int root = 0);
  /// The sum over ranks as an autograd operation: its gradient is the sum of the ranks'
  /// gradients (what synchronised BN needs).
  torch::Tensor sum_across(const torch::Tensor& tensor);

  /// Runs `step` on every rank; if it throws pconv::Error on any rank, every rank throws: the
  /// failing ones their own error, the others one that names the failing rank and its message.
  void run_everywhere(const std::function<void()>& step);

  /// Seconds spent blocked in collectives (waits, not the asynchronous part).
  double wait_seconds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pconv
