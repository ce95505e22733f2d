#pragma once
// What the board's owner lets an authenticated client ask of the board (docs/AGENT.md, "Limits").
// A client chooses the threads, timeout, beam, lengths and vocabulary of its measurements; the
// agent's flags replace, cap or bound them, so a token holder cannot occupy the board for hours or
// make one measurement allocate without bound. Torch-free.
#include <nlohmann/json.hpp>

#include "thanos/hw/measurement.h"

namespace thanos {

struct AgentLimits {
  // Replaced or capped, silently (a measurement under the owner's settings is still the one asked):
  int threads = 0;              // > 0: every measurement's intra-op threads, whatever the client asks
  double memory_cap_mib = 0;    // > 0: the largest memory cap; a request with none or more gets this
  double max_timeout_s = 1800;  // > 0: the longest a measurement may run; none or more gets this
  // Refused beyond (a bad-request reply naming field, value and limit; the connection stays):
  int max_threads = 0;          // > 0: intra-op and inter-op threads (0: the protocol's 1024)
  int max_beam = 64;
  int max_src_len = 1024;
  int max_tgt_len = 1024;
  int max_vocab_size = 262144;

  // Throws std::invalid_argument naming the flag of a negative value or one beyond what a
  // request may carry at all.
  void validate() const;
  // The fields of the agent's `info` reply ("threads", "max_beam", ...; 0 = no limit).
  nlohmann::json to_json() const;
};

// Applies `limits` to `request` in place: threads replaced, memory cap and timeout capped (a
// timeout of 0, "none", becomes max_timeout_s). Throws std::invalid_argument for the first field
// beyond a bound: "protocol.beam: 100 asked, this agent allows at most 64 (--max-beam)".
void apply_agent_limits(const AgentLimits& limits, MeasureRequest& request);

}  // namespace thanos
