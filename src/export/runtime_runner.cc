// The client of a runtime runner (docs/ORT.md): tools/ort_runner/runner.js, or another program
// speaking its protocol (tools/rknn/runner.py). Started with spawn_child (common/process.h), a Unix
// socket pair for the runner's stdin and another for its stdout (a runner that died gives an
// error, never a SIGPIPE), its stderr in a temporary file that error messages quote.
#include "thanos/export/runtime_runner.h"

#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "thanos/common/frame_codec.h"
#include "thanos/common/poll_deadline.h"
#include "thanos/common/process.h"
#include "thanos/common/text.h"
#include "thanos/common/temp_dir.h"
#include "thanos/hw/latency_protocol.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::uint32_t kMaxHeaderBytes = 64u << 20;
const char* const kInstallHint =
    "run scripts/setup.sh, or `npm ci --ignore-scripts --prefix tools/ort_runner` in THANOS' source tree";

std::string errno_text(int err) { return std::strerror(err); }

std::string node_program(const RuntimeRunnerOptions& o) {
  if (!o.node.empty()) return o.node;
  const char* env = std::getenv("THANOS_NODE");
  return env && *env ? env : "node";
}


json tensor_descriptor(const OrtTensor& t, const std::string& role) {
  t.check();
  json d = {{"name", t.name}, {"dtype", to_string(t.dtype)}, {"shape", t.shape}, {"nbytes", t.bytes.size()}};
  if (!role.empty()) d["role"] = role;
  return d;
}

OrtTimings timings_from(const json& list, const json& stats) {
  OrtTimings t;
  t.timings_ms = list.get<std::vector<double>>();
  t.mean_ms = stats.at("mean_ms").get<double>();
  t.std_ms = stats.at("std_ms").get<double>();
  t.kept = stats.at("kept").get<int>();
  return t;
}

