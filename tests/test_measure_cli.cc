// thanos measure end to end (docs/MEASUREMENT.md): isolated workers, the dataset file, resume,
// the memory cap, what memory measures, bad input, and measuring through a loopback agent.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "loopback_agent.h"
#include "test_util.h"
#include "thanos/common/csv.h"
#include "thanos/common/temp_dir.h"
#include "thanos/common/text.h"
#include "thanos/hw/latency_dataset.h"
#include "thanos/model/cost_model.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"

namespace thanos {
namespace {

using testing::last_json;
using testing::one_layer_config;
using testing::run_cli;

struct Files {
  TempDir dir{"measure-cli"};
  std::string space = dir.path() + "/space.yml";
  std::string csv = dir.path() + "/lat.csv";
  Files() { write_file_atomically(space, search_space_to_yaml(testing::tiny_space())); }
  std::string config(const SubConfig& c, const std::string& name) const {
    const std::string p = dir.path() + "/" + name + ".yml";
    write_file_atomically(p, config_to_yaml(c));
    return p;
  }
};

std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  const auto lines = split_lines(read_text_file(path), false);
  for (std::size_t i = 1; i < lines.size(); ++i) rows.push_back(split_csv_line(lines[i]));
  return rows;
}

int column(const std::string& name) {
  const auto& cols = dataset_columns();
  return static_cast<int>(std::find(cols.begin(), cols.end(), name) - cols.begin());
}

const std::string kQuick = " --protocol quick --vocab-size 300";

// The drift guard is switched off here (tolerance 1000 = 100000%): on a busy machine the reference
// really drifts, and the re-measured rows would make the counts depend on the load. The guard is
// tested exactly with fake backends (LatencyDataset.*).
TEST(MeasureCli, BuildsADatasetAndResumes) {
  Files f;
  const auto first = run_cli("--threads 1 measure --space " + f.space + " --device cpu --samples 2 --out " + f.csv + kQuick +
                             " --reference-every 2 --drift-tolerance 1000 --json");
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_NE(first.output.find("rows/min, ETA"), std::string::npos) << first.output;
  const auto s1 = last_json(first.output);
  EXPECT_EQ(s1["measured"], 4);  // smallest, largest, 2 samples
  EXPECT_EQ(s1["already_in_file"], 0);
  EXPECT_GE(s1["reference_measurements"].get<int>(), 2);
  const auto rows = csv_rows(f.csv);
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& r : rows) {
    ASSERT_EQ(r.size(), dataset_columns().size());
    EXPECT_EQ(r[column("feasible")], "1");
    EXPECT_GT(std::stod(r[column("latency_mean_decoder")]), 0);
    EXPECT_GT(std::stod(r[column("peak_memory_mib")]), 0);
    EXPECT_EQ(r[column("memory_kind")], "rss-peak-minus-baseline");
    EXPECT_EQ(r[column("backend")], "cpu");
    EXPECT_EQ(r[column("threads")], "1");
    EXPECT_EQ(r[column("cap_mechanism")], "none");
  }
  const SubConfig smallest = testing::tiny_space().smallest();
  EXPECT_EQ(rows[0][column("config_hash")], smallest.hash_hex());
  // The same command again: nothing left to measure.
  const auto again = run_cli("--threads 1 measure --space " + f.space + " --device cpu --samples 2 --out " + f.csv + kQuick +
                             " --reference-every 2 --drift-tolerance 1000 --json");
  ASSERT_EQ(again.code, 0) << again.output;
  const auto s2 = last_json(again.output);
  EXPECT_EQ(s2["measured"], 0);
  EXPECT_EQ(s2["already_in_file"], 4);
  EXPECT_EQ(csv_rows(f.csv).size(), 4u);
  // Another protocol into the same file is refused, naming the file.
  const auto other = run_cli("--threads 1 measure --space " + f.space + " --device cpu --samples 2 --out " + f.csv +
                             kQuick + " --beam 4");
  EXPECT_EQ(other.code, 2) << other.output;
  EXPECT_NE(other.output.find(f.csv), std::string::npos) << other.output;
  EXPECT_NE(other.output.find("protocol"), std::string::npos) << other.output;
}

