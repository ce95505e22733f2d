#pragma once
// The network and inputs a latency/memory measurement runs, shared by every backend that builds the
// model itself (in-process libtorch, ONNX Runtime through an export), so that two backends measure
// the same thing: the standalone SubTransformer of request.config with random weights (fixed seed;
// latency does not depend on the weights' values), the protocol's vocabulary, position tables long
// enough for its lengths, and dummy tokens past fairseq's special symbols.
#include <torch/types.h>

#include <cstdint>

#include "thanos/hw/measurement.h"
#include "thanos/model/super_transformer.h"

namespace thanos {

// In eval mode, float32, on the CPU. Throws std::invalid_argument for an invalid config.
SuperTransformer build_measurement_model(const MeasureRequest& request);

// [rows, length] int64 ids in [4, vocab) from a fixed seed (the same tensor on every call).
torch::Tensor measurement_tokens(int64_t rows, int64_t length, int64_t vocab);

}  // namespace thanos
