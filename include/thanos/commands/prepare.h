#pragma once
// thanos prepare: raw parallel text -> joint sentencepiece model + binarized splits + manifest.
#include <nlohmann/json.hpp>
#include <string>

namespace thanos {

struct PrepareOptions {
  std::string train_prefix;  // "<prefix>.<lang>" or "<prefix>.<lang>.gz"
  std::string valid_prefix;
  std::string test_prefix;   // optional
  std::string src_lang = "en", tgt_lang = "de";
  std::string out_dir;
  std::string spm_model;     // use this sentencepiece model instead of training one
  int vocab_size = 8000;
  int max_len = 256;         // training pairs longer than this (tokens, with </s>) are dropped
  bool overwrite = false;    // replace an existing out_dir (only once the new one is complete)
};

constexpr int kPreparedFormatVersion = 1;

// Returns the manifest it wrote to out_dir/manifest.json. Throws std::invalid_argument for bad
// input (line-count mismatch naming both files and counts, invalid UTF-8 with file and line,
// missing/empty files, an existing out_dir without overwrite).
nlohmann::json run_prepare(const PrepareOptions& options);

// Reads and checks out_dir/manifest.json (format and version); says which command makes it.
nlohmann::json load_prepared_manifest(const std::string& data_dir);

// data_dir/<the split's raw target file>: the detokenised references BLEU is scored against. Throws
// std::invalid_argument naming the manifest and the splits it has when `split` is not one of them.
std::string raw_target_path(const std::string& data_dir, const std::string& split);

}  // namespace thanos
