// The binarized split reader (data/binarized.h) and the prepared directory's checks
// (data/prepared_data.h) against damaged and hostile files: every one is refused with an error
// naming the file, never read out of bounds (issue: 4 of 80 random byte flips of a real valid.bin
// crashed `collate`).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "binarized_invariants.h"
#include "test_util.h"
#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/data/prepared_data.h"

namespace thanos {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& tag) {
  const std::string d = ::testing::TempDir() + "/thanos_binarized_" + tag + "_" + std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

BinarizedSplit small_split() {
  BinarizedSplit s;
  std::mt19937 rng(5);
  for (int i = 0; i < 20; ++i) {
    std::vector<std::int32_t> src(1 + rng() % 7), tgt(1 + rng() % 9);
    for (auto& t : src) t = 4 + static_cast<std::int32_t>(rng() % 40);
    for (auto& t : tgt) t = 4 + static_cast<std::int32_t>(rng() % 40);
    src.push_back(kEosId);
    tgt.push_back(kEosId);
    s.add(src, tgt);
  }
  return s;
}



// Writes `bytes` with the 8-byte little-endian `value` at `at`.
void put_u64(std::string& bytes, std::size_t at, std::uint64_t value) { std::memcpy(&bytes[at], &value, 8); }

TEST(BinarizedReader, DamagedOffsetsAndCountsAreRefusedNamingTheFile) {
  const std::string dir = temp_dir("damaged");
  const std::string path = dir + "/valid.bin";
  save_binarized(path, small_split());
  const std::string good = read_text_file(path);
  const std::size_t n = small_split().size();
  struct Case {
    const char* what;
    std::function<void(std::string&)> damage;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"a pair count that wraps n + 1", [](std::string& b) { put_u64(b, 8, ~std::uint64_t{0}); }, "truncated"},
      {"a pair count beyond the file", [](std::string& b) { put_u64(b, 8, std::uint64_t{1} << 40); }, "truncated"},
      {"offsets not starting at 0", [](std::string& b) { put_u64(b, 16, 3); }, "do not start at 0"},
      {"a decreasing source offset", [&](std::string& b) { put_u64(b, 16 + 8 * 5, 1); }, "source offset 5"},
      {"a decreasing target offset", [&](std::string& b) { put_u64(b, 16 + 8 * (n + 1) + 8 * 3, 0); }, "target offset 3"},
      {"a negative token", [&](std::string& b) { b[b.size() - 4] = '\xff', b[b.size() - 1] = '\xff'; }, "negative"},
      {"no header", [](std::string& b) { b.resize(12); }, "bad magic"},
      {"a header without tables", [](std::string& b) { b.resize(20); }, "truncated"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string bytes = good;
    c.damage(bytes);
    write_file_atomically(path, bytes);
    const std::string error = testing::invalid_argument_message([&] { load_binarized(path); });
    EXPECT_NE(error.find(path), std::string::npos) << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << error;
  }
  fs::remove_all(dir);
}

// Property: any single-byte change of a valid file either reads as a consistent split or is
// refused with std::invalid_argument (never a crash or an inconsistent split).
TEST(BinarizedReader, RandomByteFlipsReadConsistentlyOrAreRefused) {
  const std::string dir = temp_dir("flips");
  const std::string path = dir + "/valid.bin";
  save_binarized(path, small_split());
  const std::string good = read_text_file(path);
  std::mt19937 rng(11);
  int refused = 0, read = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string bytes = good;
    const std::size_t at = rng() % bytes.size();
    bytes[at] = static_cast<char>(bytes[at] ^ static_cast<char>(1 + rng() % 255));
    write_file_atomically(path, bytes);
    try {
      const BinarizedSplit s = load_binarized(path);
      testing::expect_binarized_invariants(s);
      ++read;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(read, 0);  // token flips within the vocabulary still read
  fs::remove_all(dir);
}

// A prepared directory whose manifest names files outside it, a vocabulary out of range or ids
// beyond it.
TEST(PreparedData, ManifestsCannotReachOutsideTheirDirectoryOrTheVocabulary) {
  const std::string dir = temp_dir("prepared");
  save_binarized(dir + "/valid.bin", small_split());
  auto manifest = [&](const std::string& file, const std::string& raw, const std::string& vocab) {
    write_file_atomically(dir + "/manifest.json", R"({"format": "thanos.prepared", "version": 1, "vocab_size": )" + vocab +
                                                      R"(, "splits": {"valid": {"file": ")" + file + R"(", "raw_tgt": ")" + raw + R"("}}})");
  };
  manifest("valid.bin", "valid.raw.de", "100");
  EXPECT_EQ(load_prepared_split(dir, "valid").size(), small_split().size());
  EXPECT_EQ(raw_target_path(dir, "valid"), dir + "/valid.raw.de");
  EXPECT_NE(testing::invalid_argument_message([&] { load_prepared_split(dir, "test"); }).find("no split 'test' (it has valid)"), std::string::npos);

  manifest("/etc/passwd", "valid.raw.de", "100");
  EXPECT_NE(testing::invalid_argument_message([&] { load_prepared_split(dir, "valid"); }).find("splits.valid.file: '/etc/passwd': expected a file name inside"),
            std::string::npos);
  manifest("valid.bin", "../../etc/passwd", "100");
  EXPECT_NE(testing::invalid_argument_message([&] { raw_target_path(dir, "valid"); }).find("splits.valid.raw_tgt"), std::string::npos);

  manifest("valid.bin", "valid.raw.de", "20");  // the split's ids reach 43
  const std::string beyond = testing::invalid_argument_message([&] { load_prepared_split(dir, "valid"); });
  EXPECT_NE(beyond.find(dir + "/valid.bin: token"), std::string::npos) << beyond;
  EXPECT_NE(beyond.find("beyond the vocabulary of 20"), std::string::npos) << beyond;
  for (const char* vocab : {"0", "-3", "4294967808", "1.5", "\"big\""}) {
    SCOPED_TRACE(vocab);
    manifest("valid.bin", "valid.raw.de", vocab);
    EXPECT_NE(testing::invalid_argument_message([&] { load_prepared_split(dir, "valid"); }).find("vocab_size"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(BinarizedReader, AnEmptySplitAndAFolderAreReadOrRefusedCleanly) {
  // Found by fuzz/binarized: an empty split copied 0 bytes from a null pointer (UBSan), and a
  // folder's size read as -1 asked for 2^64 bytes. (fuzz/regressions/binarized/)
  const std::string dir = temp_dir("empty");
  save_binarized(dir + "/empty.bin", BinarizedSplit{});
  const BinarizedSplit empty = load_binarized(dir + "/empty.bin");
  EXPECT_EQ(empty.size(), 0u);
  testing::expect_binarized_invariants(empty);
  fs::create_directories(dir + "/folder.bin");
  EXPECT_EQ(testing::invalid_argument_message([&] { load_binarized(dir + "/folder.bin"); }),
            dir + "/folder.bin: not a binarized split (expected a regular file)");
  fs::remove_all(dir);
}

TEST(PreparedData, AManifestOfTheWrongShapeIsRefusedNamingIt) {
  // Found by fuzz/prepared_manifest: value() on a manifest that is not an object (or whose format
  // or version has another type) threw nlohmann's type_error. (fuzz/regressions/prepared_manifest/)
  const std::string dir = temp_dir("manifest_shape");
  const std::string path = dir + "/manifest.json";
  for (const char* text : {"0", "[]", R"({"format": 1})", R"({"format": ["thanos.prepared"]})"}) {
    SCOPED_TRACE(text);
    write_file_atomically(path, text);
    EXPECT_NE(testing::invalid_argument_message([&] { load_prepared_manifest(dir); }).find(path + ": not a thanos prepare manifest"),
              std::string::npos);
  }
  write_file_atomically(path, R"({"format": "thanos.prepared", "version": "1"})");
  EXPECT_EQ(testing::invalid_argument_message([&] { load_prepared_manifest(dir); }),
            path + ": version: expected a whole number, got \"1\"");
  write_file_atomically(path, R"({"format": "thanos.prepared", "version": 18446744073709551615})");
  EXPECT_NE(testing::invalid_argument_message([&] { load_prepared_manifest(dir); }).find("is newer than this thanos reads"),
            std::string::npos);
  write_file_atomically(path, R"({"format": "thanos.prepared", "version": 1})");
  EXPECT_EQ(load_prepared_manifest(dir)["version"], 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace thanos
