// Fuzz build only: the torch sources are not compiled (fuzz/CMakeLists.txt), but a torch-free
// source a harness links may name one of their functions on a path no harness takes (the predictor
// file's reader sits beside fitting, which trains HAT's MLP with libtorch). Reaching one is a
// harness bug, reported as a finding.
#include "fuzz_target.h"
#include "thanos/predict/mlp.h"

namespace thanos {

MlpWeights fit_mlp(const std::vector<std::vector<double>>&, const std::vector<double>&, const MlpFitOptions&) {
  fuzz::finding("fit_mlp (libtorch) is not part of the fuzz build");
}

}  // namespace thanos
