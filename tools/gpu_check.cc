// thanos_gpu_check: the engine core against a CUDA-enabled libtorch (the GPU check machine, which
// has no GoogleTest): the same model computes the same logits and gradients on CPU and CUDA, beam
// search runs on CUDA, the in-process backend measures on CUDA (fp32, fp16, bf16), the Trainer
// trains on CUDA (same losses as on the CPU, resume from a CUDA checkpoint) and its throughput on
// a HAT-sized SuperTransformer (the pipeline's GPU cost estimate is checked against it).
// Build: cmake -DTHANOS_WITH_TOOLS=OFF -DTHANOS_BUILD_TESTS=OFF -DTHANOS_BUILD_GPU_CHECK=ON ...
// Exit status 0 when every check passes.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <csignal>
#include <dlfcn.h>
#include <ftw.h>
#include <ucontext.h>
#include <cstdio>
#include <execinfo.h>
#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>
#include <cmath>

#include "thanos/decode/beam_search.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/search_space.h"
#include "thanos/train/distributed.h"
#include "thanos/train/trainer.h"

using namespace thanos;

namespace {

int failures = 0;

// A crash on the check machine (no debugger there) prints where it happened: the faulting
// instruction, the return address on top of the stack (a call through a null pointer leaves no
// other trace) and the frames the unwinder finds.
void print_place(const char* what, void* address) {
  Dl_info info{};
  if (address && dladdr(address, &info) && info.dli_fname) {
    std::fprintf(stderr, "%s %p: %s+%#lx (%s)\n", what, address, info.dli_fname,
                 static_cast<unsigned long>(static_cast<char*>(address) - static_cast<char*>(info.dli_fbase)),
                 info.dli_sname ? info.dli_sname : "?");
  } else {
    std::fprintf(stderr, "%s %p\n", what, address);
  }
}

void on_crash(int signal, siginfo_t* si, void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
  std::fprintf(stderr, "signal %d at address %p\n", signal, si->si_addr);
  print_place("pc", reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RIP]));
  print_place("return", *reinterpret_cast<void* const*>(uc->uc_mcontext.gregs[REG_RSP]));
  void* frames[64];
  const int n = backtrace(frames, 64);
  for (int i = 0; i < n; ++i) print_place("frame", frames[i]);
  std::_Exit(128 + signal);
}

