// The bundled corpus: the .mo reader, each text rule, the filters and their counts, deduplication,
// the content-keyed split, the manifest and the atomic output. Catalogs are written by the test
// itself (no apt, no network).
#include <gtest/gtest.h>

#include "test_util.h"
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "thanos/common/text.h"
#include "thanos/data/corpus_builder.h"
#include "thanos/data/mo_catalog.h"

using namespace thanos;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- a small .mo writer
struct RawEntry {
  std::string original, translation;  // already in .mo form (ctxt\x04msgid, msgid\0plural, ...)
};

void put_u32(std::string& out, std::uint32_t v, bool big_endian) {
  for (int k = 0; k < 4; ++k) {
    const int shift = big_endian ? 24 - 8 * k : 8 * k;
    out += static_cast<char>((v >> shift) & 0xff);
  }
}

std::string mo_bytes(std::vector<RawEntry> entries, bool big_endian = false, std::uint32_t revision = 0) {
  // msgfmt sorts by original string; the header (empty msgid) comes first.
  std::sort(entries.begin(), entries.end(),
            [](const RawEntry& a, const RawEntry& b) { return a.original < b.original; });
  const std::uint32_t n = static_cast<std::uint32_t>(entries.size());
  const std::uint32_t orig_table = 28, trans_table = 28 + 8 * n, strings = 28 + 16 * n;
  std::string head, tables_o, tables_t, data;
  std::uint32_t offset = strings;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> o, t;
  for (const auto& e : entries) {
    o.push_back({static_cast<std::uint32_t>(e.original.size()), offset});
    data += e.original + '\0';
    offset += e.original.size() + 1;
  }
  for (const auto& e : entries) {
    t.push_back({static_cast<std::uint32_t>(e.translation.size()), offset});
    data += e.translation + '\0';
    offset += e.translation.size() + 1;
  }
  put_u32(head, 0x950412de, big_endian);
  put_u32(head, revision, big_endian);
  put_u32(head, n, big_endian);
  put_u32(head, orig_table, big_endian);
  put_u32(head, trans_table, big_endian);
  put_u32(head, 0, big_endian);  // no hash table
  put_u32(head, strings, big_endian);
  for (auto [len, off] : o) put_u32(tables_o, len, big_endian), put_u32(tables_o, off, big_endian);
  for (auto [len, off] : t) put_u32(tables_t, len, big_endian), put_u32(tables_t, off, big_endian);
  return head + tables_o + tables_t + data;
}

const std::string kHeader =
    "Project-Id-Version: test 1.0\nLanguage: de\nMIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n";

// Every test directory lives under one per-process folder, removed when the suite ends.
class TempRoot : public ::testing::Environment {
 public:
  static fs::path path() {
    static const fs::path root = fs::path(::testing::TempDir()) / ("thanos_corpus_" + std::to_string(::getpid()));
    return root;
  }
  void TearDown() override { fs::remove_all(path()); }
};
const auto* const kTempRoot = ::testing::AddGlobalTestEnvironment(new TempRoot);

