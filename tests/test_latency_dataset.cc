// Dataset files and the measurement loop (docs/MEASUREMENT.md) with fake backends, so the
// bookkeeping (resume, drift, pools, Ctrl-C) is tested exactly and fast.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "test_util.h"
#include "thanos/common/csv.h"
#include "thanos/common/stats.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/hw/dataset_builder.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/hat_features.h"

namespace thanos {
namespace {

TEST(Csv, QuotesAndSplitsRoundTrip) {
  const std::vector<std::string> fields = {"plain", "with, comma", "with \"quote\"", "", "a\nb"};
  const auto back = split_csv_line(csv_line(fields));
  ASSERT_EQ(back.size(), fields.size());
  EXPECT_EQ(back[0], "plain");
  EXPECT_EQ(back[1], "with, comma");
  EXPECT_EQ(back[2], "with \"quote\"");
  EXPECT_EQ(back[3], "");
  EXPECT_EQ(back[4], "a b");  // newlines never reach a file
  EXPECT_EQ(split_csv_line("a,,b").size(), 3u);
  EXPECT_EQ(split_csv_line("x,y\r").back(), "y");
  EXPECT_THROW(split_csv_line("\"open"), std::invalid_argument);
}

TEST(HatFeatures, MatchHatsAverages) {
  SubConfig c = testing::tiny_space().largest();
  c.encoder_layers[0].ffn_dim = 32;
  c.decoder_layers[1].self_heads = 2;
  c.decoder_layers[2].ende_attn_layers = 1;
  const auto f = hat_features(c);
  EXPECT_EQ(f[0], 32);
  EXPECT_EQ(f[1], 3);
  EXPECT_DOUBLE_EQ(f[2], (32 + 64 + 64) / 3.0);
  EXPECT_DOUBLE_EQ(f[7], (4 + 2 + 4) / 3.0);
  EXPECT_DOUBLE_EQ(f[9], (3 + 3 + 1) / 3.0);
  EXPECT_EQ(hat_feature_names()[9], "decoder_arbitrary_ende_attn_avg");
}

// The first row of HAT's published Xeon dataset, read by our CSV reader: its 10 features are
// averages our hat_features() reproduces for a config with those layer values.
TEST(HatFeatures, ColumnsMatchHatsPublishedHeader) {
  const std::string header =
      "encoder_embed_dim,encoder_layer_num,encoder_ffn_embed_dim_avg,encoder_self_attention_heads_avg,"
      "decoder_embed_dim,decoder_layer_num,decoder_ffn_embed_dim_avg,decoder_self_attention_heads_avg,"
      "decoder_ende_attention_heads_avg,decoder_arbitrary_ende_attn_avg,latency_mean_encoder,"
      "latency_mean_decoder,latency_std_encoder,latency_std_decoder";
  EXPECT_EQ(split_csv_line(header), hat_dataset_columns());
  const auto& ours = dataset_columns();
  ASSERT_GT(ours.size(), hat_dataset_columns().size());
  EXPECT_TRUE(std::equal(hat_dataset_columns().begin(), hat_dataset_columns().end(), ours.begin()));
}

// A backend whose latency is a known function of the config, with a controllable slow-down.
class FakeBackend : public Backend {
 public:
  explicit FakeBackend(std::string name) : name_(std::move(name)) {}
  Measurement measure(const MeasureRequest& r) override {
    if (pool_started_) {
      // Pool tests: every backend waits for the others' first call, then each measurement takes
      // a while, so the rows spread over the pool whatever the thread scheduling.
      if (!counted_) {
        counted_ = true;
        ++*pool_started_;
      }
      for (int i = 0; i < 500 && pool_started_->load() < pool_size_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    const double slow = slowdown_for_calls(calls_);
    Measurement m;
    m.backend = name_;
    m.host = "fake";
    m.threads = 1;
    m.interop_threads = 1;
    m.dtype = r.protocol.dtype;
    m.memory_kind = memory_kind::kRssPeak;
    m.encoder_mean_ms = 0.01 * r.config.encoder_embed_dim * slow;
    m.decoder_mean_ms = r.config.decoder_layer_num() * slow;
    m.encoder_std_ms = m.decoder_std_ms = 0.001;
    m.peak_memory_mib = 10.0 + r.config.decoder_layer_num();
    if (r.config.decoder_layer_num() == 2 && r.config.encoder_embed_dim == 16) {
      m.feasible = false;
      m.infeasible_reason = "killed by the memory cap of 1 MiB (rss-watchdog)";
    }
    measured_.push_back(r.config.hash_hex());
    if (stop_after_ && static_cast<int>(measured_.size()) == stop_after_) stop_flag_->store(true);
    return m;
  }
  std::string name() const override { return name_; }

  // calls in [from, to] run `factor` times slower (a throttled board).
  void throttle(int from, int to, double factor) { throttled_.push_back({from, to, factor}); }
  void stop_after(int n, std::atomic<bool>* flag) {
    stop_after_ = n;
    stop_flag_ = flag;
  }
  const std::vector<std::string>& measured() const { return measured_; }
  void join_pool(std::atomic<int>* started, int size) {
    pool_started_ = started;
    pool_size_ = size;
  }

 private:
  double slowdown_for_calls(int call) const {
    double factor = 1.0;
    for (const auto& t : throttled_) {
      if (call >= t.from && call <= t.to) factor = t.factor;
    }
    return factor;
  }
  std::string name_;
  std::mutex mu_;
  int calls_ = 0;
  struct Throttle {
    int from, to;
    double factor;
  };
  std::vector<Throttle> throttled_;
  int stop_after_ = 0;
  std::atomic<bool>* stop_flag_ = nullptr;
  std::vector<std::string> measured_;
  std::atomic<int>* pool_started_ = nullptr;
  int pool_size_ = 0;
  bool counted_ = false;
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

Table read_table(const std::string& path) {
  Table t;
  const auto lines = split_lines(read_text_file(path), false);
  t.header = split_csv_line(lines.at(0));
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto f = split_csv_line(lines[i]);
    EXPECT_EQ(f.size(), t.header.size()) << "line " << i + 1;
    std::map<std::string, std::string> row;
    for (std::size_t k = 0; k < f.size() && k < t.header.size(); ++k) row[t.header[k]] = f[k];
    t.rows.push_back(row);
  }
  return t;
}

MeasureJob tiny_job(int samples) {
  MeasureJob job;
  job.space = testing::tiny_space();
  job.protocol = latency_protocol_preset("quick");
  job.protocol.vocab_size = 500;
  job.samples = samples;
  job.seed = 3;
  job.reference_every = 4;
  job.cooldown_s = 0;
  return job;
}

void quiet(const std::string&) {}

TEST(LatencyDataset, RowsCarryHatColumnsAndOurs) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  FakeBackend backend("fake");
  auto job = tiny_job(6);
  const auto summary = build_latency_dataset(job, {&backend}, csv, quiet);
  const auto plan = planned_configs(job);
  EXPECT_EQ(summary.planned, static_cast<int>(plan.size()));
  EXPECT_EQ(summary.measured, summary.planned);
  const Table t = read_table(csv);
  EXPECT_EQ(t.header, dataset_columns());
  ASSERT_EQ(t.rows.size(), plan.size());
  // Plan order: smallest and largest first.
  EXPECT_EQ(plan[0], job.space.smallest());
  EXPECT_EQ(plan[1], job.space.largest());
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& row = t.rows[i];
    const auto& c = plan[i];
    EXPECT_EQ(row.at("config_hash"), c.hash_hex());
    const auto f = hat_features(c);
    EXPECT_DOUBLE_EQ(std::stod(row.at("decoder_ffn_embed_dim_avg")), f[6]);
    EXPECT_EQ(std::stoi(row.at("decoder_layer_num")), c.decoder_layer_num());
    const bool feasible = !(c.decoder_layer_num() == 2 && c.encoder_embed_dim == 16);
    EXPECT_EQ(row.at("feasible"), feasible ? "1" : "0");
    if (feasible) {
      EXPECT_DOUBLE_EQ(std::stod(row.at("latency_mean_decoder")), c.decoder_layer_num());
      EXPECT_DOUBLE_EQ(std::stod(row.at("latency_mean_encoder")), 0.01 * c.encoder_embed_dim);
    } else {
      EXPECT_EQ(row.at("latency_mean_decoder"), "");
      EXPECT_NE(row.at("infeasible_reason").find("memory cap"), std::string::npos);
    }
    // Per-layer QKV dims, sizes and the protocol are recorded.
    std::string qkv;
    for (const auto& l : c.decoder_layers) qkv += (qkv.empty() ? "" : " ") + std::to_string(l.self_qkv_dim);
    EXPECT_EQ(row.at("decoder_self_qkv_dims"), qkv);
    EXPECT_EQ(std::stoll(row.at("params")), count_params(c, job.space.hyper, 500, 500).total());
    EXPECT_EQ(row.at("protocol_hash"), job.protocol.hash_hex());
    EXPECT_EQ(row.at("backend"), "fake");
    EXPECT_EQ(row.at("drift_flag"), "0");
  }
}

TEST(LatencyDataset, ResumeSkipsRowsAlreadyMeasuredAndCutsAHalfRow) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(8);
  std::atomic<bool> stop{false};
  FakeBackend first("fake");
  first.stop_after(1 + 4, &stop);  // the reference, then 4 rows; the 4th is dropped as "in flight"
  const auto s1 = build_latency_dataset(job, {&first}, csv, quiet, &stop);
  EXPECT_TRUE(s1.interrupted);
  EXPECT_EQ(s1.measured, 3);
  EXPECT_EQ(read_table(csv).rows.size(), 3u);
  // A crash in the middle of a write: half a line at the end.
  {
    std::ofstream out(csv, std::ios::app);
    out << "640,6,1194.6";
  }
  FakeBackend second("fake");
  const auto s2 = build_latency_dataset(job, {&second}, csv, quiet);
  EXPECT_EQ(s2.already_in_file, 3);
  EXPECT_EQ(s2.measured, s2.planned - 3);
  ASSERT_EQ(s2.warnings.size(), 1u);
  EXPECT_NE(s2.warnings[0].find("unfinished last line"), std::string::npos);
  const Table t = read_table(csv);
  ASSERT_EQ(t.rows.size(), planned_configs(job).size());
  std::set<std::string> hashes;
  for (const auto& r : t.rows) hashes.insert(r.at("config_hash"));
  EXPECT_EQ(hashes.size(), t.rows.size());  // every config exactly once
  // A third run has nothing left to do.
  FakeBackend third("fake");
  const auto s3 = build_latency_dataset(job, {&third}, csv, quiet);
  EXPECT_EQ(s3.measured, 0);
  EXPECT_TRUE(third.measured().empty());
}

// Rows measured in libtorch and rows measured in ONNX Runtime do not compare: a dataset of one
// runtime is refused to a run of the other, the message naming both.
TEST(LatencyDataset, RefusesRowsOfAnotherRuntime) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  FakeBackend libtorch("cpu"), ort("ort-cpu");
  auto job = tiny_job(2);
  build_latency_dataset(job, {&libtorch}, csv, quiet);
  EXPECT_EQ(scan_dataset(csv).runtimes, std::set<std::string>{"libtorch"});
  job.samples = 3;
  try {
    build_latency_dataset(job, {&ort}, csv, quiet);
    FAIL() << "rows of two runtimes were mixed";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(csv + ": holds rows measured in libtorch; this run measures in onnxruntime"), std::string::npos)
        << e.what();
  }
  // The same runtime resumes.
  EXPECT_NO_THROW(build_latency_dataset(job, {&libtorch}, csv, quiet));
}

