// The agent side of docs/AGENT.md: accept loop, per-connection threads, handshake, requests.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include "thanos/hw/agent.h"
#include "thanos/hw/host_info.h"
#include "thanos/hw/measurement_json.h"

#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {
namespace {

using json = nlohmann::json;
using agent::WireError;

// A string field of a peer's message, or an invalid_argument naming it.
std::string string_field(const json& j, const std::string& key, const std::string& what) {
  if (!j.contains(key) || !j.at(key).is_string()) {
    throw std::invalid_argument(what + ": field '" + key + "' missing or not a string");
  }
  return j.at(key).get<std::string>();
}

// Sends a last frame, tolerating a peer that is already gone (there is nobody left to tell).
void send_best_effort(int fd, const json& message, double timeout_s) {
  try {
    agent::send_frame(fd, message, timeout_s);
  } catch (const WireError&) {
  }
}

constexpr double kLingerS = 1.0;  // how long a closing connection waits for the peer's close

}  // namespace

std::string read_token_file(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::invalid_argument("token file " + path + ": cannot be read (" + std::strerror(errno) +
                                "); create one with e.g. `head -c 32 /dev/urandom | base64 > " + path +
                                " && chmod 600 " + path + "`");
  }
  // At most 64 KiB (a token is a few dozen bytes): `--token-file /dev/zero` must not read forever.
  constexpr std::size_t kMaxTokenBytes = 64 * 1024;
  std::string token(kMaxTokenBytes + 1, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  token.resize(static_cast<std::size_t>(in.gcount()));
  if (token.size() > kMaxTokenBytes) {
    throw std::invalid_argument("token file " + path + ": longer than 64 KiB; expected a short shared token (e.g. 32 random bytes in base64)");
  }
  // Editors and `echo` add a newline; the token is what a person sees, not the line ending.
  const auto end = token.find_last_not_of(" \t\r\n\v\f");
  token.erase(end == std::string::npos ? 0 : end + 1);
  if (token.empty()) throw std::invalid_argument("token file " + path + " is empty: the agent needs a shared token");
  struct stat st {};
  if (warnings && ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%03o", static_cast<unsigned>(st.st_mode & 0777));
    warnings->push_back("token file " + path + " is readable by group or others (mode " + mode +
                        "); anyone who reads it can use the agent: chmod 600 " + path);
  }
  return token;
}

AgentServer::AgentServer(Backend& backend, AgentOptions options) : backend_(backend), options_(std::move(options)) {
  if (options_.token.empty()) throw std::invalid_argument("agent: the token is empty (see --token-file)");
  auto at_least_one = [](const char* flag, int v) {
    if (v < 1) throw std::invalid_argument(std::string("agent: ") + flag + " must be >= 1, got " + std::to_string(v));
  };
  at_least_one("--max-clients", options_.max_clients);
  at_least_one("--max-handshakes", options_.max_handshakes);
  at_least_one("--max-handshakes-per-address", options_.max_handshakes_per_address);
  options_.limits.validate();
  if (!options_.log) {
    options_.log = [](const std::string& line) {
      // One write per line, so lines of concurrent connections do not interleave.
      std::cerr << ("thanos agent: " + line + "\n") << std::flush;
    };
  }
  listener_ = agent::listen_tcp(options_.listen, /*backlog=*/16);
  port_ = agent::bound_port(listener_.get());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("agent: pipe: ") + std::strerror(errno));
  }
  wake_read_.reset(pipe_fds[0]);
  wake_write_.reset(pipe_fds[1]);
}

AgentServer::~AgentServer() {
  stop();
  reap(true);
}

std::string AgentServer::address() const {
  agent::HostPort hp = options_.listen;
  hp.port = port_;
  return hp.str();
}

