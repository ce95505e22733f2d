#include "thanos/common/fd.h"

#include <fcntl.h>
#include <unistd.h>

namespace thanos {

void Fd::reset(int fd) noexcept {
  // close() is not retried on EINTR: Linux releases the descriptor even then, and a retry could
  // close a descriptor another thread has just been given.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

bool set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace thanos
