#include "thanos/commands/score.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "thanos/common/text.h"
#include "thanos/data/text_lines.h"
#include "thanos/decode/bleu.h"
#include "thanos/decode/chrf.h"
#include "thanos/decode/signature.h"
#include "thanos/decode/tokenize.h"

namespace thanos {

namespace {

enum class Metric { kBleu, kChrf, kChrfPlusPlus, kFairseqBleu };

Metric parse_metric(const std::string& name) {
  if (name == "bleu") return Metric::kBleu;
  if (name == "chrf") return Metric::kChrf;
  if (name == "chrf++") return Metric::kChrfPlusPlus;
  if (name == "fairseq-bleu") return Metric::kFairseqBleu;
  throw std::invalid_argument("--metric: unknown metric '" + name + "' (expected bleu, chrf, chrf++ or fairseq-bleu)");
}

template <typename Array>
nlohmann::ordered_json to_json_array(const Array& a) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& v : a) j.push_back(v);
  return j;
}

}  // namespace

// BLEU's details; sacreBLEU's and fairseq's scores have the same fields.
namespace {
template <typename Score>
nlohmann::ordered_json bleu_like_json(const char* name, const Score& s) {
  return {{"name", name},
          {"score", s.score},
          {"precisions", to_json_array(s.precisions)},
          {"bp", s.bp},
          {"ratio", s.ratio()},
          {"sys_len", s.sys_len},
          {"ref_len", s.ref_len},
          {"counts", to_json_array(s.counts)},
          {"totals", to_json_array(s.totals)},
          {"text", s.format()}};
}
}  // namespace

nlohmann::ordered_json bleu_json(const BleuScore& s) { return bleu_like_json("BLEU", s); }
nlohmann::ordered_json fairseq_json(const FairseqBleuScore& s) { return bleu_like_json("BLEU4", s); }

nlohmann::ordered_json chrf_json(const ChrfScore& s) {
  return {{"name", s.name()},
          {"score", s.score},
          {"char_order", s.char_order},
          {"word_order", s.word_order},
          {"beta", s.beta},
          {"text", s.format()}};
}

namespace {

void reject(bool given, const std::string& option, const std::string& why) {
  if (given) throw std::invalid_argument(option + " " + why);
}

}  // namespace

