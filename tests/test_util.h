#pragma once
// Shared fixtures: small spaces and models that keep the suite fast, and small test helpers.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "thanos/space/search_space.h"
#include "thanos/space/sub_config.h"

namespace thanos::testing {

// Sets an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A tiny space with every elastic dimension, QKV included (heads 4/2, qkv 32/16/24).
inline SearchSpace tiny_space() {
  SearchSpace s;
  s.source = "tiny";
  s.encoder_embed_dim = s.decoder_embed_dim = 32;
  s.encoder_ffn_dim = s.decoder_ffn_dim = 64;
  s.encoder_layers = 3;
  s.decoder_layers = 3;
  s.encoder_heads = s.decoder_heads = 4;
  s.qkv_dim = 32;
  s.encoder_embed_choices = s.decoder_embed_choices = {32, 24, 16};
  s.encoder_ffn_choices = s.decoder_ffn_choices = {64, 48, 32};
  s.encoder_layer_num_choices = {3, 2};
  s.decoder_layer_num_choices = {3, 2, 1};
  s.encoder_self_heads_choices = s.decoder_self_heads_choices = s.decoder_ende_heads_choices = {4, 2};
  s.decoder_ende_layers_choices = {1, 2, 3};
  s.encoder_self_qkv_choices = s.decoder_self_qkv_choices = s.decoder_ende_qkv_choices = {32, 24, 16};
  s.hyper.share_all_embeddings = s.hyper.share_decoder_input_output = true;
  s.hyper.dropout = 0.1;
  s.hyper.attention_dropout = 0.1;
  s.hyper.max_source_positions = s.hyper.max_target_positions = 64;
  return s;
}

inline std::string test_data(const std::string& rel) { return std::string(THANOS_TEST_DATA) + "/" + rel; }

// The message of the std::invalid_argument `f` throws (a test failure when it throws none).
inline std::string invalid_argument_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

#ifdef THANOS_BINARY
struct CliResult {
  int code;            // exit status, -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs the built `thanos` with `args` (already shell-quoted where needed).
inline CliResult run_cli(const std::string& args) {
  const std::string cmd = std::string(THANOS_BINARY) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}
#endif

// The JSON object a command printed last (`--json`), after its progress lines.
inline nlohmann::json last_json(const std::string& output) {
  const auto start = output.find("{\n");
  EXPECT_NE(start, std::string::npos) << output;
  return nlohmann::json::parse(output.substr(start));
}

// One encoder and one decoder layer of 256 dims: small layers, so the vocabulary's tables
// (encoder, decoder, output: no sharing) decide the weights.
inline SubConfig one_layer_config() {
  SubConfig c;
  c.encoder_embed_dim = c.decoder_embed_dim = 256;
  c.encoder_layers.push_back({512, 4, 256});
  c.decoder_layers.push_back({512, 4, 256, 4, 256, 1});
  return c;
}

}  // namespace thanos::testing
