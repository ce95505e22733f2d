#include "thanos/data/corpus_builder.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include "thanos/common/text.h"
#include "thanos/data/mo_catalog.h"

namespace thanos {
namespace fs = std::filesystem;
namespace {

// Text known to be valid UTF-8, or read leniently: invalid bytes are U+FFFD (common/utf8.h).
char32_t next_code_point(const std::string& s, std::size_t& i) { return utf8_next_or_replacement(s, i); }

bool is_latin_letter(char32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == 0xaa || c == 0xba ||
         (c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7) || (c >= 0x1e00 && c <= 0x1eff);
}

// A letter of any script, approximately: Latin as above, and every code point from Greek on
// except the punctuation, symbol, arrow, CJK-punctuation, variation-selector and emoji blocks.
bool is_letter(char32_t c) {
  if (is_latin_letter(c) || c == 0xb5) return true;
  if (c < 0x250) return false;
  if (c >= 0x2b0 && c <= 0x36f) return false;  // modifier letters, combining marks
  if (c >= 0x2000 && c <= 0x2bff) return false;
  if (c >= 0x2e00 && c <= 0x2e7f) return false;
  if (c >= 0x3000 && c <= 0x303f) return false;
  if (c >= 0xfe00 && c <= 0xfe6f) return false;
  if (c >= 0xff00 && c <= 0xff20) return false;
  if (c >= 0xfff0 && c <= 0xffff) return false;
  if (c >= 0x1f000 && c <= 0x1faff) return false;
  return true;
}

bool is_ascii_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_ascii_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }

// Is the code point starting at byte `i` a letter or digit (what an accelerator marks)?
bool alnum_at(const std::string& s, std::size_t i) {
  if (i >= s.size()) return false;
  std::size_t j = i;
  const char32_t c = next_code_point(s, j);
  return is_letter(c) || (c >= '0' && c <= '9');
}

std::size_t entity_length(const std::string& s, std::size_t i);  // below

// ---------------------------------------------------------------- placeholders
// Length of the placeholder starting at `i`, or 0.
std::size_t placeholder_length(const std::string& s, std::size_t i) {
  const std::size_t n = s.size();
  const auto at = [&](std::size_t k) { return k < n ? s[k] : '\0'; };
  const char c = s[i];
  if (c == '%') {
    std::size_t k = i + 1;
    const char d = at(k);
    if (d == '%' || d == '<' || d == '>') return 2;  // "%%", gcc's quotes %< ... %>
    if (d == '(') {                                  // Python's %(name)s
      std::size_t close = s.find(')', k);
      if (close != std::string::npos && close - k < 40 && is_ascii_alpha(at(close + 1))) return close + 2 - i;
      return 0;
    }
    // LibreOffice's named fields: %PRODUCTNAME, %FILENAME%, %COLUMNNUMBER.
    if (is_ascii_upper(d) && (is_ascii_upper(at(k + 1)) || at(k + 1) == '_')) {
      while (is_ascii_upper(at(k)) || is_ascii_digit(at(k)) || at(k) == '_') ++k;
      if (at(k) == '%') ++k;
      return k - i;
    }
    while (is_ascii_digit(at(k))) ++k;
    if (k > i + 1) {
      if (at(k) == '$') {
        ++k;  // %1$s
      } else if (!is_ascii_alpha(at(k)) && at(k) != '.') {
        return k - i;  // positional %1 (Qt, LibreOffice)
      } else {
        k = i + 1;
      }
    }
    // No space flag: "50 % of" must not read as a conversion.
    while (at(k) == '-' || at(k) == '+' || at(k) == '#' || at(k) == '0' || at(k) == '\'') ++k;
    while (is_ascii_digit(at(k)) || at(k) == '*') ++k;
    if (at(k) == '.') {
      ++k;
      while (is_ascii_digit(at(k)) || at(k) == '*') ++k;
    }
    // Length modifiers, plus gcc's own flags: q (quoted), w (HOST_WIDE_INT), + (signed).
    while (std::string("hlLqjztwZ+").find(at(k)) != std::string::npos && at(k) != '\0') ++k;
    return is_ascii_alpha(at(k)) ? k + 1 - i : 0;
  }
  if (c == '{') {  // {} {0} {name} {0:d}
    std::size_t k = i + 1;
    while (k < n && k - i < 40 && (is_ascii_alnum(s[k]) || s[k] == '_' || s[k] == '.' || s[k] == ':' || s[k] == '!')) {
      ++k;
    }
    return at(k) == '}' ? k + 1 - i : 0;
  }
  if (c == '$') {  // $VAR ${VAR} $(VAR)
    const char d = at(i + 1);
    if (d == '{' || d == '(') {
      const char close = d == '{' ? '}' : ')';
      std::size_t k = i + 2;
      while (k < n && k - i < 60 && (is_ascii_alnum(s[k]) || s[k] == '_')) ++k;
      return k > i + 2 && at(k) == close ? k + 1 - i : 0;
    }
    if (is_ascii_alpha(d) || d == '_') {
      std::size_t k = i + 1;
      while (is_ascii_alnum(at(k)) || at(k) == '_') ++k;
      return k - i;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- markup and entities
// Pango's and HTML's inline tags; anything else in angle brackets is text ("<file>", "<none>").
bool is_markup_tag_name(std::string name) {
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  static const std::set<std::string> known = {"a",      "b",   "big",    "br", "code", "div",   "em",
                                              "font",   "i",   "markup", "p",  "s",    "small", "span",
                                              "strong", "sub", "sup",    "tt", "u",    "ul",    "li"};
  return known.count(name) > 0;
}

// Length of the markup tag at `i` (which holds '<'), or 0; `line_break` says <br>/<p>.
std::size_t markup_tag_length(const std::string& s, std::size_t i, bool& line_break) {
  std::size_t k = i + 1;
  if (k < s.size() && s[k] == '/') ++k;
  const std::size_t name_start = k;
  while (k < s.size() && is_ascii_alnum(s[k])) ++k;
  if (k == name_start || !is_markup_tag_name(s.substr(name_start, k - name_start))) return 0;
  std::string name = s.substr(name_start, k - name_start);
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (k < s.size() && s[k] != '>' && s[k] != '/' && s[k] != ' ') return 0;  // "<bold" is no tag
  const std::size_t close = s.find('>', k);
  if (close == std::string::npos || s.find('<', k) < close) return 0;
  line_break = name == "br" || name == "p" || name == "div" || name == "li";
  return close + 1 - i;
}

std::size_t entity_length(const std::string& s, std::size_t i) {
  if (s[i] != '&') return 0;
  const std::size_t semi = s.find(';', i);
  if (semi == std::string::npos || semi - i > 10 || semi == i + 1) return 0;
  const std::string body = s.substr(i + 1, semi - i - 1);
  if (body[0] == '#') {
    const bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    const std::string digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char ch : digits) {
      if (hex ? !std::isxdigit(static_cast<unsigned char>(ch)) : !is_ascii_digit(ch)) return 0;
    }
    return semi + 1 - i;
  }
  for (char ch : body) {
    if (!is_ascii_alnum(ch)) return 0;
  }
  return semi + 1 - i;
}

// The whitespace-delimited word around byte `i`.
std::string word_at(const std::string& s, std::size_t i) {
  std::size_t b = i, e = i;
  while (b > 0 && s[b - 1] != ' ') --b;
  while (e < s.size() && s[e] != ' ') ++e;
  return s.substr(b, e - b);
}

std::set<std::string> words_of(const std::string& s) {
  std::set<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t e = std::min(s.find(' ', i), s.size());
    if (e > i) words.insert(s.substr(i, e - i));
    i = e + 1;
  }
  return words;
}

std::string case_fold(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t c = next_code_point(s, i);
    if (c >= 'A' && c <= 'Z')
      c += 32;
    else if (c >= 0xc0 && c <= 0xde && c != 0xd7)
      c += 32;
    append_utf8(out, c);
  }
  return out;
}

std::string latin1_to_utf8(const std::string& s) {
  std::string out;
  for (unsigned char c : s) append_utf8(out, c);
  return out;
}

// ---------------------------------------------------------------- output
fs::path normal_dir(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty() && p.has_parent_path()) p = p.parent_path();
  return p;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

// Moves the finished `tmp` directory to `out`. An existing `out` is first moved aside, so at every
// moment `out` is either the old complete corpus, absent, or the new complete corpus.
void replace_directory(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(out))) {
    old = out;
    old += ".old." + std::to_string(::getpid());
    fs::remove_all(old);
    fs::rename(out, old, ec);
    if (ec) throw std::runtime_error("cannot move " + out.string() + " aside to " + old.string() + ": " + ec.message());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, out);
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + out.string() + ": " + ec.message());
  }
  if (!old.empty()) fs::remove_all(old);
}

