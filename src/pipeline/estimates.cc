#include "estimates.h"

#include <algorithm>
#include <cmath>

#include "thanos/model/cost_model.h"

namespace thanos {
namespace {

double params_of(const Plan& p, const SubConfig& config) {
  return static_cast<double>(count_params(config, p.space.hyper, p.config.vocab_size, p.config.vocab_size).total());
}

}  // namespace

double training_seconds(const Plan& p, const TrainStageSettings& t, double params) {
  const bool gpu = p.config.train_device.rfind("cuda", 0) == 0;
  const double rate = gpu ? 2.7e12 : 1.1e10 * std::pow(std::min(p.threads, 16), 0.7);
  return static_cast<double>(t.updates) * t.max_tokens * t.update_freq * params / rate;
}

double largest_params(const Plan& p) { return params_of(p, p.space.largest()); }
double mean_params(const Plan& p) { return 0.5 * (params_of(p, p.space.smallest()) + largest_params(p)); }

double measurement_seconds(const TargetPlan& t) { return 1.0 + (t.protocol.warmups + t.protocol.repeats) * 0.002 * t.protocol.tgt_len; }

double budget_count(const Plan& p) {
  double n = 0;
  for (const auto& t : p.targets) n += static_cast<double>(t.spec.budgets.size());
  return n;
}

double models_per_budget(const Plan& p) { return p.config.final_finalists + 1.0; }

}  // namespace thanos
