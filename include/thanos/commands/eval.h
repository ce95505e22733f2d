#pragma once
// thanos eval: BLEU of a model on a prepared split, end to end. The split's source ids (already
// sentencepiece-encoded by `thanos prepare`) are beam-searched, the hypotheses detokenized with the
// split's sentencepiece model and scored against the raw references that `prepare` kept: the text
// a user would compare, not detokenized reference pieces (sentencepiece normalises text).
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>
#include <string>

#include "thanos/data/binarized.h"
#include "thanos/data/prepared_data.h"
#include "thanos/decode/generation_options.h"
#include "thanos/decode/bleu.h"
#include "thanos/decode/chrf.h"

namespace thanos {

struct EvalOptions {
  std::string model_path;
  // Instead of a model: a `thanos export` directory run in `runtime` (export/export_runtime.h):
  // ort | rknn-sim (rknn_dtype fp16 | int8) | rknn (on the board, core_mask), `python` having
  // Rockchip's package; `threads` for ONNX Runtime.
  std::string export_dir;
  std::string runtime = "ort";
  std::string rknn_dtype = "fp16";
  std::string core_mask = "auto";
  std::string python = "python3";
  int threads = 0;  // 0: libtorch's thread count (the global --threads)
  std::string config_path;       // SubConfig for a SuperTransformer
  std::string data_dir;          // `thanos prepare` output
  std::string split = "test";
  GenerationOptions generation;
  int max_tokens = 4096;
  std::string device = "cpu";
  std::string output_path;       // also write the hypotheses here (atomically); empty: do not
  BleuOptions bleu;              // sacreBLEU settings (default: its defaults)
  // Also fairseq's BLEU on whitespace tokens (HAT's published metric). Meaningful when the
  // prepared text is itself Moses-tokenized (as HAT's data); with compound splitting as HAT's
  // WMT scripts.
  bool fairseq_bleu = false;
  bool compound_split = false;
};

struct EvalResult {
  std::size_t sentences = 0;
  BleuScore bleu;
  ChrfScore chrf;
  std::string bleu_signature, chrf_signature;
  std::optional<FairseqBleuScore> fairseq;
  std::string fairseq_signature;
  double decode_seconds = 0;        // beam search only
  double seconds = 0;               // everything (loading, sentencepiece, scoring)
  std::int64_t generated_tokens = 0;
  GenerationOptions generation;
  std::string config_summary;

  nlohmann::ordered_json to_json() const;
  std::string to_text() const;      // the lines `thanos eval` prints
};

// Throws std::invalid_argument naming what is wrong (missing split, model/data vocabulary
// mismatch, config that does not fit).
EvalResult run_eval(const EvalOptions& options, const std::function<void(const std::string&)>& log = nullptr);

}  // namespace thanos
