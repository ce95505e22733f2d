#include "thanos/commands/import_hat.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "thanos/common/json_input.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/model/hat_import.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ------------------------------------------------------------------ archive header (JSON)

const json& require(const json& obj, const std::string& key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw std::invalid_argument(where + "." + key + ": missing");
  return *it;
}

std::string require_string(const json& obj, const std::string& key, const std::string& where) {
  const json& v = require(obj, key, where);
  if (!v.is_string()) throw std::invalid_argument(where + "." + key + ": expected a string, got " + v.dump());
  return v.get<std::string>();
}

std::int64_t require_int(const json& obj, const std::string& key, const std::string& where) {
  const json& v = require(obj, key, where);
  if (!v.is_number_integer()) throw std::invalid_argument(where + "." + key + ": expected an integer, got " + v.dump());
  return v.get<std::int64_t>();
}

struct ParsedHeader {
  std::vector<TensorArchiveEntry> entries;
  json metadata = json::object();
};

ParsedHeader parse_header(const TensorArchiveFile& f) {
  const json h = parse_json_input(f.header, f.path + ": tensor archive header");
  const std::string where = f.path + ": header";
  if (!h.is_object()) throw std::invalid_argument(where + ": expected a JSON object");
  const std::string magic = require_string(h, "magic", where);
  if (magic != "thanos.tensor_archive") {
    throw std::invalid_argument(where + ".magic: expected \"thanos.tensor_archive\", got \"" + magic + "\"");
  }
  const std::int64_t version = require_int(h, "format_version", where);
  if (version < 1 || version > kTensorArchiveFormatVersion) {
    throw std::invalid_argument(where + ".format_version: " + std::to_string(version) + " is not understood by this "
                                "thanos (expected " + std::to_string(kTensorArchiveFormatVersion) + ")");
  }
  ParsedHeader out;
  const json& tensors = require(h, "tensors", where);
  if (!tensors.is_array()) throw std::invalid_argument(where + ".tensors: expected a list");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const json& t = tensors[i];
    const std::string at = where + ".tensors[" + std::to_string(i) + "]";
    if (!t.is_object()) throw std::invalid_argument(at + ": expected an object");
    TensorArchiveEntry e;
    e.name = require_string(t, "name", at);
    e.dtype = require_string(t, "dtype", at);
    const json& shape = require(t, "shape", at);
    if (!shape.is_array()) throw std::invalid_argument(at + ".shape: expected a list of integers (tensor '" + e.name + "')");
    for (const auto& d : shape) {
      if (!d.is_number_integer()) {
        throw std::invalid_argument(at + ".shape: expected a list of integers, got " + shape.dump() + " (tensor '" +
                                    e.name + "')");
      }
      e.shape.push_back(d.get<std::int64_t>());
    }
    const std::int64_t offset = require_int(t, "offset", at);
    if (offset < 0) throw std::invalid_argument(at + ".offset: negative (tensor '" + e.name + "')");
    e.offset = static_cast<std::uint64_t>(offset);
    out.entries.push_back(std::move(e));
  }
  if (h.contains("metadata")) {
    if (!h["metadata"].is_object()) throw std::invalid_argument(where + ".metadata: expected an object");
    out.metadata = h["metadata"];
  }
  return out;
}

// ------------------------------------------------------------------ running the converter

struct ProcessOutcome {
  int exit_code = -1;  // 128 + signal when killed
  std::string output;  // stdout and stderr together
};

// Runs argv (argv[0] looked up on PATH) with stdout+stderr to log_path; no shell, so paths need
// no quoting.
ProcessOutcome run_logged(const std::vector<std::string>& argv, const std::string& log_path) {
  SpawnOptions streams;
  streams.out = ChildStream::file(log_path);
  streams.err = ChildStream::as_stdout();
  Child child;
  try {
    child = spawn_child(argv, streams);
  } catch (const SpawnError& e) {
    throw std::invalid_argument("cannot run Python interpreter '" + argv[0] + "' (" + std::strerror(e.error()) +
                                "); install python3 and python3-torch, or pass --python");
  }
  const int status = child.wait();
  ProcessOutcome out;
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  std::ifstream in(log_path, std::ios::binary);
  out.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return out;
}

