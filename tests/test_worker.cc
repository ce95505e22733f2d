// Isolated measurement workers: the supervisor (memory cap, timeout, crash reasons) with a tiny
// torch-free program, then `thanos measure-worker` and the isolated backend end to end.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "test_util.h"
#include "thanos/common/process.h"
#include "thanos/common/temp_dir.h"
#include "thanos/hw/isolated_backend.h"
#include "thanos/hw/latency_protocol.h"
#include "thanos/hw/measurement_json.h"
#include "thanos/hw/worker_process.h"

namespace thanos {
namespace {

using Ending = WorkerResult::Ending;

std::vector<std::string> hog(std::vector<std::string> args) {
  args.insert(args.begin(), THANOS_MEMORY_HOG);
  return args;
}

WorkerOptions capped(double mib, CapMode mode) {
  WorkerOptions o;
  o.memory_cap_mib = mib;
  o.cap_mode = mode;
  o.timeout_s = 60;  // a broken cap must not hang the suite
  return o;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }


// ------------------------------------------------------------------------------ the supervisor

TEST(WorkerProcess, FeedsStdinAndCollectsOutput) {
  // More than a pipe's buffer in each direction: the supervisor must interleave.
  std::string input;
  for (int i = 0; input.size() < 300000; ++i) input += "line " + std::to_string(i) + "\n";
  const WorkerResult r = run_worker(hog({"--echo-stdin", "--stderr", "a note"}), input);
  EXPECT_TRUE(r.succeeded());
  EXPECT_EQ(r.ending, Ending::kExited);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, input);
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_TRUE(contains(r.stderr_text, "a note"));
  EXPECT_EQ(r.cap_mechanism, "none");
  EXPECT_EQ(r.failure_reason(), "");
  EXPECT_GT(r.wall_s, 0);
}

TEST(WorkerProcess, NonZeroExitGivesTheStderrTail) {
  const WorkerResult r = run_worker(hog({"--stderr", "boom: the thing failed", "--exit", "3"}), "");
  EXPECT_FALSE(r.succeeded());
  EXPECT_EQ(r.ending, Ending::kExited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.failure_reason(), "failed (exit 3): boom: the thing failed");
}

TEST(WorkerProcess, CrashBySignalNamesTheSignal) {
  const WorkerResult r = run_worker(hog({"--signal", std::to_string(SIGSEGV)}), "");
  EXPECT_EQ(r.ending, Ending::kSignaled);
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.failure_reason().rfind("crashed: signal 11 (Segmentation fault)", 0), 0u) << r.failure_reason();
}

TEST(WorkerProcess, TimeoutKillsTheWorker) {
  WorkerOptions o;
  o.timeout_s = 0.3;
  const WorkerResult r = run_worker(hog({"--sleep-ms", "30000"}), "", o);
  EXPECT_EQ(r.ending, Ending::kTimedOut);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.failure_reason(), "timed out after 0.3 s");
  EXPECT_GE(r.wall_s, 0.3);
  EXPECT_LT(r.wall_s, 10);
}

TEST(WorkerProcess, WatchdogLetsAWorkerUnderTheCapFinish) {
  const WorkerResult r = run_worker(hog({"--mib", "20"}), "", capped(256, CapMode::kWatchdog));
  EXPECT_TRUE(r.succeeded()) << r.failure_reason();
  EXPECT_TRUE(contains(r.stdout_text, "allocated 20 MiB"));
  EXPECT_EQ(r.cap_mechanism, "rss-watchdog");
  EXPECT_EQ(r.memory_cap_mib, 256);
  ASSERT_TRUE(std::isfinite(r.peak_rss_mib));
  EXPECT_GE(r.peak_rss_mib, 20);
  EXPECT_LT(r.peak_rss_mib, 256);
}

TEST(WorkerProcess, WatchdogKillsAtTheCap) {
  // 1 MiB per millisecond: the 2 ms watchdog stops it within a few MiB of the cap.
  const WorkerResult r = run_worker(hog({"--mib", "400", "--step-ms", "1"}), "", capped(100, CapMode::kWatchdog));
  EXPECT_EQ(r.ending, Ending::kMemoryCap);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_EQ(r.cap_mechanism, "rss-watchdog");
  EXPECT_GE(r.peak_rss_mib, 100);
  // Typically within a few MiB; the slack allows a watchdog starved for tens of ms on a loaded CI
  // machine while still proving the worker was stopped long before its 400 MiB.
  EXPECT_LT(r.peak_rss_mib, 200);
  const std::string reason = r.failure_reason();
  EXPECT_EQ(reason.rfind("killed by the memory cap of 100 MiB (rss-watchdog; VmRSS reached ", 0), 0u) << reason;
  EXPECT_FALSE(contains(r.stdout_text, "allocated"));
}

