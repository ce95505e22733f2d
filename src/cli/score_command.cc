#include <cstdio>

#include "command.h"
#include "thanos/commands/score.h"

namespace thanos::cli {

Command add_score_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "score", "BLEU, chrF or chrF++ of a hypothesis file against reference files, exactly as sacreBLEU 2.6.0 "
               "computes them (13a tokenizer, exp smoothing by default), or fairseq's BLEU as HAT publishes it "
               "(docs/SCORING.md)");
  auto opt = std::make_shared<ScoreOptions>();
  auto tokenize = std::make_shared<std::string>();
  auto smooth = std::make_shared<std::string>();
  auto smooth_value = std::make_shared<double>(0);
  auto json = std::make_shared<bool>(false);
  auto score_only = std::make_shared<bool>(false);
  app->add_option("--hyp", opt->hyp_path, "System output, one segment per line (UTF-8)")->required();
  app->add_option("--ref", opt->ref_paths, "Reference file, line-aligned with --hyp; repeat for several references")
      ->required()->take_all();
  app->add_option("--metric", opt->metric,
                  "bleu (sacreBLEU's), chrf (chrF2), chrf++ (chrF2 with word bigrams) or fairseq-bleu (fairseq-score's "
                  "BLEU on whitespace tokens: HAT's number)")
      ->check(CLI::IsMember({"bleu", "chrf", "chrf++", "fairseq-bleu"}))->capture_default_str();
  app->add_flag("--lowercase,-l", opt->lowercase, "Lower-case both sides first (sacreBLEU's -lc; fairseq's --ignore-case)");
  auto* tok_opt = app->add_option("--tokenize", *tokenize, "BLEU tokenizer: 13a (default), intl or none")
                      ->check(CLI::IsMember({"13a", "intl", "none"}));
  auto* smooth_opt = app->add_option("--smooth-method", *smooth, "BLEU smoothing: exp (default), floor, add-k or none")
                         ->check(CLI::IsMember({"exp", "floor", "add-k", "none"}));
  auto* value_opt = app->add_option("--smooth-value", *smooth_value,
                                    "Value for floor (default 0.1) or add-k (default 1)");
  app->add_flag("--sentence", opt->sentence,
                "One score per line (BLEU with sacreBLEU's sentence-level effective order)");
  app->add_flag("--compound-split", opt->compound_split,
                "fairseq-bleu: split hyphenated compounds as HAT's compound_split_bleu.sh (a-b -> a ##AT##-##AT## b) "
                "on both sides first");
  app->add_flag("--json", *json, "Print JSON: score, precisions, bp, lengths, counts/totals, signature");
  app->add_flag("--score-only,-b", *score_only, "Print only the score(s), two decimals");
  return {app, [=]() {
            if (*tok_opt) opt->tokenize = *tokenize;
            if (*smooth_opt) opt->smooth_method = *smooth;
            if (*value_opt) opt->smooth_value = *smooth_value;
            const ScoreReport r = run_score(*opt);
            if (*json) {
              std::cout << r.data.dump(2) << "\n";
            } else if (*score_only) {
              for (double s : r.scores) {
                char buf[64];
                std::snprintf(buf, sizeof(buf), "%.2f", s);
                std::cout << buf << "\n";
              }
            } else {
              std::cout << render_score_text(r);
            }
            return 0;
          }};
}

}  // namespace thanos::cli
