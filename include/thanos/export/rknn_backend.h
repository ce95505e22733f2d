#pragma once
// Measuring on the RK3588 NPU (`--device rknn` on the board, or `--device remote://BOARD --backend
// rknn` through an agent started with --rknn; docs/DEPLOY.md). For each candidate: the same
// random-weight SubTransformer as every backend (hw/measurement_model.h) exported with static shapes
// (the protocol's src_len and tgt_len, batch 1), converted once with tools/rknn/convert.py
// (rknn-toolkit2, fp16: the NPU's float), cached by config, hyper-parameters, lengths and
// vocabulary; then run by RKNN Lite in a fresh tools/rknn/runner.py process that times HAT's
// protocol inside itself: the encoder, then tgt_len steps of the batch-1 decoder-step graph once per
// beam row (how beam search runs on the NPU, docs/EXPORT.md).
//
// Memory (memory kind rknn-lite-rss-peak): the runner's peak resident set minus its resident set
// once RKNN Lite was imported. RKNN Lite's Python API has no RKNN_QUERY_MEM_SIZE; the NPU's DMA
// buffers live in the shared DRAM and count where the driver maps them into the process, so the
// figure bounds what the board's memory budget must hold for the model but is not the C API's
// total DMA allocation (the C API path needs Rockchip's rknn_api.h, which is not here).
//
// Nothing here runs without Rockchip's packages: a missing toolkit or runtime is an
// RuntimeRunnerUnavailable saying what to install. This machine has neither; the tests check that.
#include <string>

#include "thanos/hw/backend.h"

namespace thanos {

inline constexpr const char* kRknnDevice = "rknn";

struct RknnBackendOptions {
  std::string python = "python3";   // has rknn-toolkit2 (conversion) and rknn-toolkit-lite2 (runtime)
  std::string cache_dir;            // converted models; empty: $XDG_CACHE_HOME or ~/.cache, /thanos/rknn
  std::string core_mask = "auto";   // auto | 0 | 1 | 2 | 0_1 | 0_1_2
};

// The cache entry of a request: config hash, hyper-parameters, static lengths, vocabulary, dtype.
std::string rknn_cache_key(const MeasureRequest& request);

class RknnBackend : public Backend {
 public:
  explicit RknnBackend(RknnBackendOptions options = {});
  // Throws std::invalid_argument for a request the NPU path cannot take (device other than rknn,
  // dtype other than float16), RuntimeRunnerUnavailable when Rockchip's packages are missing. A
  // candidate the toolkit cannot convert is infeasible, with the toolkit's message.
  Measurement measure(const MeasureRequest& request) override;
  std::string name() const override { return kRknnDevice; }

 private:
  RknnBackendOptions options_;
};

// Routes each request by run.device: "rknn" to `rknn`, everything else to `other` (the agent
// serving cpu and the NPU on one board).
class DeviceRoutingBackend : public Backend {
 public:
  DeviceRoutingBackend(Backend& other, Backend& rknn) : other_(other), rknn_(rknn) {}
  Measurement measure(const MeasureRequest& request) override {
    return request.run.device == kRknnDevice ? rknn_.measure(request) : other_.measure(request);
  }
  std::string name() const override { return other_.name() + "+" + rknn_.name(); }

 private:
  Backend& other_;
  Backend& rknn_;
};

}  // namespace thanos