std::string fresh_dir(const std::string& name) {
  const fs::path d = TempRoot::path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Two packages' catalogs covering every rule; see the expected counts in the tests below.
std::vector<RawEntry> catalog_a() {
  return {
      {"", kHeader},
      {"menu\x04Open", "Öffnen"},                          // context
      {"%d file\0%d files"s, "%d Datei\0%d Dateien"s},     // plural: singular form kept
      {"_Open file", "Datei _öffnen"},                     // GTK accelerator
      {"~Save", "~Speichern"},                             // LibreOffice accelerator
      {"&Quit", "&Beenden"},                               // Qt accelerator
      {"<b>Bold</b> text", "<b>Fetter</b> Text"},          // markup
      {"Line\nbreak\tand  spaces", "Zeilen\numbruch"},     // whitespace
      {"Invalid size_t value", "Ungültiger size_t Wert"},  // identifier, not an accelerator
      {"%s", "%s"},                                        // placeholder only
      {"%1$d: %2$s", "%1$d – %2$s"},                       // placeholder only
      {"OK", "OK"},                                        // same as source
      {"x", "x-Achse"},                                    // one Latin letter
      {"Untranslated", ""},                                // empty
      {"Bad \xff byte", "Falsches Byte"},                  // invalid UTF-8
      {"Open file.", "Datei öffnen."},                     // near-duplicates of "Open file"
      {"OPEN FILE...", "DATEI ÖFFNEN …"},
  };
}
std::vector<RawEntry> catalog_b() {
  return {
      {"", kHeader},
      {"Save", "Speichern"},  // duplicate of pkg-a's "~Save" after normalisation
      {"Quit", "Verlassen"},  // pkg-a kept "Quit" → "Beenden" first
      {"Edit the <a href=\"https://example.org\">page</a>", "Die <a href=\"https://example.org\">Seite</a> bearbeiten"},
  };
}

struct Fixture {
  std::string root, unpacked, packages, out;
};

Fixture make_fixture(const std::string& name, const std::string& version_a = "1.0-1") {
  Fixture f;
  f.root = fresh_dir(name);
  f.unpacked = f.root + "/unpacked";
  write_bytes(f.unpacked + "/pkg-a/usr/share/locale/de/LC_MESSAGES/x.mo", mo_bytes(catalog_a()));
  write_bytes(f.unpacked + "/pkg-b/usr/lib/app/resource/de/LC_MESSAGES/y.mo", mo_bytes(catalog_b(), true));
  // Other locales and links to catalogs are not read.
  write_bytes(f.unpacked + "/pkg-a/usr/share/locale/fr/LC_MESSAGES/x.mo", mo_bytes({{"Save", "Enregistrer"}}));
  fs::create_symlink("x.mo", f.unpacked + "/pkg-a/usr/share/locale/de/LC_MESSAGES/old-x.mo");
  f.packages = f.root + "/packages.txt";
  std::ofstream(f.packages) << "# package version\npkg-a " << version_a << "\npkg-b 2:3.4-5\n";
  f.out = f.root + "/corpus";
  return f;
}

CorpusBuildOptions options_for(const Fixture& f) {
  CorpusBuildOptions o;
  o.unpacked_dir = f.unpacked;
  o.packages_file = f.packages;
  o.out_dir = f.out;
  // Large shares so that the few fixture pairs spread over all splits.
  o.test_permille = 300;
  o.valid_permille = 300;
  return o;
}

std::string slurp(const std::string& path) { return read_text_file(path); }

}  // namespace

// ---------------------------------------------------------------- the .mo reader
TEST(MoCatalog, ReadsEntriesInBothByteOrders) {
  const std::vector<RawEntry> raw = {
      {"", kHeader}, {"File", "Datei"}, {"menu\x04Open", "Öffnen"}, {"%d file\0%d files"s, "%d Datei\0%d Dateien"s}};
  for (bool big : {false, true}) {
    const MoCatalog c = parse_mo_catalog(mo_bytes(raw, big), "mem.mo");
    EXPECT_EQ(c.big_endian, big);
    ASSERT_EQ(c.entries.size(), 4u);
    // Sorted by original: "", "%d file\0...", "File", "menu\x04Open".
    EXPECT_TRUE(c.entries[0].is_header());
    EXPECT_EQ(c.charset(), "utf-8");
    EXPECT_EQ(c.header_field("Language"), "de");
    const MoEntry& plural = c.entries[1];
    EXPECT_EQ(plural.msgid, "%d file");
    EXPECT_EQ(plural.msgid_plural, "%d files");
    EXPECT_TRUE(plural.is_plural());
    ASSERT_EQ(plural.msgstr.size(), 2u);
    EXPECT_EQ(plural.msgstr[0], "%d Datei");
    EXPECT_EQ(plural.msgstr[1], "%d Dateien");
    EXPECT_EQ(c.entries[2].msgid, "File");
    EXPECT_FALSE(c.entries[2].has_context);
    EXPECT_FALSE(c.entries[2].is_plural());
    EXPECT_EQ(c.entries[2].msgstr, std::vector<std::string>{"Datei"});
    EXPECT_TRUE(c.entries[3].has_context);
    EXPECT_EQ(c.entries[3].context, "menu");
    EXPECT_EQ(c.entries[3].msgid, "Open");
    EXPECT_EQ(c.entries[3].msgstr[0], "Öffnen");
  }
}

