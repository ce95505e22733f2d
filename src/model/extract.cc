#include "thanos/model/extract.h"

#include <stdexcept>

namespace thanos {
namespace {

// dst <- src[:dst.size(0), :dst.size(1), ...]: HAT's front-part rule, dimension by dimension.
void copy_front(const std::string& name, torch::Tensor dst, const torch::Tensor& src) {
  if (dst.dim() != src.dim()) throw std::logic_error("extract: rank mismatch for " + name);
  torch::Tensor view = src;
  for (int64_t k = 0; k < dst.dim(); ++k) {
    if (dst.size(k) > src.size(k)) throw std::logic_error("extract: " + name + " is larger in the SubTransformer");
    view = view.narrow(k, 0, dst.size(k));
  }
  dst.copy_(view);
}

}  // namespace

ModelOptions standalone_options(const ModelOptions& super_options, const SubConfig& config) {
  ModelOptions o = super_options;
  o.capacity = config;
  o.encoder_position_dim = super_options.encoder_position_dim > 0 ? super_options.encoder_position_dim
                                                                  : super_options.capacity.encoder_embed_dim;
  o.decoder_position_dim = super_options.decoder_position_dim > 0 ? super_options.decoder_position_dim
                                                                  : super_options.capacity.decoder_embed_dim;
  return o;
}

SuperTransformer extract_subtransformer(SuperTransformerImpl& super_model, const SubConfig& config) {
  super_model.check_fits(config);
  SuperTransformer sub(standalone_options(super_model.options(), config));
  torch::NoGradGuard no_grad;
  auto super_params = super_model.named_parameters();
  auto super_buffers = super_model.named_buffers();
  for (auto& item : sub->named_parameters()) {
    const torch::Tensor* src = super_params.find(item.key());
    if (src == nullptr) throw std::logic_error("extract: no super parameter named " + item.key());
    copy_front(item.key(), item.value(), *src);
  }
  for (auto& item : sub->named_buffers()) {
    const torch::Tensor* src = super_buffers.find(item.key());
    if (src == nullptr) throw std::logic_error("extract: no super buffer named " + item.key());
    copy_front(item.key(), item.value(), *src);
  }
  sub->train(super_model.is_training());
  return sub;
}

}  // namespace thanos
