// Scoring: sacreBLEU-exact BLEU / chrF (hand-computed cases, then sacreBLEU's own numbers on the
// shared test vectors), fairseq's BLEU, the tokenizers and Unicode primitives, and `thanos score`.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "thanos/commands/score.h"
#include "thanos/decode/bleu.h"
#include "thanos/decode/chrf.h"
#include "thanos/decode/signature.h"
#include "thanos/decode/significance.h"
#include "thanos/decode/tokenize.h"

using namespace thanos;
using thanos::testing::invalid_argument_message;

namespace {

using Lines = std::vector<std::string>;

std::string score_dir() {
  static const std::string dir = [] {
    std::string d = ::testing::TempDir() + "/thanos_score_" + std::to_string(::getpid());
    ::mkdir(d.c_str(), 0755);
    return d;
  }();
  return dir;
}

std::string write_file(const std::string& name, const std::string& contents) {
  const std::string path = score_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

double geo_mean(std::initializer_list<double> ps) {
  double log_sum = 0;
  for (double p : ps) log_sum += std::log(p);
  return std::exp(log_sum / static_cast<double>(ps.size()));
}

}  // namespace

// ---------------------------------------------------------------- tokenizers

TEST(Tokenize13a, SkippedAndEntities) {
  EXPECT_EQ(tokenize_13a("We<skipped>went"), "Wewent");
  EXPECT_EQ(tokenize_13a("&quot;a&quot; &amp; b &lt;c&gt;"), "\" a \" & b < c >");
  // Decoded in order &quot; &amp; &lt; &gt;, each over the whole line.
  EXPECT_EQ(tokenize_13a("&amp;lt;"), "<");
  EXPECT_EQ(tokenize_13a("&amp;quot;"), "& quot ;");
  EXPECT_EQ(tokenize_13a("&apos; &#39; &nbsp; &QUOT;"), "& apos ; & # 39 ; & nbsp ; & QUOT ;");
}

TEST(Tokenize13a, AsciiPunctuationOnly) {
  EXPECT_EQ(tokenize_13a("Hello, world!"), "Hello , world !");
  EXPECT_EQ(tokenize_13a("$5 a/b [x] {y} a|b ~ ^_`"), "$ 5 a / b [ x ] { y } a | b ~ ^ _ `");
  EXPECT_EQ(tokenize_13a("don't"), "don't");
  // No non-ASCII character is split off.
  EXPECT_EQ(tokenize_13a("„Hallo“ «bonjour» ’s – … €5 。，"), "„Hallo“ «bonjour» ’s – … €5 。，");
}

TEST(Tokenize13a, PeriodCommaAndDash) {
  EXPECT_EQ(tokenize_13a("1,000.5 and 3.14.15"), "1,000.5 and 3.14.15");
  EXPECT_EQ(tokenize_13a(".5"), ". 5");
  EXPECT_EQ(tokenize_13a("a.1"), "a . 1");
  EXPECT_EQ(tokenize_13a("1."), "1 .");
  EXPECT_EQ(tokenize_13a("U.S.A."), "U . S . A .");
  EXPECT_EQ(tokenize_13a("x..y a, b,c"), "x . . y a , b , c");
  EXPECT_EQ(tokenize_13a("5-6"), "5 - 6");
  EXPECT_EQ(tokenize_13a("v1.2.3-beta"), "v1.2.3 - beta");
  EXPECT_EQ(tokenize_13a("1--2"), "1 - -2");
  EXPECT_EQ(tokenize_13a("COVID-19 -5 E-Mail-Adresse"), "COVID-19 -5 E-Mail-Adresse");
  EXPECT_EQ(tokenize_13a("\xef\xbc\x91.5"), "\xef\xbc\x91 . 5");  // a full-width digit is not a digit
}

TEST(Tokenize13a, PythonWhitespace) {
  // U+00A0, U+3000 separate (str.split()); U+200B and U+00AD do not.
  EXPECT_EQ(tokenize_13a("a\u00a0b\u3000c\u200bd\u00ade  \t f "), "a b c\u200bd\u00ade f");
  EXPECT_EQ(tokenize_13a(""), "");
  EXPECT_EQ(tokenize_13a("   "), "");
  EXPECT_EQ(tokenize(" a  b ", Tokenizer::kNone), "a b");
}

TEST(TokenizeIntl, UnicodePunctuationAndSymbols) {
  EXPECT_EQ(tokenize_intl("Hello, world!"), "Hello , world !");
  EXPECT_EQ(tokenize_intl("„Hallo“"), "„ Hallo “");
  EXPECT_EQ(tokenize_intl("1,000.5"), "1,000.5");  // punctuation between numbers stays
  EXPECT_EQ(tokenize_intl("€5 5+3"), "€ 5 5 + 3");  // symbols (Sc, Sm) always split
  EXPECT_EQ(tokenize_intl("a…b"), "a … b");
  EXPECT_EQ(tokenize_intl("x²"), "x²");  // superscript two is a number (No), not a symbol
  EXPECT_EQ(tokenize_intl("日本。"), "日本 。");
  EXPECT_EQ(tokenize_intl("don't (a)"), "don ' t ( a )");
  EXPECT_EQ(tokenize_intl("&amp; <skipped>"), "& amp ; < skipped >");  // no entity or tag handling
  EXPECT_EQ(parse_tokenizer("intl"), Tokenizer::kIntl);
  EXPECT_NE(invalid_argument_message([] { parse_tokenizer("zh"); }).find("13a, intl or none"), std::string::npos);
}

TEST(TokenizeUnicode, CategoriesWhitespaceAndLower) {
  EXPECT_TRUE(is_unicode_punctuation(U'\u201e'));
  EXPECT_TRUE(is_unicode_symbol(U'\u20ac'));
  EXPECT_TRUE(is_unicode_symbol(U'\U0001F600'));
  EXPECT_TRUE(is_unicode_number(U'\u0660'));
  EXPECT_FALSE(is_unicode_punctuation(U'a'));
  EXPECT_TRUE(is_python_space(U'\u202f'));
  EXPECT_TRUE(is_python_space(U'\x1c'));
  EXPECT_FALSE(is_python_space(U'\u200b'));
  EXPECT_FALSE(is_python_space(U'\ufeff'));
  EXPECT_EQ(split_whitespace("a\u2028b\u0085c"), (Lines{"a", "b", "c"}));
  EXPECT_EQ(python_lower("STRASSE Straße ÄÖÜ"), "strasse straße äöü");
  EXPECT_EQ(python_lower("\u0130"), "i\u0307");  // one code point becomes two
  EXPECT_EQ(python_lower("ΟΔΟΣ ΣΑ Σ"), "οδος σα σ");  // Python's final sigma rule
  EXPECT_EQ(python_lower("ΑΣ'"), "ας'");
}

TEST(TokenizeUnicode, StrictUtf8) {
  EXPECT_EQ(utf8_decode("a\xc3\xa9\xf0\x9f\x98\x80"), (std::u32string{U'a', U'\u00e9', U'\U0001F600'}));
  EXPECT_EQ(utf8_encode(U"a\u00e9\U0001F600"), "a\xc3\xa9\xf0\x9f\x98\x80");
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe2\x82", "\xff"}) {
    EXPECT_NE(utf8_error_offset(bad), std::string::npos) << bad;
    EXPECT_THROW(utf8_decode(bad), std::invalid_argument);
  }
  EXPECT_EQ(utf8_error_offset("ok\xe2\x82"), 2u);
  EXPECT_EQ(utf8_error_offset("fine \xe2\x82\xac"), std::string::npos);
}

