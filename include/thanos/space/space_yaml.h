#pragma once
// Reading and writing search spaces as YAML, with HAT's keys (so HAT's own
// configs/*/supertransformer/space*.yml load unchanged) plus THANOS' QKV keys.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "thanos/space/search_space.h"

namespace thanos {

struct LoadedSpace {
  SearchSpace space;
  // One line per key that was accepted but not used (fairseq training options THANOS does not
  // read, unknown keys), and per default that was filled in.
  std::vector<std::string> warnings;
};

// Throws std::invalid_argument naming the file, line and key for malformed input (a choice that
// is not a list of integers, a missing choice list, an invalid space).
LoadedSpace load_search_space(const std::string& path);
LoadedSpace parse_search_space(const std::string& yaml_text, const std::string& source_name);
// The space a model file embeds (its "space_yaml" metadata), or nothing when it has none; errors
// name `model_path`.
std::optional<SearchSpace> embedded_search_space(const std::map<std::string, std::string>& metadata,
                                                 const std::string& model_path);

// YAML text with every key THANOS uses; parse_search_space() of it gives back an equal space.
std::string search_space_to_yaml(const SearchSpace& space);

}  // namespace thanos