TEST(LatencyDataset, RefusesAnotherProtocolOrAHatFile) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  FakeBackend backend("fake");
  auto job = tiny_job(2);
  build_latency_dataset(job, {&backend}, csv, quiet);
  job.protocol.beam = 4;
  try {
    build_latency_dataset(job, {&backend}, csv, quiet);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("protocol"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(csv), std::string::npos) << e.what();
  }
  const std::string hat = dir.path() + "/hat.csv";
  write_file_atomically(hat, csv_line(hat_dataset_columns()) + "\n");
  EXPECT_THROW(scan_dataset(hat), std::invalid_argument);
  const std::string broken = dir.path() + "/broken.csv";
  write_file_atomically(broken, csv_line(dataset_columns()) + "\n1,2,3\n");
  try {
    scan_dataset(broken);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(broken + ":2"), std::string::npos) << e.what();
  }
  // A file that is not a dataset is refused as it is: its unfinished last line is not cut off
  // (only a dataset's interrupted append is).
  const std::string notes = dir.path() + "/notes.txt";
  for (const std::string text : {std::string("first line\nsecond line without newline"), std::string("one line, no newline")}) {
    write_file_atomically(notes, text);
    EXPECT_THROW(scan_dataset(notes), std::invalid_argument);
    EXPECT_EQ(read_text_file(notes), text);
  }
  const std::string interrupted = dir.path() + "/interrupted.csv";
  write_file_atomically(interrupted, csv_line(dataset_columns()) + "\n1,2");  // an append cut short
  const DatasetScan scan = scan_dataset(interrupted);
  EXPECT_TRUE(scan.dropped_partial_line);
  EXPECT_EQ(read_text_file(interrupted), csv_line(dataset_columns()) + "\n");
  write_file_atomically(interrupted, csv_line(dataset_columns()).substr(0, 30));  // the header cut short
  EXPECT_TRUE(scan_dataset(interrupted).dropped_partial_line);
  EXPECT_EQ(read_text_file(interrupted), "");
}

