# Scoring (docs/SCORING.md): sacreBLEU-exact BLEU / chrF and fairseq's BLEU. The metrics need only
# the C++ standard library, so they sit in the engine core (a later `thanos eval` scores there);
# `thanos score` (files, JSON) joins the tools layer. Included from the top-level CMakeLists.txt
# after the targets exist.
set(THANOS_SCORING_CORE_SOURCES
  src/decode/tokenize.cc
  src/decode/unicode_categories.cc
  src/decode/signature.cc
  src/decode/bleu.cc
  src/decode/chrf.cc
  src/decode/significance.cc
)
target_sources(thanos_core PRIVATE ${THANOS_SCORING_CORE_SOURCES})
# Plain C++: no torch header, so skip the torch precompiled header (faster, and it keeps them honest).
set_source_files_properties(${THANOS_SCORING_CORE_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
# The implementation tag in score signatures ("impl:thanos-0.1.0").
set_property(SOURCE src/decode/signature.cc APPEND PROPERTY
             COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/commands/score.cc)
endif()

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/score_command.cc)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_scoring.cc)
endif()