// ---------------------------------------------------------------- BLEU by hand

TEST(BleuCorpus, ClipsRepeatedNgrams) {
  // "the" appears once in the reference: 1 of the 4 unigrams matches; nothing longer does.
  const BleuScore s = corpus_bleu({"the the the the"}, {{"the cat"}});
  EXPECT_EQ(s.counts, (std::array<std::int64_t, 4>{1, 0, 0, 0}));
  EXPECT_EQ(s.totals, (std::array<std::int64_t, 4>{4, 3, 2, 1}));
  EXPECT_EQ(s.sys_len, 4);
  EXPECT_EQ(s.ref_len, 2);
  EXPECT_DOUBLE_EQ(s.bp, 1.0);
  // exp smoothing: the k-th order without matches gets 100 / (2^k * total).
  EXPECT_DOUBLE_EQ(s.precisions[0], 25.0);
  EXPECT_DOUBLE_EQ(s.precisions[1], 100.0 / (2 * 3));
  EXPECT_DOUBLE_EQ(s.precisions[2], 100.0 / (4 * 2));
  EXPECT_DOUBLE_EQ(s.precisions[3], 100.0 / (8 * 1));
  EXPECT_NEAR(s.score, geo_mean({25.0, 100.0 / 6, 12.5, 12.5}), 1e-12);
}

TEST(BleuCorpus, SmoothingMethods) {
  BleuOptions o;
  o.smooth = BleuSmoothing::kFloor;  // default 0.1: precision 100 * 0.1 / total
  EXPECT_NEAR(corpus_bleu({"the the the the"}, {{"the cat"}}, o).score, geo_mean({25.0, 10.0 / 3, 5.0, 10.0}), 1e-12);
  o.smooth_value = 0.5;
  EXPECT_NEAR(corpus_bleu({"the the the the"}, {{"the cat"}}, o).score, geo_mean({25.0, 50.0 / 3, 25.0, 50.0}), 1e-12);
  o.smooth = BleuSmoothing::kAddK;  // k added to matches and totals of orders 2-4
  o.smooth_value.reset();           // default 1
  BleuScore s = corpus_bleu({"the the the the"}, {{"the cat"}}, o);
  EXPECT_NEAR(s.score, geo_mean({25.0, 25.0, 100.0 / 3, 50.0}), 1e-12);
  EXPECT_EQ(s.counts[1], 0);  // the raw statistics are reported
  o.smooth = BleuSmoothing::kNone;
  EXPECT_EQ(corpus_bleu({"the the the the"}, {{"the cat"}}, o).score, 0.0);
  EXPECT_EQ(parse_smoothing("add-k"), BleuSmoothing::kAddK);
  EXPECT_THROW(parse_smoothing("add-one"), std::invalid_argument);
}

