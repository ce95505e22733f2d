#pragma once
// Where models are measured, as `--device` or a run config's `device:` names it, parsed once into
// a value so that `thanos measure`, `thanos search --verify-device`, the run config and the
// pipeline agree on the forms:
//   cpu | cuda        an isolated `thanos measure-worker` per measurement on this machine
//   ort-cpu           the exported graphs in ONNX Runtime on this CPU (needs the ONNX build)
//   rknn              the RK3588 NPU through RKNN Lite (on the board itself)
//   remote://HOST:PORT[,remote://HOST:PORT...]   `thanos agent`s, one or a pool of identical boards
#include <string>
#include <vector>

namespace thanos {

inline constexpr const char* kTargetDeviceForms = "cpu, cuda, ort-cpu, rknn or remote://HOST:PORT[,remote://HOST:PORT...]";

struct TargetDevice {
  enum class Kind { kCpu, kCuda, kOrtCpu, kRknn, kRemote };
  Kind kind = Kind::kCpu;
  std::vector<std::string> agents;  // kRemote: each "remote://HOST:PORT" of the pool, in order

  // Throws std::invalid_argument "'<text>': expected <the forms>" (callers prefix the flag or
  // field), or naming the pool member that is not remote://.
  static TargetDevice parse(const std::string& text);

  bool is_remote() const { return kind == Kind::kRemote; }
  // The form it was parsed from: "cpu", "ort-cpu", "remote://a:1,remote://b:2", ...
  std::string text() const;
  // What a measurement request names as its device: ort-cpu and the agents measure what this
  // machine would call "cpu" unless the agent's backend is given (measure --backend).
  std::string local_device() const;
};

// What measured on the board, from a measurement's backend (Measurement::backend): the X of an
// agent's "remote://HOST:PORT/X", "" for an agent's address without it, anything else as given.
std::string board_backend(const std::string& backend);

// The runtime a measurement ran in, from its backend (Measurement::backend): "libtorch" (cpu,
// cuda), "onnxruntime" (ort-cpu), "rknn" (the NPU); an agent's "remote://HOST:PORT/X" by its X;
// "" when unknown.
std::string runtime_of_backend(const std::string& backend);

}  // namespace thanos
