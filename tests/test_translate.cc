// thanos translate end to end: a corpus the test writes is prepared, a SuperTransformer trained for
// a few updates and one SubTransformer extracted; then text goes through the command.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"
#include "translation_fixture.h"
#include <nlohmann/json.hpp>

#include "thanos/commands/eval.h"
#include "thanos/commands/prepare.h"
#include "thanos/commands/score.h"
#include "thanos/commands/train.h"
#include "thanos/commands/translate.h"
#include "thanos/common/random.h"
#include "thanos/common/text.h"

using namespace thanos;
using thanos::testing::CliResult;
using thanos::testing::run_cli;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

// Lines the command wrote to standard output: its own messages on standard error start with
// "thanos" (run_cli merges both streams).
std::vector<std::string> translation_lines(const std::string& output) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(output)) {
    if (l.rfind("thanos", 0) != 0) out.push_back(l);
  }
  return out;
}

// Prepared data, a briefly trained SuperTransformer, a SubTransformer config and the extracted
// standalone model, built once for the suite.
class Translate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(::testing::TempDir() + "/thanos_translate_" + std::to_string(::getpid()));
    thanos::testing::build_translation_fixture(*dir_);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string dir() { return *dir_; }
  // The same corpus prepared with a vocabulary of 60 instead of 50 (made once, on first use).
  static std::string prepared_with_other_vocabulary() {
    PrepareOptions po;
    po.train_prefix = dir() + "/train";
    po.valid_prefix = dir() + "/valid";
    po.test_prefix = dir() + "/test";
    po.out_dir = dir() + "/prepared_other";
    po.vocab_size = 60;
    if (!fs::exists(po.out_dir)) run_prepare(po);
    return po.out_dir;
  }
  static std::string super_args() {
    return "--model " + dir() + "/super/checkpoint_last.pt --config " + dir() + "/sub.yml --data " + dir() + "/prepared";
  }
  // In-process translation of `text` with the SuperTransformer and `sub.yml`.
  static std::string translate_text(const std::string& text, int max_tokens, int beam) {
    TranslateOptions o;
    o.model_path = dir() + "/super/checkpoint_last.pt";
    o.config_path = dir() + "/sub.yml";
    o.spm_path = dir() + "/prepared/spm.model";
    o.max_tokens = max_tokens;
    o.generation.beam = beam;
    o.generation.max_len_b = 12;
    std::istringstream in(text);
    std::ostringstream out;
    run_translate(o, nullptr, in, out);
    return out.str();
  }

 private:
  static std::string* dir_;
};
std::string* Translate::dir_ = nullptr;

}  // namespace

TEST_F(Translate, HelpListsTheOptions) {
  const CliResult r = run_cli("translate --help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* opt : {"--model", "--config", "--spm", "--data", "--input", "--output", "--beam", "--lenpen",
                          "--max-len-a", "--max-len-b", "--min-len", "--max-tokens", "--preset", "--no-cache"}) {
    EXPECT_NE(r.output.find(opt), std::string::npos) << opt;
  }
  EXPECT_NE(r.output.find("hat-wmt|hat-iwslt"), std::string::npos) << r.output;
}

TEST_F(Translate, KeepsLineCountEmptyLinesAndInputOrder) {
  const std::string input = "one two three four five six\n\nred\n   \ncat dog\nseven eight nine ten one two three\nbird";
  const std::string in_path = dir() + "/input.txt", out_path = dir() + "/out/output.txt";
  std::ofstream(in_path) << input;
  fs::create_directories(dir() + "/out");
  // A small token budget: several batches, sorted by length, so input order must be restored.
  const CliResult r = run_cli("translate " + super_args() + " --input " + in_path + " --output " + out_path +
                              " --beam 2 --max-len-b 12 --max-tokens 16");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("translated 5/5 sentences"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sentences/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("7 lines (5 sentences)"), std::string::npos) << r.output;
  // Written through a temporary file and renamed: nothing else is left in the folder.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir() + "/out"), fs::directory_iterator()), 1);
  const std::string text = read_text_file(out_path);
  const std::vector<std::string> got = lines_of(text);
  ASSERT_EQ(got.size(), 7u) << text;
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[3], "");
  // Each line equals its translation alone (one batch per sentence, no padding).
  const std::vector<std::string> in_lines = lines_of(input);
  for (std::size_t i = 0; i < in_lines.size(); ++i) {
    if (got[i].empty()) continue;
    EXPECT_EQ(lines_of(translate_text(in_lines[i] + "\n", 4096, 2)).at(0), got[i]) << "line " << i + 1;
  }
  // One big batch gives the same lines as many small ones.
  EXPECT_EQ(translate_text(input, 4096, 2), text);
}

