#include "thanos/commands/prepare.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/data/subword_model.h"
#include "thanos/data/text_lines.h"

namespace thanos {
namespace fs = std::filesystem;

namespace {

struct RawSplit {
  std::string name, src_file, tgt_file;
  std::vector<std::string> src, tgt;
};

RawSplit read_split(const std::string& name, const std::string& prefix, const PrepareOptions& o) {
  RawSplit r;
  r.name = name;
  r.src_file = find_corpus_file(prefix, o.src_lang);
  r.tgt_file = find_corpus_file(prefix, o.tgt_lang);
  r.src = read_text_lines(r.src_file);
  r.tgt = read_text_lines(r.tgt_file);
  // A final newline gives no extra pair.
  if (!r.src.empty() && r.src.back().empty() && !r.tgt.empty() && r.tgt.back().empty()) {
    r.src.pop_back();
    r.tgt.pop_back();
  }
  if (r.src.size() != r.tgt.size()) {
    throw std::invalid_argument(name + " split: " + r.src_file + " has " + std::to_string(r.src.size()) + " lines but " +
                                r.tgt_file + " has " + std::to_string(r.tgt.size()) + "; line N of each must be a pair");
  }
  if (r.src.empty()) throw std::invalid_argument(name + " split: " + r.src_file + " has no lines");
  return r;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write_file_atomically(path, text);
}

std::string file_hash(const std::string& path) { return hex64(fnv1a64(read_text_file(path))); }

}  // namespace

nlohmann::json run_prepare(const PrepareOptions& o) {
  if (o.out_dir.empty()) throw std::invalid_argument("thanos prepare: --out is required");
  if (o.train_prefix.empty() || o.valid_prefix.empty()) {
    throw std::invalid_argument("thanos prepare: --train and --valid prefixes are required");
  }
  if (fs::exists(o.out_dir) && !o.overwrite) {
    throw std::invalid_argument(o.out_dir + ": already exists; pass --overwrite to replace it");
  }
  // --overwrite replaces what `prepare` made, never anything else (a mistyped --out must not cost
  // a user a folder): an empty folder, or one with a prepare manifest.
  if (fs::exists(o.out_dir) && !(fs::is_directory(o.out_dir) && fs::is_empty(o.out_dir))) {
    bool prepared = false;
    try {
      prepared = fs::is_directory(o.out_dir) && load_prepared_manifest(o.out_dir).is_object();
    } catch (const std::invalid_argument&) {
    }
    if (!prepared) {
      throw std::invalid_argument(o.out_dir + ": exists and is not a `thanos prepare` output (no " + o.out_dir +
                                  "/manifest.json of format thanos.prepared): --overwrite replaces only prepared data; "
                                  "give another --out or remove it yourself");
    }
  }
  std::vector<RawSplit> splits;
  splits.push_back(read_split("train", o.train_prefix, o));
  splits.push_back(read_split("valid", o.valid_prefix, o));
  if (!o.test_prefix.empty()) splits.push_back(read_split("test", o.test_prefix, o));

  const std::string tmp = o.out_dir + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    nlohmann::json manifest = {{"format", "thanos.prepared"}, {"version", kPreparedFormatVersion},
                               {"src_lang", o.src_lang},      {"tgt_lang", o.tgt_lang},
                               {"max_len", o.max_len},        {"special_ids", {{"bos", 0}, {"pad", 1}, {"eos", 2}, {"unk", 3}}}};
    // 1. Subword model: given, or trained jointly on the training split.
    if (!o.spm_model.empty()) {
      fs::copy_file(o.spm_model, tmp + "/spm.model");
      manifest["spm_source"] = o.spm_model;
    } else {
      const RawSplit& train = splits[0];
      std::vector<std::string> joint;
      joint.reserve(train.src.size() * 2);
      for (std::size_t i = 0; i < train.src.size(); ++i) {
        if (!trim(train.src[i]).empty()) joint.push_back(train.src[i]);
        if (!trim(train.tgt[i]).empty()) joint.push_back(train.tgt[i]);
      }
      write_lines(tmp + "/spm_train.txt", joint);
      SubwordTrainingOptions so;
      so.vocab_size = o.vocab_size;
      SubwordModel::train(tmp + "/spm_train.txt", tmp + "/spm", so);
      fs::remove(tmp + "/spm_train.txt");
      manifest["spm_source"] = "trained on the training split (joint)";
    }
    SubwordModel spm(tmp + "/spm.model");
    manifest["vocab_size"] = spm.vocab_size();
    manifest["spm_model"] = "spm.model";

    // 2. Encode, drop, binarize each split.
    for (const RawSplit& r : splits) {
      const bool is_train = r.name == "train";
      BinarizedSplit bin;
      std::vector<std::string> kept_src, kept_tgt;
      std::size_t dropped_empty = 0, dropped_long = 0, src_tokens = 0, tgt_tokens = 0;
      const auto src_ids = spm.encode(r.src), tgt_ids = spm.encode(r.tgt);
      for (std::size_t i = 0; i < r.src.size(); ++i) {
        const bool src_empty = trim(r.src[i]).empty(), tgt_empty = trim(r.tgt[i]).empty();
        // Evaluation splits keep one-sided pairs (an empty reference still counts for BLEU);
        // training needs both sides.
        if ((is_train && (src_empty || tgt_empty)) || (src_empty && tgt_empty)) {
          ++dropped_empty;
          continue;
        }
        std::vector<std::int32_t> s(src_ids[i].begin(), src_ids[i].end()), t(tgt_ids[i].begin(), tgt_ids[i].end());
        s.push_back(kEosId);
        t.push_back(kEosId);
        if (is_train && (static_cast<int>(s.size()) > o.max_len || static_cast<int>(t.size()) > o.max_len)) {
          ++dropped_long;
          continue;
        }
        src_tokens += s.size();
        tgt_tokens += t.size();
        bin.add(s, t);
        kept_src.push_back(r.src[i]);
        kept_tgt.push_back(r.tgt[i]);
      }
      if (bin.size() == 0) throw std::invalid_argument(r.name + " split: no usable pairs left in " + r.src_file);
      save_binarized(tmp + "/" + r.name + ".bin", bin);
      // Raw text of the kept pairs: the references BLEU is computed against (not detokenized pieces).
      write_lines(tmp + "/" + r.name + ".raw." + o.src_lang, kept_src);
      write_lines(tmp + "/" + r.name + ".raw." + o.tgt_lang, kept_tgt);
      manifest["splits"][r.name] = {{"pairs", bin.size()},
                                    {"dropped_empty", dropped_empty},
                                    {"dropped_too_long", dropped_long},
                                    {"src_tokens", src_tokens},
                                    {"tgt_tokens", tgt_tokens},
                                    {"file", r.name + ".bin"},
                                    {"raw_src", r.name + ".raw." + o.src_lang},
                                    {"raw_tgt", r.name + ".raw." + o.tgt_lang},
                                    {"sources", {{"src", r.src_file}, {"tgt", r.tgt_file}}},
                                    {"source_hashes", {{"src", file_hash(r.src_file)}, {"tgt", file_hash(r.tgt_file)}}},
                                    {"hash", file_hash(tmp + "/" + r.name + ".bin")}};
    }
    manifest["spm_hash"] = file_hash(tmp + "/spm.model");
    manifest["hash"] = hex64(fnv1a64(manifest.dump()));
    write_file_atomically(tmp + "/manifest.json", manifest.dump(2) + "\n");

    // 3. Publish: the old directory (if any) is replaced only by a complete new one.
    if (fs::exists(o.out_dir)) {
      const std::string old = o.out_dir + ".old." + std::to_string(::getpid());
      fs::rename(o.out_dir, old);
      fs::rename(tmp, o.out_dir);
      fs::remove_all(old);
    } else {
      if (fs::path(o.out_dir).has_parent_path()) fs::create_directories(fs::path(o.out_dir).parent_path());
      fs::rename(tmp, o.out_dir);
    }
    return manifest;
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
}

}  // namespace thanos
