// What `thanos agent` parses from a client: a real AgentServer (loopback, a fake backend) is sent
// the input over TCP. The first byte chooses whether the harness first authenticates correctly
// (bit 0: then the rest reaches the authenticated loop: measure/info/bye messages) or sends the
// rest as the handshake's answer (garbage, wrong MACs, deep nesting, oversize length prefixes).
// Then the harness half-closes and reads until the agent closes: the agent must answer only with
// well-formed frames and close within the timeout, and stay up for the next input (a crash of any
// connection thread ends the process).
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "fake_backend.h"
#include "fuzz_target.h"
#include "thanos/common/frame_codec.h"
#include "thanos/hw/agent.h"

using namespace thanos;
using namespace thanos::fuzz;
using nlohmann::json;

namespace {

constexpr const char* kToken = "fuzz-token-0123456789";
constexpr double kTimeoutS = 5;

// One agent for the whole process (started on first use, never stopped: inputs follow each other).
AgentServer& the_agent() {
  static AgentServer* server = [] {
    static FakeBackend backend;
    AgentOptions options;
    options.token = kToken;
    options.max_clients = 64;  // a finished connection's slot is freed a moment after it closes
    options.handshake_timeout_s = kTimeoutS;
    options.idle_timeout_s = kTimeoutS;
    options.io_timeout_s = kTimeoutS;
    options.auth_failure_delay_s = 0;
    options.log = [](const std::string&) {};
    auto* s = new AgentServer(backend, options);
    std::thread([s] { s->serve(); }).detach();
    return s;
  }();
  return *server;
}

// Everything the agent sends until it closes (a finding when it neither closes nor answers in time).
std::string read_until_closed(int fd) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(3 * kTimeoutS);
  char buf[4096];
  for (;;) {
    const ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r > 0) {
      out.append(buf, static_cast<std::size_t>(r));
      continue;
    }
    if (r == 0) return out;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return out;  // reset: closed as well
    if (std::chrono::steady_clock::now() > deadline) finding("the agent neither answered nor closed in time");
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 100);
  }
}

}  // namespace

THANOS_FUZZ_TARGET(agent_server) {
  if (size == 0) return 0;
  AgentServer& server = the_agent();
  const bool authenticate = (data[0] & 1) != 0;
  const std::string rest = as_text(data + 1, size - 1);
  Fd fd = agent::connect_tcp({"127.0.0.1", server.port()}, kTimeoutS);
  try {
    const json hello = agent::recv_frame(fd.get(), kTimeoutS, kTimeoutS);
    if (hello.value("type", "") != "hello") finding("the agent did not say hello: " + hello.dump());
    if (authenticate) {
      const std::string server_nonce = agent::from_hex(hello.at("server_nonce").get<std::string>(), "hello");
      const std::string client_nonce(agent::kNonceBytes, 'n');
      agent::send_frame(fd.get(),
                        {{"type", "auth"},
                         {"version", agent::kProtocolVersion},
                         {"client_nonce", agent::to_hex(client_nonce)},
                         {"mac", agent::to_hex(agent::client_proof(kToken, server_nonce, client_nonce))}},
                        kTimeoutS);
      const json welcome = agent::recv_frame(fd.get(), kTimeoutS, kTimeoutS);
      if (welcome.value("type", "") != "welcome") finding("a correct client was not welcomed: " + welcome.dump());
    }
    agent::send_all(fd.get(), rest, kTimeoutS);
  } catch (const agent::WireError& e) {
    // The agent may close while the input is still being sent (it stops reading garbage early).
    if (e.kind() != agent::WireError::Kind::kClosed) finding(std::string("talking to the agent: ") + e.what());
  }
  ::shutdown(fd.get(), SHUT_WR);
  const std::string answer = read_until_closed(fd.get());
  // Whatever the agent said must be whole frames of JSON objects with a type.
  std::size_t pos = 0;
  while (pos + kFramePrefixBytes <= answer.size()) {
    const std::uint32_t n = frame_length(reinterpret_cast<const unsigned char*>(answer.data() + pos));
    pos += kFramePrefixBytes;
    if (n > answer.size() - pos) break;  // cut by a reset: the agent closed with input unread
    const json message = json::parse(answer.substr(pos, n), nullptr, /*allow_exceptions=*/false);
    if (!message.is_object() || !message.contains("type") || !message["type"].is_string()) {
      finding("the agent sent a frame that is not a typed JSON object");
    }
    pos += n;
  }
  return 0;
}
