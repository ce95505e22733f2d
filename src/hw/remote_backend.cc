// The client side of docs/AGENT.md: RemoteBackend ("remote://HOST:PORT").
#include <openssl/crypto.h>

#include "thanos/hw/agent.h"
#include "thanos/hw/measurement_json.h"

namespace thanos {
namespace {

using json = nlohmann::json;
using agent::WireError;

std::string type_of(const json& message) {
  return message.contains("type") && message["type"].is_string() ? message["type"].get<std::string>() : "";
}

std::string text_of(const json& message, const char* key) {
  return message.contains(key) && message[key].is_string() ? message[key].get<std::string>() : "";
}

}  // namespace

agent::HostPort parse_remote_address(const std::string& address) {
  const std::string scheme = "remote://";
  const std::string expected = " (expected remote://HOST:PORT, e.g. remote://192.168.1.20:7878)";
  if (address.compare(0, scheme.size(), scheme) != 0) {
    throw std::invalid_argument("remote address '" + address + "': must start with remote://" + expected);
  }
  const std::string rest = address.substr(scheme.size());
  if (rest.find('/') != std::string::npos) {
    throw std::invalid_argument("remote address '" + address + "': unexpected path after HOST:PORT" + expected);
  }
  agent::HostPort hp;
  std::string problem;
  if (!agent::try_parse_host_port(rest, /*allow_port_zero=*/false, &hp, &problem)) {
    throw std::invalid_argument("remote address '" + address + "': " + problem + expected);
  }
  return hp;
}

RemoteBackend::RemoteBackend(const std::string& address, std::string token, RemoteOptions options)
    : where_(parse_remote_address(address)), token_(std::move(token)), options_(options) {
  name_ = "remote://" + where_.str();
  if (token_.empty()) throw std::invalid_argument(name_ + ": the token is empty (see --token-file)");
}

RemoteBackend::~RemoteBackend() {
  disconnect();
  // The token has no business outliving the backend in freed memory.
  OPENSSL_cleanse(token_.data(), token_.size());
}

void RemoteBackend::fail(const std::string& what) const { throw std::runtime_error(name_ + ": " + what); }

void RemoteBackend::disconnect() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!fd_.valid()) return;
  try {
    agent::send_frame(fd_.get(), {{"type", "bye"}}, 1.0);
  } catch (const WireError&) {
    // Already gone: nothing to say goodbye to.
  }
  fd_.reset();
}

void RemoteBackend::connect() {
  // An agent under a flood of unauthenticated connections may give this one's handshake slot to
  // a newer connection; the next round trip usually gets through, so reconnect a few times.
  for (int attempt = 1;; ++attempt) {
    if (connect_once(/*last_attempt=*/attempt == kHandshakeAttempts)) return;
  }
}

bool RemoteBackend::connect_once(bool last_attempt) {
  fd_.reset();
  Fd fd;
  try {
    fd = agent::connect_tcp(where_, options_.connect_timeout_s);
  } catch (const std::runtime_error& e) {
    fail(std::string(e.what()) + " (is `thanos agent` running there, and reachable?)");
  }
  const double t = options_.handshake_timeout_s;
  try {
    const json hello = agent::recv_frame(fd.get(), t, t);
    const std::string type = type_of(hello);
    if (type == "error") fail(text_of(hello, "message"));  // e.g. "agent busy: 4 clients connected"
    if (type != "hello" || !hello.contains("version") || !hello["version"].is_number_integer()) {
      fail("not a THANOS agent: expected a hello with a protocol version, got " + hello.dump().substr(0, 80));
    }
    const std::int64_t version = hello["version"].get<std::int64_t>();  // not narrowed: 2^32 + 1 is not version 1
    if (version != agent::kProtocolVersion) {
      fail("protocol version mismatch: the agent speaks version " + std::to_string(version) +
           ", this client speaks version " + std::to_string(agent::kProtocolVersion) +
           "; run the same THANOS release on both ends");
    }
    std::string server_nonce;
    try {
      server_nonce = agent::from_hex(text_of(hello, "server_nonce"), "hello: server_nonce");
    } catch (const std::invalid_argument& e) {
      fail(std::string("malformed hello from the agent: ") + e.what());
    }
    if (server_nonce.size() != agent::kNonceBytes) fail("malformed hello from the agent: server_nonce has the wrong length");
    const std::string client_nonce = agent::random_bytes(agent::kNonceBytes);
    agent::send_frame(fd.get(),
                      {{"type", "auth"},
                       {"version", agent::kProtocolVersion},
                       {"client_nonce", agent::to_hex(client_nonce)},
                       {"mac", agent::to_hex(agent::client_proof(token_, server_nonce, client_nonce))}},
                      t);
    // The agent delays a refusal (online guessing); allow for it on top of the handshake time.
    const json reply = agent::recv_frame(fd.get(), t + 5, t);
    if (type_of(reply) == "error") {
      const std::string code = text_of(reply, "code");
      if (code == agent::error_code::kHandshakeEvicted && !last_attempt) return false;
      if (code == agent::error_code::kAuthFailed) {
        fail("authentication failed: the agent refused the token (check --token-file)");
      }
      fail(text_of(reply, "message"));  // version mismatch and the like: the agent's own words
    }
    std::string mac;
    try {
      mac = agent::from_hex(text_of(reply, "mac"), "welcome: mac");
    } catch (const std::invalid_argument&) {
    }
    if (type_of(reply) != "welcome" ||
        !agent::constant_time_equal(mac, agent::server_proof(token_, server_nonce, client_nonce))) {
      // Mutual authentication: whatever answers here must hold the token too, or we would send
      // it our candidates and believe its numbers.
      fail("authentication failed: the agent did not prove it holds the token (a different agent at this "
           "address, or a different token on its side)");
    }
  } catch (const WireError& e) {
    fail(std::string("handshake failed: ") + e.what());
  }
  fd_ = std::move(fd);
  return true;
}

