#include "thanos/hw/host_info.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace thanos {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

double parse_number(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    return used > 0 ? v : kNaN;
  } catch (const std::exception&) {
    return kNaN;
  }
}

}  // namespace

double proc_status_mib(const std::string& field, pid_t pid) {
  const std::string path = pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status";
  std::ifstream in(path);
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) != 0) continue;
    // "VmRSS:	  123456 kB"
    const double kib = parse_number(line.substr(prefix.size()));
    return kib / 1024.0;
  }
  return kNaN;
}

bool reset_peak_rss(pid_t pid) {
  std::ofstream out(pid == 0 ? std::string("/proc/self/clear_refs") : "/proc/" + std::to_string(pid) + "/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::string fallback;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (key == "model name") return value;
    // ARM boards: "Model : Radxa ROCK 5B" or "Hardware : ..."; keep looking for "model name".
    if ((key == "Model" || key == "Hardware") && fallback.empty()) fallback = value;
  }
  return fallback.empty() ? "unknown" : fallback;
}

double cpu_freq_mhz() {
  const double khz = parse_number(first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"));
  return std::isfinite(khz) ? khz / 1000.0 : kNaN;
}

double cpu_temperature_c() {
  double hottest = kNaN;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/thermal", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("thermal_zone", 0) != 0) continue;
    const double milli = parse_number(first_line(entry.path().string() + "/temp"));
    if (!std::isfinite(milli)) continue;
    const double c = milli / 1000.0;
    if (!std::isfinite(hottest) || c > hottest) hottest = c;
  }
  return hottest;
}

}  // namespace thanos
