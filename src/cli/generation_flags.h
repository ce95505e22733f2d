#pragma once
// The beam-search options shared by `translate` and `eval`: a HAT preset first, then whatever was
// given explicitly on top of it.
#include <memory>
#include <string>

#include "command.h"
#include "thanos/decode/generation_options.h"

namespace thanos::cli {

class GenerationFlags {
 public:
  explicit GenerationFlags(CLI::App* app) {
    std::string presets;
    for (const auto& n : generation_preset_names()) presets += (presets.empty() ? "" : "|") + n;
    app->add_option("--preset", *preset_, "HAT's evaluation settings: " + presets +
                                              " (beam 4 lenpen 0.6 | beam 5 lenpen 1); options given explicitly win")
        ->check(CLI::IsMember(generation_preset_names()));
    beam_ = app->add_option("--beam", values_->beam, "Beam size (1: greedy)")
                ->capture_default_str()
                ->check(CLI::PositiveNumber);
    lenpen_ = app->add_option("--lenpen", values_->lenpen, "Length penalty: score = log-prob sum / length^lenpen")
                  ->capture_default_str();
    len_a_ = app->add_option("--max-len-a", values_->max_len_a, "Max length = a * source length + b")->capture_default_str();
    len_b_ = app->add_option("--max-len-b", values_->max_len_b, "Max length = a * source length + b")->capture_default_str();
    min_len_ = app->add_option("--min-len", values_->min_len, "Tokens before </s> is allowed")->capture_default_str();
    app->add_flag("--no-cache", *no_cache_, "Recompute the whole prefix at every step instead of caching keys/values "
                                            "(same output, slower; for comparison)");
  }

  // After parsing.
  GenerationOptions resolve() const {
    GenerationOptions gen = preset_->empty() ? GenerationOptions() : generation_preset(*preset_);
    if (beam_->count()) gen.beam = values_->beam;
    if (lenpen_->count()) gen.lenpen = values_->lenpen;
    if (len_a_->count()) gen.max_len_a = values_->max_len_a;
    if (len_b_->count()) gen.max_len_b = values_->max_len_b;
    if (min_len_->count()) gen.min_len = values_->min_len;
    gen.use_cache = !*no_cache_;
    return gen;
  }

 private:
  // Shared: CLI11 writes through these pointers after the subcommand's closure was copied.
  std::shared_ptr<GenerationOptions> values_ = std::make_shared<GenerationOptions>();
  std::shared_ptr<std::string> preset_ = std::make_shared<std::string>();
  std::shared_ptr<bool> no_cache_ = std::make_shared<bool>(false);
  CLI::Option *beam_ = nullptr, *lenpen_ = nullptr, *len_a_ = nullptr, *len_b_ = nullptr, *min_len_ = nullptr;
};

}  // namespace thanos::cli