json AgentServer::info() const {
  json j = {{"type", "info"},
            {"protocol", agent::kProtocolName},
            {"protocol_version", agent::kProtocolVersion},
            {"host", host_name()},
            {"thanos_version", THANOS_VERSION_STRING},
            {"backend", backend_.name()},
            {"devices", options_.devices},
            {"max_clients", options_.max_clients},
            {"max_handshakes", options_.max_handshakes},
            {"max_handshakes_per_address", options_.max_handshakes_per_address}};
  j.update(options_.limits.to_json());  // threads, memory_cap_mib, max_timeout_s, max_beam, ...
  return j;
}

void AgentServer::log(const std::string& line) const { options_.log(line); }

void AgentServer::stop() {
  stopping_ = true;
  const char byte = 1;
  // The pipe is non-blocking: a full pipe already holds a wake-up.
  [[maybe_unused]] const ssize_t w = ::write(wake_write_.get(), &byte, 1);
}

void AgentServer::reap(bool all) {
  std::list<Connection> finished;
  {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (all || it->done) {
        // Wakes a thread blocked in poll/recv on this connection; it then finishes by itself.
        if (all && !it->done) ::shutdown(it->fd.get(), SHUT_RDWR);
        finished.splice(finished.end(), connections_, it);  // addresses stay valid for the thread
      }
      it = next;
    }
  }
  // Joined outside the lock: a finishing thread takes it to update the count.
  for (auto& c : finished) {
    if (c.thread.joinable()) c.thread.join();
  }
}

void AgentServer::serve(const std::atomic<bool>* stop_requested) {
  auto requested = [stop_requested] { return stop_requested != nullptr && stop_requested->load(); };
  while (!stopping_ && !requested()) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    // The timeout paces the reaping of finished connections and the look at `stop_requested`
    // (a signal that lands in a connection thread does not interrupt this poll).
    const int r = ::poll(fds, 2, 200);
    reap(false);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("agent: poll: ") + std::strerror(errno));
    }
    if (stopping_ || requested() || (fds[1].revents & POLLIN)) break;
    if (!(fds[0].revents & POLLIN)) continue;
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      // EAGAIN: another wake-up took it; ECONNABORTED: the client gave up; EMFILE: retry later.
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR) {
        log(std::string("accept failed: ") + std::strerror(errno));
      }
      continue;
    }
    agent::prepare_socket(fd.get());
    // Every connection starts in the handshake pool; only a proof of the token moves it to the
    // clients counted by max_clients (handshake()), so nothing without the token can fill those.
    std::string peer = agent::peer_name(fd.get()), host = agent::peer_host(fd.get());
    std::lock_guard<std::mutex> lock(connections_mutex_);
    make_room_for_handshake(host);
    auto& c = connections_.emplace_back();
    c.fd = std::move(fd);
    c.peer = std::move(peer);
    c.host = std::move(host);
    ++handshaking_;
    ++handshaking_per_host_[c.host];
    try {
      c.thread = std::thread([this, &c] { serve_connection(c); });
    } catch (const std::system_error& e) {
      // Out of threads: this connection is dropped (closed when reaped), the agent carries on.
      log(c.peer + ": cannot start a thread (" + e.what() + "); closing");
      leave_stage(c);
      c.done = true;
    }
  }
  reap(true);
}

void AgentServer::make_room_for_handshake(const std::string& host) {
  const auto held = handshaking_per_host_.find(host);
  const int of_host = held == handshaking_per_host_.end() ? 0 : held->second;
  std::string from;  // whose oldest handshake goes
  std::string why;
  if (of_host >= options_.max_handshakes_per_address) {
    // The address pushes out its own oldest: a client retrying from behind a flood of its own
    // address still gets in, and no address holds more than its share.
    from = host;
    why = std::to_string(of_host) + " handshakes from " + host + " (--max-handshakes-per-address " +
          std::to_string(options_.max_handshakes_per_address) + ")";
  } else if (handshaking_ >= options_.max_handshakes) {
    // The pool is full: the address holding the most slots gives up its oldest (ties: the one
    // whose oldest is oldest), so a flood from few addresses never displaces a lone client.
    int most = 0;
    for (const auto& [h, n] : handshaking_per_host_) most = std::max(most, n);
    for (const auto& c : connections_) {
      if (c.stage == Stage::kHandshake && handshaking_per_host_[c.host] == most) {
        from = c.host;
        break;
      }
    }
    why = std::to_string(handshaking_) + " handshakes in progress (--max-handshakes " +
          std::to_string(options_.max_handshakes) + ")";
  } else {
    return;
  }
  for (auto& c : connections_) {
    if (c.stage != Stage::kHandshake || c.host != from) continue;
    log(c.peer + ": handshake slot given to a newer connection: " + why);
    leave_stage(c);
    c.evicted = true;
    // Wakes its thread (blocked reading the auth message): it sees `evicted`, tells the peer and
    // ends. The descriptor stays open until the thread is joined.
    ::shutdown(c.fd.get(), SHUT_RD);
    return;
  }
}