void check(bool ok, const std::string& what) {
  std::printf("%-6s %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++failures;
}

SubConfig small_config() {
  SubConfig c;
  c.encoder_embed_dim = c.decoder_embed_dim = 64;
  for (int i = 0; i < 2; ++i) c.encoder_layers.push_back({128, 4, 64});
  c.decoder_layers.push_back({128, 4, 64, 4, 64, 1});
  c.decoder_layers.push_back({96, 2, 32, 2, 32, 2});
  return c;
}

SuperTransformer build(const ModelOptions& options) {
  torch::manual_seed(0);  // the same initial weights for both devices
  return SuperTransformer(options);
}

// A copy task with random lengths (10..40 tokens): something learnable, made here.
BinarizedSplit synthetic_corpus(int pairs, int vocab) {
  std::mt19937 rng(7);
  BinarizedSplit split;
  for (int i = 0; i < pairs; ++i) {
    const int len = 10 + static_cast<int>(rng() % 31);
    std::vector<std::int32_t> s;
    for (int t = 0; t < len; ++t) s.push_back(4 + static_cast<std::int32_t>(rng() % (vocab - 4)));
    s.push_back(2);  // </s>
    split.add(s, s);
  }
  return split;
}

// std::filesystem::remove_all is not used: in PyTorch 2.11's wheel, libtorch.so exports that
// symbol as a stub that jumps to address 0 (seen on the check machine), and it wins symbol lookup.
void remove_tree(const std::string& path) {
  nftw(path.c_str(), [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16, FTW_DEPTH | FTW_PHYS);
}

TrainResult train_on(const std::string& device, const ModelOptions& options, const BinarizedSplit& data,
                     TrainTarget target, std::int64_t updates, int max_tokens, const std::string& save_dir,
                     const std::string& resume_from = "", TrainProgress* last = nullptr) {
  TrainOptions t;
  t.max_updates = updates;
  t.batching.max_tokens = max_tokens;
  t.lr.lr = 1e-3;
  t.lr.warmup_updates = 4;
  t.clip_norm = 1.0;
  t.log_every = 1;
  t.save_every = save_dir.empty() ? 0 : 3;
  t.save_dir = save_dir;
  t.device = device;
  ModelFileInfo info;
  info.options = options;
  Trainer trainer(build(options), info, data, t, target);
  if (!resume_from.empty()) trainer.resume(resume_from);
  return trainer.run([&](const TrainProgress& p) {
    if (last) *last = p;
  });
}

}  // namespace

int main() {
  struct sigaction crash {};
  crash.sa_sigaction = on_crash;
  crash.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &crash, nullptr);
  sigaction(SIGABRT, &crash, nullptr);
  std::printf("libtorch %s, cuda available: %d, devices: %d, distributed (c10d gloo): %d\n", TORCH_VERSION,
              torch::cuda::is_available(), static_cast<int>(torch::cuda::device_count()), distributed_available());
  std::string why;
  if (!device_available("cuda", &why)) {
    std::printf("FAIL   %s\n", why.c_str());
    return 1;
  }
  const torch::Device cuda(torch::kCUDA, 0);
  const SubConfig cfg = small_config();
  ModelOptions options;
  options.capacity = cfg;
  options.src_vocab_size = options.tgt_vocab_size = 300;
  options.hyper.share_all_embeddings = options.hyper.share_decoder_input_output = true;
  options.hyper.dropout = 0;

  auto cpu_model = build(options);
  auto gpu_model = build(options);
  gpu_model->to(cuda);
  auto src = torch::randint(4, 300, {3, 12}, torch::kLong);
  src.select(1, 11).fill_(2);  // </s>
  auto prev = torch::randint(4, 300, {3, 10}, torch::kLong);
  prev.select(1, 0).fill_(2);

  // Forward and backward on both devices.
  auto loss_of = [&](SuperTransformer& m, const torch::Device& d) {
    auto logits = m->forward(src.to(d), prev.to(d), cfg);
    auto loss = -torch::log_softmax(logits, -1).select(-1, 5).mean();
    m->zero_grad();
    loss.backward();
    return std::make_pair(logits.to(torch::kCPU), loss.item<double>());
  };
  const auto [cpu_logits, cpu_loss] = loss_of(cpu_model, torch::kCPU);
  const auto [gpu_logits, gpu_loss] = loss_of(gpu_model, cuda);
  const double logit_diff = (cpu_logits - gpu_logits).abs().max().item<double>();
  check(logit_diff < 1e-3, "forward logits CPU vs CUDA: max |diff| = " + std::to_string(logit_diff));
  // Relative to each gradient's scale, floored: some gradients are zero in exact arithmetic (a key
  // projection's bias: softmax ignores a constant shift) and hold only rounding noise.
  double grad_rel = 0;
  std::string worst;
  auto cpu_params = cpu_model->named_parameters();
  auto gpu_params = gpu_model->named_parameters();
  for (const auto& p : cpu_params) {
    const auto& g = gpu_params[p.key()].grad();
    if (!p.value().grad().defined() || !g.defined()) continue;
    const double scale = std::max(p.value().grad().abs().max().item<double>(), 1e-4);
    const double rel = (p.value().grad() - g.to(torch::kCPU)).abs().max().item<double>() / scale;
    if (rel > grad_rel) {
      grad_rel = rel;
      worst = p.key();
    }
  }
  check(grad_rel < 1e-3, "gradients CPU vs CUDA: max relative diff = " + std::to_string(grad_rel) +
                              " at " + worst + " (loss " + std::to_string(cpu_loss) + " vs " + std::to_string(gpu_loss) + ")");

  // Beam search on CUDA: same hypotheses as on CPU (random weights: near-ties may flip, so count).
  for (int beam : {1, 4}) {
    GenerationOptions g;
    g.beam = beam;
    g.max_len_b = 20;
    Generator on_cpu(cpu_model, cfg, g), on_gpu(gpu_model, cfg, g);
    const auto a = on_cpu.generate(src);
    const auto b = on_gpu.generate(src.to(cuda));
    int same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i][0].tokens == b[i][0].tokens;
    check(same == static_cast<int>(a.size()), "beam " + std::to_string(beam) + ": " + std::to_string(same) + "/" +
                                                   std::to_string(a.size()) + " translations equal CPU vs CUDA");
  }

  // The in-process backend on CUDA under HAT's WMT protocol, for a HAT-sized SubTransformer.
  MeasureRequest r;
  r.config.encoder_embed_dim = r.config.decoder_embed_dim = 512;
  for (int i = 0; i < 6; ++i) r.config.encoder_layers.push_back({2048, 8, 512});
  for (int i = 0; i < 3; ++i) r.config.decoder_layers.push_back({2048, 8, 512, 8, 512, 1});
  r.protocol = latency_protocol_preset("hat-wmt");
  r.run.device = "cuda";
  std::printf("%-9s %10s %10s %12s  %s\n", "dtype", "enc ms", "dec ms", "peak MiB", "memory kind");
  double fp32_peak = 0;
  for (const char* dtype : {"float32", "float16", "bfloat16"}) {
    r.protocol.dtype = dtype;
    const Measurement m = measure_in_process(r);
    std::printf("%-9s %10.3f %10.3f %12.1f  %s (%s)\n", dtype, m.encoder_mean_ms, m.decoder_mean_ms, m.peak_memory_mib,
                m.memory_kind.c_str(), m.device_name.c_str());
    if (std::string(dtype) == "float32") fp32_peak = m.peak_memory_mib;
    check(m.decoder_mean_ms > 0 && m.peak_memory_mib > 0, std::string("cuda measurement in ") + dtype);
    if (std::string(dtype) == "float16") check(m.peak_memory_mib < 0.7 * fp32_peak, "fp16 peak below 70% of fp32's");
  }
  r.run.device = "cpu";
  r.protocol.dtype = "float32";
  r.run.threads = 4;
  const Measurement c = measure_in_process(r);
  std::printf("cpu(4t)   %10.3f %10.3f %12.1f  %s\n", c.encoder_mean_ms, c.decoder_mean_ms, c.peak_memory_mib, c.memory_kind.c_str());

  // The Trainer on CUDA: a standalone SubTransformer (dropout 0) trained 6 updates on CPU and on
  // CUDA gives the same losses; 3 updates, a CUDA checkpoint, resume for 3 more equals 6 straight.
  {
    const BinarizedSplit data = synthetic_corpus(400, 300);
    TrainTarget sub;
    sub.mode = TrainMode::kSubTransformer;
    sub.config = cfg;
    const std::string dir = (std::filesystem::temp_directory_path() / "thanos_gpu_check").string();
    remove_tree(dir);
    const auto on_cpu = train_on("cpu", options, data, sub, 6, 600, "");
    const auto on_gpu = train_on("cuda", options, data, sub, 6, 600, dir + "/a");
    double worst = 0;
    for (std::size_t i = 0; i < on_cpu.losses.size() && i < on_gpu.losses.size(); ++i) {
      worst = std::max(worst, std::abs(on_cpu.losses[i] - on_gpu.losses[i]) / std::abs(on_cpu.losses[i]));
    }
    check(on_cpu.losses.size() == 6 && on_gpu.losses.size() == 6 && worst < 1e-3,
          "Trainer CPU vs CUDA, 6 updates: max relative loss diff = " + std::to_string(worst) + " (first " +
              std::to_string(on_cpu.losses.front()) + ", last " + std::to_string(on_cpu.losses.back()) + ")");
    train_on("cuda", options, data, sub, 3, 600, dir + "/b");
    const auto resumed = train_on("cuda", options, data, sub, 6, 600, dir + "/b", dir + "/b/checkpoint_last.pt");
    double resume_diff = resumed.losses.size() == 3 ? 0 : 1e9;
    for (std::size_t i = 0; i < resumed.losses.size() && i < 3; ++i) {
      resume_diff = std::max(resume_diff, std::abs(resumed.losses[i] - on_gpu.losses[3 + i]));
    }
    check(resume_diff < 1e-4, "Trainer on CUDA: resume from a CUDA checkpoint, max |loss diff| vs straight = " +
                                  std::to_string(resume_diff));
    remove_tree(dir);
  }

  // SuperTransformer training throughput on HAT's WMT'14 En-De space (vocab 32768, max_tokens
  // 4096, one SubTransformer sampled per update) on CUDA and on the CPU's cores, in
  // parameter-tokens per second (what the pipeline's cost estimate is written in).
  {
    const SearchSpace space = hat_wmt14ende_space0();
    const int vocab = 32768;
    const ModelOptions super_options = super_model_options(space, vocab, vocab);
    const BinarizedSplit data = synthetic_corpus(4000, vocab);
    TrainTarget super_target;
    super_target.space = space;
    const double mean_params =
        0.5 * (count_params(space.smallest(), space.hyper, vocab, vocab).total() + count_params(space.largest(), space.hyper, vocab, vocab).total());
    std::printf("%-10s %8s %12s %14s %18s\n", "device", "updates", "s/update", "tokens/s", "param-tokens/s");
    double gpu_rate = 0, cpu_rate = 0;
    for (const auto& [device, updates] : std::vector<std::pair<std::string, int>>{{"cuda", 40}, {"cpu", 4}}) {
      if (device == "cpu") torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
      TrainProgress last;
      const auto start = std::chrono::steady_clock::now();
      train_on(device, super_options, data, super_target, updates, 4096, "", "", &last);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double rate = last.tokens_per_second * mean_params;
      (device == "cuda" ? gpu_rate : cpu_rate) = rate;
      std::printf("%-10s %8d %12.3f %14.0f %18.3g\n", device.c_str(), updates, seconds / updates, last.tokens_per_second, rate);
    }
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    std::printf("pipeline estimate (1.1e10 x threads^0.7): cpu %d threads %.3g, cuda (x50) %.3g; measured cuda/cpu %.1fx\n",
                cores, 1.1e10 * std::pow(std::min(cores, 16), 0.7), 50 * 1.1e10 * std::pow(std::min(cores, 16), 0.7),
                cpu_rate > 0 ? gpu_rate / cpu_rate : 0.0);
    check(gpu_rate > 0 && cpu_rate > 0, "SuperTransformer training on CUDA and CPU");
  }
  std::printf("%s\n", failures == 0 ? "all GPU checks passed" : "SOME GPU CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}