struct Catalog {
  std::string relative;  // to the unpacked directory, '/'-separated
  fs::path path;
};

std::vector<Catalog> find_catalogs(const fs::path& root, const std::string& locale, int& links_skipped) {
  std::vector<Catalog> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw std::invalid_argument(root.string() + ": cannot read directory (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw std::invalid_argument(root.string() + ": cannot walk directory (" + ec.message() + ")");
    const fs::path& p = it->path();
    if (p.extension() != ".mo" || p.parent_path().filename() != "LC_MESSAGES" ||
        p.parent_path().parent_path().filename() != locale) {
      continue;
    }
    // iso-codes ships old names (iso_639.mo) as links to the current catalogs; reading them too
    // would only count the same entries twice.
    if (it->is_symlink()) {
      ++links_skipped;
      continue;
    }
    if (!it->is_regular_file()) continue;
    found.push_back({p.lexically_relative(root).generic_string(), p});
  }
  std::sort(found.begin(), found.end(), [](const Catalog& a, const Catalog& b) { return a.relative < b.relative; });
  return found;
}

}  // namespace

// ---------------------------------------------------------------- text rules
std::string collapse_whitespace(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    const char32_t c = next_code_point(text, i);
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0xa0 ||
                       c == 0x202f || c == 0x2007;
    if (space) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out.append(text, start, i - start);
  }
  return out;
}

