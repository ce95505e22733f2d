#pragma once
// Measuring on another machine (docs/AGENT.md). `thanos agent` runs on the edge board: an
// AgentServer that authenticates clients with a shared token and measures with the board's own
// Backend, one measurement at a time. RemoteBackend is the client: a Backend named
// "remote://HOST:PORT" that the search uses like any local one.
#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "thanos/hw/agent_limits.h"
#include "thanos/hw/agent_protocol.h"
#include "thanos/hw/backend.h"

namespace thanos {

// Reads a shared token: the file's content with trailing whitespace (the newline editors add)
// removed. Throws std::invalid_argument naming the file when it is missing, unreadable or empty.
// Appends a warning to `warnings` when group or others may read it (the token is the only key
// to the agent).
std::string read_token_file(const std::string& path, std::vector<std::string>* warnings = nullptr);

struct AgentOptions {
  agent::HostPort listen{"127.0.0.1", 0};  // loopback unless told otherwise; port 0 = any free
  std::string token;                       // shared secret (read_token_file); never sent
  // Authenticated connections served at once; one more that proves the token gets `busy`.
  int max_clients = 4;
  // Connections still in the handshake (no proof of the token yet) have slots of their own, so
  // peers without the token cannot starve those with it. A new connection from an address that
  // holds max_handshakes_per_address of them replaces that address's oldest; when all
  // max_handshakes are taken, it replaces the oldest of the address holding the most. A correct
  // client needs its slot for one round trip (hello, auth), so silent or slow peers only ever
  // push each other out (docs/AGENT.md, "Limits against misbehaving peers").
  int max_handshakes = 32;
  int max_handshakes_per_address = 4;
  // What an authenticated client may ask of the board (threads, memory cap, timeout, beam,
  // lengths, vocabulary): replaced, capped or refused beyond (hw/agent_limits.h).
  AgentLimits limits;
  double handshake_timeout_s = agent::kHandshakeTimeoutS;
  // An authenticated client may stay silent this long between requests (it keeps its
  // connection across measurements; RemoteBackend reconnects after an idle close).
  double idle_timeout_s = 600;
  double io_timeout_s = 30;  // to finish a frame once it started, and to send a reply
  // After a failed authentication, the next proof from the same address is checked no earlier
  // than this: online token guessing gets one try per delay and address (plus one burst of at
  // most max_handshakes_per_address), and clients at other addresses do not wait.
  double auth_failure_delay_s = 0.5;
  std::vector<std::string> devices = {"cpu"};  // reported by `info`
  // One line per event (connections, failures); default: stderr with a "thanos agent: " prefix.
  std::function<void(const std::string&)> log;
};

class AgentServer {
 public:
  // Binds and listens at once (so address() is known before serve()); throws std::runtime_error
  // naming the address when it cannot, std::invalid_argument for an empty token, a limit below 1
  // or invalid request limits (AgentLimits::validate).
  AgentServer(Backend& backend, AgentOptions options);
  ~AgentServer();  // stop() and wait for every connection thread
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT", the bound port (never 0)
  nlohmann::json info() const;   // what {"type":"info"} answers

  // Accepts and serves clients, one thread each, until stop() or until `*stop_requested` turns
  // true (a StopSignalScope's flag, common/signal_scope.h: SIGINT/SIGTERM), seen within 0.2 s.
  // Measurements are serialized.
  void serve(const std::atomic<bool>* stop_requested = nullptr);
  // Thread-safe, also from a connection thread. Open connections are shut down; a measurement in
  // progress runs to its end first (a backend call cannot be interrupted).
  void stop();

 private:
  // Where a connection stands, for the counts of each pool (under connections_mutex_).
  enum class Stage { kHandshake, kAuthenticated, kGone };
  struct Connection {
    Fd fd;
    std::string peer;  // ADDR:PORT, for logs
    std::string host;  // ADDR: the per-address handshake limit and the failure delay key on it
    std::thread thread;
    std::atomic<bool> done{false};
    Stage stage = Stage::kHandshake;  // under connections_mutex_
    bool evicted = false;             // its handshake slot went to a newer connection (under the mutex)
  };

