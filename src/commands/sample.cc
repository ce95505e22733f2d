#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "thanos/commands/commands.h"
#include "thanos/common/text.h"
#include "thanos/space/config_io.h"
#include "thanos/space/sampler.h"
#include "thanos/space/space_yaml.h"

namespace thanos {

SampleKind sample_kind_from_string(const std::string& s) {
  if (s == "random") return SampleKind::kRandom;
  if (s == "smallest") return SampleKind::kSmallest;
  if (s == "largest") return SampleKind::kLargest;
  throw std::invalid_argument("--kind: expected random, smallest or largest, got '" + s + "'");
}

SampleResult run_sample(const SampleOptions& opt) {
  if (opt.out_path.empty()) throw std::invalid_argument("thanos sample: --out is required");
  if (opt.count < 1) throw std::invalid_argument("thanos sample: --count must be >= 1, got " + std::to_string(opt.count));
  LoadedSpace ls = load_search_space(opt.space_path);
  SampleResult result;
  result.warnings = ls.warnings;
  std::vector<SubConfig> configs;
  switch (opt.kind) {
    case SampleKind::kSmallest: configs.push_back(ls.space.smallest()); break;
    case SampleKind::kLargest: configs.push_back(ls.space.largest()); break;
    case SampleKind::kRandom: configs = sample_configs(ls.space, opt.seed, opt.count); break;
  }
  if (configs.size() == 1) {
    write_file_atomically(opt.out_path, config_to_yaml(configs[0]));
    result.written.push_back(opt.out_path);
    return result;
  }
  if (::mkdir(opt.out_path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create directory " + opt.out_path + ": " + std::strerror(errno));
  }
  for (std::size_t i = 0; i < configs.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "sub%04zu.yml", i);
    const std::string path = opt.out_path + "/" + name;
    write_file_atomically(path, config_to_yaml(configs[i]));
    result.written.push_back(path);
  }
  return result;
}

}  // namespace thanos
