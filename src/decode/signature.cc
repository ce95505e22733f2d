#include "thanos/decode/signature.h"

// The project version comes from CMake (src/decode/CMakeLists.txt); a build without it still says so.
#ifndef THANOS_VERSION_STRING
#define THANOS_VERSION_STRING "unknown"
#endif

namespace thanos {

std::string scorer_impl_tag() { return std::string("thanos-") + THANOS_VERSION_STRING; }

std::string join_signature(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('|');
    out += key + ":" + value;
  }
  return out;
}

}  // namespace thanos
