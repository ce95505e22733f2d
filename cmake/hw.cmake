# Hardware in the loop (docs/MEASUREMENT.md): the latency protocol and the in-process backend
# need libtorch only (engine core, also built against a CUDA libtorch); JSON forms, the dataset
# writer and `thanos measure` join the tools layer. Isolated workers: cmake/hw_worker.cmake;
# the device agent: cmake/hw_agent.cmake.
set(THANOS_HW_PLAIN_SOURCES  # torch-free: no precompiled header needed
  src/common/csv.cc src/common/stats.cc src/space/hat_features.cc src/hw/latency_protocol.cc src/hw/host_info.cc
  src/hw/latency_dataset.cc src/hw/dataset_builder.cc src/hw/repeated_measurement.cc)
target_sources(thanos_core PRIVATE ${THANOS_HW_PLAIN_SOURCES} src/hw/in_process_backend.cc src/hw/measurement_model.cc)
# Debian's libtorch is CPU-only; a CUDA libtorch's config lists its CUDA libraries.
if(TORCH_CUDA_LIBRARIES)
  target_compile_definitions(thanos_core PUBLIC THANOS_WITH_CUDA=1)
endif()
set_source_files_properties(src/hw/in_process_backend.cc PROPERTIES
                            COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")
set_source_files_properties(${THANOS_HW_PLAIN_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/hw/measurement_json.cc src/commands/measure.cc)
endif()
if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/measure_command.cc)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_measure_cli.cc)
endif()

if(TARGET thanos_core_tests)
  target_sources(thanos_core_tests PRIVATE tests/test_measure.cc tests/test_latency_dataset.cc tests/test_repeated_measurement.cc)
endif()

# The GPU check (tools/gpu_check.cc): core only, for a CUDA libtorch without GoogleTest.
option(THANOS_BUILD_GPU_CHECK "Build thanos_gpu_check (engine core on CUDA)" OFF)
if(THANOS_BUILD_GPU_CHECK)
  add_executable(thanos_gpu_check tools/gpu_check.cc)
  target_link_libraries(thanos_gpu_check PRIVATE thanos_core)
endif()
