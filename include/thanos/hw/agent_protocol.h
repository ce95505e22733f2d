#pragma once
// The wire of `thanos agent` (docs/AGENT.md): JSON messages in common/frame_codec.h's frames over
// TCP, the HMAC challenge-response that authenticates both ends with a shared token, and the
// socket helpers (timeouts everywhere, no SIGPIPE) that the agent server and the remote backend
// share. Torch-free; the crypto is OpenSSL's libcrypto, hidden in src/hw/agent_protocol.cc.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "thanos/common/fd.h"

namespace thanos::agent {

// Bumped whenever a message changes shape; both ends refuse a different version by name.
inline constexpr int kProtocolVersion = 1;
inline constexpr const char* kProtocolName = "thanos-agent";
// Largest frame payload either end accepts. A measurement request or result is a few KiB; the
// limit keeps a garbage length prefix from making the agent allocate gigabytes.
inline constexpr std::uint32_t kMaxFrameBytes = 1u << 20;  // 1 MiB
// Random bytes per nonce: 256 bits, so a nonce never repeats and a recorded proof never replays.
inline constexpr std::size_t kNonceBytes = 32;
// Domain-separation labels: the client's and the server's proofs differ, so neither end can
// answer a challenge by reflecting the other's proof back.
inline constexpr const char* kClientProofLabel = "thanos-agent-v1 client";
inline constexpr const char* kServerProofLabel = "thanos-agent-v1 server";
// Handshake and small-message timeouts (seconds); measurements have their own, longer ones.
inline constexpr double kHandshakeTimeoutS = 10;

// Error codes carried in {"type":"error","code":...} so a client can react without parsing text.
namespace error_code {
inline constexpr const char* kAuthFailed = "auth-failed";
inline constexpr const char* kVersionMismatch = "version-mismatch";
inline constexpr const char* kBusy = "busy";
// A newer connection took this one's handshake slot (too many handshakes in progress): a client
// may reconnect at once, its next round trip usually gets through (docs/AGENT.md).
inline constexpr const char* kHandshakeEvicted = "handshake-evicted";
inline constexpr const char* kTooLarge = "too-large";
inline constexpr const char* kBadMessage = "bad-message";
inline constexpr const char* kBadRequest = "bad-request";        // the backend refused the request
inline constexpr const char* kMeasureFailed = "measure-failed";  // the backend itself failed
}  // namespace error_code

// ------------------------------------------------------------------ crypto (OpenSSL libcrypto)

// HMAC-SHA256(key, data): 32 raw bytes.
std::string hmac_sha256(const std::string& key, const std::string& data);
// `n` bytes from OpenSSL's CSPRNG; throws std::runtime_error if it is not seeded.
std::string random_bytes(std::size_t n);
// Compares in time independent of where the inputs differ (CRYPTO_memcmp), so a remote peer
// cannot learn a proof byte by byte from response times. Different lengths compare unequal.
bool constant_time_equal(const std::string& a, const std::string& b);
std::string to_hex(const std::string& bytes);
// Throws std::invalid_argument naming `what` for odd length or a non-hex digit.
std::string from_hex(const std::string& hex, const std::string& what);

// The two proofs of the handshake: HMAC(token, label || server_nonce || client_nonce), nonces
// as raw bytes (fixed length, so the concatenation is unambiguous).
std::string client_proof(const std::string& token, const std::string& server_nonce, const std::string& client_nonce);
std::string server_proof(const std::string& token, const std::string& server_nonce, const std::string& client_nonce);

// ------------------------------------------------------------------ sockets and frames

// Failures of the wire, by kind, so callers can tell "peer went away" (reconnect, log quietly)
// from "peer is slow" or "peer sent nonsense".
class WireError : public std::runtime_error {
 public:
  enum class Kind {
    kClosed,    // orderly close or reset by the peer (also EPIPE on write)
    kTimeout,   // nothing (or not enough) arrived / could be sent in time
    kTooLarge,  // a length prefix above kMaxFrameBytes
    kMalformed, // the payload is not a JSON object
    kIo,        // any other socket error
  };
  WireError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct HostPort {
  std::string host;  // as written, without IPv6 brackets
  int port = 0;
  std::string str() const;  // "host:port", "[::1]:port" for IPv6
};
// "HOST:PORT" or "[IPv6]:PORT", port 0..65535 (0 only where `allow_port_zero`). Returns false
// with what is wrong in `problem` ("missing :PORT", "port '8x' is not a number", ...).
bool try_parse_host_port(const std::string& text, bool allow_port_zero, HostPort* out, std::string* problem);
// The same, throwing std::invalid_argument "<what> '<text>': <problem> (expected HOST:PORT ...)".
HostPort parse_host_port(const std::string& text, const std::string& what, bool allow_port_zero);

// A listening TCP socket on host:port (port 0: the kernel picks a free one). Non-blocking, so
// an accept loop can poll it alongside a stop signal. Throws std::runtime_error naming the address.
Fd listen_tcp(const HostPort& where, int backlog);
int bound_port(int fd);
// Connects within `timeout_s` (non-blocking connect + poll) to any address `where` resolves to.
// The socket stays non-blocking; the frame helpers below poll it. Throws std::runtime_error
// "cannot connect to HOST:PORT: <reason>" (refused, unreachable, timed out after N s).
Fd connect_tcp(const HostPort& where, double timeout_s);
// Makes `fd` non-blocking, with TCP_NODELAY (frames are small request/response pairs).
void prepare_socket(int fd);
// "ADDR:PORT" of the peer, for logs.
std::string peer_name(int fd);
// The peer's address without the port ("127.0.0.1", "::1"): what per-address limits key on.
std::string peer_host(int fd);

// Writes one frame (common/frame_codec.h: 4-byte big-endian length + UTF-8 JSON) within
// `timeout_s`. A peer that went away is a WireError(kClosed), never a SIGPIPE.
void send_frame(int fd, const nlohmann::json& message, double timeout_s);
// Reads one frame. `first_byte_timeout_s` bounds the wait for the frame to start (an idle peer),
// `timeout_s` the time for the rest once it started (a peer that stalls mid-frame). A length
// above kMaxFrameBytes throws WireError(kTooLarge) before any of the payload is read; a payload
// that is not a JSON object throws WireError(kMalformed).
nlohmann::json recv_frame(int fd, double first_byte_timeout_s, double timeout_s);
// Raw bytes, for tests that speak broken protocol on purpose.
void send_all(int fd, const std::string& bytes, double timeout_s);

// Ends a connection after the peer had the chance to read what we sent: half-close (FIN after
// our last frame), then discard whatever the peer still sends, until it closes or `linger_s`
// passes, then shut down both ways. Closing with unread input makes the kernel send a reset,
// which can destroy our last frame (the error message) in the peer's receive queue. The caller
// still owns and closes the descriptor (a server thread must not close a descriptor another
// thread may shut down).
void linger_shutdown(int fd, double linger_s);

// {"type":"error","code":code,"message":message}
nlohmann::json error_message(const std::string& code, const std::string& message);

}  // namespace thanos::agent
