# Latency and memory predictors (docs/PREDICTORS.md). Features, data reading, the robust linear
# model, metrics, provenance and every prediction are plain C++ (engine core, torch-free sources);
# only fitting an MLP uses libtorch. The predictor file (JSON), `thanos fit-predictor` and its
# library entry join the tools layer.
# Included from the top-level CMakeLists.txt after the targets exist.
set(THANOS_PREDICT_PLAIN_SOURCES  # torch-free: no precompiled header needed
  src/predict/arch_features.cc src/predict/predictor_data.cc src/predict/metrics.cc src/predict/robust_linear.cc
  src/predict/mlp.cc src/predict/provenance.cc src/predict/predictor.cc)
target_sources(thanos_core PRIVATE ${THANOS_PREDICT_PLAIN_SOURCES} src/predict/mlp_fit.cc)
set_source_files_properties(${THANOS_PREDICT_PLAIN_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
# The predictor file records which THANOS fitted it.
set_source_files_properties(src/predict/predictor.cc PROPERTIES
                            COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/predict/predictor_file.cc src/commands/fit_predictor.cc)
  set_source_files_properties(src/predict/predictor_file.cc PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endif()
if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/fit_predictor_command.cc)
endif()

if(TARGET thanos_core_tests)
  target_sources(thanos_core_tests PRIVATE tests/test_predict.cc)
endif()
if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_predict_tools.cc)
endif()
