#pragma once
// The one length-prefixed frame of THANOS' wires: a 4-byte unsigned length in big-endian (network)
// byte order, then that many bytes. The measurement agent's TCP protocol (docs/AGENT.md) frames
// each JSON message so; the runtime runners' pipe protocol (docs/ORT.md) frames each JSON header
// so, the tensor bytes the header describes following it. Big-endian because the agent's frames
// cross machines, where network order is the convention; the runners ship with THANOS and speak
// whatever it speaks.
#include <cstddef>
#include <cstdint>
#include <string>

#include "thanos/common/poll_deadline.h"

namespace thanos {

inline constexpr std::size_t kFramePrefixBytes = 4;

// The 4-byte prefix announcing a payload of `length` bytes.
std::string frame_prefix(std::uint32_t length);
// The length a prefix announces; `prefix` holds kFramePrefixBytes bytes.
std::uint32_t frame_length(const unsigned char* prefix);
// Prefix + payload. Throws std::length_error for a payload of 4 GiB or more.
std::string encode_frame(const std::string& payload);

struct FrameRead {
  IoResult io;             // kDone when a whole frame (or, with too_large, its prefix) was read
  bool started = false;    // its first byte arrived (a stop after that is a peer stalled mid-frame)
  bool too_large = false;  // the prefix announced more than `max_payload`; the payload was not read
  std::uint32_t length = 0;  // as announced (once the prefix was read)
  std::string payload;

  bool ok() const { return io.ok() && !too_large; }
};

// Reads one frame from a socket (poll_deadline.h's recv_exact, so a frame that arrives in pieces
// is put together), the whole of it by `deadline`. A length above `max_payload` stops after the
// prefix, before anything is allocated for the payload.
FrameRead recv_frame(int fd, std::uint32_t max_payload, Deadline deadline);
// The same for a peer that may stay idle before it speaks: the first byte by
// `first_byte_deadline`, the rest of the frame within `rest_timeout_s` of that first byte.
FrameRead recv_frame(int fd, std::uint32_t max_payload, Deadline first_byte_deadline, double rest_timeout_s);

}  // namespace thanos
