#include "thanos/search/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

namespace thanos {

void TpeOptions::validate() const {
  if (n_startup_trials < 0) {
    throw std::invalid_argument("tpe: n_startup_trials: expected >= 0, got " + std::to_string(n_startup_trials));
  }
  if (n_ei_candidates < 1) {
    throw std::invalid_argument("tpe: n_ei_candidates: expected >= 1, got " + std::to_string(n_ei_candidates));
  }
  if (!(prior_weight > 0) || !std::isfinite(prior_weight)) {
    throw std::invalid_argument("tpe: prior_weight: expected a positive number, got " + std::to_string(prior_weight));
  }
}

int tpe_gamma(int n) {
  // ceil(0.1 n) in integers, so 10 -> 1 and 11 -> 2 exactly.
  return std::min((n + 9) / 10, 25);
}

std::vector<double> tpe_weights(int n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(n, 1.0);
  // numpy.linspace(1/n, 1, n - 25) followed by 25 ones.
  const int ramp = n - 25;
  std::vector<double> w;
  for (int i = 0; i < ramp; ++i) {
    const double start = 1.0 / n;
    w.push_back(ramp == 1 ? start : start + (1.0 - start) * i / (ramp - 1));
  }
  w.insert(w.end(), 25, 1.0);
  return w;
}

TpeSplit tpe_split(const Study& study) {
  std::vector<const Trial*> complete, pruned;
  for (const auto& t : study.trials()) {
    if (t.state == TrialState::kComplete) complete.push_back(&t);
    if (t.state == TrialState::kPruned) pruned.push_back(&t);
  }
  auto miss = [](const Trial* t) { return std::max(0.0, t->latency_excess_ms) + std::max(0.0, t->memory_excess_mib); };
  // Stable sorts: equal values keep trial order, so the split does not depend on the sort.
  std::stable_sort(complete.begin(), complete.end(),
                   [](const Trial* a, const Trial* b) { return a->value < b->value; });
  std::stable_sort(pruned.begin(), pruned.end(), [&](const Trial* a, const Trial* b) { return miss(a) < miss(b); });
  std::vector<const Trial*> ranked = complete;
  ranked.insert(ranked.end(), pruned.begin(), pruned.end());
  const std::size_t n_below = static_cast<std::size_t>(tpe_gamma(static_cast<int>(ranked.size())));
  TpeSplit split;
  for (std::size_t i = 0; i < ranked.size(); ++i)
    (i < n_below ? split.below : split.above).push_back(ranked[i]->number);
  std::sort(split.below.begin(), split.below.end());
  std::sort(split.above.begin(), split.above.end());
  return split;
}

std::vector<double> parzen_categorical(const std::vector<int>& observed, int n_choices, double prior_weight) {
  if (n_choices < 1)
    throw std::invalid_argument("parzen_categorical: n_choices: expected >= 1, got " + std::to_string(n_choices));
  const std::vector<double> w = tpe_weights(static_cast<int>(observed.size()));
  double total = prior_weight;
  for (double x : w) total += x;
  // The prior kernel is uniform; it carries prior_weight / total of the mass.
  std::vector<double> p(n_choices, prior_weight / total / n_choices);
  // An observation's kernel before normalisation: prior_weight / n_kernels everywhere, +1 on its
  // category; its row sums to 1 + prior_weight * n_choices / n_kernels.
  const double n_kernels = static_cast<double>(observed.size()) + 1;
  const double base = prior_weight / n_kernels;
  const double row = 1.0 + base * n_choices;
  for (std::size_t k = 0; k < observed.size(); ++k) {
    const int c = observed[k];
    if (c < 0 || c >= n_choices) {
      throw std::invalid_argument("parzen_categorical: observation " + std::to_string(c) +
                                  " is not a category index 0.." + std::to_string(n_choices - 1));
    }
    const double mix = w[k] / total;
    for (int j = 0; j < n_choices; ++j) p[j] += mix * (base + (j == c ? 1.0 : 0.0)) / row;
  }
  return p;
}

TpeSampler::TpeSampler(std::vector<CategoricalParam> params, TpeOptions options, std::uint64_t seed)
    : params_(std::move(params)), options_(options), rng_(seed) {
  options_.validate();
  std::set<std::string> names;
  for (const auto& p : params_) {
    if (p.name.empty()) throw std::invalid_argument("tpe: a parameter has an empty name");
    if (!names.insert(p.name).second) throw std::invalid_argument("tpe: parameter \"" + p.name + "\" is given twice");
    if (p.choices.empty())
      throw std::invalid_argument("tpe: parameter \"" + p.name + "\": expected at least one choice");
  }
}

int TpeSampler::choice_index(const Trial& trial, const CategoricalParam& param) const {
  auto it = trial.params.find(param.name);
  if (it != trial.params.end()) {
    auto c = std::find(param.choices.begin(), param.choices.end(), it->second);
    if (c != param.choices.end()) return static_cast<int>(c - param.choices.begin());
  }
  std::ostringstream s;
  s << "tpe: trial " << trial.number << " parameter \"" << param.name << "\": expected one of {";
  for (std::size_t i = 0; i < param.choices.size(); ++i) s << (i ? ", " : "") << param.choices[i];
  s << "}, got " << (it == trial.params.end() ? std::string("nothing") : std::to_string(it->second));
  throw std::invalid_argument(s.str());
}

int TpeSampler::draw(const std::vector<double>& p) {
  const double u = rng_.uniform01();
  double acc = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    acc += p[i];
    if (u < acc) return static_cast<int>(i);
  }
  return static_cast<int>(p.size()) - 1;  // rounding: the sum fell just short of 1
}

std::map<std::string, int> TpeSampler::sample(const Study& study) {
  std::map<std::string, int> out;
  const int finished = study.count(TrialState::kComplete) + study.count(TrialState::kPruned);
  if (finished < options_.n_startup_trials) {
    for (const auto& p : params_) out[p.name] = p.choices[rng_.uniform_index(p.choices.size())];
    return out;
  }
  const TpeSplit split = tpe_split(study);
  for (const auto& p : params_) {
    const int n = static_cast<int>(p.choices.size());
    std::vector<int> below, above;
    for (int t : split.below) below.push_back(choice_index(study.trial(t), p));
    for (int t : split.above) above.push_back(choice_index(study.trial(t), p));
    const std::vector<double> l = parzen_categorical(below, n, options_.prior_weight);
    const std::vector<double> g = parzen_categorical(above, n, options_.prior_weight);
    // Expected improvement is monotone in l/g (Bergstra et al.): keep the first best candidate.
    int best = -1;
    double best_score = 0;
    for (int i = 0; i < options_.n_ei_candidates; ++i) {
      const int c = draw(l);
      const double score = std::log(l[c]) - std::log(g[c]);
      if (best < 0 || score > best_score) {
        best = c;
        best_score = score;
      }
    }
    out[p.name] = p.choices[best];
  }
  return out;
}

}  // namespace thanos
