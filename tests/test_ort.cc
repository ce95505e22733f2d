// ONNX Runtime through the Node.js runner (docs/ORT.md, include/thanos/export/runtime_runner.h):
// tiny graphs written with libonnx-dev (tests/ort_test_graphs.h) run in ONNX Runtime and are
// compared with libtorch; the timing requests; errors; the runner's lifetime. Skipped, with the
// reason, when Node.js, tools/ort_runner/node_modules or libonnx-dev is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/torch.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "thanos/common/temp_dir.h"
#include "thanos/export/runtime_runner.h"
#include "thanos/hw/latency_protocol.h"

#ifdef THANOS_ORT_TEST_GRAPHS
#include "ort_test_graphs.h"
#endif

namespace thanos {
namespace {

namespace fs = std::filesystem;

std::vector<float> floats_of(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat32);
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

OrtTensor to_ort(const std::string& name, const torch::Tensor& t) {
  auto c = t.contiguous();
  OrtTensor o;
  o.name = name;
  o.shape = c.sizes().vec();
  switch (c.scalar_type()) {
    case torch::kFloat32: o.dtype = OrtDtype::kFloat32; break;
    case torch::kFloat16: o.dtype = OrtDtype::kFloat16; break;
    case torch::kInt64: o.dtype = OrtDtype::kInt64; break;
    case torch::kInt32: o.dtype = OrtDtype::kInt32; break;
    case torch::kBool: o.dtype = OrtDtype::kBool; break;
    default: throw std::invalid_argument("to_ort: unsupported dtype");
  }
  o.bytes.resize(c.numel() * c.element_size());
  if (!o.bytes.empty()) std::memcpy(o.bytes.data(), c.data_ptr(), o.bytes.size());
  return o;
}

torch::Tensor to_torch(const OrtTensor& o) {
  torch::Dtype dtype = torch::kFloat32;
  switch (o.dtype) {
    case OrtDtype::kFloat32: dtype = torch::kFloat32; break;
    case OrtDtype::kFloat16: dtype = torch::kFloat16; break;
    case OrtDtype::kInt64: dtype = torch::kInt64; break;
    case OrtDtype::kInt32: dtype = torch::kInt32; break;
    case OrtDtype::kBool: dtype = torch::kBool; break;
  }
  auto t = torch::empty(o.shape, torch::TensorOptions().dtype(dtype));
  if (!o.bytes.empty()) std::memcpy(t.data_ptr(), o.bytes.data(), o.bytes.size());
  return t;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

const OrtTensor& named(const std::vector<OrtTensor>& list, const std::string& name) {
  for (const auto& t : list) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no output " + name);
}

// The message of the exception of type E that `f` throws (a test failure when it throws none).
template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// ------------------------------------------------------------------------- without the runner

TEST(OrtTensor, ValuesRoundTripAndSizesAreChecked) {
  const auto f = OrtTensor::from_float32("x", {2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(f.bytes.size(), 16u);
  EXPECT_EQ(f.float32(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(OrtTensor::from_int64("i", {3}, {1, -2, 3}).int64(), (std::vector<std::int64_t>{1, -2, 3}));
  EXPECT_EQ(OrtTensor::from_int32("i", {1, 2}, {7, 8}).int32(), (std::vector<std::int32_t>{7, 8}));
  EXPECT_EQ(OrtTensor::from_bool("b", {3}, {true, false, true}).boolean(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(OrtTensor::from_float16_bits("h", {1}, {0x3c00}).float16_bits(), (std::vector<std::uint16_t>{0x3c00}));
  EXPECT_EQ(OrtTensor::from_float32("s", {}, {5}).numel(), 1);
  EXPECT_THROW(OrtTensor::from_float32("x", {2, 3}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(f.int64(), std::invalid_argument);
  OrtTensor bad = f;
  bad.bytes.pop_back();
  EXPECT_THROW(bad.check(), std::invalid_argument);
  for (auto d : {OrtDtype::kFloat32, OrtDtype::kFloat16, OrtDtype::kInt64, OrtDtype::kInt32, OrtDtype::kBool}) {
    EXPECT_EQ(ort_dtype_from_string(to_string(d)), d);
  }
  EXPECT_THROW(ort_dtype_from_string("float64"), std::invalid_argument);
}

TEST(RuntimeRunnerSetup, TimingProtocolMirrorsTheLatencyProtocol) {
  const auto quick = ort_timing_protocol(latency_protocol_preset("quick"));
  EXPECT_EQ(quick.warmups, 1);
  EXPECT_EQ(quick.repeats, 5);
  EXPECT_DOUBLE_EQ(quick.trim_fraction, 0.1);
  const auto hat = ort_timing_protocol(latency_protocol_preset("hat-wmt"));
  EXPECT_EQ(hat.warmups, 5);
  EXPECT_EQ(hat.repeats, 20);
}

TEST(RuntimeRunnerSetup, MissingNodeOrNodeModulesIsExplained) {
  RuntimeRunnerOptions no_node;
  no_node.node = "/nonexistent/bin/node";
  const std::string why = runtime_runner_unavailable_reason(no_node);
  EXPECT_NE(why.find("Node.js"), std::string::npos) << why;
  EXPECT_NE(why.find("setup.sh"), std::string::npos) << why;
  EXPECT_NE(message_of<RuntimeRunnerUnavailable>([&] { RuntimeRunner r(no_node); }).find("Node.js"), std::string::npos);

  EXPECT_THROW(find_ort_runner("/nonexistent/runner.js"), RuntimeRunnerUnavailable);
  // A runner without node_modules next to it (when node is here; else the reason is node's).
  TempDir tmp("ort-test");
  const std::string copy = tmp.path() + "/runner.js";
  std::ofstream(copy) << "// not a runner\n";
  RuntimeRunnerOptions no_modules;
  no_modules.runner_path = copy;
  const std::string why2 = runtime_runner_unavailable_reason(no_modules);
  EXPECT_FALSE(why2.empty());
  if (why2.find("Node.js") == std::string::npos) {
    EXPECT_NE(why2.find("npm ci --ignore-scripts --prefix tools/ort_runner"), std::string::npos) << why2;
    EXPECT_NE(message_of<RuntimeRunnerUnavailable>([&] { RuntimeRunner r(no_modules); }).find("onnxruntime-node"),
              std::string::npos);
  }
}

// A stand-in runner (node only, no ONNX Runtime): says hello, or not, and never answers.
struct FakeRunner {
  TempDir dir{"ort-fake"};
  RuntimeRunnerOptions options;
  explicit FakeRunner(bool hello) {
    fs::create_directories(dir.path() + "/node_modules/onnxruntime-node");
    std::ofstream(dir.path() + "/node_modules/onnxruntime-node/package.json") << "{}\n";
    std::ofstream js(dir.path() + "/runner.js");
    if (hello) {
      js << "const b = Buffer.from(JSON.stringify({id: null, ok: true, op: 'hello', onnxruntime: 'fake'}));\n"
            "const l = Buffer.alloc(4); l.writeUInt32BE(b.length, 0);\n"
            "process.stdout.write(Buffer.concat([l, b]));\n";
    }
    js << "process.stdin.on('data', () => {});\nsetInterval(() => {}, 1000);\n";
    options.runner_path = dir.path() + "/runner.js";
    options.start_timeout_s = 0.5;
    options.request_timeout_s = 0.5;
  }
};

TEST(RuntimeRunnerSetup, AHungRunnerTimesOutAndIsReaped) {
  FakeRunner silent(false);
  if (const std::string why = runtime_runner_unavailable_reason(silent.options); !why.empty()) GTEST_SKIP() << why;
  std::string m = message_of<std::runtime_error>([&] { RuntimeRunner r(silent.options); });
  EXPECT_NE(m.find("no hello within the time limit"), std::string::npos) << m;

  FakeRunner mute(true);
  RuntimeRunner r(mute.options);
  EXPECT_EQ(r.onnxruntime_version(), "fake");
  const pid_t pid = r.pid();
  m = message_of<std::runtime_error>([&] { r.load("/nonexistent.onnx"); });
  EXPECT_NE(m.find("no response to load within the time limit"), std::string::npos) << m;
  EXPECT_FALSE(r.running());
  EXPECT_FALSE(process_exists(pid));
}

// ---------------------------------------------------------------------------- with the runner

class RuntimeRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef THANOS_ORT_TEST_GRAPHS
    GTEST_SKIP() << "libonnx-dev is absent (apt install libonnx-dev): no test graphs";
#endif
    const std::string why = runtime_runner_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    tmp_ = std::make_unique<TempDir>("ort-test");
    runner_ = std::make_unique<RuntimeRunner>();
    torch::manual_seed(11);
  }
  std::string model(const std::string& name) const { return tmp_->path() + "/" + name + ".onnx"; }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<RuntimeRunner> runner_;
};

#ifdef THANOS_ORT_TEST_GRAPHS

TEST_F(RuntimeRunnerTest, MatMulAddMatchesLibtorch) {
  const auto w = torch::randn({8, 5});
  const auto b = torch::randn({5});
  ort_test::write_affine(model("affine"), 8, 5, floats_of(w), floats_of(b));
  const OrtSessionInfo info = runner_->load(model("affine"));
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].name, "X");
  EXPECT_EQ(info.inputs[0].dtype, "float32");
  EXPECT_EQ(info.inputs[0].shape, (std::vector<std::int64_t>{-1, 8}));
  EXPECT_EQ(info.inputs[0].dim_names[0], "batch");
  ASSERT_EQ(info.outputs.size(), 1u);
  EXPECT_EQ(info.outputs[0].name, "Y");
  EXPECT_FALSE(runner_->onnxruntime_version().empty());

  for (int batch : {1, 3, 17}) {
    const auto x = torch::randn({batch, 8});
    const auto out = runner_->run(info.session, {to_ort("X", x)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].name, "Y");
    EXPECT_EQ(out[0].shape, (std::vector<std::int64_t>{batch, 5}));
    EXPECT_LE(max_abs_diff(to_torch(out[0]), torch::addmm(b, x, w)), 1e-5) << "batch " << batch;
  }
}

TEST_F(RuntimeRunnerTest, LayerNormalizationMatchesLibtorch) {
  const auto gamma = torch::randn({16});
  const auto beta = torch::randn({16});
  ort_test::write_layer_norm(model("ln"), 16, floats_of(gamma), floats_of(beta), 1e-5f);
  const int s = runner_->load(model("ln")).session;
  const auto x = torch::randn({2, 7, 16}) * 3 + 1;
  const auto out = runner_->run(s, {to_ort("X", x)});
  ASSERT_EQ(out.size(), 1u);
  const auto expected = torch::layer_norm(x, {16}, gamma, beta, 1e-5);
  EXPECT_LE(max_abs_diff(to_torch(out[0]), expected), 1e-5);
}

TEST_F(RuntimeRunnerTest, GatherWithInt64AndInt32Indices) {
  const auto table = torch::randn({11, 6});
  ort_test::write_gather(model("g64"), 11, 6, floats_of(table), false);
  ort_test::write_gather(model("g32"), 11, 6, floats_of(table), true);
  const int s64 = runner_->load(model("g64")).session;
  const int s32 = runner_->load(model("g32")).session;
  const auto ids = torch::randint(0, 11, {3, 4}, torch::kInt64);
  const auto expected = torch::embedding(table, ids);
  const auto out64 = runner_->run(s64, {to_ort("ids", ids)});
  const auto out32 = runner_->run(s32, {to_ort("ids", ids.to(torch::kInt32))});
  EXPECT_EQ(out64[0].shape, (std::vector<std::int64_t>{3, 4, 6}));
  EXPECT_EQ(max_abs_diff(to_torch(out64[0]), expected), 0.0);
  EXPECT_EQ(max_abs_diff(to_torch(out32[0]), expected), 0.0);
}

TEST_F(RuntimeRunnerTest, Float16InputsAndOutputsRoundTrip) {
  ort_test::write_half_scale(model("half"));
  const int s = runner_->load(model("half")).session;
  const auto x = torch::randn({33}).to(torch::kFloat16);
  const auto out = runner_->run(s, {to_ort("X", x)});
  const auto& y16 = named(out, "Y16");
  const auto& y32 = named(out, "Y32");
  EXPECT_EQ(y16.dtype, OrtDtype::kFloat16);
  EXPECT_EQ(y32.dtype, OrtDtype::kFloat32);
  // Doubling is exact in both precisions: the half words must be identical.
  const auto expected16 = (x.to(torch::kFloat32) * 2).to(torch::kFloat16);
  EXPECT_TRUE(torch::equal(to_torch(y16), expected16));
  EXPECT_EQ(max_abs_diff(to_torch(y32), x.to(torch::kFloat32) * 2), 0.0);
  // Only the requested output.
  const auto only = runner_->run(s, {to_ort("X", x)}, {"Y32"});
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0].name, "Y32");
}

TEST_F(RuntimeRunnerTest, BoolInputsAndOutputs) {
  ort_test::write_where(model("where"));
  const int s = runner_->load(model("where")).session;
  const auto out = runner_->run(s, {OrtTensor::from_bool("cond", {4}, {true, false, false, true}),
                                    OrtTensor::from_float32("a", {4}, {1, 2, 3, 4}),
                                    OrtTensor::from_float32("b", {4}, {-1, -2, -3, -4})});
  EXPECT_EQ(named(out, "Y").float32(), (std::vector<float>{1, -2, -3, 4}));
  EXPECT_EQ(named(out, "notcond").boolean(), (std::vector<bool>{false, true, true, false}));
}

TEST_F(RuntimeRunnerTest, TimedProtocolReturnsTheRequestedRunsAndHatTrimming) {
  ort_test::write_affine(model("affine"), 64, 64, floats_of(torch::randn({64, 64})), floats_of(torch::randn({64})));
  const int s = runner_->load(model("affine")).session;
  OrtTimingProtocol p;
  p.warmups = 2;
  p.repeats = 11;
  p.trim_fraction = 0.1;
  const OrtTimings t = runner_->time(s, {to_ort("X", torch::randn({4, 64}))}, p);
  ASSERT_EQ(t.timings_ms.size(), 11u);
  for (double ms : t.timings_ms) {
    EXPECT_GT(ms, 0.0);
    EXPECT_LT(ms, 10000.0);
  }
  const TrimmedStats expected = trimmed_stats(t.timings_ms, 0.1);
  EXPECT_EQ(t.kept, expected.kept);
  EXPECT_EQ(t.kept, 9);  // 11 runs: floor(1.1) = 1 dropped at each end
  EXPECT_NEAR(t.mean_ms, expected.mean_ms, 1e-9);
  EXPECT_NEAR(t.std_ms, expected.std_ms, 1e-9);
  EXPECT_GT(t.mean_ms, 0.0);

  p.repeats = 1;  // a single run is kept
  EXPECT_EQ(runner_->time(s, {to_ort("X", torch::randn({1, 64}))}, p).kept, 1);
  p.repeats = 0;
  EXPECT_NE(message_of<RuntimeRunnerError>([&] { runner_->time(s, {to_ort("X", torch::randn({1, 64}))}, p); })
                .find("repeats"),
            std::string::npos);
}

TEST_F(RuntimeRunnerTest, EncoderOnceThenDecoderStepLoopInsideTheRunner) {
  const int vocab = 13, d = 8, src = 5, beam = 3, steps = 4;
  const auto embed = torch::randn({vocab, d});
  const auto w = torch::randn({d, d});
  const auto out_proj = torch::randn({d, vocab});
  ort_test::write_toy_encoder(model("enc"), vocab, d, floats_of(embed), floats_of(w));
  ort_test::write_toy_decoder_step(model("dec"), vocab, d, floats_of(embed), floats_of(out_proj));
  const int enc = runner_->load(model("enc")).session;
  const int dec = runner_->load(model("dec")).session;

  const auto src_tokens = torch::randint(4, vocab, {1, src}, torch::kInt64);
  const auto tgt_tokens = torch::randint(4, vocab, {steps, beam, 1}, torch::kInt64);
  OrtLoopRequest q;
  q.encoder_session = enc;
  q.encoder_inputs = {to_ort("tokens", src_tokens)};
  q.decoder_session = dec;
  q.decoder_inputs = {to_ort("past", torch::zeros({beam, 0, d}))};
  q.step_inputs = {to_ort("token", tgt_tokens)};
  q.steps = steps;
  q.from_encoder = {{"memory", "memory"}};
  q.replicate = beam;
  q.feedback = {{"present", "past"}};
  q.protocol.warmups = 1;
  q.protocol.repeats = 6;
  q.return_last_outputs = true;
  const OrtLoopResult r = runner_->time_loop(q);
  ASSERT_EQ(r.encoder.timings_ms.size(), 6u);
  ASSERT_EQ(r.decoder.timings_ms.size(), 6u);
  for (double ms : r.encoder.timings_ms) EXPECT_GT(ms, 0.0);
  for (double ms : r.decoder.timings_ms) EXPECT_GT(ms, 0.0);
  EXPECT_EQ(r.decoder.kept, trimmed_stats(r.decoder.timings_ms, 0.1).kept);
  EXPECT_NEAR(r.decoder.mean_ms, trimmed_stats(r.decoder.timings_ms, 0.1).mean_ms, 1e-9);

  // The loop's wiring: the last step's outputs equal libtorch's computation of the same loop,
  // and the C++-driven loop through run() gives the same.
  const auto memory = torch::matmul(torch::embedding(embed, src_tokens), w).repeat({beam, 1, 1});
  const auto ctx = memory.mean(1, /*keepdim=*/true);
  auto past = torch::zeros({beam, 0, d});
  auto past_ort = to_ort("past", past);
  const auto memory_ort = to_ort("memory", memory);
  torch::Tensor logits;
  std::vector<OrtTensor> stepped;
  for (int t = 0; t < steps; ++t) {
    const auto h = torch::embedding(embed, tgt_tokens[t]) + ctx;
    past = torch::cat({past, h}, 1);
    logits = torch::matmul(h, out_proj);
    stepped = runner_->run(dec, {to_ort("token", tgt_tokens[t]), past_ort, memory_ort});
    past_ort = named(stepped, "present");
    past_ort.name = "past";
  }
  const auto& present = named(r.last_outputs, "present");
  EXPECT_EQ(present.shape, (std::vector<std::int64_t>{beam, steps, d}));
  EXPECT_LE(max_abs_diff(to_torch(present), past), 1e-5);
  EXPECT_LE(max_abs_diff(to_torch(named(r.last_outputs, "logits")), logits), 1e-4);
  // Same graph, same inputs, but the memory is replicated inside the runner in one case and by
  // libtorch in the other: on AVX-512 machines ONNX Runtime's kernels may then take a differently
  // aligned path and round the mean differently (measured: 4.8e-7 on an AMD EPYC), so not bitwise.
  EXPECT_LE(max_abs_diff(to_torch(named(stepped, "present")), to_torch(present)), 1e-6);

  // Wiring errors are named.
  OrtLoopRequest bad = q;
  bad.feedback = {{"presentt", "past"}};
  EXPECT_NE(message_of<RuntimeRunnerError>([&] { runner_->time_loop(bad); }).find("\"presentt\""), std::string::npos);
  bad = q;
  bad.step_inputs = {to_ort("token", tgt_tokens.narrow(0, 0, 2))};
  EXPECT_NE(message_of<RuntimeRunnerError>([&] { runner_->time_loop(bad); }).find("decoder.steps"), std::string::npos);
}

TEST_F(RuntimeRunnerTest, ErrorsAreClearExceptionsAndTheRunnerStaysUsable) {
  ort_test::write_affine(model("affine"), 8, 5, floats_of(torch::randn({8, 5})), floats_of(torch::randn({5})));
  const std::string missing = tmp_->path() + "/missing.onnx";
  std::string m = message_of<RuntimeRunnerError>([&] { runner_->load(missing); });
  EXPECT_NE(m.find("missing.onnx"), std::string::npos) << m;

  const std::string garbage = tmp_->path() + "/garbage.onnx";
  std::ofstream(garbage) << "not a model";
  m = message_of<RuntimeRunnerError>([&] { runner_->load(garbage); });
  EXPECT_NE(m.find("garbage.onnx"), std::string::npos) << m;

  const int s = runner_->load(model("affine")).session;
  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {to_ort("Z", torch::randn({2, 8}))}); });
  EXPECT_NE(m.find("\"Z\""), std::string::npos) << m;
  EXPECT_NE(m.find("no input"), std::string::npos) << m;

  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {to_ort("X", torch::randn({2, 7}))}); });
  EXPECT_NE(m.find("\"X\""), std::string::npos) << m;
  EXPECT_NE(m.find("[2,7]"), std::string::npos) << m;
  EXPECT_NE(m.find("[\"batch\",8]"), std::string::npos) << m;

  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {to_ort("X", torch::ones({2, 8}, torch::kInt64))}); });
  EXPECT_NE(m.find("float32"), std::string::npos) << m;

  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {}); });
  EXPECT_NE(m.find("\"X\" is missing"), std::string::npos) << m;

  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {to_ort("X", torch::randn({2, 8}))}, {"nope"}); });
  EXPECT_NE(m.find("\"nope\""), std::string::npos) << m;

  // Still usable, then closed.
  EXPECT_EQ(runner_->run(s, {to_ort("X", torch::randn({2, 8}))})[0].shape, (std::vector<std::int64_t>{2, 5}));
  runner_->close(s);
  m = message_of<RuntimeRunnerError>([&] { runner_->run(s, {to_ort("X", torch::randn({2, 8}))}); });
  EXPECT_NE(m.find("no session"), std::string::npos) << m;
  EXPECT_TRUE(runner_->running());
}

TEST_F(RuntimeRunnerTest, TheRunnerProcessIsGoneAfterTheClient) {
  const pid_t pid = runner_->pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(process_exists(pid));
  runner_.reset();
  EXPECT_FALSE(process_exists(pid));

  // A runner killed under the client: the next request says so, and the client cleans up.
  RuntimeRunner second;
  const pid_t pid2 = second.pid();
  ::kill(pid2, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string m = message_of<std::runtime_error>([&] { second.load(model("none")); });
  EXPECT_NE(m.find("ORT runner"), std::string::npos) << m;
  EXPECT_FALSE(second.running());
  EXPECT_NE(message_of<std::runtime_error>([&] { second.load(model("none")); }).find("ORT runner"), std::string::npos);
}

#endif  // THANOS_ORT_TEST_GRAPHS

}  // namespace
}  // namespace thanos