  void serve_connection(Connection& c);
  bool handshake(Connection& c);
  nlohmann::json handle_measure(const nlohmann::json& message);
  void reap(bool all);
  void log(const std::string& line) const;
  // Under connections_mutex_: frees a handshake slot for a new connection from `host` if its
  // address or the pool is full, by evicting the connection the limits say.
  void make_room_for_handshake(const std::string& host);
  void leave_stage(Connection& c);  // under connections_mutex_: uncounts c; stage kGone
  // Waits until this connection's address may have a proof checked (auth_failure_delay_s after
  // its last failure); false when evicted, stopping, or not before `deadline`.
  bool wait_for_verification_turn(Connection& c, std::chrono::steady_clock::time_point deadline);

  Backend& backend_;
  AgentOptions options_;
  Fd listener_;
  int port_ = 0;
  Fd wake_read_, wake_write_;  // self-pipe: stop() wakes the accept loop
  std::atomic<bool> stopping_{false};
  std::mutex connections_mutex_;
  std::list<Connection> connections_;  // in the order they were accepted
  // Under connections_mutex_:
  int handshaking_ = 0;     // connections in Stage::kHandshake
  int authenticated_ = 0;   // connections in Stage::kAuthenticated
  std::map<std::string, int> handshaking_per_host_;
  // The earliest time the next proof from an address is checked; entries expire (pruned).
  std::map<std::string, std::chrono::steady_clock::time_point> verify_not_before_;
  // One measurement at a time on the board: concurrent ones would disturb each other's timings
  // and memory. Waiting clients queue on this mutex.
  std::mutex measure_mutex_;
};

// "remote://HOST:PORT" (HOST may be "[IPv6]"). Throws std::invalid_argument naming the address
// and what is wrong (scheme, missing port, port out of range, trailing path).
agent::HostPort parse_remote_address(const std::string& address);

struct RemoteOptions {
  double connect_timeout_s = 10;
  double handshake_timeout_s = agent::kHandshakeTimeoutS;
  double io_timeout_s = 30;  // sending a request, receiving small replies
  // Waiting for a measurement result: the agent measures one candidate at a time, so this covers
  // the queue behind other clients plus a measurement that may take minutes.
  double measure_timeout_s = 3600;
};

class RemoteBackend : public Backend {
 public:
  // Does not connect yet (the first measure() or info() does). Throws std::invalid_argument for a
  // malformed address or an empty token.
  RemoteBackend(const std::string& address, std::string token, RemoteOptions options = {});
  ~RemoteBackend() override;

  // One connection serves every call; a connection the agent dropped meanwhile (idle timeout,
  // restart) is replaced once. The result's `backend` is "remote://HOST:PORT/<agent's backend>".
  // Throws std::runtime_error naming the address: unreachable, authentication failed, version
  // mismatch, timeout, or the agent's error message.
  Measurement measure(const MeasureRequest& request) override;
  std::string name() const override { return name_; }
  // The agent's {"type":"info"} answer: host, thanos_version, protocol_version, backend, devices.
  nlohmann::json info();
  void disconnect();  // says bye and closes, if connected

 private:
  void connect();
  // One connection and handshake; false when the agent gave the handshake slot to a newer
  // connection and `last_attempt` is false (connect() tries again).
  bool connect_once(bool last_attempt);
  static constexpr int kHandshakeAttempts = 3;
  nlohmann::json exchange(const nlohmann::json& request, double reply_timeout_s);
  nlohmann::json call(const nlohmann::json& request, double reply_timeout_s);  // exchange + reconnect once
  [[noreturn]] void fail(const std::string& what) const;

  std::string name_;
  agent::HostPort where_;
  std::string token_;
  RemoteOptions options_;
  Fd fd_;
  std::mutex mutex_;  // one request at a time on the connection
};

}  // namespace thanos
