// sacreBLEU's tokenizers and the Python text semantics they rely on. Written from the documented
// behaviour of sacreBLEU 2.6.0 (see docs/SCORING.md and ../shared/data/sacrebleu/README.md), not
// from its source: each regex substitution is a left-to-right pass over non-overlapping matches,
// which is what the scanning loops below reproduce.
#include "thanos/decode/tokenize.h"

#include <algorithm>
#include <stdexcept>

namespace thanos {

bool RangeTable::contains(char32_t c) const {
  const CodeRange* end = ranges + size;
  const CodeRange* it = std::upper_bound(ranges, end, c, [](char32_t v, const CodeRange& r) { return v < r.lo; });
  return it != ranges && c <= (it - 1)->hi;
}

// ---------------------------------------------------------------- categories and case

bool is_python_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return unicode_tables::kWhitespaceTable.contains(c);
}
bool is_unicode_punctuation(char32_t c) { return unicode_tables::kPunctuationTable.contains(c); }
bool is_unicode_symbol(char32_t c) { return unicode_tables::kSymbolTable.contains(c); }
bool is_unicode_number(char32_t c) { return unicode_tables::kNumberTable.contains(c); }

namespace {

bool case_ignorable(char32_t c) { return unicode_tables::kCaseIgnorableTable.contains(c); }
bool cased(char32_t c) { return unicode_tables::kCasedNotIgnorableTable.contains(c); }

// Python lower-cases U+03A3 to final sigma when the nearest non-case-ignorable character before it
// is cased and the nearest one after it (if any) is not.
bool final_sigma(std::u32string_view s, std::size_t i) {
  std::size_t j = i;
  while (j > 0 && case_ignorable(s[j - 1])) --j;
  if (j == 0 || !cased(s[j - 1])) return false;
  std::size_t k = i + 1;
  while (k < s.size() && case_ignorable(s[k])) ++k;
  return k == s.size() || !cased(s[k]);
}

}  // namespace

std::u32string python_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const LowerPair* pairs = unicode_tables::kLower;
  const LowerPair* pairs_end = pairs + unicode_tables::kLowerCount;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
      continue;
    }
    if (c == 0x03A3) {
      out.push_back(final_sigma(text, i) ? 0x03C2 : 0x03C3);
      continue;
    }
    const LowerPair* it = std::lower_bound(pairs, pairs_end, c, [](const LowerPair& p, char32_t v) { return p.from < v; });
    if (it != pairs_end && it->from == c) {
      out.push_back(it->to);
      continue;
    }
    bool multi = false;
    for (std::size_t m = 0; m < unicode_tables::kLowerMultiCount; ++m) {
      const LowerMulti& lm = unicode_tables::kLowerMulti[m];
      if (lm.from == c) {
        out.append(lm.to, lm.size);
        multi = true;
        break;
      }
    }
    if (!multi) out.push_back(c);
  }
  return out;
}

std::string python_lower(std::string_view text) { return utf8_encode(python_lower(utf8_decode(text))); }

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  char32_t c;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_decode_one(text, i, c);
    if (n == 0) throw std::invalid_argument("invalid UTF-8 at byte " + std::to_string(i));
    if (is_python_space(c)) {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current.append(text.substr(i, n));
    }
    i += n;
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

std::u32string remove_whitespace(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text)
    if (!is_python_space(c)) out.push_back(c);
  return out;
}

// ---------------------------------------------------------------- tokenizers

std::string tokenizer_name(Tokenizer t) {
  switch (t) {
    case Tokenizer::k13a: return "13a";
    case Tokenizer::kIntl: return "intl";
    case Tokenizer::kNone: return "none";
  }
  return "?";
}

Tokenizer parse_tokenizer(const std::string& name) {
  if (name == "13a") return Tokenizer::k13a;
  if (name == "intl") return Tokenizer::kIntl;
  if (name == "none") return Tokenizer::kNone;
  throw std::invalid_argument("unknown tokenizer '" + name + "' (expected 13a, intl or none)");
}

