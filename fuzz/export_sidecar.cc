// The sidecar JSON of `thanos export` (read by eval/translate --export, the runners, rknn tools):
// read_sidecar, then the round trip through sidecar_to_json.
#include "fuzz_target.h"
#include "thanos/export/export_sidecar.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(export_sidecar) {
  const std::string path = write_file("fuzz-export.json", as_text(data, size));
  ExportSidecar sidecar;
  if (!expect_documented([&] { sidecar = read_sidecar(path); }, kInvalidArgument, path)) return 0;
  try {
    if (!(sidecar_from_json(sidecar_to_json(sidecar), "round-trip.json") == sidecar)) {
      finding("sidecar_to_json does not round-trip");
    }
  } catch (const std::exception& e) {
    finding(std::string("a sidecar that loaded does not read back: ") + e.what());
  }
  return 0;
}
