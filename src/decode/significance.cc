#include "thanos/decode/significance.h"

#include <cmath>
#include <random>
#include <stdexcept>

#include "thanos/common/stats.h"

namespace thanos {

PairedBootstrapResult paired_bootstrap_bleu(const std::vector<std::string>& hyps_a, const std::vector<std::string>& hyps_b,
                                            const std::vector<std::string>& refs, const BleuOptions& bleu,
                                            const PairedBootstrapOptions& options) {
  const std::size_t n = refs.size();
  if (n == 0) throw std::invalid_argument("paired bootstrap: no test segments");
  if (hyps_a.size() != n || hyps_b.size() != n) {
    throw std::invalid_argument("paired bootstrap: " + std::to_string(n) + " references but " + std::to_string(hyps_a.size()) +
                                " and " + std::to_string(hyps_b.size()) + " hypotheses (expected one per reference)");
  }
  if (options.samples < 1) throw std::invalid_argument("paired bootstrap: samples must be at least 1");
  // BLEU is a function of summed per-segment statistics, so each resample only adds them up.
  std::vector<BleuStatistics> stats_a(n), stats_b(n);
  BleuStatistics total_a, total_b;
  for (std::size_t i = 0; i < n; ++i) {
    stats_a[i] = bleu_statistics(hyps_a[i], {refs[i]}, bleu);
    stats_b[i] = bleu_statistics(hyps_b[i], {refs[i]}, bleu);
    total_a += stats_a[i];
    total_b += stats_b[i];
  }
  PairedBootstrapResult r;
  r.segments = n;
  r.samples = options.samples;
  r.bleu_a = bleu_from_statistics(total_a, bleu).score;
  r.bleu_b = bleu_from_statistics(total_b, bleu).score;
  r.delta = r.bleu_a - r.bleu_b;

  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::vector<double> deltas(static_cast<std::size_t>(options.samples));
  for (double& d : deltas) {
    BleuStatistics a, b;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = pick(rng);  // the same segments for both systems: the test is paired
      a += stats_a[i];
      b += stats_b[i];
    }
    d = bleu_from_statistics(a, bleu).score - bleu_from_statistics(b, bleu).score;
  }
  r.mean_delta = mean_of(deltas);
  int as_extreme = 0;
  for (double d : deltas) as_extreme += std::abs(d - r.mean_delta) >= std::abs(r.delta) ? 1 : 0;
  r.p_value = (as_extreme + 1.0) / (static_cast<double>(deltas.size()) + 1.0);
  r.ci_low = percentile_of(deltas, 2.5);
  r.ci_high = percentile_of(deltas, 97.5);
  return r;
}

}  // namespace thanos
