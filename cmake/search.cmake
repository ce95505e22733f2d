# The search (docs/SEARCH.md): genomes, constraints and strategies are torch-free and sit in the
# engine core. Included from the top-level CMakeLists.txt after the targets exist.
set(THANOS_SEARCH_SOURCES src/search/genome.cc src/search/constraints.cc src/search/evolution.cc
  src/search/random_search.cc src/search/strategy_registry.cc src/search/study.cc src/search/tpe_sampler.cc
  src/search/hpo_evolution.cc src/search/nsga2.cc)
target_sources(thanos_core PRIVATE ${THANOS_SEARCH_SOURCES})
set_source_files_properties(${THANOS_SEARCH_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)

# Multi-objective search (nsga2, hypervolume) uses pagmo2's building blocks (libpagmo-dev).
# Optional, so the engine core still builds with libtorch alone (a CUDA check); without it the
# nsga2 strategy is not offered and search.json carries no hypervolume.
option(THANOS_WITH_PAGMO "Multi-objective search (nsga2, hypervolume) with pagmo2" ON)
if(THANOS_WITH_PAGMO)
  find_package(pagmo QUIET)
endif()
if(THANOS_WITH_PAGMO AND pagmo_FOUND)
  # A library of its own: pagmo's usage requirements (Boost definitions) must not reach
  # thanos_core's sources, or the precompiled torch header they share stops matching.
  # Its objects go into thanos_core, which links pagmo's library file (no usage requirements).
  add_library(thanos_pareto OBJECT src/search/pareto.cc)
  set_target_properties(thanos_pareto PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(thanos_pareto PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_compile_definitions(thanos_pareto PRIVATE THANOS_WITH_PAGMO)
  target_link_libraries(thanos_pareto PRIVATE Pagmo::pagmo)
  target_sources(thanos_core PRIVATE $<TARGET_OBJECTS:thanos_pareto>)
  target_link_libraries(thanos_core PRIVATE $<TARGET_FILE:Pagmo::pagmo>)
  message(STATUS "search: pagmo2 ${pagmo_VERSION}: nsga2 and hypervolume enabled")
else()
  target_sources(thanos_core PRIVATE src/search/pareto.cc)
  set_source_files_properties(src/search/pareto.cc PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  if(THANOS_WITH_PAGMO)
    message(WARNING "search: pagmo2 not found (apt install libpagmo-dev): nsga2 and hypervolume disabled")
  endif()
endif()

if(TARGET thanos_core_tests)
  target_sources(thanos_core_tests PRIVATE tests/test_search.cc)
  target_sources(thanos_core_tests PRIVATE tests/test_search_hpo.cc tests/test_search_pareto.cc)
endif()

# `thanos search` (predictor files, JSON outputs, measurement backends) joins the tools layer.
if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/commands/search.cc src/search/bleu_rerank.cc)
endif()
if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/search_command.cc)
endif()
if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_search_cli.cc)
endif()
