// The board owner's bounds on measurement requests (hw/agent_limits.h).
#include "thanos/hw/agent_limits.h"

#include <cstdio>
#include <stdexcept>
#include <string>

#include "thanos/hw/measurement_json.h"

namespace thanos {
namespace {

// "%g" without trailing zeros: "1800", "0.5".
std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

void check_at_most(const char* field, long long asked, int limit, const char* flag) {
  if (limit > 0 && asked > limit) {
    throw std::invalid_argument(std::string(field) + ": " + std::to_string(asked) + " asked, this agent allows at most " +
                                std::to_string(limit) + " (" + flag + ")");
  }
}

}  // namespace

void AgentLimits::validate() const {
  auto non_negative = [](const char* flag, double v) {
    if (!(v >= 0)) throw std::invalid_argument(std::string(flag) + ": expected >= 0 (0 = no limit), got " + number_text(v));
  };
  non_negative("--threads", threads);
  non_negative("--memory-cap-mib", memory_cap_mib);
  non_negative("--max-timeout-s", max_timeout_s);
  non_negative("--max-threads", max_threads);
  non_negative("--max-beam", max_beam);
  non_negative("--max-src-len", max_src_len);
  non_negative("--max-tgt-len", max_tgt_len);
  non_negative("--max-vocab-size", max_vocab_size);
  // What request_from_json accepts at all: a larger setting would promise what no request gets.
  if (threads > kMaxRequestThreads) {
    throw std::invalid_argument("--threads: expected at most " + std::to_string(kMaxRequestThreads) + ", got " + std::to_string(threads));
  }
  if (max_timeout_s > 86400) throw std::invalid_argument("--max-timeout-s: expected at most 86400 (a day), got " + number_text(max_timeout_s));
}

nlohmann::json AgentLimits::to_json() const {
  return {{"threads", threads},           {"memory_cap_mib", memory_cap_mib}, {"max_timeout_s", max_timeout_s},
          {"max_threads", max_threads},   {"max_beam", max_beam},             {"max_src_len", max_src_len},
          {"max_tgt_len", max_tgt_len},   {"max_vocab_size", max_vocab_size}};
}

void apply_agent_limits(const AgentLimits& limits, MeasureRequest& request) {
  // Refusals first: a request beyond a bound is answered before anything of it is changed.
  if (limits.threads == 0) check_at_most("run.threads", request.run.threads, limits.max_threads, "--max-threads");
  check_at_most("run.interop_threads", request.run.interop_threads, limits.max_threads, "--max-threads");
  check_at_most("protocol.beam", request.protocol.beam, limits.max_beam, "--max-beam");
  check_at_most("protocol.src_len", request.protocol.src_len, limits.max_src_len, "--max-src-len");
  check_at_most("protocol.tgt_len", request.protocol.tgt_len, limits.max_tgt_len, "--max-tgt-len");
  check_at_most("protocol.vocab_size", request.protocol.vocab_size, limits.max_vocab_size, "--max-vocab-size");
  // The owner knows the board's cores; a client may ask for a smaller cap or timeout, never a
  // larger one or none (a measurement without a timeout could hold the board forever).
  if (limits.threads > 0) request.run.threads = limits.threads;
  if (limits.memory_cap_mib > 0 && (request.run.memory_cap_mib <= 0 || request.run.memory_cap_mib > limits.memory_cap_mib)) {
    request.run.memory_cap_mib = limits.memory_cap_mib;
  }
  if (limits.max_timeout_s > 0 && (request.run.timeout_s <= 0 || request.run.timeout_s > limits.max_timeout_s)) {
    request.run.timeout_s = limits.max_timeout_s;
  }
}

}  // namespace thanos
