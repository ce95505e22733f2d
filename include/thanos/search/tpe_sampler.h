#pragma once
// The Tree-structured Parzen Estimator (Bergstra et al. 2011) for categorical parameters, as
// Optuna's TPESampler does it by default (independent per parameter, multivariate=False;
// docs/SEARCH_HPO.md). Random proposals until `n_startup_trials` trials are finished; then the
// finished trials split into good ("below": the best gamma(n) of them) and bad ("above"); each
// parameter gets a Parzen estimator over its categories from each group, l(x) and g(x), and the
// proposal is the candidate with the largest l(x)/g(x) among `n_ei_candidates` drawn from l(x).
//
// Pruned trials are kept, as Optuna keeps infeasible ones: they rank after every complete trial
// (among themselves by how far they miss the budgets), so they nearly always land in the bad group
// and steer proposals away from what cannot fit. Running and failed trials are left out. Seeded
// through thanos::Rng, so a seed gives the same proposals on every standard library. Torch-free.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "thanos/common/random.h"
#include "thanos/search/study.h"

namespace thanos {

struct CategoricalParam {
  std::string name;
  std::vector<int> choices;  // the values it may take; a choice's index is its encoding
};

struct TpeOptions {
  int n_startup_trials = 10;  // Optuna's defaults
  int n_ei_candidates = 24;
  double prior_weight = 1.0;  // weight of the uniform prior kernel in each estimator
  // Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
};

// Optuna's default gamma: how many of n finished trials form the good group, min(ceil(0.1 n), 25).
int tpe_gamma(int n);
// Optuna's default_weights: n observations in trial order weigh 1, except that beyond the newest
// 25 the older ones ramp linearly from 1/n up, so an old region fades as the search moves on.
std::vector<double> tpe_weights(int n);

// The good and bad trials (trial numbers, ascending) of the finished complete and pruned trials:
// complete trials by value, then pruned ones by their positive excesses summed; the first
// tpe_gamma(n) are good.
struct TpeSplit {
  std::vector<int> below, above;
};
TpeSplit tpe_split(const Study& study);

// The Parzen estimator of one categorical parameter: the probability of each of `n_choices`
// categories given the observed category indices (in trial order). Each observation is a kernel
// with mass 1 on its category plus prior_weight / (observations + 1) on every category,
// normalised; a uniform prior kernel joins with weight `prior_weight`; kernels mix by
// tpe_weights (Optuna's categorical estimator with consider_prior).
std::vector<double> parzen_categorical(const std::vector<int>& observed, int n_choices, double prior_weight);

class TpeSampler {
 public:
  // Throws std::invalid_argument for an empty or duplicate parameter name or an empty choice list.
  TpeSampler(std::vector<CategoricalParam> params, TpeOptions options, std::uint64_t seed);

  // The next trial's value of every parameter, from the trials of `study` so far. A finished
  // trial must hold every parameter with one of its choices (std::invalid_argument otherwise).
  std::map<std::string, int> sample(const Study& study);

  const std::vector<CategoricalParam>& params() const { return params_; }
  const TpeOptions& options() const { return options_; }

 private:
  int choice_index(const Trial& trial, const CategoricalParam& param) const;
  int draw(const std::vector<double>& probabilities);

  std::vector<CategoricalParam> params_;
  TpeOptions options_;
  Rng rng_;
};

}  // namespace thanos