TEST(MoCatalog, ErrorsNameTheFileAndTheProblem) {
  const std::string dir = fresh_dir("mo_errors");
  const std::string good = mo_bytes({{"", kHeader}, {"File", "Datei"}, {"Edit", "Bearbeiten"}});
  const auto error_of = [&](const std::string& bytes) {
    const std::string path = dir + "/bad.mo";
    write_bytes(path, bytes);
    try {
      read_mo_catalog(path);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error_of(good.substr(0, 12));
  EXPECT_NE(e.find(dir + "/bad.mo"), std::string::npos) << e;
  EXPECT_NE(e.find("28-byte header"), std::string::npos) << e;
  e = error_of(good.substr(0, 40));  // header intact, offset tables cut
  EXPECT_NE(e.find("bad.mo: truncated .mo file: the original-string offset table"), std::string::npos) << e;
  e = error_of(good.substr(0, 28 + 16 * 3 + 5));  // tables intact, strings cut
  EXPECT_NE(e.find("truncated .mo file"), std::string::npos) << e;
  EXPECT_NE(e.find("string"), std::string::npos) << e;
  EXPECT_NE(e.find("ends past the end of the file"), std::string::npos) << e;
  e = error_of("GIF89a" + good.substr(6));
  EXPECT_NE(e.find("not a .mo file"), std::string::npos) << e;
  e = error_of(mo_bytes({{"File", "Datei"}}, false, 2u << 16));
  EXPECT_NE(e.find("unsupported .mo revision 2.0"), std::string::npos) << e;
  EXPECT_NO_THROW(parse_mo_catalog(mo_bytes({{"File", "Datei"}}, false, 1u << 16 | 1), "rev1.mo"));
  EXPECT_THROW(read_mo_catalog(dir + "/missing.mo"), std::invalid_argument);

  // Every entry pointing at the same long string: a small file that would make the reader copy
  // the string once per entry (a 98 KB file once cost 3.9 GB).
  const std::uint32_t n = 4000, len = 4000, strings = 28 + 16 * n;
  std::string overlap;
  for (std::uint32_t v : {0x950412deu, 0u, n, 28u, 28 + 8 * n, 0u, strings}) put_u32(overlap, v, false);
  for (std::uint32_t i = 0; i < 2 * n; ++i) put_u32(overlap, len, false), put_u32(overlap, strings, false);
  overlap += std::string(len, 'a');
  e = error_of(overlap);
  EXPECT_NE(e.find("bad.mo: damaged .mo file: its strings overlap"), std::string::npos) << e;
}

// ---------------------------------------------------------------- text rules, one at a time
TEST(CorpusText, CollapsesWhitespace) {
  EXPECT_EQ(collapse_whitespace("  a\n\nb\tc  d \r\n"), "a b c d");
  EXPECT_EQ(collapse_whitespace("100\xc2\xa0km"), "100 km");  // no-break space
  EXPECT_EQ(collapse_whitespace(" \n\t "), "");
}

TEST(CorpusText, StripsKnownMarkupOnly) {
  EXPECT_EQ(strip_markup("<b>Bold</b> and <i>it</i>"), "Bold and it");
  EXPECT_EQ(strip_markup("<span weight=\"bold\" foreground=\"red\">Red</span>"), "Red");
  EXPECT_EQ(strip_markup("See <a href=\"https://x.org/?a=1&b=2\">the page</a>."), "See the page.");
  EXPECT_EQ(strip_markup("one<br/>two<BR>three"), "one two three");
  EXPECT_EQ(strip_markup("Usage: prog <file> [<dir>]"), "Usage: prog <file> [<dir>]");
  EXPECT_EQ(strip_markup("if a <b or c> d"), "if a  d");                            // looks like a tag: accepted loss
  EXPECT_EQ(strip_markup("%<operator=(const %T&)%>"), "%<operator=(const %T&)%>");  // gcc quotes
  EXPECT_EQ(strip_markup("a < b and <bold>"), "a < b and <bold>");
}

TEST(CorpusText, DecodesEntities) {
  EXPECT_EQ(decode_entities("Top &amp; bottom"), "Top & bottom");
  EXPECT_EQ(decode_entities("&lt;b&gt; &quot;x&quot; &apos;"), "<b> \"x\" '");
  EXPECT_EQ(decode_entities("180&#176; &#x2026;"), "180\xc2\xb0 \xe2\x80\xa6");
  EXPECT_EQ(decode_entities("R&D; A & B; &unknown;"), "R&D; A & B; &unknown;");
}

TEST(CorpusText, StripsAccelerators) {
  EXPECT_EQ(strip_accelerators("_File"), "File");
  EXPECT_EQ(strip_accelerators("Fi_le"), "File");
  EXPECT_EQ(strip_accelerators("~Open"), "Open");
  EXPECT_EQ(strip_accelerators("Save ~As"), "Save As");
  EXPECT_EQ(strip_accelerators("&Save"), "Save");
  EXPECT_EQ(strip_accelerators("Datei _öffnen"), "Datei öffnen");
  EXPECT_EQ(strip_accelerators("_Enable top &amp; bottom"), "Enable top &amp; bottom");
  // Not accelerators.
  EXPECT_EQ(strip_accelerators("Drag & drop"), "Drag & drop");
  EXPECT_EQ(strip_accelerators("%<&&%> not valid"), "%<&&%> not valid");
  EXPECT_EQ(strip_accelerators("a && b"), "a && b");
  EXPECT_EQ(strip_accelerators("Top &amp; bottom"), "Top &amp; bottom");
  EXPECT_EQ(strip_accelerators("__builtin_expect"), "__builtin_expect");
  EXPECT_EQ(strip_accelerators("In _cpp_valid_ucn but"), "In _cpp_valid_ucn but");
  EXPECT_EQ(strip_accelerators("~5 minutes"), "~5 minutes");
  EXPECT_EQ(strip_accelerators("_Print ~All"), "_Print ~All");  // two candidates: leave alone
  // A word the other side repeats unchanged is an identifier.
  EXPECT_EQ(strip_accelerators("bad size_t", {"size_t"}), "bad size_t");
  EXPECT_EQ(strip_accelerators("bad size_t"), "bad sizet");
}

TEST(CorpusText, FindsPlaceholders) {
  EXPECT_EQ(remove_placeholders("%s"), " ");
  EXPECT_EQ(remove_placeholders("%1$d of %2$s"), "  of  ");
  EXPECT_EQ(remove_placeholders("%-5.2f|%lu|%zu|%%"), " | | | ");
  EXPECT_EQ(remove_placeholders("gcc %qs %<x%> %wd"), "gcc    x   ");
  EXPECT_EQ(remove_placeholders("{0} {} {name}"), "     ");
  EXPECT_EQ(remove_placeholders("$HOME ${XDG} $(ARG1)"), "     ");
  EXPECT_EQ(remove_placeholders("%PRODUCTNAME %1 %(count)d"), "     ");
  EXPECT_EQ(remove_placeholders("50 % of 100%"), "50 % of 100%");
  EXPECT_FALSE(has_letters_outside_placeholders("%s: %d%%"));
  EXPECT_FALSE(has_letters_outside_placeholders("{0} – {1}…"));
  EXPECT_FALSE(has_letters_outside_placeholders("$(ARG1) (%1)"));
  EXPECT_TRUE(has_letters_outside_placeholders("%s files"));
  EXPECT_TRUE(has_letters_outside_placeholders("Größe"));
  EXPECT_EQ(count_latin_letters("Größe"), 5);
  EXPECT_EQ(count_latin_letters("a1 - ?"), 1);
  EXPECT_EQ(count_latin_letters("Ελλάδα"), 0);
}

TEST(CorpusText, NormalisesPairsAndNamesDropReasons) {
  NormalisedPair p = normalise_pair("_Open\n<b>file</b>", "Datei\t_öffnen");
  EXPECT_EQ(p.source, "Open file");
  EXPECT_EQ(p.target, "Datei öffnen");
  EXPECT_EQ(p.drop_reason, "");
  p = normalise_pair("Invalid size_t value", "Ungültiger size_t Wert");
  EXPECT_EQ(p.source, "Invalid size_t value");
  EXPECT_EQ(normalise_pair("<b></b>", "x").drop_reason, "empty");
  EXPECT_EQ(normalise_pair("File", "  ").drop_reason, "empty");
  EXPECT_EQ(normalise_pair("%s", "%s").drop_reason, "placeholder_only");
  EXPECT_EQ(normalise_pair("%s files", "%s").drop_reason, "placeholder_only");
  EXPECT_EQ(normalise_pair("%d %s", "%d %s Dateien").drop_reason, "placeholder_only");
  EXPECT_EQ(normalise_pair("x", "x-Achse").drop_reason, "few_latin_letters");
  EXPECT_EQ(normalise_pair("%s px", "%s Px").drop_reason, "");
  EXPECT_EQ(normalise_pair("%s x", "%s x").drop_reason, "few_latin_letters");
  EXPECT_EQ(normalise_pair("OK", "OK").drop_reason, "same_as_source");
  EXPECT_EQ(normalise_pair("_OK", "_OK").drop_reason, "same_as_source");
  EXPECT_EQ(normalise_pair("Bad \xff", "Falsch").drop_reason, "invalid_utf8");
}

TEST(CorpusSplit, NearDuplicatesShareTheKey) {
  const std::string key = corpus_split_key("Open file");
  EXPECT_EQ(key, "open file");
  for (const char* s : {"open file.", "OPEN FILE...", "_Open File:", "Open file …", "Open file?!"}) {
    EXPECT_EQ(corpus_split_key(s), key) << s;
    EXPECT_EQ(corpus_split_for(s, 300, 300), corpus_split_for("Open file", 300, 300)) << s;
  }
  EXPECT_EQ(corpus_split_key("ÄNDERN"), "ändern");
  EXPECT_NE(corpus_split_key("Open files"), key);
  // The split is a function of the text alone; shares move the boundaries.
  EXPECT_EQ(corpus_split_for("Anything", 0, 0), CorpusSplit::kTrain);
  EXPECT_EQ(corpus_split_for("Anything", 1000, 0), CorpusSplit::kTest);
  EXPECT_EQ(corpus_split_for("Anything", 0, 1000), CorpusSplit::kValid);
}

// ---------------------------------------------------------------- the build
TEST(CorpusBuilder, FiltersDedupesAndCounts) {
  const Fixture f = make_fixture("build");
  const CorpusBuildReport r = build_corpus(options_for(f));
  EXPECT_EQ(r.catalogs, 2);  // pkg-a's x.mo, pkg-b's y.mo; not fr/, not the link
  EXPECT_EQ(r.catalog_links_skipped, 1);
  EXPECT_EQ(r.entries, 17 + 4);
  EXPECT_EQ(r.dropped.at("header"), 2);
  EXPECT_EQ(r.dropped.at("context"), 1);
  EXPECT_EQ(r.dropped.at("invalid_utf8"), 1);
  EXPECT_EQ(r.dropped.at("empty"), 1);
  EXPECT_EQ(r.dropped.at("placeholder_only"), 2);
  EXPECT_EQ(r.dropped.at("few_latin_letters"), 1);
  EXPECT_EQ(r.dropped.at("same_as_source"), 1);
  EXPECT_EQ(r.dropped.at("duplicate_pair"), 1);
  EXPECT_EQ(r.dropped.at("other_target_for_source"), 1);
  EXPECT_EQ(r.dropped.size(), corpus_drop_reasons().size());
  // Kept: %d file, Open file, Save, Quit, Bold text, Line break and spaces, Invalid size_t value,
  // Open file., OPEN FILE..., Edit the page.
  EXPECT_EQ(r.train + r.valid + r.test, 10);

  std::map<std::string, std::pair<std::string, std::string>> found;  // source → (split, target)
  for (const char* split : {"train", "valid", "test"}) {
    const auto en = lines_of(f.out + "/" + split + ".en"), de = lines_of(f.out + "/" + split + ".de");
    ASSERT_EQ(en.size(), de.size()) << split;
    for (std::size_t i = 0; i < en.size(); ++i) {
      EXPECT_TRUE(found.emplace(en[i], std::make_pair(std::string(split), de[i])).second) << en[i];
    }
  }
  ASSERT_EQ(found.size(), 10u);
  EXPECT_EQ(found.at("%d file").second, "%d Datei");
  EXPECT_EQ(found.at("Open file").second, "Datei öffnen");
  EXPECT_EQ(found.at("Save").second, "Speichern");
  EXPECT_EQ(found.at("Quit").second, "Beenden");
  EXPECT_EQ(found.at("Bold text").second, "Fetter Text");
  EXPECT_EQ(found.at("Line break and spaces").second, "Zeilen umbruch");
  EXPECT_EQ(found.at("Edit the page").second, "Die Seite bearbeiten");
  EXPECT_EQ(found.at("OPEN FILE...").second, "DATEI ÖFFNEN …");
  // Near-duplicates never straddle splits.
  EXPECT_EQ(found.at("Open file.").first, found.at("Open file").first);
  EXPECT_EQ(found.at("OPEN FILE...").first, found.at("Open file").first);
  for (const auto& [src, where] : found) {
    const char* names[] = {"train", "valid", "test"};
    EXPECT_EQ(where.first, names[static_cast<int>(corpus_split_for(src, 300, 300))]) << src;
  }

  const auto m = nlohmann::json::parse(slurp(f.out + "/manifest.json"));
  EXPECT_EQ(m["format"], "thanos.corpus");
  EXPECT_EQ(m["version"], 1);
  EXPECT_EQ(m["packages"][0]["name"], "pkg-a");
  EXPECT_EQ(m["packages"][1]["version"], "2:3.4-5");
  EXPECT_EQ(m["catalogs"], 2);
  EXPECT_EQ(m["splits"]["train"].get<int>() + m["splits"]["valid"].get<int>() + m["splits"]["test"].get<int>(), 10);
  EXPECT_EQ(m["dropped"]["other_target_for_source"], 1);
  EXPECT_EQ(m["inputs_hash"], r.inputs_hash);
  EXPECT_EQ(m["files"]["train.en"]["lines"], r.train);
  EXPECT_EQ(m["catalog_files"][0]["path"], "pkg-a/usr/share/locale/de/LC_MESSAGES/x.mo");
  EXPECT_EQ(m["catalog_files"][1]["path"], "pkg-b/usr/lib/app/resource/de/LC_MESSAGES/y.mo");
}

TEST(CorpusBuilder, KeepContextEntriesOnRequest) {
  const Fixture f = make_fixture("context");
  CorpusBuildOptions o = options_for(f);
  o.keep_context_entries = true;
  const CorpusBuildReport r = build_corpus(o);
  EXPECT_EQ(r.dropped.at("context"), 0);
  EXPECT_EQ(r.train + r.valid + r.test, 11);  // "Open" → "Öffnen" joins
  const auto m = nlohmann::json::parse(slurp(f.out + "/manifest.json"));
  EXPECT_EQ(m["keep_context_entries"], true);
  EXPECT_NE(r.inputs_hash, build_corpus(options_for(f)).inputs_hash);
}

TEST(CorpusBuilder, SameInputsGiveByteIdenticalOutputs) {
  const Fixture f = make_fixture("determinism");
  CorpusBuildOptions o = options_for(f);
  build_corpus(o);
  o.out_dir = f.root + "/again";
  build_corpus(o);
  for (const char* name : {"train.en", "train.de", "valid.en", "valid.de", "test.en", "test.de", "manifest.json"}) {
    EXPECT_EQ(slurp(f.out + "/" + name), slurp(f.root + "/again/" + name)) << name;
  }
}

TEST(CorpusBuilder, ManifestChangesWithAPackageVersion) {
  const Fixture a = make_fixture("version_a", "1.0-1");
  const Fixture b = make_fixture("version_b", "1.0-2");
  const CorpusBuildReport ra = build_corpus(options_for(a));
  const CorpusBuildReport rb = build_corpus(options_for(b));
  EXPECT_NE(ra.inputs_hash, rb.inputs_hash);
  EXPECT_EQ(slurp(a.out + "/train.en"), slurp(b.out + "/train.en"));  // same catalogs, same pairs
  const auto ma = nlohmann::json::parse(slurp(a.out + "/manifest.json"));
  const auto mb = nlohmann::json::parse(slurp(b.out + "/manifest.json"));
  EXPECT_NE(ma["inputs_hash"], mb["inputs_hash"]);
  EXPECT_EQ(mb["packages"][0]["version"], "1.0-2");
  // A catalog's content counts too.
  write_bytes(b.unpacked + "/pkg-b/usr/lib/app/resource/de/LC_MESSAGES/y.mo", mo_bytes({{"Help", "Hilfe"}}));
  EXPECT_NE(build_corpus(options_for(b)).inputs_hash, rb.inputs_hash);
}

TEST(CorpusBuilder, ReplacesOutputAtomicallyAndLeavesNoTemporaries) {
  const Fixture f = make_fixture("atomic");
  fs::create_directories(f.out);
  write_bytes(f.out + "/stale.txt", "from an older build");
  build_corpus(options_for(f));
  EXPECT_FALSE(fs::exists(f.out + "/stale.txt"));  // the directory was replaced as a whole
  for (const auto& dir : {fs::path(f.out), fs::path(f.root)}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      EXPECT_EQ(name.find(".tmp."), std::string::npos) << e.path();
      EXPECT_EQ(name.find(".old."), std::string::npos) << e.path();
    }
  }
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(f.out)) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"manifest.json", "test.de", "test.en", "train.de", "train.en", "valid.de",
                                          "valid.en"}));

  // A failing build (corrupt catalog) leaves the previous corpus untouched and no temporaries.
  const std::string before = slurp(f.out + "/manifest.json");
  write_bytes(f.unpacked + "/pkg-b/usr/lib/app/resource/de/LC_MESSAGES/y.mo", mo_bytes(catalog_b()).substr(0, 30));
  try {
    build_corpus(options_for(f));
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("y.mo: truncated .mo file"), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(f.out + "/manifest.json"), before);
  for (const auto& e : fs::directory_iterator(f.root)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(CorpusBuilder, InputErrorsNameFileAndLine) {
  const Fixture f = make_fixture("errors");
  std::ofstream(f.packages) << "pkg-a 1.0\npkg-b\n";
  try {
    build_corpus(options_for(f));
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(f.packages + ":2: expected 'package version'"), std::string::npos) << e.what();
  }
  std::ofstream(f.packages) << "pkg-a 1.0\npkg-a 1.1\n";
  EXPECT_THROW(read_packages_file(f.packages), std::invalid_argument);
  std::ofstream(f.packages) << "# nothing\n";
  EXPECT_THROW(read_packages_file(f.packages), std::invalid_argument);

  std::ofstream(f.packages) << "pkg-a 1.0\n";
  CorpusBuildOptions o = options_for(f);
  o.locale = "nl";
  try {
    build_corpus(o);
    ADD_FAILURE() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("no catalogs found"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(f.out));
}

TEST(CorpusCommand, BuildsFromTheCommandLine) {
  const Fixture f = make_fixture("cli");
  const auto [code, out] =
      thanos::testing::run_cli("corpus --unpacked " + f.unpacked + " --packages-file " + f.packages + " --out " + f.out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("2 catalogs from 2 packages"), std::string::npos) << out;
  EXPECT_NE(out.find("other_target_for_source 1"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(f.out + "/manifest.json"));
}
