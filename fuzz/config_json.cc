// SubTransformer configs in THANOS' JSON form, read as `thanos` reads a .json config file
// (load_config_file: parse_json_input with its nesting limit, then config_from_json), and the
// round trip through config_to_json.
#include <nlohmann/json.hpp>

#include "fuzz_target.h"
#include "thanos/space/config_io.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(config_json) {
  const std::string path = write_file("fuzz-config.json", as_text(data, size));
  LoadedConfig loaded;
  if (!expect_documented([&] { loaded = load_config_file(path, 512); }, kInvalidArgument, path)) return 0;
  try {
    if (config_from_json(config_to_json(loaded.config), "round-trip.json") != loaded.config) {
      finding("config_to_json does not round-trip");
    }
  } catch (const std::exception& e) {
    finding(std::string("a loaded config failed later: ") + e.what());
  }
  return 0;
}
