#include "thanos/data/prepared_data.h"

#include <filesystem>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/data/text_lines.h"

namespace thanos {
namespace fs = std::filesystem;

nlohmann::json load_prepared_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  if (!fs::exists(path)) {
    throw std::invalid_argument(path + ": not found; make the data directory with `thanos prepare` (or, for the "
                                "bundled corpus, scripts/build-corpus.sh then thanos prepare)");
  }
  nlohmann::json m;
  try {
    m = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(path + ": invalid JSON: " + e.what());
  }
  if (m.value("format", "") != "thanos.prepared") throw std::invalid_argument(path + ": not a thanos prepare manifest");
  if (m.value("version", 0) > kPreparedFormatVersion) {
    throw std::invalid_argument(path + ": manifest version " + std::to_string(m.value("version", 0)) +
                                " is newer than this thanos reads");
  }
  return m;
}

std::string raw_target_path(const std::string& data_dir, const std::string& split) {
  const nlohmann::json splits = load_prepared_manifest(data_dir).at("splits");
  if (!splits.contains(split)) {
    std::string have;
    for (const auto& [name, _] : splits.items()) have += (have.empty() ? "" : ", ") + name;
    throw std::invalid_argument(data_dir + "/manifest.json: no split '" + split + "' (it has " + have +
                                "); `thanos prepare --test PREFIX` makes a test split");
  }
  return data_dir + "/" + splits.at(split).at("raw_tgt").get<std::string>();
}

ScoringSplit load_scoring_split(const std::string& data_dir, const std::string& split_name) {
  ScoringSplit s;
  const std::string ref_path = raw_target_path(data_dir, split_name);  // names the splits there are when it is not one
  s.manifest = load_prepared_manifest(data_dir);
  s.data = load_binarized(data_dir + "/" + s.manifest.at("splits").at(split_name).at("file").get<std::string>());
  s.refs = read_segments(ref_path, "reference");
  if (s.refs.size() != s.data.size()) {
    throw std::invalid_argument(ref_path + ": " + std::to_string(s.refs.size()) + " lines, but the binarized split has " +
                                std::to_string(s.data.size()) + " pairs; re-run `thanos prepare`");
  }
  s.vocab_size = s.manifest.at("vocab_size").get<int>();
  s.spm_path = data_dir + "/" + s.manifest.value("spm_model", "spm.model");
  return s;
}

}  // namespace thanos
