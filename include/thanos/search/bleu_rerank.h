#pragma once
// Re-ranking the search's best candidates by BLEU on the valid split, decoded with the weights they
// inherit from the SuperTransformer (docs/SEARCH.md, "Re-ranking by BLEU").
//
// Why: the search's fitness is HAT's, the inherited-weight validation loss, and at a few thousand
// SuperTransformer updates it is biased by depth. A member's deeper layers were trained in only the
// updates that sampled them, so a one-layer decoder scores almost the loss of a three-layer one
// (the bundled demo: valid ppl 71.9 / 68.8 / 68.6 for 1 / 2 / 3 layers of a 96d decoder) and the
// loss-ranked search returns one wide decoder layer, which deeper models overtake on BLEU once
// trained alone. Measured on the demo, the inherited-weight BLEU of a pair of candidates ordered
// them as their BLEU after fine-tuning did where the loss did not (docs/PIPELINE.md). Decoding
// costs seconds per candidate, so only a shortlist is decoded: the loss still does the searching.
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "thanos/data/prepared_data.h"
#include "thanos/data/subword_model.h"
#include "thanos/decode/generation_options.h"
#include "thanos/model/super_transformer.h"
#include "thanos/search/strategy.h"
#include "thanos/space/sub_config.h"

namespace thanos {

// Which of `ranked` (best first) to decode, as indices into it, at most `n`: the best of each
// (encoder layers, decoder layers) pair in the order of their best members, then the second best of
// each, and so on. Per depth pair because the loss's bias is by depth: a shortlist of the n best
// by loss would hold one depth only (on the demo, its 25 best had one decoder layer).
std::vector<std::size_t> rerank_shortlist(const std::vector<SubConfig>& ranked, int n);

struct RerankScore {
  double bleu = 0, chrf = 0;
  double seconds = 0;  // decoding, detokenization and scoring
};

// Translates `split` with `model` restricted to a config and scores it as `thanos eval` does
// (sacreBLEU's defaults, the raw references). `model` is shared, not copied; it is left in the
// training mode it had.
class BleuReranker {
 public:
  BleuReranker(SuperTransformer model, ScoringSplit split, GenerationOptions generation, int max_tokens = 4096);
  RerankScore score(const SubConfig& config) const;
  std::size_t sentences() const { return split_.data.size(); }
  const GenerationOptions& generation() const { return generation_; }

 private:
  SuperTransformer model_;
  ScoringSplit split_;
  SubwordModel spm_;  // loaded once: it detokenizes every candidate's translations
  GenerationOptions generation_;
  int max_tokens_;
};

struct RerankOutcome {
  std::vector<Evaluation> ranked;             // the shortlist, best BLEU first (equal BLEU: loss order), then the rest as given
  std::map<std::string, RerankScore> scores;  // by config hash
  nlohmann::json summary;                     // search.json's "rerank"
  bool interrupted = false;                   // `stop` was set; nothing else is filled in
};

// Scores rerank_shortlist(ranked, n) with `reranker`, one progress line each through `log`, and
// reorders `ranked` (best first) by it.
RerankOutcome rerank_by_bleu(const std::vector<Evaluation>& ranked, const BleuReranker& reranker, int n,
                             const std::function<void(const std::string&)>& log, const std::atomic<bool>* stop = nullptr);

}  // namespace thanos