void AgentServer::leave_stage(Connection& c) {
  if (c.stage == Stage::kHandshake) {
    --handshaking_;
    const auto it = handshaking_per_host_.find(c.host);
    if (it != handshaking_per_host_.end() && --it->second <= 0) handshaking_per_host_.erase(it);
  } else if (c.stage == Stage::kAuthenticated) {
    --authenticated_;
  }
  c.stage = Stage::kGone;
}

void AgentServer::serve_connection(Connection& c) {
  const int fd = c.fd.get();
  bool close_gracefully = true;
  try {
    if (handshake(c)) {
      for (;;) {
        json message;
        try {
          message = agent::recv_frame(fd, options_.idle_timeout_s, options_.io_timeout_s);
        } catch (const WireError& e) {
          if (e.kind() == WireError::Kind::kTooLarge) {
            log(c.peer + ": " + e.what() + "; closing");
            send_best_effort(fd, agent::error_message(agent::error_code::kTooLarge, e.what()), options_.io_timeout_s);
          } else if (e.kind() == WireError::Kind::kMalformed) {
            log(c.peer + ": garbage message (" + e.what() + "); closing");
            send_best_effort(fd, agent::error_message(agent::error_code::kBadMessage, e.what()), options_.io_timeout_s);
          } else if (e.kind() == WireError::Kind::kClosed) {
            log(c.peer + ": disconnected");
            close_gracefully = false;
          } else {
            // Idle or stalled mid-frame: closed without a frame, which the client could take for
            // the answer to a request it sends later. RemoteBackend reconnects instead.
            log(c.peer + ": " + e.what() + "; closing");
          }
          break;
        }
        const std::string type = message.contains("type") && message["type"].is_string()
                                     ? message["type"].get<std::string>()
                                     : std::string();
        if (type == "bye") {
          log(c.peer + ": bye");
          break;
        }
        if (type == "info") {
          agent::send_frame(fd, info(), options_.io_timeout_s);
          continue;
        }
        if (type == "measure") {
          json reply;
          try {
            reply = handle_measure(message);
          } catch (const std::invalid_argument& e) {
            // A request that does not parse is a client speaking another dialect: closed, as any
            // garbage. (A request the backend refuses is answered in handle_measure.)
            log(c.peer + ": malformed measure request (" + e.what() + "); closing");
            send_best_effort(fd, agent::error_message(agent::error_code::kBadMessage, e.what()), options_.io_timeout_s);
            break;
          }
          try {
            agent::send_frame(fd, reply, options_.io_timeout_s);
          } catch (const WireError& e) {
            log(c.peer + ": could not send the result (" + e.what() + "); the client left during the measurement");
            close_gracefully = false;
            break;
          }
          continue;
        }
        const std::string why = type.empty() ? "message without a string field 'type'"
                                             : "unknown message type '" + type + "' (expected measure, info or bye)";
        log(c.peer + ": " + why + "; closing");
        send_best_effort(fd, agent::error_message(agent::error_code::kBadMessage, why), options_.io_timeout_s);
        break;
      }
    }
  } catch (const std::exception& e) {
    // Nothing a client does may take the agent down: any failure ends this connection only.
    log(c.peer + ": " + e.what() + "; closing");
  }
  if (close_gracefully) {
    agent::linger_shutdown(fd, kLingerS);
  } else {
    ::shutdown(fd, SHUT_RDWR);
  }
  std::lock_guard<std::mutex> lock(connections_mutex_);
  leave_stage(c);
  c.done = true;
}

