# Decoding (docs/DECODING.md): incremental beam search needs libtorch only, so it sits in the
# engine core; `thanos translate` and `thanos eval` (sentencepiece, model, config and data files;
# eval scores with cmake/scoring.cmake's metrics) join the tools layer.
# Included from the top-level CMakeLists.txt after the targets exist.
target_sources(thanos_core PRIVATE src/decode/beam_search.cc src/decode/batch_decoder.cc)

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/commands/translate.cc src/commands/eval.cc)
endif()

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/translate_command.cc src/cli/eval_command.cc)
endif()

if(TARGET thanos_core_tests)
  target_sources(thanos_core_tests PRIVATE tests/test_decode.cc)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_translate.cc)
endif()
