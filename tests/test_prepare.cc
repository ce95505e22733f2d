// thanos prepare and the train/valid commands end to end on corpora the test writes.
#include <gtest/gtest.h>

#include "test_util.h"
#include "translation_fixture.h"
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "thanos/commands/prepare.h"
#include "thanos/commands/train.h"
#include "thanos/common/random.h"
#include "thanos/common/text.h"
#include "thanos/data/binarized.h"
#include "thanos/data/subword_model.h"
#include "thanos/data/text_lines.h"

using namespace thanos;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/thanos_prep_" + std::to_string(::getpid()) + "_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "dog", "runs", "fast", "house", "red", "blue",
                        "green", "small", "big", "tree", "river", "over", "under", "bird"};

// A synthetic parallel corpus: the "German" side is the English words upper-cased and reversed.
void write_corpus(const std::string& prefix, int n, std::uint64_t seed, bool gzip_target = false) {
  Rng rng(seed);
  std::string en, de;
  for (int i = 0; i < n; ++i) {
    const int len = 1 + static_cast<int>(rng.uniform_index(8));
    std::vector<std::string> words;
    for (int k = 0; k < len; ++k) words.push_back(kWords[rng.uniform_index(20)]);
    std::string s, t;
    for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
    for (auto it = words.rbegin(); it != words.rend(); ++it) {
      std::string u = *it;
      for (auto& ch : u) ch = static_cast<char>(std::toupper(ch));
      t += (t.empty() ? "" : " ") + u;
    }
    en += s + "\n";
    de += t + "\n";
  }
  std::ofstream(prefix + ".en") << en;
  if (gzip_target) {
    gzFile f = gzopen((prefix + ".de.gz").c_str(), "wb");
    gzwrite(f, de.data(), static_cast<unsigned>(de.size()));
    gzclose(f);
  } else {
    std::ofstream(prefix + ".de") << de;
  }
}


PrepareOptions options_for(const std::string& dir) {
  PrepareOptions o;
  o.train_prefix = dir + "/train";
  o.valid_prefix = dir + "/valid";
  o.test_prefix = dir + "/test";
  o.out_dir = dir + "/prepared";
  o.vocab_size = 60;
  return o;
}

}  // namespace

TEST(Prepare, BuildsVocabularyBinarizedSplitsAndManifest) {
  const std::string dir = temp_dir("ok");
  write_corpus(dir + "/train", 400, 1, /*gzip_target=*/true);
  write_corpus(dir + "/valid", 40, 2);
  write_corpus(dir + "/test", 30, 3);
  {  // an empty pair and an over-long pair in training are dropped and counted
    std::ofstream(dir + "/train.en", std::ios::app) << "\n" << std::string(2000, 'x') << "\n";
  }
  {
    std::string de;
    gzFile f = gzopen((dir + "/train.de.gz").c_str(), "ab");
    const std::string extra = "\n" + std::string(2000, 'Y') + "\n";
    gzwrite(f, extra.data(), static_cast<unsigned>(extra.size()));
    gzclose(f);
  }
  PrepareOptions o = options_for(dir);
  o.max_len = 40;
  const nlohmann::json m = run_prepare(o);
  EXPECT_EQ(m["splits"]["train"]["pairs"], 400);
  EXPECT_EQ(m["splits"]["train"]["dropped_empty"], 1);
  EXPECT_EQ(m["splits"]["train"]["dropped_too_long"], 1);
  EXPECT_EQ(m["splits"]["test"]["pairs"], 30);
  EXPECT_EQ(load_prepared_manifest(o.out_dir)["hash"], m["hash"]);
  // The raw references are kept byte for byte.
  EXPECT_EQ(read_text_file(o.out_dir + "/test.raw.de"), read_text_file(dir + "/test.de"));
  // Binarized sentences end with </s> and decode back to the text.
  const BinarizedSplit test = load_binarized(o.out_dir + "/test.bin");
  ASSERT_EQ(test.size(), 30u);
  SubwordModel spm(o.out_dir + "/spm.model");
  EXPECT_EQ(spm.vocab_size(), m["vocab_size"].get<int>());
  const auto lines = read_text_lines(dir + "/test.en");
  for (std::size_t i = 0; i < test.size(); ++i) {
    ASSERT_EQ(test.src(i)[test.src_len(i) - 1], kEosId);
    std::vector<int> ids(test.src(i), test.src(i) + test.src_len(i) - 1);
    EXPECT_EQ(spm.decode({ids})[0], lines[i]);
  }
  // Same input, same output (deterministic preparation).
  PrepareOptions again = o;
  again.out_dir = dir + "/prepared2";
  const nlohmann::json m2 = run_prepare(again);
  EXPECT_EQ(m2["splits"]["train"]["hash"], m["splits"]["train"]["hash"]);
  // ... the same sentencepiece model file too, hence the same manifest hash: the model records
  // its trainer's input and prefix, once the absolute paths of the staging folder named after the
  // process id (found by scripts/crash_safety.py's control runs).
  EXPECT_EQ(read_text_file(again.out_dir + "/spm.model"), read_text_file(o.out_dir + "/spm.model"));
  EXPECT_EQ(m2["spm_hash"], m["spm_hash"]);
  EXPECT_EQ(m2["hash"], m["hash"]);
}

