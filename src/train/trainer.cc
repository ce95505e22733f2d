#include "thanos/train/trainer.h"

#include "thanos/train/batch_loss.h"

#include <ATen/CPUGeneratorImpl.h>
#include <unistd.h>
#include <torch/optim/adamw.h>
#include <torch/cuda.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <mutex>

#include "thanos/common/signal_scope.h"
#include "thanos/space/sampler.h"
#include "thanos/train/batch.h"
#include "thanos/train/fused_adamw.h"
#include "thanos/train/loss.h"

namespace thanos {
namespace fs = std::filesystem;

std::atomic<bool> Trainer::stop_requested{false};

namespace {

constexpr int kTrainStateVersion = 1;

torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// torch::nn::utils::clip_grad_norm_ (same arithmetic, same results) minus a pass: libtorch
// multiplies every gradient by the clamped coefficient even when that is exactly 1 (no clipping,
// or a norm under the limit); here they are scaled only when it is below 1, or NaN (a non-finite
// norm, which libtorch spreads to every gradient). max_norm <= 0: no clipping. Returns the norm.
double clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> grads, norms;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return 0.0;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(g.norm(2));
  const torch::Tensor total = norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2);
  const double limit = max_norm > 0 ? max_norm : std::numeric_limits<double>::infinity();
  const torch::Tensor coef = torch::clamp(limit / (total + 1e-6), c10::nullopt, 1.0);
  if (!(coef.item<double>() >= 1.0)) {
    torch::NoGradGuard no_grad;
    for (auto& g : grads) g.mul_(coef);
  }
  return total.item<double>();
}

}  // namespace

torch::Device parse_device(const std::string& name) {
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw std::invalid_argument("--device '" + name + "': expected cpu, cuda or cuda:N");
  }
  if (device.is_cuda() && !torch::cuda::is_available()) {
    throw std::invalid_argument("--device " + name + ": this libtorch build or machine has no CUDA device");
  }
  if (!device.is_cpu() && !device.is_cuda()) throw std::invalid_argument("--device " + name + ": only cpu and cuda are supported");
  return device;
}

SubConfig config_for_update(const SearchSpace& space, std::uint64_t seed, std::int64_t update) {
  Rng rng(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(update));
  return sample_config(space, rng);
}

struct Trainer::State {
  std::unique_ptr<torch::optim::AdamW> optimizer;
  BatchIndices batches;  // fixed length-bucketed batches; shuffled per epoch
};

Trainer::Trainer(SuperTransformer model, ModelFileInfo info, const BinarizedSplit& train, TrainOptions options,
                 TrainTarget target)
    : model_(std::move(model)),
      info_(std::move(info)),
      train_(train),
      options_(std::move(options)),
      target_(std::move(target)),
      state_(std::make_unique<State>()) {
  if (options_.max_updates <= 0) throw std::invalid_argument("max-updates must be positive");
  if (options_.update_freq <= 0) throw std::invalid_argument("update-freq must be positive");
  if (target_.mode == TrainMode::kSubTransformer) model_->check_fits(target_.config);
  else target_.space.validate();
  torch::optim::AdamWOptions adam(options_.lr.warmup_init_lr);
  adam.betas({options_.adam_beta1, options_.adam_beta2}).eps(options_.adam_eps).weight_decay(options_.weight_decay);
  state_->optimizer = std::make_unique<torch::optim::AdamW>(model_->parameters(), adam);
  state_->batches = make_batches(train_, options_.batching);
  if (state_->batches.empty()) throw std::invalid_argument("the training split is empty");
  // Dropout draws from the default generator; seed it once here, then checkpoints carry its state.
  torch::manual_seed(options_.seed);
  device_ = parse_device(options_.device);
  model_->to(device_);
}

Trainer::~Trainer() = default;

void Trainer::save_checkpoint(const std::string& path) {
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  save_model(path, *model_, info_, [&](torch::serialize::OutputArchive& a) {
    a.write("train.version", c10::IValue(static_cast<int64_t>(kTrainStateVersion)));
    a.write("train.counters", c10::IValue(std::vector<int64_t>{num_updates_, epoch_, static_cast<int64_t>(batch_in_epoch_)}));
    a.write("train.seed", c10::IValue(static_cast<int64_t>(options_.seed)));
    a.write("train.rng_state", cpu_rng_state());
    torch::serialize::OutputArchive opt;
    state_->optimizer->save(opt);
    a.write("train.optimizer", opt);
  });
}

