#include <torch/torch.h>

#include "thanos/commands/commands.h"
#include "thanos/common/text.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/extract.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {

namespace {

// Random token batches with some right padding, for comparing two models' outputs.
std::pair<torch::Tensor, torch::Tensor> verification_batch(const ModelOptions& o, std::uint64_t seed) {
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(seed);
  const int64_t B = 3, S = 9, T = 7;
  const int64_t first = std::min<int64_t>(4, o.src_vocab_size - 1);  // skip fairseq's special symbols
  auto src = torch::randint(first, o.src_vocab_size, {B, S}, gen, torch::kLong);
  auto prev = torch::randint(first, o.tgt_vocab_size, {B, T}, gen, torch::kLong);
  src.index_put_({1, torch::indexing::Slice(S - 3, torch::indexing::None)}, o.padding_idx);
  prev.index_put_({2, torch::indexing::Slice(T - 2, torch::indexing::None)}, o.padding_idx);
  return {src, prev};
}

}  // namespace

ExtractResult run_extract(const ExtractOptions& opt) {
  if (opt.out_path.empty()) throw std::invalid_argument("thanos extract: --out is required");
  LoadedModel super = load_model(opt.checkpoint_path);
  if (super.info.is_standalone()) {
    throw std::invalid_argument(opt.checkpoint_path + ": already a standalone SubTransformer; extract needs a SuperTransformer");
  }
  ExtractResult result;
  std::optional<SearchSpace> space;
  auto it = super.info.metadata.find("space_yaml");
  if (it != super.info.metadata.end()) space = parse_search_space(it->second, opt.checkpoint_path + " (embedded space)").space;
  LoadedConfig lc = load_config_file(opt.config_path, default_qkv_dim(space, super.info.options.capacity.encoder_layers.at(0).self_qkv_dim));
  result.warnings = lc.warnings;
  const SubConfig& config = lc.config;
  if (space) {
    try {
      space->check_config(config);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(opt.config_path + ": " + e.what() + " (search space of " + opt.checkpoint_path + ")");
    }
  }
  super.model->eval();
  SuperTransformer sub = extract_subtransformer(*super.model, config);
  sub->eval();
  for (const auto& p : sub->parameters()) result.parameters += p.numel();
  result.expected_parameters = count_params(config, super.info.options.hyper, super.info.options.src_vocab_size,
                                            super.info.options.tgt_vocab_size).total();
  if (opt.verify) {
    torch::NoGradGuard no_grad;
    auto [src, prev] = verification_batch(super.info.options, opt.seed);
    auto a = super.model->forward(src, prev, config);
    auto b = sub->forward(src, prev, config);
    result.max_abs_diff = (a - b).abs().max().item<double>();
  }
  ModelFileInfo info;
  info.options = sub->options();
  info.sub_config = config;
  info.metadata = super.info.metadata;
  info.metadata["extracted_from"] = opt.checkpoint_path;
  info.metadata["sub_config_yaml"] = config_to_yaml(config);
  info.metadata["created_by"] = "thanos extract";
  save_model(opt.out_path, *sub, info);
  return result;
}

}  // namespace thanos
