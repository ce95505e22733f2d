#include "thanos/decode/generation_options.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace thanos {
namespace {

struct NamedPreset {
  const char* name;
  int beam;
  double lenpen;
};
// HAT's test scripts: WMT'14/'19 with beam 4 and lenpen 0.6, IWSLT'14 with beam 5 and lenpen 1.
constexpr NamedPreset kPresets[] = {{"hat-wmt", 4, 0.6}, {"hat-iwslt", 5, 1.0}};

}  // namespace

void GenerationOptions::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("generation options: " + what); };
  if (beam < 1) fail("beam = " + std::to_string(beam) + ", expected >= 1");
  if (nbest < 1 || nbest > beam) {
    fail("nbest = " + std::to_string(nbest) + ", expected 1.." + std::to_string(beam) + " (the beam size)");
  }
  if (!std::isfinite(lenpen)) fail("lenpen must be a finite number");
  if (!(max_len_a >= 0) || !std::isfinite(max_len_a)) fail("max_len_a = " + std::to_string(max_len_a) + ", expected >= 0");
  if (min_len < 0) fail("min_len = " + std::to_string(min_len) + ", expected >= 0");
}

GenerationOptions generation_preset(const std::string& name) {
  for (const auto& p : kPresets) {
    if (name == p.name) {
      GenerationOptions o;
      o.beam = p.beam;
      o.lenpen = p.lenpen;
      return o;
    }
  }
  std::string known;
  for (const auto& n : generation_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown generation preset '" + name + "' (known: " + known + ")");
}

std::vector<std::string> generation_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets) names.push_back(p.name);
  return names;
}

int64_t max_generation_length(const GenerationOptions& options, int64_t src_len, int64_t max_target_positions) {
  const auto by_source = static_cast<int64_t>(std::floor(options.max_len_a * static_cast<double>(src_len) +
                                                         static_cast<double>(options.max_len_b)));
  return std::min<int64_t>(by_source, max_target_positions - 1);
}

}  // namespace thanos
