#pragma once
// libtorch's process-wide thread pool, for code that need not include libtorch (the CLI): its
// headers cost seconds per translation unit.

namespace thanos {

// Intra-op threads (torch::set_num_threads). Debian's libtorch defaults to one.
void set_torch_threads(int threads);
int torch_threads();

}  // namespace thanos
