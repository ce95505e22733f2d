#pragma once
// AdamW's update in one pass over each parameter (docs/TRAINING.md, "Speed"). libtorch 1.13's
// torch::optim::AdamW runs eight elementwise kernels per parameter tensor (mul_, add_, mul_,
// addcmul_, sqrt, div, add_, addcdiv_), each a full pass over memory; PyTorch 2.x has a fused
// kernel (_fused_adamw_) that Debian's libtorch 1.13 lacks, so this file writes the loop itself.
// It is the same update rule on the same state: the moments and step counts live in the AdamW
// object (checkpoints unchanged, and libtorch's own step() can take over at any update), and
// parameters without a gradient are skipped, as fairseq's Adam skips them.
#include <torch/optim/adamw.h>

namespace thanos {

// One AdamW update of every parameter of `optimizer` that has a gradient. Float32 contiguous CPU
// tensors take the one-pass loop (parallel over elements); anything else (CUDA, other dtypes,
// amsgrad) falls back to optimizer.step(). Results equal libtorch's up to float rounding.
void fused_adamw_step(torch::optim::AdamW& optimizer);

}  // namespace thanos