// Checks the configs measured more than once: each has `times` rows, and the last one (what
// readers keep) is a re-measurement with the fake backend's unthrottled figure (decoder ms =
// decoder layers). Returns how many configs were measured more than once.
int check_remeasured_configs(const Table& t, std::size_t times) {
  std::map<std::string, std::vector<const std::map<std::string, std::string>*>> by_hash;
  for (const auto& r : t.rows) by_hash[r.at("config_hash")].push_back(&r);
  int repeated = 0;
  for (const auto& [hash, rows] : by_hash) {
    if (rows.size() == 1) continue;
    ++repeated;
    EXPECT_EQ(rows.size(), times) << hash;
    const auto& last = *rows.back();
    EXPECT_EQ(last.at("remeasured"), "1");
    const int layers = std::stoi(last.at("decoder_layer_num"));
    if (last.at("feasible") == "1") {
      EXPECT_DOUBLE_EQ(std::stod(last.at("latency_mean_decoder")), layers);
    }
  }
  return repeated;
}

TEST(LatencyDataset, DriftedRowsAreMeasuredAgainAfterCooldown) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(10);
  job.reference_every = 3;
  FakeBackend backend("fake");
  // Call 1: reference. Calls 2-4: rows. Call 5: reference check. Throttle calls 3..5: two rows
  // and the check run 30% slow; the cool-down re-measure (call 6) is back to normal.
  backend.throttle(3, 5, 1.3);
  const auto s = build_latency_dataset(job, {&backend}, csv, quiet);
  EXPECT_EQ(s.remeasured, 3);
  EXPECT_EQ(s.flagged, 0);
  const Table t = read_table(csv);
  // The window's 3 configs appear twice; the later rows (remeasured = 1) hold normal figures.
  EXPECT_EQ(check_remeasured_configs(t, 2), 3);
}

