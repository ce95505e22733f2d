#include "thanos/common/frame_codec.h"

#include <limits>
#include <stdexcept>

namespace thanos {
namespace {

// `rest_timeout_s` < 0: everything by `first`.
FrameRead read_frame(int fd, std::uint32_t max_payload, Deadline first, double rest_timeout_s) {
  FrameRead f;
  unsigned char prefix[kFramePrefixBytes];
  f.io = recv_exact(fd, reinterpret_cast<char*>(prefix), 1, first);
  if (!f.io.ok()) return f;
  f.started = true;
  const Deadline rest = rest_timeout_s < 0 ? first : deadline_after(rest_timeout_s);
  f.io = recv_exact(fd, reinterpret_cast<char*>(prefix) + 1, kFramePrefixBytes - 1, rest);
  if (!f.io.ok()) return f;
  f.length = frame_length(prefix);
  if (f.length > max_payload) {
    f.too_large = true;
    return f;
  }
  f.payload.resize(f.length);
  f.io = recv_exact(fd, f.payload.data(), f.length, rest);
  if (!f.io.ok()) f.payload.clear();
  return f;
}

}  // namespace

std::string frame_prefix(std::uint32_t length) {
  std::string p(kFramePrefixBytes, '\0');
  for (std::size_t i = 0; i < kFramePrefixBytes; ++i) {
    p[i] = static_cast<char>((length >> (8 * (kFramePrefixBytes - 1 - i))) & 0xff);
  }
  return p;
}

std::uint32_t frame_length(const unsigned char* prefix) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < kFramePrefixBytes; ++i) n = (n << 8) | prefix[i];
  return n;
}

std::string encode_frame(const std::string& payload) {
  if (payload.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw std::length_error("a frame payload of " + std::to_string(payload.size()) + " bytes exceeds 4 GiB - 1");
  }
  return frame_prefix(static_cast<std::uint32_t>(payload.size())) + payload;
}

FrameRead recv_frame(int fd, std::uint32_t max_payload, Deadline deadline) {
  return read_frame(fd, max_payload, deadline, -1);
}

FrameRead recv_frame(int fd, std::uint32_t max_payload, Deadline first_byte_deadline, double rest_timeout_s) {
  return read_frame(fd, max_payload, first_byte_deadline, rest_timeout_s < 0 ? 0 : rest_timeout_s);
}

}  // namespace thanos
