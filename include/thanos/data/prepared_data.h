#pragma once
// The directory `thanos prepare` writes (docs/TRAINING.md): its manifest, and a split ready to be
// translated and scored. Read by `thanos eval`, the search's BLEU re-ranking, calibration sets and
// the pipeline, so it lives in the data layer below all of them.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "thanos/data/binarized.h"

namespace thanos {

constexpr int kPreparedFormatVersion = 1;

// Reads and checks out_dir/manifest.json (format and version); says which command makes it.
nlohmann::json load_prepared_manifest(const std::string& data_dir);

// data_dir/NAME for a file the manifest names (`field` says which, for the error): a name that
// leaves data_dir (absolute, or through "..") is refused, so a manifest cannot hand another
// file to the readers.
std::string prepared_file(const std::string& data_dir, const std::string& name, const std::string& field);

// The manifest's vocabulary size, checked (1 .. 2^24). Throws naming the manifest.
int prepared_vocab_size(const nlohmann::json& manifest, const std::string& data_dir);

// A split's binarized pairs, checked against the manifest: every id below its vocabulary. Throws
// std::invalid_argument naming the manifest (no such split) or the file (damaged).
BinarizedSplit load_prepared_split(const std::string& data_dir, const std::string& split);

// data_dir/<the split's raw target file>: the detokenised references BLEU is scored against. Throws
// std::invalid_argument naming the manifest and the splits it has when `split` is not one of them.
std::string raw_target_path(const std::string& data_dir, const std::string& split);

// A prepared split ready to be translated and scored: its source ids, the raw references that
// `prepare` kept, and the sentencepiece model that detokenizes hypotheses. `thanos eval` and the
// search's BLEU re-ranking (search/bleu_rerank.h) share it.
struct ScoringSplit {
  BinarizedSplit data;
  std::vector<std::string> refs;
  std::string spm_path;
  int vocab_size = 0;
  nlohmann::json manifest;
};
// Throws std::invalid_argument naming the manifest or reference file when the split is missing or
// its references do not match the binarized pairs.
ScoringSplit load_scoring_split(const std::string& data_dir, const std::string& split);

}  // namespace thanos