ScoreReport run_score(const ScoreOptions& o) {
  const Metric metric = parse_metric(o.metric);
  if (o.hyp_path.empty()) throw std::invalid_argument("--hyp: a hypothesis file is required");
  if (o.ref_paths.empty()) throw std::invalid_argument("--ref: at least one reference file is required");
  const bool is_bleu = metric == Metric::kBleu;
  reject(!is_bleu && o.tokenize.has_value(), "--tokenize",
         metric == Metric::kFairseqBleu ? "does not apply to fairseq-bleu (it splits on whitespace only; give it "
                                          "Moses-tokenised text)"
                                        : "applies to BLEU only (chrF never tokenises)");
  reject(!is_bleu && (o.smooth_method || o.smooth_value), "--smooth-method/--smooth-value", "apply to --metric bleu only");
  reject(metric != Metric::kFairseqBleu && o.compound_split, "--compound-split",
         "applies to --metric fairseq-bleu only (HAT's compound-split BLEU)");
  reject(metric == Metric::kFairseqBleu && o.sentence, "--sentence", "is not available for fairseq-bleu");
  reject(metric == Metric::kFairseqBleu && o.ref_paths.size() != 1, "--ref",
         "fairseq-bleu takes exactly one reference file (got " + std::to_string(o.ref_paths.size()) + ")");

  BleuOptions bleu_options = o.sentence ? BleuOptions::sentence_level() : BleuOptions{};
  if (is_bleu) {
    bleu_options.lowercase = o.lowercase;
    if (o.tokenize) bleu_options.tokenize = parse_tokenizer(*o.tokenize);
    if (o.smooth_method) bleu_options.smooth = parse_smoothing(*o.smooth_method);
    if (o.smooth_value) {
      if (bleu_options.smooth != BleuSmoothing::kFloor && bleu_options.smooth != BleuSmoothing::kAddK)
        throw std::invalid_argument("--smooth-value applies to --smooth-method floor or add-k only (got " +
                                    smoothing_name(bleu_options.smooth) + ")");
      if (!(*o.smooth_value >= 0))
        throw std::invalid_argument("--smooth-value: " + std::to_string(*o.smooth_value) + " (expected >= 0)");
      bleu_options.smooth_value = o.smooth_value;
    }
  }
  ChrfOptions chrf_options = metric == Metric::kChrfPlusPlus ? ChrfOptions::chrf_plus_plus() : ChrfOptions{};
  chrf_options.lowercase = o.lowercase;
  FairseqBleuOptions fairseq_options;
  fairseq_options.lowercase = o.lowercase;
  fairseq_options.compound_split = o.compound_split;

  const std::vector<std::string> hyps = read_segments(o.hyp_path, "hypothesis");
  std::vector<std::vector<std::string>> refs;
  for (const auto& path : o.ref_paths) {
    refs.push_back(read_segments(path, "reference"));
    if (refs.back().size() != hyps.size())
      throw std::invalid_argument("hypothesis file '" + o.hyp_path + "' has " + std::to_string(hyps.size()) +
                                  " lines but reference file '" + path + "' has " +
                                  std::to_string(refs.back().size()) + " lines");
  }

  ScoreReport report;
  switch (metric) {
    case Metric::kBleu: report.signature = bleu_signature(bleu_options, refs.size()); break;
    case Metric::kChrf:
    case Metric::kChrfPlusPlus: report.signature = chrf_signature(chrf_options, refs.size()); break;
    case Metric::kFairseqBleu: report.signature = fairseq_bleu_signature(fairseq_options); break;
  }

  nlohmann::ordered_json& d = report.data;
  d["metric"] = o.metric;
  if (!o.sentence) {
    nlohmann::ordered_json result;
    if (metric == Metric::kBleu) {
      const BleuScore s = corpus_bleu(hyps, refs, bleu_options);
      result = bleu_json(s);
      report.scores.push_back(s.score);
      report.lines.push_back(s.format());
    } else if (metric == Metric::kFairseqBleu) {
      const FairseqBleuScore s = fairseq_bleu(hyps, refs[0], fairseq_options);
      result = fairseq_json(s);
      report.scores.push_back(s.score);
      report.lines.push_back(s.format());
    } else {
      const ChrfScore s = corpus_chrf(hyps, refs, chrf_options);
      result = chrf_json(s);
      report.scores.push_back(s.score);
      report.lines.push_back(s.format());
    }
    for (auto& [key, value] : result.items()) d[key] = value;
  } else {
    nlohmann::ordered_json sentences = nlohmann::ordered_json::array();
    std::vector<std::string> seg_refs(refs.size());
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      for (std::size_t r = 0; r < refs.size(); ++r) seg_refs[r] = refs[r][i];
      try {
        if (metric == Metric::kBleu) {
          const BleuScore s = sentence_bleu(hyps[i], seg_refs, bleu_options);
          sentences.push_back(bleu_json(s));
          report.scores.push_back(s.score);
          report.lines.push_back(s.format());
        } else {
          const ChrfScore s = sentence_chrf(hyps[i], seg_refs, chrf_options);
          sentences.push_back(chrf_json(s));
          report.scores.push_back(s.score);
          report.lines.push_back(s.format());
        }
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("line " + std::to_string(i + 1) + ": " + e.what());
      }
    }
    d["sentences"] = std::move(sentences);
  }
  d["signature"] = report.signature;
  d["nrefs"] = refs.size();
  d["segments"] = hyps.size();
  d["hyp"] = o.hyp_path;
  d["refs"] = o.ref_paths;
  if (metric != Metric::kFairseqBleu) d["sacrebleu_version"] = kSacrebleuVersion;
  d["impl"] = scorer_impl_tag();
  return report;
}

std::string render_score_text(const ScoreReport& report) {
  std::string out;
  for (const auto& line : report.lines) out += line + "\n";
  out += "signature: " + report.signature + "\n";
  return out;
}

}  // namespace thanos
