#pragma once
// NumPy .npy files (format version 1.0: magic, version, a little-endian header length, a Python
// dict literal {'descr', 'fortran_order', 'shape'} padded to 64 bytes, then the raw C-order data).
// rknn-toolkit2 takes its int8 calibration samples as .npy files. Written here because no Debian
// C++ package reads or writes them (cnpy is not packaged) and the format is this small. Torch-free.
#include <string>

#include "thanos/export/runtime_runner.h"

namespace thanos {

// Writes `tensor` (any OrtDtype; bool as '|b1', float16 as '<f2') to `path` atomically.
void write_npy(const std::string& path, const OrtTensor& tensor);
// Reads a C-order, little-endian .npy of one of those dtypes; the tensor is named `name`. Throws
// std::invalid_argument naming the file and what is wrong.
OrtTensor read_npy(const std::string& path, const std::string& name = "");

}  // namespace thanos
