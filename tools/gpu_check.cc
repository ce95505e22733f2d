// thanos_gpu_check: the engine core against a CUDA-enabled libtorch (the GPU check machine, which
// has no GoogleTest): the same model computes the same logits and gradients on CPU and CUDA, beam
// search runs on CUDA, and the in-process backend measures on CUDA (fp32, fp16, bf16).
// Build: cmake -DTHANOS_WITH_TOOLS=OFF -DTHANOS_BUILD_TESTS=OFF -DTHANOS_BUILD_GPU_CHECK=ON ...
// Exit status 0 when every check passes.
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdio>
#include <iostream>

#include "thanos/decode/beam_search.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/train/distributed.h"

using namespace thanos;

namespace {

int failures = 0;

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

}  // namespace

int main() {
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
  std::printf("%s\n", failures == 0 ? "all GPU checks passed" : "SOME GPU CHECKS FAILED");
  return failures == 0 ? 0 : 1;
}
