#include "thanos/hw/latency_protocol.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

#include "thanos/common/text.h"

namespace thanos {

void LatencyProtocol::validate() const {
  auto positive = [](const char* field, int v) {
    if (v < 1) throw std::invalid_argument(std::string("protocol.") + field + ": expected >= 1, got " + std::to_string(v));
  };
  positive("src_len", src_len);
  positive("tgt_len", tgt_len);
  positive("beam", beam);
  positive("repeats", repeats);
  positive("vocab_size", vocab_size);
  if (warmups < 0) throw std::invalid_argument("protocol.warmups: expected >= 0, got " + std::to_string(warmups));
  if (!(trim_fraction >= 0 && trim_fraction < 0.5)) {
    throw std::invalid_argument("protocol.trim_fraction: expected 0 <= x < 0.5, got " + std::to_string(trim_fraction));
  }
  if (vocab_size < 5) throw std::invalid_argument("protocol.vocab_size: expected >= 5 (4 special tokens + 1), got " + std::to_string(vocab_size));
  if (dtype != "float32" && dtype != "float16" && dtype != "bfloat16") {
    throw std::invalid_argument("protocol.dtype: expected float32, float16 or bfloat16, got \"" + dtype + "\"");
  }
}

std::string LatencyProtocol::canonical() const {
  std::ostringstream s;
  s << "src_len=" << src_len << ";tgt_len=" << tgt_len << ";beam=" << beam << ";warmups=" << warmups
    << ";repeats=" << repeats << ";trim=" << trim_fraction << ";vocab=" << vocab_size << ";dtype=" << dtype;
  return s.str();
}

std::string LatencyProtocol::hash_hex() const { return hex64(fnv1a64(canonical())); }

std::vector<std::string> latency_protocol_presets() { return {"hat-wmt", "hat-iwslt", "quick"}; }

LatencyProtocol latency_protocol_preset(const std::string& name) {
  LatencyProtocol p;  // the defaults are HAT's WMT protocol
  p.name = name;
  if (name == "hat-wmt") return p;
  if (name == "hat-iwslt") {
    p.src_len = p.tgt_len = 23;
    return p;
  }
  if (name == "quick") {
    p.warmups = 1;
    p.repeats = 5;
    return p;
  }
  throw std::invalid_argument("unknown latency protocol \"" + name + "\"; expected one of hat-wmt, hat-iwslt, quick");
}

TrimmedStats trimmed_stats(std::vector<double> t, double trim_fraction) {
  TrimmedStats s;
  if (t.empty()) return s;
  std::sort(t.begin(), t.end());
  const int n = static_cast<int>(t.size());
  int low = static_cast<int>(std::floor(n * trim_fraction));
  int high = std::max(1, static_cast<int>(std::floor(n * trim_fraction)));
  if (low + high >= n) {  // a single run: keep it (HAT's slice would leave nothing)
    low = 0;
    high = 0;
  }
  double sum = 0;
  for (int i = low; i < n - high; ++i) sum += t[i];
  s.kept = n - low - high;
  s.mean_ms = sum / s.kept;
  double sq = 0;
  for (int i = low; i < n - high; ++i) sq += (t[i] - s.mean_ms) * (t[i] - s.mean_ms);
  s.std_ms = std::sqrt(sq / s.kept);
  return s;
}

}  // namespace thanos
