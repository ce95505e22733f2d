# ONNX Runtime through a Node.js runner (docs/ORT.md): tools/ort_runner/runner.js (npm's
# onnxruntime-node, pinned; `npm ci --ignore-scripts --prefix tools/ort_runner`, scripts/setup.sh)
# and its torch-free C++ client in the tools layer. Included from the top-level CMakeLists.txt
# after the targets exist. Nothing here needs Node or node_modules at build time: the client
# finds them when it starts the runner, and the tests skip themselves when they are missing.
if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/export/ort_runner.cc)
  # Where find_ort_runner looks by default (the source tree it was built from; an installed
  # binary also looks next to itself, and THANOS_ORT_RUNNER overrides both). Only this source needs it.
  set_source_files_properties(src/export/ort_runner.cc PROPERTIES
    SKIP_PRECOMPILE_HEADERS ON
    COMPILE_DEFINITIONS THANOS_ORT_RUNNER_DIR="${PROJECT_SOURCE_DIR}/tools/ort_runner")
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_ort.cc)
  # The tests build their tiny ONNX graphs with Debian's libonnx-dev (onnx::ModelProto). Its
  # usage requirements (ONNX_NAMESPACE, ONNX_ML) must not reach the test target's other sources,
  # or the precompiled torch header they share stops matching: the graph builder is an object
  # library of its own, and the test target links the libraries' files only.
  if(NOT TARGET onnx_proto)
    find_package(Protobuf QUIET)
    if(Protobuf_FOUND)
      find_package(ONNX CONFIG QUIET)
    endif()
  endif()
  if(TARGET onnx_proto AND TARGET onnx)
    add_library(thanos_ort_test_graphs OBJECT tests/ort_test_graphs.cc)
    set_target_properties(thanos_ort_test_graphs PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_compile_options(thanos_ort_test_graphs PRIVATE -Wall -Wextra)
    target_link_libraries(thanos_ort_test_graphs PRIVATE onnx onnx_proto)
    target_sources(thanos_tools_tests PRIVATE $<TARGET_OBJECTS:thanos_ort_test_graphs>)
    # Files, not targets: the test target lives in tests/, where these imported targets are not visible.
    get_target_property(_thanos_onnx_file onnx LOCATION)
    get_target_property(_thanos_onnx_proto_file onnx_proto LOCATION)
    target_link_libraries(thanos_tools_tests PRIVATE ${_thanos_onnx_file} ${_thanos_onnx_proto_file})
    if(TARGET protobuf::libprotobuf)
      get_target_property(_thanos_protobuf_file protobuf::libprotobuf LOCATION)
      target_link_libraries(thanos_tools_tests PRIVATE ${_thanos_protobuf_file})
    else()
      target_link_libraries(thanos_tools_tests PRIVATE ${Protobuf_LIBRARIES})
    endif()
    # Source properties are per directory: set it where the test target lives.
    set_property(SOURCE tests/test_ort.cc TARGET_DIRECTORY thanos_tools_tests APPEND PROPERTY
                 COMPILE_DEFINITIONS THANOS_ORT_TEST_GRAPHS=1)
    message(STATUS "ort: ONNX ${ONNX_VERSION} (libonnx-dev): the ONNX Runtime runner tests build their graphs")
  else()
    message(STATUS "ort: libonnx-dev not found (apt install libonnx-dev): the ONNX Runtime runner tests are skipped")
  endif()
endif()
