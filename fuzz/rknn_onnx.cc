// ONNX graphs for `thanos rknn-check`: rknn_check_file on any bytes (protobuf parsing, the onnx
// checker and shape inference, the RK3588 rules), then both report formats, whose JSON must be
// valid UTF-8 JSON whatever names the graph holds.
#include <nlohmann/json.hpp>

#include "fuzz_target.h"
#include "thanos/export/rknn_check.h"

using namespace thanos;
using namespace thanos::fuzz;

THANOS_FUZZ_TARGET(rknn_onnx) {
  const std::string path = write_file("fuzz.onnx", as_text(data, size));
  RknnCheckReport report;
  if (!expect_documented([&] { report = rknn_check_file(path); }, kInvalidArgument, path)) return 0;
  try {
    (void)format_rknn_report_table({report});
    const std::string json = format_rknn_report_json({report});
    if (!nlohmann::json::parse(json).is_object()) finding("the JSON report is not an object");
    (void)rknn_check_exit_code({report});
  } catch (const std::exception& e) {
    finding(std::string("a checked graph's report failed: ") + e.what());
  }
  return 0;
}
