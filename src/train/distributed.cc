#include "thanos/train/distributed.h"

#include <cstdlib>
#include <stdexcept>

// PyTorch's wheels ship c10d's headers without Gloo's own (gloo/*.h): both must be present.
#if __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>) && __has_include(<gloo/algorithm.h>)
#define THANOS_HAS_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#else
#define THANOS_HAS_GLOO 0
#endif
// NCCL only where libtorch was built with it (its CMake config then defines USE_C10D_NCCL), and
// beside Gloo: the rendezvous and the CPU fallback are written once, in the Gloo code path.
#if THANOS_HAS_GLOO && defined(USE_C10D_NCCL) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#define THANOS_HAS_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define THANOS_HAS_NCCL 0
#endif

namespace thanos {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    std::size_t used = 0;
    const int x = std::stoi(v, &used);
    if (used == std::string(v).size()) return x;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(std::string("environment variable ") + name + "='" + v + "': expected an integer");
}

}  // namespace

DistributedEnv DistributedEnv::from_environment() {
  DistributedEnv e;
  e.world_size = env_int("WORLD_SIZE", 1);
  e.rank = env_int("RANK", 0);
  e.local_world_size = env_int("LOCAL_WORLD_SIZE", e.world_size);
  e.local_rank = env_int("LOCAL_RANK", e.rank);
  e.master_port = env_int("MASTER_PORT", 29500);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
  if (e.world_size < 1 || e.rank < 0 || e.rank >= e.world_size) {
    throw std::invalid_argument("RANK=" + std::to_string(e.rank) + " must be in [0, WORLD_SIZE=" +
                                std::to_string(e.world_size) + ")");
  }
  return e;
}

bool distributed_available() { return THANOS_HAS_GLOO == 1; }

#if THANOS_HAS_GLOO
struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  // ProcessGroupGloo derives from c10d::ProcessGroup in libtorch 1.x and from c10d::Backend in
  // 2.x; holding the concrete class keeps this code compiling against both.
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
#if THANOS_HAS_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  // set instead of `group` for CUDA training
#endif
  torch::Device device{torch::kCPU};
};
#else
struct Communicator::Impl {};
#endif

Communicator::Communicator(const DistributedEnv& env, const torch::Device& device) : env_(env) {
  if (!env.enabled()) return;
#if THANOS_HAS_GLOO
  impl_ = std::make_unique<Impl>();
  impl_->device = device;
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(env.master_port);
  opts.isServer = env.rank == 0;
  opts.numWorkers = static_cast<std::size_t>(env.world_size);
  opts.waitWorkers = true;
  opts.timeout = std::chrono::seconds(env.timeout_seconds);
  impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  if (device.is_cuda()) {
#if THANOS_HAS_NCCL
    impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, env.rank, env.world_size,
                                                             c10d::ProcessGroupNCCL::Options::create());
    return;
#else
    // Gloo still works: CUDA gradients are reduced through host memory.
#endif
  }
  auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(env.timeout_seconds));
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr == "localhost" ? "127.0.0.1" : env.master_addr));
  impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
#else
  (void)device;
  throw std::runtime_error("this libtorch has no c10d Gloo backend; distributed training is unavailable");
#endif
}

const char* Communicator::backend() const {
#if THANOS_HAS_NCCL
  if (impl_ && impl_->nccl) return "nccl";
#endif
  return env_.enabled() ? "gloo" : "none";
}

Communicator::~Communicator() = default;

void Communicator::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (!env_.enabled() || tensors.empty()) return;
#if THANOS_HAS_GLOO
  // One flat buffer per call: few round trips. Gloo reduces host memory (float64, so the sum does
  // not depend on how ranks split the work); NCCL reduces on the GPU in float32.
  const bool on_gpu = THANOS_HAS_NCCL && impl_->device.is_cuda();
  const torch::Device where = on_gpu ? impl_->device : torch::Device(torch::kCPU);
  const auto dtype = on_gpu ? torch::kFloat : torch::kDouble;
  std::vector<torch::Tensor> flat_parts;
  for (const auto& t : tensors) flat_parts.push_back(t.reshape({-1}).to(where, dtype));
  std::vector<torch::Tensor> buffer{torch::cat(flat_parts)};
#if THANOS_HAS_NCCL
  if (impl_->nccl) {
    impl_->nccl->allreduce(buffer)->wait();
  } else {
    impl_->group->allreduce(buffer)->wait();
  }
#else
  impl_->group->allreduce(buffer)->wait();
#endif
  int64_t offset = 0;
  for (auto& t : tensors) {
    const int64_t n = t.numel();
    t.copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));  // copy_ converts dtype and device back
    offset += n;
  }
#endif
}

double Communicator::all_reduce_sum(double value) {
  if (!env_.enabled()) return value;
  std::vector<torch::Tensor> t{torch::tensor({value}, torch::kDouble)};
  all_reduce_sum(t);
  return t[0].item<double>();
}

void Communicator::barrier() {
  if (!env_.enabled()) return;
  all_reduce_sum(0.0);  // a collective every rank must reach
}

}  // namespace thanos