TEST(BleuCorpus, BrevityPenaltyAndMissingOrders) {
  // 3 of 6 tokens, all matching. There are no 4-grams at all: precision 0, BLEU 0 (never smoothed).
  BleuScore s = corpus_bleu({"a b c"}, {{"a b c d e f"}});
  EXPECT_DOUBLE_EQ(s.bp, std::exp(1.0 - 2.0));
  EXPECT_EQ(s.totals[3], 0);
  EXPECT_EQ(s.precisions[3], 0.0);
  EXPECT_EQ(s.score, 0.0);
  // Corpus-level: a longer segment supplies 4-grams, an empty hypothesis adds reference length.
  s = corpus_bleu({"a b c d", ""}, {{"a b c d", "x y"}});
  EXPECT_EQ(s.sys_len, 4);
  EXPECT_EQ(s.ref_len, 6);
  EXPECT_NEAR(s.score, 100.0 * std::exp(1.0 - 6.0 / 4.0), 1e-10);
  EXPECT_EQ(s.format(), "BLEU = 60.65 100.0/100.0/100.0/100.0 (BP = 0.607 ratio = 0.667 hyp_len = 4 ref_len = 6)");
  // Nothing matches: 0, and an empty hypothesis corpus has BP 0.
  EXPECT_EQ(corpus_bleu({"x y z w"}, {{"a b c d"}}).score, 0.0);
  EXPECT_EQ(corpus_bleu({""}, {{"a b"}}).bp, 0.0);
  EXPECT_EQ(corpus_bleu({}, {{}}).score, 0.0);
}

TEST(BleuCorpus, MultipleReferences) {
  // Clipping uses the largest count in any one reference: "a" twice (ref 2), "b" once (ref 1).
  BleuScore s = corpus_bleu({"a a b"}, {{"a b"}, {"a a"}});
  EXPECT_EQ(s.counts[0], 3);
  // Closest reference length, the shorter on a tie.
  EXPECT_EQ(bleu_statistics("1 2 3 4 5", {"a b c", "a b c d e f g"}, {}).ref_len, 3);
  EXPECT_EQ(bleu_statistics("1 2 3 4 5", {"a b c d e f g", "a b c"}, {}).ref_len, 3);
  EXPECT_EQ(bleu_statistics("1 2 3 4 5", {"a b", "a b c d e f"}, {}).ref_len, 6);
  EXPECT_EQ(bleu_statistics("1 2 3 4 5", {"a b c d e f", "a b c d"}, {}).ref_len, 4);
  EXPECT_EQ(bleu_statistics("", {"", "a"}, {}).ref_len, 0);
  EXPECT_NE(invalid_argument_message([] { corpus_bleu({"a", "b"}, {{"a", "b"}, {"a"}}); }).find("reference stream 2"),
            std::string::npos);
}

TEST(BleuCorpus, LowercaseAndTokenizers) {
  BleuOptions o;
  EXPECT_LT(corpus_bleu({"THE CAT SAT DOWN"}, {{"the cat sat down"}}, o).score, 1.0);
  o.lowercase = true;
  EXPECT_NEAR(corpus_bleu({"THE CAT SAT DOWN"}, {{"the cat sat down"}}, o).score, 100.0, 1e-9);
  o = BleuOptions{};
  o.tokenize = Tokenizer::kNone;
  EXPECT_EQ(bleu_tokens("Hello, world!", o), (Lines{"Hello,", "world!"}));
  o.tokenize = Tokenizer::kIntl;
  EXPECT_EQ(bleu_tokens("„Hallo“", o), (Lines{"„", "Hallo", "“"}));
}