bool AgentServer::handshake(Connection& c) {
  const int fd = c.fd.get();
  const double t = options_.handshake_timeout_s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                                 std::chrono::duration<double>(t));
  auto evicted = [&] {
    std::lock_guard<std::mutex> lock(connections_mutex_);
    return c.evicted;
  };
  // The peer of an evicted connection hears why (a client of ours reports it and can retry).
  auto tell_evicted = [&] {
    const std::string why = "agent busy: too many connections in the handshake (--max-handshakes " +
                            std::to_string(options_.max_handshakes) + ", --max-handshakes-per-address " +
                            std::to_string(options_.max_handshakes_per_address) +
                            "); a newer connection took this one's slot; try again";
    send_best_effort(fd, agent::error_message(agent::error_code::kHandshakeEvicted, why), 1.0);
    return false;
  };
  const std::string server_nonce = agent::random_bytes(agent::kNonceBytes);
  agent::send_frame(fd,
                    {{"type", "hello"},
                     {"protocol", agent::kProtocolName},
                     {"version", agent::kProtocolVersion},
                     {"server_nonce", agent::to_hex(server_nonce)}},
                    t);
  json auth;
  try {
    auth = agent::recv_frame(fd, t, t);
  } catch (const WireError& e) {
    if (evicted()) return tell_evicted();
    if (e.kind() == WireError::Kind::kTooLarge || e.kind() == WireError::Kind::kMalformed) {
      log(c.peer + ": garbage during the handshake (" + e.what() + "); closing");
      send_best_effort(fd,
                       agent::error_message(e.kind() == WireError::Kind::kTooLarge ? agent::error_code::kTooLarge
                                                                                    : agent::error_code::kBadMessage,
                                            e.what()),
                       t);
    } else {
      log(c.peer + ": handshake ended: " + e.what());
    }
    return false;
  }
  auto refuse = [&](const char* code, const std::string& why) {
    log(c.peer + ": " + why + "; closing");
    send_best_effort(fd, agent::error_message(code, why), t);
    return false;
  };
  if (!auth.contains("type") || auth["type"] != "auth") {
    return refuse(agent::error_code::kBadMessage, "expected an auth message after hello, got " + auth.dump().substr(0, 80));
  }
  if (!auth.contains("version") || !auth["version"].is_number_integer()) {
    return refuse(agent::error_code::kBadMessage, "auth message: field 'version' missing or not an integer");
  }
  const std::int64_t version = auth["version"].get<std::int64_t>();  // not narrowed: 2^32 + 1 is not version 1
  if (version != agent::kProtocolVersion) {
    return refuse(agent::error_code::kVersionMismatch,
                  "protocol version mismatch: the client speaks version " + std::to_string(version) +
                      ", this agent speaks version " + std::to_string(agent::kProtocolVersion) +
                      "; run the same THANOS release on both ends");
  }
  std::string client_nonce, mac;
  try {
    client_nonce = agent::from_hex(string_field(auth, "client_nonce", "auth message"), "auth message: client_nonce");
    mac = agent::from_hex(string_field(auth, "mac", "auth message"), "auth message: mac");
  } catch (const std::invalid_argument& e) {
    return refuse(agent::error_code::kBadMessage, e.what());
  }
  if (client_nonce.size() != agent::kNonceBytes) {
    return refuse(agent::error_code::kBadMessage, "auth message: client_nonce must be " +
                                                      std::to_string(agent::kNonceBytes) + " bytes (" +
                                                      std::to_string(2 * agent::kNonceBytes) + " hex digits)");
  }
  if (!wait_for_verification_turn(c, deadline)) {
    if (evicted()) return tell_evicted();
    return refuse(agent::error_code::kBusy, "too many failed authentications from " + c.host + "; try again later");
  }
  if (!agent::constant_time_equal(mac, agent::client_proof(options_.token, server_nonce, client_nonce))) {
    {
      // The address waits before its next proof is checked: online guessing is slowed where it
      // comes from, and nobody else waits.
      std::lock_guard<std::mutex> lock(connections_mutex_);
      const auto now = std::chrono::steady_clock::now();
      if (verify_not_before_.size() >= 1024) {
        for (auto it = verify_not_before_.begin(); it != verify_not_before_.end();) {
          it = it->second <= now ? verify_not_before_.erase(it) : std::next(it);
        }
      }
      verify_not_before_[c.host] =
          now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(options_.auth_failure_delay_s));
    }
    return refuse(agent::error_code::kAuthFailed, "authentication failed: wrong token");
  }
  {
    // From the handshake pool to the clients: the only way into max_clients' count.
    std::lock_guard<std::mutex> lock(connections_mutex_);
    if (c.evicted) {
      // Lost its slot between reading the proof and here; it may retry at once.
    } else if (authenticated_ >= options_.max_clients) {
      leave_stage(c);
      const std::string why = "agent busy: " + std::to_string(authenticated_) + " clients connected (--max-clients " +
                              std::to_string(options_.max_clients) + "); try again later";
      // Refused after the proof, so that only token holders learn how busy the agent is.
      log(c.peer + ": refused: " + why);
      send_best_effort(fd, agent::error_message(agent::error_code::kBusy, why), 1.0);
      return false;
    } else {
      leave_stage(c);
      c.stage = Stage::kAuthenticated;
      ++authenticated_;
    }
  }
  if (evicted()) return tell_evicted();
  agent::send_frame(fd,
                    {{"type", "welcome"},
                     {"version", agent::kProtocolVersion},
                     {"mac", agent::to_hex(agent::server_proof(options_.token, server_nonce, client_nonce))},
                     {"backend", backend_.name()}},
                    t);
  log(c.peer + ": authenticated");
  return true;
}