// Ctrl-C loses at most the row in flight: the file stays whole and a re-run completes it.
TEST(MeasureCli, InterruptedRunResumes) {
  Files f;
  const std::string log = f.dir.path() + "/measure.log", pid_file = f.dir.path() + "/measure.pid";
  const std::string args = " --threads 1 measure --space " + f.space + " --device cpu --samples 6 --out " + f.csv + kQuick;
  const std::string start = std::string(THANOS_BINARY) + args + " > " + log + " 2>&1 & echo $! > " + pid_file;
  ASSERT_EQ(std::system(start.c_str()), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int pid = std::stoi(read_text_file(pid_file));
  // Wait for the first row, then interrupt.
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(f.csv);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (std::count(text.begin(), text.end(), '\n') >= 2) break;
  }
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  for (int i = 0; i < 600 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(::kill(pid, 0), 0) << "measure did not stop after SIGINT";
  EXPECT_NE(read_text_file(log).find("interrupted"), std::string::npos) << read_text_file(log);
  const auto partial = csv_rows(f.csv);
  ASSERT_GE(partial.size(), 1u);
  EXPECT_LT(partial.size(), 8u);
  const auto rest = run_cli(args + " --json");
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_EQ(last_json(rest.output)["already_in_file"].get<std::size_t>(), partial.size());
  const auto rows = csv_rows(f.csv);
  std::set<std::string> hashes;
  for (const auto& r : rows) hashes.insert(r[column("config_hash")]);
  EXPECT_EQ(hashes.size(), rows.size());
  EXPECT_EQ(rows.size(), last_json(rest.output)["planned"].get<std::size_t>());
}

// Peak memory holds the weights: two vocabularies differ in measured peak by what the analytic
// model says their tables differ by (no sharing: encoder, decoder and output tables).
TEST(MeasureCli, PeakMemoryFollowsTheWeights) {
  Files f;
  const SubConfig c = one_layer_config();
  const std::string cfg = f.config(c, "sub");
  double peak[2], estimate[2];
  const int vocab[2] = {1000, 40000};
  for (int i = 0; i < 2; ++i) {
    const auto r = run_cli("--threads 1 measure --config " + cfg + " --device cpu --protocol quick --vocab-size " +
                           std::to_string(vocab[i]) + " --json");
    ASSERT_EQ(r.code, 0) << r.output;
    peak[i] = last_json(r.output)["peak_memory_mib"].get<double>();
    InferenceShape shape;
    shape.vocab_size = vocab[i];
    estimate[i] = estimate_inference_memory(c, ModelHyperParams{}, shape).total_mib();
  }
  const double measured_delta = peak[1] - peak[0], estimated_delta = estimate[1] - estimate[0];
  EXPECT_GT(estimated_delta, 100);  // 3 tables x 39000 x 256 x 4 bytes = 114 MiB
  EXPECT_NEAR(measured_delta / estimated_delta, 1.0, 0.10) << "measured " << peak[0] << " -> " << peak[1];
  EXPECT_NEAR(peak[1] / estimate[1], 1.0, 0.15);
}

TEST(MeasureCli, MemoryCapMakesACandidateInfeasible) {
  Files f;
  const SubConfig c = one_layer_config();
  const std::string cfg = f.config(c, "sub");
  // The cap bounds the worker's whole resident set (the board's real limit), runtime included:
  // learn the runtime's share first, then allow 60 MiB on top of it for ~120 MiB of weights.
  const auto small = run_cli("--threads 1 measure --config " + cfg + " --device cpu --protocol quick --vocab-size 300 --json");
  ASSERT_EQ(small.code, 0) << small.output;
  const double runtime = last_json(small.output)["baseline_memory_mib"].get<double>();
  const auto r = run_cli("--threads 1 measure --config " + cfg + " --device cpu --protocol quick --vocab-size 40000 "
                         "--memory-cap-mib " + std::to_string(static_cast<int>(runtime + 60)) + " --json");
  EXPECT_EQ(r.code, 3) << r.output;
  const auto j = last_json(r.output);
  EXPECT_FALSE(j["feasible"].get<bool>());
  EXPECT_NE(j["infeasible_reason"].get<std::string>().find("memory cap"), std::string::npos) << r.output;
  EXPECT_NE(j["cap_mechanism"].get<std::string>(), "none");
  // The dataset path records the infeasible row and carries on.
  const auto run = run_cli("--threads 1 measure --space " + f.space + " --device cpu --samples 1 --out " + f.csv +
                           " --protocol quick --vocab-size 300 --memory-cap-mib 100000");
  EXPECT_EQ(run.code, 0) << run.output;
}

TEST(MeasureCli, BadInputSaysWhatIsWrong) {
  Files f;
  const std::string base = "measure --space " + f.space + " --samples 1" + kQuick;
  auto r = run_cli(base + " --device tpu --out " + f.csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--device"), std::string::npos) << r.output;
  r = run_cli(base + " --device remote://127.0.0.1:9 --out " + f.csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--token-file"), std::string::npos) << r.output;
  r = run_cli(base + " --device cpu");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;
  r = run_cli("measure --device cpu --samples 1 --out " + f.csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--space"), std::string::npos) << r.output;
  // A config outside the space.
  SubConfig big = testing::tiny_space().largest();
  big.encoder_embed_dim = 48;
  r = run_cli("measure --space " + f.space + " --config " + f.config(big, "big") + " --device cpu" + kQuick);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("48"), std::string::npos) << r.output;
  // A HAT dataset is not appended to.
  write_file_atomically(f.csv, csv_line(hat_dataset_columns()) + "\n");
  r = run_cli(base + " --device cpu --out " + f.csv);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("HAT-format"), std::string::npos) << r.output;
  // A cuda device on a CPU-only build says so (and nothing is written).
  const std::string fresh = f.dir.path() + "/fresh.csv";
  r = run_cli("--threads 1 measure --space " + f.space + " --samples 1 --device cuda --out " + fresh + kQuick);
  if (r.code != 0) {
    EXPECT_NE(r.output.find("cuda"), std::string::npos) << r.output;
  }
}

// The measurement path through an agent on loopback: `thanos agent` + `thanos measure --device remote://`.
TEST(MeasureCli, ThroughALoopbackAgent) {
  Files f;
  testing::LoopbackAgent agent(f.dir.path());
  const std::string address = agent.address(), token = agent.token_file();
  ASSERT_FALSE(address.empty()) << agent.log();
  const auto r = run_cli("--threads 1 measure --space " + f.space + " --device remote://" + address + " --token-file " + token +
                         " --samples 1 --out " + f.csv + kQuick + " --json");
  const auto wrong = f.dir.path() + "/wrong";
  write_file_atomically(wrong, "not-the-token\n");
  ::chmod(wrong.c_str(), 0600);
  const auto refused = run_cli("--threads 1 measure --space " + f.space + " --device remote://" + address +
                               " --token-file " + wrong + " --samples 1 --out " + f.dir.path() + "/other.csv" + kQuick);
  ASSERT_EQ(r.code, 0) << r.output << agent.log();
  const auto rows = csv_rows(f.csv);
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    EXPECT_EQ(row[column("backend")].rfind("remote://" + address, 0), 0u) << row[column("backend")];
    EXPECT_EQ(row[column("feasible")], "1");
  }
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.output.find("authentication"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace thanos
