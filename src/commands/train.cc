#include "thanos/commands/train.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "thanos/commands/prepare.h"
#include "thanos/common/text.h"
#include "thanos/data/prepared_data.h"
#include "thanos/model/extract.h"
#include "thanos/model/model_file.h"
#include "thanos/space/config_io.h"
#include "thanos/space/space_yaml.h"
#include "thanos/train/fitness.h"
#include "thanos/train/trainer.h"

namespace thanos {
namespace fs = std::filesystem;

namespace {

// train_log.jsonl as a run starting at update `updates` finds it: a run killed after its last
// checkpoint had logged updates that the resumed run trains and logs again, and may have cut its
// last line. Those lines go, so the log holds each update once, as an uninterrupted run's does; a
// fresh run (update 0) starts an empty log. Rewritten (temp + rename) only when something goes.
void keep_log_up_to(const std::string& path, std::int64_t updates) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string kept;
  bool dropped = false;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t newline = text.find('\n', pos);
    if (newline == std::string::npos) {  // a line cut by the crash
      dropped = true;
      break;
    }
    const std::string line = text.substr(pos, newline - pos);
    pos = newline + 1;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("update") && j["update"].is_number_integer() && j["update"].get<std::int64_t>() <= updates) {
      kept += line + "\n";
    } else {
      dropped = true;
    }
  }
  if (dropped) write_file_atomically(path, kept);
}

nlohmann::json score_json(const std::string& name, const SubConfig& c, const ValidScore& s) {
  return {{"config", name}, {"hash", c.hash_hex()}, {"loss", s.loss}, {"nll_loss", s.nll_loss},
          {"ppl", s.ppl},   {"ntokens", s.ntokens}};
}

}  // namespace

TrainCommandResult run_train(const TrainCommandOptions& o, const std::function<void(const std::string&)>& log) {
  if (o.save_dir.empty()) throw std::invalid_argument("thanos train: --save-dir is required");
  const nlohmann::json manifest = load_prepared_manifest(o.data_dir);
  const int vocab = prepared_vocab_size(manifest, o.data_dir);
  const BinarizedSplit train = load_prepared_split(o.data_dir, "train");
  const BinarizedSplit valid = load_prepared_split(o.data_dir, "valid");

  TrainCommandResult out;
  ModelFileInfo info;
  SuperTransformer model{nullptr};
  TrainTarget target;
  const std::string last = o.save_dir + "/checkpoint_last.pt";

  // The space: given, or the one the --init-from model carries.
  std::optional<SearchSpace> space;
  std::string space_yaml;
  if (!o.space_path.empty()) {
    LoadedSpace ls = load_search_space(o.space_path);
    out.warnings = ls.warnings;
    space = ls.space;
    space_yaml = search_space_to_yaml(ls.space);
  }
  std::optional<LoadedModel> init;
  if (!o.init_from.empty()) {
    init = load_model(o.init_from);
    if (init->info.is_standalone()) throw std::invalid_argument(o.init_from + ": --init-from needs a SuperTransformer");
    if (init->info.options.src_vocab_size != vocab) {
      throw std::invalid_argument(o.init_from + ": vocabulary " + std::to_string(init->info.options.src_vocab_size) +
                                  " differs from the data's " + std::to_string(vocab) + " (" + o.data_dir + ")");
    }
    if (!space) {
      space = embedded_search_space(init->info.metadata, o.init_from);
      space_yaml = init->info.metadata.count("space_yaml") ? init->info.metadata.at("space_yaml") : "";
    }
  }
  if (!space) throw std::invalid_argument("thanos train: give --space SPACE.yml (or --init-from a SuperTransformer)");

  torch::manual_seed(o.train.seed);
  if (o.config_path.empty()) {
    if (init) throw std::invalid_argument("thanos train: --init-from is for SubTransformers; add --config SUB.yml");
    out.mode = "supertransformer";
    target.mode = TrainMode::kSuperTransformer;
    target.space = *space;
    info.options = super_model_options(*space, vocab, vocab);
    model = SuperTransformer(info.options);
  } else {
    out.mode = "subtransformer";
    LoadedConfig lc = load_config_file(o.config_path, default_qkv_dim(space));
    out.warnings.insert(out.warnings.end(), lc.warnings.begin(), lc.warnings.end());
    space->check_config(lc.config);
    target.mode = TrainMode::kSubTransformer;
    target.config = lc.config;
    if (init) {
      model = extract_subtransformer(*init->model, lc.config);  // inherited weights (fine-tuning)
      info.metadata["init_from"] = o.init_from;
    } else {
      model = SuperTransformer(standalone_options(super_model_options(*space, vocab, vocab), lc.config));
    }
    info.options = model->options();
    info.sub_config = lc.config;
    info.metadata["sub_config_yaml"] = config_to_yaml(lc.config);
  }
  info.metadata["space_yaml"] = space_yaml;
  info.metadata["data_manifest_hash"] = manifest.value("hash", "");
  info.metadata["created_by"] = "thanos train";
  for (const auto& p : model->parameters()) out.parameters += p.numel();

  TrainOptions to = o.train;
  to.save_dir = o.save_dir;
  fs::create_directories(o.save_dir);
  Trainer trainer(model, info, train, to, target);
  // torchrun-style launch: RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT in the environment.
  const DistributedEnv dist = DistributedEnv::from_environment();
  std::unique_ptr<Communicator> comm;
  if (dist.enabled()) {
    comm = std::make_unique<Communicator>(dist, parse_device(to.device));
    trainer.set_communicator(comm.get());
    log("distributed (" + std::string(comm->backend()) + "): rank " + std::to_string(dist.rank) + " of " +
        std::to_string(dist.world_size) + " via " +
        dist.master_addr + ":" + std::to_string(dist.master_port));
  }
  if (o.resume && fs::exists(last)) {
    trainer.resume(last);
    log("resumed from " + last + " at update " + std::to_string(trainer.num_updates()));
  } else if (!o.resume && fs::exists(last)) {
    throw std::invalid_argument(last + " exists; pass --resume to continue it, or choose another --save-dir");
  }
  log("training " + out.mode + " (" + std::to_string(out.parameters) + " parameters) on " + std::to_string(train.size()) +
      " pairs for " + std::to_string(to.max_updates) + " updates");

  const std::string log_path = o.save_dir + "/train_log.jsonl";
  if (comm == nullptr || comm->is_main()) keep_log_up_to(log_path, trainer.num_updates());
  std::ofstream jsonl(log_path, std::ios::app);
  out.result = trainer.run([&](const TrainProgress& p) {
    char line[256];
    std::snprintf(line, sizeof(line),
                  "update %lld/%lld | epoch %lld | loss %.3f | nll %.3f | ppl %.2f | lr %.3g | gnorm %.2f | %.0f tok/s | "
                  "elapsed %s | eta %s",
                  static_cast<long long>(p.update), static_cast<long long>(p.max_updates),
                  static_cast<long long>(p.epoch), p.loss, p.nll_loss, p.ppl, p.lr, p.grad_norm, p.tokens_per_second,
                  format_duration(p.elapsed_seconds).c_str(), format_duration(p.eta_seconds).c_str());
    log(line);
    jsonl << nlohmann::json{{"update", p.update}, {"epoch", p.epoch},     {"loss", p.loss},
                            {"nll_loss", p.nll_loss}, {"ppl", p.ppl},     {"lr", p.lr},
                            {"grad_norm", p.grad_norm}, {"tokens_per_second", p.tokens_per_second},
                            {"elapsed_seconds", p.elapsed_seconds}, {"config", p.config_hash}}
                 .dump()
          << "\n"
          << std::flush;
  });
  if (out.result.interrupted) {
    log("interrupted at update " + std::to_string(out.result.updates) + "; saved " + last +
        " (thanos train resumes it with the same command plus --resume)");
    return out;
  }
  FitnessOptions fo;
  fo.label_smoothing = to.label_smoothing;
  fo.max_tokens = to.batching.max_tokens;
  FitnessEvaluator eval(trainer.model(), valid, fo);
  if (target.mode == TrainMode::kSuperTransformer) {
    const SubConfig big = space->largest(), small = space->smallest();
    auto scores = eval.score({big, small});
    out.final_valid = {score_json("largest", big, scores[0]), score_json("smallest", small, scores[1])};
  } else {
    out.final_valid = {score_json(o.config_path, target.config, eval.score(target.config))};
  }
  return out;
}

