# ONNX export (docs/EXPORT.md): `thanos export` turns a SubTransformer into an encoder graph and a
# decoder-step graph (opset 17) with Debian's libonnx-dev (the onnx protobuf classes, checker and
# shape inference; 1.12). Optional: without onnx the rest builds and `thanos export` is not offered.
# Included from the top-level CMakeLists.txt after the targets exist.
if(NOT TARGET thanos_tools)
  return()
endif()

option(THANOS_WITH_ONNX "ONNX export (thanos export) with Debian's libonnx-dev" ON)
if(NOT THANOS_WITH_ONNX)
  return()
endif()

find_package(Protobuf QUIET)
if(NOT TARGET onnx_proto AND Protobuf_FOUND)
  find_package(ONNX CONFIG QUIET)
endif()
if(NOT TARGET onnx OR NOT TARGET onnx_proto OR NOT Protobuf_FOUND)
  message(WARNING "export: onnx not found (apt install libonnx-dev): thanos export disabled")
  return()
endif()
message(STATUS "export: onnx ${ONNX_VERSION}: thanos export enabled")

# include/thanos/export/onnx_proto.h defines ONNX_NAMESPACE/ONNX_ML itself, so onnx's usage
# requirements (compile definitions) are not taken: thanos_tools keeps the flags its shared torch
# precompiled header was built with. Link the library files only (paths, not imported targets:
# the test target lives in tests/, where these imported targets are not visible).
set(THANOS_EXPORT_SOURCES src/export/onnx_graph_builder.cc src/export/export_sidecar.cc src/export/onnx_export.cc
  src/commands/export.cc src/export/ort_step_decoder.cc src/hw/ort_backend.cc src/export/npy.cc src/export/calibration.cc
  src/export/export_runtime.cc src/hw/rknn_backend.cc)
set_source_files_properties(src/export/export_runtime.cc PROPERTIES
  COMPILE_DEFINITIONS THANOS_RKNN_RUNNER_PATH="${PROJECT_SOURCE_DIR}/tools/rknn/runner.py")
set_source_files_properties(src/hw/ort_backend.cc src/hw/rknn_backend.cc PROPERTIES
                            COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")
# `--device ort-cpu` (an ONNX Runtime backend over the exported graphs) exists only with the exporter.
set_property(SOURCE src/commands/measure.cc src/commands/eval.cc src/commands/translate.cc src/pipeline/pipeline.cc APPEND PROPERTY COMPILE_DEFINITIONS THANOS_WITH_ONNX=1)
target_sources(thanos_tools PRIVATE ${THANOS_EXPORT_SOURCES})
set_source_files_properties(src/export/onnx_graph_builder.cc src/export/export_sidecar.cc PROPERTIES
                            SKIP_PRECOMPILE_HEADERS ON)
# thanos rknn-check (docs/EXPORT.md): a static RK3588 check of any ONNX graph, torch-free.
target_sources(thanos_tools PRIVATE src/export/rknn_check.cc)
set_source_files_properties(src/export/rknn_check.cc PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
get_target_property(_thanos_export_onnx onnx LOCATION)
get_target_property(_thanos_export_onnx_proto onnx_proto LOCATION)
target_link_libraries(thanos_tools PUBLIC ${_thanos_export_onnx} ${_thanos_export_onnx_proto} ${Protobuf_LIBRARIES})

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/export_command.cc src/cli/rknn_check_command.cc)
  set_property(SOURCE src/cli/main.cc src/cli/agent_command.cc APPEND PROPERTY COMPILE_DEFINITIONS THANOS_WITH_ONNX=1)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_export.cc tests/test_export_ort.cc tests/test_ort_backend.cc tests/test_deploy.cc)
  target_sources(thanos_tools_tests PRIVATE tests/test_rknn_check.cc)
endif()
