#pragma once
// One library function per `thanos` subcommand. The CLI (src/cli) only parses options into these
// structs and prints the result; tests call the same functions.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "thanos/space/search_space.h"

namespace thanos {

// ---------------------------------------------------------------- thanos info
struct InfoOptions {
  std::string space_path;       // search space YAML (required unless checkpoint_path is given)
  std::string config_path;      // SubTransformer YAML/JSON; empty = describe the space
  std::string checkpoint_path;  // model file: its space, vocabulary and (standalone) config
  std::optional<int> vocab_size;                     // default: checkpoint's, else 32000 (assumed)
  std::optional<int> src_len, tgt_len;               // default: HAT's 30 (WMT) or 23 (IWSLT)
};
struct InfoReport {
  nlohmann::ordered_json data;        // everything printed; the `--json` output (keys in a fixed order)
  std::vector<std::string> warnings;  // ignored keys etc.
};
InfoReport run_info(const InfoOptions& options);
std::string render_info_text(const nlohmann::ordered_json& data);
// Params, FLOPs and sizes of one config (the "config" block of `thanos info --json`).
nlohmann::ordered_json describe_config(const SubConfig& config, const ModelHyperParams& hyper, int vocab_size, int src_len,
                               int tgt_len);

// ---------------------------------------------------------------- thanos init
struct InitOptions {
  std::string space_path;
  int vocab_size = 0;  // joint vocabulary size (source = target when embeddings are shared)
  std::optional<int> tgt_vocab_size;
  std::uint64_t seed = 1;
  std::string out_path;
};
struct InitResult {
  std::int64_t parameters = 0;
  std::vector<std::string> warnings;
};
// A freshly initialised SuperTransformer for a space, written as a model file.
InitResult run_init(const InitOptions& options);

// ---------------------------------------------------------------- thanos sample
enum class SampleKind { kRandom, kSmallest, kLargest };
SampleKind sample_kind_from_string(const std::string& s);  // "random" | "smallest" | "largest"
struct SampleOptions {
  std::string space_path;
  SampleKind kind = SampleKind::kRandom;
  std::uint64_t seed = 1;
  int count = 1;
  std::string out_path;  // one config: the file; several: a directory (created), one YAML each
};
struct SampleResult {
  std::vector<std::string> written;
  std::vector<std::string> warnings;
};
SampleResult run_sample(const SampleOptions& options);

// ---------------------------------------------------------------- thanos extract
struct ExtractOptions {
  std::string checkpoint_path;  // a SuperTransformer model file
  std::string config_path;      // the SubTransformer to extract (HAT YAML or JSON)
  std::string out_path;
  bool verify = true;           // compare outputs of both models on random batches
  std::uint64_t seed = 1;       // for the verification batches
};
struct ExtractResult {
  std::int64_t parameters = 0;       // of the standalone model (counted from its tensors)
  std::int64_t expected_parameters = 0;  // from the analytic cost model
  double max_abs_diff = -1;          // verification; -1 when skipped
  std::vector<std::string> warnings;
};
ExtractResult run_extract(const ExtractOptions& options);

}  // namespace thanos