json RemoteBackend::exchange(const json& request, double reply_timeout_s) {
  agent::send_frame(fd_.get(), request, options_.io_timeout_s);
  return agent::recv_frame(fd_.get(), reply_timeout_s, options_.io_timeout_s);
}

// One request/reply on the kept connection. A connection found dead (the agent's idle timeout, a
// restart, a network blip) is replaced once and the request sent again; a fresh connection that
// fails, or a timeout, is reported (a second try would just wait as long again).
json RemoteBackend::call(const json& request, double reply_timeout_s) {
  const bool reused = fd_.valid();
  if (!reused) connect();
  try {
    return exchange(request, reply_timeout_s);
  } catch (const WireError& e) {
    fd_.reset();  // its state is unknown now: a late reply would answer the next request
    if (e.kind() == WireError::Kind::kTimeout) {
      fail(std::string(e.what()) + " waiting for the agent (RemoteOptions reply timeout: " +
           std::to_string(static_cast<long long>(reply_timeout_s)) + " s)");
    }
    if (!(reused && e.kind() == WireError::Kind::kClosed)) fail(std::string("connection to the agent failed: ") + e.what());
  }
  connect();
  try {
    return exchange(request, reply_timeout_s);
  } catch (const WireError& e) {
    fd_.reset();
    fail(std::string("connection to the agent failed (after reconnecting): ") + e.what());
  }
}

Measurement RemoteBackend::measure(const MeasureRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  const json message = {{"type", "measure"}, {"request", request_to_json(request)}};
  const json reply = call(message, options_.measure_timeout_s);
  const std::string type = type_of(reply);
  if (type == "error") {
    const std::string code = text_of(reply, "code");
    const std::string text = text_of(reply, "message");
    // The agent keeps the connection after a refused or failed measurement, closes it after
    // anything else (it did not understand us).
    if (code == agent::error_code::kBadRequest) {
      throw std::invalid_argument(name_ + ": the agent refused the request: " + text);
    }
    if (code == agent::error_code::kMeasureFailed) fail("the agent could not measure: " + text);
    fd_.reset();
    fail("the agent rejected the message: " + text);
  }
  if (type != "result" || !reply.contains("measurement")) {
    fd_.reset();
    fail("unexpected reply to a measure request: " + reply.dump().substr(0, 120));
  }
  Measurement m;
  try {
    m = measurement_from_json(reply["measurement"], name_ + " result");
  } catch (const std::invalid_argument& e) {
    fail(std::string("malformed result from the agent: ") + e.what());
  }
  // Where it ran, as the search records it: this agent, then the agent's own backend.
  m.backend = name_ + "/" + (m.backend.empty() ? text_of(reply, "backend") : m.backend);
  return m;
}

json RemoteBackend::info() {
  std::lock_guard<std::mutex> lock(mutex_);
  const json message = {{"type", "info"}};
  json reply = call(message, options_.io_timeout_s);
  if (type_of(reply) != "info") {
    fd_.reset();
    fail("unexpected reply to an info request: " + reply.dump().substr(0, 120));
  }
  return reply;
}

}  // namespace thanos