TEST(BleuCorpus, Signatures) {
  const std::string impl = "|impl:" + scorer_impl_tag();
  EXPECT_EQ(scorer_impl_tag().rfind("thanos-", 0), 0u);
  EXPECT_EQ(bleu_signature({}, 1), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" + impl);
  BleuOptions o = BleuOptions::sentence_level();
  o.lowercase = true;
  o.tokenize = Tokenizer::kIntl;
  o.smooth = BleuSmoothing::kFloor;
  EXPECT_EQ(bleu_signature(o, 2), "nrefs:2|case:lc|eff:yes|tok:intl|smooth:floor[0.10]|version:2.6.0" + impl);
  o.smooth = BleuSmoothing::kAddK;
  o.smooth_value = 0.5;
  EXPECT_EQ(bleu_signature(o, 1), "nrefs:1|case:lc|eff:yes|tok:intl|smooth:add-k[0.50]|version:2.6.0" + impl);
  EXPECT_EQ(chrf_signature({}, 1), "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0" + impl);
  EXPECT_EQ(chrf_signature(ChrfOptions::chrf_plus_plus(), 2), "nrefs:2|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0" + impl);
}

TEST(BleuSentence, EffectiveOrder) {
  // Only 3 tokens: with the effective order BLEU averages orders 1-3, all 100%, times BP.
  BleuScore s = sentence_bleu("a b c", {"a b c d e f"});
  EXPECT_NEAR(s.score, 100.0 * std::exp(-1.0), 1e-10);
  // Without it (corpus defaults) the missing 4-grams give 0.
  EXPECT_EQ(sentence_bleu("a b c", {"a b c d e f"}, BleuOptions{}).score, 0.0);
  // Orders with n-grams but no matches are still smoothed.
  s = sentence_bleu("a b x", {"a b c"});
  EXPECT_NEAR(s.score, geo_mean({200.0 / 3, 50.0, 100.0 / 2}), 1e-10);
  EXPECT_EQ(sentence_bleu("", {"a"}).score, 0.0);
}

// ---------------------------------------------------------------- fairseq BLEU

TEST(BleuFairseq, CompoundSplitIsHatsPerlOneLiner) {
  EXPECT_EQ(compound_split("state-of-the-art"), "state ##AT##-##AT## of ##AT##-##AT## the ##AT##-##AT## art");
  EXPECT_EQ(compound_split("a-b-c"), "a ##AT##-##AT## b-c");  // non-overlapping matches
  EXPECT_EQ(compound_split("a - b -5 x- -y"), "a - b -5 x- -y");
  EXPECT_EQ(compound_split("Ä-b"), "Ä ##AT##-##AT## b");
}

TEST(BleuFairseq, ScoreAndFormat) {
  FairseqBleuScore s = fairseq_bleu({"a b c d"}, {"a b c d"});
  EXPECT_NEAR(s.score, 100.0, 1e-9);
  EXPECT_EQ(s.format(), "BLEU4 = 100.00, 100.0/100.0/100.0/100.0 (BP=1.000, ratio=1.000, syslen=4, reflen=4)");
  // No smoothing: a missing order is 0.
  EXPECT_EQ(fairseq_bleu({"a b c"}, {"a b c"}).score, 0.0);
  // BP = min(1, exp(1 - ref/sys)).
  s = fairseq_bleu({"a b c d"}, {"a b c d e f g h"});
  EXPECT_NEAR(s.bp, std::exp(-1.0), 1e-12);
  EXPECT_NEAR(s.score, 100.0 * std::exp(-1.0), 1e-9);
  // Punctuation is not split off: text must come tokenised.
  EXPECT_EQ(fairseq_bleu({"a b c d."}, {"a b c d ."}).counts[0], 3);
}

TEST(BleuFairseq, DictionaryQuirks) {
  // An empty line is one end-of-sentence token, which matches an empty reference line.
  FairseqBleuScore s = fairseq_bleu({"a b c d", ""}, {"a b c d", ""});
  EXPECT_EQ(s.sys_len, 5);
  EXPECT_EQ(s.ref_len, 5);
  EXPECT_EQ(s.counts[0], 5);
  s = fairseq_bleu({""}, {"x"});
  EXPECT_EQ(s.sys_len, 1);
  EXPECT_EQ(s.counts[0], 0);
  // "<unk>" in the reference never matches.
  EXPECT_EQ(fairseq_bleu({"<unk> b"}, {"<unk> b"}).counts[0], 1);
  // Trailing "</s>" / "<pad>" and leading "<pad>" are trimmed.
  EXPECT_EQ(fairseq_bleu({"<pad> a b </s> <pad>"}, {"a b"}).sys_len, 2);
  // Compound splitting changes the tokens on both sides; lower-casing is --ignore-case.
  FairseqBleuOptions o;
  o.compound_split = true;
  o.lowercase = true;
  s = fairseq_bleu({"A well-known fact ."}, {"a well-known fact ."}, o);
  EXPECT_EQ(s.sys_len, 6);
  EXPECT_NEAR(s.score, 100.0, 1e-9);
  EXPECT_EQ(fairseq_bleu_signature(o), "fairseq-bleu|nrefs:1|case:lc|tok:none|split:compound|impl:" + scorer_impl_tag());
  EXPECT_THROW(fairseq_bleu({}, {}), std::invalid_argument);
  EXPECT_THROW(fairseq_bleu({"a"}, {}), std::invalid_argument);
}

// ---------------------------------------------------------------- chrF by hand

TEST(ChrfScore, CharacterNgramsByHand) {
  EXPECT_NEAR(corpus_chrf({"ab"}, {{"ab"}}).score, 100.0, 1e-12);
  // "abc" vs "abd": orders 1-3 have n-grams (2/3, 1/2, 0/1 on both sides); 4-6 have none.
  EXPECT_NEAR(corpus_chrf({"abc"}, {{"abd"}}).score, 100.0 * (2.0 / 3 + 0.5 + 0) / 3, 1e-12);
  // Precision and recall averaged separately, then F-beta with beta 2.
  const double p = (1.0 + 1.0) / 2, r = (2.0 / 3 + 0.5) / 2;
  const ChrfScore s = corpus_chrf({"ab"}, {{"abc"}});
  EXPECT_NEAR(s.score, 100.0 * 5 * p * r / (4 * p + r), 1e-12);
  EXPECT_EQ(s.stats.values.size(), 18u);
  EXPECT_EQ(s.stats.values[6], 0);  // order 3: no hypothesis trigram ...
  EXPECT_EQ(s.stats.values[7], 1);  // ... but the reference trigram is counted
  EXPECT_EQ(s.format(), "chrF2 = 63.64");
  // Whitespace is removed first; code points, not bytes.
  EXPECT_NEAR(corpus_chrf({"a b"}, {{"ab"}}).score, 100.0, 1e-12);
  EXPECT_NEAR(corpus_chrf({"é\u00a0ü"}, {{"éü"}}).score, 100.0, 1e-12);
  // One code point each: orders 1 (1 of 2) and 2 (0 of 1). Counted in bytes it would be 5 orders.
  EXPECT_NEAR(corpus_chrf({"\U0001F600x"}, {{"\U0001F600y"}}).score, 100.0 * (0.5 + 0) / 2, 1e-12);
}

TEST(ChrfScore, CorpusAggregationAndEmptyReferences) {
  // Statistics are summed before averaging (not a mean of sentence scores).
  EXPECT_NEAR(corpus_chrf({"ab", "abc"}, {{"ab", "abd"}}).score, 100.0 * (4.0 / 5 + 2.0 / 3 + 0) / 3, 1e-12);
  // A segment whose reference has no n-grams contributes nothing, hypothesis included.
  EXPECT_NEAR(corpus_chrf({"ab", "xyz"}, {{"ab", ""}}).score, 100.0, 1e-12);
  // An empty hypothesis still adds its reference's n-grams.
  EXPECT_LT(corpus_chrf({"ab", ""}, {{"ab", "xyz"}}).score, 100.0);
  EXPECT_EQ(corpus_chrf({"abc"}, {{"xyz"}}).score, 0.0);
  EXPECT_EQ(corpus_chrf({}, {{}}).score, 0.0);
}

TEST(ChrfScore, WordNgramsChrfPlusPlus) {
  const ChrfOptions pp = ChrfOptions::chrf_plus_plus();
  EXPECT_NEAR(corpus_chrf({"the cat"}, {{"the cat"}}, pp).score, 100.0, 1e-12);
  // "a cat." vs "a dog.": characters "acat." / "adog." (orders 1-5), words [a, cat, .] / [a, dog, .].
  EXPECT_NEAR(corpus_chrf({"a cat."}, {{"a dog."}}).score, 100.0 * 0.4 / 5, 1e-12);
  const ChrfScore s = corpus_chrf({"a cat."}, {{"a dog."}}, pp);
  EXPECT_NEAR(s.score, 100.0 * (0.4 + 2.0 / 3) / 7, 1e-12);
  EXPECT_EQ(s.name(), "chrF2++");
  // One punctuation mark comes off the end, else off the start: "(hi)" gives "(hi" and ")".
  const double p = (4 + 1.0 / 2 + 0) / 6, r = (4 + 1.0 / 3 + 0) / 6;
  EXPECT_NEAR(corpus_chrf({"(hi)"}, {{"(hi )"}}, pp).score, 100.0 * 5 * p * r / (4 * p + r), 1e-12);
  EXPECT_NEAR(corpus_chrf({"(hi)"}, {{"(hi )"}}).score, 100.0, 1e-12);
}

TEST(ChrfScore, MultipleReferencesLowercaseAndEps) {
  // Each segment takes the reference with the best segment-level chrF.
  EXPECT_NEAR(corpus_chrf({"abc"}, {{"xyz"}, {"abc"}}).score, 100.0, 1e-12);
  EXPECT_NEAR(corpus_chrf({"abc", "xyz"}, {{"xyz", "xyz"}, {"abc", "abc"}}).score, 100.0, 1e-12);
  ChrfOptions o;
  o.lowercase = true;
  EXPECT_NEAR(corpus_chrf({"ABC"}, {{"abc"}}, o).score, 100.0, 1e-12);
  EXPECT_EQ(chrf_signature(o, 1).substr(0, 16), "nrefs:1|case:lc|");
  // eps smoothing: per-order F-scores averaged over all 6 orders, empty ones counting ~0.
  o = ChrfOptions{};
  o.eps_smoothing = true;
  EXPECT_NEAR(corpus_chrf({"ab"}, {{"ab"}}, o).score, 100.0 * 2 / 6, 1e-9);
  EXPECT_NE(chrf_signature(o, 1).find("|eff:no|"), std::string::npos);
  EXPECT_NEAR(sentence_chrf("ab", {"abc"}).score, corpus_chrf({"ab"}, {{"abc"}}).score, 1e-12);
}

// ---------------------------------------------------------------- thanos score (library)

TEST(ScoreCommand, ReadsSegmentsLikeSacrebleu) {
  EXPECT_EQ(read_segments(write_file("seg1.txt", "a\n\n b \n"), "hypothesis"), (Lines{"a", "", " b "}));
  EXPECT_EQ(read_segments(write_file("seg2.txt", "a\nlast"), "hypothesis"), (Lines{"a", "last"}));
  EXPECT_EQ(read_segments(write_file("seg3.txt", ""), "hypothesis"), Lines{});
  EXPECT_EQ(read_segments(write_file("seg4.txt", "\n"), "hypothesis"), Lines{""});
  const std::string msg = invalid_argument_message([] { read_segments(write_file("bad.txt", "ok\nb\xff\n"), "reference"); });
  EXPECT_NE(msg.find("bad.txt' line 2: invalid UTF-8"), std::string::npos) << msg;
  const std::string missing = invalid_argument_message([] { read_segments(score_dir() + "/nope.txt", "reference"); });
  EXPECT_NE(missing.find("reference file '" + score_dir() + "/nope.txt'"), std::string::npos) << missing;
}

TEST(ScoreCommand, BleuChrfAndErrors) {
  ScoreOptions o;
  o.hyp_path = write_file("hyp.txt", "the cat sat on the mat\n\nhello world !\n");
  o.ref_paths = {write_file("ref.txt", "the cat sat on a mat\nsomething\nhello world!\n")};
  ScoreReport r = run_score(o);
  const BleuScore expected =
      corpus_bleu({"the cat sat on the mat", "", "hello world !"}, {{"the cat sat on a mat", "something", "hello world!"}});
  EXPECT_DOUBLE_EQ(r.data["score"].get<double>(), expected.score);
  EXPECT_EQ(r.data["sys_len"], expected.sys_len);
  EXPECT_EQ(r.data["counts"].size(), 4u);
  EXPECT_EQ(r.lines, Lines{expected.format()});
  EXPECT_EQ(r.data["signature"], bleu_signature({}, 1));
  EXPECT_EQ(r.data["segments"], 3);
  EXPECT_NE(render_score_text(r).find("\nsignature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0|impl:"),
            std::string::npos);

  o.sentence = true;
  r = run_score(o);
  ASSERT_EQ(r.scores.size(), 3u);
  EXPECT_EQ(r.data["sentences"].size(), 3u);
  EXPECT_NE(r.signature.find("|eff:yes|"), std::string::npos);
  EXPECT_NEAR(r.scores[2], 100.0, 1e-9);

  o.sentence = false;
  o.metric = "chrf++";
  r = run_score(o);
  EXPECT_EQ(r.data["name"], "chrF2++");
  EXPECT_NE(r.signature.find("|nw:2|"), std::string::npos);

  // Options that do not apply, and a line-count mismatch naming both files and counts.
  o.tokenize = "intl";
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("--tokenize"), std::string::npos);
  o.tokenize.reset();
  o.metric = "bleu";
  o.smooth_method = "exp";
  o.smooth_value = 0.2;
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("floor or add-k"), std::string::npos);
  o.smooth_method.reset();
  o.smooth_value.reset();
  o.ref_paths.push_back(write_file("ref_short.txt", "one\ntwo\n"));
  const std::string msg = invalid_argument_message([&] { run_score(o); });
  EXPECT_NE(msg.find("hyp.txt' has 3 lines but reference file '" + score_dir() + "/ref_short.txt' has 2 lines"),
            std::string::npos)
      << msg;
  o.ref_paths = {score_dir() + "/missing_ref.txt"};
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("missing_ref.txt"), std::string::npos);
  o.metric = "bleu2";
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("fairseq-bleu"), std::string::npos);
}

