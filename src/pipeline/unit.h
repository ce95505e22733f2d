#pragma once
// A unit of a stage (one target's dataset or search, one model's training or evaluation) keeps its
// outputs while its own inputs are unchanged, so adding a target or a budget to a config does not
// redo the others. DIR/FILE records the unit's inputs hash and, once complete, its outputs.
// Private to src/pipeline.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace thanos {

struct Unit {
  std::string dir, hash, file = "unit.json";
  std::string path() const { return dir + "/" + file; }
};

// The outputs of a completed unit with the same inputs. Otherwise nothing, after clearing the
// outputs of other inputs when the unit owns its folder (an interrupted unit of the same inputs
// keeps them, to resume).
std::optional<nlohmann::ordered_json> cached_unit(const Unit& u, bool owns_dir = true);

void complete_unit(const Unit& u, const nlohmann::ordered_json& outputs);

}  // namespace thanos
