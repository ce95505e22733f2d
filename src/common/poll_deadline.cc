#include "thanos/common/poll_deadline.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace thanos {
namespace {

bool is_closed_errno(int err) { return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ESHUTDOWN; }

}  // namespace

Deadline deadline_after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

int poll_timeout_ms(Deadline deadline, int cap_ms) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<long long>(ms, cap_ms));
}

IoResult wait_ready(int fd, short events, Deadline deadline) {
  for (;;) {
    const int timeout = poll_timeout_ms(deadline);
    if (timeout == 0) return {IoStatus::kTimeout, 0, 0};
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, timeout);
    if (r > 0) return {};
    if (r < 0 && errno != EINTR) return {IoStatus::kError, errno, 0};
    // r == 0 (the rounded-up timeout ran out) or EINTR: the deadline decides at the top.
  }
}

IoResult send_all(int fd, const char* data, std::size_t n, Deadline deadline) {
  IoResult r;
  while (r.bytes < n) {
    // MSG_DONTWAIT also for a blocking socket: a full buffer must wait in poll, under the deadline.
    const ssize_t w = ::send(fd, data + r.bytes, n - r.bytes, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      r.bytes += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const IoResult ready = wait_ready(fd, POLLOUT, deadline);
      if (!ready.ok()) return {ready.status, ready.error, r.bytes};
      continue;
    }
    const int err = w < 0 ? errno : EPIPE;  // 0 bytes taken of a non-empty buffer: nobody reads
    return {is_closed_errno(err) ? IoStatus::kClosed : IoStatus::kError, err, r.bytes};
  }
  return r;
}

IoResult recv_exact(int fd, char* data, std::size_t n, Deadline deadline) {
  IoResult r;
  while (r.bytes < n) {
    const ssize_t k = ::recv(fd, data + r.bytes, n - r.bytes, MSG_DONTWAIT);
    if (k > 0) {
      r.bytes += static_cast<std::size_t>(k);
      continue;
    }
    if (k == 0) return {IoStatus::kClosed, 0, r.bytes};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const IoResult ready = wait_ready(fd, POLLIN, deadline);
      if (!ready.ok()) return {ready.status, ready.error, r.bytes};
      continue;
    }
    const int err = errno;
    return {is_closed_errno(err) ? IoStatus::kClosed : IoStatus::kError, err, r.bytes};
  }
  return r;
}

}  // namespace thanos
