# Isolated measurement workers (docs/MEASUREMENT_ISOLATION.md). Supervising a worker process
# (spawn, memory cap, timeout) is torch-free and sits in the engine core next to run_process;
# the isolated backend (JSON protocol) joins the tools layer, `thanos measure-worker` the CLI.
# Included from the top-level CMakeLists.txt after cmake/hw.cmake (measure_in_process).
target_sources(thanos_core PRIVATE src/hw/worker_process.cc)
set_source_files_properties(src/hw/worker_process.cc src/hw/isolated_backend.cc PROPERTIES SKIP_PRECOMPILE_HEADERS ON)

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/hw/isolated_backend.cc)
endif()

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/measure_worker_command.cc)
endif()

if(TARGET thanos_tools_tests)
  # A torch-free program that allocates, sleeps, crashes or fails on request: the tests' worker.
  add_executable(thanos_memory_hog tests/memory_hog.cc)
  target_compile_options(thanos_memory_hog PRIVATE -Wall -Wextra)
  target_sources(thanos_tools_tests PRIVATE tests/test_worker.cc)
  target_compile_definitions(thanos_tools_tests PRIVATE THANOS_MEMORY_HOG="$<TARGET_FILE:thanos_memory_hog>")
  add_dependencies(thanos_tools_tests thanos_memory_hog)
endif()
