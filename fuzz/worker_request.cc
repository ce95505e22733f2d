// What `thanos measure-worker` parses from its stdin (request_from_text: one MeasureRequest JSON
// object), and the round trip of an accepted request through request_to_json.
#include "fuzz_target.h"
#include "thanos/hw/measurement_json.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(worker_request) {
  const std::string text = as_text(data, size);
  MeasureRequest request;
  if (!expect_documented([&] { request = request_from_text(text, "stdin"); }, kInvalidArgument, "stdin")) return 0;
  try {
    const MeasureRequest again = request_from_json(request_to_json(request), "round-trip");
    if (again.config != request.config || again.run.threads != request.run.threads) {
      finding("request_to_json does not round-trip");
    }
  } catch (const std::exception& e) {
    finding(std::string("an accepted request does not read back: ") + e.what());
  }
  return 0;
}
