#pragma once
// thanos translate: text in, text out through sentencepiece and beam search (docs/DECODING.md).
#include <nlohmann/json.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "thanos/decode/beam_search.h"
#include "thanos/model/model_file.h"

namespace thanos {

// A model file ready to decode: the network and the SubConfig it runs.
struct TranslationModel {
  LoadedModel loaded;
  SubConfig config;
  std::vector<std::string> warnings;  // from reading the config file
};

// A standalone SubTransformer runs its own config (`config_path`, when given, must describe the
// same one); a SuperTransformer needs `config_path` (HAT YAML or JSON), checked against the
// space embedded in the model when there is one. Throws std::invalid_argument naming the file.
TranslationModel load_translation_model(const std::string& model_path, const std::string& config_path);

// A warning when `model_path` was trained on prepared data other than `data_dir` (its recorded
// data_manifest_hash differs from the directory's manifest hash); empty when they agree or the
// model records none.
std::string other_data_warning(const ModelFileInfo& info, const std::string& model_path,
                               const nlohmann::json& manifest, const std::string& data_dir);

struct TranslateOptions {
  std::string model_path;
  // Instead of a model: a `thanos export` directory run in `runtime` (ort | rknn-sim | rknn;
  // export/export_runtime.h), e.g. on the board with RKNN Lite (docs/DEPLOY.md).
  std::string export_dir;
  std::string runtime = "ort";
  std::string rknn_dtype = "fp16";
  std::string core_mask = "auto";
  std::string python = "python3";
  std::string config_path;   // SubConfig for a SuperTransformer
  std::string spm_path;      // sentencepiece model; or
  std::string data_dir;      // a `thanos prepare` directory whose sentencepiece model is used
  std::string input_path;    // empty: standard input
  std::string output_path;   // empty: standard output; else written to a temporary file and renamed
  GenerationOptions generation;
  int max_tokens = 4096;     // per batch: sentences x longest source (subword tokens with </s>)
  std::string device = "cpu";
};

struct TranslateResult {
  std::size_t lines = 0;      // input lines = output lines
  std::size_t sentences = 0;  // non-empty lines translated
  double seconds = 0;
};

// Translates every line of the input; empty (or blank) lines give empty lines; output is in input
// order. `log` gets warnings as they arise ("warning: ..."), then a progress line now and then
// (sentences done, sentences/s, ETA) and a final one; it may be null. `in`/`out` stand for
// standard input/output when no path is given (tests pass string streams).
TranslateResult run_translate(const TranslateOptions& options, const std::function<void(const std::string&)>& log,
                              std::istream& in, std::ostream& out);

}  // namespace thanos
