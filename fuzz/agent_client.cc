// What RemoteBackend (the search's client of `thanos agent`) parses from an agent: a fake agent on
// loopback answers with the input. The first byte chooses: bit 0, the fake agent first completes a
// correct handshake (hello, then a welcome with the right MAC) and sends the rest as the reply to
// the client's request; else the rest is all it sends (a hostile process at the agent's address).
// Bit 1: the client asks for info() instead of measure(). The client must return or throw its
// documented errors naming the agent, within its timeouts.
#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "fuzz_target.h"
#include "thanos/hw/agent.h"
#include "thanos/hw/measurement_json.h"
#include "thanos/space/search_space.h"

using namespace thanos;
using namespace thanos::fuzz;
using nlohmann::json;

namespace {

constexpr const char* kToken = "fuzz-token-0123456789";
constexpr double kTimeoutS = 5;

class FakeAgent {
 public:
  FakeAgent() : listener_(agent::listen_tcp({"127.0.0.1", 0}, 16)), port_(agent::bound_port(listener_.get())) {
    std::thread([this] { loop(); }).detach();
  }
  int port() const { return port_; }
  void set_script(bool handshake, std::string bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    handshake_ = handshake;
    bytes_ = std::move(bytes);
  }

 private:
  void loop() {
    for (;;) {
      pollfd p{listener_.get(), POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!fd.valid()) continue;
      agent::prepare_socket(fd.get());
      bool handshake;
      std::string bytes;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        handshake = handshake_;
        bytes = bytes_;
      }
      try {
        if (handshake) {
          const std::string server_nonce(agent::kNonceBytes, 's');
          agent::send_frame(fd.get(),
                            {{"type", "hello"},
                             {"protocol", agent::kProtocolName},
                             {"version", agent::kProtocolVersion},
                             {"server_nonce", agent::to_hex(server_nonce)}},
                            kTimeoutS);
          const json auth = agent::recv_frame(fd.get(), kTimeoutS, kTimeoutS);
          const std::string client_nonce = agent::from_hex(auth.at("client_nonce").get<std::string>(), "auth");
          agent::send_frame(fd.get(),
                            {{"type", "welcome"},
                             {"version", agent::kProtocolVersion},
                             {"mac", agent::to_hex(agent::server_proof(kToken, server_nonce, client_nonce))},
                             {"backend", "fuzz-fake"}},
                            kTimeoutS);
          (void)agent::recv_frame(fd.get(), kTimeoutS, kTimeoutS);  // the request
        }
        agent::send_all(fd.get(), bytes, kTimeoutS);
      } catch (const std::exception&) {
        // The client gave up on an earlier part: nothing more to say on this connection.
      }
      agent::linger_shutdown(fd.get(), kTimeoutS);
    }
  }

  Fd listener_;
  int port_;
  std::mutex mutex_;
  bool handshake_ = false;
  std::string bytes_;
};

FakeAgent& fake_agent() {
  static FakeAgent* a = new FakeAgent();  // lives as long as the process: its thread uses it
  return *a;
}

}  // namespace

THANOS_FUZZ_TARGET(agent_client) {
  if (size == 0) return 0;
  FakeAgent& fake = fake_agent();
  fake.set_script((data[0] & 1) != 0, as_text(data + 1, size - 1));
  const std::string address = "remote://127.0.0.1:" + std::to_string(fake.port());
  RemoteOptions options;
  options.connect_timeout_s = options.handshake_timeout_s = options.io_timeout_s = options.measure_timeout_s = kTimeoutS;
  RemoteBackend client(address, kToken, options);
  static const MeasureRequest request = [] {
    MeasureRequest r;
    r.config = hat_wmt14ende_space0().smallest();
    return r;
  }();
  expect_documented(
      [&] {
        if (data[0] & 2) {
          (void)client.info();
        } else {
          (void)measurement_to_json(client.measure(request));
        }
      },
      kInvalidArgument | kRuntimeError, address);
  return 0;
}
