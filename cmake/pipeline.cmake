# `thanos run` (docs/PIPELINE.md): the one-command pipeline over the library's stages, its YAML
# config, budgets resolved against measured data, HAT's homogeneous baseline and the report. Tools
# layer (yaml-cpp, nlohmann-json); the export stage needs the ONNX build (cmake/export.cmake).
if(NOT TARGET thanos_tools)
  return()
endif()
target_sources(thanos_tools PRIVATE src/pipeline/run_config.cc src/pipeline/budgets.cc src/pipeline/baseline.cc
  src/pipeline/report.cc src/pipeline/pipeline.cc)
set_source_files_properties(src/pipeline/run_config.cc src/pipeline/budgets.cc src/pipeline/baseline.cc src/pipeline/report.cc
  PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/run_command.cc)
endif()
if(TARGET thanos_tools_tests)
  # test_report_html.cc opens report.html in headless Chromium (skips without `chromium`).
  # test_task_configs.cc dry-runs every shipped config in configs/ (docs/DATA.md).
  target_sources(thanos_tools_tests PRIVATE tests/test_pipeline.cc tests/test_report_html.cc tests/test_task_configs.cc)
endif()
