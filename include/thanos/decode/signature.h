#pragma once
// Score signatures: sacreBLEU's `key:value|key:value` strings, which say exactly how a score was
// computed, plus `impl:thanos-<version>` so that a reader can tell our number from sacreBLEU's
// own. `version:` names the sacreBLEU release whose behaviour the scorer reproduces (docs/SCORING.md).
#include <string>
#include <utility>
#include <vector>

namespace thanos {

// The sacreBLEU release our BLEU and chrF reproduce.
inline constexpr const char* kSacrebleuVersion = "2.6.0";

// "thanos-0.1.0": this build's implementation tag.
std::string scorer_impl_tag();

// Joins `fields` as "k1:v1|k2:v2|...".
std::string join_signature(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace thanos
