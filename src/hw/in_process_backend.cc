// HAT's latency protocol (../shared/notes/hat-latency-protocol.md, docs/MEASUREMENT.md) run on a
// standalone SubTransformer with random weights: latency does not depend on the weights' values.
#include "thanos/hw/in_process_backend.h"

#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>
#include <stdexcept>

#include "thanos/hw/host_info.h"
#include "thanos/hw/measurement_model.h"
#include "thanos/model/super_transformer.h"

#ifdef THANOS_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {
namespace {

using Clock = std::chrono::steady_clock;

torch::Dtype parse_dtype(const std::string& dtype, bool cuda) {
  if (dtype == "float32") return torch::kFloat32;
  if (!cuda) {
    // CPU half-precision kernels are slow or missing in libtorch; a CPU figure in fp16 would not
    // describe any deployment.
    throw std::invalid_argument("protocol.dtype: " + dtype + " is measured on cuda only; use float32 on cpu");
  }
  if (dtype == "float16") return torch::kFloat16;
  if (dtype == "bfloat16") return torch::kBFloat16;
  throw std::invalid_argument("protocol.dtype: expected float32, float16 or bfloat16, got \"" + dtype + "\"");
}

// Wall-clock time of `fn` in ms; on CUDA the device is synchronised before and after, so the
// time covers the kernels (HAT used CUDA events with synchronisation: the same span).
template <typename Fn>
double time_ms(bool cuda, Fn&& fn) {
  if (cuda) torch::cuda::synchronize();
  const auto start = Clock::now();
  fn();
  if (cuda) torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The encoder output copied once per beam row, as fairseq's generator does before decoding.
EncoderOutput replicate_for_beam(const EncoderOutput& out, int64_t beam) {
  EncoderOutput r;
  const auto device = out.layer_outputs.front().device();
  const auto rows = torch::zeros({beam}, torch::TensorOptions().dtype(torch::kLong).device(device));
  for (const auto& t : out.layer_outputs) r.layer_outputs.push_back(t.index_select(0, rows));
  if (out.padding_mask.defined()) r.padding_mask = out.padding_mask.index_select(0, rows);
  return r;
}

// Initialises the runtime before the memory baseline: BLAS buffers, the thread pools and the
// allocator's first arenas exist once a small matmul has run through them. Without it, those
// (model-independent, several MiB) would count as the first model's memory.
void warm_up_runtime(const torch::Device& device) {
  c10::InferenceMode inference;
  auto x = torch::ones({64, 256}, torch::TensorOptions().device(device));
  auto w = torch::ones({256, 256}, torch::TensorOptions().device(device));
  auto y = torch::softmax(torch::layer_norm(torch::addmm(w.narrow(0, 0, 1).squeeze(0), x, w), {256}), -1);
  if (device.is_cuda()) torch::cuda::synchronize();
  (void)y.sum().item<float>();
}

std::string library_versions(bool cuda) {
  std::string v = std::string("libtorch ") + TORCH_VERSION + "; thanos " + THANOS_VERSION_STRING;
#ifdef THANOS_WITH_CUDA
  if (cuda) v += "; cuda " + std::to_string(CUDA_VERSION / 1000) + "." + std::to_string(CUDA_VERSION % 1000 / 10);
#else
  (void)cuda;
#endif
  return v;
}

}  // namespace

bool device_available(const std::string& device, std::string* why_not) {
  if (device == "cpu") return true;
  if (device == "cuda") {
#ifdef THANOS_WITH_CUDA
    if (torch::cuda::is_available()) return true;
    if (why_not) *why_not = "cuda: this build has CUDA but no GPU is visible";
#else
    if (why_not) *why_not = "cuda: this build of libtorch has no CUDA (Debian's libtorch is CPU-only); build THANOS against a CUDA-enabled libtorch to measure on a GPU";
#endif
    return false;
  }
  if (why_not) *why_not = "unknown device \"" + device + "\"; expected cpu or cuda";
  return false;
}

Measurement measure_in_process(const MeasureRequest& req) {
  const auto wall_start = Clock::now();
  req.config.check_consistent();
  req.protocol.validate();
  const auto& run = req.run;
  if (run.device != "cpu" && run.device != "cuda") {
    throw std::invalid_argument("run.device: unknown device \"" + run.device + "\"; expected cpu or cuda");
  }
  std::string why_not;
  if (!device_available(run.device, &why_not)) throw std::runtime_error(why_not);
  if (run.threads < 1 || run.interop_threads < 1) throw std::invalid_argument("run.threads and run.interop_threads must be >= 1");
  const bool cuda = run.device == "cuda";
  const auto dtype = parse_dtype(req.protocol.dtype, cuda);
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);

