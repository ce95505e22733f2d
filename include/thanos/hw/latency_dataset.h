#pragma once
// Latency/memory dataset files (docs/MEASUREMENT.md, "CSV columns"): HAT's 14 columns first, so
// HAT's published datasets and ours share a prefix and one loader reads both, then THANOS'
// columns (per-layer dims incl. QKV, memory, size, conditions, provenance). One row per measured
// SubTransformer; rows are appended with one write() each, so a crash never leaves half a row.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "thanos/hw/measurement.h"
#include "thanos/space/sub_config.h"

namespace thanos {

struct DatasetRow {
  SubConfig config;
  Measurement measurement;
  double analytic_memory_mib = 0;
  std::int64_t params = 0;           // every parameter of the standalone model
  std::int64_t params_no_embed = 0;  // HAT's "#Params" (layers only)
  std::int64_t flops = 0;            // HAT's convention at the protocol's lengths
  // The drift guard: the fixed reference SubTransformer's latency at the check before this row,
  // and its relative change from the run's first reference measurement on the same device.
  double reference_latency_ms = 0;
  double drift = 0;
  bool drift_flag = false;  // measured while the reference was beyond the tolerance
  bool remeasured = false;  // supersedes an earlier row of the same config (taken during drift)
  std::string protocol_hash;
  std::string measured_at;  // UTC, ISO 8601
};

// The 14 columns of HAT's published datasets.
const std::vector<std::string>& hat_dataset_columns();
// HAT's columns, then THANOS' own.
const std::vector<std::string>& dataset_columns();
// The row's fields, in dataset_columns() order (infeasible rows leave the latency columns empty).
std::vector<std::string> dataset_row_fields(const DatasetRow& row);

// What an existing dataset file already holds, for resuming.
struct DatasetScan {
  bool exists = false;
  int rows = 0;
  std::set<std::string> config_hashes;  // rows already measured (feasible or not)
  std::set<std::string> protocol_hashes;
  std::set<std::string> runtimes;  // runtime_of_backend of the rows' backends (unknown ones left out)
  bool dropped_partial_line = false;  // a line without its newline (an interrupted write) was cut
};
// Reads `path` (missing file: exists = false). A last line without a newline is cut off the file
// (it can only come from a write that was interrupted). Throws std::invalid_argument naming the
// file and line when the header is not THANOS' (e.g. one of HAT's published files) or a row has
// the wrong number of fields.
DatasetScan scan_dataset(const std::string& path);

// Appends rows to a dataset file, writing the header first when the file is new or empty.
class DatasetAppender {
 public:
  explicit DatasetAppender(const std::string& path);
  ~DatasetAppender();
  DatasetAppender(const DatasetAppender&) = delete;
  DatasetAppender& operator=(const DatasetAppender&) = delete;
  // One write() of the whole line, then fdatasync: the row is on disk when this returns.
  void append(const DatasetRow& row);

 private:
  void write_line(const std::string& line);
  std::string path_;
  int fd_ = -1;
};

// "2026-11-26T01:23:45Z"
std::string utc_timestamp();

}  // namespace thanos
