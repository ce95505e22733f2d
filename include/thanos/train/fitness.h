#pragma once
// Validation loss of SubTransformers with weights inherited from a SuperTransformer: the search's
// fitness, called thousands of times. Batches are collated once and reused; scoring runs in
// inference mode (no autograd) with the model in eval mode.
#include <vector>

#include "thanos/data/batcher.h"
#include "thanos/model/super_transformer.h"
#include "thanos/train/batch.h"
#include "thanos/train/train_options.h"

namespace thanos {

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