namespace {

std::string join_tokens(std::string_view text) {
  std::string out;
  for (const auto& t : split_whitespace(text)) {
    if (!out.empty()) out.push_back(' ');
    out += t;
  }
  return out;
}

// Python's str.replace: one left-to-right pass over non-overlapping occurrences.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string_view::npos; pos = hit + from.size()) {
    out.append(s.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(s.substr(pos));
  return out;
}

bool ascii_digit(char c) { return c >= '0' && c <= '9'; }

// The ASCII characters 13a always separates: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
// (the apostrophe, the hyphen, '.' and ',' and the digits are not among them).
bool split_always(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

// One regex pass `(A)(B)` → replacement, over bytes. Every pattern here has an ASCII class on at
// least the side that decides where the next match may start, and "[^0-9]" matched against one
// byte of a multi-byte character accepts it as Python would accept the whole character, so a
// byte scan makes the same matches as Python's code point scan.
template <typename First, typename Second, typename Emit>
std::string pair_pass(const std::string& s, First first, Second second, Emit emit) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string s = replace_all(line, "<skipped>", "");
  s = replace_all(s, "-\n", "");
  s = replace_all(s, "\n", " ");
  if (s.find('&') != std::string::npos) {
    // In this order, each over the whole line: "&amp;lt;" becomes "<", "&amp;quot;" stays "&quot;".
    s = replace_all(s, "&quot;", "\"");
    s = replace_all(s, "&amp;", "&");
    s = replace_all(s, "&lt;", "<");
    s = replace_all(s, "&gt;", ">");
  }
  s = " " + s + " ";

  std::string t;
  t.reserve(s.size() * 2);
  for (char c : s) {
    if (split_always(c)) {
      t.push_back(' ');
      t.push_back(c);
      t.push_back(' ');
    } else {
      t.push_back(c);
    }
  }
  auto period_comma = [](char c) { return c == '.' || c == ','; };
  auto non_digit = [](char c) { return !ascii_digit(c); };
  // "." and "," after a non-digit: "\1 \2 "
  t = pair_pass(t, non_digit, period_comma, [](std::string& o, char a, char b) {
    o.push_back(a), o.push_back(' '), o.push_back(b), o.push_back(' ');
  });
  // "." and "," before a non-digit: " \1 \2"
  t = pair_pass(t, period_comma, non_digit, [](std::string& o, char a, char b) {
    o.push_back(' '), o.push_back(a), o.push_back(' '), o.push_back(b);
  });
  // "-" after a digit: "\1 \2 "
  t = pair_pass(t, ascii_digit, [](char c) { return c == '-'; }, [](std::string& o, char a, char b) {
    o.push_back(a), o.push_back(' '), o.push_back(b), o.push_back(' ');
  });
  return join_tokens(t);
}

std::string tokenize_intl(std::string_view line) {
  const std::u32string s = utf8_decode(line);
  auto passes = [](const std::u32string& in, auto first, auto second, bool space_before) {
    std::u32string out;
    out.reserve(in.size() + in.size() / 4);
    std::size_t i = 0;
    while (i < in.size()) {
      if (i + 1 < in.size() && first(in[i]) && second(in[i + 1])) {
        if (space_before) out.push_back(U' ');
        out.push_back(in[i]);
        out.push_back(U' ');
        out.push_back(in[i + 1]);
        if (!space_before) out.push_back(U' ');
        i += 2;
      } else {
        out.push_back(in[i++]);
      }
    }
    return out;
  };
  auto non_number = [](char32_t c) { return !is_unicode_number(c); };
  // Punctuation after a non-number: "\1 \2 "; then punctuation before a non-number: " \1 \2".
  std::u32string t = passes(s, non_number, is_unicode_punctuation, false);
  t = passes(t, is_unicode_punctuation, non_number, true);
  // Every symbol on its own: " \1 ".
  std::u32string u;
  u.reserve(t.size() * 2);
  for (char32_t c : t) {
    if (is_unicode_symbol(c)) {
      u.push_back(U' ');
      u.push_back(c);
      u.push_back(U' ');
    } else {
      u.push_back(c);
    }
  }
  return join_tokens(utf8_encode(u));
}

std::string tokenize(std::string_view line, Tokenizer t) {
  switch (t) {
    case Tokenizer::k13a: return tokenize_13a(line);
    case Tokenizer::kIntl: return tokenize_intl(line);
    case Tokenizer::kNone: return join_tokens(line);
  }
  return std::string(line);
}

}  // namespace thanos
