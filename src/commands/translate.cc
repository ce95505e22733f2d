#include "thanos/commands/translate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "thanos/commands/prepare.h"
#include "thanos/common/text.h"
#include "thanos/common/utf8.h"
#include "thanos/data/binarized.h"
#include "thanos/data/prepared_data.h"
#include "thanos/data/subword_model.h"
#include "thanos/data/text_lines.h"
#include "thanos/decode/batch_decoder.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"
#include "thanos/train/trainer.h"
#ifdef THANOS_WITH_ONNX  // set by the folder's CMakeLists.txt when Debian's libonnx-dev was found
#include "thanos/export/export_runtime.h"
#endif

namespace thanos {

namespace {

using Clock = std::chrono::steady_clock;

std::string read_input(const std::string& path, std::istream& in) {
  if (path.empty()) return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument(path + ": cannot read the input file");
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The sentencepiece model: given, or the one a prepared data directory holds.
std::string find_spm_model(const TranslateOptions& o, const ModelFileInfo& info,
                           const std::function<void(const std::string&)>& warn) {
  if (!o.spm_path.empty() && !o.data_dir.empty()) {
    throw std::invalid_argument("thanos translate: give --spm MODEL or --data PREPARED_DIR, not both");
  }
  if (!o.spm_path.empty()) return o.spm_path;
  if (o.data_dir.empty()) {
    throw std::invalid_argument("thanos translate: give --spm MODEL (a sentencepiece model) or --data PREPARED_DIR "
                                "(the `thanos prepare` directory the model was trained on, whose spm.model is used)");
  }
  const nlohmann::json manifest = load_prepared_manifest(o.data_dir);
  if (const std::string w = other_data_warning(info, o.model_path, manifest, o.data_dir); !w.empty()) warn(w);
  return prepared_file(o.data_dir, manifest.value("spm_model", "spm.model"), "spm_model");
}

}  // namespace

std::string other_data_warning(const ModelFileInfo& info, const std::string& model_path,
                               const nlohmann::json& manifest, const std::string& data_dir) {
  const auto trained_on = info.metadata.find("data_manifest_hash");
  const std::string hash = manifest.value("hash", "");
  if (trained_on == info.metadata.end() || trained_on->second.empty() || trained_on->second == hash) return "";
  return model_path + " was trained on prepared data with manifest hash " + trained_on->second + ", but " + data_dir +
         " has " + hash + "; its vocabulary and sentencepiece model may differ";
}

TranslationModel load_translation_model(const std::string& model_path, const std::string& config_path) {
  TranslationModel t;
  t.loaded = load_model(model_path);
  const ModelFileInfo& info = t.loaded.info;
  const std::optional<SearchSpace> space = embedded_search_space(info.metadata, model_path);
  // HAT's files may leave out the QKV widths: the space's, else HAT's fixed 512 (as `valid`).
  const int default_qkv = default_qkv_dim(space);
  if (info.is_standalone()) {
    t.config = *info.sub_config;
    if (!config_path.empty()) {
      const SubConfig given = load_config_file(config_path, default_qkv).config;
      if (given != t.config) {
        throw std::invalid_argument(config_path + ": describes " + given.summary() + ", but " + model_path +
                                    " is a standalone SubTransformer of " + t.config.summary() +
                                    "; leave out --config (a standalone model runs its own)");
      }
    }
    return t;
  }
  if (config_path.empty()) {
    throw std::invalid_argument(model_path + " is a SuperTransformer: give --config SUB.yml (HAT YAML or JSON), the "
                                "SubTransformer to translate with");
  }
  LoadedConfig lc = load_config_file(config_path, default_qkv);
  try {
    if (space) space->check_config(lc.config);
    t.loaded.model->check_fits(lc.config);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(config_path + ": " + e.what() + " (model " + model_path + ")");
  }
  t.config = lc.config;
  t.warnings = lc.warnings;
  return t;
}

TranslateResult run_translate(const TranslateOptions& o, const std::function<void(const std::string&)>& log,
                              std::istream& in, std::ostream& out) {
  o.generation.validate();
  if (o.max_tokens < 1) throw std::invalid_argument("thanos translate: --max-tokens must be >= 1");
  const auto start = Clock::now();
  TranslateResult result;
  auto warn = [&](const std::string& w) {
    if (log) log("warning: " + w);
  };

  // The engine: a model in libtorch, or an export in a runtime; the rest is the same.
  int src_vocab = 0, tgt_vocab = 0, max_source_positions = 0;
  std::string source_name;
  BatchTranslator translate;
  std::unique_ptr<SubwordModel> spm;
  if (!o.export_dir.empty()) {
#ifdef THANOS_WITH_ONNX
    if (!o.model_path.empty()) throw std::invalid_argument("thanos translate: give --model or --export, not both");
    ExportRuntimeOptions ro;
    ro.runtime = o.runtime;
    ro.rknn_dtype = o.rknn_dtype;
    ro.core_mask = o.core_mask;
    ro.python = o.python;
    ro.threads = static_cast<int>(torch::get_num_threads());
    ExportSidecar sidecar;
    translate = make_export_translator(o.export_dir, ro, o.generation, &sidecar);
    src_vocab = sidecar.src_vocab_size;
    tgt_vocab = sidecar.tgt_vocab_size;
    max_source_positions = sidecar.mode == "static" ? static_cast<int>(sidecar.static_src_len) : sidecar.max_source_positions;
    source_name = o.export_dir;
    spm = std::make_unique<SubwordModel>(find_spm_model(o, ModelFileInfo{}, warn));
#else
    throw std::invalid_argument("thanos translate: --export needs a build with ONNX export (install libonnx-dev and rebuild)");
#endif
  } else {
    TranslationModel tm = load_translation_model(o.model_path, o.config_path);
    for (const auto& w : tm.warnings) warn(w);
    SuperTransformer model = tm.loaded.model;
    const ModelOptions& mo = model->options();
    src_vocab = mo.src_vocab_size;
    tgt_vocab = mo.tgt_vocab_size;
    max_source_positions = mo.hyper.max_source_positions;
    source_name = o.model_path;
    spm = std::make_unique<SubwordModel>(find_spm_model(o, tm.loaded.info, warn));
    model->to(parse_device(o.device));
    auto generator = std::make_shared<Generator>(model, tm.config, o.generation);
    translate = [generator](const torch::Tensor& src) { return generator->generate(src); };
  }
  if (spm->vocab_size() != src_vocab || spm->vocab_size() != tgt_vocab) {
    throw std::invalid_argument(spm->path() + ": vocabulary of " + std::to_string(spm->vocab_size()) + " pieces, but " +
                                source_name + " has " + std::to_string(src_vocab) + " (source) and " +
                                std::to_string(tgt_vocab) + " (target) entries; use the model's own "
                                "sentencepiece model");
  }

  // Lines in; the non-empty ones are encoded in one sentencepiece call.
  const std::string input_name = o.input_path.empty() ? "standard input" : o.input_path;
  const std::vector<std::string> lines = split_lines(read_input(o.input_path, in), /*strip_cr=*/true);
  result.lines = lines.size();
  std::vector<std::size_t> todo;  // line numbers (0-based) to translate
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (const std::size_t bad = utf8_error_offset(lines[i]); bad != std::string::npos) {
      throw std::invalid_argument(input_name + ", line " + std::to_string(i + 1) + ": invalid UTF-8 at byte " +
                                  std::to_string(bad + 1));
    }
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    todo.push_back(i);
    texts.push_back(lines[i]);
  }
  std::vector<std::string> translations(lines.size());
  if (!texts.empty()) {
    const auto ids = spm->encode(texts);
    // Sources with their </s>; targets unknown, so the batches are sized by source length alone.
    BinarizedSplit sources;
    for (std::size_t j = 0; j < ids.size(); ++j) {
      std::vector<std::int32_t> src(ids[j].begin(), ids[j].end());
      src.push_back(kEosId);
      if (static_cast<int>(src.size()) > max_source_positions) {
        throw std::invalid_argument(input_name + ", line " + std::to_string(todo[j] + 1) + ": " +
                                    std::to_string(src.size()) + " subword tokens (with </s>) exceed the " +
                                    std::to_string(max_source_positions) + " source positions of " + source_name);
      }
      sources.add(src, {kEosId});
    }
    const DecodeOutput decoded = decode_in_batches(translate, sources, o.max_tokens, [&](const DecodeProgress& p) {
      if (log) log(format_progress(p));
    });
    const auto& hyp_ids = decoded.tokens;
    const auto text = spm->decode(hyp_ids);
    for (std::size_t j = 0; j < todo.size(); ++j) translations[todo[j]] = text[j];
  }
  result.sentences = todo.size();

  std::string joined;
  for (const auto& t : translations) joined += t + "\n";
  if (o.output_path.empty()) {
    out << joined << std::flush;
  } else {
    write_file_atomically(o.output_path, joined);
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace thanos