std::vector<OrtValueInfo> value_infos(const json& list) {
  std::vector<OrtValueInfo> out;
  for (const auto& m : list) {
    OrtValueInfo v;
    v.name = m.at("name").get<std::string>();
    v.dtype = m.value("dtype", json()).is_string() ? m["dtype"].get<std::string>() : "";
    if (m.contains("shape") && m["shape"].is_array()) {
      for (const auto& d : m["shape"]) {
        if (d.is_number_integer()) {
          v.shape.push_back(d.get<std::int64_t>());
          v.dim_names.emplace_back();
        } else {
          v.shape.push_back(-1);
          v.dim_names.push_back(d.is_string() ? d.get<std::string>() : "");
        }
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

json protocol_json(const OrtTimingProtocol& p) {
  return {{"warmups", p.warmups}, {"repeats", p.repeats}, {"trim_fraction", p.trim_fraction}};
}

template <typename T>
OrtTensor make_tensor(std::string name, OrtDtype dtype, std::vector<std::int64_t> shape, const T* values, std::size_t n) {
  OrtTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (static_cast<std::int64_t>(n) != t.numel()) {
    throw std::invalid_argument("tensor \"" + t.name + "\": " + std::to_string(n) + " values for " +
                                std::to_string(t.numel()) + " elements");
  }
  t.bytes.resize(n * sizeof(T));
  if (n) std::memcpy(t.bytes.data(), values, n * sizeof(T));
  return t;
}

template <typename T>
std::vector<T> values_of(const OrtTensor& t, OrtDtype want) {
  if (t.dtype != want) {
    throw std::invalid_argument("tensor \"" + t.name + "\" is " + to_string(t.dtype) + ", not " + to_string(want));
  }
  t.check();
  std::vector<T> v(t.bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
  return v;
}

}  // namespace

// ------------------------------------------------------------------------------------ tensors

std::string to_string(OrtDtype dtype) {
  switch (dtype) {
    case OrtDtype::kFloat32: return "float32";
    case OrtDtype::kFloat16: return "float16";
    case OrtDtype::kInt64: return "int64";
    case OrtDtype::kInt32: return "int32";
    case OrtDtype::kBool: return "bool";
  }
  return "float32";
}

OrtDtype ort_dtype_from_string(const std::string& text) {
  if (text == "float32") return OrtDtype::kFloat32;
  if (text == "float16") return OrtDtype::kFloat16;
  if (text == "int64") return OrtDtype::kInt64;
  if (text == "int32") return OrtDtype::kInt32;
  if (text == "bool") return OrtDtype::kBool;
  throw std::invalid_argument("tensor dtype: expected float32, float16, int64, int32 or bool, got \"" + text + "\"");
}

std::size_t element_size(OrtDtype dtype) {
  switch (dtype) {
    case OrtDtype::kFloat32: return 4;
    case OrtDtype::kFloat16: return 2;
    case OrtDtype::kInt64: return 8;
    case OrtDtype::kInt32: return 4;
    case OrtDtype::kBool: return 1;
  }
  return 1;
}

std::int64_t OrtTensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

void OrtTensor::check() const {
  for (auto d : shape) {
    if (d < 0) throw std::invalid_argument("tensor \"" + name + "\": negative dimension in its shape");
  }
  const auto want = static_cast<std::size_t>(numel()) * element_size(dtype);
  if (bytes.size() != want) {
    throw std::invalid_argument("tensor \"" + name + "\": " + std::to_string(bytes.size()) + " bytes, its shape and " +
                                to_string(dtype) + " need " + std::to_string(want));
  }
}

OrtTensor OrtTensor::from_float32(std::string name, std::vector<std::int64_t> shape, const std::vector<float>& v) {
  return make_tensor(std::move(name), OrtDtype::kFloat32, std::move(shape), v.data(), v.size());
}
OrtTensor OrtTensor::from_float16_bits(std::string name, std::vector<std::int64_t> shape, const std::vector<std::uint16_t>& v) {
  return make_tensor(std::move(name), OrtDtype::kFloat16, std::move(shape), v.data(), v.size());
}
OrtTensor OrtTensor::from_int64(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int64_t>& v) {
  return make_tensor(std::move(name), OrtDtype::kInt64, std::move(shape), v.data(), v.size());
}
OrtTensor OrtTensor::from_int32(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int32_t>& v) {
  return make_tensor(std::move(name), OrtDtype::kInt32, std::move(shape), v.data(), v.size());
}
OrtTensor OrtTensor::from_bool(std::string name, std::vector<std::int64_t> shape, const std::vector<bool>& v) {
  std::vector<std::uint8_t> bytes(v.begin(), v.end());
  return make_tensor(std::move(name), OrtDtype::kBool, std::move(shape), bytes.data(), bytes.size());
}
std::vector<float> OrtTensor::float32() const { return values_of<float>(*this, OrtDtype::kFloat32); }
std::vector<std::uint16_t> OrtTensor::float16_bits() const { return values_of<std::uint16_t>(*this, OrtDtype::kFloat16); }
std::vector<std::int64_t> OrtTensor::int64() const { return values_of<std::int64_t>(*this, OrtDtype::kInt64); }
std::vector<std::int32_t> OrtTensor::int32() const { return values_of<std::int32_t>(*this, OrtDtype::kInt32); }
std::vector<bool> OrtTensor::boolean() const {
  const auto bytes = values_of<std::uint8_t>(*this, OrtDtype::kBool);
  std::vector<bool> v(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) v[i] = bytes[i] != 0;
  return v;
}

OrtTimingProtocol ort_timing_protocol(const LatencyProtocol& protocol) {
  protocol.validate();
  OrtTimingProtocol p;
  p.warmups = protocol.warmups;
  p.repeats = protocol.repeats;
  p.trim_fraction = protocol.trim_fraction;
  return p;
}

// ------------------------------------------------------------------------------------ finding

std::string find_ort_runner(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!fs::is_regular_file(explicit_path)) throw RuntimeRunnerUnavailable("ORT runner: no such file: " + explicit_path);
    return explicit_path;
  }
  if (const char* env = std::getenv("THANOS_ORT_RUNNER"); env && *env) {
    if (!fs::is_regular_file(env)) throw RuntimeRunnerUnavailable(std::string("ORT runner: THANOS_ORT_RUNNER=") + env + ": no such file");
    return env;
  }
  std::vector<std::string> candidates;
#ifdef THANOS_ORT_RUNNER_DIR
  candidates.push_back(std::string(THANOS_ORT_RUNNER_DIR) + "/runner.js");
#endif
  const std::string exe_dir = current_executable_dir();
  if (!exe_dir.empty()) {
    candidates.push_back(exe_dir + "/tools/ort_runner/runner.js");
    candidates.push_back(exe_dir + "/../tools/ort_runner/runner.js");
    candidates.push_back(exe_dir + "/../share/thanos/ort_runner/runner.js");
  }
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c)) return fs::weakly_canonical(c).string();
  }
  std::string looked;
  for (const auto& c : candidates) looked += (looked.empty() ? "" : ", ") + c;
  throw RuntimeRunnerUnavailable("ORT runner: runner.js not found (looked at " + looked +
                             "); pass its path or set THANOS_ORT_RUNNER");
}