void Trainer::save_numbered_checkpoint(const std::string& last_path) {
  const std::string numbered = options_.save_dir + "/checkpoint_" + std::to_string(num_updates_) + ".pt";
  // Copied under a temporary name and renamed: a crash mid-copy must not leave a cut
  // checkpoint_N.pt that looks like a whole one.
  const std::string partial = numbered + ".tmp." + std::to_string(::getpid());
  fs::copy_file(last_path, partial, fs::copy_options::overwrite_existing);
  fs::rename(partial, numbered);
  // Keep the newest keep_last numbered checkpoints: every older one goes, not only the one this
  // update retires (a run killed before its removal resumes past it).
  const std::int64_t oldest_kept = num_updates_ - options_.save_every * (options_.keep_last - 1);
  for (const auto& entry : fs::directory_iterator(options_.save_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint_", 0) != 0 || name.size() <= 14 || name.compare(name.size() - 3, 3, ".pt") != 0) continue;
    const std::string digits = name.substr(11, name.size() - 14);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 18) continue;
    if (std::stoll(digits) < oldest_kept) fs::remove(entry.path());
  }
}

void Trainer::resume(const std::string& path) {
  torch::serialize::InputArchive optimizer_archive;
  std::vector<int64_t> counters;
  torch::Tensor rng;
  LoadedModel loaded = load_model(path, [&](torch::serialize::InputArchive& a) {
    c10::IValue v;
    if (!a.try_read("train.version", v)) {
      throw std::invalid_argument(path + ": a model file without training state; use it with --init-from, not --resume");
    }
    if (v.toInt() > kTrainStateVersion) throw std::invalid_argument(path + ": training state from a newer thanos");
    a.read("train.counters", v);
    counters = v.toIntVector();
    a.read("train.seed", v);
    if (static_cast<std::uint64_t>(v.toInt()) != options_.seed) {
      throw std::invalid_argument(path + ": checkpoint was trained with --seed " + std::to_string(v.toInt()) +
                                  "; resume with the same seed");
    }
    a.read("train.rng_state", rng);
    a.read("train.optimizer", optimizer_archive);
  });
  if (!(loaded.info.options == model_->options())) {
    throw std::invalid_argument(path + ": checkpoint holds a different architecture than the one being trained");
  }
  torch::NoGradGuard no_grad;
  auto dst = model_->named_parameters();
  for (const auto& p : loaded.model->named_parameters()) dst[p.key()].copy_(p.value());
  auto dst_buffers = model_->named_buffers();
  for (const auto& b : loaded.model->named_buffers()) dst_buffers[b.key()].copy_(b.value());
  state_->optimizer->load(optimizer_archive);
  num_updates_ = counters.at(0);
  epoch_ = counters.at(1);
  batch_in_epoch_ = static_cast<std::size_t>(counters.at(2));
  set_cpu_rng_state(rng);
}

