#pragma once
// Deployment runtimes in a runner process (docs/ORT.md): a RuntimeRunner starts the process, speaks
// its framed protocol (a JSON header plus raw tensor bytes) and stops it. By default the runner is
// ONNX Runtime's: Debian ships no ONNX Runtime headers and they are not written by hand here, so
// the npm package onnxruntime-node (pinned in tools/ort_runner/package.json) brings ONNX Runtime's
// shared library with its Node binding, and tools/ort_runner/runner.js (`node runner.js`) serves
// requests over a pipe. RuntimeRunnerOptions::command starts another runner speaking the same
// protocol instead: tools/rknn/runner.py drives RKNN (the RK3588 NPU, or rknn-toolkit2's simulator).
//
// For equality tests the C++ side drives every step (load, run); for timing, the runner runs the
// whole measurement protocol inside itself (time, time_loop) and reports what it measured with
// process.hrtime.bigint(), so pipe traffic is never part of a figure.
//
// Torch-free and JSON-free: tensors are plain bytes with a dtype and a shape.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace thanos {

struct LatencyProtocol;

enum class OrtDtype { kFloat32, kFloat16, kInt64, kInt32, kBool };
std::string to_string(OrtDtype dtype);  // "float32" | "float16" | "int64" | "int32" | "bool"
// Throws std::invalid_argument naming the choices.
OrtDtype ort_dtype_from_string(const std::string& text);
std::size_t element_size(OrtDtype dtype);  // 4, 2, 8, 4, 1

// A named tensor: row-major, little-endian, no padding; float16 as raw IEEE half words, bool as
// one byte (0 or 1) per element.
struct OrtTensor {
  std::string name;
  OrtDtype dtype = OrtDtype::kFloat32;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;

  std::int64_t numel() const;
  // Throws std::invalid_argument when bytes.size() != numel() * element_size(dtype).
  void check() const;

  static OrtTensor from_float32(std::string name, std::vector<std::int64_t> shape, const std::vector<float>& values);
  static OrtTensor from_float16_bits(std::string name, std::vector<std::int64_t> shape,
                                     const std::vector<std::uint16_t>& values);
  static OrtTensor from_int64(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int64_t>& values);
  static OrtTensor from_int32(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int32_t>& values);
  static OrtTensor from_bool(std::string name, std::vector<std::int64_t> shape, const std::vector<bool>& values);
  // The values; each throws std::invalid_argument unless dtype matches.
  std::vector<float> float32() const;
  std::vector<std::uint16_t> float16_bits() const;
  std::vector<std::int64_t> int64() const;
  std::vector<std::int32_t> int32() const;
  std::vector<bool> boolean() const;
};

// A graph input or output as ONNX Runtime reports it.
struct OrtValueInfo {
  std::string name;
  std::string dtype;                // float32, float16, int64, ... (ORT's names; "non-tensor" for others)
  std::vector<std::int64_t> shape;  // -1 for a dynamic dimension
  std::vector<std::string> dim_names;  // per dimension: its symbolic name when dynamic, else ""
};

struct OrtSessionInfo {
  int session = 0;
  std::string path;
  std::vector<OrtValueInfo> inputs, outputs;
};

struct OrtSessionOptions {
  int intra_op_threads = 1;  // ONNX Runtime's intra-op pool (0: its default, one per core)
  int inter_op_threads = 0;  // 0: not set (only used with execution_mode "parallel")
  std::string graph_optimization_level = "all";  // disabled | basic | extended | all
  std::string execution_mode;                    // "" (ORT's default: sequential) | sequential | parallel
  int enable_cpu_mem_arena = -1;                 // -1: ORT's default; 0/1
  int enable_mem_pattern = -1;                   // -1: ORT's default; 0/1
  int log_severity_level = 3;                    // 0 verbose .. 4 fatal; the runner's stderr
  // Extra string settings in the load request's "options", for runners other than runner.js
  // (tools/rknn/runner.py reads rknn_dtype and calibration_dir); runner.js ignores unknown keys.
  std::vector<std::pair<std::string, std::string>> runtime_options;
};

// HAT's repetition and trimming (include/thanos/hw/latency_protocol.h): warm-ups, timed runs,
// the lowest floor(n*f) and highest max(1, floor(n*f)) timings dropped.
struct OrtTimingProtocol {
  int warmups = 5;
  int repeats = 20;
  double trim_fraction = 0.1;
};
OrtTimingProtocol ort_timing_protocol(const LatencyProtocol& protocol);

struct OrtTimings {
  std::vector<double> timings_ms;  // every timed run, in order (warm-ups excluded)
  double mean_ms = 0;              // after trimming (as thanos::trimmed_stats)
  double std_ms = 0;
  int kept = 0;
};

