// prepare: the corpus -> a sentencepiece model and binarized splits (WORKDIR/data).
#include "stage.h"
#include "thanos/commands/prepare.h"
#include "thanos/pipeline/stage_outputs.h"

#include <filesystem>

namespace thanos {
namespace {

// Size and modification time stand for a file's content in the hash (hashing a large corpus on
// every run would cost more than the check saves); the prepared manifest's own hash covers the
// content from here on.
std::string file_stamp(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto time = std::filesystem::last_write_time(path, ec).time_since_epoch().count();
  return path + ":" + std::to_string(ec ? 0 : size) + ":" + std::to_string(ec ? 0 : time);
}

class PrepareStage : public Stage {
 public:
  std::string name() const override { return "prepare"; }
  std::vector<std::string> upstream() const override { return {}; }
  std::string inputs_hash(const Plan& p) const override {
    const RunConfig& c = p.config;
    nlohmann::ordered_json corpus = {{"dir", p.corpus_dir}, {"vocab_size", c.vocab_size}, {"langs", {c.src_lang, c.tgt_lang}}};
    for (const auto& prefix : {c.train_prefix, c.valid_prefix, c.test_prefix}) {
      for (const auto& lang : {c.src_lang, c.tgt_lang}) corpus["files"].push_back(file_stamp(corpus_file(p, prefix, lang)));
    }
    return hash_of(corpus);
  }
  double estimate_seconds(const Plan&) const override { return 30; }  // a fixed allowance
  StageRun run(const StageContext& ctx) const override {
    const Plan& p = ctx.plan;
    PrepareOptions o;
    o.train_prefix = corpus_prefix(p, p.config.train_prefix);
    o.valid_prefix = corpus_prefix(p, p.config.valid_prefix);
    o.test_prefix = corpus_prefix(p, p.config.test_prefix);
    o.src_lang = p.config.src_lang;
    o.tgt_lang = p.config.tgt_lang;
    o.vocab_size = p.config.vocab_size;
    o.out_dir = p.dir.data();
    o.overwrite = true;
    const auto manifest = run_prepare(o);
    return {to_json(PrepareOutput{o.out_dir, manifest.value("hash", "")})};
  }
};

}  // namespace

std::unique_ptr<Stage> make_prepare_stage() { return std::make_unique<PrepareStage>(); }

}  // namespace thanos
