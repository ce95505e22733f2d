// The measurement agent and its client (docs/AGENT.md): over loopback with the server in this
// process on port 0 and a fake backend, every misbehaving client followed by a good one (the
// agent must keep serving), plus the real `thanos agent` binary once.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "loopback_source.h"
#include "test_util.h"
#include "thanos/common/frame_codec.h"
#include "thanos/common/poll_deadline.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/hw/agent.h"
#include "thanos/hw/measurement_json.h"

namespace thanos {
namespace {

using json = nlohmann::json;
using agent::WireError;

const std::string kToken = "correct horse battery staple";

// Answers from the request (so a round trip shows the request arrived intact), one measurement
// at a time or not (it records the most that ran at once), optionally slow, infeasible or failing.
class FakeBackend : public Backend {
 public:
  std::atomic<int> calls{0};
  std::atomic<int> running{0};
  std::atomic<int> max_running{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> infeasible{false};
  std::atomic<int> throw_kind{0};  // 1: invalid_argument, 2: runtime_error
  MeasureRequest last;
  std::mutex last_mutex;

  Measurement measure(const MeasureRequest& r) override {
    const int now = ++running;
    int seen = max_running;
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    ++calls;
    {
      std::lock_guard<std::mutex> lock(last_mutex);
      last = r;
    }
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    --running;
    if (throw_kind == 1) throw std::invalid_argument("config: encoder embed dim 7 is not a choice");
    if (throw_kind == 2) throw std::runtime_error("cuda: this build of libtorch has no CUDA");
    Measurement m;
    m.backend = "fake-cpu";
    m.device_name = "Fake CPU @ 1 GHz";
    m.threads = r.run.threads;
    m.interop_threads = r.run.interop_threads;
    m.dtype = r.protocol.dtype;
    m.host = "board";
    m.library_versions = "fake 1.0";
    m.memory_cap_mib = r.run.memory_cap_mib;
    m.cap_mechanism = r.run.memory_cap_mib > 0 ? cap_mechanism::kRssWatchdog : cap_mechanism::kNone;
    m.wall_s = 1.25;
    if (infeasible) {
      m.feasible = false;
      m.infeasible_reason = "killed by the memory cap (64 MiB, rss-watchdog)";
      return m;
    }
    m.encoder_mean_ms = 0.5 * r.protocol.src_len;
    m.encoder_std_ms = 0.01;
    m.decoder_mean_ms = 1.5 * r.protocol.tgt_len + r.config.decoder_embed_dim;
    m.decoder_std_ms = 0.02;
    m.peak_memory_mib = 12.5 + r.config.encoder_embed_dim;
    m.memory_kind = memory_kind::kRssPeak;
    m.baseline_memory_mib = 100;
    m.cpu_freq_mhz = 1000;
    return m;
  }
  std::string name() const override { return "fake"; }
};

MeasureRequest test_request() {
  const SearchSpace space = testing::tiny_space();
  MeasureRequest r;
  r.config = space.largest();
  r.hyper = space.hyper;
  r.protocol = latency_protocol_preset("quick");
  r.protocol.vocab_size = 64;
  r.run.threads = 2;
  return r;
}

using testing::can_bind;
using testing::connect_from;

// A client that speaks the protocol by hand, to misbehave on purpose.
struct RawClient {
  Fd fd;
  json hello;
  std::string server_nonce;

  // `from`: a source address of its own on loopback (127.0.0.2, ...) for per-address limits.
  explicit RawClient(int port, const std::string& from = "") {
    fd = from.empty() ? agent::connect_tcp({"127.0.0.1", port}, 5) : connect_from(from, port);
    hello = agent::recv_frame(fd.get(), 5, 5);
    if (hello.value("type", "") == "hello") server_nonce = agent::from_hex(hello["server_nonce"], "test");
  }
  json authenticate(const std::string& token = kToken, int version = agent::kProtocolVersion) {
    const std::string client_nonce = agent::random_bytes(agent::kNonceBytes);
    agent::send_frame(fd.get(),
                      {{"type", "auth"},
                       {"version", version},
                       {"client_nonce", agent::to_hex(client_nonce)},
                       {"mac", agent::to_hex(agent::client_proof(token, server_nonce, client_nonce))}},
                      5);
    return agent::recv_frame(fd.get(), 5, 5);
  }
  void send_raw(const std::string& bytes) { agent::send_all(fd.get(), bytes, 5); }
  json recv() { return agent::recv_frame(fd.get(), 5, 5); }
  // True when the agent closed the connection (after whatever it sent first).
  bool closed_by_agent() {
    try {
      agent::recv_frame(fd.get(), 5, 5);
    } catch (const WireError& e) {
      return e.kind() == WireError::Kind::kClosed;
    }
    return false;
  }
};

class AgentTest : public ::testing::Test {
 protected:
  void start(AgentOptions options = {}, double auth_failure_delay_s = 0.05) {
    options.token = kToken;
    options.auth_failure_delay_s = auth_failure_delay_s;  // keep the suite fast; the default is 0.5 s
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.push_back(line);
    };
    server_ = std::make_unique<AgentServer>(backend_, options);
    thread_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      thread_.join();
      server_.reset();
    }
  }
  std::string address() const { return "remote://127.0.0.1:" + std::to_string(server_->port()); }
  int port() const { return server_->port(); }
  std::string log_text() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    std::string s;
    for (const auto& l : log_) s += l + "\n";
    return s;
  }
  // A correct client gets a correct result: the check after every misbehaving one.
  void expect_good_client_served() {
    RemoteBackend client(address(), kToken);
    const Measurement m = client.measure(test_request());
    EXPECT_TRUE(m.feasible);
    EXPECT_EQ(m.encoder_mean_ms, 0.5 * test_request().protocol.src_len);
    EXPECT_EQ(m.backend, address() + "/fake-cpu");
  }

