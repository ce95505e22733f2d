#pragma once
// Where a predictor's training data came from and how it was measured. A latency predictor is
// only valid for the protocol (lengths, beam, dtype, threads) and device it was fitted under, so
// every predictor file records this and the search checks it against its target before trusting
// a prediction (docs/PREDICTORS.md, "Provenance"). Torch-free.
#include <string>
#include <vector>

#include "thanos/hw/latency_protocol.h"

namespace thanos {

struct Provenance {
  std::string source;         // "thanos-measure" (a `thanos measure` dataset) | "hat-published"
  std::string protocol_name;  // hat-wmt | hat-iwslt | quick | custom
  std::string protocol_hash;  // LatencyProtocol::hash_hex()
  int src_len = 0, tgt_len = 0, beam = 0;  // 0: unknown (a custom protocol known by its hash only)
  int vocab_size = 0;
  std::string dtype;
  int threads = 0;            // 0: unknown
  int interop_threads = 0;
  std::string backend;        // cpu | cuda | remote://host:port/cpu ...
  std::string device_name;
  std::string host;
  std::string thanos_version; // of the measuring THANOS (HAT data: empty)
  // The training data: path as given, FNV-1a 64 of its bytes, and the rows used.
  std::string data_path;
  std::string data_hash;
  int data_rows = 0;
  std::string fitted_by;      // THANOS version that fitted the predictor
};

// The measurement settings a search targets, in the same terms.
Provenance target_provenance(const LatencyProtocol& protocol, const std::string& backend,
                             const std::string& device_name, int threads, int interop_threads);

// HAT's published dataset `path` (its file name names task and device, e.g.
// wmt14ende_cpu_raspberrypi_all.csv): HAT's protocol, hat-wmt lengths (30) for wmt files and
// hat-iwslt (23) for iwslt, beam 5, float32; the device from the file name.
Provenance hat_published_provenance(const std::string& path);

// The protocol preset whose hash is `hash` ("" when none), so a dataset that records only the hash
// still names its lengths and beam.
std::string protocol_preset_with_hash(const std::string& hash);

// What differs between the predictor's measurement conditions and the target's: one entry per
// field, e.g. "beam: predictor 5, target 4". Compared: protocol hash, lengths, beam, vocabulary,
// dtype, threads, backend kind and device name; a field unknown on either side (0 or empty) is
// not compared. Host and THANOS version are informational (a pool of identical boards has many
// hosts).
std::vector<std::string> provenance_differences(const Provenance& predictor, const Provenance& target);

// Throws std::invalid_argument("predictor PATH was fitted under a different measurement protocol
// than the target's: beam: predictor 5, target 4; ...") when anything differs.
void check_predictor_provenance(const Provenance& predictor, const Provenance& target, const std::string& predictor_path);

}  // namespace thanos