// The encoder once, then a decoder-step loop, timed inside the runner (HAT's protocol as
// measure_in_process runs it): the encoder warmups+repeats times, each run timed; then from its
// last outputs warmups+repeats decoder runs, each timed as a whole: the decoder's inputs reset to
// `decoder_inputs`, then `steps` runs of the decoder-step graph, each step's `feedback` outputs
// (e.g. present.0.key) becoming the next step's inputs (past.0.key). Encoder outputs named in
// `from_encoder` are fed to every step, tiled `replicate` times along axis 0 first (the beam;
// untimed, once). `step_inputs` have `steps` as their first dimension; step t gets slice t (the
// dummy target tokens, a position). All other decoder outputs (the logits) are computed and dropped.
struct OrtLoopRequest {
  int encoder_session = 0;
  std::vector<OrtTensor> encoder_inputs;
  int decoder_session = 0;
  std::vector<OrtTensor> decoder_inputs;  // initial values (e.g. empty past keys/values)
  std::vector<OrtTensor> step_inputs;
  int steps = 1;
  std::vector<std::pair<std::string, std::string>> from_encoder;  // encoder output -> decoder input
  int replicate = 1;
  std::vector<std::pair<std::string, std::string>> feedback;  // decoder output -> decoder input
  OrtTimingProtocol protocol;
  bool return_last_outputs = false;  // the last step's outputs of the last run (tests)
};

struct OrtLoopResult {
  OrtTimings encoder, decoder;
  std::vector<OrtTensor> last_outputs;  // with return_last_outputs
};

struct RuntimeRunnerOptions {
  // Another runner speaking the same protocol instead of runner.js, as {program, args...}
  // (program found on PATH): e.g. {"python3", "tools/rknn/runner.py", "--runtime", "lite"} for
  // RKNN on the board (docs/DEPLOY.md). Empty: `node runner.js` as below.
  std::vector<std::string> command;
  std::string runner_path;  // runner.js; empty: $THANOS_ORT_RUNNER, else found (find_ort_runner)
  std::string node;         // the node executable; empty: $THANOS_NODE, else `node` on PATH
  double start_timeout_s = 60;     // until the runner has loaded ONNX Runtime and said hello
  double request_timeout_s = 600;  // per request (a timing loop included); the runner is killed after it
};

// An error response of the runner (a bad model path, an unknown input, a wrong shape, an ONNX
// Runtime failure): the runner stays usable.
class RuntimeRunnerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Node, the runner or its node_modules are missing: the message says how to install them.
class RuntimeRunnerUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where runner.js is: `explicit_path`, else $THANOS_ORT_RUNNER, else the source tree this was
// built from, else next to the running executable (tools/ort_runner/, ../tools/ort_runner/,
// ../share/thanos/ort_runner/). Throws RuntimeRunnerUnavailable naming the places it looked.
std::string find_ort_runner(const std::string& explicit_path = "");

// Empty when RuntimeRunner(options) can start; else why not (no node, no runner.js, no
// node_modules/onnxruntime-node), with the command that fixes it. Starts nothing.
std::string runtime_runner_unavailable_reason(const RuntimeRunnerOptions& options = {});

// One runner process. Not thread-safe: one request at a time (calls are serialised by a mutex).
class RuntimeRunner {
 public:
  // Starts the runner and waits for its hello. Throws RuntimeRunnerUnavailable (see above) or
  // std::runtime_error when it does not come up, with the end of its stderr.
  explicit RuntimeRunner(RuntimeRunnerOptions options = {});
  // Asks the runner to quit, closes its stdin, waits briefly, kills it if needed and reaps it.
  ~RuntimeRunner();
  RuntimeRunner(const RuntimeRunner&) = delete;
  RuntimeRunner& operator=(const RuntimeRunner&) = delete;

  OrtSessionInfo load(const std::string& model_path, const OrtSessionOptions& options = {});
  // All of the graph's outputs in its order, or those named in `outputs`.
  std::vector<OrtTensor> run(int session, const std::vector<OrtTensor>& inputs,
                             const std::vector<std::string>& outputs = {});
  // The same inputs warmups + repeats times, each run timed.
  OrtTimings time(int session, const std::vector<OrtTensor>& inputs, const OrtTimingProtocol& protocol = {});
  OrtLoopResult time_loop(const OrtLoopRequest& request);
  void close(int session);

  pid_t pid() const;
  bool running() const;  // the process is up and the stream in sync
  const std::string& runner_path() const;
  // From the hello: runner.js sends its ONNX Runtime version ("1.22.0") and Node's; another runner
  // (`command`) its runtime ("rknn-toolkit-lite2 2.3.0") and interpreter ("python 3.11.2").
  std::string onnxruntime_version() const;
  std::string node_version() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace thanos
