#include <stdexcept>

#include "command.h"
#include "thanos/export/rknn_check.h"

namespace thanos::cli {

Command add_rknn_check_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "rknn-check",
      "Check ONNX graphs statically against what Rockchip's RK3588 toolkit (rknn-toolkit2) converts: operators, "
      "opset 12..19, element types, static shapes, batch-1 operators (docs/EXPORT.md)");
  app->footer(
      "Exit status: 0 no findings, 1 findings, 2 a file could not be read or bad usage.\n"
      "A static check: the toolkit may still refuse a graph that passes, or run parts of it on the CPU.");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  app->add_option("models", *files, "ONNX model files (MODEL.onnx [MODEL2.onnx ...])");
  app->add_flag("--json", *json, "Print a machine-readable report (format thanos.rknn-check) instead of the table");
  // Unknown options are collected here rather than rejected by CLI11, so that every usage error
  // exits with this command's documented status 2 (main maps std::invalid_argument to 2).
  app->allow_extras();
  return {app, [=]() {
            if (!app->remaining().empty()) {
              std::string extra;
              for (const auto& r : app->remaining()) extra += (extra.empty() ? "" : " ") + r;
              throw std::invalid_argument("unknown argument(s): " + extra + " (usage: thanos rknn-check [--json] "
                                          "MODEL.onnx [MODEL2.onnx ...])");
            }
            if (files->empty()) {
              throw std::invalid_argument("no model given (usage: thanos rknn-check [--json] MODEL.onnx [MODEL2.onnx ...])");
            }
            std::vector<RknnCheckReport> reports;
            std::vector<std::string> errors;
            // Every file is checked even when an earlier one cannot be read: one run reports all.
            for (const auto& f : *files) {
              try {
                reports.push_back(rknn_check_file(f));
              } catch (const std::exception& e) {
                errors.push_back(e.what());
              }
            }
            std::cout << (*json ? format_rknn_report_json(reports, errors) : format_rknn_report_table(reports, errors));
            return rknn_check_exit_code(reports, errors);
          }};
}

}  // namespace thanos::cli