std::string strip_markup(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    bool line_break = false;
    // gcc writes quotes as %< and %>: "%<operator=%>" is no tag.
    const bool gcc_quote = i > 0 && text[i - 1] == '%';
    const std::size_t len = text[i] == '<' && !gcc_quote ? markup_tag_length(text, i, line_break) : 0;
    if (len == 0) {
      out += text[i++];
      continue;
    }
    if (line_break) out += ' ';
    i += len;
  }
  return out;
}

std::string decode_entities(const std::string& text) {
  static const std::map<std::string, char32_t> named = {{"lt", '<'},   {"gt", '>'},    {"amp", '&'},
                                                        {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xa0}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = entity_length(text, i);
    if (len == 0) {
      out += text[i++];
      continue;
    }
    const std::string body = text.substr(i + 1, len - 2);
    char32_t cp = 0;
    bool ok = false;
    if (body[0] == '#') {
      const bool hex = body[1] == 'x' || body[1] == 'X';
      const std::string digits = body.substr(hex ? 2 : 1);
      if (digits.size() <= 7) {
        cp = static_cast<char32_t>(std::stoul(digits, nullptr, hex ? 16 : 10));
        ok = cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
      }
    } else {
      const auto it = named.find(body);
      if (it != named.end()) cp = it->second, ok = true;
    }
    if (!ok) {
      out += text[i++];
      continue;
    }
    append_utf8(out, cp);
    i += len;
  }
  return out;
}

