// BLEU as sacreBLEU 2.6.0 computes it (from its documented behaviour; docs/SCORING.md lists the
// rules), and fairseq's BLEU for comparisons with HAT's published numbers.
#include "thanos/common/text.h"
#include "thanos/decode/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

#include "thanos/decode/signature.h"

namespace thanos {

std::string smoothing_name(BleuSmoothing s) {
  switch (s) {
    case BleuSmoothing::kExp: return "exp";
    case BleuSmoothing::kFloor: return "floor";
    case BleuSmoothing::kAddK: return "add-k";
    case BleuSmoothing::kNone: return "none";
  }
  return "?";
}

BleuSmoothing parse_smoothing(const std::string& name) {
  if (name == "exp") return BleuSmoothing::kExp;
  if (name == "floor") return BleuSmoothing::kFloor;
  if (name == "add-k") return BleuSmoothing::kAddK;
  if (name == "none") return BleuSmoothing::kNone;
  throw std::invalid_argument("unknown smoothing method '" + name + "' (expected exp, floor, add-k or none)");
}

BleuOptions BleuOptions::sentence_level() {
  BleuOptions o;
  o.effective_order = true;
  return o;
}

BleuStatistics& BleuStatistics::operator+=(const BleuStatistics& other) {
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  for (int n = 0; n < kBleuOrder; ++n) {
    counts[n] += other.counts[n];
    totals[n] += other.totals[n];
  }
  return *this;
}

namespace {

// sacreBLEU's defaults for the smoothing value; exp and none have none.
std::optional<double> effective_smooth_value(const BleuOptions& o) {
  if (o.smooth == BleuSmoothing::kFloor) return o.smooth_value.value_or(0.1);
  if (o.smooth == BleuSmoothing::kAddK) return o.smooth_value.value_or(1.0);
  return std::nullopt;
}

// n-grams of orders 1..4 keyed by their tokens joined with single spaces (tokens never contain
// whitespace, so the key is unambiguous).
using NgramCounts = std::unordered_map<std::string, std::int64_t>;

NgramCounts count_ngrams(const std::vector<std::string>& tokens) {
  NgramCounts counts;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string key;
    for (int n = 1; n <= kBleuOrder && i + n <= tokens.size(); ++n) {
      if (n > 1) key.push_back(' ');
      key += tokens[i + n - 1];
      ++counts[key];
    }
  }
  return counts;
}

int order_of(const std::string& key) {
  int n = 1;
  for (char c : key) n += (c == ' ');
  return n;
}

// The reference length closest to the hypothesis length; the shorter one on a tie.
std::int64_t closest_ref_len(std::int64_t hyp_len, const std::vector<std::int64_t>& ref_lens) {
  std::int64_t best_len = -1, best_diff = -1;
  for (std::int64_t len : ref_lens) {
    const std::int64_t diff = std::llabs(hyp_len - len);
    if (best_diff < 0 || diff < best_diff || (diff == best_diff && len < best_len)) {
      best_diff = diff;
      best_len = len;
    }
  }
  return best_len;
}

// sacreBLEU's log of a precision: a zero precision counts as -9999999999 rather than -inf, so that
// BLEU is exp(very negative) = 0 without a floating-point error.
double bleu_log(double p) { return p == 0 ? -9999999999.0 : std::log(p); }

}  // namespace

double BleuScore::ratio() const { return ref_len > 0 ? static_cast<double>(sys_len) / ref_len : 0.0; }

std::string BleuScore::format() const {
  std::string out = "BLEU = " + format_fixed(score, 2) + " ";
  for (int n = 0; n < kBleuOrder; ++n) out += (n ? "/" : "") + format_fixed(precisions[n], 1);
  out += " (BP = " + format_fixed(bp, 3) + " ratio = " + format_fixed(ratio(), 3) + " hyp_len = " + std::to_string(sys_len) +
         " ref_len = " + std::to_string(ref_len) + ")";
  return out;
}

std::string bleu_signature(const BleuOptions& o, std::size_t nrefs) {
  std::string smooth = smoothing_name(o.smooth);
  if (auto v = effective_smooth_value(o)) smooth += "[" + format_fixed(*v, 2) + "]";
  return join_signature({{"nrefs", std::to_string(nrefs)},
                         {"case", o.lowercase ? "lc" : "mixed"},
                         {"eff", o.effective_order ? "yes" : "no"},
                         {"tok", tokenizer_name(o.tokenize)},
                         {"smooth", smooth},
                         {"version", kSacrebleuVersion},
                         {"impl", scorer_impl_tag()}});
}

std::vector<std::string> bleu_tokens(std::string_view segment, const BleuOptions& o) {
  if (o.lowercase) return split_whitespace(tokenize(python_lower(segment), o.tokenize));
  return split_whitespace(tokenize(segment, o.tokenize));
}

