#pragma once
// What the operating system tells about this machine and a process: resident memory, CPU model,
// frequency and temperature (Linux /proc and /sys). Torch-free; every reader returns "unknown"
// (NaN or "") where the file does not exist rather than failing, since boards differ.
#include <string>
#include <sys/types.h>

namespace thanos {

// A field of /proc/<pid>/status in MiB ("VmRSS", "VmHWM"); NaN when absent. pid 0 = this process.
double proc_status_mib(const std::string& field, pid_t pid = 0);
// Resets a process's VmHWM to its current VmRSS (writes "5" to /proc/<pid>/clear_refs; Linux
// >= 4.0; another process must be ours). pid 0 = this process. Returns false when not allowed.
bool reset_peak_rss(pid_t pid = 0);

std::string host_name();
std::string cpu_model_name();  // /proc/cpuinfo "model name" (or "Model"/"Hardware" on ARM boards)
double cpu_freq_mhz();         // cpu0's scaling_cur_freq; NaN when not exposed
double cpu_temperature_c();    // the hottest /sys/class/thermal zone; NaN when none

}  // namespace thanos