std::string strip_accelerators(const std::string& text, const std::set<std::string>& keep_words) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '_' && c != '~' && c != '&') continue;
    const char prev = i > 0 ? text[i - 1] : '\0';
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (prev == c || next == c) continue;  // "__init__", "&&", "~~": literal, not markers
    if (c == '&' && entity_length(text, i) > 0) continue;
    if (!alnum_at(text, i + 1)) continue;
    if (c == '~' && is_ascii_digit(next)) continue;  // "~5 min" is an approximation
    candidates.push_back(i);
  }
  // A label has one accelerator: several candidates mean identifiers or operators, not markers.
  if (candidates.size() != 1) return text;
  const std::size_t at = candidates[0];
  const std::string word = word_at(text, at);
  if (text[at] == '_' && std::count(word.begin(), word.end(), '_') > 1) return text;
  if (keep_words.count(word)) return text;
  return text.substr(0, at) + text.substr(at + 1);
}

std::string remove_placeholders(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = placeholder_length(text, i);
    if (len == 0) {
      out += text[i++];
    } else {
      out += ' ';
      i += len;
    }
  }
  return out;
}

bool has_letters_outside_placeholders(const std::string& text) {
  const std::string rest = remove_placeholders(text);
  for (std::size_t i = 0; i < rest.size();) {
    if (is_letter(next_code_point(rest, i))) return true;
  }
  return false;
}

int count_latin_letters(const std::string& text) {
  int n = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (is_latin_letter(next_code_point(text, i))) ++n;
  }
  return n;
}

NormalisedPair normalise_pair(const std::string& msgid, const std::string& msgstr) {
  NormalisedPair p;
  if (!is_valid_utf8(msgid) || !is_valid_utf8(msgstr)) {
    p.drop_reason = "invalid_utf8";
    return p;
  }
  const std::string src = strip_markup(collapse_whitespace(msgid));
  const std::string tgt = strip_markup(collapse_whitespace(msgstr));
  // Each side keeps an accelerator-like word that the other side repeats unchanged: that is an
  // identifier ("size_t", "%<~auto%>"), not a marker the translator moved.
  p.source = collapse_whitespace(decode_entities(strip_accelerators(src, words_of(tgt))));
  p.target = collapse_whitespace(decode_entities(strip_accelerators(tgt, words_of(src))));
  if (p.source.empty() || p.target.empty()) {
    p.drop_reason = "empty";
  } else if (!has_letters_outside_placeholders(p.source) || !has_letters_outside_placeholders(p.target)) {
    p.drop_reason = "placeholder_only";
  } else if (count_latin_letters(remove_placeholders(p.source)) < 2) {
    p.drop_reason = "few_latin_letters";
  } else if (p.source == p.target) {
    p.drop_reason = "same_as_source";
  }
  return p;
}

std::string corpus_split_key(const std::string& source) {
  std::string key = case_fold(collapse_whitespace(strip_accelerators(source)));
  // Trailing punctuation: ".", ":", "...", "…" (U+2026), "!", "?", ";", ",".
  for (;;) {
    if (!key.empty() && std::string(".:;,!? ").find(key.back()) != std::string::npos) {
      key.pop_back();
    } else if (key.size() >= 3 && key.compare(key.size() - 3, 3, "\xe2\x80\xa6") == 0) {
      key.resize(key.size() - 3);
    } else {
      break;
    }
  }
  return key;
}

CorpusSplit corpus_split_for(const std::string& source, int test_permille, int valid_permille) {
  const std::uint64_t bucket = fnv1a64(corpus_split_key(source)) % 1000;
  if (bucket < static_cast<std::uint64_t>(test_permille)) return CorpusSplit::kTest;
  if (bucket < static_cast<std::uint64_t>(test_permille + valid_permille)) return CorpusSplit::kValid;
  return CorpusSplit::kTrain;
}