// The disturbance comes back while the window is re-measured: the check after the re-measurement
// catches it and the window is measured a third time, so the rows that count are normal ones.
TEST(LatencyDataset, AWindowReMeasuredWhileDisturbedIsMeasuredAgain) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(10);
  job.reference_every = 3;
  FakeBackend backend("fake");
  // Calls: 1 reference; 2-4 rows; 5 check (slow: 3-5); 6 reference after the cool-down (normal);
  // 7-9 the window again (slow: 7-10); 10 check (slow); 11 reference (normal); 12-14 the window
  // a third time (normal); 15 check (normal).
  backend.throttle(3, 5, 1.3);
  backend.throttle(7, 10, 1.3);
  const auto s = build_latency_dataset(job, {&backend}, csv, quiet);
  EXPECT_EQ(s.remeasured, 6);
  EXPECT_EQ(s.flagged, 0);
  const Table t = read_table(csv);
  EXPECT_EQ(check_remeasured_configs(t, 3), 3);
}

// A reference that reads faster than its baseline is read again at once: cooling cannot slow a
// device down (a 30 s cool-down here would show in the log and hold the test up for 30 s).
TEST(LatencyDataset, AFasterReferenceIsReadAgainWithoutACooldown) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(10);
  job.reference_every = 3;
  job.cooldown_s = 30;
  FakeBackend backend("fake");
  // Calls: 1 reference; 2-4 rows; 5 check (30% fast); 6 reference again (normal); 7-9 the window
  // again; 10 check (normal).
  backend.throttle(5, 5, 0.7);
  std::vector<std::string> log;
  const auto start = std::chrono::steady_clock::now();
  const auto s = build_latency_dataset(job, {&backend}, csv, [&](const std::string& line) { log.push_back(line); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.remeasured, 3);
  EXPECT_EQ(s.flagged, 0);
  bool reread = false;
  for (const auto& line : log) {
    EXPECT_EQ(line.find("cooling down"), std::string::npos) << line;
    reread = reread || (line.find("drifted -30.0%") != std::string::npos && line.find("again at once") != std::string::npos);
  }
  EXPECT_TRUE(reread);
  EXPECT_LT(seconds, 25.0);  // no 30 s sleep
  const Table t = read_table(csv);
  EXPECT_EQ(check_remeasured_configs(t, 2), 3);
}

