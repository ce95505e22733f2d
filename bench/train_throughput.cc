// Training throughput of THANOS against the same elastic model written in PyTorch Python.
//
// For every size (a search space and the SubConfig trained) and thread count:
//   1. a synthetic corpus that the library's batcher packs into a fixed set of K batches
//      (one "epoch" = K updates, every batch once);
//   2. THANOS, Trainer::run: the library's training loop itself (sub mode, fixed SubConfig:
//      collate, forward, label-smoothed loss, backward, gradient norm, AdamW), timed per epoch
//      through its progress callback; W warm-up epochs, then R timed epochs;
//   3. THANOS, step loop: the same step written out here on pre-collated batches, with a
//      per-phase breakdown (forward, loss, backward, norm + .item(), optimizer);
//   4. the PyTorch peer (bench/peer_train_step.py, run with Debian's /usr/bin/python3 on the
//      same libtorch): the same initial weights, batches, SubConfig, hyper-parameters and
//      optimizer, exchanged through files written here; same W/R protocol and thread count.
// It prints tokens/s (non-padding target tokens, fairseq's "wps"), the ratio, the achieved
// GFLOP/s against this machine's measured sgemm rate, and the phase breakdown.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "bench_common.h"
#include "thanos/model/cost_model.h"
#include "thanos/model/model_options.h"
#include "thanos/space/config_io.h"
#include "thanos/train/batch.h"
#include "thanos/train/batch_loss.h"
#include "thanos/train/fused_adamw.h"
#include "thanos/train/loss.h"
#include "thanos/train/trainer.h"

using namespace thanos;
using namespace thanos::bench;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct SizeSpec {
  std::string name;
  std::string space;          // file under configs/spaces or a path
  std::string config;         // "largest", "smallest" or "base" (512/2048 inside the space)
  int vocab = 8000;
  int max_tokens = 4096;
  std::vector<int> lengths;   // one batch per length (sentence lengths incl. </s>)
};

std::map<std::string, SizeSpec> known_sizes() {
  return {
      // The smallest SubTransformer of the demo space at a 1024-token budget: a step of a few
      // milliseconds, where the framework's per-operation cost shows next to the arithmetic.
      {"tiny", {"tiny", "demo.yml", "smallest", 8000, 1024, {12, 18, 24, 30}}},
      {"small", {"small", "demo.yml", "largest", 8000, 4096, {18, 24, 30, 36}}},
      // Transformer-base shapes inside HAT's space0 SuperTransformer (640/3072): sliced weights.
      {"base", {"base", "hat-wmt14ende-space0.yml", "base", 8000, 4096, {22, 30}}},
      {"large", {"large", "hat-wmt14ende-space0.yml", "largest", 8000, 4096, {22, 30}}},
  };
}

struct Measurement {
  std::vector<double> epoch_tok_s;  // timed epochs only
  std::map<std::string, double> phase_ms;  // mean per step
  double tok_s() const { return median(epoch_tok_s); }
};

struct Setup {
  SizeSpec spec;
  SearchSpace space;
  SubConfig config;
  ModelOptions options;
  BinarizedSplit split;
  std::vector<Batch> batches;       // the K batches in the batcher's order
  std::int64_t tokens_per_epoch = 0;
  double flops_per_epoch = 0;       // training: 3 x forward, padded shapes, output layer included
};

// Forward FLOPs of one batch in the convention of count_flops (2 x MACs at batch 1), times the
// batch size, plus the output projection (which count_flops leaves out, as HAT does).
double forward_flops(const Setup& s, const Batch& b) {
  const auto B = static_cast<double>(b.src.size(0));
  const int S = static_cast<int>(b.src.size(1)), T = static_cast<int>(b.prev.size(1));
  const double body = static_cast<double>(count_flops(s.config, s.options.hyper, S, T).total());
  const double out = 2.0 * T * s.config.decoder_embed_dim * s.options.tgt_vocab_size;
  return B * (body + out);
}

TrainOptions train_options(const Setup& s, int epochs) {
  TrainOptions to;
  to.max_updates = static_cast<std::int64_t>(epochs) * static_cast<std::int64_t>(s.batches.size());
  to.log_every = static_cast<std::int64_t>(s.batches.size());
  to.batching.max_tokens = s.spec.max_tokens;
  to.seed = 1;
  return to;  // lr schedule, Adam betas/eps, weight decay 0, no clipping, smoothing 0.1: defaults
}