TEST(ScoreCommand, FairseqBleuMode) {
  ScoreOptions o;
  o.metric = "fairseq-bleu";
  o.compound_split = true;
  o.hyp_path = write_file("fs_hyp.txt", "a well-known fact , said he .\n");
  o.ref_paths = {write_file("fs_ref.txt", "a well-known fact , he said .\n")};
  ScoreReport r = run_score(o);
  EXPECT_EQ(r.data["name"], "BLEU4");
  EXPECT_EQ(r.data["sys_len"], 9);
  EXPECT_EQ(r.lines[0].rfind("BLEU4 = ", 0), 0u);
  EXPECT_EQ(r.signature.rfind("fairseq-bleu|", 0), 0u);
  o.ref_paths.push_back(o.ref_paths[0]);
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("exactly one reference"), std::string::npos);
  o.ref_paths.pop_back();
  o.metric = "bleu";
  EXPECT_NE(invalid_argument_message([&] { run_score(o); }).find("--compound-split"), std::string::npos);
}

// ---------------------------------------------------------------- sacreBLEU's own numbers

namespace {

std::string sacrebleu_cases_dir() { return std::string(THANOS_SHARED_DATA) + "/sacrebleu/cases"; }

std::vector<std::filesystem::path> sacrebleu_cases() {
  std::vector<std::filesystem::path> cases;
  std::error_code ec;
  if (!std::filesystem::is_directory(sacrebleu_cases_dir(), ec)) return cases;
  for (const auto& e : std::filesystem::directory_iterator(sacrebleu_cases_dir()))
    if (std::filesystem::exists(e.path() / "expected.json")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  return cases;
}

}  // namespace

TEST(ScoringParity, MatchesSacrebleuOnSharedCases) {
  const auto cases = sacrebleu_cases();
  if (cases.empty()) GTEST_SKIP() << "no sacreBLEU test vectors at " << sacrebleu_cases_dir();
  double max_bleu = 0, max_chrf = 0;
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    nlohmann::json ex;
    std::ifstream(dir / "expected.json") >> ex;
    const Lines hyps = read_segments((dir / "hyp.txt").string(), "hypothesis");
    std::vector<Lines> refs{read_segments((dir / "ref.txt").string(), "reference")};
    if (std::filesystem::exists(dir / "ref2.txt")) refs.push_back(read_segments((dir / "ref2.txt").string(), "reference"));
    ASSERT_EQ(refs.size(), ex["nrefs"].get<std::size_t>());

    const BleuScore bleu = corpus_bleu(hyps, refs);
    const ChrfScore chrf = corpus_chrf(hyps, refs);
    const double db = std::abs(bleu.score - ex["bleu"].get<double>());
    const double dc = std::abs(chrf.score - ex["chrf"].get<double>());
    max_bleu = std::max(max_bleu, db);
    max_chrf = std::max(max_chrf, dc);
    EXPECT_LE(db, 0.01) << "BLEU " << bleu.score << " vs sacreBLEU " << ex["bleu"];
    EXPECT_LE(dc, 0.01) << "chrF " << chrf.score << " vs sacreBLEU " << ex["chrf"];
    // The intermediate numbers, to say where a mismatch comes from.
    EXPECT_EQ(bleu.sys_len, ex["sys_len"].get<std::int64_t>());
    EXPECT_EQ(bleu.ref_len, ex["ref_len"].get<std::int64_t>());
    for (int n = 0; n < kBleuOrder; ++n) {
      EXPECT_EQ(bleu.counts[n], ex["counts"][n].get<std::int64_t>()) << "order " << n + 1;
      EXPECT_EQ(bleu.totals[n], ex["totals"][n].get<std::int64_t>()) << "order " << n + 1;
      EXPECT_NEAR(bleu.precisions[n], ex["precisions"][n].get<double>(), 1e-9) << "order " << n + 1;
    }
    EXPECT_NEAR(bleu.bp, ex["bp"].get<double>(), 1e-12);
    EXPECT_EQ(bleu.format(), ex["bleu_str"].get<std::string>());
    EXPECT_EQ(chrf.format(), ex["chrf_str"].get<std::string>());
    // Our signatures are sacreBLEU's plus the implementation tag.
    EXPECT_EQ(bleu_signature({}, refs.size()), ex["bleu_signature"].get<std::string>() + "|impl:" + scorer_impl_tag());
    EXPECT_EQ(chrf_signature({}, refs.size()), ex["chrf_signature"].get<std::string>() + "|impl:" + scorer_impl_tag());
  }
  std::cout << "[ sacreBLEU parity ] " << cases.size() << " cases, max |BLEU diff| = " << max_bleu
            << ", max |chrF diff| = " << max_chrf << "\n";
  RecordProperty("max_bleu_diff", std::to_string(max_bleu));
  RecordProperty("max_chrf_diff", std::to_string(max_chrf));
}