  FakeBackend backend_;
  std::unique_ptr<AgentServer> server_;
  std::thread thread_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

std::string runtime_error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::runtime_error";
  return "";
}

// ------------------------------------------------------------------ protocol pieces

TEST(AgentProtocol, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(agent::to_hex(agent::hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(AgentProtocol, ProofsDependOnRoleTokenAndBothNonces) {
  const std::string s = agent::random_bytes(agent::kNonceBytes), c = agent::random_bytes(agent::kNonceBytes);
  EXPECT_EQ(s.size(), agent::kNonceBytes);
  EXPECT_NE(s, c);
  const std::string p = agent::client_proof(kToken, s, c);
  EXPECT_EQ(p, agent::hmac_sha256(kToken, std::string(agent::kClientProofLabel) + s + c));
  EXPECT_NE(p, agent::server_proof(kToken, s, c));  // no reflection
  EXPECT_NE(p, agent::client_proof(kToken + "x", s, c));
  EXPECT_NE(p, agent::client_proof(kToken, c, s));
  EXPECT_TRUE(agent::constant_time_equal(p, agent::client_proof(kToken, s, c)));
  EXPECT_FALSE(agent::constant_time_equal(p, p.substr(1)));
}

TEST(AgentProtocol, HexAndFrameHeader) {
  EXPECT_EQ(agent::to_hex(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(agent::from_hex("00FF10", "x"), std::string("\x00\xff\x10", 3));
  EXPECT_NE(testing::invalid_argument_message([] { agent::from_hex("0g", "auth: mac"); }).find("auth: mac"),
            std::string::npos);
  EXPECT_THROW(agent::from_hex("abc", "x"), std::invalid_argument);
  EXPECT_EQ(frame_prefix(0x01020304), std::string("\x01\x02\x03\x04", 4));  // big-endian
}

TEST(AgentProtocol, ListenAddressParsing) {
  const auto hp = agent::parse_host_port("0.0.0.0:0", "--listen", true);
  EXPECT_EQ(hp.host, "0.0.0.0");
  EXPECT_EQ(hp.port, 0);
  EXPECT_EQ(agent::parse_host_port("[::1]:7878", "--listen", true).str(), "[::1]:7878");
  EXPECT_NE(testing::invalid_argument_message([] { agent::parse_host_port("localhost", "--listen", true); })
                .find("--listen 'localhost': missing :PORT"),
            std::string::npos);
  EXPECT_THROW(agent::parse_host_port("::1:80", "--listen", true), std::invalid_argument);
}

// ------------------------------------------------------------------ the owner's limits

TEST(AgentLimits, EachBoundIsRefusedNamingFieldValueAndLimit) {
  AgentLimits limits;
  limits.max_threads = 4;
  limits.max_beam = 8;
  limits.max_src_len = 100;
  limits.max_tgt_len = 50;
  limits.max_vocab_size = 1000;
  auto refusal = [&](const std::function<void(MeasureRequest&)>& change) {
    MeasureRequest r = test_request();
    r.protocol.vocab_size = 64;
    change(r);
    return testing::invalid_argument_message([&] { apply_agent_limits(limits, r); });
  };
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.run.threads = 5; }),
            "run.threads: 5 asked, this agent allows at most 4 (--max-threads)");
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.run.interop_threads = 6; }),
            "run.interop_threads: 6 asked, this agent allows at most 4 (--max-threads)");
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.protocol.beam = 9; }),
            "protocol.beam: 9 asked, this agent allows at most 8 (--max-beam)");
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.protocol.src_len = 101; }),
            "protocol.src_len: 101 asked, this agent allows at most 100 (--max-src-len)");
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.protocol.tgt_len = 51; }),
            "protocol.tgt_len: 51 asked, this agent allows at most 50 (--max-tgt-len)");
  EXPECT_EQ(refusal([](MeasureRequest& r) { r.protocol.vocab_size = 1001; }),
            "protocol.vocab_size: 1001 asked, this agent allows at most 1000 (--max-vocab-size)");
  // At the bounds: accepted unchanged.
  MeasureRequest r = test_request();
  r.run.threads = r.run.interop_threads = 4;
  r.protocol.beam = 8;
  r.protocol.src_len = 100;
  r.protocol.tgt_len = 50;
  r.protocol.vocab_size = 1000;
  const MeasureRequest before = r;
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.threads, 4);
  EXPECT_EQ(r.protocol.beam, before.protocol.beam);
  EXPECT_EQ(r.protocol.vocab_size, 1000);
  // 0 is no limit.
  AgentLimits none;
  none.max_beam = none.max_src_len = none.max_tgt_len = none.max_vocab_size = 0;
  r.protocol.beam = 1000;
  r.protocol.src_len = 100000;
  EXPECT_NO_THROW(apply_agent_limits(none, r));
}