TrainResult Trainer::run(const std::function<void(const TrainProgress&)>& on_log) {
  StopSignalScope signals(stop_requested);
  TrainResult result;
  model_->train();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto last_log = start;
  const std::int64_t first_update = num_updates_;
  double log_loss = 0, log_nll = 0, log_gnorm = 0;
  std::int64_t log_tokens = 0, log_updates = 0;
  BatchIndices order = shuffled_batches(state_->batches, options_.seed, static_cast<std::uint64_t>(epoch_));
  auto next_batch = [&]() -> const std::vector<std::size_t>& {
    if (batch_in_epoch_ >= order.size()) {
      ++epoch_;
      batch_in_epoch_ = 0;
      order = shuffled_batches(state_->batches, options_.seed, static_cast<std::uint64_t>(epoch_));
    }
    return order[batch_in_epoch_++];
  };
  const std::string last_path = options_.save_dir.empty() ? "" : options_.save_dir + "/checkpoint_last.pt";
  // A run killed between saving checkpoint_last.pt at a periodic update and copying it to its
  // numbered name resumes from that update: the copy is made now, as the uninterrupted run made it.
  if (!last_path.empty() && (comm_ == nullptr || comm_->is_main()) && options_.save_every > 0 && num_updates_ > 0 &&
      num_updates_ % options_.save_every == 0 && fs::exists(last_path) &&
      !fs::exists(options_.save_dir + "/checkpoint_" + std::to_string(num_updates_) + ".pt")) {
    save_numbered_checkpoint(last_path);
  }

  while (num_updates_ < options_.max_updates) {
    const SubConfig config = target_.mode == TrainMode::kSuperTransformer
                                 ? config_for_update(target_.space, options_.seed, num_updates_)
                                 : target_.config;
    const double lr = learning_rate(options_.lr, num_updates_, options_.max_updates);
    for (auto& group : state_->optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    // fairseq normalises by the target tokens of the whole update (all accumulated batches).
    std::vector<Batch> group;
    std::int64_t local_tokens = 0;
    const int world = comm_ ? comm_->env().world_size : 1, rank = comm_ ? comm_->env().rank : 0;
    for (int k = 0; k < options_.update_freq * world; ++k) {
      const auto& indices = next_batch();  // every rank walks the same global order
      if (k % world != rank) continue;
      group.push_back(collate(train_, indices).to(device_));
      local_tokens += group.back().ntokens;
    }
    const std::int64_t ntokens =
        comm_ ? static_cast<std::int64_t>(comm_->all_reduce_sum(static_cast<double>(local_tokens))) : local_tokens;
    // fairseq's zero_grad sets gradients to None: a layer the sampled SubTransformer does not use
    // gets no gradient, so Adam skips it (no moment decay, no weight decay) -- and a resumed run,
    // whose fresh tensors have no gradients yet, behaves exactly like an uninterrupted one.
    for (auto& p : model_->parameters()) p.mutable_grad() = torch::Tensor();
    double loss_sum = 0, nll_sum = 0;
    for (const Batch& b : group) {
      auto sums = batch_loss(model_, b, config, options_.label_smoothing);
      (sums.loss / static_cast<double>(ntokens)).backward();
      loss_sum += sums.loss.item<double>();
      nll_sum += sums.nll.item<double>();
    }
    if (comm_ && comm_->env().enabled()) {
      // Every rank ran the same SubTransformer, so the same parameters have gradients.
      std::vector<torch::Tensor> grads;
      for (auto& p : model_->parameters()) {
        if (p.grad().defined()) grads.push_back(p.mutable_grad());
      }
      comm_->all_reduce_sum(grads);
      loss_sum = comm_->all_reduce_sum(loss_sum);
      nll_sum = comm_->all_reduce_sum(nll_sum);
    }
    // The total gradient norm is logged always; it is clipped only when clip_norm > 0.
    const double gnorm = clip_grad_norm(model_->parameters(), options_.clip_norm);
    fused_adamw_step(*state_->optimizer);
    ++num_updates_;

    const double loss2 = loss_sum / ntokens / std::log(2.0);
    result.losses.push_back(loss2);
    log_loss += loss_sum;
    log_nll += nll_sum;
    log_tokens += ntokens;
    log_gnorm += gnorm;
    ++log_updates;

    const bool last = num_updates_ == options_.max_updates;
    if (on_log && (comm_ == nullptr || comm_->is_main()) && (num_updates_ % std::max<std::int64_t>(options_.log_every, 1) == 0 || last || stop_requested.load())) {
      const auto now = clock::now();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double since = std::chrono::duration<double>(now - last_log).count();
      TrainProgress p;
      p.update = num_updates_;
      p.max_updates = options_.max_updates;
      p.epoch = epoch_;
      p.loss = log_loss / log_tokens / std::log(2.0);
      p.nll_loss = log_nll / log_tokens / std::log(2.0);
      p.ppl = std::pow(2.0, p.nll_loss);
      p.lr = lr;
      p.grad_norm = log_gnorm / log_updates;
      p.tokens_per_second = since > 0 ? log_tokens / since : 0;
      p.elapsed_seconds = elapsed;
      const double per_update = elapsed / static_cast<double>(num_updates_ - first_update);
      p.eta_seconds = per_update * static_cast<double>(options_.max_updates - num_updates_);
      p.config_hash = config.hash_hex();
      on_log(p);
      last_log = now;
      log_loss = log_nll = log_gnorm = 0;
      log_tokens = log_updates = 0;
    }
    // Read after logging (a signal during it counts now); ranks agree so none waits in a collective.
    bool stop = stop_requested.load();
    if (comm_ && comm_->env().enabled()) stop = comm_->all_reduce_sum(stop ? 1.0 : 0.0) > 0;
    const bool periodic = options_.save_every > 0 && num_updates_ % options_.save_every == 0;
    const bool main_rank = comm_ == nullptr || comm_->is_main();
    if (!last_path.empty() && main_rank && (periodic || last || stop)) {
      save_checkpoint(last_path);
      result.last_checkpoint = last_path;
      if (periodic) save_numbered_checkpoint(last_path);
    }
    if (stop) {
      result.interrupted = true;
      break;
    }
  }
  result.updates = num_updates_;
  return result;
}

void average_checkpoints(const std::vector<std::string>& paths, const std::string& out_path) {
  if (paths.empty()) throw std::invalid_argument("average: no checkpoints given");
  LoadedModel first = load_model(paths[0]);
  torch::NoGradGuard no_grad;
  auto sum = first.model->named_parameters();
  for (auto& p : sum) p.value().mul_(1.0);  // accumulate in place
  for (std::size_t i = 1; i < paths.size(); ++i) {
    LoadedModel m = load_model(paths[i]);
    if (!(m.info.options == first.info.options)) {
      throw std::invalid_argument(paths[i] + ": architecture differs from " + paths[0] + "; cannot average");
    }
    for (const auto& p : m.model->named_parameters()) sum[p.key()].add_(p.value());
  }
  for (auto& p : sum) p.value().div_(static_cast<double>(paths.size()));
  first.info.metadata["averaged_from"] = std::to_string(paths.size()) + " checkpoints";
  save_model(out_path, *first.model, first.info);
}

}  // namespace thanos
