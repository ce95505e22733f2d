// Deployment paths of exported graphs (issue 9, docs/DEPLOY.md): .npy files that NumPy reads,
// `thanos eval --export` (the exported graphs in ONNX Runtime translated by the project's beam
// search) equal to `thanos eval --model` on the same SubTransformer, int8 calibration data for
// rknn-toolkit2 recorded from real translations, and the RKNN runtimes' honest absence here.
// Needs the ONNX Runtime runner (skipped with the reason otherwise) for everything but .npy.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"
#include "thanos/commands/prepare.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/export/export_sidecar.h"
#include "thanos/export/npy.h"
#include "thanos/export/runtime_runner.h"
#include "loopback_agent.h"
#include "thanos/export/rknn_check.h"
#include "thanos/export/rknn_backend.h"
#include "thanos/space/config_io.h"
#include "translation_fixture.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \n\r\t"), e = s.find_last_not_of(" \n\r\t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// ------------------------------------------------------------------ .npy

// Python with NumPy (Debian's, beside python3-torch), or "" when there is none.
std::string python_with_numpy() {
  for (const char* py : {"/usr/bin/python3", "python3"}) {
    if (std::system((std::string(py) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  }
  return "";
}

TEST(Npy, RoundTripsAndNumpyReadsTheSameValues) {
  TempDir dir("npy");
  const auto f32 = OrtTensor::from_float32("x", {2, 3}, {1.5f, -2.f, 3.25f, 0.f, 1e-3f, 7.f});
  const auto i64 = OrtTensor::from_int64("t", {1, 1}, {123456789012LL});
  const auto f16 = OrtTensor::from_float16_bits("h", {3}, {0x3C00, 0xC000, 0x3800});  // 1, -2, 0.5
  const auto scalar_row = OrtTensor::from_int64("s", {1}, {5});
  for (const OrtTensor* t : {&f32, &i64, &f16, &scalar_row}) {
    const std::string path = dir.path() + "/" + t->name + ".npy";
    write_npy(path, *t);
    const OrtTensor back = read_npy(path, t->name);
    EXPECT_EQ(back.dtype, t->dtype);
    EXPECT_EQ(back.shape, t->shape);
    EXPECT_EQ(back.bytes, t->bytes);
    EXPECT_EQ(fs::file_size(path) % 64, t->bytes.size() % 64);  // header padded to 64 bytes
  }
  EXPECT_THROW(read_npy(dir.path() + "/missing.npy"), std::invalid_argument);
  write_file_atomically(dir.path() + "/bad.npy", "not numpy");
  EXPECT_NE(testing::invalid_argument_message([&] { read_npy(dir.path() + "/bad.npy"); }).find("bad.npy"), std::string::npos);

  const std::string py = python_with_numpy();
  if (py.empty()) GTEST_SKIP() << "no Python with NumPy: the independent read is skipped";
  const std::string script = dir.path() + "/read.py";
  write_file_atomically(script, "import numpy as np, sys\n"
                                "d = sys.argv[1]\n"
                                "x = np.load(d + '/x.npy'); t = np.load(d + '/t.npy'); h = np.load(d + '/h.npy'); s = np.load(d + '/s.npy')\n"
                                "print(x.dtype, x.shape, x.tolist(), t.dtype, t.tolist(), h.dtype, h.tolist(), s.shape, s.tolist())\n");
  const auto r = run_process({py, script, dir.path()}, "", dir.path() + "/out.txt");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(trimmed(read_text_file(dir.path() + "/out.txt")),
            "float32 (2, 3) [[1.5, -2.0, 3.25], [0.0, 0.0010000000474974513, 7.0]] int64 [[123456789012]] float16 "
            "[1.0, -2.0, 0.5] (1,) [5]");
}

// ------------------------------------------------------------------ exports in runtimes

class Deploy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!runtime_runner_unavailable_reason().empty()) return;
    dir_ = new std::string(::testing::TempDir() + "/thanos_deploy_" + std::to_string(::getpid()));
    testing::build_translation_fixture(*dir_);
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    const std::string why = runtime_runner_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
  static std::string dir() { return *dir_; }
  static std::string* dir_;
};
std::string* Deploy::dir_ = nullptr;

// The exported graphs, dynamic and static, translate the test split exactly as the model does.
TEST_F(Deploy, EvalOfTheExportEqualsEvalOfTheModel) {
  const std::string gen = " --beam 4 --lenpen 0.6 --max-len-b 12 --json";
  const auto model = run_cli("eval --model " + dir() + "/sub.pt --data " + dir() + "/prepared --output " + dir() + "/model.hyp" + gen);
  ASSERT_EQ(model.code, 0) << model.output;
  for (const std::string mode : {"dynamic", "static"}) {
    SCOPED_TRACE(mode);
    const std::string out = dir() + "/export_" + mode;
    const auto ex = run_cli("export --checkpoint " + dir() + "/sub.pt --out " + out + (mode == "static" ? " --static 40,16" : ""));
    ASSERT_EQ(ex.code, 0) << ex.output;
    const auto exported = run_cli("eval --export " + out + " --data " + dir() + "/prepared --output " + out + ".hyp" + gen);
    ASSERT_EQ(exported.code, 0) << exported.output;
    EXPECT_EQ(read_text_file(out + ".hyp"), read_text_file(dir() + "/model.hyp"));
    EXPECT_EQ(testing::last_json(exported.output)["bleu"]["score"], testing::last_json(model.output)["bleu"]["score"]);
    EXPECT_NE(testing::last_json(exported.output)["config"].get<std::string>().find("[ort, " + mode), std::string::npos) << exported.output;
  }
}

// Text in, text out: `translate --export` (sentencepiece, the graphs, the host-side search,
// detokenisation: the path a board runs with --runtime rknn) equals `translate --model`.
TEST_F(Deploy, TranslateWithTheExportEqualsTheModel) {
  const std::string out = dir() + "/export_translate";
  ASSERT_EQ(run_cli("export --checkpoint " + dir() + "/sub.pt --out " + out + " --static 40,16").code, 0);
  const std::string common = " --data " + dir() + "/prepared --input " + dir() + "/prepared/test.raw.en --beam 4 --max-len-b 12 --output ";
  const auto model = run_cli("translate --model " + dir() + "/sub.pt" + common + dir() + "/model.txt");
  ASSERT_EQ(model.code, 0) << model.output;
  const auto exported = run_cli("translate --export " + out + common + dir() + "/export.txt");
  ASSERT_EQ(exported.code, 0) << exported.output;
  EXPECT_EQ(read_text_file(dir() + "/export.txt"), read_text_file(dir() + "/model.txt"));
  EXPECT_EQ(split_lines(read_text_file(dir() + "/export.txt"), false).size(), 15u);
  const auto both = run_cli("translate --model " + dir() + "/sub.pt --export " + out + common + dir() + "/x.txt");
  EXPECT_NE(both.code, 0);
}

TEST_F(Deploy, CalibrationDataAreRealInputsOfEachStaticGraph) {
  const std::string out = dir() + "/export_calibrated";
  const auto ex = run_cli("export --checkpoint " + dir() + "/sub.pt --out " + out + " --static 24,16 --calibration-data " + dir() +
                          "/prepared --calibration-sentences 5");
  ASSERT_EQ(ex.code, 0) << ex.output;
  EXPECT_NE(ex.output.find("calibration: 5 encoder and"), std::string::npos) << ex.output;
  const ExportSidecar sidecar = read_sidecar(out + "/thanos_export.json");
  const auto manifest = load_prepared_manifest(dir() + "/prepared");
  const BinarizedSplit valid = load_binarized(dir() + "/prepared/" + manifest["splits"]["valid"]["file"].get<std::string>());

  // Encoder: one line per sentence that fits the export (the first five such of the split), its
  // tokens padded to the export's length.
  const auto enc_lines = split_lines(read_text_file(out + "/calibration/encoder.txt"), false);
  ASSERT_EQ(enc_lines.size(), 5u);
  std::vector<std::size_t> fitting;
  for (std::size_t i = 0; i < valid.size() && fitting.size() < 5; ++i) {
    if (valid.src_len(i) <= 24) fitting.push_back(i);
  }
  ASSERT_EQ(fitting.size(), 5u);
  for (std::size_t n = 0; n < enc_lines.size(); ++n) {
    const std::size_t i = fitting[n];
    const OrtTensor src = read_npy(trimmed(enc_lines[n]));
    ASSERT_EQ(src.shape, (std::vector<int64_t>{1, 24}));
    const auto ids = src.int64();
    for (std::size_t k = 0; k < 24; ++k) {
      const int64_t expected = k < valid.src_len(i) ? valid.src(i)[k] : kPadId;
      ASSERT_EQ(ids[k], expected) << "sentence " << i << " position " << k;
    }
  }
  // Decoder: up to 4 samples per sentence, every input in the graph's order with its static shape;
  // each sentence's first sample is step 0 fed </s>, with empty caches.
  const auto dec_lines = split_lines(read_text_file(out + "/calibration/decoder_step.txt"), false);
  ASSERT_GE(dec_lines.size(), 5u);
  ASSERT_LE(dec_lines.size(), 20u);
  int first_steps = 0;
  for (const auto& line : dec_lines) {
    std::vector<std::string> files;
    std::istringstream words(line);
    for (std::string f; words >> f;) files.push_back(f);
    ASSERT_EQ(files.size(), sidecar.decoder.inputs.size()) << line;
    int64_t step = -1;
    for (std::size_t j = 0; j < files.size(); ++j) {
      const auto& spec = sidecar.decoder.inputs[j];
      ASSERT_NE(files[j].find("_" + spec.name + ".npy"), std::string::npos) << files[j] << " for input " << spec.name;
      const OrtTensor t = read_npy(files[j]);
      ASSERT_EQ(t.shape.size(), spec.dims.size()) << spec.name;
      for (std::size_t d = 0; d < spec.dims.size(); ++d) EXPECT_EQ(std::to_string(t.shape[d]), spec.dims[d]) << spec.name;
      if (spec.name == "step") step = t.int64().at(0);
      if (spec.name == "prev_token" && step == 0) {
        EXPECT_EQ(t.int64().at(0), kEosId);
      }
    }
    first_steps += step == 0;
  }
  EXPECT_EQ(first_steps, 5);
  EXPECT_FALSE(fs::exists(out + "/calibration.partial"));

  // A dynamic export cannot be calibrated for the NPU: said before anything is written.
  const auto dynamic = run_cli("export --checkpoint " + dir() + "/sub.pt --out " + dir() + "/dyn_cal --calibration-data " + dir() +
                               "/prepared");
  EXPECT_NE(dynamic.code, 0);
  EXPECT_NE(dynamic.output.find("--static"), std::string::npos) << dynamic.output;
  EXPECT_FALSE(fs::exists(dir() + "/dyn_cal"));
}

// No Rockchip toolkit on this machine: asking for its simulator says what to install, and nothing
// pretends to have run an NPU.
TEST_F(Deploy, RknnSimulatorWithoutRockchipsToolkitSaysWhatToInstall) {
  const std::string out = dir() + "/export_static_rknn";
  ASSERT_EQ(run_cli("export --checkpoint " + dir() + "/sub.pt --out " + out + " --static 24,16").code, 0);
  const auto r = run_cli("eval --export " + out + " --data " + dir() + "/prepared --runtime rknn-sim --python /usr/bin/python3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("rknn-toolkit2"), std::string::npos) << r.output;
  const auto board = run_cli("eval --export " + out + " --data " + dir() + "/prepared --runtime rknn --python /usr/bin/python3");
  EXPECT_NE(board.code, 0);
  EXPECT_NE(board.output.find("rknn-toolkit-lite2"), std::string::npos) << board.output;
}

// ------------------------------------------------------------------ the NPU measurement path

MeasureRequest npu_request(int tgt_len = 8, int vocab = 300) {
  MeasureRequest r;
  r.config.encoder_embed_dim = r.config.decoder_embed_dim = 64;
  r.config.encoder_layers.push_back({128, 4, 64});
  r.config.decoder_layers.push_back({128, 4, 64, 4, 64, 1});
  r.protocol = latency_protocol_preset("quick");
  r.protocol.src_len = 12;
  r.protocol.tgt_len = tgt_len;
  r.protocol.vocab_size = vocab;
  r.protocol.dtype = "float16";
  r.run.device = "rknn";
  return r;
}

TEST(RknnBackend, CacheKeySeparatesWhatChangesTheConvertedModel) {
  const std::string base = rknn_cache_key(npu_request());
  EXPECT_EQ(rknn_cache_key(npu_request()), base);
  EXPECT_NE(rknn_cache_key(npu_request(9)), base);
  EXPECT_NE(rknn_cache_key(npu_request(8, 301)), base);
  MeasureRequest other = npu_request();
  other.config.decoder_layers[0].ffn_dim = 64;
  EXPECT_NE(rknn_cache_key(other), base);
  MeasureRequest pre = npu_request();
  pre.hyper.encoder_normalize_before = !pre.hyper.encoder_normalize_before;
  EXPECT_NE(rknn_cache_key(pre), base);
}

// Without Rockchip's toolkit (this machine): the static export of the candidate is written and is
// clean for the RK3588 (rknn-check), and the conversion step says what to install.
TEST(RknnBackend, WithoutRockchipsToolkitExportsCleanGraphsAndSaysWhatToInstall) {
  TempDir cache("rknn-cache");
  RknnBackend backend(RknnBackendOptions{"/usr/bin/python3", cache.path(), "auto"});
  const MeasureRequest r = npu_request();
  std::string message;
  try {
    backend.measure(r);
    FAIL() << "measured on an NPU that is not there";
  } catch (const RuntimeRunnerUnavailable& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("rknn-toolkit2"), std::string::npos) << message;
  const std::string entry = cache.path() + "/" + rknn_cache_key(r);
  for (const char* graph : {"/encoder.onnx", "/decoder_step.onnx"}) {
    const RknnCheckReport report = rknn_check_file(entry + graph);
    EXPECT_TRUE(report.findings.empty()) << graph << ": " << format_rknn_report_table({report});
  }
  EXPECT_EQ(read_sidecar(entry + "/thanos_export.json").static_tgt_len, 8);
  EXPECT_FALSE(fs::exists(entry + "/rknn-fp16/thanos_export.json"));  // nothing pretends to be converted

  MeasureRequest cpu = npu_request();
  cpu.run.device = "cpu";
  EXPECT_THROW(backend.measure(cpu), std::invalid_argument);
  MeasureRequest f32 = npu_request();
  f32.protocol.dtype = "float32";
  EXPECT_NE(testing::invalid_argument_message([&] { backend.measure(f32); }).find("float16"), std::string::npos);
}

// `measure --backend rknn` reaches the agent's NPU backend (started with --rknn), whose missing
// toolkit comes back as the agent's failure, naming it.
TEST(RknnBackend, MeasureThroughAnAgentReachesItsNpuBackend) {
  TempDir dir("rknn-agent");
  testing::LoopbackAgent agent(dir.path(), "--rknn --python /usr/bin/python3 --rknn-cache " + dir.path() + "/cache");
  ASSERT_FALSE(agent.address().empty()) << agent.log();
  write_file_atomically(dir.path() + "/sub.yml", config_to_yaml(npu_request().config));
  const auto r = run_cli("measure --config " + dir.path() + "/sub.yml --device remote://" + agent.address() + " --token-file " +
                         agent.token_file() + " --backend rknn --protocol quick --dtype float16 --vocab-size 300");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("rknn-toolkit2"), std::string::npos) << r.output << agent.log();
  const auto bad = run_cli("measure --config " + dir.path() + "/sub.yml --device cpu --backend rknn --protocol quick");
  EXPECT_NE(bad.output.find("only with --device remote://"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace thanos
