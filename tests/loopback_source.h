#pragma once
// Connections to a loopback agent from a chosen source address (Linux routes all of 127/8 to lo),
// so that per-address limits can be exercised on one machine: the agent tests and the soak.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "thanos/common/fd.h"
#include "thanos/hw/agent_protocol.h"

namespace thanos::testing {

// A TCP connection to 127.0.0.1:port from `source`; an invalid Fd when this machine cannot bind
// that address or the agent does not accept.
inline Fd connect_from(const std::string& source, int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Fd();
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &a.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return Fd();
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return Fd();
  agent::prepare_socket(fd.get());
  return fd;
}

// Whether a socket can be bound to `source` here (some sandboxes allow 127.0.0.1 only).
inline bool can_bind(const std::string& source) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &a.sin_addr);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

}  // namespace thanos::testing
