# The bundled English-German corpus (docs/CORPUS.md): the .mo reader needs nothing beyond the
# standard library, so it sits in the engine core; the builder writes a JSON manifest
# (nlohmann-json) and joins the file-format layer, with its subcommand and tests.
target_sources(thanos_core PRIVATE src/data/mo_catalog.cc)
if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/data/corpus_builder.cc)
  target_sources(thanos PRIVATE src/cli/corpus_command.cc)
endif()
if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_corpus.cc)
endif()