bool AgentServer::wait_for_verification_turn(Connection& c, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(connections_mutex_);
      if (c.evicted || stopping_) return false;
      const auto it = verify_not_before_.find(c.host);
      if (it == verify_not_before_.end()) return true;
      if (now >= it->second) {
        // After a failure, one check per delay: this one takes the next window, so connections
        // that waited together do not all get checked at once.
        it->second = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(options_.auth_failure_delay_s));
        return true;
      }
    }
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

json AgentServer::handle_measure(const json& message) {
  if (!message.contains("request")) throw std::invalid_argument("measure message: field 'request' missing");
  MeasureRequest request;
  try {
    request = request_from_json(message["request"], "measure request");
  } catch (const nlohmann::json::exception& e) {
    // A field of an unexpected JSON type deep inside the config: as malformed as a missing one.
    throw std::invalid_argument(std::string("measure request: ") + e.what());
  }
  // The board's owner has the last word (AgentLimits): beyond a bound is a refused request, not
  // a malformed one, so the connection stays.
  try {
    apply_agent_limits(options_.limits, request);
  } catch (const std::invalid_argument& e) {
    return agent::error_message(agent::error_code::kBadRequest, e.what());
  }
  Measurement m;
  try {
    const auto queued = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(measure_mutex_);
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - queued).count();
    if (waited > 1) log("a measurement waited " + std::to_string(static_cast<int>(waited)) + " s for the board");
    m = backend_.measure(request);
  } catch (const std::invalid_argument& e) {
    return agent::error_message(agent::error_code::kBadRequest, e.what());
  } catch (const std::exception& e) {
    log(std::string("measurement failed: ") + e.what());
    return agent::error_message(agent::error_code::kMeasureFailed, e.what());
  }
  return {{"type", "result"}, {"backend", backend_.name()}, {"measurement", measurement_to_json(m)}};
}

}  // namespace thanos