TEST(WorkerProcess, WatchdogCatchesAFastAllocator) {
  // memset at memory speed: the kill comes late by what it touches in ~2 ms, far below 2 GiB.
  const WorkerResult r = run_worker(hog({"--mib", "2048"}), "", capped(64, CapMode::kWatchdog));
  EXPECT_EQ(r.ending, Ending::kMemoryCap);
  EXPECT_GE(r.peak_rss_mib, 64);
  EXPECT_LT(r.peak_rss_mib, 1024);
  EXPECT_FALSE(contains(r.stdout_text, "allocated"));
}

TEST(WorkerProcess, EnvironmentForcesTheWatchdog) {
  testing::ScopedEnv env("THANOS_MEMORY_CAP", "watchdog");
  const WorkerResult r = run_worker(hog({"--mib", "200"}), "", capped(50, CapMode::kAuto));
  EXPECT_EQ(r.cap_mechanism, "rss-watchdog");
  EXPECT_EQ(r.ending, Ending::kMemoryCap);
}

TEST(WorkerProcess, EnvironmentRejectsAnUnknownMechanism) {
  testing::ScopedEnv env("THANOS_MEMORY_CAP", "rlimit");
  const std::string msg =
      testing::invalid_argument_message([] { run_worker(hog({}), "", capped(50, CapMode::kAuto)); });
  EXPECT_TRUE(contains(msg, "THANOS_MEMORY_CAP")) << msg;
  EXPECT_TRUE(contains(msg, "watchdog")) << msg;
  EXPECT_EQ(cap_mode_from_string("cgroup"), CapMode::kCgroup);
  EXPECT_EQ(to_string(CapMode::kWatchdog), "watchdog");
}

TEST(WorkerProcess, AutoUsesTheCgroupWhereUsableElseTheWatchdog) {
  const CgroupSupport& support = cgroup_memory_support();
  EXPECT_EQ(support.usable, support.why_not.empty()) << support.why_not;
  const WorkerResult r = run_worker(hog({"--mib", "10"}), "", capped(128, CapMode::kAuto));
  EXPECT_TRUE(r.succeeded()) << r.failure_reason();
  EXPECT_EQ(r.cap_mechanism, support.usable ? "cgroup-v2" : "rss-watchdog") << support.why_not;
}

TEST(WorkerProcess, CgroupCapKillsAtTheCap) {
  const CgroupSupport& support = cgroup_memory_support();
  if (!support.usable) GTEST_SKIP() << "cgroup v2 memory cap not usable here: " << support.why_not;
  const WorkerResult ok = run_worker(hog({"--mib", "20"}), "", capped(128, CapMode::kCgroup));
  EXPECT_TRUE(ok.succeeded()) << ok.failure_reason();
  EXPECT_EQ(ok.cap_mechanism, "cgroup-v2");
  const WorkerResult r = run_worker(hog({"--mib", "400"}), "", capped(100, CapMode::kCgroup));
  EXPECT_EQ(r.ending, Ending::kMemoryCap) << r.failure_reason();
  EXPECT_EQ(r.cap_mechanism, "cgroup-v2");
  EXPECT_EQ(r.failure_reason().rfind("killed by the memory cap of 100 MiB (cgroup-v2 memory.max; OOM kill", 0), 0u)
      << r.failure_reason();
}

TEST(WorkerProcess, ForcingAnUnusableCgroupThrows) {
  const CgroupSupport& support = cgroup_memory_support();
  if (support.usable) GTEST_SKIP() << "the cgroup v2 cap is usable here";
  try {
    run_worker(hog({}), "", capped(100, CapMode::kCgroup));
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), support.why_not)) << e.what();
  }
}

TEST(WorkerProcess, AProgramThatCannotStartThrows) {
  try {
    run_worker({"/nonexistent/thanos-worker"}, "x");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "/nonexistent/thanos-worker")) << e.what();
  }
}

