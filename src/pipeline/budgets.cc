#include "thanos/pipeline/budgets.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>

#include "thanos/common/csv.h"
#include "thanos/common/stats.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"

namespace thanos {

namespace {

// A dataset CSV's lines (header first) and a lookup of its columns by name that names the file when
// one is missing.
struct DatasetLines {
  std::string path;
  std::vector<std::string> lines;
  std::vector<std::string> header;
  std::size_t column(const std::string& name) const {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::invalid_argument(path + ": no column '" + name + "' (not a THANOS dataset)");
    return static_cast<std::size_t>(it - header.begin());
  }
};

DatasetLines read_dataset_lines(const std::string& path) {
  DatasetLines d{path, split_lines(read_text_file(path), false), {}};
  if (d.lines.empty()) throw std::invalid_argument(path + ": empty dataset");
  d.header = split_csv_line(d.lines[0]);
  return d;
}

}  // namespace

std::vector<MeasuredPoint> read_measured_points(const std::string& path) {
  const DatasetLines d = read_dataset_lines(path);
  const auto& lines = d.lines;
  const auto& header = d.header;
  const std::size_t enc = d.column("latency_mean_encoder"), dec = d.column("latency_mean_decoder"),
                    mem = d.column("peak_memory_mib"), feasible = d.column("feasible"), hash = d.column("config_hash");
  // A config re-measured by the drift guard has several rows; the last one counts (docs/MEASUREMENT.md).
  std::map<std::string, std::size_t> last_row;  // config hash -> its place in `rows` (first appearance)
  std::vector<std::optional<MeasuredPoint>> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto f = split_csv_line(lines[i]);
    if (f.size() != header.size()) {
      throw std::invalid_argument(path + ":" + std::to_string(i + 1) + ": " + std::to_string(f.size()) + " fields, the header has " +
                                  std::to_string(header.size()));
    }
    std::optional<MeasuredPoint> point;
    if (f[feasible] == "1") point = MeasuredPoint{std::stod(f[enc]) + std::stod(f[dec]), std::stod(f[mem])};
    const auto [it, first] = last_row.emplace(f[hash], rows.size());
    if (first) {
      rows.push_back(point);
    } else {
      rows[it->second] = point;
    }
  }
  std::vector<MeasuredPoint> out;
  for (const auto& r : rows) {
    if (r) out.push_back(*r);
  }
  return out;
}

double dataset_reference_ms(const std::string& path) {
  const DatasetLines d = read_dataset_lines(path);
  const std::size_t col = d.column("reference_latency_ms");
  std::vector<double> values;
  for (std::size_t i = 1; i < d.lines.size(); ++i) {
    if (d.lines[i].empty()) continue;
    const auto f = split_csv_line(d.lines[i]);
    if (col < f.size() && !f[col].empty() && std::stod(f[col]) > 0) values.push_back(std::stod(f[col]));
  }
  return values.empty() ? 0.0 : percentile(values, 50);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) throw std::invalid_argument("percentile of no values (the dataset has no feasible row)");
  return percentile_of(std::move(values), p);
}

ResolvedBudgets resolve_budgets(const BudgetPair& pair, const std::vector<MeasuredPoint>& points) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ResolvedBudgets r;
  r.name = pair.name;
  r.latency_text = pair.latency.text;
  r.memory_text = pair.memory.text;
  std::vector<double> lat, mem;
  for (const auto& p : points) {
    lat.push_back(p.latency_ms);
    mem.push_back(p.memory_mib);
  }
  auto resolve = [&](const BudgetSpec& b, const std::vector<double>& v) {
    if (b.empty()) return kInf;
    return b.percentile ? percentile(v, b.value) : b.value;
  };
  r.latency_ms = resolve(pair.latency, lat);
  r.memory_mib = resolve(pair.memory, mem);
  int fit = 0;
  for (const auto& p : points) fit += p.latency_ms <= r.latency_ms && p.memory_mib <= r.memory_mib;
  r.feasible_fraction = points.empty() ? 0.0 : static_cast<double>(fit) / static_cast<double>(points.size());
  return r;
}

}  // namespace thanos
