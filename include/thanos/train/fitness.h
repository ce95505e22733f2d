#pragma once
// Validation loss of SubTransformers with weights inherited from a SuperTransformer: the search's
// fitness, called thousands of times. Batches are collated once and reused; scoring runs in
// inference mode (no autograd) with the model in eval mode.
#include <vector>

#include "thanos/data/batcher.h"
#include "thanos/model/super_transformer.h"
#include "thanos/train/batch.h"

namespace thanos {

struct FitnessOptions {
  int max_tokens = 4096;
  std::size_t subset = 0;     // score only this many pairs (a fixed, seeded subset); 0 = all
  std::uint64_t seed = 1;
  double label_smoothing = 0.1;
};

// fairseq's units: base-2 losses per target token; ppl = 2^nll_loss.
struct ValidScore {
  double loss = 0;      // label-smoothed
  double nll_loss = 0;
  double ppl = 0;
  std::int64_t ntokens = 0;
};

class FitnessEvaluator {
 public:
  FitnessEvaluator(SuperTransformer model, const BinarizedSplit& valid, const FitnessOptions& options);
  ValidScore score(const SubConfig& config);
  // Many configs in one call (the search's batched API).
  std::vector<ValidScore> score(const std::vector<SubConfig>& configs);
  std::size_t pairs() const { return pairs_; }

 private:
  SuperTransformer model_;
  std::vector<Batch> batches_;
  FitnessOptions options_;
  std::size_t pairs_ = 0;
};

}  // namespace thanos