// ---------------------------------------------------------------- the CLI

#ifdef THANOS_BINARY
TEST(ScoreCli, HelpJsonAndErrors) {
  using thanos::testing::run_cli;
  auto help = run_cli("score --help");
  EXPECT_EQ(help.code, 0) << help.output;
  for (const char* opt : {"--hyp", "--ref", "--metric", "--tokenize", "--smooth-method", "--sentence", "--compound-split",
                          "--json", "--lowercase"})
    EXPECT_NE(help.output.find(opt), std::string::npos) << opt;

  const std::string hyp = write_file("cli_hyp.txt", "the cat sat on the mat\nhello world !\n");
  const std::string ref = write_file("cli_ref.txt", "the cat sat on a mat\nhello world!\n");
  auto text = run_cli("score --hyp '" + hyp + "' --ref '" + ref + "'");
  EXPECT_EQ(text.code, 0) << text.output;
  EXPECT_EQ(text.output.rfind("BLEU = ", 0), 0u) << text.output;
  EXPECT_NE(text.output.find("\nsignature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0|impl:thanos-"),
            std::string::npos)
      << text.output;

  auto json = run_cli("score --hyp '" + hyp + "' --ref '" + ref + "' --ref '" + ref + "' --metric chrf --json");
  ASSERT_EQ(json.code, 0) << json.output;
  const auto j = nlohmann::json::parse(json.output);
  EXPECT_EQ(j["name"], "chrF2");
  EXPECT_EQ(j["nrefs"], 2);
  EXPECT_NEAR(j["score"].get<double>(),
              corpus_chrf({"the cat sat on the mat", "hello world !"}, {{"the cat sat on a mat", "hello world!"}}).score,
              1e-9);

  auto only = run_cli("score -b --sentence --hyp '" + hyp + "' --ref '" + ref + "'");
  EXPECT_EQ(only.code, 0) << only.output;
  EXPECT_EQ(std::count(only.output.begin(), only.output.end(), '\n'), 2);

  const std::string short_ref = write_file("cli_short.txt", "only one\n");
  auto mismatch = run_cli("score --hyp '" + hyp + "' --ref '" + short_ref + "'");
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.output.find("has 2 lines but reference file '" + short_ref + "' has 1 lines"), std::string::npos)
      << mismatch.output;
  auto missing = run_cli("score --hyp '" + score_dir() + "/absent.txt' --ref '" + ref + "'");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.output.find("hypothesis file '" + score_dir() + "/absent.txt': cannot open"), std::string::npos)
      << missing.output;
}
#endif  // THANOS_BINARY