TEST(LatencyDataset, PersistentDriftFlagsRows) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(10);
  job.reference_every = 3;
  job.max_cooldowns = 2;
  FakeBackend backend("fake");
  backend.throttle(5, 1000, 1.5);  // from the first check on, the board stays slow
  std::vector<std::string> log;
  const auto s = build_latency_dataset(job, {&backend}, csv, [&](const std::string& line) { log.push_back(line); });
  // A cool-down that left the reference as slow as before ends the waiting at each check (a lasting
  // slowdown: more cool-downs would spend the time for nothing).
  int cooldowns = 0, lasting = 0;
  for (const auto& line : log) {
    cooldowns += line.find("cooling down") != std::string::npos;
    lasting += line.find("the cool-down changed nothing") != std::string::npos;
  }
  EXPECT_GT(lasting, 0);
  EXPECT_EQ(cooldowns, lasting);
  EXPECT_EQ(s.remeasured, 0);
  EXPECT_GT(s.flagged, 0);
  const Table t = read_table(csv);
  EXPECT_EQ(t.rows[0].at("drift_flag"), "0");
  EXPECT_EQ(t.rows.back().at("drift_flag"), "1");
  EXPECT_NEAR(std::stod(t.rows.back().at("drift")), 0.5, 1e-9);
}

TEST(LatencyDataset, PoolMeasuresEachConfigOnce) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(12);
  FakeBackend a("fake-a"), b("fake-b");
  std::atomic<int> started{0};
  a.join_pool(&started, 2);
  b.join_pool(&started, 2);
  const auto s = build_latency_dataset(job, {&a, &b}, csv, quiet);
  const auto plan = planned_configs(job);
  EXPECT_EQ(s.measured, static_cast<int>(plan.size()));
  const Table t = read_table(csv);
  std::set<std::string> hashes;
  std::set<std::string> backends;
  for (const auto& r : t.rows) {
    hashes.insert(r.at("config_hash"));
    backends.insert(r.at("backend"));
  }
  EXPECT_EQ(hashes.size(), plan.size());
  EXPECT_EQ(backends.size(), 2u);  // both boards took rows (each ~half)
}

// A backend that becomes unusable (agent gone) hands its config back; the pool carries on.
class FailingBackend : public FakeBackend {
 public:
  using FakeBackend::FakeBackend;
  Measurement measure(const MeasureRequest& r) override {
    if (++calls_ > 2) throw std::runtime_error("remote://10.0.0.9:7000: connection lost");
    return FakeBackend::measure(r);
  }

 private:
  int calls_ = 0;
};

TEST(LatencyDataset, PoolSurvivesALostBackend) {
  TempDir dir("dataset");
  const std::string csv = dir.path() + "/lat.csv";
  auto job = tiny_job(12);
  FakeBackend good("good");
  FailingBackend bad("bad");
  std::atomic<int> started{0};
  good.join_pool(&started, 2);
  bad.join_pool(&started, 2);
  const auto s = build_latency_dataset(job, {&good, &bad}, csv, quiet);
  EXPECT_EQ(s.measured, static_cast<int>(planned_configs(job).size()));
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("connection lost"), std::string::npos);
  // Alone, the failure is an error.
  FailingBackend alone("alone");
  EXPECT_THROW(build_latency_dataset(job, {&alone}, dir.path() + "/other.csv", quiet), std::runtime_error);
}

}  // namespace
}  // namespace thanos

namespace thanos {
namespace {

// Values from scipy.stats.kendalltau (tau-b), computed by hand for these small lists.
TEST(Stats, KendallTauB) {
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // x = [1,2,3,4,5], y = [3,1,2,5,4]: concordant 7, discordant 3, no ties -> 0.4.
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4, 5}, {3, 1, 2, 5, 4}), 0.4);
  // Ties: x = [1,1,2,3], y = [1,2,2,3]: pairs 6, ties_x 1, ties_y 1, C 4, D 0 -> 4/5 = 0.8.
  EXPECT_DOUBLE_EQ(kendall_tau({1, 1, 2, 3}, {1, 2, 2, 3}), 0.8);
  EXPECT_EQ(kendall_tau({1, 1, 1}, {1, 2, 3}), 0.0);
  EXPECT_THROW(kendall_tau({1, 2}, {1}), std::invalid_argument);
  EXPECT_DOUBLE_EQ(stddev_of({1, 3}), 1.0);
}

}  // namespace
}  // namespace thanos
