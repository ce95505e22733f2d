#include "thanos/hw/agent_protocol.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "thanos/common/json_input.h"
#include "thanos/common/frame_codec.h"
#include "thanos/common/poll_deadline.h"

namespace thanos::agent {
namespace {

using json = nlohmann::json;

std::string errno_text(int err) { return std::strerror(err); }

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", s);
  return buf;
}

// The WireError for a failed transfer; `receiving` words a timeout as a missing reply.
[[noreturn]] void throw_wire_error(const IoResult& r, bool receiving, double timeout_s) {
  switch (r.status) {
    case IoStatus::kTimeout:
      throw WireError(WireError::Kind::kTimeout, receiving ? "no reply within " + seconds_text(timeout_s) + " s"
                                                           : "sending timed out after " + seconds_text(timeout_s) + " s");
    case IoStatus::kClosed:
      throw WireError(WireError::Kind::kClosed, receiving && r.error != 0 ? "connection reset by the peer"
                                                                          : "connection closed by the peer");
    case IoStatus::kError:
    case IoStatus::kDone:
      break;
  }
  throw WireError(WireError::Kind::kIo, std::string(receiving ? "recv: " : "send: ") + errno_text(r.error));
}

std::string proof(const char* label, const std::string& token, const std::string& server_nonce,
                  const std::string& client_nonce) {
  return hmac_sha256(token, std::string(label) + server_nonce + client_nonce);
}

}  // namespace

// ------------------------------------------------------------------ crypto

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL libcrypto)");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: the random generator is not seeded");
  }
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Lengths are public (fixed by the protocol); only the content must not leak through timing.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string from_hex(const std::string& hex, const std::string& what) {
  auto value = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::invalid_argument(what + ": expected hexadecimal digits, got '" + std::string(1, c) + "'");
  };
  if (hex.size() % 2 != 0) throw std::invalid_argument(what + ": expected an even number of hexadecimal digits");
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(value(hex[2 * i]) * 16 + value(hex[2 * i + 1]));
  }
  return out;
}

std::string client_proof(const std::string& token, const std::string& server_nonce, const std::string& client_nonce) {
  return proof(kClientProofLabel, token, server_nonce, client_nonce);
}

std::string server_proof(const std::string& token, const std::string& server_nonce, const std::string& client_nonce) {
  return proof(kServerProofLabel, token, server_nonce, client_nonce);
}

// ------------------------------------------------------------------ addresses and sockets

std::string HostPort::str() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool try_parse_host_port(const std::string& text, bool allow_port_zero, HostPort* out, std::string* problem) {
  auto bad = [&](const std::string& why) {
    *problem = why;
    return false;
  };
  HostPort hp;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return bad("unterminated IPv6 address (missing ']')");
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing :PORT");
    hp.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return bad("missing :PORT");
    hp.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets ([::1]:PORT)");
  }
  if (hp.host.empty()) return bad("empty host");
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return bad("port '" + port_text + "' is not a number");
  }
  hp.port = std::stoi(port_text);
  if (hp.port > 65535 || (hp.port == 0 && !allow_port_zero)) {
    return bad("port " + port_text + " out of range (" + (allow_port_zero ? "0" : "1") + "..65535)");
  }
  *out = hp;
  return true;
}

HostPort parse_host_port(const std::string& text, const std::string& what, bool allow_port_zero) {
  HostPort hp;
  std::string problem;
  if (!try_parse_host_port(text, allow_port_zero, &hp, &problem)) {
    throw std::invalid_argument(what + " '" + text + "': " + problem +
                                " (expected HOST:PORT, e.g. 127.0.0.1:7878, or [IPv6]:PORT)");
  }
  return hp;
}

namespace {

struct AddrInfoList {
  addrinfo* head = nullptr;
  ~AddrInfoList() {
    if (head) freeaddrinfo(head);
  }
};

void resolve(const HostPort& where, bool passive, AddrInfoList& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  const std::string port = std::to_string(where.port);
  const int r = getaddrinfo(where.host.c_str(), port.c_str(), &hints, &out.head);
  if (r != 0) throw std::runtime_error("cannot resolve host '" + where.host + "': " + gai_strerror(r));
}

}  // namespace

void prepare_socket(int fd) {
  if (!set_nonblocking(fd)) {
    throw std::runtime_error("fcntl(O_NONBLOCK): " + errno_text(errno));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // best effort
}

Fd listen_tcp(const HostPort& where, int backlog) {
  AddrInfoList list;
  resolve(where, true, list);
  std::string last_error = "no address";
  for (addrinfo* a = list.head; a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) {
      last_error = errno_text(errno);
      continue;
    }
    // A restarted agent can bind its port again while old connections sit in TIME_WAIT.
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), backlog) != 0) {
      last_error = errno_text(errno);
      continue;
    }
    prepare_socket(fd.get());
    return fd;
  }
  throw std::runtime_error("cannot listen on " + where.str() + ": " + last_error);
}

int bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("getsockname: " + errno_text(errno));
  }
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

