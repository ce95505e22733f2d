#pragma once
// Measuring on another machine (docs/AGENT.md). `thanos agent` runs on the edge board: an
// AgentServer that authenticates clients with a shared token and measures with the board's own
// Backend, one measurement at a time. RemoteBackend is the client: a Backend named
// "remote://HOST:PORT" that the search uses like any local one.
#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

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
  int max_clients = 4;                     // connections served at once; more are refused
  // Applied to every request, because the board's owner knows the board: > 0 replaces the
  // client's intra-op thread count; > 0 caps the client's memory cap (a client may ask for a
  // smaller cap, never for a larger one or none).
  int threads = 0;
  double memory_cap_mib = 0;
  double handshake_timeout_s = agent::kHandshakeTimeoutS;
  // An authenticated client may stay silent this long between requests (it keeps its
  // connection across measurements; RemoteBackend reconnects after an idle close).
  double idle_timeout_s = 600;
  double io_timeout_s = 30;  // to finish a frame once it started, and to send a reply
  // A failed authentication is answered after this delay, holding a client slot: online token
  // guessing gets at most max_clients / delay tries per second.
  double auth_failure_delay_s = 0.5;
  std::vector<std::string> devices = {"cpu"};  // reported by `info`
  // One line per event (connections, failures); default: stderr with a "thanos agent: " prefix.
  std::function<void(const std::string&)> log;
};

class AgentServer {
 public:
  // Binds and listens at once (so address() is known before serve()); throws std::runtime_error
  // naming the address when it cannot, std::invalid_argument for an empty token or max_clients < 1.
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
  struct Connection {
    Fd fd;
    std::string peer;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void serve_connection(Connection& c);
  bool handshake(Connection& c);
  nlohmann::json handle_measure(const nlohmann::json& message);
  void reap(bool all);
  void log(const std::string& line) const;

  Backend& backend_;
  AgentOptions options_;
  Fd listener_;
  int port_ = 0;
  Fd wake_read_, wake_write_;  // self-pipe: stop() wakes the accept loop
  std::atomic<bool> stopping_{false};
  std::mutex connections_mutex_;
  std::list<Connection> connections_;
  int active_ = 0;  // connections whose thread has not finished (under connections_mutex_)
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
