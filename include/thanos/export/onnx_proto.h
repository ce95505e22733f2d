#pragma once
// The onnx protobuf classes (onnx::ModelProto, GraphProto, ...) from Debian's libonnx-dev, built
// with ONNX_ML=1 in namespace `onnx`. The macros are defined here rather than as the onnx CMake
// target's usage requirements, so that no target's flags change and the torch precompiled header
// stays valid for every source that includes this one.
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>
