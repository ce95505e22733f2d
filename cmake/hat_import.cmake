# Importing HAT's SuperTransformer checkpoints (docs/HAT_IMPORT.md). Included from the top-level
# CMakeLists.txt after the targets exist.
target_sources(thanos_core PRIVATE src/model/hat_import.cc)

if(TARGET thanos_tools)
  target_sources(thanos_tools PRIVATE src/commands/import_hat.cc)
  # Where run_import_hat finds tools/hat_import.py by default (the source tree it was built from;
  # an installed binary also looks next to itself). Only this source needs it.
  set_property(SOURCE src/commands/import_hat.cc APPEND PROPERTY
               COMPILE_DEFINITIONS THANOS_TOOLS_DIR="${PROJECT_SOURCE_DIR}/tools")
endif()

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/import_hat_command.cc)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_hat_import.cc)
  # The test skips itself when this interpreter cannot import torch.
  target_compile_definitions(thanos_tools_tests PRIVATE THANOS_TEST_PYTHON="/usr/bin/python3")
endif()
