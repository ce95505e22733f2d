#include <limits>

#include "command.h"
#include "generation_flags.h"
#include "thanos/commands/search.h"

namespace thanos::cli {

Command add_search_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "search", "Find the SubTransformer with the lowest inherited-weight validation loss that fits latency and memory "
                "budgets (predicted, then verified on the target) (docs/SEARCH.md)");
  auto o = std::make_shared<SearchOptions>();
  auto sets = std::make_shared<std::vector<std::string>>();
  auto protocol = std::make_shared<std::string>("hat-wmt");
  app->add_option("--checkpoint", o->checkpoint_path, "Trained SuperTransformer (its space is embedded)")->required();
  app->add_option("--data", o->data_dir, "Prepared data (thanos prepare): the valid split gives the fitness")->required();
  app->add_option("--strategy", o->strategy, "random, evo (HAT's evolution), hpo-evo (TPE over QKV + caps, evolution inside) or nsga2 "
                  "(Pareto front over loss, latency, memory)")
      ->check(CLI::IsMember(strategy_names()))->capture_default_str();
  app->add_option("--set", *sets, "Strategy setting KEY=VALUE (e.g. population=125 iterations=30); repeatable");
  app->add_option("--seed", o->seed, "Seed (the same seed gives the same search)")->capture_default_str();
  app->add_option("--latency-ms", o->budgets.latency_ms, "Latency budget (ms, encoder + decoder under the protocol)");
  app->add_option("--memory-mb", o->budgets.memory_mib, "Peak memory budget (MiB, docs/MEASUREMENT.md)");
  app->add_option("--margin", o->budgets.margin_errors, "Safety margin in prediction errors")->capture_default_str();
  app->add_option("--latency-predictor", o->latency_predictor_path, "Predictor file (thanos fit-predictor) for the target");
  app->add_option("--memory-predictor", o->memory_predictor_path, "Memory predictor file (default: the analytic model)");
  app->add_option("--protocol", *protocol, "The target's latency protocol preset")
      ->check(CLI::IsMember(latency_protocol_presets()))->capture_default_str();
  app->add_option("--target-device", o->target_device_name, "Device name the predictors must have been fitted on");
  app->add_option("--target-threads", o->target_threads, "Threads the predictors must have been fitted with");
  app->add_option("--max-tokens", o->fitness.max_tokens, "Tokens per validation batch")->capture_default_str();
  app->add_option("--valid-subset", o->fitness.subset, "Score a fixed subset of the valid pairs (0 = all)")->capture_default_str();
  app->add_option("--fitness-device", o->fitness_device, "Where inherited-weight losses are computed: cpu, cuda or cuda:N")
      ->capture_default_str();
  app->add_option("--verify-device", o->verify_device, "Measure the top candidates here before returning them: cpu, cuda, ort-cpu, rknn or remote://HOST:PORT");
  app->add_option("--verify-backend", o->verify_backend, "With --verify-device remote://...: what the agent measures with: cpu "
                                                         "(default), cuda or rknn (the board's NPU, docs/DEPLOY.md)");
  app->add_option("--token-file", o->token_file, "The agent's token (remote verification)");
  app->add_option("--top-k", o->top_k,
                  "Candidates returned; with --verify-device, ones that fit when measured (Pareto modes: the whole front)")
      ->capture_default_str();
  app->add_option("--verify-limit", o->verify_limit,
                  "Most candidates measured, best first, while looking for --top-k that fit (0 = 4 x top-k)")
      ->capture_default_str();
  app->add_option("--verify-measurements", o->verify_claim.measurements,
                  "Readings behind each candidate's budget claim, each after a reading of the space's smallest member "
                  "(the drift reference); the median's 90% interval decides (at least 5)")
      ->capture_default_str();
  app->add_option("--verify-max-measurements", o->verify_claim.max_measurements,
                  "Most readings of a candidate whose interval straddles the budget before it is left undecided")
      ->capture_default_str();
  app->add_option("--verify-screen", o->verify_claim.screen,
                  "Leave a candidate out after one reading beyond (1 + F) x a budget, without a verdict (0 = every "
                  "measured candidate gets its full claim)")
      ->capture_default_str();
  app->add_option("--verify-reference-ms", o->verify_reference_baseline_ms,
                  "The drift reference's latency while the predictor's dataset was measured: claims whose reference "
                  "reads more than 10% away from it are flagged drifting (never corrected)");
  app->add_option("--rerank", o->rerank,
                  "Translate this many of the best candidates (the best of each encoder/decoder depth pair first) from the "
                  "valid split with inherited weights and rank them by BLEU before the rest (0 = off: loss only, as HAT)")
      ->capture_default_str();
  const GenerationFlags generation(app);  // how --rerank translates: --preset, --beam, ... as in `thanos eval`
  app->add_option("--hv-reference-loss", o->hv_reference_loss,
                  "Pareto modes: the hypervolume's reference loss (default: the worst loss of the random first batch); "
                  "fix it to compare runs");
  app->add_option("--out", o->out_dir, "Output directory: search.json, best.yml, candidates.csv, evaluations.jsonl (resume log)")->required();
  return {app, [=]() {
            SearchOptions opts = *o;
            opts.protocol = latency_protocol_preset(*protocol);
            opts.rerank_generation = generation.resolve();
            for (const auto& kv : *sets) {
              const auto eq = kv.find('=');
              if (eq == std::string::npos) throw std::invalid_argument("--set " + kv + ": expected KEY=VALUE");
              try {
                opts.settings[kv.substr(0, eq)] = std::stod(kv.substr(eq + 1));
              } catch (const std::exception&) {
                throw std::invalid_argument("--set " + kv + ": the value must be a number");
              }
            }
            const SearchReport r = run_search(opts, [](const std::string& line) { std::cerr << line << "\n"; });
            const auto& s = r.summary;
            std::cout << "search: " << s["evaluations"]["total"] << " configs scored; " << s["pareto_front"].size()
                      << " candidates returned (" << s["verification"]["predicted_feasible_but_failed"]
                      << " predicted to fit but failed the real measurement) -> " << opts.out_dir << "/search.json\n";
            if (!r.found) {
              std::cerr << "thanos search: no candidate met the budgets on the target\n";
              return 3;
            }
            std::cout << "search: best " << s["pareto_front"][0]["hash"].get<std::string>() << " valid loss "
                      << s["pareto_front"][0]["valid_loss"]
                      << (s["pareto_front"][0].contains("valid_bleu") ? ", valid BLEU " + s["pareto_front"][0]["valid_bleu"].dump() : "")
                      << " -> " << opts.out_dir << "/best.yml\n";
            return 0;
          }};
}

}  // namespace thanos::cli