TEST(AgentLimits, TimeoutAndMemoryCapAreCappedAndThreadsReplaced) {
  AgentLimits limits;  // default: 1800 s at most
  MeasureRequest r = test_request();
  r.run.timeout_s = 0;  // none asked: the owner's maximum applies
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.timeout_s, 1800);
  r.run.timeout_s = 7200;  // more: capped
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.timeout_s, 1800);
  r.run.timeout_s = 60;  // less: kept
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.timeout_s, 60);
  limits.max_timeout_s = 0;  // no maximum: a request without a timeout keeps none
  r.run.timeout_s = 0;
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.timeout_s, 0);
  // --threads replaces, so --max-threads does not refuse what is replaced anyway.
  limits.threads = 2;
  limits.max_threads = 4;
  r.run.threads = 64;
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.threads, 2);
  limits.memory_cap_mib = 512;
  r.run.memory_cap_mib = 0;
  apply_agent_limits(limits, r);
  EXPECT_EQ(r.run.memory_cap_mib, 512);
}

TEST(AgentLimits, ValidateNamesTheFlag) {
  AgentLimits limits;
  limits.max_beam = -1;
  EXPECT_NE(testing::invalid_argument_message([&] { limits.validate(); }).find("--max-beam: expected >= 0"), std::string::npos);
  limits = AgentLimits{};
  limits.max_timeout_s = 1e9;
  EXPECT_NE(testing::invalid_argument_message([&] { limits.validate(); }).find("--max-timeout-s: expected at most 86400"),
            std::string::npos);
  AgentOptions o;
  o.token = kToken;
  o.max_handshakes = 0;
  FakeBackend backend;
  EXPECT_NE(testing::invalid_argument_message([&] { AgentServer server(backend, o); }).find("--max-handshakes must be >= 1"),
            std::string::npos);
}

TEST(RemoteBackend, ParseRemoteAddress) {
  const auto hp = parse_remote_address("remote://192.168.1.20:7878");
  EXPECT_EQ(hp.host, "192.168.1.20");
  EXPECT_EQ(hp.port, 7878);
  EXPECT_EQ(parse_remote_address("remote://board.local:1").host, "board.local");
  EXPECT_EQ(parse_remote_address("remote://[fe80::1]:7878").host, "fe80::1");
  auto error = [](const std::string& address) {
    return testing::invalid_argument_message([&] { parse_remote_address(address); });
  };
  EXPECT_NE(error("tcp://board:7878").find("'tcp://board:7878': must start with remote://"), std::string::npos);
  EXPECT_NE(error("remote://board").find("'remote://board'"), std::string::npos);
  EXPECT_NE(error("remote://board").find("missing :PORT"), std::string::npos);
  EXPECT_NE(error("remote://board:").find("is not a number"), std::string::npos);
  EXPECT_NE(error("remote://board:78x").find("port '78x' is not a number"), std::string::npos);
  EXPECT_NE(error("remote://board:0").find("out of range"), std::string::npos);
  EXPECT_NE(error("remote://board:65536").find("out of range"), std::string::npos);
  EXPECT_NE(error("remote://:7878").find("empty host"), std::string::npos);
  EXPECT_NE(error("remote://board:7878/cpu").find("unexpected path"), std::string::npos);
  EXPECT_NE(error("remote://[::1:7878").find("IPv6"), std::string::npos);
  // Every message shows the expected form.
  EXPECT_NE(error("remote://board").find("remote://HOST:PORT"), std::string::npos);
  EXPECT_THROW(RemoteBackend("remote://board:7878", ""), std::invalid_argument);
  EXPECT_EQ(RemoteBackend("remote://board:7878", "t").name(), "remote://board:7878");
}

TEST(RemoteBackend, UnreachableAgentIsNamed) {
  // A port nobody listens on: bind one, learn its number, close it.
  int port;
  {
    Fd fd = agent::listen_tcp({"127.0.0.1", 0}, 1);
    port = agent::bound_port(fd.get());
  }
  RemoteBackend client("remote://127.0.0.1:" + std::to_string(port), kToken);
  const std::string msg = runtime_error_message([&] { client.info(); });
  EXPECT_NE(msg.find("remote://127.0.0.1:" + std::to_string(port) + ": cannot connect"), std::string::npos) << msg;
}

TEST(AgentTokenFile, ReadsStripsAndRefuses) {
  TempDir dir("agent-token");
  const std::string path = dir.path() + "/token";
  std::ofstream(path) << "s3cret \n\n";
  ::chmod(path.c_str(), 0600);
  std::vector<std::string> warnings;
  EXPECT_EQ(read_token_file(path, &warnings), "s3cret");
  EXPECT_TRUE(warnings.empty());
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(read_token_file(path, &warnings), "s3cret");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("readable by group or others"), std::string::npos);
  EXPECT_NE(warnings[0].find(path), std::string::npos);

  const std::string empty = dir.path() + "/empty";
  std::ofstream(empty) << " \n";
  EXPECT_NE(testing::invalid_argument_message([&] { read_token_file(empty); }).find("token file " + empty + " is empty"),
            std::string::npos);
  const std::string missing = dir.path() + "/missing";
  EXPECT_NE(testing::invalid_argument_message([&] { read_token_file(missing); }).find("token file " + missing),
            std::string::npos);
  // An endless file is read no further than 64 KiB.
  EXPECT_NE(testing::invalid_argument_message([&] { read_token_file("/dev/zero"); }).find("token file /dev/zero: longer than 64 KiB"),
            std::string::npos);
}

// ------------------------------------------------------------------ end to end, in process