TEST(WorkerProcess, CurrentExecutable) {
  const std::string self = current_executable_path();
  EXPECT_EQ(self.front(), '/');
  EXPECT_TRUE(contains(self, "thanos_unit_tests")) << self;  // this test's executable
}

// ---------------------------------------------------------------------- thanos measure-worker

// A SubTransformer small enough to measure in a second: embed 64, 1 + 1 layers, ffn 128.
MeasureRequest tiny_request() {
  MeasureRequest r;
  r.config.encoder_embed_dim = r.config.decoder_embed_dim = 64;
  r.config.encoder_layers = {{128, 2, 64}};
  r.config.decoder_layers = {{128, 2, 64, 2, 64, 1}};
  r.protocol = latency_protocol_preset("quick");
  r.protocol.vocab_size = 1000;
  r.run.device = "cpu";
  r.run.threads = 1;
  r.run.interop_threads = 1;
  return r;
}

// Its weights alone are ~780 MiB (two 200000 x 512 float32 embedding tables).
MeasureRequest big_request() {
  MeasureRequest r = tiny_request();
  r.config.encoder_embed_dim = r.config.decoder_embed_dim = 512;
  r.config.encoder_layers = {{1024, 8, 512}};
  r.config.decoder_layers = {{1024, 8, 512, 8, 512, 1}};
  r.protocol.vocab_size = 200000;
  return r;
}