std::string runtime_runner_unavailable_reason(const RuntimeRunnerOptions& options) {
  if (!options.command.empty()) {
    if (find_executable(options.command.front()).empty()) return "runner: `" + options.command.front() + "` not found on PATH";
    return "";  // the runner itself says at its start what it lacks
  }
  const std::string node = node_program(options);
  if (find_executable(node).empty()) {
    return "ORT runner: Node.js (`" + node + "`) not found; install Debian's nodejs and npm (" + kInstallHint + ")";
  }
  std::string runner;
  try {
    runner = find_ort_runner(options.runner_path);
  } catch (const std::exception& e) {
    return e.what();
  }
  const fs::path dir = fs::path(runner).parent_path();
  if (!fs::is_regular_file(dir / "node_modules" / "onnxruntime-node" / "package.json")) {
    return "ORT runner: " + (dir / "node_modules").string() + " has no onnxruntime-node; " + kInstallHint;
  }
  return "";
}

// ------------------------------------------------------------------------------------ process

struct RuntimeRunner::Impl {
  RuntimeRunnerOptions options;
  std::string runner;
  std::unique_ptr<TempDir> tmp;
  std::string stderr_path;
  Child child;          // in(): the runner's stdin, out(): its stdout (socket pairs)
  bool broken = false;  // the stream is out of sync or the runner is gone: no further request
  std::string broken_why;
  std::int64_t next_id = 1;
  std::string ort_version, node_version;
  std::mutex mutex;

