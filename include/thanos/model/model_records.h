#pragma once
// What a model file records besides its tensors (model_file.h): the format version, the options
// that rebuild the network, the SubConfig of a standalone model and free-form metadata. The archive
// is libtorch's; model_file.cc reads its entries into ModelRecords (checking each entry's type)
// and model_info_from_records checks every value. Torch-free, so that the checks can be fuzzed
// without libtorch (fuzz/model_records.cc).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "thanos/model/model_options.h"

namespace thanos {

constexpr int kModelFileFormatVersion = 1;

// Largest vocabulary and position table a model file may declare: their tables are allocated from
// these numbers before any tensor is read, so a hostile file must not ask for gigabytes.
inline constexpr std::int64_t kMaxModelVocab = 1 << 24;        // as the prepared manifest's vocab_size
inline constexpr std::int64_t kMaxModelPositions = 1 << 20;

struct ModelFileInfo {
  int format_version = kModelFileFormatVersion;
  ModelOptions options;
  // For a standalone SubTransformer: the config it runs (equal to options.capacity). Empty for a
  // SuperTransformer.
  std::optional<SubConfig> sub_config;
  // Free-form text (e.g. "space_yaml", "created_by"); opaque to the core.
  std::map<std::string, std::string> metadata;

  bool is_standalone() const { return sub_config.has_value(); }
};

// The archive's entries as read; an absent entry is an empty optional.
struct ModelRecords {
  std::optional<std::int64_t> format_version;             // thanos.format_version
  std::optional<std::vector<std::int64_t>> capacity;      // thanos.capacity (config_to_ints)
  std::optional<std::vector<std::int64_t>> vocab;         // thanos.vocab: src, tgt, padding_idx
  std::optional<std::vector<std::int64_t>> position_dims; // thanos.position_dims: encoder, decoder
  std::optional<std::vector<std::int64_t>> hyper_ints;    // thanos.hyper_ints (6 values)
  std::optional<std::vector<double>> hyper_dropout;       // thanos.hyper_dropout (3 values)
  std::optional<std::vector<std::int64_t>> sub_config;    // thanos.sub_config (standalone models)
  std::map<std::string, std::string> metadata;            // meta.KEY
};

// Checks and decodes the records. Throws std::invalid_argument naming `path` and the record for a
// missing record, a newer format version, a value out of range (checked before it is narrowed) or
// options that do not make a network (ModelOptions::validate).
ModelFileInfo model_info_from_records(const ModelRecords& records, const std::string& path);

// SubConfig <-> flat integer list (the archive's encoding, also handy for hashing tensors).
std::vector<std::int64_t> config_to_ints(const SubConfig& config);
SubConfig config_from_ints(const std::vector<std::int64_t>& ints, const std::string& where);

}  // namespace thanos
