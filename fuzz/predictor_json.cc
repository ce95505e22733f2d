// Predictor files (fit-predictor's JSON): load_predictor as the search reads one, then a
// prediction for the smallest and largest member of HAT's WMT'14 En-De space.
#include "fuzz_target.h"
#include "thanos/predict/predictor_file.h"
#include "thanos/space/search_space.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(predictor_json) {
  const std::string path = write_file("fuzz-predictor.json", as_text(data, size));
  static const SearchSpace space = hat_wmt14ende_space0();
  expect_documented(
      [&] {
        const Predictor p = load_predictor(path);
        (void)p.predict(space.smallest());
        (void)p.predict(space.largest());
      },
      kInvalidArgument, path);
  return 0;
}
