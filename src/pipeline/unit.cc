#include "unit.h"

#include <filesystem>

#include "thanos/common/json_input.h"
#include "thanos/common/text.h"

namespace thanos {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::optional<json> cached_unit(const Unit& u, bool owns_dir) {
  if (fs::exists(u.path())) {
    try {
      const json j = parse_ordered_json_input(read_text_file(u.path()), u.path());
      if (j.value("inputs_hash", "") == u.hash) {
        if (j.value("completed", false)) return j.at("outputs");
        return std::nullopt;
      }
    } catch (const std::exception&) {
      // A damaged record: start the unit afresh.
    }
  }
  if (owns_dir) fs::remove_all(u.dir);
  fs::create_directories(u.dir);
  write_file_atomically(u.path(), json({{"inputs_hash", u.hash}, {"completed", false}}).dump(2) + "\n");
  return std::nullopt;
}

void complete_unit(const Unit& u, const json& outputs) {
  write_file_atomically(u.path(), json({{"inputs_hash", u.hash}, {"completed", true}, {"outputs", outputs}}).dump(2) + "\n");
}

}  // namespace thanos