// The PyTorch peer as a child process driven through two FIFOs (one command per line, one JSON
// line back), so that its epochs and ours alternate and a change of load hits both alike.
class Peer {
 public:
  Peer(const std::string& python, const std::string& script, const std::string& dir, int threads,
       const std::string& optimizer_impl) {
    const std::string tag = "_t" + std::to_string(threads);
    ctl_path_ = dir + "/ctl" + tag;
    res_path_ = dir + "/res" + tag;
    log_path_ = dir + "/peer" + tag + ".log";
    for (const auto& p : {ctl_path_, res_path_}) {
      fs::remove(p);
      if (::mkfifo(p.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + p + " failed");
    }
    const std::string cmd = "exec '" + python + "' '" + script + "' --dir '" + dir + "' --threads " +
                            std::to_string(threads) + " --optimizer " + optimizer_impl + " --serve '" + ctl_path_ + "' '" +
                            res_path_ + "' > '" + log_path_ + "' 2>&1";
    std::fflush(stdout);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Open the control FIFO without blocking forever if the child dies before it reads.
    int fd = -1;
    for (int i = 0; i < 6000 && fd < 0; ++i) {
      fd = ::open(ctl_path_.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          throw std::runtime_error("the peer exited at start; see " + log_path_);
        }
        ::usleep(100000);
      }
    }
    if (fd < 0) throw std::runtime_error("the peer did not start; see " + log_path_);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    ctl_ = ::fdopen(fd, "w");
    res_ = std::fopen(res_path_.c_str(), "r");  // the peer opens it right after the control FIFO
    if (!res_) throw std::runtime_error("cannot open " + res_path_);
  }
  ~Peer() {
    if (ctl_) {
      std::fputs("quit\n", ctl_);
      std::fflush(ctl_);
      std::fclose(ctl_);
    }
    if (res_) std::fclose(res_);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    fs::remove(ctl_path_);
    fs::remove(res_path_);
  }
  json request(const std::string& command) {
    std::fputs((command + "\n").c_str(), ctl_);
    std::fflush(ctl_);
    std::string line;
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), res_)) {
      line += buf;
      if (!line.empty() && line.back() == '\n') break;
    }
    if (line.empty()) throw std::runtime_error("the peer stopped answering; see " + log_path_);
    json j = json::parse(line);
    if (j.contains("error")) throw std::runtime_error("peer: " + j["error"].get<std::string>());
    return j;
  }

 private:
  std::string ctl_path_, res_path_, log_path_;
  pid_t pid_ = -1;
  std::FILE* ctl_ = nullptr;
  std::FILE* res_ = nullptr;
};

struct PeerMeasurement {
  std::vector<double> epoch_tok_s;
  std::map<std::string, double> phase_ms;  // mean per step over the timed epochs
  json info;
};

// THANOS' own training loop on the fixed batches. Its progress callback fires after every epoch;
// there the peer runs its epoch, so the two alternate. Our epoch time runs from the end of the
// previous callback to the start of this one (so the peer's time is never counted as ours).
Measurement run_trainer(const Setup& s, SuperTransformer model, int warmup, int repeats, Peer* peer,
                        PeerMeasurement* pm) {
  TrainOptions to = train_options(s, warmup + repeats);
  TrainTarget target;
  target.mode = TrainMode::kSubTransformer;
  target.config = s.config;
  ModelFileInfo info;
  info.options = model->options();
  Trainer trainer(model, info, s.split, to, target);
  Measurement m;
  int epoch = 0;
  int timed_peer = 0;
  auto last = Clock::now();
  trainer.run([&](const TrainProgress& p) {
    const double seconds = std::chrono::duration<double>(Clock::now() - last).count();
    const bool timed = epoch++ >= warmup;
    if (timed) m.epoch_tok_s.push_back(static_cast<double>(s.tokens_per_epoch) / seconds);
    (void)p;
    if (peer) {
      const json e = peer->request("epoch");
      if (timed) {
        pm->epoch_tok_s.push_back(e["tok_s"].get<double>());
        for (auto& [k, v] : e["phase_ms"].items()) pm->phase_ms[k] += v.get<double>();
        ++timed_peer;
      }
    }
    last = Clock::now();
  });
  for (auto& [k, v] : pm->phase_ms) v /= std::max(timed_peer, 1);
  return m;
}