  std::string stderr_tail() const {
    std::ifstream in(stderr_path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return last_lines_joined(s.str(), 600);
  }

  // Whether the child has exited (reaps it).
  bool exited() {
    try {
      return child.try_reap();
    } catch (const std::runtime_error&) {
      return true;  // not ours to wait for any more: gone
    }
  }

  std::string exit_text() {
    if (!exited()) return "still running";
    const int status = child.status();
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "ended";
  }

  void kill_and_reap() {
    child.in().reset();
    child.out().reset();
    child.kill_and_reap();
  }

  // Marks the runner unusable, kills it and throws a runtime_error saying why.
  [[noreturn]] void die(const std::string& what) {
    // Give a runner that is exiting by itself a moment, for an accurate status and stderr.
    for (int i = 0; i < 50 && !exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const bool had_exited = exited();
    const std::string how = had_exited ? exit_text() : "killed";
    kill_and_reap();
    broken = true;
    const std::string tail = stderr_tail();
    broken_why = "ORT runner (" + runner + "): " + what + " (" + how + ")" + (tail.empty() ? "" : ": " + tail);
    throw std::runtime_error(broken_why);
  }

  void send(const std::string& data, Deadline deadline) {
    const IoResult r = send_all(child.in().get(), data.data(), data.size(), deadline);
    if (r.status == IoStatus::kTimeout) die("timed out writing a request");
    if (!r.ok()) die("the runner stopped reading requests: " + errno_text(r.error));
  }

  void receive_exact(char* into, std::size_t n, Deadline deadline, const char* what) {
    const IoResult r = recv_exact(child.out().get(), into, n, deadline);
    if (r.ok()) return;
    if (r.status == IoStatus::kTimeout) die(std::string("no ") + what + " within the time limit");
    if (r.status == IoStatus::kClosed && r.error == 0) die(std::string("the runner ended before its ") + what);
    die("reading the runner's output failed: " + errno_text(r.error));
  }

  // One message: a frame holding the JSON header, then the tensors the header describes.
  std::pair<json, std::vector<OrtTensor>> receive(Deadline deadline, const char* what) {
    FrameRead f = recv_frame(child.out().get(), kMaxHeaderBytes, deadline);
    if (f.too_large) die("corrupt response (a header of " + std::to_string(f.length) + " bytes)");
    if (f.io.status == IoStatus::kTimeout) die(std::string("no ") + what + " within the time limit");
    if (f.io.status == IoStatus::kClosed && f.io.error == 0) die(std::string("the runner ended before its ") + what);
    if (!f.io.ok()) die("reading the runner's output failed: " + errno_text(f.io.error));
    json header;
    try {
      header = json::parse(f.payload);
    } catch (const std::exception& e) {
      die(std::string("corrupt response header: ") + e.what());
    }
    std::vector<OrtTensor> tensors;
    try {
      for (const auto& d : header.value("tensors", json::array())) {
        OrtTensor t;
        t.name = d.at("name").get<std::string>();
        t.dtype = ort_dtype_from_string(d.at("dtype").get<std::string>());
        t.shape = d.at("shape").get<std::vector<std::int64_t>>();
        t.bytes.resize(d.at("nbytes").get<std::size_t>());
        tensors.push_back(std::move(t));
      }
    } catch (const std::exception& e) {
      die(std::string("corrupt tensor descriptor in a response: ") + e.what());
    }
    for (auto& t : tensors) {
      if (!t.bytes.empty()) receive_exact(reinterpret_cast<char*>(t.bytes.data()), t.bytes.size(), deadline, what);
      try {
        t.check();
      } catch (const std::exception& e) {
        die(std::string("inconsistent response: ") + e.what());
      }
    }
    return {std::move(header), std::move(tensors)};
  }

  // Sends a request (its "tensors" descriptors matching `payload`, in order) and returns the
  // response; an error response becomes RuntimeRunnerError.
  std::pair<json, std::vector<OrtTensor>> request(json header, const std::vector<const OrtTensor*>& payload) {
    if (broken) throw std::runtime_error(broken_why.empty() ? "ORT runner: not running" : broken_why);
    const std::int64_t id = next_id++;
    header["id"] = id;
    const std::string op = header.value("op", "");
    std::string message = encode_frame(header.dump());
    std::size_t total = message.size();
    for (const auto* t : payload) total += t->bytes.size();
    message.reserve(total);
    for (const auto* t : payload) message.append(reinterpret_cast<const char*>(t->bytes.data()), t->bytes.size());
    const Deadline deadline = deadline_after(options.request_timeout_s);
    send(message, deadline);
    auto response = receive(deadline, ("response to " + op).c_str());
    const json& h = response.first;
    if (!h.contains("id") || !h["id"].is_number_integer() || h["id"].get<std::int64_t>() != id) {
      if (!h.value("ok", false) && h.contains("error") && h["error"].is_string()) die(h["error"].get<std::string>());
      die("response out of order (expected id " + std::to_string(id) + ", got " + h.value("id", json()).dump() + ")");
    }
    if (!h.value("ok", false)) {
      const std::string error = h.contains("error") && h["error"].is_string() ? h["error"].get<std::string>() : h.dump();
      throw RuntimeRunnerError("ONNX Runtime runner: " + error);
    }
    return response;
  }

  void start() {
    if (const std::string why = runtime_runner_unavailable_reason(options); !why.empty()) throw RuntimeRunnerUnavailable(why);
    const bool custom = !options.command.empty();
    runner = custom ? options.command.size() > 1 ? options.command[1] : options.command[0] : find_ort_runner(options.runner_path);
    const std::string node = find_executable(custom ? options.command.front() : node_program(options));
    tmp = std::make_unique<TempDir>("ort");
    stderr_path = tmp->path() + "/runner.stderr";

    std::vector<std::string> argv = {node, runner};
    if (custom) argv.assign(options.command.begin(), options.command.end());
    SpawnOptions streams;
    streams.in = ChildStream::socket();
    streams.out = ChildStream::socket();
    streams.err = ChildStream::file(stderr_path);
    try {
      child = spawn_child(argv, streams);
    } catch (const SpawnError& e) {
      throw RuntimeRunnerUnavailable("ORT runner: cannot start " + node + ": " + errno_text(e.error()));
    }
    json hello;
    try {
      hello = receive(deadline_after(options.start_timeout_s), "hello").first;
    } catch (const std::runtime_error& e) {
      // Exit status 3: the runner started but its runtime is missing (onnxruntime-node, RKNN Lite);
      // its message says what to install.
      if (child.reaped() && WIFEXITED(child.status()) && WEXITSTATUS(child.status()) == 3) {
        throw RuntimeRunnerUnavailable(e.what());
      }
      throw;
    }
    if (!hello.value("ok", false) || hello.value("op", "") != "hello") die("unexpected first message " + hello.dump());
    ort_version = hello.value("onnxruntime", hello.value("runtime", ""));
    node_version = hello.value("node", hello.value("interpreter", ""));
  }

  void stop() {
    if (child.pid() < 0 || child.reaped()) {
      child.in().reset();
      child.out().reset();
      return;
    }
    if (!broken && child.in().valid()) {
      // quit without waiting for its acknowledgement; end of stdin also stops the runner.
      const std::string message = encode_frame(json{{"op", "quit"}, {"id", next_id++}}.dump());
      (void)send_all(child.in().get(), message.data(), message.size(), deadline_after(0));
    }
    child.in().reset();
    child.out().reset();
    for (int i = 0; i < 300 && !exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill_and_reap();
  }
};

RuntimeRunner::RuntimeRunner(RuntimeRunnerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!(impl_->options.start_timeout_s > 0) || !(impl_->options.request_timeout_s > 0)) {
    throw std::invalid_argument("ORT runner: start_timeout_s and request_timeout_s must be > 0");
  }
  try {
    impl_->start();
  } catch (...) {
    impl_->kill_and_reap();
    throw;
  }
}

RuntimeRunner::~RuntimeRunner() {
  try {
    impl_->stop();
  } catch (...) {
  }
}

pid_t RuntimeRunner::pid() const { return impl_->child.pid(); }
bool RuntimeRunner::running() const { return !impl_->broken && !impl_->exited(); }
const std::string& RuntimeRunner::runner_path() const { return impl_->runner; }
std::string RuntimeRunner::onnxruntime_version() const { return impl_->ort_version; }
std::string RuntimeRunner::node_version() const { return impl_->node_version; }

OrtSessionInfo RuntimeRunner::load(const std::string& model_path, const OrtSessionOptions& o) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::error_code ec;
  const std::string path = fs::absolute(model_path, ec).string();
  json options = {{"graph_optimization_level", o.graph_optimization_level}, {"log_severity_level", o.log_severity_level}};
  if (!o.execution_mode.empty()) options["execution_mode"] = o.execution_mode;
  if (o.enable_cpu_mem_arena >= 0) options["enable_cpu_mem_arena"] = o.enable_cpu_mem_arena != 0;
  if (o.enable_mem_pattern >= 0) options["enable_mem_pattern"] = o.enable_mem_pattern != 0;
  for (const auto& [key, value] : o.runtime_options) options[key] = value;
  json req = {{"op", "load"}, {"path", ec ? model_path : path}, {"intra_op_threads", o.intra_op_threads}, {"options", options}};
  if (o.inter_op_threads > 0) req["inter_op_threads"] = o.inter_op_threads;
  const auto r = impl_->request(req, {}).first;
  OrtSessionInfo info;
  info.session = r.at("session").get<int>();
  info.path = req["path"].get<std::string>();
  info.inputs = value_infos(r.at("inputs"));
  info.outputs = value_infos(r.at("outputs"));
  return info;
}

std::vector<OrtTensor> RuntimeRunner::run(int session, const std::vector<OrtTensor>& inputs,
                                      const std::vector<std::string>& outputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  json req = {{"op", "run"}, {"session", session}, {"tensors", json::array()}};
  std::vector<const OrtTensor*> payload;
  for (const auto& t : inputs) {
    req["tensors"].push_back(tensor_descriptor(t, ""));
    payload.push_back(&t);
  }
  if (!outputs.empty()) req["outputs"] = outputs;
  return impl_->request(req, payload).second;
}

OrtTimings RuntimeRunner::time(int session, const std::vector<OrtTensor>& inputs, const OrtTimingProtocol& protocol) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  json req = protocol_json(protocol);
  req["op"] = "time";
  req["session"] = session;
  req["tensors"] = json::array();
  std::vector<const OrtTensor*> payload;
  for (const auto& t : inputs) {
    req["tensors"].push_back(tensor_descriptor(t, ""));
    payload.push_back(&t);
  }
  const auto r = impl_->request(req, payload).first;
  return timings_from(r.at("timings_ms"), r);
}

