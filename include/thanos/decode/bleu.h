#pragma once
// Corpus and sentence BLEU exactly as sacreBLEU 2.6.0 computes them, and fairseq's BLEU (the
// number HAT publishes: `fairseq-score` on Moses-tokenised, compound-split text). Both take plain
// strings, so the files of `thanos score` and the translations of a later `thanos eval` go through
// the same code. Standard library only. See docs/SCORING.md for which number is which.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "thanos/decode/tokenize.h"

namespace thanos {

inline constexpr int kBleuOrder = 4;  // n-gram orders 1..4, as sacreBLEU's and fairseq's default

enum class BleuSmoothing {
  kExp,    // sacreBLEU's default (mteval-v13a's): the k-th order with no match gets 1/(2^k total)
  kFloor,  // an order with no match gets smooth_value / total (default 0.1)
  kAddK,   // orders 2..4 get smooth_value added to matches and totals (default 1)
  kNone,   // an order with no match makes BLEU 0
};
std::string smoothing_name(BleuSmoothing s);  // "exp", "floor", "add-k", "none"
// Throws std::invalid_argument listing the accepted names.
BleuSmoothing parse_smoothing(const std::string& name);

struct BleuOptions {
  Tokenizer tokenize = Tokenizer::k13a;
  bool lowercase = false;  // Python's str.lower() before tokenising (sacreBLEU's -lc)
  BleuSmoothing smooth = BleuSmoothing::kExp;
  std::optional<double> smooth_value;  // unset: floor 0.1, add-k 1; exp and none take no value
  // Average the log precisions only over the orders the hypotheses have n-grams of (up to the first
  // order with none), instead of always over 4. sacreBLEU's sentence_bleu turns it on.
  bool effective_order = false;

  // sacreBLEU's sentence-level defaults: effective order on, the rest as above.
  static BleuOptions sentence_level();
};

// Sufficient statistics; they add up over segments.
struct BleuStatistics {
  std::int64_t sys_len = 0;  // hypothesis tokens
  std::int64_t ref_len = 0;  // per segment the closest reference length (the shorter on a tie)
  std::array<std::int64_t, kBleuOrder> counts{};  // clipped n-gram matches per order
  std::array<std::int64_t, kBleuOrder> totals{};  // hypothesis n-grams per order
  BleuStatistics& operator+=(const BleuStatistics& other);
};

struct BleuScore {
  double score = 0;                            // 0-100
  std::array<double, kBleuOrder> precisions{};  // percent, after smoothing
  double bp = 0;                               // brevity penalty
  std::int64_t sys_len = 0, ref_len = 0;
  // The raw statistics. (sacreBLEU's add-k reports counts and totals of orders 2-4 with k added;
  // these are the unsmoothed integers either way.)
  std::array<std::int64_t, kBleuOrder> counts{}, totals{};

  double ratio() const;  // sys_len / ref_len; 0 when ref_len is 0
  // sacreBLEU's line: "BLEU = 59.79 88.0/66.7/54.2/44.9 (BP = 0.973 ratio = 0.973 hyp_len = 939 ref_len = 965)"
  std::string format() const;
};

// "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0|impl:thanos-0.1.0": sacreBLEU's
// signature (floor and add-k carry their value, e.g. "smooth:floor[0.10]") plus our impl tag.
std::string bleu_signature(const BleuOptions& options, std::size_t nrefs);

// One segment as BLEU sees it: lower-cased if asked, tokenised, split on whitespace.
// Throws std::invalid_argument for invalid UTF-8.
std::vector<std::string> bleu_tokens(std::string_view segment, const BleuOptions& options);

// The statistics of one hypothesis against its references (at least one).
BleuStatistics bleu_statistics(std::string_view hyp, const std::vector<std::string>& refs, const BleuOptions& options);
// sacreBLEU's score from (summed) statistics.
BleuScore bleu_from_statistics(const BleuStatistics& stats, const BleuOptions& options);

// Corpus BLEU. `refs` is sacreBLEU's layout: one vector per reference stream, each as long as
// `hyps` (refs[r][i] is reference r of segment i). Throws std::invalid_argument naming the stream
// whose length differs, or when there is no reference stream.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                      const BleuOptions& options = {});
// One segment against its references (refs[r] = reference r), with sacreBLEU's sentence-level
// defaults unless told otherwise.
BleuScore sentence_bleu(std::string_view hyp, const std::vector<std::string>& refs,
                        const BleuOptions& options = BleuOptions::sentence_level());

// ---------------------------------------------------------------- fairseq's BLEU (HAT's number)

struct FairseqBleuOptions {
  bool lowercase = false;       // fairseq-score --ignore-case
  bool compound_split = false;  // HAT's compound_split_bleu.sh on hypotheses and references first
};

struct FairseqBleuScore {
  double score = 0;                             // 0-100
  std::array<double, kBleuOrder> precisions{};  // percent, unsmoothed
  double bp = 0;
  std::int64_t sys_len = 0, ref_len = 0;
  std::array<std::int64_t, kBleuOrder> counts{}, totals{};
  double ratio() const;  // sys_len / ref_len, as fairseq prints it
  // fairseq's line: "BLEU4 = 27.91, 59.7/33.5/21.0/13.6 (BP=1.000, ratio=1.010, syslen=..., reflen=...)"
  std::string format() const;
};

// perl -ple 's{(\S)-(\S)}{$1 ##AT##-##AT## $2}g' (byte semantics, as perl without -C):
// "well-known" becomes "well ##AT##-##AT## known". Matches do not overlap, so a one-character
// middle part stays glued: "a-b-c" becomes "a ##AT##-##AT## b-c", exactly as the perl one-liner.
std::string compound_split(std::string_view line);

// "fairseq-bleu|nrefs:1|case:mixed|tok:none|split:compound|impl:thanos-0.1.0" (split:none without it) (docs/SCORING.md).
std::string fairseq_bleu_signature(const FairseqBleuOptions& options);

// fairseq's corpus BLEU (fairseq-score / generate.py without --sacrebleu): whitespace tokens,
// a single reference, no smoothing, BP = min(1, exp(1 - ref/sys)). Reproduces fairseq's
// dictionary quirks: every line ends in an end-of-sentence token that is trimmed again unless the
// line is empty (an empty line counts as one token), trailing "</s>"/"<pad>" and leading "<pad>"
// tokens are trimmed, and "<unk>" in a reference never matches. Throws std::invalid_argument when
// the lengths differ or there is no hypothesis token at all (fairseq divides by zero there).
FairseqBleuScore fairseq_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                              const FairseqBleuOptions& options = {});

}  // namespace thanos