TEST_F(AgentTest, MeasureRoundTripKeepsEveryField) {
  start();
  RemoteBackend client(address(), kToken);
  EXPECT_EQ(client.name(), address());
  const MeasureRequest request = test_request();
  const Measurement m = client.measure(request);
  // The agent saw the request as sent, but for the timeout: none asked, so the owner's maximum.
  MeasureRequest as_applied = request;
  as_applied.run.timeout_s = AgentLimits{}.max_timeout_s;
  {
    std::lock_guard<std::mutex> lock(backend_.last_mutex);
    EXPECT_EQ(request_to_json(backend_.last), request_to_json(as_applied));
  }
  // And the client sees the measurement as the backend made it, but for where it ran.
  Measurement expected = backend_.measure(request);
  expected.backend = address() + "/fake-cpu";
  EXPECT_EQ(measurement_to_json(m), measurement_to_json(expected));
  EXPECT_TRUE(std::isnan(m.temperature_c));
  // The connection is kept across measurements: one handshake for two.
  client.measure(request);
  EXPECT_EQ(backend_.calls.load(), 3);
  const std::string log = log_text();
  EXPECT_EQ(log.find("authenticated"), log.rfind("authenticated")) << log;
}

TEST_F(AgentTest, InfoDescribesTheAgent) {
  AgentOptions o;
  o.devices = {"cpu", "cuda"};
  start(o);
  RemoteBackend client(address(), kToken);
  const json info = client.info();
  EXPECT_EQ(info["protocol_version"], agent::kProtocolVersion);
  EXPECT_EQ(info["backend"], "fake");
  EXPECT_EQ(info["devices"], json({"cpu", "cuda"}));
  EXPECT_TRUE(info["host"].is_string());
  EXPECT_TRUE(info["thanos_version"].is_string());
}

TEST_F(AgentTest, InfeasibleCandidateIsANormalResult) {
  start();
  backend_.infeasible = true;
  RemoteBackend client(address(), kToken);
  const Measurement m = client.measure(test_request());
  EXPECT_FALSE(m.feasible);
  EXPECT_EQ(m.infeasible_reason, "killed by the memory cap (64 MiB, rss-watchdog)");
  EXPECT_TRUE(std::isnan(m.latency_ms()));
  backend_.infeasible = false;
  // Same connection, next candidate.
  EXPECT_TRUE(client.measure(test_request()).feasible);
}

TEST_F(AgentTest, AgentSettingsOverrideThreadsAndBoundTheMemoryCap) {
  AgentOptions o;
  o.limits.threads = 3;
  o.limits.memory_cap_mib = 512;
  start(o);
  RemoteBackend client(address(), kToken);
  MeasureRequest r = test_request();
  r.run.threads = 8;
  r.run.memory_cap_mib = 0;  // none asked: the agent's cap applies
  Measurement m = client.measure(r);
  EXPECT_EQ(m.threads, 3);
  EXPECT_EQ(m.memory_cap_mib, 512);
  r.run.memory_cap_mib = 256;  // smaller: kept
  EXPECT_EQ(client.measure(r).memory_cap_mib, 256);
  r.run.memory_cap_mib = 4096;  // larger: capped
  EXPECT_EQ(client.measure(r).memory_cap_mib, 512);
}

TEST_F(AgentTest, RequestsBeyondTheOwnersLimitsAreRefusedAndTheConnectionStays) {
  AgentOptions o;
  o.limits.max_beam = 4;
  o.limits.max_timeout_s = 120;
  start(o);
  RemoteBackend client(address(), kToken);
  const json info = client.info();
  EXPECT_EQ(info["max_beam"], 4);
  EXPECT_EQ(info["max_timeout_s"], 120);
  EXPECT_EQ(info["max_handshakes"], o.max_handshakes);
  EXPECT_EQ(info["max_handshakes_per_address"], o.max_handshakes_per_address);
  MeasureRequest r = test_request();  // beam 5
  EXPECT_EQ(testing::invalid_argument_message([&] { client.measure(r); }),
            address() + ": the agent refused the request: protocol.beam: 5 asked, this agent allows at most 4 (--max-beam)");
  EXPECT_EQ(backend_.calls.load(), 0);
  // Same connection, a request within the limits; no timeout asked: the owner's applies.
  r.protocol.beam = 4;
  r.run.timeout_s = 0;
  EXPECT_TRUE(client.measure(r).feasible);
  {
    std::lock_guard<std::mutex> lock(backend_.last_mutex);
    EXPECT_EQ(backend_.last.run.timeout_s, 120);
  }
  const std::string log = log_text();
  EXPECT_EQ(log.find("authenticated"), log.rfind("authenticated")) << log;
}

TEST_F(AgentTest, WrongTokenIsRefusedClearlyAndTheAgentKeepsServing) {
  start();
  RemoteBackend intruder(address(), "not the token");
  const std::string msg = runtime_error_message([&] { intruder.measure(test_request()); });
  EXPECT_EQ(msg, address() + ": authentication failed: the agent refused the token (check --token-file)");
  EXPECT_EQ(backend_.calls.load(), 0);
  EXPECT_NE(log_text().find("authentication failed"), std::string::npos);
  expect_good_client_served();
}

