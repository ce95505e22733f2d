#pragma once
// Turning one SubTransformer of a SuperTransformer into a standalone model with compact weights.
#include "thanos/model/super_transformer.h"

namespace thanos {

// Options of the standalone model for `config`: capacity = config, same vocabulary and
// hyper-parameters, and the super model's position-table width (HAT slices those tables).
ModelOptions standalone_options(const ModelOptions& super_options, const SubConfig& config);

// Copies the front part of every super weight (and buffer) into a new model whose capacity is
// exactly `config`. Under `config` both models compute the same function. Throws
// std::invalid_argument when `config` does not fit `super_model`.
SuperTransformer extract_subtransformer(SuperTransformerImpl& super_model, const SubConfig& config);

}  // namespace thanos