// The trainer's optimiser settings (AdamW, betas, eps, weight decay) for the hand-written loops.
torch::optim::AdamW make_adamw(const std::vector<torch::Tensor>& params, const TrainOptions& to) {
  torch::optim::AdamWOptions adam(to.lr.warmup_init_lr);
  adam.betas({to.adam_beta1, to.adam_beta2}).eps(to.adam_eps).weight_decay(to.weight_decay);
  return torch::optim::AdamW(params, adam);
}

// The same step written out on pre-collated batches, timed by phase.
Measurement run_step_loop(const Setup& s, SuperTransformer model, int warmup, int repeats) {
  const TrainOptions to = train_options(s, 1);
  auto params = model->parameters();
  torch::optim::AdamW optimizer = make_adamw(params, to);
  model->train();
  Measurement m;
  const char* names[] = {"forward", "loss", "backward", "norm_item", "optimizer"};
  double phase[5] = {0, 0, 0, 0, 0};
  std::int64_t steps = 0, update = 0;
  for (int e = 0; e < warmup + repeats; ++e) {
    const bool timed = e >= warmup;
    const auto t_epoch = Clock::now();
    for (const Batch& b : s.batches) {
      const double lr = learning_rate(to.lr, update++, 1 << 30);
      for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      auto t0 = Clock::now();
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      const TargetLogits out = target_logits(model, b, s.config);  // as Trainer: padding rows skipped
      const double t_fwd = seconds_since(t0);
      t0 = Clock::now();
      auto sums = label_smoothed_nll_loss(out.logits, out.target, to.label_smoothing, kPadId);
      const double t_loss = seconds_since(t0);
      t0 = Clock::now();
      (sums.loss / static_cast<double>(b.ntokens)).backward();
      const double t_bwd = seconds_since(t0);
      t0 = Clock::now();
      volatile double loss = sums.loss.item<double>() + sums.nll.item<double>();
      (void)loss;
      volatile double gnorm = torch::nn::utils::clip_grad_norm_(params, std::numeric_limits<double>::infinity());
      (void)gnorm;
      const double t_norm = seconds_since(t0);
      t0 = Clock::now();
      fused_adamw_step(optimizer);  // as Trainer
      const double t_opt = seconds_since(t0);
      if (timed) {
        phase[0] += t_fwd, phase[1] += t_loss, phase[2] += t_bwd, phase[3] += t_norm, phase[4] += t_opt;
        ++steps;
      }
    }
    if (timed) m.epoch_tok_s.push_back(static_cast<double>(s.tokens_per_epoch) / seconds_since(t_epoch));
  }
  for (int i = 0; i < 5; ++i) m.phase_ms[names[i]] = steps ? 1000.0 * phase[i] / static_cast<double>(steps) : 0;
  return m;
}

// One warm-up step, then one step under libtorch's (legacy) profiler, written as a chrome trace;
// bench/profile_compare.py puts it next to the peer's.
void profile_step(const Setup& s, SuperTransformer model, const std::string& path) {
  const TrainOptions to = train_options(s, 1);
  auto params = model->parameters();
  torch::optim::AdamW optimizer = make_adamw(params, to);
  model->train();
  auto step = [&](const Batch& b) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    auto sums = batch_loss(model, b, s.config, to.label_smoothing);
    (sums.loss / static_cast<double>(b.ntokens)).backward();
    volatile double v = sums.loss.item<double>() + sums.nll.item<double>() +
                        torch::nn::utils::clip_grad_norm_(params, std::numeric_limits<double>::infinity());
    (void)v;
    fused_adamw_step(optimizer);
  };
  step(s.batches.back());
  torch::autograd::profiler::RecordProfile guard(path);
  step(s.batches.back());
}

// Eval-mode (no dropout) loss and gradient norm of batch 0 with the current weights: the peer
// recomputes them from the exported weights, which checks that both sides run the same model.
json reference_check(const Setup& s, SuperTransformer model) {
  model->eval();
  auto params = model->parameters();
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  const Batch& b = s.batches[0];
  auto sums = batch_loss(model, b, s.config, 0.1);
  (sums.loss / static_cast<double>(b.ntokens)).backward();
  const double gnorm = torch::nn::utils::clip_grad_norm_(params, std::numeric_limits<double>::infinity());
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  model->train();
  return {{"loss", sums.loss.item<double>()}, {"nll", sums.nll.item<double>()}, {"gnorm", gnorm}};
}

