// Data-parallel training on c10d/Gloo with 2 local processes: gradients after all-reduce equal
// single-process gradients on the union of the two batches, and weights after K SGD updates match.
// The parent test starts two copies of this test binary as workers (posix_spawn, torchrun's
// environment variables) and compares their results with its own single-process run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "test_util.h"
#include "thanos/common/random.h"
#include "thanos/data/batcher.h"
#include "thanos/train/batch.h"
#include "thanos/train/distributed.h"
#include "thanos/train/loss.h"
#include "thanos/train/trainer.h"

extern char** environ;
using namespace thanos;
namespace fs = std::filesystem;

namespace {

constexpr int kSgdSteps = 3;

SearchSpace no_dropout_space() {
  SearchSpace s = thanos::testing::tiny_space();
  s.hyper.dropout = s.hyper.attention_dropout = 0;
  return s;
}

BinarizedSplit data_split() {
  Rng rng(3);
  BinarizedSplit s;
  for (int i = 0; i < 64; ++i) {
    const int len = 2 + static_cast<int>(rng.uniform_index(7));
    std::vector<std::int32_t> a, b;
    for (int k = 0; k < len; ++k) a.push_back(4 + static_cast<int>(rng.uniform_index(36)));
    b.assign(a.rbegin(), a.rend());
    a.push_back(kEosId);
    b.push_back(kEosId);
    s.add(a, b);
  }
  return s;
}

// The batches of SGD step k for `rank` of `world` (world 1: the union of all ranks' batches).
std::vector<Batch> step_batches(const BinarizedSplit& data, int step, int rank, int world) {
  const BatchIndices all = make_batches(data, BatchingOptions{60, 0, 1});
  std::vector<Batch> out;
  for (int r = 0; r < 2; ++r) {
    const auto& idx = all[(step * 2 + r) % all.size()];
    if (world == 1 || r == rank) out.push_back(collate(data, idx));
  }
  return out;
}

// Gradients of the first step and weights after kSgdSteps plain SGD updates.
std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>> sgd_run(Communicator* comm, int rank, int world) {
  const SearchSpace space = no_dropout_space();
  const BinarizedSplit data = data_split();
  torch::manual_seed(7);
  SuperTransformer model(super_model_options(space, 40, 40));
  const SubConfig cfg = space.largest();
  std::vector<torch::Tensor> first_grads;
  for (int step = 0; step < kSgdSteps; ++step) {
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    auto batches = step_batches(data, step, rank, world);
    double local = 0;
    for (const auto& b : batches) local += static_cast<double>(b.ntokens);
    const double global = comm ? comm->all_reduce_sum(local) : local;
    for (const auto& b : batches) {
      (label_smoothed_nll_loss(model->forward(b.src, b.prev, cfg), b.target, 0.1, kPadId).loss / global).backward();
    }
    std::vector<torch::Tensor> grads;
    for (auto& p : model->parameters()) grads.push_back(p.mutable_grad());
    if (comm) comm->all_reduce_sum(grads);
    if (step == 0) {
      for (auto& g : grads) first_grads.push_back(g.clone());
    }
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.sub_(0.1 * p.grad());
  }
  std::vector<torch::Tensor> weights;
  for (auto& p : model->parameters()) weights.push_back(p.detach().clone());
  return {first_grads, weights};
}

std::vector<double> trainer_losses(Communicator* comm, int update_freq) {
  const SearchSpace space = no_dropout_space();
  const BinarizedSplit data = data_split();
  torch::manual_seed(9);
  SuperTransformer model(super_model_options(space, 40, 40));
  TrainOptions o;
  o.max_updates = 3;
  o.update_freq = update_freq;
  o.batching.max_tokens = 60;
  o.lr.warmup_updates = 2;
  o.seed = 5;
  ModelFileInfo info;
  info.options = model->options();
  Trainer t(model, info, data, o, TrainTarget{TrainMode::kSuperTransformer, space, {}});
  t.set_communicator(comm);
  return t.run().losses;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / (b.abs().max() + 1e-12)).item<double>();
}

}  // namespace

// Runs only inside a worker process started by the test below.
TEST(DistributedWorker, Run) {
  const char* out = std::getenv("THANOS_DIST_OUT");
  if (out == nullptr) GTEST_SKIP() << "worker of Distributed.TwoProcessesEqualOneProcessOnTheUnion";
  torch::set_num_threads(1);
  const DistributedEnv env = DistributedEnv::from_environment();
  Communicator comm(env);
  auto [grads, weights] = sgd_run(&comm, env.rank, env.world_size);
  const auto losses = trainer_losses(&comm, 1);
  const std::string prefix = std::string(out) + "/rank" + std::to_string(env.rank);
  torch::save(grads, prefix + "_grads.pt");
  torch::save(weights, prefix + "_weights.pt");
  torch::save(torch::tensor(losses, torch::kDouble), prefix + "_losses.pt");
}

TEST(Distributed, TwoProcessesEqualOneProcessOnTheUnion) {
  if (!distributed_available()) GTEST_SKIP() << "libtorch without c10d/Gloo";
  const std::string dir = ::testing::TempDir() + "/thanos_dist_" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<std::string> env_strings = {"RANK=" + std::to_string(rank), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(rank),
                                            "LOCAL_WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                                            "MASTER_PORT=" + std::to_string(port), "THANOS_DIST_OUT=" + dir};
    for (char** e = environ; *e; ++e) env_strings.push_back(*e);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=DistributedWorker.Run";
    char* argv[] = {const_cast<char*>(self.c_str()), filter.data(), nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker failed";
  }
  auto [grads, weights] = sgd_run(nullptr, 0, 1);
  for (int rank = 0; rank < 2; ++rank) {
    std::vector<torch::Tensor> g, w;
    torch::load(g, dir + "/rank" + std::to_string(rank) + "_grads.pt");
    torch::load(w, dir + "/rank" + std::to_string(rank) + "_weights.pt");
    ASSERT_EQ(g.size(), grads.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
      EXPECT_LE(max_rel_diff(g[i], grads[i]), 1e-5) << "gradient " << i;
      EXPECT_LE(max_rel_diff(w[i], weights[i]), 1e-5) << "weight " << i;
    }
  }
  // The Trainer on 2 ranks (1 batch each) equals one process accumulating both batches.
  const auto single = trainer_losses(nullptr, 2);
  torch::Tensor distributed;
  torch::load(distributed, dir + "/rank0_losses.pt");
  ASSERT_EQ(distributed.numel(), static_cast<int64_t>(single.size()));
  for (std::size_t i = 0; i < single.size(); ++i) EXPECT_NEAR(distributed[i].item<double>(), single[i], 1e-5);
  fs::remove_all(dir);
}
