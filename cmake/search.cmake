# The search (docs/SEARCH.md): genomes, constraints and strategies are torch-free and sit in the
# engine core. Included from the top-level CMakeLists.txt after the targets exist.
set(THANOS_SEARCH_SOURCES src/search/genome.cc src/search/constraints.cc src/search/evolution.cc
  src/search/random_search.cc src/search/strategy_registry.cc src/search/study.cc src/search/tpe_sampler.cc
  src/search/hpo_evolution.cc)
target_sources(thanos_core PRIVATE ${THANOS_SEARCH_SOURCES})
set_source_files_properties(${THANOS_SEARCH_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)

if(TARGET thanos_core_tests)
  target_sources(thanos_core_tests PRIVATE tests/test_search.cc)
  target_sources(thanos_core_tests PRIVATE tests/test_search_hpo.cc)
endif()

# `thanos search` (predictor files, JSON outputs, measurement backends) joins the tools layer.
if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/commands/search.cc)
endif()
if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/search_command.cc)
endif()
if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_search_cli.cc)
endif()
