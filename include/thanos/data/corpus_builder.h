#pragma once
// The bundled English→German corpus, built offline from the German gettext catalogs that Debian
// packages ship (scripts/build-corpus.sh fetches a fixed package list with apt and unpacks it;
// this code does the rest). See docs/CORPUS.md for the rules, the split and the manifest.
//
// Output directory: train.en train.de valid.en valid.de test.en test.de (UTF-8, one sentence per
// line, line i of X.en translates to line i of X.de) and manifest.json. The directory is built
// beside the destination and renamed into place, so a half-built corpus is never left behind.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "thanos/common/utf8.h"  // is_valid_utf8

namespace thanos {

// Bumped whenever a rule below changes what is kept, so the manifest's inputs hash changes too.
constexpr int kCorpusRulesVersion = 1;

struct CorpusBuildOptions {
  std::string unpacked_dir;   // `dpkg -x` output; catalogs are found anywhere below it
  std::string packages_file;  // one "package version" per line ('#' comments), recorded in the manifest
  std::string out_dir;        // created, or replaced as a whole
  std::string locale = "de";  // catalogs are <anything>/<locale>/LC_MESSAGES/*.mo
  // gettext contexts disambiguate one msgid with several translations; the issue keeps
  // context-free entries only. LibreOffice puts a resource-id context on almost every entry, so
  // this switch decides whether its catalogs count (the context itself is never kept).
  bool keep_context_entries = false;
  // ~1,000 test pairs: BLEU gaps between the demo's models are judged on them (docs/CORPUS.md).
  int test_permille = 30;   // fnv1a64(split key) % 1000 < test_permille → test
  int valid_permille = 10;  // next valid_permille → valid; the rest → train
};

struct PackageVersion {
  std::string name, version;
};

struct CorpusBuildReport {
  std::string out_dir;
  std::vector<PackageVersion> packages;
  int catalogs = 0;  // regular .mo files read (symbolic links to them are skipped)
  int catalog_links_skipped = 0;
  std::int64_t entries = 0;  // every catalog entry, header included
  std::int64_t train = 0, valid = 0, test = 0;
  std::map<std::string, std::int64_t> dropped;  // reason → entries (every reason listed, 0 included)
  std::string inputs_hash;                      // 16 hex digits; see docs/CORPUS.md
  std::vector<std::string> warnings;
};

// Throws std::invalid_argument for bad inputs (packages file line, unreadable or corrupt catalog,
// no catalogs found) and std::runtime_error when the output cannot be written.
CorpusBuildReport build_corpus(const CorpusBuildOptions& options);

// "name version" lines; '#' starts a comment. Throws naming file, line and what was expected.
std::vector<PackageVersion> read_packages_file(const std::string& path);

// ---------------------------------------------------------------- text rules (each tested alone)
// Drop reasons, as they appear in CorpusBuildReport::dropped and the manifest.
inline const std::vector<std::string>& corpus_drop_reasons() {
  static const std::vector<std::string> reasons = {
      "header",                   // the catalog header (empty msgid)
      "context",                  // has a msgctxt (unless keep_context_entries)
      "invalid_utf8",             // either side is not valid UTF-8
      "empty",                    // either side empty after normalisation
      "placeholder_only",         // either side only placeholders, digits and punctuation
      "few_latin_letters",        // source has fewer than two Latin letters outside placeholders
      "same_as_source",           // target equals source
      "duplicate_pair",           // the same normalised pair was kept before
      "other_target_for_source",  // the normalised source was kept before with another target
  };
  return reasons;
}

// Newlines, tabs and no-break spaces become spaces; runs collapse to one space; trimmed.
std::string collapse_whitespace(const std::string& text);
// Removes Pango/HTML markup tags (<b>, </span>, <a href="...">, <br/>, ...); <br> and <p> become
// spaces. Only known tag names are removed, so "<file>" in a usage message stays.
std::string strip_markup(const std::string& text);
// &lt; &gt; &amp; &quot; &apos; &#N; &#xH; → characters; anything else is left alone.
std::string decode_entities(const std::string& text);
// Keyboard accelerators: GTK "_File", LibreOffice "~Open", Qt "&Save" lose their marker. A label
// has one accelerator, so a text with several candidates (identifiers such as
// "__builtin_expect", "%<&&%>") is left alone, as is a candidate whose whitespace-delimited word
// appears unchanged in `keep_words` (the other side of the pair: "size_t" stays "size_t").
std::string strip_accelerators(const std::string& text, const std::set<std::string>& keep_words = {});
// Replaces each placeholder with a space: printf (%s, %1$d, %-5.2f, %lu, gcc's %qs %<...%>),
// positional %1, named %PRODUCTNAME and %(name)s, {0} {} {name}, $VAR ${VAR} $(VAR).
std::string remove_placeholders(const std::string& text);
// Letters (any script) left after removing placeholders; false = placeholders/punctuation only.
bool has_letters_outside_placeholders(const std::string& text);
// Latin letters (ASCII and Latin-1/Extended/Additional) in `text`.
int count_latin_letters(const std::string& text);

struct NormalisedPair {
  std::string source, target;
  std::string drop_reason;  // empty = kept; else one of corpus_drop_reasons()
};
// All rules above, in order, on one catalog entry's msgid and (singular) msgstr.
NormalisedPair normalise_pair(const std::string& msgid, const std::string& msgstr);

// The split key of a normalised source: case-folded, accelerators and trailing punctuation
// removed, so "Save", "save:" and "_Save..." share a key and therefore a split.
std::string corpus_split_key(const std::string& source);
enum class CorpusSplit { kTrain, kValid, kTest };
CorpusSplit corpus_split_for(const std::string& source, int test_permille, int valid_permille);

}  // namespace thanos
