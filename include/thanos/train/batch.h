#pragma once
// Turning pairs of a binarized split into padded tensors for one forward pass.
#include <torch/types.h>

#include <vector>

#include "thanos/data/binarized.h"

namespace thanos {

struct Batch {
  torch::Tensor src;     // [B, S] source ids + </s>, right-padded with <pad>
  torch::Tensor prev;    // [B, T] decoder input: </s> then the target without its final </s>
  torch::Tensor target;  // [B, T] target ids + </s>, right-padded
  std::int64_t ntokens = 0;     // non-padding target tokens
  std::int64_t nsentences = 0;

  Batch to(const torch::Device& device) const {
    return device.is_cpu() ? *this : Batch{src.to(device), prev.to(device), target.to(device), ntokens, nsentences};
  }
};

Batch collate(const BinarizedSplit& split, const std::vector<std::size_t>& indices);

}  // namespace thanos
