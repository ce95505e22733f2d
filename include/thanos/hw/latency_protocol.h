#pragma once
// How a SubTransformer's latency and peak memory are measured (docs/MEASUREMENT.md). HAT's
// protocol by default (latency_dataset.py): batch 1, a dummy source of the task's average length,
// the decoder run incrementally for as many steps with beam 5, warm-ups, repetitions, the lowest and
// highest 10% of timings dropped. Every setting is recorded (canonical text + hash), so a row or a
// predictor says which protocol produced it.
#include <string>
#include <vector>

namespace thanos {

struct LatencyProtocol {
  std::string name = "hat-wmt";  // preset it started from (informational; not hashed)
  int src_len = 30;              // dummy source length (HAT: 30 for WMT, 23 for IWSLT)
  int tgt_len = 30;              // incremental decoder steps per timed run
  int beam = 5;                  // decoder rows (fairseq's default beam)
  int warmups = 5;               // untimed runs before timing, encoder and decoder each
  int repeats = 20;              // timed runs (HAT's latiter: 20 on Xeon/TITAN Xp, 2 on the Pi)
  double trim_fraction = 0.1;    // share dropped at each end of the sorted timings
  // Vocabulary of the dummy model: the output projection (beam x vocab per step) and the
  // embedding tables are part of latency and memory. 32768 is the size of a typical joint BPE
  // vocabulary for WMT'14 En-De; set it to your corpus's (the manifest's vocab_size).
  int vocab_size = 32768;
  std::string dtype = "float32";  // float32 | float16 | bfloat16 (CUDA only for the half types)

  // Throws std::invalid_argument naming the field when a value is out of range.
  void validate() const;
  // Every setting that changes a figure, in a fixed order ("src_len=30;tgt_len=30;...").
  std::string canonical() const;
  std::string hash_hex() const;  // 16 hex digits of canonical()
};

// Presets: "hat-wmt" (30/30, beam 5, 5 warm-ups, 20 repeats), "hat-iwslt" (23/23) and "quick"
// (hat-wmt lengths, 1 warm-up, 5 repeats: for tests and smoke runs). Throws naming the choices.
LatencyProtocol latency_protocol_preset(const std::string& name);
std::vector<std::string> latency_protocol_presets();

// Mean and (population) standard deviation of `timings_ms` after HAT's trimming: sort, drop
// floor(n * trim) from the bottom and max(1, floor(n * trim)) from the top (HAT always drops at
// least the slowest run), but never all of them.
struct TrimmedStats {
  double mean_ms = 0;
  double std_ms = 0;
  int kept = 0;
};
TrimmedStats trimmed_stats(std::vector<double> timings_ms, double trim_fraction);

}  // namespace thanos
