// chrF / chrF++ as sacreBLEU 2.6.0 computes them (from its documented behaviour; docs/SCORING.md).
#include "thanos/decode/chrf.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

#include "thanos/decode/signature.h"
#include "thanos/decode/tokenize.h"

namespace thanos {

ChrfOptions ChrfOptions::chrf_plus_plus() {
  ChrfOptions o;
  o.word_order = 2;
  return o;
}

ChrfStatistics& ChrfStatistics::operator+=(const ChrfStatistics& other) {
  if (values.empty()) values.assign(other.values.size(), 0);
  if (values.size() != other.values.size()) throw std::invalid_argument("chrF statistics of different orders");
  for (std::size_t i = 0; i < values.size(); ++i) values[i] += other.values[i];
  return *this;
}

std::string ChrfScore::name() const { return "chrF" + std::to_string(beta) + std::string(word_order, '+'); }

std::string ChrfScore::format() const {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", score);
  return name() + " = " + buf;
}

std::string chrf_signature(const ChrfOptions& o, std::size_t nrefs) {
  return join_signature({{"nrefs", std::to_string(nrefs)},
                         {"case", o.lowercase ? "lc" : "mixed"},
                         {"eff", o.eps_smoothing ? "no" : "yes"},
                         {"nc", std::to_string(o.char_order)},
                         {"nw", std::to_string(o.word_order)},
                         {"space", o.whitespace ? "yes" : "no"},
                         {"version", kSacrebleuVersion},
                         {"impl", scorer_impl_tag()}});
}

namespace {

using NgramMap = std::unordered_map<std::u32string, std::int64_t>;

// n-gram counts of one segment, per order (character orders first, then word orders).
struct SegmentNgrams {
  std::vector<NgramMap> orders;
  std::vector<std::int64_t> totals;
};

bool ascii_punctuation(char32_t c) {
  // Python's string.punctuation
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// chrF++'s words: whitespace-separated, then one ASCII punctuation mark split off the end of a word
// of two or more characters, or else off its start ("(hi)" gives "(hi" and ")").
std::vector<std::u32string> chrf_words(std::u32string_view text) {
  std::vector<std::u32string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_python_space(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && !is_python_space(text[j])) ++j;
    if (j > i) {
      std::u32string w(text.substr(i, j - i));
      if (w.size() == 1) {
        words.push_back(w);
      } else if (ascii_punctuation(w.back())) {
        words.push_back(w.substr(0, w.size() - 1));
        words.push_back(w.substr(w.size() - 1));
      } else if (ascii_punctuation(w.front())) {
        words.push_back(w.substr(0, 1));
        words.push_back(w.substr(1));
      } else {
        words.push_back(w);
      }
    }
    i = j;
  }
  return words;
}

SegmentNgrams extract_ngrams(std::string_view segment, const ChrfOptions& o) {
  std::u32string text = utf8_decode(segment);
  if (o.lowercase) text = python_lower(text);
  SegmentNgrams s;
  s.orders.resize(static_cast<std::size_t>(o.char_order + o.word_order));
  s.totals.assign(s.orders.size(), 0);

  const std::u32string chars = o.whitespace ? text : remove_whitespace(text);
  for (int n = 1; n <= o.char_order; ++n) {
    auto& m = s.orders[n - 1];
    for (std::size_t i = 0; i + n <= chars.size(); ++i) ++m[chars.substr(i, n)];
    s.totals[n - 1] = chars.size() >= static_cast<std::size_t>(n) ? static_cast<std::int64_t>(chars.size() - n + 1) : 0;
  }
  if (o.word_order > 0) {
    const auto words = chrf_words(text);
    for (int n = 1; n <= o.word_order; ++n) {
      const std::size_t slot = static_cast<std::size_t>(o.char_order + n - 1);
      auto& m = s.orders[slot];
      for (std::size_t i = 0; i + n <= words.size(); ++i) {
        std::u32string key = words[i];
        for (int k = 1; k < n; ++k) key += U' ' + words[i + k];  // words never contain spaces
        ++m[key];
      }
      s.totals[slot] = words.size() >= static_cast<std::size_t>(n) ? static_cast<std::int64_t>(words.size() - n + 1) : 0;
    }
  }
  return s;
}

ChrfStatistics match(const SegmentNgrams& hyp, const SegmentNgrams& ref) {
  ChrfStatistics st;
  st.values.assign(hyp.orders.size() * 3, 0);
  for (std::size_t k = 0; k < hyp.orders.size(); ++k) {
    // A reference without n-grams of this order leaves the order out for this segment entirely:
    // the hypothesis' n-grams are not counted either.
    if (ref.totals[k] == 0) continue;
    std::int64_t matches = 0;
    for (const auto& [gram, count] : hyp.orders[k]) {
      auto it = ref.orders[k].find(gram);
      if (it != ref.orders[k].end()) matches += std::min(count, it->second);
    }
    st.values[3 * k] = hyp.totals[k];
    st.values[3 * k + 1] = ref.totals[k];
    st.values[3 * k + 2] = matches;
  }
  return st;
}

}  // namespace

double chrf_from_statistics(const ChrfStatistics& stats, const ChrfOptions& o) {
  const std::size_t orders = stats.values.size() / 3;
  const double factor = static_cast<double>(o.beta) * o.beta;
  constexpr double kEps = 1e-16;
  double avg_prec = 0, avg_rec = 0, eps_sum = 0;
  int effective = 0;
  for (std::size_t k = 0; k < orders; ++k) {
    const double hyp = static_cast<double>(stats.values[3 * k]);
    const double ref = static_cast<double>(stats.values[3 * k + 1]);
    const double m = static_cast<double>(stats.values[3 * k + 2]);
    const double prec = hyp > 0 ? m / hyp : kEps;
    const double rec = ref > 0 ? m / ref : kEps;
    const double denom = factor * prec + rec;
    eps_sum += denom > 0 ? (1 + factor) * prec * rec / denom : kEps;
    if (hyp > 0 && ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective;
    }
  }
  if (o.eps_smoothing) return orders ? 100.0 * eps_sum / static_cast<double>(orders) : 0.0;
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100.0 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

namespace {

void check_options(const ChrfOptions& o) {
  if (o.char_order < 0 || o.word_order < 0 || o.char_order + o.word_order == 0)
    throw std::invalid_argument("chrF: character order " + std::to_string(o.char_order) + " and word order " +
                                std::to_string(o.word_order) + " (expected non-negative, not both 0)");
  if (o.beta < 0) throw std::invalid_argument("chrF: beta " + std::to_string(o.beta) + " (expected >= 0)");
}

}  // namespace

ChrfStatistics chrf_statistics(std::string_view hyp, const std::vector<std::string>& refs, const ChrfOptions& o) {
  check_options(o);
  if (refs.empty()) throw std::invalid_argument("chrF needs at least one reference per segment");
  const SegmentNgrams h = extract_ngrams(hyp, o);
  ChrfStatistics best;
  double best_f = -1;
  for (const auto& ref : refs) {
    ChrfStatistics st = match(h, extract_ngrams(ref, o));
    if (refs.size() == 1) return st;
    const double f = chrf_from_statistics(st, o);
    if (f > best_f) {  // strictly better: the first reference wins a tie
      best_f = f;
      best = std::move(st);
    }
  }
  return best;
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                      const ChrfOptions& o) {
  check_options(o);
  if (refs.empty()) throw std::invalid_argument("chrF needs at least one reference stream");
  for (std::size_t r = 0; r < refs.size(); ++r)
    if (refs[r].size() != hyps.size())
      throw std::invalid_argument("reference stream " + std::to_string(r + 1) + " has " +
                                  std::to_string(refs[r].size()) + " segments but there are " +
                                  std::to_string(hyps.size()) + " hypotheses");
  ChrfScore score;
  score.beta = o.beta;
  score.char_order = o.char_order;
  score.word_order = o.word_order;
  score.stats.values.assign(static_cast<std::size_t>(o.char_order + o.word_order) * 3, 0);
  std::vector<std::string> seg_refs(refs.size());
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    for (std::size_t r = 0; r < refs.size(); ++r) seg_refs[r] = refs[r][i];
    try {
      score.stats += chrf_statistics(hyps[i], seg_refs, o);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("segment " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  score.score = chrf_from_statistics(score.stats, o);
  return score;
}

ChrfScore sentence_chrf(std::string_view hyp, const std::vector<std::string>& refs, const ChrfOptions& o) {
  ChrfScore score;
  score.beta = o.beta;
  score.char_order = o.char_order;
  score.word_order = o.word_order;
  score.stats = chrf_statistics(hyp, refs, o);
  score.score = chrf_from_statistics(score.stats, o);
  return score;
}

}  // namespace thanos