TEST(Prepare, BadInputGivesClearErrorsAndWritesNothing) {
  const std::string dir = temp_dir("bad");
  write_corpus(dir + "/train", 50, 1);
  write_corpus(dir + "/valid", 10, 2);
  write_corpus(dir + "/test", 10, 3);
  std::ofstream(dir + "/valid.de", std::ios::app) << "EXTRA LINE\n";
  PrepareOptions o = options_for(dir);
  std::string msg = thanos::testing::invalid_argument_message([&] { run_prepare(o); });
  EXPECT_NE(msg.find(dir + "/valid.en has 10 lines but " + dir + "/valid.de has 11"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(o.out_dir));

  write_corpus(dir + "/valid", 10, 2);
  std::ofstream(dir + "/test.en", std::ios::app) << "caf\xC3\x28 broken\n";
  std::ofstream(dir + "/test.de", std::ios::app) << "X\n";
  msg = thanos::testing::invalid_argument_message([&] { run_prepare(o); });
  EXPECT_NE(msg.find(dir + "/test.en:11: invalid UTF-8"), std::string::npos) << msg;

  write_corpus(dir + "/test", 10, 3);
  std::ofstream(dir + "/train.de", std::ios::trunc);
  msg = thanos::testing::invalid_argument_message([&] { run_prepare(o); });
  EXPECT_NE(msg.find(dir + "/train.de: file is empty"), std::string::npos) << msg;

  fs::remove(dir + "/train.de");
  msg = thanos::testing::invalid_argument_message([&] { run_prepare(o); });
  EXPECT_NE(msg.find("no corpus file " + dir + "/train.de"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(o.out_dir));
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "left behind: " << e.path();
  }
}

TEST(Prepare, ExistingOutputIsReplacedOnlyWhenAsked) {
  const std::string dir = temp_dir("exists");
  write_corpus(dir + "/train", 80, 1);
  write_corpus(dir + "/valid", 10, 2);
  write_corpus(dir + "/test", 10, 3);
  PrepareOptions o = options_for(dir);
  run_prepare(o);
  const std::string before = read_text_file(o.out_dir + "/manifest.json");
  EXPECT_THROW(run_prepare(o), std::invalid_argument);
  EXPECT_EQ(read_text_file(o.out_dir + "/manifest.json"), before);
  o.overwrite = true;
  o.vocab_size = 50;
  run_prepare(o);
  EXPECT_NE(read_text_file(o.out_dir + "/manifest.json"), before);

  // --overwrite never deletes what prepare did not make: a folder of other files, a file.
  PrepareOptions elsewhere = o;
  elsewhere.out_dir = dir + "/photos";
  fs::create_directories(elsewhere.out_dir);
  write_file_atomically(elsewhere.out_dir + "/holiday.jpg", "not prepared data");
  std::string error;
  try {
    run_prepare(elsewhere);
  } catch (const std::invalid_argument& e) {
    error = e.what();
  }
  EXPECT_NE(error.find(elsewhere.out_dir + ": exists and is not a `thanos prepare` output"), std::string::npos) << error;
  EXPECT_EQ(read_text_file(elsewhere.out_dir + "/holiday.jpg"), "not prepared data");
  elsewhere.out_dir = dir + "/notes.txt";
  write_file_atomically(elsewhere.out_dir, "a file");
  EXPECT_THROW(run_prepare(elsewhere), std::invalid_argument);
  EXPECT_EQ(read_text_file(elsewhere.out_dir), "a file");
  elsewhere.out_dir = dir + "/empty";  // an empty folder is fine
  fs::create_directories(elsewhere.out_dir);
  run_prepare(elsewhere);
  EXPECT_TRUE(fs::exists(elsewhere.out_dir + "/manifest.json"));
}

TEST(TrainCommand, SuperTransformerThenSubTransformerThenValid) {
  const std::string dir = temp_dir("train");
  write_corpus(dir + "/train", 200, 1);
  write_corpus(dir + "/valid", 20, 2);
  write_corpus(dir + "/test", 10, 3);
  PrepareOptions po = options_for(dir);
  run_prepare(po);

  const std::string space = dir + "/space.yml";
  std::ofstream(space) << R"(share-all-embeddings: true
dropout: 0.1
encoder-embed-choice: [32, 16]
decoder-embed-choice: [32, 16]
encoder-ffn-embed-dim-choice: [64, 32]
decoder-ffn-embed-dim-choice: [64, 32]
encoder-layer-num-choice: [2]
decoder-layer-num-choice: [2, 1]
encoder-self-attention-heads-choice: [4, 2]
decoder-self-attention-heads-choice: [4, 2]
decoder-ende-attention-heads-choice: [4, 2]
decoder-arbitrary-ende-attn-choice: [-1, 1]
qkv-dim: 32
encoder-self-attention-qkv-dim-choice: [32, 16]
)";
  TrainCommandOptions to;
  to.data_dir = po.out_dir;
  to.space_path = space;
  to.save_dir = dir + "/super";
  to.train.max_updates = 4;
  to.train.batching.max_tokens = 200;
  to.train.lr.warmup_updates = 2;
  std::vector<std::string> lines;
  TrainCommandResult r = run_train(to, [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(r.mode, "supertransformer");
  EXPECT_EQ(r.result.updates, 4);
  ASSERT_EQ(r.final_valid.size(), 2u);
  EXPECT_TRUE(fs::exists(dir + "/super/checkpoint_last.pt"));
  std::ifstream jsonl(dir + "/super/train_log.jsonl");
  std::string first;
  std::getline(jsonl, first);
  EXPECT_TRUE(nlohmann::json::parse(first).contains("tokens_per_second"));
  // Same save dir without --resume: refused, nothing overwritten.
  EXPECT_THROW(run_train(to, [](const std::string&) {}), std::invalid_argument);
  to.resume = true;
  to.train.max_updates = 6;
  EXPECT_EQ(run_train(to, [](const std::string&) {}).result.updates, 6);

  // A SubTransformer fine-tuned from the inherited weights.
  const std::string cfg = dir + "/sub.yml";
  std::ofstream(cfg) << R"(encoder-embed-dim-subtransformer: 16
decoder-embed-dim-subtransformer: 32
encoder-ffn-embed-dim-all-subtransformer: [32, 64]
decoder-ffn-embed-dim-all-subtransformer: [64]
encoder-layer-num-subtransformer: 2
decoder-layer-num-subtransformer: 1
encoder-self-attention-heads-all-subtransformer: [2, 4]
decoder-self-attention-heads-all-subtransformer: [4]
decoder-ende-attention-heads-all-subtransformer: [2]
decoder-arbitrary-ende-attn-all-subtransformer: [1]
encoder-self-attention-qkv-dim-all-subtransformer: [16, 32]
)";
  ValidCommandOptions vo;
  vo.checkpoint_path = dir + "/super/checkpoint_last.pt";
  vo.data_dir = po.out_dir;
  vo.config_paths = {cfg};
  const double inherited = run_valid(vo)["results"][0]["loss"].get<double>();

  TrainCommandOptions so;
  so.data_dir = po.out_dir;
  so.config_path = cfg;
  so.init_from = dir + "/super/checkpoint_last.pt";
  so.save_dir = dir + "/sub";
  so.train.max_updates = 3;
  so.train.batching.max_tokens = 200;
  TrainCommandResult sr = run_train(so, [](const std::string&) {});
  EXPECT_EQ(sr.mode, "subtransformer");
  ValidCommandOptions sv;
  sv.checkpoint_path = dir + "/sub/checkpoint_last.pt";
  sv.data_dir = po.out_dir;
  const nlohmann::json scored = run_valid(sv);
  ASSERT_EQ(scored["results"].size(), 1u);
  EXPECT_TRUE(std::isfinite(scored["results"][0]["loss"].get<double>()));
  EXPECT_GT(inherited, 0);
  // A model whose vocabulary differs from the data's is refused with both numbers.
  PrepareOptions other = options_for(dir);
  other.out_dir = dir + "/prepared_other";
  other.vocab_size = 45;
  run_prepare(other);
  sv.data_dir = other.out_dir;
  const std::string msg = thanos::testing::invalid_argument_message([&] { run_valid(sv); });
  EXPECT_NE(msg.find("differs from the data's"), std::string::npos) << msg;
}

// Real corpora from ../shared/data when present (a fresh user machine has none: skip).
// A run killed after its last checkpoint had logged updates that the resumed run trains and logs
// again, and its last line may be cut (found by scripts/crash_safety.py, docs/RELIABILITY.md): the
// resumed log holds each update once, with the values of an uninterrupted run.
TEST(TrainCommand, AResumedRunLogsEachUpdateOnce) {
  const std::string dir = temp_dir("train_log");
  write_corpus(dir + "/train", 100, 1);
  write_corpus(dir + "/valid", 10, 2);
  write_corpus(dir + "/test", 5, 3);
  const PrepareOptions po = options_for(dir);
  run_prepare(po);
  std::ofstream(dir + "/space.yml") << thanos::testing::kReversalSpaceYaml;
  TrainCommandOptions to;
  to.data_dir = po.out_dir;
  to.space_path = dir + "/space.yml";
  to.train.max_updates = 8;
  to.train.batching.max_tokens = 200;
  to.train.lr.warmup_updates = 2;
  to.train.log_every = 1;
  to.train.save_every = 4;
  to.save_dir = dir + "/straight";
  run_train(to, [](const std::string&) {});

  // The crash: 6 updates trained and logged, the last checkpoint at 4, a line cut in the middle.
  to.save_dir = dir + "/crashed";
  to.train.max_updates = 6;
  run_train(to, [](const std::string&) {});
  fs::copy_file(to.save_dir + "/checkpoint_4.pt", to.save_dir + "/checkpoint_last.pt", fs::copy_options::overwrite_existing);
  std::ofstream(to.save_dir + "/train_log.jsonl", std::ios::app) << "{\"update\": 7, \"epo";
  to.resume = true;
  to.train.max_updates = 8;
  run_train(to, [](const std::string&) {});

  const auto straight = split_lines(read_text_file(dir + "/straight/train_log.jsonl"), false);
  const auto resumed = split_lines(read_text_file(dir + "/crashed/train_log.jsonl"), false);
  ASSERT_EQ(straight.size(), 8u);
  ASSERT_EQ(resumed.size(), straight.size()) << read_text_file(dir + "/crashed/train_log.jsonl");
  for (std::size_t i = 0; i < straight.size(); ++i) {
    const auto a = nlohmann::json::parse(straight[i]), b = nlohmann::json::parse(resumed[i]);
    EXPECT_EQ(b["update"].get<int>(), static_cast<int>(i) + 1);
    for (const char* key : {"update", "epoch", "loss", "nll_loss", "lr", "grad_norm", "config"}) EXPECT_EQ(a[key], b[key]) << key << " at " << i;
  }
  // A fresh run in a folder whose training never reached a checkpoint starts an empty log.
  fs::remove(to.save_dir + "/checkpoint_last.pt");
  to.resume = false;
  to.train.max_updates = 2;
  run_train(to, [](const std::string&) {});
  EXPECT_EQ(split_lines(read_text_file(dir + "/crashed/train_log.jsonl"), false).size(), 2u);
}

// A run killed between saving checkpoint_last.pt at a periodic update and copying it to
// checkpoint_N.pt (found by scripts/crash_safety.py: the resumed run had checkpoint_3 where the
// uninterrupted one had checkpoint_9): the resumed run makes the copy and retires every older one.
TEST(TrainCommand, AResumedRunKeepsTheNumberedCheckpointsOfAnUninterruptedOne) {
  const std::string dir = temp_dir("numbered");
  write_corpus(dir + "/train", 100, 1);
  write_corpus(dir + "/valid", 10, 2);
  write_corpus(dir + "/test", 5, 3);
  const PrepareOptions po = options_for(dir);
  run_prepare(po);
  std::ofstream(dir + "/space.yml") << R"(encoder-embed-choice: [16]
decoder-embed-choice: [16]
encoder-ffn-embed-dim-choice: [32]
decoder-ffn-embed-dim-choice: [32]
encoder-layer-num-choice: [1]
decoder-layer-num-choice: [1]
encoder-self-attention-heads-choice: [2]
decoder-self-attention-heads-choice: [2]
decoder-ende-attention-heads-choice: [2]
decoder-arbitrary-ende-attn-choice: [-1]
qkv-dim: 16
)";
  TrainCommandOptions to;
  to.data_dir = po.out_dir;
  to.space_path = dir + "/space.yml";
  to.save_dir = dir + "/super";
  to.train.batching.max_tokens = 200;
  to.train.save_every = 4;
  to.train.keep_last = 2;
  to.train.max_updates = 8;
  run_train(to, [](const std::string&) {});
  fs::copy_file(to.save_dir + "/checkpoint_4.pt", dir + "/checkpoint_4.pt");
  to.resume = true;
  to.train.max_updates = 12;
  run_train(to, [](const std::string&) {});
  // The kill: checkpoint_last.pt saved at 12, but neither its copy checkpoint_12.pt nor the
  // removal of checkpoint_4.pt happened.
  fs::remove(to.save_dir + "/checkpoint_12.pt");
  fs::copy_file(dir + "/checkpoint_4.pt", to.save_dir + "/checkpoint_4.pt");
  to.train.max_updates = 16;
  run_train(to, [](const std::string&) {});
  std::set<std::string> numbered;
  for (const auto& e : fs::directory_iterator(to.save_dir)) {
    const std::string name = e.path().filename().string();
    if (name != "checkpoint_last.pt" && name.rfind("checkpoint_", 0) == 0) numbered.insert(name);
  }
  EXPECT_EQ(numbered, (std::set<std::string>{"checkpoint_12.pt", "checkpoint_16.pt"}));
}

