#pragma once
// chrF and chrF++ exactly as sacreBLEU 2.6.0 computes them: character n-grams (orders 1..6, on
// code points, whitespace removed) and optionally word n-grams (chrF++: orders 1..2), statistics
// summed over the corpus, precision and recall averaged over the orders that have n-grams on both
// sides, then one F-beta (beta 2). Standard library only; docs/SCORING.md has the rules.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace thanos {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 0: chrF; 2: chrF++
  int beta = 2;
  bool lowercase = false;   // Python's str.lower() first
  bool whitespace = false;  // keep whitespace inside character n-grams (sacreBLEU's --chrf-whitespace)
  // sacreBLEU's eps_smoothing: average per-order F-scores over all orders with an epsilon for empty
  // ones (chrF++.py's way) instead of the default effective-order averaging.
  bool eps_smoothing = false;

  static ChrfOptions chrf_plus_plus();  // word_order 2
};

// Per order (character orders first, then word orders) three sums: hypothesis n-grams, reference
// n-grams, matches (the smaller count of each n-gram on either side). They add up over segments.
struct ChrfStatistics {
  std::vector<std::int64_t> values;
  ChrfStatistics& operator+=(const ChrfStatistics& other);
};

struct ChrfScore {
  double score = 0;  // 0-100
  int beta = 2, char_order = 6, word_order = 0;
  ChrfStatistics stats;
  std::string name() const;    // "chrF2", "chrF2++"
  std::string format() const;  // "chrF2 = 80.16"
};

// "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0|impl:thanos-0.1.0"
// (eff:yes is sacreBLEU's way of saying eps_smoothing is off).
std::string chrf_signature(const ChrfOptions& options, std::size_t nrefs);

// The statistics of one hypothesis against the best of its references (the one with the highest
// segment-level score; the first on a tie). Throws std::invalid_argument for invalid UTF-8.
ChrfStatistics chrf_statistics(std::string_view hyp, const std::vector<std::string>& refs, const ChrfOptions& options);
// The score (0-100) of (summed) statistics.
double chrf_from_statistics(const ChrfStatistics& stats, const ChrfOptions& options);

// Corpus chrF; `refs` in sacreBLEU's layout (refs[r][i]: reference r of segment i), as corpus_bleu.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                      const ChrfOptions& options = {});
ChrfScore sentence_chrf(std::string_view hyp, const std::vector<std::string>& refs, const ChrfOptions& options = {});

}  // namespace thanos