Fd connect_tcp(const HostPort& where, double timeout_s) {
  AddrInfoList list;
  try {
    resolve(where, false, list);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("cannot connect to " + where.str() + ": " + e.what());
  }
  const auto deadline = deadline_after(timeout_s);
  std::string last_error = "no address";
  for (addrinfo* a = list.head; a; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) {
      last_error = errno_text(errno);
      continue;
    }
    prepare_socket(fd.get());
    // Non-blocking connect + poll: a blocking connect to a silent host waits for the kernel's
    // SYN retries (minutes), far beyond any useful timeout.
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last_error = errno_text(errno);
        continue;
      }
      const IoResult ready = wait_ready(fd.get(), POLLOUT, deadline);
      if (ready.status == IoStatus::kTimeout) {
        last_error = "timed out after " + seconds_text(timeout_s) + " s";
        continue;
      }
      if (!ready.ok()) throw WireError(WireError::Kind::kIo, "poll: " + errno_text(ready.error));
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = errno_text(err);
        continue;
      }
    }
    return fd;
  }
  throw std::runtime_error("cannot connect to " + where.str() + ": " + last_error);
}

namespace {

// The peer's address and port; false when the socket has none (already reset).
bool peer_address(int fd, HostPort* out) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return false;
  char host[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    out->port = ntohs(a->sin6_port);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    out->port = ntohs(a->sin_port);
  }
  out->host = host;
  return true;
}

}  // namespace

std::string peer_name(int fd) {
  HostPort hp;
  return peer_address(fd, &hp) ? hp.str() : "unknown peer";
}

std::string peer_host(int fd) {
  HostPort hp;
  return peer_address(fd, &hp) ? hp.host : "unknown peer";
}

// ------------------------------------------------------------------ frames

void send_all(int fd, const std::string& bytes, double timeout_s) {
  const IoResult r = thanos::send_all(fd, bytes.data(), bytes.size(), deadline_after(timeout_s));
  if (!r.ok()) throw_wire_error(r, false, timeout_s);
}

void send_frame(int fd, const json& message, double timeout_s) {
  // Invalid UTF-8 (say, an echo of a peer's garbage inside an error message) is replaced rather
  // than thrown: a reply must always go out.
  const std::string payload = message.dump(-1, ' ', false, json::error_handler_t::replace);
  if (payload.size() > kMaxFrameBytes) {
    throw WireError(WireError::Kind::kTooLarge, "message of " + std::to_string(payload.size()) +
                                                    " bytes exceeds the frame limit of " +
                                                    std::to_string(kMaxFrameBytes) + " bytes");
  }
  // One buffer, one send in the common case: prefix and payload leave in the same segment.
  send_all(fd, encode_frame(payload), timeout_s);
}

json recv_frame(int fd, double first_byte_timeout_s, double timeout_s) {
  // The first byte may take as long as the peer likes to think (idle client, long measurement);
  // once a frame started, the rest must follow within timeout_s.
  const FrameRead f = thanos::recv_frame(fd, kMaxFrameBytes, deadline_after(first_byte_timeout_s), timeout_s);
  if (!f.io.ok()) {
    // Before the first byte the wait was first_byte_timeout_s long; after it, timeout_s.
    throw_wire_error(f.io, true, f.started ? timeout_s : first_byte_timeout_s);
  }
  if (f.too_large) {
    throw WireError(WireError::Kind::kTooLarge, "frame of " + std::to_string(f.length) +
                                                    " bytes exceeds the limit of " + std::to_string(kMaxFrameBytes) +
                                                    " bytes");
  }
  // Invalid JSON, invalid UTF-8 and nesting beyond the limit (a peer's `[[[...` must not reach a
  // recursive dump or comparison) are all malformed.
  json message;
  try {
    message = parse_json_input(f.payload, "message");
  } catch (const std::invalid_argument&) {
    throw WireError(WireError::Kind::kMalformed, std::string("the message is not valid UTF-8 JSON of at most ") +
                                                     std::to_string(kMaxJsonDepth) + " levels");
  }
  if (!message.is_object()) throw WireError(WireError::Kind::kMalformed, "the message is not a JSON object");
  return message;
}

void linger_shutdown(int fd, double linger_s) {
  if (fd < 0) return;
  ::shutdown(fd, SHUT_WR);
  const auto deadline = deadline_after(linger_s);
  char sink[4096];
  std::size_t discarded = 0;
  // Bounded in time and bytes: a peer that keeps sending does not hold the thread.
  while (discarded < (1u << 20)) {
    const ssize_t r = ::recv(fd, sink, sizeof(sink), 0);
    if (r > 0) {
      discarded += static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_ready(fd, POLLIN, deadline).ok()) continue;
    }
    break;  // EOF, error or linger time over
  }
  ::shutdown(fd, SHUT_RDWR);
}

json error_message(const std::string& code, const std::string& message) {
  return {{"type", "error"}, {"code", code}, {"message", message}};
}

}  // namespace thanos::agent
