#pragma once
// Is one system's BLEU really better than another's on the same test set? Paired bootstrap
// resampling (Koehn, "Statistical Significance Tests for Machine Translation Evaluation", EMNLP
// 2004), the test sacreBLEU runs with --paired-bs: draw the test segments with replacement many
// times, score both systems on each draw, and see how often the difference could be the noise of
// which segments happened to be in the test set. The pipeline reports it for chosen vs baseline:
// on a few hundred short segments a BLEU gap of half a point is often no evidence either way.
#include <cstdint>
#include <string>
#include <vector>

#include "thanos/decode/bleu.h"

namespace thanos {

struct PairedBootstrapOptions {
  int samples = 1000;           // sacreBLEU's default number of resamples
  std::uint64_t seed = 12345;   // sacreBLEU's default seed (our generator is std::mt19937_64, not numpy's)
};

struct PairedBootstrapResult {
  double bleu_a = 0, bleu_b = 0;  // corpus BLEU of each system on the whole test set
  double delta = 0;               // bleu_a - bleu_b
  double ci_low = 0, ci_high = 0; // 95% interval of the difference over the resamples (2.5th/97.5th percentiles)
  double mean_delta = 0;          // mean difference over the resamples
  // Two-sided p-value of "no difference": the share of resampled differences, centred on their
  // mean, at least as far from zero as the observed one ((count + 1) / (samples + 1), as sacreBLEU).
  double p_value = 1;
  int samples = 0;
  std::size_t segments = 0;
};

// hyps_a, hyps_b and refs hold one line per test segment, in the same order. Throws
// std::invalid_argument naming the list whose length differs, or when there are no segments.
PairedBootstrapResult paired_bootstrap_bleu(const std::vector<std::string>& hyps_a, const std::vector<std::string>& hyps_b,
                                            const std::vector<std::string>& refs, const BleuOptions& bleu = {},
                                            const PairedBootstrapOptions& options = {});

}  // namespace thanos
