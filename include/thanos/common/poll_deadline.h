#pragma once
// Socket I/O bounded by a deadline: wait for a descriptor, send a whole buffer, receive an exact
// number of bytes. The measurement agent's TCP connections and the runtime runners' socket pairs
// use these; neither may hang on a peer that stalls or vanishes. Results are values, not
// exceptions, so each caller words its own errors (a peer that closed is news for the agent's
// client, a runner that died is a failure with its stderr attached).
#include <chrono>
#include <cstddef>

namespace thanos {

using Deadline = std::chrono::steady_clock::time_point;

// Now plus `seconds` (fractions allowed).
Deadline deadline_after(double seconds);
// The time left until `deadline` as poll()'s timeout: 0 once it passed, rounded up otherwise (so
// a poll does not wake just before the deadline and spin), at most `cap_ms`.
int poll_timeout_ms(Deadline deadline, int cap_ms = 1 << 30);

enum class IoStatus {
  kDone,     // ready / every byte transferred
  kTimeout,  // the deadline passed first
  kClosed,   // the peer closed (error 0: an orderly end of stream; else EPIPE, ECONNRESET, ...)
  kError,    // any other failure; `error` is the errno
};

struct IoResult {
  IoStatus status = IoStatus::kDone;
  int error = 0;          // the errno behind kClosed (0 for an orderly close) and kError
  std::size_t bytes = 0;  // transferred before it stopped
  bool ok() const { return status == IoStatus::kDone; }
};

// Waits until `fd` is ready for `events` (POLLIN, POLLOUT) or the deadline passes. An error or a
// hang-up on `fd` counts as ready: the next read or write reports it. EINTR waits on with the
// time left. kDone, kTimeout or kError.
IoResult wait_ready(int fd, short events, Deadline deadline);

// Sends `n` bytes on a socket (blocking or not) by the deadline. send() with MSG_NOSIGNAL: a peer
// that went away is kClosed, never a SIGPIPE.
IoResult send_all(int fd, const char* data, std::size_t n, Deadline deadline);

// Receives exactly `n` bytes from a socket (blocking or not) by the deadline. Bytes already
// waiting are taken even after the deadline; only waiting for more times out.
IoResult recv_exact(int fd, char* data, std::size_t n, Deadline deadline);

}  // namespace thanos
