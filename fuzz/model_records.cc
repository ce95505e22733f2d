// The records a model file holds besides its tensors (model_records.h): what load_model reads from
// the archive, decoded and checked by model_info_from_records, then the search space a model file
// embeds (embedded_search_space, "space_yaml" metadata) and whether its SubConfig is a member.
// libtorch's archive format itself is not fuzzed here (it is libtorch's); the input is the
// records in a small text form:
//   format_version 1
//   capacity 64 64 2 1 ...          (one line per integer record: capacity, vocab, position_dims,
//   hyper_dropout 0.1 0 0            hyper_ints, sub_config; numbers separated by spaces)
//   meta.KEY                         (the rest of the input is the value of metadata KEY)
#include <cstdlib>
#include <sstream>

#include "fuzz_target.h"
#include "thanos/model/model_records.h"
#include "thanos/space/space_yaml.h"

using namespace thanos;
using namespace thanos::fuzz;

namespace {

template <typename T>
std::vector<T> numbers(const std::string& rest) {
  std::vector<T> out;
  std::istringstream in(rest);
  std::string token;
  while (in >> token) {
    char* end = nullptr;
    if constexpr (std::is_same_v<T, double>) {
      out.push_back(std::strtod(token.c_str(), &end));
    } else {
      out.push_back(std::strtoll(token.c_str(), &end, 10));
    }
  }
  return out;
}

ModelRecords decode(const std::string& text) {
  ModelRecords r;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const std::string key = line.substr(0, line.find(' '));
    const std::string rest = key.size() < line.size() ? line.substr(key.size() + 1) : "";
    if (key.rfind("meta.", 0) == 0) {
      r.metadata[key.substr(5)] = pos < text.size() ? text.substr(pos) : "";
      break;
    }
    if (key == "format_version") {
      const auto v = numbers<std::int64_t>(rest);
      if (!v.empty()) r.format_version = v[0];
    } else if (key == "capacity") {
      r.capacity = numbers<std::int64_t>(rest);
    } else if (key == "vocab") {
      r.vocab = numbers<std::int64_t>(rest);
    } else if (key == "position_dims") {
      r.position_dims = numbers<std::int64_t>(rest);
    } else if (key == "hyper_ints") {
      r.hyper_ints = numbers<std::int64_t>(rest);
    } else if (key == "sub_config") {
      r.sub_config = numbers<std::int64_t>(rest);
    } else if (key == "hyper_dropout") {
      r.hyper_dropout = numbers<double>(rest);
    }
  }
  return r;
}

}  // namespace

THANOS_FUZZ_TARGET(model_records) {
  const std::string path = "fuzz-model.pt";
  const ModelRecords records = decode(as_text(data, size));
  ModelFileInfo info;
  if (!expect_documented([&] { info = model_info_from_records(records, path); }, kInvalidArgument, path)) return 0;
  if (config_from_ints(config_to_ints(info.options.capacity), "round-trip") != info.options.capacity) {
    finding("config_to_ints does not round-trip");
  }
  std::optional<SearchSpace> space;
  if (!expect_documented([&] { space = embedded_search_space(info.metadata, path); }, kInvalidArgument, path)) return 0;
  if (space && info.sub_config) (void)space->contains(*info.sub_config);
  return 0;
}
