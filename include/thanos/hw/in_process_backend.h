#pragma once
// Measuring in the calling process with libtorch (cpu, or cuda when the build has it). The
// isolated worker (`thanos measure-worker`) calls this; tests and the GPU check call it directly.
// Peak memory is only meaningful in a fresh process that measures one model (the worker): the
// resident-set peak of a long-lived process also holds whatever it did before.
#include "thanos/hw/backend.h"

namespace thanos {

// Builds the standalone SubTransformer of request.config with random weights (fixed seed),
// runs request.protocol and fills every field of the Measurement. Sets libtorch's thread pools
// to request.run (intra-op always; inter-op only if not yet fixed in this process, which libtorch
// allows once). Throws std::invalid_argument for a bad request (unknown device, invalid config)
// and std::runtime_error when the device is unavailable ("cuda: this build of libtorch has no
// CUDA"). Memory exhaustion propagates as the exception libtorch throws.
Measurement measure_in_process(const MeasureRequest& request);

// "cpu" always; "cuda" when libtorch was built with CUDA and a GPU is visible.
bool device_available(const std::string& device, std::string* why_not = nullptr);

class InProcessBackend : public Backend {
 public:
  Measurement measure(const MeasureRequest& request) override { return measure_in_process(request); }
  std::string name() const override { return "in-process"; }
};

}  // namespace thanos
