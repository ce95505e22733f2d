#pragma once
// Tiny ONNX graphs for the ONNX Runtime runner's tests (tests/test_ort.cc), written with Debian's
// libonnx-dev (onnx::ModelProto). Opset 17, IR version 8; each graph passes onnx's checker before
// it is written. This header is torch-free and onnx-free: the builder is compiled on its own
// (tests/CMakeLists.txt), so onnx's compile definitions do not reach the tests' precompiled header.
// Each function throws std::runtime_error when the checker rejects the graph or the file cannot
// be written.
#include <cstdint>
#include <string>
#include <vector>

namespace thanos::ort_test {

// X float32 [batch, k] ("batch" dynamic) -> Y = MatMul(X, W) + B; W [k, n], B [n] initializers.
void write_affine(const std::string& path, std::int64_t k, std::int64_t n, const std::vector<float>& w,
                  const std::vector<float>& b);

// X float32 [batch, seq, d] (both dynamic) -> Y = LayerNormalization(X, gamma, beta), axis -1.
void write_layer_norm(const std::string& path, std::int64_t d, const std::vector<float>& gamma,
                      const std::vector<float>& beta, float epsilon);

// ids int64 (or int32) [batch, seq] -> E = Gather(table [vocab, d], ids) [batch, seq, d].
void write_gather(const std::string& path, std::int64_t vocab, std::int64_t d, const std::vector<float>& table,
                  bool int32_indices);

// X float16 [n] -> Y16 = Cast<float16>(Cast<float>(X) * 2) and Y32 = Cast<float>(X) * 2.
void write_half_scale(const std::string& path);

// cond bool [n], a float32 [n], b float32 [n] -> Y = Where(cond, a, b), notcond = Not(cond).
void write_where(const std::string& path);

// A toy encoder: tokens int64 [1, src] -> memory = MatMul(Gather(embed [vocab, d], tokens), W [d, d]).
void write_toy_encoder(const std::string& path, std::int64_t vocab, std::int64_t d, const std::vector<float>& embed,
                       const std::vector<float>& w);

// A toy decoder step: token int64 [beam, 1], past float32 [beam, t, d], memory float32 [beam, src, d]
// -> h = Gather(embed, token) + ReduceMean(memory, axis 1, keepdims); present = Concat(past, h,
// axis 1) [beam, t + 1, d]; logits = MatMul(h, out [d, vocab]) [beam, 1, vocab].
void write_toy_decoder_step(const std::string& path, std::int64_t vocab, std::int64_t d,
                            const std::vector<float>& embed, const std::vector<float>& out);

}  // namespace thanos::ort_test