std::string last_lines(const std::string& text, std::size_t count) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

// The converter's "hat_import: error: ..." lines (they name the checkpoint), or what went wrong.
std::string converter_failure(const std::string& checkpoint, const std::string& python, const ProcessOutcome& r) {
  if (r.exit_code == 127 && r.output.find("hat_import") == std::string::npos) {
    return "cannot run Python interpreter '" + python + "'; install python3 and python3-torch, or pass --python";
  }
  if (r.output.find("No module named torch") != std::string::npos ||
      r.output.find("No module named 'torch'") != std::string::npos) {
    return "Python interpreter '" + python + "' cannot import torch, which reading " + checkpoint +
           " needs: install python3-torch (Debian: apt-get install python3-torch) or pass --python with an " +
           "interpreter that has PyTorch";
  }
  std::string errors;
  const std::string tag = "hat_import: error: ";
  for (std::size_t pos = r.output.find(tag); pos != std::string::npos; pos = r.output.find(tag, pos + 1)) {
    const std::size_t end = r.output.find('\n', pos);
    errors += (errors.empty() ? "" : "; ") + r.output.substr(pos + tag.size(), end == std::string::npos ? end : end - pos - tag.size());
  }
  if (!errors.empty()) return errors;
  return checkpoint + ": tools/hat_import.py failed (exit status " + std::to_string(r.exit_code) + "):\n" +
         last_lines(r.output, 15);
}

// ------------------------------------------------------------------ archive -> model file

ImportHatResult import_archive(const std::string& archive_path, const std::string& out_path,
                               const std::string& checkpoint_hint) {
  TensorArchive a = read_tensor_archive(archive_path);
  const std::string where = archive_path + ": header.metadata";
  const json& m = a.metadata;
  ImportHatResult r;
  if (m.contains("warnings") && m["warnings"].is_array()) {
    for (const auto& w : m["warnings"]) {
      if (w.is_string()) r.warnings.push_back(checkpoint_hint + ": " + w.get<std::string>());
    }
  }
  const std::string space_text = require_string(m, "space_yaml", where);
  LoadedSpace ls = parse_search_space(space_text, archive_path + " (search space from the HAT checkpoint)");
  r.warnings.insert(r.warnings.end(), ls.warnings.begin(), ls.warnings.end());
  r.src_vocab_size = static_cast<int>(require_int(m, "src_vocab_size", where));
  r.tgt_vocab_size = static_cast<int>(require_int(m, "tgt_vocab_size", where));
  ModelOptions options = super_model_options(ls.space, r.src_vocab_size, r.tgt_vocab_size);
  if (m.contains("padding_idx")) options.padding_idx = static_cast<int>(require_int(m, "padding_idx", where));
  try {
    options.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(archive_path + ": " + e.what());
  }
  SuperTransformer model = model_from_tensors(options, a.tensors, archive_path);
  for (const auto& p : model->parameters()) r.parameters += p.numel();
  r.tensors = a.tensors.size();
  r.space_yaml = search_space_to_yaml(ls.space);

  const std::string imported_from =
      m.contains("imported_from") && m["imported_from"].is_string() ? m["imported_from"].get<std::string>() : checkpoint_hint;
  ModelFileInfo info;
  info.options = options;
  // The space travels with the model so `thanos extract` and `thanos info` validate configs.
  info.metadata["space_yaml"] = r.space_yaml;
  info.metadata["space_source"] = "args of HAT checkpoint " + imported_from;
  info.metadata["imported_from"] = imported_from;
  info.metadata["created_by"] = "thanos import-hat";
  for (const char* key : {"converter", "hat_arch"}) {
    if (m.contains(key) && m[key].is_string() && !m[key].get<std::string>().empty()) info.metadata[key] = m[key];
  }
  if (m.contains("hat_subtransformer_yaml") && m["hat_subtransformer_yaml"].is_string()) {
    r.subtransformer_yaml = m["hat_subtransformer_yaml"].get<std::string>();
    info.metadata["hat_subtransformer_yaml"] = r.subtransformer_yaml;
    try {  // a recorded config outside the space is worth a warning, not a failed import
      LoadedConfig lc = parse_config_yaml(r.subtransformer_yaml, imported_from + " (args)", default_qkv_dim(ls.space));
      ls.space.check_config(lc.config);
    } catch (const std::invalid_argument& e) {
      r.warnings.push_back("the SubTransformer recorded in the checkpoint's args does not fit its space: " +
                           std::string(e.what()));
    }
  }
  save_model(out_path, *model, info);
  return r;
}

}  // namespace