json config_json(const SubConfig& c) {
  json enc = json::array(), dec = json::array();
  for (const auto& l : c.encoder_layers) enc.push_back({{"ffn_dim", l.ffn_dim}, {"self_heads", l.self_heads}, {"self_qkv_dim", l.self_qkv_dim}});
  for (const auto& l : c.decoder_layers) {
    dec.push_back({{"ffn_dim", l.ffn_dim}, {"self_heads", l.self_heads}, {"self_qkv_dim", l.self_qkv_dim},
                   {"ende_heads", l.ende_heads}, {"ende_qkv_dim", l.ende_qkv_dim}, {"ende_attn_layers", l.ende_attn_layers}});
  }
  return {{"encoder_embed_dim", c.encoder_embed_dim}, {"decoder_embed_dim", c.decoder_embed_dim},
          {"encoder_layers", enc}, {"decoder_layers", dec}};
}

// Writes meta.json, params.bin (float32, initial weights and buffers) and batches.bin (int64).
void export_for_peer(const Setup& s, SuperTransformer model, const std::string& dir, const json& check, int warmup,
                     int repeats) {
  fs::create_directories(dir);
  json params = json::array();
  {
    std::ofstream f(dir + "/params.bin", std::ios::binary);
    std::int64_t offset = 0;
    auto write = [&](const std::string& name, const torch::Tensor& t, bool is_param) {
      auto c = t.detach().to(torch::kFloat).contiguous();
      f.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * sizeof(float)));
      params.push_back({{"name", name}, {"shape", c.sizes().vec()}, {"offset", offset}, {"parameter", is_param}});
      offset += c.numel();
    };
    for (const auto& p : model->named_parameters()) write(p.key(), p.value(), true);
    for (const auto& b : model->named_buffers()) write(b.key(), b.value(), false);
  }
  json batches = json::array();
  {
    std::ofstream f(dir + "/batches.bin", std::ios::binary);
    std::int64_t offset = 0;
    for (const Batch& b : s.batches) {
      batches.push_back({{"B", b.src.size(0)}, {"S", b.src.size(1)}, {"T", b.prev.size(1)}, {"ntokens", b.ntokens}, {"offset", offset}});
      for (const auto& t : {b.src, b.prev, b.target}) {
        auto c = t.to(torch::kLong).contiguous();
        f.write(reinterpret_cast<const char*>(c.data_ptr<int64_t>()), static_cast<std::streamsize>(c.numel() * sizeof(int64_t)));
        offset += c.numel();
      }
    }
  }
  const TrainOptions to = train_options(s, 1);
  const auto& h = s.options.hyper;
  json meta = {
      {"format", "thanos.bench.train/1"},
      {"size", s.spec.name},
      {"vocab", s.options.tgt_vocab_size},
      {"padding_idx", s.options.padding_idx},
      {"capacity_encoder_embed_dim", s.options.capacity.encoder_embed_dim},
      {"capacity_decoder_embed_dim", s.options.capacity.decoder_embed_dim},
      {"hyper", {{"share_all_embeddings", h.share_all_embeddings}, {"share_decoder_input_output", h.share_decoder_input_output},
                 {"encoder_normalize_before", h.encoder_normalize_before}, {"decoder_normalize_before", h.decoder_normalize_before},
                 {"dropout", h.dropout}, {"attention_dropout", h.attention_dropout}, {"activation_dropout", h.activation_dropout}}},
      {"config", config_json(s.config)},
      {"optimizer", {{"lr", to.lr.lr}, {"warmup_init_lr", to.lr.warmup_init_lr}, {"warmup_updates", to.lr.warmup_updates},
                     {"betas", {to.adam_beta1, to.adam_beta2}}, {"eps", to.adam_eps}, {"weight_decay", to.weight_decay}}},
      {"label_smoothing", to.label_smoothing},
      {"seed", to.seed},
      {"warmup_epochs", warmup},
      {"repeats", repeats},
      {"params", params},
      {"batches", batches},
      {"check", check},
  };
  std::ofstream(dir + "/meta.json") << meta.dump(1) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"THANOS training throughput vs the PyTorch Python peer"};
  std::string sizes_arg = "small,large", threads_arg = "1,2";
  std::string python = "/usr/bin/python3", peer = std::string(THANOS_BENCH_DIR) + "/peer_train_step.py";
  std::string work_dir = (fs::temp_directory_path() / "thanos_bench_train").string();
  std::string json_out, optimizer_impl = "default", profile_dir;
  int warmup = 1, repeats = 3, max_tokens = 0;
  bool skip_peer = false, skip_loop = false, keep = false;
  app.add_option("--sizes", sizes_arg, "Comma-separated: tiny (demo.yml smallest, 1024 tokens), small (demo.yml largest), base (512/2048 6+6 in space0), large (space0 largest)")
      ->capture_default_str();
  app.add_option("--threads", threads_arg, "Comma-separated thread counts (both sides)")->capture_default_str();
  app.add_option("--warmup", warmup, "Warm-up epochs (an epoch = every fixed batch once)")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed epochs; the median is reported")->capture_default_str();
  app.add_option("--max-tokens", max_tokens, "Override the sizes' token budget per batch");
  app.add_option("--python", python, "Python with torch for the peer")->capture_default_str();
  app.add_option("--peer", peer, "The peer script")->capture_default_str();
  app.add_option("--peer-optimizer", optimizer_impl, "Peer's AdamW: default (torch 1.13: single-tensor), foreach")->capture_default_str();
  app.add_option("--work-dir", work_dir, "Where weights and batches for the peer are written")->capture_default_str();
  app.add_option("--json-out", json_out, "Also write all results as JSON here");
  app.add_option("--profile", profile_dir, "Also profile one step per side into DIR (chrome traces; compare with "
                                          "bench/profile_compare.py)");
  app.add_flag("--skip-peer", skip_peer, "Do not run the PyTorch peer");
  app.add_flag("--skip-loop", skip_loop, "Do not run the diagnostic step loop");
  app.add_flag("--keep", keep, "Keep the work directory");
  CLI11_PARSE(app, argc, argv);

  const auto sizes_known = known_sizes();
  std::vector<std::string> sizes;
  {
    std::stringstream ss(sizes_arg);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!sizes_known.count(item)) {
        std::fprintf(stderr, "unknown size '%s' (small, base, large)\n", item.c_str());
        return 2;
      }
      sizes.push_back(item);
    }
  }
  const std::vector<int> thread_counts = parse_int_list(threads_arg);
  if (!profile_dir.empty()) fs::create_directories(profile_dir);

  std::printf("THANOS training throughput vs PyTorch Python (%s)\n", python.c_str());
  std::printf("protocol: %d warm-up epoch(s), then median of %d timed epochs; an epoch = every fixed batch once\n",
              warmup, repeats);
  std::printf("tok/s = non-padding target tokens per second (fairseq wps); load average at start: %s\n\n",
              load_average().c_str());

  json all = json::array();
  struct Row {
    std::string size;
    int threads;
    double thanos, thanos_spread, loop, pytorch, pytorch_spread, gflop_step, sgemm;
    std::map<std::string, double> loop_phases, peer_phases;
    int steps;
    std::int64_t tokens_epoch;
  };
  std::vector<Row> rows;
  std::vector<std::string> check_lines;

  for (const auto& name : sizes) {
    Setup s;
    s.spec = sizes_known.at(name);
    if (max_tokens > 0) s.spec.max_tokens = max_tokens;
    s.space = load_space(s.spec.space);
    s.config = make_config(s.space, s.spec.config);
    s.options = super_model_options(s.space, s.spec.vocab, s.spec.vocab);
    s.split = synthetic_batches_split(s.spec.lengths, s.spec.max_tokens, s.spec.vocab, 42);
    BatchingOptions bo;
    bo.max_tokens = s.spec.max_tokens;
    for (const auto& idx : make_batches(s.split, bo)) s.batches.push_back(collate(s.split, idx));
    for (const Batch& b : s.batches) {
      s.tokens_per_epoch += b.ntokens;
      s.flops_per_epoch += 3.0 * forward_flops(s, b);
    }
    std::printf("== %s: %s of %s, vocab %d, %zu batches of <= %d tokens (%lld target tokens per epoch)\n",
                name.c_str(), s.spec.config.c_str(), s.spec.space.c_str(), s.spec.vocab, s.batches.size(),
                s.spec.max_tokens, static_cast<long long>(s.tokens_per_epoch));
    std::printf("   config: %s\n", s.config.summary().c_str());
    for (const Batch& b : s.batches) {
      std::printf("   batch %lldx(src %lld, tgt %lld), %lld target tokens\n", static_cast<long long>(b.src.size(0)),
                  static_cast<long long>(b.src.size(1)), static_cast<long long>(b.prev.size(1)),
                  static_cast<long long>(b.ntokens));
    }

    torch::manual_seed(1);
    SuperTransformer model(s.options);
    std::int64_t nparams = 0;
    for (const auto& p : model->parameters()) nparams += p.numel();
    std::printf("   SuperTransformer parameters: %lld\n", static_cast<long long>(nparams));
    const std::string dir = work_dir + "/" + name;
    if (!skip_peer) {
      const json check = reference_check(s, model);
      export_for_peer(s, model, dir, check, warmup, repeats);
    }
    std::fflush(stdout);

    for (int t : thread_counts) {
      torch::set_num_threads(t);
      Row r{};
      r.size = name;
      r.threads = t;
      r.steps = static_cast<int>(s.batches.size());
      r.tokens_epoch = s.tokens_per_epoch;
      r.sgemm = sgemm_gflops();
      r.gflop_step = s.flops_per_epoch / static_cast<double>(s.batches.size()) / 1e9;
      std::printf("-- %s, %d thread(s) (torch::get_num_threads() = %d), sgemm %.1f GFLOP/s, load %s\n", name.c_str(), t,
                  torch::get_num_threads(), r.sgemm, load_average().c_str());
      std::fflush(stdout);
      std::unique_ptr<Peer> peer_proc;
      PeerMeasurement pm;
      json jr = {{"size", name}, {"threads", t}, {"sgemm_gflops", r.sgemm}, {"train_gflop_per_step", r.gflop_step},
                 {"tokens_per_epoch", s.tokens_per_epoch}};
      if (!skip_peer) {
        peer_proc = std::make_unique<Peer>(python, peer, dir, t, optimizer_impl);
        pm.info = peer_proc->request("info");
        std::printf("   peer: torch %s, %d thread(s), AdamW %s\n", pm.info["torch_version"].get<std::string>().c_str(),
                    pm.info["torch_threads"].get<int>(), optimizer_impl.c_str());
        if (check_lines.size() < sizes.size()) {
          const auto& c = pm.info["check"];
          char line[512];
          std::snprintf(line, sizeof(line),
                        "%s: eval-mode loss sum thanos %.6f vs pytorch %.6f (rel %.1e), grad norm %.6f vs %.6f (rel %.1e)",
                        name.c_str(), c["thanos_loss"].get<double>(), c["loss"].get<double>(), c["loss_rel_err"].get<double>(),
                        c["thanos_gnorm"].get<double>(), c["gnorm"].get<double>(), c["gnorm_rel_err"].get<double>());
          check_lines.push_back(line);
          std::printf("   check %s\n", line);
        }
        std::fflush(stdout);
      }
      Measurement tr = run_trainer(s, model, warmup, repeats, peer_proc.get(), &pm);
      r.thanos = tr.tok_s();
      r.thanos_spread = spread_pct(tr.epoch_tok_s);
      std::printf("   thanos Trainer::run: %.0f tok/s (epochs:", r.thanos);
      for (double v : tr.epoch_tok_s) std::printf(" %.0f", v);
      std::printf(")\n");
      jr["thanos_trainer_epoch_tok_s"] = tr.epoch_tok_s;
      if (peer_proc) {
        r.pytorch = median(pm.epoch_tok_s);
        r.pytorch_spread = spread_pct(pm.epoch_tok_s);
        r.peer_phases = pm.phase_ms;
        std::printf("   pytorch peer:        %.0f tok/s (epochs:", r.pytorch);
        for (double x : pm.epoch_tok_s) std::printf(" %.0f", x);
        std::printf(")  [epochs alternate with thanos']\n");
        jr["pytorch"] = pm.info;
        jr["pytorch"]["epoch_tok_s"] = pm.epoch_tok_s;
        jr["pytorch"]["phase_ms"] = pm.phase_ms;
      }
      std::fflush(stdout);
      if (!skip_loop) {
        Measurement lm = run_step_loop(s, model, warmup, repeats);
        r.loop = lm.tok_s();
        r.loop_phases = lm.phase_ms;
        std::printf("   thanos step loop:    %.0f tok/s (epochs:", r.loop);
        for (double v : lm.epoch_tok_s) std::printf(" %.0f", v);
        std::printf(")\n");
        jr["thanos_loop_epoch_tok_s"] = lm.epoch_tok_s;
        jr["thanos_loop_phase_ms"] = lm.phase_ms;
      }
      std::fflush(stdout);
      if (!profile_dir.empty() && peer_proc) {
        peer_proc->request("profile " + profile_dir + "/pytorch_" + name + "_t" + std::to_string(t) + ".json");
      }
      peer_proc.reset();
      if (!profile_dir.empty()) {
        profile_step(s, model, profile_dir + "/thanos_" + name + "_t" + std::to_string(t) + ".json");
      }
      rows.push_back(r);
      all.push_back(jr);
      std::fflush(stdout);
    }
    if (!keep && !skip_peer) fs::remove_all(dir);
  }

  std::printf("\nTable 1. Training throughput (forward + label-smoothed loss + backward + grad norm + AdamW), median of %d epochs\n",
              repeats);
  std::printf("%-6s | %7s | %12s | %7s | %14s | %13s | %7s | %6s\n", "size", "threads", "thanos tok/s", "spread", "thanos loop", "pytorch tok/s",
              "spread", "ratio");
  print_rule(96);
  for (const auto& r : rows) {
    std::printf("%-6s | %7d | %12.0f | %6.1f%% | %14.0f | %13.0f | %6.1f%% | %6.3f\n", r.size.c_str(), r.threads, r.thanos,
                r.thanos_spread, r.loop, r.pytorch, r.pytorch_spread, r.pytorch > 0 ? r.thanos / r.pytorch : 0.0);
  }
  std::printf("ratio = thanos (Trainer::run) / pytorch; spread = (max - min) / median over the timed epochs\n");

  std::printf("\nTable 2. Achieved GFLOP/s of a training step (3 x forward FLOPs of the padded batch shapes, output layer included)\n");
  std::printf("%-6s | %7s | %10s | %13s | %14s | %12s | %12s\n", "size", "threads", "GFLOP/step", "thanos GF/s", "pytorch GF/s",
              "sgemm GF/s", "thanos/sgemm");
  print_rule(92);
  for (const auto& r : rows) {
    // GFLOP/s = tok/s x FLOPs per target token (FLOPs of an epoch / its target tokens)
    const double gflop_per_token = r.gflop_step * r.steps / static_cast<double>(r.tokens_epoch);
    const double th = r.thanos * gflop_per_token, py = r.pytorch * gflop_per_token;
    std::printf("%-6s | %7d | %10.1f | %13.1f | %14.1f | %12.1f | %11.0f%%\n", r.size.c_str(), r.threads, r.gflop_step, th, py,
                r.sgemm, 100.0 * th / r.sgemm);
  }

  if (!skip_loop) {
    std::printf("\nTable 3. Mean time per step by phase, ms (thanos step loop / pytorch peer)\n");
    std::printf("%-6s | %7s | %17s | %13s | %17s | %15s | %17s\n", "size", "threads", "forward", "loss", "backward",
                "norm+item", "optimizer");
    print_rule(112);
    for (const auto& r : rows) {
      auto cell = [&](const char* k) {
        char buf[64];
        const double a = r.loop_phases.count(k) ? r.loop_phases.at(k) : 0, b = r.peer_phases.count(k) ? r.peer_phases.at(k) : 0;
        std::snprintf(buf, sizeof(buf), "%7.1f / %7.1f", a, b);
        return std::string(buf);
      };
      std::printf("%-6s | %7d | %17s | %13s | %17s | %15s | %17s\n", r.size.c_str(), r.threads, cell("forward").c_str(),
                  cell("loss").c_str(), cell("backward").c_str(), cell("norm_item").c_str(), cell("optimizer").c_str());
    }
  }
  if (!check_lines.empty()) {
    std::printf("\nSame model on both sides (batch 0, eval mode, initial weights):\n");
    for (const auto& l : check_lines) std::printf("  %s\n", l.c_str());
  }
  std::printf("\nload average at end: %s\n", load_average().c_str());
  if (!json_out.empty()) std::ofstream(json_out) << all.dump(1) << "\n";
  return 0;
}
