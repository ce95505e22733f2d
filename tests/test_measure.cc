// The latency protocol and the in-process backend (docs/MEASUREMENT.md).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "test_util.h"
#include "thanos/hw/host_info.h"
#include "thanos/hw/in_process_backend.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/space/sampler.h"

namespace thanos {
namespace {

// HAT's rule written as its Python does: sorted(t)[int(n*0.1) : -max(1, int(n*0.1))].
std::vector<double> hat_slice(std::vector<double> t, double trim) {
  std::sort(t.begin(), t.end());
  const int n = static_cast<int>(t.size());
  const int lo = static_cast<int>(n * trim);
  const int hi = std::max(1, static_cast<int>(n * trim));
  return std::vector<double>(t.begin() + lo, t.end() - hi);
}

TEST(LatencyProtocol, TrimmedStatsFollowHatsSlicing) {
  for (int n : {2, 5, 10, 20, 23, 300}) {
    std::vector<double> t(n);
    for (int i = 0; i < n; ++i) t[i] = std::fmod(i * 7.31, 13.0) + (i % 3 == 0 ? 100.0 : 0.0);
    const auto kept = hat_slice(t, 0.1);
    const double mean = std::accumulate(kept.begin(), kept.end(), 0.0) / kept.size();
    double sq = 0;
    for (double x : kept) sq += (x - mean) * (x - mean);
    const auto s = trimmed_stats(t, 0.1);
    EXPECT_EQ(s.kept, static_cast<int>(kept.size())) << n;
    EXPECT_NEAR(s.mean_ms, mean, 1e-12) << n;
    EXPECT_NEAR(s.std_ms, std::sqrt(sq / kept.size()), 1e-12) << n;
  }
  // One run is kept as it is (HAT's slice would be empty).
  const auto one = trimmed_stats({4.5}, 0.1);
  EXPECT_EQ(one.kept, 1);
  EXPECT_EQ(one.mean_ms, 4.5);
  EXPECT_EQ(one.std_ms, 0.0);
  // 20 runs drop 2 at each end: an outlier run does not move the mean.
  std::vector<double> runs(20, 10.0);
  runs[3] = 1000.0;
  runs[7] = 0.1;
  EXPECT_EQ(trimmed_stats(runs, 0.1).mean_ms, 10.0);
}

TEST(LatencyProtocol, PresetsAndHash) {
  const auto wmt = latency_protocol_preset("hat-wmt");
  EXPECT_EQ(wmt.src_len, 30);
  EXPECT_EQ(wmt.tgt_len, 30);
  EXPECT_EQ(wmt.beam, 5);
  EXPECT_EQ(wmt.warmups, 5);
  EXPECT_EQ(wmt.repeats, 20);
  const auto iwslt = latency_protocol_preset("hat-iwslt");
  EXPECT_EQ(iwslt.src_len, 23);
  EXPECT_EQ(iwslt.tgt_len, 23);
  EXPECT_NE(wmt.hash_hex(), iwslt.hash_hex());
  // The name is a label: equal settings give equal hashes.
  auto renamed = wmt;
  renamed.name = "mine";
  EXPECT_EQ(renamed.hash_hex(), wmt.hash_hex());
  // Every setting that changes a figure changes the hash.
  auto changed = wmt;
  changed.vocab_size += 1;
  EXPECT_NE(changed.hash_hex(), wmt.hash_hex());
  changed = wmt;
  changed.dtype = "float16";
  EXPECT_NE(changed.hash_hex(), wmt.hash_hex());
  try {
    latency_protocol_preset("hat-wmt16");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("hat-iwslt"), std::string::npos) << e.what();
  }
  auto bad = wmt;
  bad.trim_fraction = 0.5;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = wmt;
  bad.beam = 0;
  try {
    bad.validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("protocol.beam"), std::string::npos) << e.what();
  }
}

MeasureRequest tiny_request() {
  MeasureRequest r;
  const auto space = testing::tiny_space();
  r.config = space.largest();
  r.hyper = space.hyper;
  r.protocol = latency_protocol_preset("quick");
  r.protocol.vocab_size = 500;
  r.run.threads = 1;
  return r;
}

TEST(InProcessBackend, MeasuresEveryField) {
  const auto r = tiny_request();
  const Measurement m = measure_in_process(r);
  EXPECT_TRUE(m.feasible);
  EXPECT_GT(m.encoder_mean_ms, 0);
  EXPECT_GT(m.decoder_mean_ms, 0);
  EXPECT_GE(m.encoder_std_ms, 0);
  EXPECT_GE(m.decoder_std_ms, 0);
  EXPECT_TRUE(std::isfinite(m.peak_memory_mib));
  EXPECT_GE(m.peak_memory_mib, 0);
  EXPECT_EQ(m.memory_kind, memory_kind::kRssPeak);
  EXPECT_GT(m.baseline_memory_mib, 0);
  EXPECT_EQ(m.backend, "cpu");
  EXPECT_EQ(m.threads, 1);
  EXPECT_GE(m.interop_threads, 1);
  EXPECT_EQ(m.dtype, "float32");
  EXPECT_FALSE(m.host.empty());
  EXPECT_NE(m.library_versions.find("libtorch"), std::string::npos);
  EXPECT_GT(m.wall_s, 0);
  // The decoder generates tgt_len tokens for 5 beams; the encoder runs once: with these
  // lengths the decoder's work is several times the encoder's.
  EXPECT_LT(m.encoder_mean_ms, m.decoder_mean_ms);
}

TEST(InProcessBackend, ClearErrors) {
  auto r = tiny_request();
  r.run.device = "tpu";
  try {
    measure_in_process(r);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("run.device"), std::string::npos) << e.what();
  }
  r = tiny_request();
  r.protocol.dtype = "float16";
  EXPECT_THROW(measure_in_process(r), std::invalid_argument);
  r = tiny_request();
  r.config.encoder_layers[0].self_qkv_dim = 30;  // not divisible by 4 heads
  EXPECT_THROW(measure_in_process(r), std::invalid_argument);
  std::string why;
  if (!device_available("cuda", &why)) {
    EXPECT_NE(why.find("cuda"), std::string::npos);
    r = tiny_request();
    r.run.device = "cuda";
    try {
      measure_in_process(r);
      FAIL();
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), why);
    }
  }
}

// Where a GPU is visible (a CUDA build on the GPU check machine): the same request on cuda.
TEST(InProcessBackend, CudaWhenAvailable) {
  if (!device_available("cuda")) GTEST_SKIP() << "no CUDA in this build or no GPU visible";
  auto r = tiny_request();
  r.run.device = "cuda";
  const Measurement m = measure_in_process(r);
  EXPECT_EQ(m.memory_kind, memory_kind::kCudaAllocatorPeak);
  EXPECT_GT(m.peak_memory_mib, 0);
  EXPECT_GT(m.decoder_mean_ms, 0);
  r.protocol.dtype = "float16";
  const Measurement half = measure_in_process(r);
  EXPECT_GT(half.decoder_mean_ms, 0);
  EXPECT_LT(half.peak_memory_mib, m.peak_memory_mib);
}

TEST(HostInfo, ReadsThisProcess) {
  EXPECT_GT(proc_status_mib("VmRSS"), 0);
  EXPECT_GE(proc_status_mib("VmHWM"), proc_status_mib("VmRSS") - 1);
  EXPECT_TRUE(std::isnan(proc_status_mib("NoSuchField")));
  EXPECT_FALSE(host_name().empty());
  EXPECT_FALSE(cpu_model_name().empty());
}

}  // namespace
}  // namespace thanos