nlohmann::json run_valid(const ValidCommandOptions& o) {
  const nlohmann::json manifest = load_prepared_manifest(o.data_dir);
  const BinarizedSplit split = load_prepared_split(o.data_dir, o.split);  // names the splits there are when it is not one
  LoadedModel m = load_model(o.checkpoint_path);
  const int vocab = prepared_vocab_size(manifest, o.data_dir);
  if (m.info.options.src_vocab_size != vocab) {
    throw std::invalid_argument(o.checkpoint_path + ": vocabulary " + std::to_string(m.info.options.src_vocab_size) +
                                " differs from the data's " + std::to_string(vocab));
  }
  std::optional<SearchSpace> space = embedded_search_space(m.info.metadata, o.checkpoint_path);
  std::vector<std::pair<std::string, SubConfig>> configs;
  for (const auto& path : o.config_paths) {
    SubConfig c = load_config_file(path, default_qkv_dim(space)).config;
    if (space && !m.info.is_standalone()) space->check_config(c);
    configs.push_back({path, c});
  }
  if (configs.empty()) {
    if (m.info.is_standalone()) {
      configs.push_back({"model", *m.info.sub_config});
    } else if (space) {
      configs.push_back({"largest", space->largest()});
      configs.push_back({"smallest", space->smallest()});
    } else {
      throw std::invalid_argument("thanos valid: give --config for a SuperTransformer without an embedded space");
    }
  }
  m.model->to(parse_device(o.device));
  FitnessEvaluator eval(m.model, split, o.fitness);
  std::vector<SubConfig> list;
  for (const auto& [name, c] : configs) list.push_back(c);
  const auto scores = eval.score(list);
  nlohmann::json out = {{"pairs", eval.pairs()}, {"split", o.split}, {"results", nlohmann::json::array()}};
  for (std::size_t i = 0; i < configs.size(); ++i) out["results"].push_back(score_json(configs[i].first, list[i], scores[i]));
  return out;
}

void run_average(const std::vector<std::string>& checkpoint_paths, const std::string& out_path) {
  average_checkpoints(checkpoint_paths, out_path);
}

}  // namespace thanos