BleuStatistics bleu_statistics(std::string_view hyp, const std::vector<std::string>& refs, const BleuOptions& o) {
  if (refs.empty()) throw std::invalid_argument("BLEU needs at least one reference per segment");
  // Each n-gram may match up to its largest count in any one reference.
  NgramCounts ref_max;
  std::vector<std::int64_t> ref_lens;
  for (const auto& ref : refs) {
    const auto tokens = bleu_tokens(ref, o);
    ref_lens.push_back(static_cast<std::int64_t>(tokens.size()));
    for (const auto& [key, count] : count_ngrams(tokens)) {
      auto& slot = ref_max[key];
      slot = std::max(slot, count);
    }
  }
  const auto hyp_tokens = bleu_tokens(hyp, o);
  BleuStatistics s;
  s.sys_len = static_cast<std::int64_t>(hyp_tokens.size());
  s.ref_len = closest_ref_len(s.sys_len, ref_lens);
  for (const auto& [key, count] : count_ngrams(hyp_tokens)) {
    const int n = order_of(key) - 1;
    s.totals[n] += count;
    auto it = ref_max.find(key);
    if (it != ref_max.end()) s.counts[n] += std::min(count, it->second);
  }
  return s;
}

BleuScore bleu_from_statistics(const BleuStatistics& stats, const BleuOptions& o) {
  BleuScore r;
  r.sys_len = stats.sys_len;
  r.ref_len = stats.ref_len;
  r.counts = stats.counts;
  r.totals = stats.totals;
  if (stats.sys_len < stats.ref_len)
    r.bp = stats.sys_len > 0 ? std::exp(1.0 - static_cast<double>(stats.ref_len) / stats.sys_len) : 0.0;
  else
    r.bp = 1.0;

  // No match of any order: 0, before any smoothing.
  bool any_match = false;
  for (auto c : stats.counts) any_match |= (c != 0);
  if (!any_match) return r;

  const std::optional<double> k = effective_smooth_value(o);
  double exp_divisor = 1.0;
  int eff_order = kBleuOrder;
  for (int n = 1; n <= kBleuOrder; ++n) {
    double correct = static_cast<double>(stats.counts[n - 1]);
    double total = static_cast<double>(stats.totals[n - 1]);
    if (o.smooth == BleuSmoothing::kAddK && n > 1) {
      correct += *k;
      total += *k;
    }
    // An order without hypothesis n-grams ends the loop: its precision (and every higher one) stays
    // 0, which zeroes BLEU unless the effective order stops before it.
    if (total == 0) break;
    if (o.effective_order) eff_order = n;
    if (correct == 0) {
      if (o.smooth == BleuSmoothing::kExp) {
        exp_divisor *= 2;
        r.precisions[n - 1] = 100.0 / (exp_divisor * total);
      } else if (o.smooth == BleuSmoothing::kFloor) {
        r.precisions[n - 1] = 100.0 * *k / total;
      }
    } else {
      r.precisions[n - 1] = 100.0 * correct / total;
    }
  }
  double log_sum = 0;
  for (int n = 0; n < eff_order; ++n) log_sum += bleu_log(r.precisions[n]);
  r.score = r.bp * std::exp(log_sum / eff_order);
  return r;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                      const BleuOptions& o) {
  if (refs.empty()) throw std::invalid_argument("BLEU needs at least one reference stream");
  for (std::size_t r = 0; r < refs.size(); ++r)
    if (refs[r].size() != hyps.size())
      throw std::invalid_argument("reference stream " + std::to_string(r + 1) + " has " +
                                  std::to_string(refs[r].size()) + " segments but there are " +
                                  std::to_string(hyps.size()) + " hypotheses");
  BleuStatistics total;
  std::vector<std::string> seg_refs(refs.size());
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    for (std::size_t r = 0; r < refs.size(); ++r) seg_refs[r] = refs[r][i];
    try {
      total += bleu_statistics(hyps[i], seg_refs, o);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("segment " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  return bleu_from_statistics(total, o);
}

BleuScore sentence_bleu(std::string_view hyp, const std::vector<std::string>& refs, const BleuOptions& o) {
  return bleu_from_statistics(bleu_statistics(hyp, refs, o), o);
}

// ---------------------------------------------------------------- fairseq

double FairseqBleuScore::ratio() const { return ref_len > 0 ? static_cast<double>(sys_len) / ref_len : 0.0; }

std::string FairseqBleuScore::format() const {
  // Python's "{:2.2f}" and "{:2.1f}": width 2 is a minimum, so these are plain fixed formats.
  std::string out = "BLEU4 = " + format_fixed(score, 2) + ", ";
  for (int n = 0; n < kBleuOrder; ++n) out += (n ? "/" : "") + format_fixed(precisions[n], 1);
  out += " (BP=" + format_fixed(bp, 3) + ", ratio=" + format_fixed(ratio(), 3) + ", syslen=" + std::to_string(sys_len) +
         ", reflen=" + std::to_string(ref_len) + ")";
  return out;
}

std::string compound_split(std::string_view line) {
  // perl's \s on a byte string: space, \t, \n, \v, \f, \r. Every other byte, including each byte
  // of a multi-byte UTF-8 character, is \S.
  auto non_space = [](char c) { return !(c == ' ' || (c >= '\t' && c <= '\r')); };
  std::string out;
  out.reserve(line.size() + line.size() / 8);
  std::size_t i = 0;
  while (i < line.size()) {
    if (i + 2 < line.size() && non_space(line[i]) && line[i + 1] == '-' && non_space(line[i + 2])) {
      // The match consumes both neighbours, so "a-b-c" splits only once: "a ##AT##-##AT## b-c".
      out.push_back(line[i]);
      out += " ##AT##-##AT## ";
      out.push_back(line[i + 2]);
      i += 3;
    } else {
      out.push_back(line[i++]);
    }
  }
  return out;
}

std::string fairseq_bleu_signature(const FairseqBleuOptions& o) {
  return "fairseq-bleu|" + join_signature({{"nrefs", "1"},
                                           {"case", o.lowercase ? "lc" : "mixed"},
                                           {"tok", "none"},
                                           {"split", o.compound_split ? "compound" : "none"},
                                           {"impl", scorer_impl_tag()}});
}

namespace {

// A line as fairseq's Dictionary.encode_line and its BLEU scorer see it: whitespace tokens plus an
// end-of-sentence token, then leading "<pad>" and trailing "</s>"/"<pad>" trimmed, keeping at
// least the first token (so an empty line is one "</s>"). In a reference, "<unk>" is replaced by
// a string no hypothesis token can equal (it contains a tab), so that it never matches.
std::vector<std::string> fairseq_tokens(const std::string& line, bool is_ref) {
  std::vector<std::string> t = split_whitespace(line);
  t.push_back("</s>");
  std::size_t start = 0;
  while (start < t.size() && t[start] == "<pad>") ++start;
  t.erase(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(start));
  std::size_t end = t.size() - 1;
  while (end > 0 && (t[end] == "</s>" || t[end] == "<pad>")) --end;
  t.resize(end + 1);
  if (is_ref)
    for (auto& w : t)
      if (w == "<unk>") w = "<unk>\t";
  return t;
}

}  // namespace

FairseqBleuScore fairseq_bleu(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                              const FairseqBleuOptions& o) {
  if (hyps.size() != refs.size())
    throw std::invalid_argument("fairseq BLEU: " + std::to_string(hyps.size()) + " hypotheses but " +
                                std::to_string(refs.size()) + " references");
  FairseqBleuScore r;
  auto prepare = [&](const std::string& line) {
    std::string s = o.compound_split ? compound_split(line) : line;
    return o.lowercase ? python_lower(s) : s;
  };
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    std::vector<std::string> h, ref;
    try {
      h = fairseq_tokens(prepare(hyps[i]), false);
      ref = fairseq_tokens(prepare(refs[i]), true);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("segment " + std::to_string(i + 1) + ": " + e.what());
    }
    r.sys_len += static_cast<std::int64_t>(h.size());
    r.ref_len += static_cast<std::int64_t>(ref.size());
    const NgramCounts ref_counts = count_ngrams(ref);
    for (const auto& [key, count] : count_ngrams(h)) {
      const int n = order_of(key) - 1;
      r.totals[n] += count;
      auto it = ref_counts.find(key);
      if (it != ref_counts.end()) r.counts[n] += std::min(count, it->second);
    }
  }
  if (r.sys_len == 0) throw std::invalid_argument("fairseq BLEU: no hypothesis tokens (no segments)");
  double log_sum = 0;
  bool zero = false;
  for (int n = 0; n < kBleuOrder; ++n) {
    const double p = r.totals[n] > 0 ? static_cast<double>(r.counts[n]) / r.totals[n] : 0.0;
    r.precisions[n] = 100.0 * p;
    if (p > 0)
      log_sum += std::log(p);
    else
      zero = true;  // fairseq takes log(0) as -inf: BLEU 0
  }
  r.bp = std::min(1.0, std::exp(1.0 - static_cast<double>(r.ref_len) / r.sys_len));
  r.score = zero ? 0.0 : r.bp * std::exp(log_sum / kBleuOrder) * 100.0;
  return r;
}

}  // namespace thanos