// ---------------------------------------------------------------- the build
std::vector<PackageVersion> read_packages_file(const std::string& path) {
  const std::string text = read_text_file(path);
  std::vector<PackageVersion> packages;
  std::set<std::string> seen;
  std::size_t start = 0;
  for (int line_no = 1; start < text.size(); ++line_no) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    const std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      std::size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (fields.size() != 2) {
      throw std::invalid_argument(where + "expected 'package version' (two fields), got " +
                                  std::to_string(fields.size()) + " fields");
    }
    if (!seen.insert(fields[0]).second) throw std::invalid_argument(where + "package '" + fields[0] + "' listed twice");
    packages.push_back({fields[0], fields[1]});
  }
  if (packages.empty()) throw std::invalid_argument(path + ": no packages listed (expected 'package version' lines)");
  return packages;
}

CorpusBuildReport build_corpus(const CorpusBuildOptions& opt) {
  if (opt.unpacked_dir.empty()) throw std::invalid_argument("thanos corpus: --unpacked is required");
  if (opt.packages_file.empty()) throw std::invalid_argument("thanos corpus: --packages-file is required");
  if (opt.out_dir.empty()) throw std::invalid_argument("thanos corpus: --out is required");
  if (opt.test_permille < 0 || opt.valid_permille < 0 || opt.test_permille + opt.valid_permille > 1000) {
    throw std::invalid_argument(
        "thanos corpus: test and valid shares must be >= 0 and add up to at most 1000 "
        "per mille, got " +
        std::to_string(opt.test_permille) + " and " + std::to_string(opt.valid_permille));
  }
  if (!fs::is_directory(opt.unpacked_dir)) {
    throw std::invalid_argument(opt.unpacked_dir + ": not a directory (expected the `dpkg -x` output)");
  }
  CorpusBuildReport report;
  report.packages = read_packages_file(opt.packages_file);
  const fs::path root = normal_dir(opt.unpacked_dir);
  const std::vector<Catalog> catalogs = find_catalogs(root, opt.locale, report.catalog_links_skipped);
  if (catalogs.empty()) {
    throw std::invalid_argument(opt.unpacked_dir + ": no catalogs found (expected */" + opt.locale +
                                "/LC_MESSAGES/*.mo below it)");
  }
  for (const auto& r : corpus_drop_reasons()) report.dropped[r] = 0;

  // Splits in processing order: packages and catalogs by sorted path, entries in file order.
  std::vector<std::string> lines[3][2];                    // [train, valid, test][en, de]
  std::unordered_map<std::string, std::string> target_of;  // normalised source → kept target
  nlohmann::ordered_json catalog_list = nlohmann::ordered_json::array();
  std::string inputs = "thanos.corpus " + std::to_string(kCorpusRulesVersion) + "\nlocale " + opt.locale +
                       "\nkeep_context " + (opt.keep_context_entries ? "1" : "0") + "\nsplit " +
                       std::to_string(opt.test_permille) + " " + std::to_string(opt.valid_permille) + "\n";
  std::vector<PackageVersion> sorted_packages = report.packages;
  std::sort(sorted_packages.begin(), sorted_packages.end(),
            [](const PackageVersion& a, const PackageVersion& b) { return a.name < b.name; });
  for (const auto& p : sorted_packages) inputs += "package " + p.name + " " + p.version + "\n";

  for (const auto& c : catalogs) {
    const std::string bytes = read_text_file(c.path.string());
    MoCatalog cat = parse_mo_catalog(bytes, c.path.string());
    const std::string charset = cat.charset();
    bool latin1 = false;
    if (charset == "iso-8859-1" || charset == "latin1") {
      latin1 = true;
    } else if (!charset.empty() && charset != "utf-8" && charset != "utf8" && charset != "ascii" &&
               charset != "us-ascii" && charset != "charset") {  // "CHARSET": the unfilled template
      report.warnings.push_back(c.relative + ": skipped: charset " + charset + " (expected UTF-8 or ISO-8859-1)");
      continue;
    }
    ++report.catalogs;
    inputs += "catalog " + c.relative + " " + hex64(fnv1a64(bytes)) + "\n";
    std::int64_t kept = 0;
    for (const auto& e : cat.entries) {
      ++report.entries;
      if (e.is_header()) {
        ++report.dropped["header"];
        continue;
      }
      if (e.has_context && !opt.keep_context_entries) {
        ++report.dropped["context"];
        continue;
      }
      // Plural entries contribute their singular form (msgid → msgstr[0]).
      std::string msgstr = e.msgstr.empty() ? "" : e.msgstr[0];
      NormalisedPair np =
          normalise_pair(latin1 ? latin1_to_utf8(e.msgid) : e.msgid, latin1 ? latin1_to_utf8(msgstr) : msgstr);
      if (!np.drop_reason.empty()) {
        ++report.dropped[np.drop_reason];
        continue;
      }
      const auto [it, inserted] = target_of.emplace(np.source, np.target);
      if (!inserted) {
        ++report.dropped[it->second == np.target ? "duplicate_pair" : "other_target_for_source"];
        continue;
      }
      const int split = static_cast<int>(corpus_split_for(np.source, opt.test_permille, opt.valid_permille));
      lines[split][0].push_back(std::move(np.source));
      lines[split][1].push_back(std::move(np.target));
      ++kept;
    }
    catalog_list.push_back(
        {{"path", c.relative}, {"entries", cat.entries.size()}, {"pairs", kept}, {"fnv1a64", hex64(fnv1a64(bytes))}});
  }
  report.train = static_cast<std::int64_t>(lines[0][0].size());
  report.valid = static_cast<std::int64_t>(lines[1][0].size());
  report.test = static_cast<std::int64_t>(lines[2][0].size());
  report.inputs_hash = hex64(fnv1a64(inputs));

  // ---- write: everything into a sibling temporary directory, then one rename.
  const fs::path out = normal_dir(opt.out_dir);
  report.out_dir = out.string();
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  fs::path tmp = out;
  tmp += ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directory(tmp);
  try {
    const char* split_names[3] = {"train", "valid", "test"};
    const char* langs[2] = {"en", "de"};
    nlohmann::ordered_json files = nlohmann::ordered_json::object();
    for (int s = 0; s < 3; ++s) {
      for (int l = 0; l < 2; ++l) {
        const std::string name = std::string(split_names[s]) + "." + langs[l];
        const std::string text = join_lines(lines[s][l]);
        write_file_atomically((tmp / name).string(), text);
        files[name] = {{"lines", lines[s][l].size()}, {"bytes", text.size()}, {"fnv1a64", hex64(fnv1a64(text))}};
      }
    }
    nlohmann::ordered_json packages = nlohmann::ordered_json::array();
    for (const auto& p : report.packages) packages.push_back({{"name", p.name}, {"version", p.version}});
    nlohmann::ordered_json dropped = nlohmann::ordered_json::object();
    for (const auto& r : corpus_drop_reasons()) dropped[r] = report.dropped.at(r);
    nlohmann::ordered_json manifest = {
        {"format", "thanos.corpus"},
        {"version", 1},
        {"rules_version", kCorpusRulesVersion},
        {"source_language", "en"},
        {"target_language", "de"},
        {"description", "English-German pairs from the German gettext catalogs (.mo) of Debian packages"},
        {"inputs_hash", report.inputs_hash},
        {"packages", packages},
        {"locale", opt.locale},
        {"keep_context_entries", opt.keep_context_entries},
        {"catalogs", report.catalogs},
        {"catalog_links_skipped", report.catalog_links_skipped},
        {"entries", report.entries},
        {"splits", {{"train", report.train}, {"valid", report.valid}, {"test", report.test}}},
        {"split_rule", "fnv1a64(split key) % 1000: < " + std::to_string(opt.test_permille) + " test, < " +
                           std::to_string(opt.test_permille + opt.valid_permille) +
                           " valid, else train; split key = source case-folded, accelerators and trailing "
                           "punctuation removed"},
        {"dropped", dropped},
        {"files", files},
        {"catalog_files", catalog_list},
    };
    write_file_atomically((tmp / "manifest.json").string(), manifest.dump(2) + "\n");
    replace_directory(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return report;
}

}  // namespace thanos
