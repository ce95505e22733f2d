#pragma once
// WORKDIR/stages/<stage>.json: a stage's inputs hash, whether it completed, how long it took and
// its outputs (stage_outputs.h). A stage is skipped when it completed with the same inputs and
// resumed when it was interrupted with them. Private to src/pipeline.
#include <nlohmann/json.hpp>
#include <string>

#include "thanos/pipeline/work_dir.h"

namespace thanos {

struct StageRecord {
  bool completed = false;
  bool started = false;  // a record at all (an interrupted stage leaves completed = false)
  std::string inputs_hash;
};

// A missing or damaged record counts as not started.
StageRecord read_stage_record(const WorkDir& dir, const std::string& stage);

void write_stage_record(const WorkDir& dir, const std::string& stage, const std::string& inputs_hash, double seconds,
                        const nlohmann::ordered_json& outputs, bool completed);

}  // namespace thanos
