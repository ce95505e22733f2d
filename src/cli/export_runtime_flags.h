#pragma once
// The flags that run a `thanos export` directory instead of a model (eval, translate): --export and
// the runtime that runs it (export/export_runtime.h, docs/DEPLOY.md). `Options` has the fields
// model_path, export_dir, runtime, rknn_dtype, core_mask and python.
#include <CLI/CLI.hpp>

namespace thanos::cli {

template <typename Options>
void add_export_runtime_flags(CLI::App* app, CLI::Option* model, Options& o) {
  auto* exported = app->add_option("--export", o.export_dir, "Instead of --model: a `thanos export` directory, run in --runtime "
                                                             "(docs/DEPLOY.md)")
                       ->check(CLI::ExistingDirectory);
  model->excludes(exported);
  app->add_option("--runtime", o.runtime, "With --export: ort (ONNX Runtime), rknn-sim (rknn-toolkit2's simulator, static "
                                          "export) or rknn (RKNN Lite on the board, converted .rknn files)")
      ->capture_default_str();
  app->add_option("--rknn-dtype", o.rknn_dtype, "rknn-sim: fp16 or int8 (int8 needs export --calibration-data)")->capture_default_str();
  app->add_option("--core-mask", o.core_mask, "rknn: NPU cores auto | 0 | 1 | 2 | 0_1 | 0_1_2")->capture_default_str();
  app->add_option("--python", o.python, "rknn runtimes: the Python that has Rockchip's package")->capture_default_str();
}

template <typename Options>
void check_model_or_export(const Options& o, const char* command) {
  if (o.model_path.empty() == o.export_dir.empty()) {
    throw std::invalid_argument(std::string(command) + ": give --model or --export");
  }
}

}  // namespace thanos::cli
