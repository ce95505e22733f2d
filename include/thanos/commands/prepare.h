#pragma once
// thanos prepare: raw parallel text -> joint sentencepiece model + binarized splits + manifest.
#include <nlohmann/json.hpp>
#include <string>

#include "thanos/data/prepared_data.h"  // the manifest it writes

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


// Returns the manifest it wrote to out_dir/manifest.json. Throws std::invalid_argument for bad
// input (line-count mismatch naming both files and counts, invalid UTF-8 with file and line,
// missing/empty files, an existing out_dir without overwrite).
nlohmann::json run_prepare(const PrepareOptions& options);

}  // namespace thanos
