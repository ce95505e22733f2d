#include "thanos/search/bleu_rerank.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "thanos/decode/batch_decoder.h"
#include "thanos/decode/bleu.h"
#include "thanos/decode/chrf.h"

namespace thanos {

std::vector<std::size_t> rerank_shortlist(const std::vector<SubConfig>& ranked, int n) {
  // Depth pairs in the order of their best member; within each, the members best first.
  std::vector<std::pair<int, int>> order;
  std::map<std::pair<int, int>, std::vector<std::size_t>> by_depth;
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const std::pair<int, int> depth{ranked[i].encoder_layer_num(), ranked[i].decoder_layer_num()};
    auto& members = by_depth[depth];
    if (members.empty()) order.push_back(depth);
    members.push_back(i);
  }
  std::vector<std::size_t> picked;
  for (std::size_t round = 0; static_cast<int>(picked.size()) < n; ++round) {
    bool any = false;
    for (const auto& depth : order) {
      const auto& members = by_depth[depth];
      if (round >= members.size()) continue;
      any = true;
      picked.push_back(members[round]);
      if (static_cast<int>(picked.size()) >= n) break;
    }
    if (!any) break;  // fewer than n candidates
  }
  return picked;
}

BleuReranker::BleuReranker(SuperTransformer model, ScoringSplit split, GenerationOptions generation, int max_tokens)
    : model_(std::move(model)), split_(std::move(split)), spm_(split_.spm_path), generation_(generation), max_tokens_(max_tokens) {
  generation_.validate();
  if (model_->options().tgt_vocab_size != split_.vocab_size) {
    throw std::invalid_argument("BLEU re-ranking: the SuperTransformer's vocabulary " + std::to_string(model_->options().tgt_vocab_size) +
                                " differs from the data's " + std::to_string(split_.vocab_size));
  }
}

RerankScore BleuReranker::score(const SubConfig& config) const {
  const auto start = std::chrono::steady_clock::now();
  Generator generator(model_, config, generation_);
  const DecodeOutput decoded = decode_in_batches(generator, split_.data, max_tokens_);
  const std::vector<std::string> hyps = split_.data.size() ? spm_.decode(decoded.tokens) : std::vector<std::string>{};
  RerankScore s;
  s.bleu = corpus_bleu(hyps, {split_.refs}, BleuOptions{}).score;
  s.chrf = corpus_chrf(hyps, {split_.refs}, ChrfOptions{}).score;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

RerankOutcome rerank_by_bleu(const std::vector<Evaluation>& ranked, const BleuReranker& reranker, int n,
                             const std::function<void(const std::string&)>& log, const std::atomic<bool>* stop) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<SubConfig> configs;
  for (const auto& e : ranked) configs.push_back(e.config);
  const std::vector<std::size_t> shortlist = rerank_shortlist(configs, n);
  const GenerationOptions& g = reranker.generation();
  log("search: re-ranking " + std::to_string(shortlist.size()) + " candidates (the best of each depth pair) by BLEU on the " +
      std::to_string(reranker.sentences()) + " valid sentences, inherited weights, beam " + std::to_string(g.beam));
  RerankOutcome out;
  std::vector<std::pair<std::size_t, RerankScore>> scored;
  for (const std::size_t i : shortlist) {
    if (stop && stop->load()) {
      out.interrupted = true;
      return out;
    }
    const RerankScore score = reranker.score(ranked[i].config);
    std::ostringstream line;
    line.precision(4);
    line << "search: re-rank " << scored.size() + 1 << "/" << shortlist.size() << ": " << ranked[i].config.summary()
         << ": valid loss " << ranked[i].fitness << ", BLEU " << score.bleu << ", chrF " << score.chrf << " (" << score.seconds << " s)";
    log(line.str());
    scored.emplace_back(i, score);
    out.scores[ranked[i].config.hash_hex()] = score;
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.second.bleu > b.second.bleu; });
  std::set<std::size_t> taken;
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& [i, score] : scored) {
    const Evaluation& e = ranked[i];
    out.ranked.push_back(e);
    taken.insert(i);
    listed.push_back({{"hash", e.config.hash_hex()}, {"summary", e.config.summary()}, {"encoder_layers", e.config.encoder_layer_num()},
                      {"decoder_layers", e.config.decoder_layer_num()}, {"valid_loss", e.fitness}, {"loss_rank", i + 1},
                      {"bleu", score.bleu}, {"chrf", score.chrf}, {"seconds", score.seconds}});
  }
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    if (!taken.count(i)) out.ranked.push_back(ranked[i]);
  }
  out.summary = {{"metric", "bleu"}, {"split", "valid"}, {"sentences", reranker.sentences()},
                 {"generation", {{"beam", g.beam}, {"lenpen", g.lenpen}, {"max_len_a", g.max_len_a}, {"max_len_b", g.max_len_b}}},
                 {"requested", n}, {"candidates", listed},
                 {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()}};
  return out;
}

}  // namespace thanos
