# One static library per source folder ("layer", docs/ARCHITECTURE.md), and one precompiled
# header, libtorch's, for the sources that include libtorch.
#
# Measured on 2 cores (GCC 12, -O3): <torch/torch.h> costs ~16 s in a translation unit and ~4 s
# precompiled (loading the ~0.6 GB header), so the sources that include libtorch reuse it, and
# the others, half of THANOS, must not pay those 4 s. A precompiled header of the header-only
# libraries the plain sources use did not pay either: nlohmann-json costs 1.7 s and CLI11 7 s
# (most of it code generation, which a precompiled header does not save) against 5-7 s to load
# one; CLI11 is paid once by building the command-line files as one unit (src/cli). CMake gives
# a target one precompiled header, so a target's torch sources are compiled in an object library
# of their own (TARGET_torch) whose objects join the target. A source listed as TORCH that no
# longer includes torch, or the other way round, still builds correctly, only slower
# (docs/DEVELOPING.md).

# Flags every THANOS target shares. -fPIC everywhere (executables included, instead of the
# compiler's default -fPIE) so that the precompiled header is valid for all of them.
function(thanos_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -fPIC)
endfunction()

# The precompiled header's host: an object library with one empty source.
add_library(thanos_torch_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch_host.cc)
target_link_libraries(thanos_torch_pch PUBLIC ${TORCH_LIBRARIES})
thanos_target_defaults(thanos_torch_pch)
if(THANOS_PCH)
  target_precompile_headers(thanos_torch_pch PRIVATE <torch/torch.h>)
endif()

# thanos_compile(TARGET PLAIN ... TORCH ... NO_PCH ... LINK ...)
# Adds sources to TARGET (a library or an executable): PLAIN ones (no libtorch header) directly,
# TORCH ones through the object library TARGET_torch with the precompiled libtorch header, NO_PCH
# ones (libtorch, but flags of their own that the header was not built with) directly. LINK: what
# the torch sources need to compile (the target's own libraries).
function(thanos_compile target)
  cmake_parse_arguments(A "" "" "PLAIN;TORCH;NO_PCH;LINK" ${ARGN})
  thanos_target_defaults(${target})
  if(A_PLAIN OR A_NO_PCH)
    target_sources(${target} PRIVATE ${A_PLAIN} ${A_NO_PCH})
  endif()
  if(A_TORCH)
    add_library(${target}_torch OBJECT ${A_TORCH})
    target_include_directories(${target}_torch PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${target}_torch PRIVATE ${A_LINK} ${TORCH_LIBRARIES})
    thanos_target_defaults(${target}_torch)
    if(THANOS_PCH)
      target_precompile_headers(${target}_torch REUSE_FROM thanos_torch_pch)
    endif()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${target}_torch>)
    target_link_libraries(${target} PRIVATE ${TORCH_LIBRARIES})
  endif()
endfunction()

# thanos_layer(NAME
#   PLAIN ...        sources that include no libtorch header
#   TORCH ...        sources that include libtorch (directly or through a THANOS header)
#   NO_PCH ...       sources compiled with flags of their own (no precompiled header fits them)
#   TOOLS_PLAIN ...  TOOLS_TORCH ...: built only with THANOS_WITH_TOOLS (file formats,
#                    commands: yaml-cpp, nlohmann-json, ...)
#   BELOW ...        the layer directly below (its own dependencies come along)
#   LIBS ...         TOOLS_LIBS ...: external libraries, public)
# makes the static library thanos_NAME.
function(thanos_layer name)
  cmake_parse_arguments(L "" "" "PLAIN;TORCH;NO_PCH;TOOLS_PLAIN;TOOLS_TORCH;BELOW;LIBS;TOOLS_LIBS" ${ARGN})
  set(plain ${L_PLAIN})
  set(torch ${L_TORCH})
  set(libs ${L_LIBS})
  if(THANOS_WITH_TOOLS)
    list(APPEND plain ${L_TOOLS_PLAIN})
    list(APPEND torch ${L_TOOLS_TORCH})
    list(APPEND libs ${L_TOOLS_LIBS})
  endif()
  add_library(thanos_${name} STATIC)
  target_include_directories(thanos_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(thanos_${name} PUBLIC ${L_BELOW} ${libs})
  if(torch OR L_NO_PCH)
    target_link_libraries(thanos_${name} PUBLIC ${TORCH_LIBRARIES})
  endif()
  thanos_compile(thanos_${name} PLAIN ${plain} TORCH ${torch} NO_PCH ${L_NO_PCH} LINK ${L_BELOW} ${libs})
endfunction()

# The version string that some sources record (score signatures, measurements, predictor files).
function(thanos_version_define)
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")
endfunction()
