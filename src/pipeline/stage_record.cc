#include "stage_record.h"

#include <filesystem>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"

namespace thanos {

StageRecord read_stage_record(const WorkDir& dir, const std::string& stage) {
  StageRecord r;
  const std::string path = dir.stage_record(stage);
  if (!std::filesystem::exists(path)) return r;
  try {
    const auto j = parse_json_input(read_text_file(path), path);
    r.started = true;
    r.completed = j.value("completed", false);
    r.inputs_hash = j.value("inputs_hash", "");
  } catch (const std::exception&) {
    // A damaged record counts as not done: the stage runs again.
  }
  return r;
}

void write_stage_record(const WorkDir& dir, const std::string& stage, const std::string& inputs_hash, double seconds,
                        const nlohmann::ordered_json& outputs, bool completed) {
  std::filesystem::create_directories(dir.stages_dir());
  const nlohmann::ordered_json j = {
      {"stage", stage}, {"inputs_hash", inputs_hash}, {"completed", completed}, {"seconds", seconds}, {"outputs", outputs}};
  write_file_atomically(dir.stage_record(stage), j.dump(2) + "\n");
}

}  // namespace thanos