TEST_F(AgentTest, ClientVersionMismatchIsRefusedNamingBothVersions) {
  start();
  RawClient raw(port());
  EXPECT_EQ(raw.hello["version"], agent::kProtocolVersion);
  const json reply = raw.authenticate(kToken, 99);
  EXPECT_EQ(reply["type"], "error");
  EXPECT_EQ(reply["code"], agent::error_code::kVersionMismatch);
  const std::string text = reply["message"];
  EXPECT_NE(text.find("client speaks version 99"), std::string::npos) << text;
  EXPECT_NE(text.find("agent speaks version " + std::to_string(agent::kProtocolVersion)), std::string::npos) << text;
  EXPECT_TRUE(raw.closed_by_agent());
  expect_good_client_served();
}

TEST_F(AgentTest, GarbageIsAnsweredAndClosed) {
  start();
  // Random bytes instead of the auth message (a port scanner, another protocol).
  {
    RawClient raw(port());
    std::string junk = agent::random_bytes(64);
    junk[0] = '\x01';  // never valid JSON
    raw.send_raw(frame_prefix(static_cast<std::uint32_t>(junk.size())) + junk);
    const json reply = raw.recv();
    EXPECT_EQ(reply["type"], "error");
    EXPECT_EQ(reply["code"], agent::error_code::kBadMessage);
    EXPECT_TRUE(raw.closed_by_agent());
  }
  // Authenticated, then non-JSON, a JSON non-object, an unknown type, a measure without fields.
  for (const std::string payload : {std::string("{\"type\": \"measure\""), std::string("[1, 2]"),
                                    std::string("{\"type\": \"reboot\"}"), std::string("{\"type\": \"measure\"}"),
                                    std::string("{\"type\": \"measure\", \"request\": {\"config\": 3}}")}) {
    RawClient raw(port());
    ASSERT_EQ(raw.authenticate()["type"], "welcome");
    raw.send_raw(frame_prefix(static_cast<std::uint32_t>(payload.size())) + payload);
    const json reply = raw.recv();
    EXPECT_EQ(reply["type"], "error") << payload;
    EXPECT_EQ(reply["code"], agent::error_code::kBadMessage) << payload;
    EXPECT_TRUE(raw.closed_by_agent()) << payload;
  }
  EXPECT_EQ(backend_.calls.load(), 0);
  expect_good_client_served();
}

TEST_F(AgentTest, OversizedLengthPrefixIsRefusedWithoutReadingThePayload) {
  start();
  for (bool authenticated : {false, true}) {
    RawClient raw(port());
    if (authenticated) {
      ASSERT_EQ(raw.authenticate()["type"], "welcome");
    }
    raw.send_raw(frame_prefix(0xfffffff0u));  // ~4 GiB announced, nothing follows
    const json reply = raw.recv();
    EXPECT_EQ(reply["type"], "error");
    EXPECT_EQ(reply["code"], agent::error_code::kTooLarge);
    EXPECT_NE(reply["message"].get<std::string>().find(std::to_string(agent::kMaxFrameBytes)), std::string::npos);
    EXPECT_TRUE(raw.closed_by_agent());
  }
  expect_good_client_served();
}

// 140 KB of nested brackets, under the frame limit: once a crash of the agent before any token
// was checked (its error path dumped the message, recursing once per level); after login too.
TEST_F(AgentTest, DeeplyNestedMessagesAreRefusedAsMalformed) {
  start();
  const std::string deep = std::string(70000, '[') + std::string(70000, ']');
  for (bool authenticated : {false, true}) {
    SCOPED_TRACE(authenticated ? "after login" : "before login");
    RawClient raw(port());
    if (authenticated) {
      ASSERT_EQ(raw.authenticate()["type"], "welcome");
    }
    raw.send_raw(frame_prefix(static_cast<std::uint32_t>(deep.size())) + deep);
    const json reply = raw.recv();
    EXPECT_EQ(reply["type"], "error");
    EXPECT_EQ(reply["code"], agent::error_code::kBadMessage);
  }
  expect_good_client_served();
}

TEST_F(AgentTest, ClientDisconnectingMidMessageDoesNotHurt) {
  start();
  {
    RawClient raw(port());
    ASSERT_EQ(raw.authenticate()["type"], "welcome");
    const std::string payload = json({{"type", "measure"}, {"request", request_to_json(test_request())}}).dump();
    raw.send_raw(frame_prefix(static_cast<std::uint32_t>(payload.size())) + payload.substr(0, payload.size() / 2));
  }  // closed here, half a payload sent
  {
    RawClient raw(port());
    raw.send_raw(frame_prefix(100) + "{\"ty");  // during the handshake, too
  }
  expect_good_client_served();
  EXPECT_EQ(backend_.calls.load(), 1);
}

