// Search space YAML (HAT's keys plus THANOS' QKV keys): parse_search_space, then what every
// caller does with a space that loaded (its size, smallest/largest members, a sample), and the
// round trip through search_space_to_yaml.
#include "fuzz_target.h"
#include "thanos/common/random.h"
#include "thanos/space/sampler.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(space_yaml) {
  const std::string text = as_text(data, size);
  LoadedSpace loaded;
  if (!expect_documented([&] { loaded = parse_search_space(text, "fuzz-space.yml"); }, kInvalidArgument,
                         "fuzz-space.yml")) {
    return 0;
  }
  // A space that loaded is valid: none of these may throw.
  try {
    const SearchSpace& s = loaded.space;
    (void)s.size().to_string();
    s.check_config(s.smallest());
    s.check_config(s.largest());
    Rng rng(7);
    s.check_config(sample_config(s, rng));
    const LoadedSpace again = parse_search_space(search_space_to_yaml(s), "round-trip.yml");
    if (!(again.space.size() == s.size()) || again.space.largest() != s.largest() ||
        again.space.smallest() != s.smallest()) {
      finding("search_space_to_yaml does not round-trip");
    }
  } catch (const std::exception& e) {
    finding(std::string("a loaded space failed later: ") + e.what());
  }
  return 0;
}
