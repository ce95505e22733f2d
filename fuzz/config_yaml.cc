// SubTransformer configs in HAT's YAML (plus THANOS' QKV keys): parse_config_yaml, then the round
// trip through config_to_yaml and config_to_json, which must give back the same config.
#include <nlohmann/json.hpp>

#include "fuzz_target.h"
#include "thanos/space/config_io.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(config_yaml) {
  const std::string text = as_text(data, size);
  LoadedConfig loaded;
  if (!expect_documented([&] { loaded = parse_config_yaml(text, "fuzz-config.yml", 512); }, kInvalidArgument,
                         "fuzz-config.yml")) {
    return 0;
  }
  try {
    const SubConfig& c = loaded.config;
    (void)c.hash_hex();
    (void)c.summary();
    if (parse_config_yaml(config_to_yaml(c), "round-trip.yml", 512).config != c) finding("config_to_yaml does not round-trip");
    if (config_from_json(config_to_json(c), "round-trip.json") != c) finding("config_to_json does not round-trip");
  } catch (const std::exception& e) {
    finding(std::string("a loaded config failed later: ") + e.what());
  }
  return 0;
}