TEST_F(AgentTest, ClientLeavingDuringTheMeasurementDoesNotHurt) {
  start();
  backend_.delay_ms = 300;
  {
    RawClient raw(port());
    ASSERT_EQ(raw.authenticate()["type"], "welcome");
    agent::send_frame(raw.fd.get(), {{"type", "measure"}, {"request", request_to_json(test_request())}}, 5);
    // Wait until the measurement runs, then leave.
    for (int i = 0; i < 1000 && backend_.calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(backend_.calls.load(), 1);
  }
  expect_good_client_served();  // queued behind the orphaned measurement, then served
  EXPECT_EQ(backend_.calls.load(), 2);
}

TEST_F(AgentTest, BackendFailuresAreRepliedAndTheConnectionStays) {
  start();
  RemoteBackend client(address(), kToken);
  backend_.throw_kind = 1;
  const std::string refused = testing::invalid_argument_message([&] { client.measure(test_request()); });
  EXPECT_EQ(refused, address() + ": the agent refused the request: config: encoder embed dim 7 is not a choice");
  backend_.throw_kind = 2;
  const std::string failed = runtime_error_message([&] { client.measure(test_request()); });
  EXPECT_EQ(failed, address() + ": the agent could not measure: cuda: this build of libtorch has no CUDA");
  backend_.throw_kind = 0;
  EXPECT_TRUE(client.measure(test_request()).feasible);
  const std::string log = log_text();
  EXPECT_EQ(log.find("authenticated"), log.rfind("authenticated")) << log;  // one connection throughout
}

TEST_F(AgentTest, MaxClientsCountsAuthenticatedClientsOnly) {
  AgentOptions o;
  o.max_clients = 2;
  o.max_handshakes_per_address = 8;
  start(o);
  {
    RawClient s1(port()), s2(port()), s3(port());  // in their handshake: not clients
    RawClient a(port()), b(port());
    ASSERT_EQ(a.authenticate()["type"], "welcome");
    ASSERT_EQ(b.authenticate()["type"], "welcome");
    RemoteBackend third(address(), kToken);
    const std::string msg = runtime_error_message([&] { third.info(); });
    EXPECT_NE(msg.find(address() + ": agent busy: 2 clients connected (--max-clients 2)"), std::string::npos) << msg;
    // Only a token holder learns how busy the agent is.
    RawClient intruder(port());
    EXPECT_EQ(intruder.authenticate("wrong")["code"], agent::error_code::kAuthFailed);
  }
  // The slots free up once the agent noticed the two left.
  RemoteBackend client(address(), kToken);
  for (int attempt = 0;; ++attempt) {
    try {
      client.info();
      break;
    } catch (const std::runtime_error& e) {
      ASSERT_LT(attempt, 250) << e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Measure on the connection that got the slot: a second fresh client could still find the
  // other slot taken if the agent has not yet noticed the second raw client leave.
  const Measurement m = client.measure(test_request());
  EXPECT_TRUE(m.feasible);
  EXPECT_EQ(m.backend, address() + "/fake-cpu");
}

// ------------------------------------------------------------------ pre-auth starvation

// What the agent did with a connection that sent nothing after the hello: nothing yet (it still
// holds its handshake slot), or told it a newer connection took the slot and closed it.
enum class Fate { kWaiting, kEvicted, kOther };

Fate fate_of(RawClient& raw, int wait_ms) {
  pollfd p{raw.fd.get(), POLLIN, 0};
  if (::poll(&p, 1, wait_ms) == 0) return Fate::kWaiting;
  try {
    const json reply = raw.recv();
    if (reply.value("code", "") == agent::error_code::kHandshakeEvicted &&
        reply.value("message", "").find("a newer connection took this one's slot") != std::string::npos &&
        raw.closed_by_agent()) {
      return Fate::kEvicted;
    }
  } catch (const WireError&) {
  }
  return Fate::kOther;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Once, four silent connections locked the token holder out for the handshake timeout (and for
// ever if they reconnected): they held the max_clients slots.
TEST_F(AgentTest, SilentConnectionsDoNotLockOutTheTokenHolder) {
  AgentOptions o;
  o.max_clients = 1;
  o.max_handshakes_per_address = 4;
  o.handshake_timeout_s = 60;  // silence alone would hold a slot for a minute
  start(o);
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 10; ++i) silent.push_back(std::make_unique<RawClient>(port()));
  const auto t0 = std::chrono::steady_clock::now();
  expect_good_client_served();
  EXPECT_LT(seconds_since(t0), 5.0);
  // 127.0.0.1 never held more than 4 handshakes: each new connection pushed out the oldest, the
  // token holder the 7th; the newest 3 still wait.
  for (int i = 0; i < 7; ++i) EXPECT_EQ(fate_of(*silent[i], 5000), Fate::kEvicted) << i;
  for (int i = 7; i < 10; ++i) EXPECT_EQ(fate_of(*silent[i], 200), Fate::kWaiting) << i;
  // And again, with the flood renewed in between.
  for (int i = 0; i < 6; ++i) silent.push_back(std::make_unique<RawClient>(port()));
  expect_good_client_served();
}

TEST_F(AgentTest, AFloodFromOneAddressLeavesOtherAddressesTheirHandshakes) {
  if (!can_bind("127.0.0.2") || !can_bind("127.0.0.3") || !can_bind("127.0.0.4")) {
    GTEST_SKIP() << "cannot bind 127.0.0.2-4 as source addresses here";
  }
  AgentOptions o;
  o.max_handshakes = 8;
  o.max_handshakes_per_address = 4;
  o.handshake_timeout_s = 60;
  start(o);
  RawClient early1(port(), "127.0.0.3"), early2(port(), "127.0.0.3");
  std::vector<std::unique_ptr<RawClient>> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(std::make_unique<RawClient>(port(), "127.0.0.2"));
  // The flood only ever pushed out its own: 4 slots, the newest.
  for (int i = 0; i < 16; ++i) EXPECT_EQ(fate_of(*flood[i], 5000), Fate::kEvicted) << i;
  EXPECT_EQ(fate_of(early1, 200), Fate::kWaiting);
  EXPECT_EQ(fate_of(early2, 200), Fate::kWaiting);
  // 6 of 8 slots taken; three from 127.0.0.4 fill the pool and the last of them takes the slot
  // of the oldest handshake of the address holding the most (127.0.0.2).
  RawClient c1(port(), "127.0.0.4"), c2(port(), "127.0.0.4"), c3(port(), "127.0.0.4");
  EXPECT_EQ(fate_of(*flood[16], 5000), Fate::kEvicted);
  // Now 127.0.0.2 and 127.0.0.4 hold 3 each: the token holder takes the oldest of those.
  const auto t0 = std::chrono::steady_clock::now();
  expect_good_client_served();
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_EQ(fate_of(*flood[17], 5000), Fate::kEvicted);
  for (int i = 18; i < 20; ++i) EXPECT_EQ(fate_of(*flood[i], 200), Fate::kWaiting) << i;
  for (RawClient* c : {&early1, &early2, &c1, &c2, &c3}) EXPECT_EQ(fate_of(*c, 200), Fate::kWaiting);
}

TEST_F(AgentTest, AFailedAuthenticationDelaysOnlyItsAddress) {
  if (!can_bind("127.0.0.2")) GTEST_SKIP() << "cannot bind 127.0.0.2 as a source address here";
  start({}, /*auth_failure_delay_s=*/1.0);
  RawClient guess1(port(), "127.0.0.2");
  EXPECT_EQ(guess1.authenticate("guess 1")["code"], agent::error_code::kAuthFailed);
  const auto failed = std::chrono::steady_clock::now();
  // Another address is not slowed down ...
  expect_good_client_served();
  EXPECT_LT(seconds_since(failed), 0.8);
  // ... the guessing address is: its next proof is checked a second after its failure.
  RawClient guess2(port(), "127.0.0.2");
  EXPECT_EQ(guess2.authenticate("guess 2")["code"], agent::error_code::kAuthFailed);
  EXPECT_GE(seconds_since(failed), 0.95);
}

TEST_F(AgentTest, MeasurementsAreSerialized) {
  start();
  backend_.delay_ms = 50;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      RemoteBackend client(address(), kToken);
      for (int k = 0; k < 2; ++k) ok += client.measure(test_request()).feasible ? 1 : 0;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(backend_.max_running.load(), 1);
}

TEST_F(AgentTest, ClientReconnectsOnceAfterTheAgentDroppedTheConnection) {
  AgentOptions o;
  o.idle_timeout_s = 0.2;
  start(o);
  RemoteBackend client(address(), kToken);
  EXPECT_TRUE(client.measure(test_request()).feasible);
  // The agent closes the idle connection after 0.2 s; the slack covers a loaded CI machine.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(client.measure(test_request()).feasible);
  const std::string log = log_text();
  EXPECT_NE(log.find("authenticated"), log.rfind("authenticated")) << log;  // two handshakes
}

// ------------------------------------------------------------------ a false agent

// Accepts one connection and plays a scripted agent: the client must not trust it.
class FakeAgent {
 public:
  explicit FakeAgent(std::function<void(int fd)> script) : listener_(agent::listen_tcp({"127.0.0.1", 0}, 1)) {
    port_ = agent::bound_port(listener_.get());
    thread_ = std::thread([this, script] {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 5000) != 1) return;
      Fd fd(::accept(listener_.get(), nullptr, nullptr));
      agent::prepare_socket(fd.get());
      try {
        script(fd.get());
      } catch (const std::exception&) {
      }
      agent::linger_shutdown(fd.get(), 1);
    });
  }
  ~FakeAgent() { thread_.join(); }
  std::string address() const { return "remote://127.0.0.1:" + std::to_string(port_); }

 private:
  Fd listener_;
  int port_ = 0;
  std::thread thread_;
};

json hello(int version) {
  return {{"type", "hello"},
          {"protocol", agent::kProtocolName},
          {"version", version},
          {"server_nonce", agent::to_hex(agent::random_bytes(agent::kNonceBytes))}};
}

TEST(RemoteBackend, AgentVersionMismatchNamesBothVersions) {
  FakeAgent fake([](int fd) { agent::send_frame(fd, hello(agent::kProtocolVersion + 1), 5); });
  RemoteBackend client(fake.address(), kToken);
  const std::string msg = runtime_error_message([&] { client.info(); });
  EXPECT_NE(msg.find(fake.address() + ": protocol version mismatch: the agent speaks version " +
                     std::to_string(agent::kProtocolVersion + 1) + ", this client speaks version " +
                     std::to_string(agent::kProtocolVersion)),
            std::string::npos)
      << msg;
}

TEST(RemoteBackend, AgentThatCannotProveTheTokenIsNotTrusted) {
  // It accepts anything and answers with a proof made from another token.
  FakeAgent fake([](int fd) {
    const json h = hello(agent::kProtocolVersion);
    agent::send_frame(fd, h, 5);
    const json auth = agent::recv_frame(fd, 5, 5);
    const std::string s = agent::from_hex(h["server_nonce"], "t"), c = agent::from_hex(auth["client_nonce"], "t");
    agent::send_frame(fd,
                      {{"type", "welcome"},
                       {"version", agent::kProtocolVersion},
                       {"mac", agent::to_hex(agent::server_proof("guessed", s, c))}},
                      5);
    agent::recv_frame(fd, 5, 5);  // whatever the client still sends
  });
  RemoteBackend client(fake.address(), kToken);
  const std::string msg = runtime_error_message([&] { client.measure(test_request()); });
  EXPECT_NE(msg.find(fake.address() + ": authentication failed: the agent did not prove it holds the token"),
            std::string::npos)
      << msg;
}

TEST(RemoteBackend, NotAnAgentIsNamed) {
  FakeAgent fake([](int fd) { agent::send_all(fd, "SSH-2.0-OpenSSH_9.2\r\n", 5); });
  RemoteBackend client(fake.address(), kToken);
  const std::string msg = runtime_error_message([&] { client.info(); });
  EXPECT_NE(msg.find(fake.address() + ": handshake failed"), std::string::npos) << msg;
}

// ------------------------------------------------------------------ the real binary

// `thanos agent` as a child with its stdout on a pipe; SIGTERM + wait in the destructor.
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args, const std::string& stderr_path) {
    std::vector<std::string> argv = {THANOS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions streams;
    streams.out = ChildStream::pipe();
    streams.err = ChildStream::file(stderr_path);
    child_ = spawn_child(argv, streams);
  }
  ~AgentProcess() {
    if (!child_.reaped()) terminate();
  }
  // The first line of stdout, or "" after `timeout_s` / at EOF.
  std::string first_line(double timeout_s) {
    std::string line;
    const Deadline deadline = deadline_after(timeout_s);
    while (line.find('\n') == std::string::npos) {
      if (!wait_ready(child_.out().get(), POLLIN, deadline).ok()) return "";
      char c[256];
      const ssize_t n = ::read(child_.out().get(), c, sizeof(c));
      if (n <= 0) return "";
      line.append(c, static_cast<std::size_t>(n));
    }
    return line.substr(0, line.find('\n'));
  }
  int terminate() {
    ::kill(child_.pid(), SIGTERM);
    const int status = child_.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  Child child_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AgentCli, RealAgentServesInfoMeasuresCapsAndRefusesAWrongToken) {
  TempDir dir("agent-cli");
  const std::string token_path = dir.path() + "/token";
  std::ofstream(token_path) << kToken << "\n";
  ::chmod(token_path.c_str(), 0600);
  const std::string stderr_path = dir.path() + "/stderr";
  AgentProcess proc({"agent", "--listen", "127.0.0.1:0", "--token-file", token_path, "--max-clients", "2",
                     "--max-handshakes", "6", "--max-handshakes-per-address", "3", "--max-beam", "8", "--max-timeout-s", "300"},
                    stderr_path);
  const std::string line = proc.first_line(120);
  const std::string prefix = "thanos agent: listening on 127.0.0.1:";
  ASSERT_EQ(line.compare(0, prefix.size(), prefix), 0) << "stdout: " << line << "\nstderr: " << read_file(stderr_path);
  const int port = std::stoi(line.substr(prefix.size()));
  ASSERT_GT(port, 0);
  const std::string address = "remote://127.0.0.1:" + std::to_string(port);

  RemoteBackend client(address, kToken);
  const json info = client.info();
  EXPECT_EQ(info["protocol_version"], agent::kProtocolVersion);
  EXPECT_EQ(info["thanos_version"], "0.1.0");
  EXPECT_EQ(info["devices"][0], "cpu");
  EXPECT_EQ(info["max_clients"], 2);
  EXPECT_EQ(info["max_handshakes"], 6);
  EXPECT_EQ(info["max_handshakes_per_address"], 3);
  EXPECT_EQ(info["max_beam"], 8);
  EXPECT_EQ(info["max_timeout_s"], 300);
  EXPECT_EQ(info["max_src_len"], 1024);  // the default

  RemoteBackend intruder(address, "wrong");
  EXPECT_EQ(runtime_error_message([&] { intruder.info(); }),
            address + ": authentication failed: the agent refused the token (check --token-file)");

  // A real (tiny, quick) measurement through the agent's own backend: an isolated worker.
  MeasureRequest r = test_request();
  r.run.threads = 1;
  r.protocol.repeats = 2;
  r.protocol.warmups = 0;
  const Measurement m = client.measure(r);
  EXPECT_TRUE(m.feasible) << m.infeasible_reason;
  EXPECT_GT(m.latency_ms(), 0);
  EXPECT_EQ(m.backend, address + "/cpu");  // the isolated worker's device
  EXPECT_EQ(m.threads, 1);
  // A candidate killed by the memory cap is a normal, infeasible result; the agent carries on.
  r.run.memory_cap_mib = 8;  // below what the worker needs just to start libtorch
  const Measurement capped = client.measure(r);
  EXPECT_FALSE(capped.feasible);
  EXPECT_NE(capped.infeasible_reason.find("memory cap"), std::string::npos) << capped.infeasible_reason;
  EXPECT_EQ(capped.backend, address + "/cpu");
  client.disconnect();

  // SIGTERM is a stop request (StopSignalScope): the agent winds down and exits 0.
  EXPECT_EQ(proc.terminate(), 0) << read_file(stderr_path);
  const std::string err = read_file(stderr_path);
  EXPECT_NE(err.find("thanos agent: stopped"), std::string::npos) << err;
  EXPECT_NE(err.find("authentication failed"), std::string::npos) << err;
  EXPECT_EQ(err.find("readable by group"), std::string::npos) << err;
}

TEST(AgentCli, MissingTokenFileIsAClearError) {
  const auto r = testing::run_cli("agent --listen 127.0.0.1:0 --token-file /nonexistent/agent.token");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("token file /nonexistent/agent.token: cannot be read"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace thanos
