// `--device ort-cpu` (issue 9, docs/MEASUREMENT.md, docs/ORT.md): HAT's protocol run inside the
// ONNX Runtime runner on the exported graphs of the measured SubTransformer. Checked against what
// must hold whatever the machine: the decoder loop really runs tgt_len steps (time grows with
// them), the peak memory grows with the weights by at least their size, a memory cap kills the
// runner and makes the candidate infeasible, the dataset path records ort-cpu rows. Skipped, with
// the reason, when Node.js or tools/ort_runner/node_modules is missing.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "thanos/common/csv.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/export/runtime_runner.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/export/ort_backend.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

using testing::last_json;
using testing::one_layer_config;
using testing::run_cli;

class OrtBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = runtime_runner_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

MeasureRequest request(int tgt_len, int vocab) {
  MeasureRequest r;
  r.config = one_layer_config();
  r.protocol = latency_protocol_preset("quick");
  r.protocol.tgt_len = tgt_len;
  r.protocol.vocab_size = vocab;
  r.protocol.beam = 2;
  return r;
}

TEST_F(OrtBackendTest, MeasuresHatsProtocolInOnnxRuntime) {
  OrtBackend backend;
  const Measurement shortm = backend.measure(request(4, 300));
  const Measurement longm = backend.measure(request(32, 300));
  for (const Measurement* m : {&shortm, &longm}) {
    ASSERT_TRUE(m->feasible) << m->infeasible_reason;
    EXPECT_EQ(m->backend, "ort-cpu");
    EXPECT_EQ(m->memory_kind, memory_kind::kRssPeak);
    EXPECT_NE(m->library_versions.find("onnxruntime 1."), std::string::npos) << m->library_versions;
    EXPECT_GT(m->encoder_mean_ms, 0);
    EXPECT_GT(m->decoder_mean_ms, 0);
    EXPECT_GT(m->peak_memory_mib, 0);
    EXPECT_GT(m->baseline_memory_mib, 0);
    EXPECT_EQ(m->threads, 1);
  }
  // 8x the decoder steps: the loop really runs them (at least 3x the time, whatever the load).
  EXPECT_GT(longm.decoder_mean_ms, 3 * shortm.decoder_mean_ms)
      << shortm.decoder_mean_ms << " ms for 4 steps, " << longm.decoder_mean_ms << " ms for 32";
  std::printf("[ OrtBackend ] decoder %.3f ms (4 steps) -> %.3f ms (32 steps); encoder %.3f ms; peak %.1f MiB over %.1f MiB\n",
              shortm.decoder_mean_ms, longm.decoder_mean_ms, longm.encoder_mean_ms, longm.peak_memory_mib,
              longm.baseline_memory_mib);

  MeasureRequest bad = request(4, 300);
  bad.protocol.dtype = "bfloat16";
  EXPECT_THROW(backend.measure(bad), std::invalid_argument);
}

// ~117 MiB more weights (three 256-wide tables of 40000 rows, nothing shared): the runner's peak
// grows by at least that much (ONNX Runtime may also keep pre-packed copies, so not at most).
TEST_F(OrtBackendTest, PeakMemoryFollowsTheWeights) {
  OrtBackend backend;
  const Measurement small = backend.measure(request(4, 1000));
  const Measurement large = backend.measure(request(4, 40000));
  ASSERT_TRUE(small.feasible && large.feasible);
  const double weights_delta = 3.0 * (40000 - 1000) * 256 * 4 / 1048576.0;
  const double measured_delta = large.peak_memory_mib - small.peak_memory_mib;
  std::printf("[ OrtBackend ] peak %.1f -> %.1f MiB: +%.1f MiB for +%.1f MiB of weights\n", small.peak_memory_mib,
              large.peak_memory_mib, measured_delta, weights_delta);
  EXPECT_GT(measured_delta, 0.9 * weights_delta);
  EXPECT_LT(measured_delta, 3.0 * weights_delta);
}

TEST_F(OrtBackendTest, MemoryCapMakesACandidateInfeasible) {
  OrtBackend backend;
  const Measurement small = backend.measure(request(4, 300));
  ASSERT_TRUE(small.feasible);
  // The cap bounds the runner's whole resident set: its runtime plus 40 MiB, for ~117 MiB of weights.
  MeasureRequest r = request(4, 40000);
  r.run.memory_cap_mib = small.baseline_memory_mib + 40;
  const Measurement m = backend.measure(r);
  EXPECT_FALSE(m.feasible);
  EXPECT_NE(m.infeasible_reason.find("memory cap"), std::string::npos) << m.infeasible_reason;
  EXPECT_EQ(m.cap_mechanism, cap_mechanism::kRssWatchdog);
}

TEST_F(OrtBackendTest, MeasureCliBuildsAnOrtDataset) {
  TempDir dir("ort-measure-cli");
  const std::string space = dir.path() + "/space.yml", csv = dir.path() + "/lat.csv", cfg = dir.path() + "/sub.yml";
  write_file_atomically(space, search_space_to_yaml(testing::tiny_space()));
  write_file_atomically(cfg, config_to_yaml(one_layer_config()));
  const auto one = run_cli("--threads 1 measure --config " + cfg + " --device ort-cpu --protocol quick --vocab-size 300 --json");
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_EQ(last_json(one.output)["backend"], "ort-cpu");
  const auto r = run_cli("--threads 1 measure --space " + space + " --device ort-cpu --samples 1 --out " + csv +
                         " --protocol quick --vocab-size 300 --drift-tolerance 1000");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto lines = split_lines(read_text_file(csv), false);
  ASSERT_EQ(lines.size(), 4u) << r.output;  // header, smallest, largest, 1 sample
  const auto& cols = dataset_columns();
  const auto backend_col = std::find(cols.begin(), cols.end(), "backend") - cols.begin();
  for (std::size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(split_csv_line(lines[i]).at(backend_col), "ort-cpu") << lines[i];
}

}  // namespace
}  // namespace thanos
