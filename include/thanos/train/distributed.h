#pragma once
// Data-parallel training over processes and machines on libtorch's c10d: a TCPStore rendezvous
// and a Gloo process group (CPU). Launched like torchrun: RANK, WORLD_SIZE, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment.
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace thanos {

struct DistributedEnv {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";  // loopback by default: sandboxes may not resolve their hostname
  int master_port = 29500;
  int timeout_seconds = 300;

  bool enabled() const { return world_size > 1; }
  // Reads the torchrun variables; world size 1 when WORLD_SIZE is unset. Throws
  // std::invalid_argument naming the variable when one is malformed.
  static DistributedEnv from_environment();
};

// The collective operations training needs. With world size 1 every call is the identity.
// Gloo on CPU; NCCL for CUDA training where libtorch was built with it (else Gloo through host
// memory).
class Communicator {
 public:
  explicit Communicator(const DistributedEnv& env, const torch::Device& device = torch::Device(torch::kCPU));
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  const DistributedEnv& env() const { return env_; }
  bool is_main() const { return env_.rank == 0; }
  const char* backend() const;  // "gloo", "nccl" or "none"
  // In-place sum over ranks (flattened into one buffer per call for few round trips).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  double all_reduce_sum(double value);
  void barrier();

 private:
  struct Impl;
  DistributedEnv env_;
  std::unique_ptr<Impl> impl_;
};

// True when this libtorch ships c10d with Gloo (Debian's does; some CUDA builds may not).
bool distributed_available();

}  // namespace thanos