TEST_F(Translate, StandaloneModelFromStandardInputMatchesTheSuperTransformer) {
  const std::string in_path = dir() + "/stdin.txt", out_path = dir() + "/super_out.txt";
  std::ofstream(in_path) << "one two\nblue bird cat\n";
  const CliResult r = run_cli("translate --model " + dir() + "/sub.pt --spm " + dir() +
                              "/prepared/spm.model --preset hat-wmt --max-len-b 12 < " + in_path);
  ASSERT_EQ(r.code, 0) << r.output;
  const CliResult s =
      run_cli("translate " + super_args() + " --preset hat-wmt --max-len-b 12 --no-cache --input " + in_path +
              " --output " + out_path);
  ASSERT_EQ(s.code, 0) << s.output;
  const std::vector<std::string> super_lines = lines_of(read_text_file(out_path));
  ASSERT_EQ(super_lines.size(), 2u);
  EXPECT_EQ(translation_lines(r.output), super_lines) << r.output;
}

TEST_F(Translate, BadInputGivesClearErrors) {
  const std::string super = dir() + "/super/checkpoint_last.pt", spm = dir() + "/prepared/spm.model";
  const std::string in_path = dir() + "/bad_input.txt";
  std::ofstream(in_path) << "one\n" << "tw\xff" << "o\n";
  CliResult r = run_cli("translate --model " + super + " --spm " + spm + " --input " + in_path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("is a SuperTransformer: give --config"), std::string::npos) << r.output;

  r = run_cli("translate --model " + super + " --config " + dir() + "/sub.yml --input " + in_path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("give --spm MODEL"), std::string::npos) << r.output;

  r = run_cli("translate " + super_args() + " --input " + in_path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find(in_path + ", line 2: invalid UTF-8 at byte 3"), std::string::npos) << r.output;

  // A standalone model with a config that is not its own.
  const std::string other = dir() + "/other.yml";
  std::string sub_yaml = read_text_file(dir() + "/sub.yml");
  sub_yaml.replace(sub_yaml.find("decoder-embed-dim-subtransformer: 16"), 36, "decoder-embed-dim-subtransformer: 32");
  std::ofstream(other) << sub_yaml;
  r = run_cli("translate --model " + dir() + "/sub.pt --config " + other + " --spm " + spm + " --input " + in_path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("leave out --config"), std::string::npos) << r.output;

  // A sentencepiece model of another vocabulary.
  const std::string other_data = prepared_with_other_vocabulary();
  r = run_cli("translate --model " + dir() + "/sub.pt --data " + other_data + " --input " + in_path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("use the model's own sentencepiece model"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("was trained on prepared data with manifest hash"), std::string::npos) << r.output;

  r = run_cli("translate --model " + dir() + "/sub.pt --spm " + spm + " --preset wmt < /dev/null");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--preset"), std::string::npos) << r.output;

  // Empty input: empty output, no error.
  r = run_cli("translate --model " + dir() + "/sub.pt --spm " + spm + " < /dev/null");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(translation_lines(r.output).empty()) << r.output;
  EXPECT_NE(r.output.find("0 lines (0 sentences)"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------- thanos eval (same fixture)

TEST_F(Translate, EvalEqualsTranslateThenScore) {
  // Path 1: eval on the prepared test split (binarized ids, raw references).
  const std::string hyp_path = dir() + "/eval_hyp.txt";
  const std::string gen = " --beam 2 --lenpen 0.6 --max-len-b 12";
  const CliResult r = run_cli("eval --model " + dir() + "/sub.pt --data " + dir() + "/prepared --json --fairseq-bleu" +
                              gen + " --output " + hyp_path);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto json_start = r.output.find("{\n");
  ASSERT_NE(json_start, std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output.substr(json_start));
  EXPECT_EQ(j["sentences"].get<int>(), 15);
  EXPECT_NE(r.output.find("translated 15/15 sentences"), std::string::npos) << r.output;

  // Path 2: translate the raw test sources with the same settings, then `thanos score`.
  const std::string tr_path = dir() + "/translate_hyp.txt";
  const CliResult t = run_cli("translate --model " + dir() + "/sub.pt --data " + dir() + "/prepared --input " + dir() +
                              "/prepared/test.raw.en --output " + tr_path + gen);
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_EQ(read_text_file(hyp_path), read_text_file(tr_path));

  ScoreOptions so;
  so.hyp_path = tr_path;
  so.ref_paths = {dir() + "/prepared/test.raw.de"};
  const ScoreReport bleu = run_score(so);
  EXPECT_DOUBLE_EQ(j["bleu"]["score"].get<double>(), bleu.scores.at(0));
  EXPECT_EQ(j["bleu"]["signature"].get<std::string>(), bleu.signature);
  so.metric = "chrf";
  EXPECT_DOUBLE_EQ(j["chrf"]["score"].get<double>(), run_score(so).scores.at(0));
  so.metric = "fairseq-bleu";
  EXPECT_DOUBLE_EQ(j["fairseq_bleu"]["score"].get<double>(), run_score(so).scores.at(0));
  EXPECT_GT(j["sentences_per_second"].get<double>(), 0.0);

  // The text form names both metrics, their signatures and the decoding speed.
  const CliResult text = run_cli("eval --model " + dir() + "/super/checkpoint_last.pt --config " + dir() +
                                 "/sub.yml --data " + dir() + "/prepared" + gen);
  ASSERT_EQ(text.code, 0) << text.output;
  for (const char* part : {"BLEU = ", "tok:13a|smooth:exp|version:2.6.0|impl:thanos-", "chrF2 = ", "nc:6|nw:0",
                           "decoding: 15 sentences", "ms/sentence"}) {
    EXPECT_NE(text.output.find(part), std::string::npos) << part << "\n" << text.output;
  }
  // The SuperTransformer under sub.yml scores as its extracted SubTransformer.
  EXPECT_NE(text.output.find(bleu.lines.at(0)), std::string::npos) << bleu.lines.at(0) << "\n" << text.output;
}

TEST_F(Translate, EvalBadInputGivesClearErrors) {
  const std::string super = dir() + "/super/checkpoint_last.pt";
  CliResult r = run_cli("eval --model " + super + " --data " + dir() + "/prepared");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("is a SuperTransformer: give --config"), std::string::npos) << r.output;

  r = run_cli("eval --model " + dir() + "/sub.pt --data " + dir() + "/prepared --split nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("no split 'nope' (it has test, train, valid)"), std::string::npos) << r.output;

  r = run_cli("eval --model " + dir() + "/sub.pt --data " + dir() + "/prepared --compound-split");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--compound-split applies to --fairseq-bleu only"), std::string::npos) << r.output;

  r = run_cli("eval --model " + dir() + "/sub.pt --data " + dir() + "/prepared --tokenize moses");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("moses"), std::string::npos) << r.output;

  // Data of another vocabulary.
  const std::string other_data = prepared_with_other_vocabulary();
  r = run_cli("eval --model " + dir() + "/sub.pt --data " + other_data);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("vocabulary 50/50 (source/target), but " + other_data + " has 60"), std::string::npos)
      << r.output;
}
