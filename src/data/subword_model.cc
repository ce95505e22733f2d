#include "thanos/data/subword_model.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"

namespace thanos {
namespace {

void run_spm(const std::vector<std::string>& argv, const std::string& in = "", const std::string& out = "",
             const std::string& cwd = "") {
  ProcessResult r;
  try {
    r = run_process(argv, in, out, cwd);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + " (install Debian's `sentencepiece` package: scripts/setup.sh)");
  }
  if (r.exit_code != 0) throw std::runtime_error(argv[0] + " failed (exit " + std::to_string(r.exit_code) + "): " + r.stderr_text);
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream f(path, std::ios::binary);
  for (const auto& l : lines) f << l << '\n';
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace

SubwordModel::SubwordModel(const std::string& model_path) : path_(model_path) {
  if (!std::ifstream(model_path).good()) throw std::invalid_argument(model_path + ": sentencepiece model not found");
  TempDir tmp("spm");
  const std::string vocab = tmp.path() + "/vocab";
  run_spm({"spm_export_vocab", "--model=" + model_path}, "", vocab);
  const auto pieces = split_lines(read_text_file(vocab));
  const char* expected[] = {"<s>", "<pad>", "</s>", "<unk>"};
  for (int i = 0; i < 4; ++i) {
    if (static_cast<int>(pieces.size()) <= i || pieces[i].substr(0, pieces[i].find('\t')) != expected[i]) {
      throw std::invalid_argument(model_path + ": special ids must be <s>=0 <pad>=1 </s>=2 <unk>=3 (fairseq's); train "
                                  "it with thanos prepare or spm_train --bos_id=0 --pad_id=1 --eos_id=2 --unk_id=3");
    }
  }
  vocab_size_ = static_cast<int>(pieces.size());
}

void SubwordModel::train(const std::string& text_file, const std::string& prefix, const SubwordTrainingOptions& o) {
  // The model records its trainer's --input and --model_prefix as given. Run in the prefix's
  // folder with names relative to it, so the same text gives the same model file wherever it was
  // trained (prepare trains in a folder named after its process id; with the absolute names
  // there two identical runs made different files, and so different manifest hashes).
  const std::filesystem::path folder = std::filesystem::absolute(prefix).parent_path();
  const std::filesystem::path input = std::filesystem::absolute(text_file);
  const std::string input_name = input.parent_path() == folder ? input.filename().string() : input.string();
  run_spm({"spm_train", "--input=" + input_name, "--model_prefix=" + std::filesystem::path(prefix).filename().string(),
           "--vocab_size=" + std::to_string(o.vocab_size),
           "--model_type=" + o.model_type, "--character_coverage=" + std::to_string(o.character_coverage),
           "--bos_id=0", "--pad_id=1", "--eos_id=2", "--unk_id=3", "--num_threads=" + std::to_string(o.threads),
           "--input_sentence_size=" + std::to_string(o.max_sentences), "--shuffle_input_sentence=true",
           "--hard_vocab_limit=false", "--minloglevel=2"},
          "", "", folder.string());
}

std::vector<std::vector<int>> SubwordModel::encode(const std::vector<std::string>& lines) const {
  TempDir tmp("spm");
  const std::string in = tmp.path() + "/in", out = tmp.path() + "/out";
  write_lines(in, lines);
  run_spm({"spm_encode", "--model=" + path_, "--output_format=id"}, in, out);
  std::ifstream f(out);
  std::vector<std::vector<int>> ids;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<int> row;
    std::stringstream ss(line);
    int id;
    while (ss >> id) row.push_back(id);
    ids.push_back(std::move(row));
  }
  if (ids.size() != lines.size()) {
    throw std::runtime_error("spm_encode returned " + std::to_string(ids.size()) + " lines for " +
                             std::to_string(lines.size()));
  }
  return ids;
}

std::vector<std::string> SubwordModel::decode(const std::vector<std::vector<int>>& ids) const {
  TempDir tmp("spm");
  const std::string in = tmp.path() + "/in", out = tmp.path() + "/out";
  std::vector<std::string> rows;
  for (const auto& r : ids) {
    std::string s;
    for (int id : r) s += (s.empty() ? "" : " ") + std::to_string(id);
    rows.push_back(s);
  }
  write_lines(in, rows);
  run_spm({"spm_decode", "--model=" + path_, "--input_format=id"}, in, out);
  std::ifstream f(out);
  std::vector<std::string> text;
  std::string line;
  while (std::getline(f, line)) text.push_back(line);
  text.resize(ids.size());  // spm_decode writes one line per input line
  return text;
}

}  // namespace thanos
