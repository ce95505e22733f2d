#include "thanos/hw/latency_dataset.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "thanos/common/csv.h"
#include "thanos/hw/target_device.h"
#include "thanos/space/hat_features.h"
#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

// The shortest text that reads back as the same double (averages like 1194.666... stay exact).
std::string number(double x) {
  if (!std::isfinite(x)) return "";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, result.ptr);
}

std::string joined(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s;
}

// One column per per-layer field of the table: the layers' values, space-separated.
template <typename Layer>
void per_layer_fields(const std::vector<Layer>& layers, std::vector<std::string>& out) {
  for (const auto& f : layer_fields<Layer>()) out.push_back(joined(field_values(layers, f)));
}

}  // namespace

const std::vector<std::string>& hat_dataset_columns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c(hat_feature_names().begin(), hat_feature_names().end());
    for (const char* n : {"latency_mean_encoder", "latency_mean_decoder", "latency_std_encoder", "latency_std_decoder"}) {
      c.push_back(n);
    }
    return c;
  }();
  return cols;
}

const std::vector<std::string>& dataset_columns() {
  static const std::vector<std::string> cols = [] {
    std::vector<std::string> c = hat_dataset_columns();
    c.push_back("config_hash");
    for (const auto& f : layer_fields<EncoderLayerConfig>()) c.push_back(f.csv_column);
    for (const auto& f : layer_fields<DecoderLayerConfig>()) c.push_back(f.csv_column);
    for (const char* n :
         {"feasible", "infeasible_reason", "peak_memory_mib", "memory_kind",
          "analytic_memory_mib", "params", "params_no_embed", "flops", "reference_latency_ms", "drift",
          "drift_flag", "remeasured", "backend", "device_name", "threads", "interop_threads", "dtype", "host",
          "cpu_freq_mhz", "temperature_c", "cap_mechanism", "memory_cap_mib", "protocol_hash", "library_versions",
          "measured_at", "wall_s"}) {
      c.push_back(n);
    }
    return c;
  }();
  return cols;
}

std::vector<std::string> dataset_row_fields(const DatasetRow& r) {
  const auto& c = r.config;
  const auto& m = r.measurement;
  std::vector<std::string> f;
  for (double x : hat_features(c)) f.push_back(number(x));
  for (double x : {m.encoder_mean_ms, m.decoder_mean_ms, m.encoder_std_ms, m.decoder_std_ms}) f.push_back(m.feasible ? number(x) : "");
  f.push_back(c.hash_hex());
  per_layer_fields(c.encoder_layers, f);
  per_layer_fields(c.decoder_layers, f);
  f.push_back(m.feasible ? "1" : "0");
  f.push_back(m.infeasible_reason);
  f.push_back(m.feasible ? number(m.peak_memory_mib) : "");
  f.push_back(m.memory_kind);
  f.push_back(number(r.analytic_memory_mib));
  f.push_back(std::to_string(r.params));
  f.push_back(std::to_string(r.params_no_embed));
  f.push_back(std::to_string(r.flops));
  f.push_back(number(r.reference_latency_ms));
  f.push_back(number(r.drift));
  f.push_back(r.drift_flag ? "1" : "0");
  f.push_back(r.remeasured ? "1" : "0");
  f.push_back(m.backend);
  f.push_back(m.device_name);
  f.push_back(std::to_string(m.threads));
  f.push_back(std::to_string(m.interop_threads));
  f.push_back(m.dtype);
  f.push_back(m.host);
  f.push_back(number(m.cpu_freq_mhz));
  f.push_back(number(m.temperature_c));
  f.push_back(m.cap_mechanism);
  f.push_back(number(m.memory_cap_mib));
  f.push_back(r.protocol_hash);
  f.push_back(m.library_versions);
  f.push_back(r.measured_at);
  f.push_back(number(m.wall_s));
  return f;
}

DatasetScan scan_dataset(const std::string& path) {
  DatasetScan scan;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return scan;
  scan.exists = true;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::invalid_argument(path + ": cannot read");
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  if (text.empty()) return scan;
  const auto& cols = dataset_columns();
  // Nothing is cut from a file that is not a THANOS dataset (a mistyped --out): its header is
  // checked first, or, while it has no whole line, whether it is the start of that header.
  const auto first_newline = text.find('\n');
  if (first_newline == std::string::npos) {
    if (csv_line(cols).rfind(text, 0) != 0) {
      throw std::invalid_argument(path + ":1: not a THANOS latency dataset (no header line); measure into a new file");
    }
  } else {
    std::vector<std::string> header;
    try {
      header = split_csv_line(text.substr(0, first_newline));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(path + ":1: " + e.what());
    }
    if (header == hat_dataset_columns()) {
      throw std::invalid_argument(path + ":1: this is a HAT-format dataset (14 columns); measure into a new file");
    }
    if (header != cols) {
      throw std::invalid_argument(path + ":1: not a THANOS latency dataset header (expected " + std::to_string(cols.size()) +
                                  " columns starting with HAT's, got " + std::to_string(header.size()) + ")");
    }
  }
  if (text.back() != '\n') {
    // Only an interrupted write leaves a line without its newline: cut it off.
    const auto last_newline = text.rfind('\n');
    const std::size_t keep = last_newline == std::string::npos ? 0 : last_newline + 1;
    std::filesystem::resize_file(path, keep);
    text.resize(keep);
    scan.dropped_partial_line = true;
    if (text.empty()) return scan;
  }
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  int hash_col = -1, protocol_col = -1, backend_col = -1;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<std::string> fields;
    try {
      fields = split_csv_line(line);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(path + ":" + std::to_string(line_no) + ": " + e.what());
    }
    if (line_no == 1) {  // the header, checked above
      for (std::size_t i = 0; i < cols.size(); ++i) {
        if (cols[i] == "config_hash") hash_col = static_cast<int>(i);
        if (cols[i] == "protocol_hash") protocol_col = static_cast<int>(i);
        if (cols[i] == "backend") backend_col = static_cast<int>(i);
      }
      continue;
    }
    if (fields.size() != cols.size()) {
      throw std::invalid_argument(path + ":" + std::to_string(line_no) + ": expected " + std::to_string(cols.size()) +
                                  " fields, got " + std::to_string(fields.size()));
    }
    scan.config_hashes.insert(fields[hash_col]);
    scan.protocol_hashes.insert(fields[protocol_col]);
    if (backend_col >= 0) {
      if (const std::string runtime = runtime_of_backend(fields[backend_col]); !runtime.empty()) scan.runtimes.insert(runtime);
    }
    ++scan.rows;
  }
  return scan;
}

DatasetAppender::DatasetAppender(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot open for appending: " + std::strerror(errno));
  if (::lseek(fd_, 0, SEEK_END) == 0) write_line(csv_line(dataset_columns()) + "\n");
}

DatasetAppender::~DatasetAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void DatasetAppender::append(const DatasetRow& row) { write_line(csv_line(dataset_row_fields(row)) + "\n"); }

void DatasetAppender::write_line(const std::string& line) {
  // O_APPEND + one write(): the line lands whole at the end (a regular file takes a write of a
  // few hundred bytes in one piece); a short write is an error we report, not retry into a gap.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    throw std::runtime_error(path_ + ": short write (" + (n < 0 ? std::string(std::strerror(errno)) : std::to_string(n)) +
                             "); the next run cuts the partial line and re-measures it");
  }
  ::fdatasync(fd_);
}

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace thanos
