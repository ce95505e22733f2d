#pragma once
// The drift reference: the space's smallest member, measured beside the dataset and beside every
// budget claim (hw/budget_claim.h), tells whether the device reads at the speed it had while its
// dataset was measured. Its readings are recorded and a drifting device is flagged; nothing is
// ever divided by them (docs/MEASUREMENT.md, "Noise and budget claims").
#include <functional>
#include <string>

namespace thanos {

// A reference reading within this fraction of its dataset value is the device's usual speed.
inline constexpr double kDriftTolerance = 0.10;

// Before measurements that are reported as budget claims, long after the dataset was measured:
// read the reference (`read_reference`, e.g. the space's smallest member) and, while it reads more
// than `tolerance` slower than `baseline_ms` (the reference while the dataset was measured), wait
// `cooldown_s` through `sleep` and read it again, at most `max_cooldowns` times. Only slowness is
// waited out: cooling cannot slow a device down. The demo's final measurements once came in a slow
// spell of its shared VM (every model ~45% slower than in the search), and a model
// verified at 19.8 ms read 29.3 ms against a 21.4 ms budget.
struct ReferenceCheck {
  double reference_ms = 0;  // the last reading
  double drift = 0;         // (reference_ms - baseline_ms) / baseline_ms
  int cooldowns = 0;
};
// A slow spell that a cool-down did not move is not waited out further (cooldown_changed_nothing).
ReferenceCheck settle_reference(const std::function<double()>& read_reference, double baseline_ms, double tolerance,
                                double cooldown_s, int max_cooldowns, const std::function<void(double)>& sleep,
                                const std::function<void(const std::string&)>& log);

// Whether a cool-down left the reference where it was: the reading after it within `still`
// (relative) of the reading before. Then the slowness is a lasting change of the device's speed (a
// shared VM's host got busier), not a burst or heat that waiting lets pass, and more cool-downs only
// spend time: a demo's measurement once waited three times 30 s while the reference read 13.81,
// 13.80 and 13.96 ms (10.34 ms at the start), and then flagged its rows anyway.
bool cooldown_changed_nothing(double before_ms, double after_ms, double still = 0.05);

}  // namespace thanos