// ------------------------------------------------------------------ public

TensorArchive read_tensor_archive(const std::string& path) {
  TensorArchiveFile f = open_tensor_archive(path);
  ParsedHeader h = parse_header(f);
  TensorArchive a;
  a.tensors = read_archive_tensors(f, h.entries);
  for (const auto& e : h.entries) a.names.push_back(e.name);
  a.metadata = std::move(h.metadata);
  return a;
}

void write_tensor_archive(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          const json& metadata) {
  json entries = json::array();
  std::vector<torch::Tensor> data;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    entries.push_back({{"name", name}, {"dtype", "float32"}, {"shape", c.sizes().vec()}, {"offset", offset}});
    offset += static_cast<std::uint64_t>(c.numel()) * sizeof(float);
    data.push_back(c);
  }
  const std::string header = json{{"magic", "thanos.tensor_archive"},
                                   {"format_version", kTensorArchiveFormatVersion},
                                   {"tensors", entries},
                                   {"metadata", metadata}}
                                 .dump();
  std::string bytes(kTensorArchiveMagic, 8);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) bytes.push_back(static_cast<char>(n & 0xff));
  bytes += header;
  // The data is written in host order; read_archive_tensors refuses big-endian hosts likewise.
  for (const auto& c : data) bytes.append(reinterpret_cast<const char*>(c.data_ptr<float>()), c.numel() * sizeof(float));
  write_file_atomically(path, bytes);
}

std::string default_hat_converter() {
  std::vector<std::string> candidates;
#ifdef THANOS_TOOLS_DIR
  candidates.push_back(std::string(THANOS_TOOLS_DIR) + "/hat_import.py");
#endif
  const std::string exe_dir = current_executable_dir();
  if (!exe_dir.empty()) {
    candidates.push_back(exe_dir + "/tools/hat_import.py");
    candidates.push_back(exe_dir + "/../tools/hat_import.py");
    candidates.push_back(exe_dir + "/../share/thanos/tools/hat_import.py");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c)) return c;
  }
  return candidates.empty() ? "tools/hat_import.py" : candidates.front();
}

ImportHatResult run_import_hat(const ImportHatOptions& opt) {
  if (opt.out_path.empty()) throw std::invalid_argument("thanos import-hat: --out is required");
  if (opt.checkpoint_path.empty() == opt.archive_path.empty()) {
    throw std::invalid_argument("thanos import-hat: give exactly one of --checkpoint HAT.pt or --archive FILE");
  }
  if (!opt.archive_path.empty()) return import_archive(opt.archive_path, opt.out_path, opt.archive_path);

  if (!fs::is_regular_file(opt.checkpoint_path)) {
    throw std::invalid_argument(opt.checkpoint_path + ": checkpoint not found");
  }
  const std::string converter = opt.converter.empty() ? default_hat_converter() : opt.converter;
  if (!fs::is_regular_file(converter)) {
    throw std::invalid_argument(converter + ": converter script not found (pass --converter PATH/tools/hat_import.py)");
  }
  // A private directory for the intermediate archive, removed when done.
  TempDir tmp("import-hat");
  const std::string archive = opt.keep_archive.empty() ? tmp.path() + "/model.tta" : opt.keep_archive;
  ProcessOutcome r = run_logged({opt.python, converter, opt.checkpoint_path, archive}, tmp.path() + "/converter.log");
  if (r.exit_code != 0) throw std::invalid_argument(converter_failure(opt.checkpoint_path, opt.python, r));
  return import_archive(archive, opt.out_path, opt.checkpoint_path);
}

}  // namespace thanos
