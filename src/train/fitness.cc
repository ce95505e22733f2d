#include "thanos/train/fitness.h"

#include "thanos/train/batch_loss.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <numeric>

#include "thanos/common/random.h"
#include "thanos/train/loss.h"

namespace thanos {

FitnessEvaluator::FitnessEvaluator(SuperTransformer model, const BinarizedSplit& valid, const FitnessOptions& options)
    : model_(std::move(model)), options_(options) {
  const BinarizedSplit* data = &valid;
  BinarizedSplit subset;
  if (options.subset > 0 && options.subset < valid.size()) {
    // A seeded partial Fisher-Yates: the same subset for the same seed, on every platform.
    std::vector<std::size_t> idx(valid.size());
    std::iota(idx.begin(), idx.end(), 0);
    Rng rng(options.seed);
    for (std::size_t i = 0; i < options.subset; ++i) std::swap(idx[i], idx[i + rng.uniform_index(idx.size() - i)]);
    idx.resize(options.subset);
    std::sort(idx.begin(), idx.end());
    subset = valid.subset(idx);
    data = &subset;
  }
  pairs_ = data->size();
  BatchingOptions bo;
  bo.max_tokens = options.max_tokens;
  // Batches live where the model lives.
  const torch::Device device = model_->parameters().empty() ? torch::Device(torch::kCPU) : model_->parameters()[0].device();
  for (const auto& b : make_batches(*data, bo)) batches_.push_back(collate(*data, b).to(device));
}

ValidScore FitnessEvaluator::score(const SubConfig& config) { return score(std::vector<SubConfig>{config})[0]; }

std::vector<ValidScore> FitnessEvaluator::score(const std::vector<SubConfig>& configs) {
  const bool was_training = model_->is_training();
  model_->eval();
  std::vector<ValidScore> out;
  {
    c10::InferenceMode guard;
    for (const auto& c : configs) {
      model_->check_fits(c);
      double loss = 0, nll = 0;
      std::int64_t ntokens = 0;
      for (const auto& b : batches_) {
        auto sums = batch_loss(model_, b, c, options_.label_smoothing);
        loss += sums.loss.item<double>();
        nll += sums.nll.item<double>();
        ntokens += b.ntokens;
      }
      ValidScore s;
      s.ntokens = ntokens;
      s.loss = loss / ntokens / std::log(2.0);
      s.nll_loss = nll / ntokens / std::log(2.0);
      s.ppl = std::pow(2.0, s.nll_loss);
      out.push_back(s);
    }
  }
  model_->train(was_training);
  return out;
}

}  // namespace thanos
