#include "thanos/hw/measurement_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

namespace thanos {

SuperTransformer build_measurement_model(const MeasureRequest& req) {
  ModelOptions options;
  options.capacity = req.config;
  options.src_vocab_size = options.tgt_vocab_size = req.protocol.vocab_size;
  options.hyper = req.hyper;
  options.hyper.max_source_positions = std::max(options.hyper.max_source_positions, req.protocol.src_len + 2);
  options.hyper.max_target_positions = std::max(options.hyper.max_target_positions, req.protocol.tgt_len + 2);
  options.validate();
  torch::manual_seed(1);
  SuperTransformer model(options);
  model->eval();
  return model;
}

torch::Tensor measurement_tokens(int64_t rows, int64_t length, int64_t vocab) {
  // Past fairseq's special symbols (<s> <pad> </s> <unk>), so no padding or EOS.
  auto gen = at::detail::createCPUGenerator(/*seed_in=*/7);
  return torch::randint(4, vocab, {rows, length}, gen, torch::kLong);
}

}  // namespace thanos
