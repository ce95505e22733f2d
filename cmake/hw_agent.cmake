# The on-device measurement agent (docs/AGENT.md): `thanos agent` on the board, RemoteBackend
# ("remote://HOST:PORT") in the search. The wire is JSON (nlohmann) and the handshake HMAC-SHA256
# (OpenSSL's libcrypto), so it all sits in the tools layer. Included from the top-level
# CMakeLists.txt after the targets exist (and after cmake/hw.cmake, which adds the JSON forms).
if(NOT TARGET thanos_tools)
  return()
endif()

find_package(OpenSSL REQUIRED)

set(THANOS_AGENT_SOURCES src/hw/agent_protocol.cc src/hw/agent_server.cc src/hw/remote_backend.cc)
target_sources(thanos_tools PRIVATE ${THANOS_AGENT_SOURCES})
# Sockets and JSON only: no torch header, so skip the torch precompiled header.
set_source_files_properties(${THANOS_AGENT_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
# The version the agent reports in `info`.
set_property(SOURCE src/hw/agent_server.cc APPEND PROPERTY
             COMPILE_DEFINITIONS THANOS_VERSION_STRING="${PROJECT_VERSION}")
target_link_libraries(thanos_tools PRIVATE OpenSSL::Crypto)

if(TARGET thanos)
  target_sources(thanos PRIVATE src/cli/agent_command.cc)
endif()

if(TARGET thanos_tools_tests)
  target_sources(thanos_tools_tests PRIVATE tests/test_agent.cc)
endif()
