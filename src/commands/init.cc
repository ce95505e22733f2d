#include <torch/utils.h>

#include "thanos/commands/commands.h"
#include "thanos/common/text.h"
#include "thanos/model/model_file.h"
#include "thanos/space/space_yaml.h"

namespace thanos {

InitResult run_init(const InitOptions& opt) {
  if (opt.out_path.empty()) throw std::invalid_argument("thanos init: --out is required");
  if (opt.vocab_size <= 0) throw std::invalid_argument("thanos init: --vocab must be a positive integer");
  const std::string space_text = read_text_file(opt.space_path);
  LoadedSpace ls = parse_search_space(space_text, opt.space_path);
  InitResult result;
  result.warnings = ls.warnings;
  const int tgt_vocab = opt.tgt_vocab_size.value_or(opt.vocab_size);
  ModelOptions options = super_model_options(ls.space, opt.vocab_size, tgt_vocab);
  torch::manual_seed(opt.seed);
  SuperTransformer model(options);
  for (const auto& p : model->parameters()) result.parameters += p.numel();
  ModelFileInfo info;
  info.options = options;
  // The space travels with the model so later commands can validate configs against it.
  info.metadata["space_yaml"] = search_space_to_yaml(ls.space);
  info.metadata["space_source"] = opt.space_path;
  info.metadata["created_by"] = "thanos init (seed " + std::to_string(opt.seed) + ")";
  save_model(opt.out_path, *model, info);
  return result;
}

}  // namespace thanos
