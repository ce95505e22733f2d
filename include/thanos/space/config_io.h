#pragma once
// SubConfig files: HAT's SubTransformer YAML (keys `encoder-embed-dim-subtransformer`, ...,
// per-layer lists with one entry per active layer) plus THANOS' QKV keys, and a JSON form.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct LoadedConfig {
  SubConfig config;
  std::vector<std::string> warnings;  // ignored keys, truncated lists, defaulted QKV widths
};

// QKV widths missing from a HAT file default to `default_qkv_dim` (default_qkv_dim(space) in
// search_space.h: the space's qkv-dim; HAT fixes every attention at it). Throws std::invalid_argument naming file, line and key.
LoadedConfig parse_config_yaml(const std::string& yaml_text, const std::string& source_name, int default_qkv_dim);
LoadedConfig load_config_yaml(const std::string& path, int default_qkv_dim);
// HAT's keys first (so HAT reads the file), then THANOS' QKV keys.
std::string config_to_yaml(const SubConfig& config);

// {"format": "thanos.subconfig", "version": 1, "hash": ..., "encoder": {...}, "decoder": {...}}
nlohmann::json config_to_json(const SubConfig& config);
// Throws std::invalid_argument naming the JSON path of a missing or mistyped field.
SubConfig config_from_json(const nlohmann::json& j, const std::string& source_name);

// Reads either format, chosen by extension (.json, else YAML).
LoadedConfig load_config_file(const std::string& path, int default_qkv_dim);

}  // namespace thanos