  // Thread pools are set explicitly, never left at the library's defaults. libtorch accepts the
  // inter-op size once per process, before any inter-op work; a worker process sets it first.
  torch::set_num_threads(run.threads);
  try {
    if (static_cast<int>(torch::get_num_interop_threads()) != run.interop_threads) torch::set_num_interop_threads(run.interop_threads);
  } catch (const std::exception&) {
    // Already fixed in this (long-lived) process: the figure recorded below is the real one.
  }

  Measurement m;
  m.backend = run.device;
  m.threads = torch::get_num_threads();
  m.interop_threads = torch::get_num_interop_threads();
  m.dtype = req.protocol.dtype;
  m.host = host_name();
  m.library_versions = library_versions(cuda);
  m.device_name = cpu_model_name();

  // Memory baseline: the runtime is initialised, the model not yet built.
  warm_up_runtime(device);
#ifdef THANOS_WITH_CUDA
  if (cuda) {
    m.device_name = at::cuda::getDeviceProperties(0)->name;
    c10::cuda::CUDACachingAllocator::emptyCache();
    c10::cuda::CUDACachingAllocator::resetPeakStats(0);
    // allocated_bytes[0] is the aggregate over pools (StatType::AGGREGATE == 0 in every version).
    m.baseline_memory_mib = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].current / 1048576.0;
  }
#endif
  if (!cuda) {
    reset_peak_rss();
    m.baseline_memory_mib = proc_status_mib("VmRSS");
  }

  {
    c10::InferenceMode inference;
    SuperTransformer model = build_measurement_model(req);
    model->to(device, dtype);
    const SubConfig& cfg = req.config;
    const auto& p = req.protocol;

    const auto src = measurement_tokens(1, p.src_len, p.vocab_size).to(device);
    // One dummy target token per step and beam row (HAT feeds a dummy prefix).
    const auto tgt = measurement_tokens(p.beam, p.tgt_len, p.vocab_size).to(device);

    std::vector<double> enc_ms, dec_ms;
    EncoderOutput encoded;
    for (int i = 0; i < p.warmups + p.repeats; ++i) {
      const double ms = time_ms(cuda, [&] { encoded = model->encode(src, cfg); });
      if (i >= p.warmups) enc_ms.push_back(ms);
    }
    const EncoderOutput beam_input = replicate_for_beam(encoded, p.beam);
    for (int i = 0; i < p.warmups + p.repeats; ++i) {
      // One timed run = generating tgt_len tokens for the beam: the cache start (encoder-decoder
      // keys/values, computed on fairseq's first step) and tgt_len incremental steps with the
      // output projection; beam-search bookkeeping is not part of it (as in HAT).
      const double ms = time_ms(cuda, [&] {
        DecoderCache cache = model->start_decoding(beam_input, cfg);
        for (int t = 0; t < p.tgt_len; ++t) model->decode_step(tgt.narrow(1, t, 1), cache, cfg);
      });
      if (i >= p.warmups) dec_ms.push_back(ms);
    }
    const auto enc = trimmed_stats(enc_ms, p.trim_fraction);
    const auto dec = trimmed_stats(dec_ms, p.trim_fraction);
    m.encoder_mean_ms = enc.mean_ms;
    m.encoder_std_ms = enc.std_ms;
    m.decoder_mean_ms = dec.mean_ms;
    m.decoder_std_ms = dec.std_ms;
  }

#ifdef THANOS_WITH_CUDA
  if (cuda) {
    m.peak_memory_mib = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak / 1048576.0 -
                        m.baseline_memory_mib;
    m.memory_kind = memory_kind::kCudaAllocatorPeak;
  }
#endif
  if (!cuda) {
    m.peak_memory_mib = proc_status_mib("VmHWM") - m.baseline_memory_mib;
    m.memory_kind = memory_kind::kRssPeak;
  }
  m.cpu_freq_mhz = cpu_freq_mhz();
  m.temperature_c = cpu_temperature_c();
  m.wall_s = std::chrono::duration<double>(Clock::now() - wall_start).count();
  return m;
}

}  // namespace thanos
