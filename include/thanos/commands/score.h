#pragma once
// `thanos score`: BLEU / chrF / chrF++ of a hypothesis file against one or more reference files,
// exactly as sacreBLEU 2.6.0 computes them, or fairseq's BLEU (HAT's published number). Reads and
// checks the files, then calls the metric library (include/thanos/decode), which a later
// `thanos eval` uses directly on strings. docs/SCORING.md describes the numbers and signatures.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "thanos/data/text_lines.h"  // read_segments
#include "thanos/decode/bleu.h"
#include "thanos/decode/chrf.h"

namespace thanos {

struct ScoreOptions {
  std::string hyp_path;
  std::vector<std::string> ref_paths;       // one or more (fairseq-bleu: exactly one)
  std::string metric = "bleu";              // bleu | chrf | chrf++ | fairseq-bleu
  bool lowercase = false;                   // Python's str.lower() on both sides
  std::optional<std::string> tokenize;      // bleu only: 13a (default) | intl | none
  std::optional<std::string> smooth_method; // bleu only: exp (default) | floor | add-k | none
  std::optional<double> smooth_value;       // bleu floor (default 0.1) / add-k (default 1)
  bool sentence = false;                    // one score per segment (BLEU with effective order)
  bool compound_split = false;              // fairseq-bleu only: HAT's ##AT##-##AT## splitting
};

struct ScoreReport {
  // The `--json` output: corpus mode has name, score, signature, text and the metric's details
  // (BLEU: precisions, bp, ratio, sys_len, ref_len, counts, totals); sentence mode has the
  // signature and a "sentences" array of the same per-segment objects.
  nlohmann::ordered_json data;
  std::vector<std::string> lines;  // the human-readable score line(s), sacreBLEU's / fairseq's format
  std::vector<double> scores;      // the corpus score, or one per segment in sentence mode
  std::string signature;
};

// Throws std::invalid_argument naming the file (missing, unreadable, invalid UTF-8 with its line),
// both files and both line counts when a reference's count differs, or the option that does not
// apply to the metric.
ScoreReport run_score(const ScoreOptions& options);

// The details `--json` prints for one score (name, score, precisions, ..., and its text line).
nlohmann::ordered_json bleu_json(const BleuScore& score);
nlohmann::ordered_json fairseq_json(const FairseqBleuScore& score);
nlohmann::ordered_json chrf_json(const ChrfScore& score);

// The text `thanos score` prints: the score line(s), then "signature: ...".
std::string render_score_text(const ScoreReport& report);

}  // namespace thanos
