#include "thanos/model/torch_runtime.h"

#include <torch/utils.h>

namespace thanos {

void set_torch_threads(int threads) { torch::set_num_threads(threads); }

int torch_threads() { return static_cast<int>(torch::get_num_threads()); }

}  // namespace thanos
