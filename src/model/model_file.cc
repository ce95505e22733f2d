#include "thanos/model/model_file.h"

#include <climits>

#include <torch/serialize.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <type_traits>

#include "thanos/space/sub_config_fields.h"

namespace thanos {
namespace {

const char* kMagicKey = "thanos.format_version";

c10::IValue ints(const std::vector<int64_t>& v) { return c10::IValue(v); }

std::vector<int64_t> hyper_ints(const ModelHyperParams& h) {
  return {h.share_all_embeddings, h.share_decoder_input_output, h.encoder_normalize_before,
          h.decoder_normalize_before, h.max_source_positions, h.max_target_positions};
}

}  // namespace

void save_model(const std::string& path, SuperTransformerImpl& model, const ModelFileInfo& info,
                const ArchiveWriter& extra) {
  torch::serialize::OutputArchive archive;
  const auto& o = info.options;
  archive.write(kMagicKey, c10::IValue(static_cast<int64_t>(kModelFileFormatVersion)));
  archive.write("thanos.capacity", ints(config_to_ints(o.capacity)));
  archive.write("thanos.vocab", ints({o.src_vocab_size, o.tgt_vocab_size, o.padding_idx}));
  archive.write("thanos.position_dims", ints({o.encoder_position_dim, o.decoder_position_dim}));
  archive.write("thanos.hyper_ints", ints(hyper_ints(o.hyper)));
  archive.write("thanos.hyper_dropout",
                c10::IValue(std::vector<double>{o.hyper.dropout, o.hyper.attention_dropout, o.hyper.activation_dropout}));
  if (info.sub_config) archive.write("thanos.sub_config", ints(config_to_ints(*info.sub_config)));
  for (const auto& [key, value] : info.metadata) archive.write("meta." + key, c10::IValue(value));
  for (const auto& p : model.named_parameters()) archive.write("param." + p.key(), p.value().detach());
  for (const auto& b : model.named_buffers()) archive.write("buffer." + b.key(), b.value(), /*is_buffer=*/true);
  if (extra) extra(archive);

  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    archive.save_to(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write model file " + path + ": " + e.what());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

LoadedModel load_model(const std::string& path, const ArchiveReader& extra) {
  if (!std::ifstream(path).good()) throw std::invalid_argument(path + ": model file not found or unreadable");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    throw std::invalid_argument(path + ": not a THANOS model file (cannot open archive)");
  }
  // Each entry's type is checked here (IValue's accessors throw c10::Error, a raw libtorch
  // message, on the wrong type); the values are checked by model_info_from_records.
  ModelRecords r;
  auto entry = [&](const std::string& key) -> std::optional<c10::IValue> {
    c10::IValue iv;
    if (!archive.try_read(key, iv)) return std::nullopt;
    return iv;
  };
  auto type_error = [&](const std::string& key, const char* expected) {
    return std::invalid_argument(path + ": model file entry '" + key + "' is not " + expected);
  };
  if (auto v = entry(kMagicKey)) {
    if (!v->isInt()) throw type_error(kMagicKey, "an integer");
    r.format_version = v->toInt();
  }
  auto int_list = [&](const char* key, std::optional<std::vector<int64_t>>& out) {
    if (auto v = entry(key)) {
      if (!v->isIntList()) throw type_error(key, "a list of integers");
      out = v->toIntVector();
    }
  };
  int_list("thanos.capacity", r.capacity);
  int_list("thanos.vocab", r.vocab);
  int_list("thanos.position_dims", r.position_dims);
  int_list("thanos.hyper_ints", r.hyper_ints);
  int_list("thanos.sub_config", r.sub_config);
  if (auto v = entry("thanos.hyper_dropout")) {
    if (!v->isDoubleList()) throw type_error("thanos.hyper_dropout", "a list of numbers");
    r.hyper_dropout = v->toDoubleVector();
  }
  for (const auto& key : archive.keys()) {
    if (key.rfind("meta.", 0) == 0) {
      auto v = entry(key);
      if (!v || !v->isString()) throw type_error(key, "text");
      r.metadata[key.substr(5)] = v->toStringRef();
    }
  }
  LoadedModel out;
  out.info = model_info_from_records(r, path);
  const ModelOptions& o = out.info.options;
  out.model = SuperTransformer(o);
  torch::NoGradGuard no_grad;
  auto load_into = [&](const std::string& prefix, const std::string& name, torch::Tensor& dst, bool is_buffer) {
    torch::Tensor t;
    if (!archive.try_read(prefix + name, t, is_buffer)) {
      throw std::invalid_argument(path + ": model file lacks tensor '" + name + "'");
    }
    if (t.sizes() != dst.sizes()) {
      throw std::invalid_argument(path + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) + ", expected " +
                                  c10::str(dst.sizes()));
    }
    dst.copy_(t);
  };
  for (auto& p : out.model->named_parameters()) load_into("param.", p.key(), p.value(), false);
  for (auto& b : out.model->named_buffers()) load_into("buffer.", b.key(), b.value(), true);
  if (extra) extra(archive);
  return out;
}

}  // namespace thanos