TEST(SharedData, PrepareMulti30kAndGzippedIwslt) {
  const std::string shared = THANOS_SHARED_DATA;
  if (!fs::exists(shared + "/multi30k/train.en") || !fs::exists(shared + "/iwslt14-de-en/valid.de.gz")) {
    GTEST_SKIP() << "no ../shared/data";
  }
  const std::string dir = temp_dir("shared");
  PrepareOptions o;
  o.train_prefix = shared + "/multi30k/train";
  o.valid_prefix = shared + "/multi30k/valid";
  o.test_prefix = shared + "/multi30k/test2016";
  o.out_dir = dir + "/m30k";
  o.vocab_size = 2000;
  const nlohmann::json m = run_prepare(o);
  EXPECT_EQ(m["splits"]["train"]["pairs"].get<int>() + m["splits"]["train"]["dropped_empty"].get<int>() +
                m["splits"]["train"]["dropped_too_long"].get<int>(),
            29000);
  EXPECT_EQ(m["splits"]["valid"]["pairs"], 1014);
  EXPECT_EQ(m["splits"]["test"]["pairs"], 1000);
  EXPECT_EQ(read_text_file(o.out_dir + "/test.raw.de"), read_text_file(shared + "/multi30k/test2016.de"));

  PrepareOptions g;  // IWSLT'14 De-En valid: gzip, Moses-tokenized, lowercased; German source
  g.train_prefix = g.valid_prefix = shared + "/iwslt14-de-en/valid";
  g.src_lang = "de";
  g.tgt_lang = "en";
  g.out_dir = dir + "/iwslt";
  g.vocab_size = 1000;
  const nlohmann::json mi = run_prepare(g);
  EXPECT_GT(mi["splits"]["valid"]["pairs"].get<int>(), 7000);
  EXPECT_EQ(read_text_lines(o.out_dir + "/valid.raw.en").size(), 1014u);
}
