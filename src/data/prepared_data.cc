#include "thanos/data/prepared_data.h"

#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include "thanos/common/json_input.h"
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
  const nlohmann::json m = parse_json_input(read_text_file(path), path);
  // value() throws nlohmann's type_error on a non-object or a field of another type: checked first.
  const auto format = m.is_object() ? m.find("format") : m.end();
  if (!m.is_object() || format == m.end() || *format != "thanos.prepared") {
    throw std::invalid_argument(path + ": not a thanos prepare manifest (expected a JSON object with \"format\": \"thanos.prepared\")");
  }
  const auto version = m.find("version");
  if (version != m.end()) {
    if (!version->is_number_integer()) {
      throw std::invalid_argument(path + ": version: expected a whole number, got " + version->dump().substr(0, 40));
    }
    const bool newer = version->is_number_unsigned() ? version->get<std::uint64_t>() > static_cast<std::uint64_t>(kPreparedFormatVersion)
                                                     : version->get<std::int64_t>() > kPreparedFormatVersion;
    if (newer) throw std::invalid_argument(path + ": manifest version " + version->dump() + " is newer than this thanos reads");
  }
  return m;
}

namespace {

// The manifest's record of `split`, with the splits there are named when it has none.
const nlohmann::json& split_record(const nlohmann::json& manifest, const std::string& data_dir, const std::string& split) {
  const std::string where = data_dir + "/manifest.json";
  if (!manifest.contains("splits") || !manifest.at("splits").is_object()) throw std::invalid_argument(where + ": 'splits' is missing");
  const nlohmann::json& splits = manifest.at("splits");
  if (!splits.contains(split)) {
    std::string have;
    for (const auto& [name, _] : splits.items()) have += (have.empty() ? "" : ", ") + name;
    throw std::invalid_argument(where + ": no split '" + split + "' (it has " + have +
                                "); `thanos prepare --test PREFIX` makes a test split");
  }
  return splits.at(split);
}

// A file name the manifest gives for `split` under `key`.
std::string split_file(const nlohmann::json& manifest, const std::string& data_dir, const std::string& split, const char* key) {
  const nlohmann::json& record = split_record(manifest, data_dir, split);
  const std::string field = "splits." + split + "." + key;
  if (!record.is_object() || !record.contains(key) || !record.at(key).is_string()) {
    throw std::invalid_argument(data_dir + "/manifest.json: " + field + ": expected a file name");
  }
  return prepared_file(data_dir, record.at(key).get<std::string>(), field);
}

}  // namespace

std::string prepared_file(const std::string& data_dir, const std::string& name, const std::string& field) {
  if (!is_name_inside_folder(name)) {
    throw std::invalid_argument(data_dir + "/manifest.json: " + field + ": '" + name +
                                "': expected a file name inside the data directory");
  }
  return data_dir + "/" + name;
}

int prepared_vocab_size(const nlohmann::json& manifest, const std::string& data_dir) {
  const auto it = manifest.find("vocab_size");
  if (it == manifest.end() || !it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > (1 << 24)) {
    throw std::invalid_argument(data_dir + "/manifest.json: vocab_size: " + (it == manifest.end() ? std::string("missing") : it->dump()) +
                                ": expected a whole number from 1 to 16777216");
  }
  return it->get<int>();
}

BinarizedSplit load_prepared_split(const std::string& data_dir, const std::string& split) {
  const nlohmann::json manifest = load_prepared_manifest(data_dir);
  const int vocab = prepared_vocab_size(manifest, data_dir);
  const std::string path = split_file(manifest, data_dir, split, "file");
  BinarizedSplit data = load_binarized(path);
  // Ids index the embedding tables: one beyond the vocabulary would read outside them.
  for (const auto* tokens : {&data.src_tokens, &data.tgt_tokens}) {
    for (std::size_t i = 0; i < tokens->size(); ++i) {
      if ((*tokens)[i] >= vocab) {
        throw std::invalid_argument(path + ": token " + std::to_string(i) + " of the " + (tokens == &data.src_tokens ? "source" : "target") +
                                    " side is " + std::to_string((*tokens)[i]) + ", beyond the vocabulary of " + std::to_string(vocab) +
                                    " (" + data_dir + "/manifest.json); re-run `thanos prepare`");
      }
    }
  }
  return data;
}

std::string raw_target_path(const std::string& data_dir, const std::string& split) {
  return split_file(load_prepared_manifest(data_dir), data_dir, split, "raw_tgt");
}

ScoringSplit load_scoring_split(const std::string& data_dir, const std::string& split_name) {
  ScoringSplit s;
  const std::string ref_path = raw_target_path(data_dir, split_name);  // names the splits there are when it is not one
  s.manifest = load_prepared_manifest(data_dir);
  s.data = load_prepared_split(data_dir, split_name);
  s.refs = read_segments(ref_path, "reference");
  if (s.refs.size() != s.data.size()) {
    throw std::invalid_argument(ref_path + ": " + std::to_string(s.refs.size()) + " lines, but the binarized split has " +
                                std::to_string(s.data.size()) + " pairs; re-run `thanos prepare`");
  }
  s.vocab_size = prepared_vocab_size(s.manifest, data_dir);
  s.spm_path = prepared_file(data_dir, s.manifest.value("spm_model", "spm.model"), "spm_model");
  return s;
}

}  // namespace thanos