OrtLoopResult RuntimeRunner::time_loop(const OrtLoopRequest& q) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  json req = protocol_json(q.protocol);
  req["op"] = "time_loop";
  req["return_last"] = q.return_last_outputs;
  json from_encoder = json::object(), feedback = json::object();
  for (const auto& [o, i] : q.from_encoder) from_encoder[o] = i;
  for (const auto& [o, i] : q.feedback) feedback[o] = i;
  req["encoder"] = {{"session", q.encoder_session}};
  req["decoder"] = {{"session", q.decoder_session}, {"steps", q.steps}, {"replicate", q.replicate},
                    {"from_encoder", from_encoder}, {"feedback", feedback}};
  req["tensors"] = json::array();
  std::vector<const OrtTensor*> payload;
  auto add = [&](const std::vector<OrtTensor>& list, const char* role) {
    for (const auto& t : list) {
      req["tensors"].push_back(tensor_descriptor(t, role));
      payload.push_back(&t);
    }
  };
  add(q.encoder_inputs, "encoder");
  add(q.decoder_inputs, "decoder");
  add(q.step_inputs, "step");
  auto r = impl_->request(req, payload);
  OrtLoopResult out;
  out.encoder = timings_from(r.first.at("encoder_ms"), r.first.at("encoder"));
  out.decoder = timings_from(r.first.at("decoder_ms"), r.first.at("decoder"));
  out.last_outputs = std::move(r.second);
  return out;
}

void RuntimeRunner::close(int session) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->request({{"op", "close"}, {"session", session}}, {});
}

}  // namespace thanos