TEST(WorkerCommand, HiddenFromHelp) {
  const auto r = testing::run_cli("--help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_FALSE(contains(r.output, "measure-worker")) << r.output;
}

TEST(WorkerCommand, BadRequestsExitTwoNamingTheProblem) {
  const WorkerResult garbage = run_worker({THANOS_BINARY, "measure-worker"}, "this is not json");
  EXPECT_EQ(garbage.exit_code, 2) << garbage.stderr_text;
  EXPECT_TRUE(contains(garbage.stderr_text, "not JSON")) << garbage.stderr_text;
  const WorkerResult deep = run_worker({THANOS_BINARY, "measure-worker"}, std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(deep.exit_code, 2) << deep.stderr_text;
  EXPECT_TRUE(contains(deep.stderr_text, "stdin: nested deeper than 64 levels")) << deep.stderr_text;

  nlohmann::json j = request_to_json(tiny_request());
  j["run"].erase("device");
  const WorkerResult missing = run_worker({THANOS_BINARY, "measure-worker"}, j.dump());
  EXPECT_EQ(missing.exit_code, 2) << missing.stderr_text;
  EXPECT_TRUE(contains(missing.stderr_text, "device")) << missing.stderr_text;
  EXPECT_TRUE(contains(missing.stderr_text, "missing")) << missing.stderr_text;

  const WorkerResult empty = run_worker({THANOS_BINARY, "measure-worker"}, "");
  EXPECT_EQ(empty.exit_code, 2) << empty.stderr_text;
  EXPECT_TRUE(contains(empty.stderr_text, "empty")) << empty.stderr_text;
}

// ------------------------------------------------------------------------- isolated backend

// A request may come from a peer: numbers that do not fit, or that no board means, are refused
// before anything runs.
TEST(MeasureRequestJson, OutOfRangeNumbersAreRefusedNotNarrowed) {
  const nlohmann::json good = request_to_json(tiny_request());
  for (const auto& [field, value, expected] : std::vector<std::tuple<std::string, nlohmann::json, std::string>>{
           {"threads", 1000000, "threads and interop_threads must be 1 to 1024"},
           {"threads", 4294967297ull, "run.threads: expected an integer of at most 32 bits, got 4294967297"},
           {"interop_threads", -4294967295ll, "run.interop_threads: expected an integer of at most 32 bits"},
           {"timeout_s", 1e300, "timeout_s (0 to 86400) out of range"}}) {
    SCOPED_TRACE(field + " = " + value.dump());
    nlohmann::json j = good;
    j["run"][field] = value;
    EXPECT_NE(testing::invalid_argument_message([&] { request_from_json(j, "request"); }).find(expected), std::string::npos);
  }
}

TEST(IsolatedBackend, MeasuresATinySubTransformer) {
  const MeasureRequest request = tiny_request();
  // The worker receives exactly this config.
  EXPECT_EQ(request_from_json(request_to_json(request), "test").config.hash(), request.config.hash());
  auto backend = make_isolated_backend(THANOS_BINARY);
  EXPECT_EQ(backend->name(), "isolated");
  const Measurement m = backend->measure(request);
  ASSERT_TRUE(m.feasible) << m.infeasible_reason;
  EXPECT_GT(m.encoder_mean_ms, 0);
  EXPECT_GT(m.decoder_mean_ms, 0);
  EXPECT_GT(m.peak_memory_mib, 0);
  EXPECT_EQ(m.memory_kind, memory_kind::kRssPeak);
  EXPECT_EQ(m.backend, "cpu");
  EXPECT_EQ(m.threads, 1);
  EXPECT_EQ(m.cap_mechanism, "none");
  EXPECT_EQ(m.memory_cap_mib, 0);
  EXPECT_GT(m.wall_s, 0);
}

void expect_cap_kill_then_recovery(IsolatedBackend& backend, const std::string& mechanism) {
  MeasureRequest big = big_request();
  big.run.memory_cap_mib = 250;
  big.run.timeout_s = 120;
  const Measurement m = backend.measure(big);
  EXPECT_FALSE(m.feasible);
  EXPECT_TRUE(contains(m.infeasible_reason, "killed by the memory cap of 250 MiB (" + mechanism))
      << m.infeasible_reason;
  EXPECT_EQ(m.cap_mechanism, mechanism);
  EXPECT_EQ(m.memory_cap_mib, 250);
  EXPECT_EQ(m.backend, "cpu");
  EXPECT_FALSE(std::isfinite(m.encoder_mean_ms));
  // The backend carries on: the next candidate, under the same cap, is measured.
  MeasureRequest tiny = tiny_request();
  tiny.run.memory_cap_mib = 1024;
  const Measurement next = backend.measure(tiny);
  ASSERT_TRUE(next.feasible) << next.infeasible_reason;
  EXPECT_GT(next.encoder_mean_ms, 0);
  EXPECT_EQ(next.cap_mechanism, mechanism);
  EXPECT_EQ(next.memory_cap_mib, 1024);
}

TEST(IsolatedBackend, CapBelowTheWeightsIsInfeasibleAndTheNextWorksWatchdog) {
  IsolatedBackend backend(THANOS_BINARY, {CapMode::kWatchdog});
  expect_cap_kill_then_recovery(backend, "rss-watchdog");
}

TEST(IsolatedBackend, CapBelowTheWeightsIsInfeasibleAndTheNextWorksCgroup) {
  const CgroupSupport& support = cgroup_memory_support();
  if (!support.usable) GTEST_SKIP() << "cgroup v2 memory cap not usable here: " << support.why_not;
  IsolatedBackend backend(THANOS_BINARY, {CapMode::kCgroup});
  expect_cap_kill_then_recovery(backend, "cgroup-v2");
}

TEST(IsolatedBackend, TimeoutIsInfeasible) {
  MeasureRequest request = tiny_request();
  request.run.timeout_s = 0.05;  // less than starting libtorch takes
  const Measurement m = IsolatedBackend(THANOS_BINARY).measure(request);
  EXPECT_FALSE(m.feasible);
  EXPECT_EQ(m.infeasible_reason, "timed out after 0.05 s");
  EXPECT_GE(m.wall_s, 0.05);
}

TEST(IsolatedBackend, InvalidRequestsThrowBeforeAnyWorker) {
  MeasureRequest request = tiny_request();
  request.run.threads = 0;
  IsolatedBackend backend(THANOS_BINARY);
  EXPECT_TRUE(contains(testing::invalid_argument_message([&] { backend.measure(request); }), "threads"));
  request = tiny_request();
  request.run.device = "tpu";
  EXPECT_TRUE(contains(testing::invalid_argument_message([&] { backend.measure(request); }), "tpu"));
}

TEST(IsolatedBackend, MissingBinaryOrProtocolViolationThrows) {
  EXPECT_THROW(IsolatedBackend("/nonexistent/thanos"), std::runtime_error);
  TempDir dir("worker-test");
  const std::string fake = dir.path() + "/fake-thanos";
  {
    std::ofstream out(fake);
    out << "#!/bin/sh\ncat > /dev/null\necho 'not a measurement'\n";
  }
  ::chmod(fake.c_str(), 0755);
  IsolatedBackend backend(fake);
  try {
    backend.measure(tiny_request());
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "protocol violation")) << e.what();
    EXPECT_TRUE(contains(e.what(), "not a measurement")) << e.what();
  }
}

}  // namespace
}  // namespace thanos