// ---------------------------------------------------------------- paired bootstrap (decode/significance.h)

namespace {
// 200 segments of 6 words; system "good" gets every word right, "bad" all but the last (so it
// matches n-grams of every order and its BLEU moves smoothly), "noisy" is "good" on odd segments
// and "bad" on even ones.
struct BootstrapCase {
  Lines refs, good, bad, noisy;
  BootstrapCase() {
    for (int i = 0; i < 200; ++i) {
      const std::string w = "w" + std::to_string(i);
      refs.push_back(w + "a " + w + "b " + w + "c " + w + "d " + w + "e " + w + "f");
      good.push_back(refs.back());
      bad.push_back(w + "a " + w + "b " + w + "c " + w + "d " + w + "e x");
      noisy.push_back(i % 2 ? good.back() : bad.back());
    }
  }
};
}  // namespace

TEST(PairedBootstrap, ObservedScoresAreTheCorpusScores) {
  const BootstrapCase c;
  const auto r = paired_bootstrap_bleu(c.noisy, c.bad, c.refs);
  EXPECT_DOUBLE_EQ(r.bleu_a, corpus_bleu(c.noisy, {c.refs}).score);
  EXPECT_DOUBLE_EQ(r.bleu_b, corpus_bleu(c.bad, {c.refs}).score);
  EXPECT_DOUBLE_EQ(r.delta, r.bleu_a - r.bleu_b);
  EXPECT_EQ(r.segments, 200u);
  EXPECT_EQ(r.samples, 1000);
  // Every resample of a system that is better on half the segments and level on the rest is better.
  EXPECT_GT(r.ci_low, 0.0);
  EXPECT_LT(r.ci_low, r.delta);
  EXPECT_GT(r.ci_high, r.delta);
  EXPECT_LT(r.p_value, 0.01);
  EXPECT_NEAR(r.mean_delta, r.delta, 0.05 * r.delta);  // the bootstrap is centred near the observed gap
}

