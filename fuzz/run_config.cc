// The run config of `thanos run` (YAML): parse_run_config with every section, budget and target.
#include "fuzz_target.h"
#include "thanos/pipeline/run_config.h"

using namespace thanos;
using namespace thanos::fuzz;

#if defined(THANOS_FUZZ_LIBFUZZER)
// The fuzz build compiles run_config.cc without the pipeline's stages (they need libtorch); the
// config checks its `stages:` keys against the stages' names, which the real registry
// (src/pipeline/stage_registry.cc) gives. The replay test links the real registry, and
// tests/test_stage_outputs.cc pins this list there.
namespace thanos {
const std::vector<std::string>& pipeline_stages() {
  static const std::vector<std::string> names{"prepare", "super",    "measure", "predictors", "search",
                                              "final",   "evaluate", "export",  "report"};
  return names;
}
}  // namespace thanos
#endif

THANOS_FUZZ_TARGET(run_config) {
  const std::string text = as_text(data, size);
  expect_documented([&] { (void)parse_run_config(text, "fuzz-run.yml"); }, kInvalidArgument, "fuzz-run.yml");
  return 0;
}
