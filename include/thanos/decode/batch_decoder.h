#pragma once
// Decoding many sentences: sources packed into token-budget batches (the batcher's scheme, longest
// batch first so that one too large for memory fails at once and the ETA errs on the safe side),
// each batch beam-searched, the best hypotheses returned in input order. `thanos translate`,
// `thanos eval` and the benchmarks share it. Needs libtorch only (engine core).
#include <cstdint>
#include <functional>
#include <vector>

#include "thanos/data/binarized.h"
#include "thanos/decode/beam_search.h"

namespace thanos {

struct DecodeProgress {
  std::size_t done = 0, total = 0;  // sentences
  double elapsed_seconds = 0;
  double sentences_per_second() const;
  double eta_seconds() const;
};

struct DecodeOutput {
  std::vector<std::vector<int>> tokens;  // best hypothesis per source, input order, without </s>
  std::int64_t generated_tokens = 0;     // with each hypothesis' </s>
  double seconds = 0;                    // decoding alone
};

// `sources`: source sides (ids ending with </s>; target sides are ignored). `progress` is called
// at most every `report_every_seconds` and once at the end; it may be null.
DecodeOutput decode_in_batches(Generator& generator, const BinarizedSplit& sources, int max_tokens,
                               const std::function<void(const DecodeProgress&)>& progress = nullptr,
                               double report_every_seconds = 1.0);

// The same over any translator of a padded source batch [B, S] (e.g. beam_search over exported
// graphs in ONNX Runtime or on an NPU, export/ort_step_decoder.h).
using BatchTranslator = std::function<std::vector<std::vector<Hypothesis>>(const torch::Tensor& src_tokens)>;
DecodeOutput decode_in_batches(const BatchTranslator& translate, const BinarizedSplit& sources, int max_tokens,
                               const std::function<void(const DecodeProgress&)>& progress = nullptr,
                               double report_every_seconds = 1.0);

// "translated 120/337 sentences | 14.2 sentences/s | elapsed 0:00:08 | eta 0:00:15"
std::string format_progress(const DecodeProgress& p, const char* verb = "translated");

}  // namespace thanos
