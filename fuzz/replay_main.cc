// thanos_fuzz_replay HARNESS DIR...: feeds every file of each DIR (a missing DIR is skipped) to
// the harness, in name order, so that the committed corpus and every regression input run in the
// normal test suite without clang (fuzz_target.h). A finding aborts; otherwise prints the count.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz_target.h"

namespace thanos::fuzz {

static std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}

bool register_target(const char* name, Entry entry) {
  registry()[name] = entry;
  return true;
}

}  // namespace thanos::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  using thanos::fuzz::registry;
  if (argc < 2 || registry().count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: thanos_fuzz_replay HARNESS DIR...\nharnesses:");
    for (const auto& [name, entry] : registry()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  const auto entry = registry()[argv[1]];
  int inputs = 0;
  for (int a = 2; a < argc; ++a) {
    if (!fs::is_directory(argv[a])) continue;
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(argv[a])) {
      if (f.is_regular_file()) files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::fprintf(stderr, "%s: %s (%zu bytes)\n", argv[1], f.c_str(), bytes.size());
      entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++inputs;
    }
  }
  std::printf("%s: %d inputs replayed, no finding\n", argv[1], inputs);
  // A harness with neither corpus nor regressions replays nothing: a mistake, not a pass.
  return inputs > 0 ? 0 : 1;
}