TEST(PairedBootstrap, IdenticalSystemsAreLevelAndSwappingNegates) {
  const BootstrapCase c;
  const auto same = paired_bootstrap_bleu(c.noisy, c.noisy, c.refs);
  EXPECT_EQ(same.delta, 0.0);
  EXPECT_EQ(same.ci_low, 0.0);
  EXPECT_EQ(same.ci_high, 0.0);
  EXPECT_EQ(same.p_value, 1.0);
  // The same seed draws the same segments: A vs B is B vs A mirrored.
  const auto ab = paired_bootstrap_bleu(c.good, c.noisy, c.refs), ba = paired_bootstrap_bleu(c.noisy, c.good, c.refs);
  EXPECT_DOUBLE_EQ(ab.delta, -ba.delta);
  EXPECT_NEAR(ab.ci_low, -ba.ci_high, 1e-9);
  EXPECT_NEAR(ab.ci_high, -ba.ci_low, 1e-9);
  EXPECT_DOUBLE_EQ(ab.p_value, ba.p_value);
}

TEST(PairedBootstrap, AGapCarriedByFewSegmentsIsNotSignificant) {
  // Better on 3 segments of 200: resamples that happen to leave them out make the gap vanish, so
  // the test must not call it significant; the same gap spread over every segment must be.
  BootstrapCase c;
  Lines few = c.bad;
  for (int i : {3, 77, 150}) few[i] = c.good[i];
  const auto r = paired_bootstrap_bleu(few, c.bad, c.refs);
  EXPECT_GT(r.delta, 0.0);
  EXPECT_LE(r.ci_low, 0.0);
  EXPECT_GT(r.p_value, 0.05);
}

TEST(PairedBootstrap, MismatchedLengthsNameBothCounts) {
  const BootstrapCase c;
  Lines shorter(c.bad.begin(), c.bad.end() - 1);
  const std::string msg = invalid_argument_message([&] { paired_bootstrap_bleu(c.good, shorter, c.refs); });
  EXPECT_NE(msg.find("200 references"), std::string::npos) << msg;
  EXPECT_NE(msg.find("199"), std::string::npos) << msg;
  EXPECT_NE(invalid_argument_message([&] { paired_bootstrap_bleu({}, {}, {}); }).find("no test segments"), std::string::npos);
}
