#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <set>

#include "test_util.h"
#include "thanos/data/batcher.h"
#include "thanos/model/extract.h"
#include "thanos/space/sampler.h"
#include "thanos/train/batch.h"
#include "thanos/train/batch_loss.h"
#include "thanos/train/fitness.h"
#include "thanos/train/fused_adamw.h"
#include "thanos/train/loss.h"
#include "thanos/train/trainer.h"

using namespace thanos;
using thanos::testing::tiny_space;
namespace fs = std::filesystem;

namespace {

// A toy "translation" task: the target is the source reversed, ids in [4, vocab).
BinarizedSplit toy_split(std::size_t n, int vocab, std::uint64_t seed) {
  Rng rng(seed);
  BinarizedSplit s;
  for (std::size_t i = 0; i < n; ++i) {
    const int len = 2 + static_cast<int>(rng.uniform_index(9));
    std::vector<std::int32_t> src, tgt;
    for (int k = 0; k < len; ++k) src.push_back(4 + static_cast<int>(rng.uniform_index(vocab - 4)));
    tgt.assign(src.rbegin(), src.rend());
    src.push_back(kEosId);
    tgt.push_back(kEosId);
    s.add(src, tgt);
  }
  return s;
}

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/thanos_train_" + std::to_string(::getpid()) + "_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TrainOptions small_options(const std::string& save_dir) {
  TrainOptions o;
  o.max_updates = 6;
  o.update_freq = 2;
  o.batching.max_tokens = 120;
  o.lr.warmup_updates = 3;
  o.lr.lr = 1e-3;
  o.clip_norm = 1.0;
  o.weight_decay = 0.01;
  o.seed = 17;
  o.save_dir = save_dir;
  return o;
}

SuperTransformer fresh_model(const SearchSpace& s, int vocab, std::uint64_t seed) {
  torch::manual_seed(seed);
  return SuperTransformer(super_model_options(s, vocab, vocab));
}

ModelFileInfo info_for(const SuperTransformer& m) {
  ModelFileInfo info;
  info.options = m->options();
  return info;
}

}  // namespace

TEST(Binarized, RoundTripAndErrors) {
  const BinarizedSplit s = toy_split(50, 30, 1);
  const std::string dir = temp_dir("bin");
  save_binarized(dir + "/x.bin", s);
  const BinarizedSplit t = load_binarized(dir + "/x.bin");
  EXPECT_EQ(t.src_tokens, s.src_tokens);
  EXPECT_EQ(t.tgt_offsets, s.tgt_offsets);
  const auto bytes = fs::file_size(dir + "/x.bin");
  fs::resize_file(dir + "/x.bin", bytes - 5);
  try {
    load_binarized(dir + "/x.bin");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_binarized(dir + "/missing.bin"), std::invalid_argument);
}

TEST(Batcher, RespectsTokenBudgetCoversEverythingOnce) {
  const BinarizedSplit s = toy_split(300, 30, 2);
  BatchingOptions o;
  o.max_tokens = 64;
  const BatchIndices batches = make_batches(s, o);
  std::multiset<std::size_t> seen;
  for (const auto& b : batches) {
    std::size_t longest = 0;
    for (std::size_t i : b) longest = std::max({longest, s.src_len(i), s.tgt_len(i)}), seen.insert(i);
    EXPECT_LE(b.size() * longest, 64u);
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), 300u);
}

TEST(Batcher, ShuffleIsDeterministicPerSeedAndEpoch) {
  const BatchIndices batches = make_batches(toy_split(300, 30, 3), BatchingOptions{64, 0, 1});
  EXPECT_EQ(shuffled_batches(batches, 5, 1), shuffled_batches(batches, 5, 1));
  EXPECT_NE(shuffled_batches(batches, 5, 1), shuffled_batches(batches, 5, 2));
  EXPECT_NE(shuffled_batches(batches, 5, 1), shuffled_batches(batches, 6, 1));
  auto sorted = [](BatchIndices b) {
    std::sort(b.begin(), b.end());
    return b;
  };
  EXPECT_EQ(sorted(shuffled_batches(batches, 5, 3)), sorted(batches));
}

TEST(Collate, TeacherForcingShiftsTheTarget) {
  BinarizedSplit s;
  s.add({7, 8, kEosId}, {9, 10, 11, kEosId});
  s.add({5, kEosId}, {6, kEosId});
  const Batch b = collate(s, {0, 1});
  EXPECT_TRUE(torch::equal(b.src, torch::tensor({{7, 8, 2}, {5, 2, 1}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(b.target, torch::tensor({{9, 10, 11, 2}, {6, 2, 1, 1}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(b.prev, torch::tensor({{2, 9, 10, 11}, {2, 6, 1, 1}}, torch::kLong)));
  EXPECT_EQ(b.ntokens, 6);
}

TEST(LrSchedule, MatchesFairseqFormulas) {
  LrScheduleOptions o;
  o.lr = 5e-4;
  o.warmup_init_lr = 1e-7;
  o.warmup_updates = 4000;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0, 100000), 1e-7);
  EXPECT_DOUBLE_EQ(learning_rate(o, 2000, 100000), 1e-7 + 2000 * (5e-4 - 1e-7) / 4000);
  EXPECT_DOUBLE_EQ(learning_rate(o, 4000, 100000), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate(o, 16000, 100000), 5e-4 * std::sqrt(4000.0 / 16000.0));
  o.kind = LrScheduleKind::kCosine;
  o.lr = 1e-3;
  o.min_lr = 1e-7;
  o.warmup_updates = 10000;
  EXPECT_DOUBLE_EQ(learning_rate(o, 10000, 40000), 1e-3);
  EXPECT_NEAR(learning_rate(o, 25000, 40000), 1e-7 + 0.5 * (1e-3 - 1e-7), 1e-15);
  EXPECT_NEAR(learning_rate(o, 40000, 40000), 1e-7, 1e-15);
  EXPECT_THROW(lr_schedule_from_string("linear"), std::invalid_argument);
}

TEST(Loss, LabelSmoothingMatchesExplicitFormula) {
  torch::manual_seed(1);
  auto logits = torch::randn({2, 3, 7});
  auto target = torch::tensor({{3, 4, 1}, {6, 1, 1}}, torch::kLong);
  const double eps = 0.1;
  auto sums = label_smoothed_nll_loss(logits, target, eps, 1);
  double want_loss = 0, want_nll = 0;
  auto lp = torch::log_softmax(logits, -1);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) {
      const int64_t y = target[b][t].item<int64_t>();
      if (y == 1) continue;
      const double nll = -lp[b][t][y].item<double>();
      want_nll += nll;
      want_loss += (1 - eps) * nll + eps / 7 * (-lp[b][t].sum().item<double>());
    }
  EXPECT_NEAR(sums.nll.item<double>(), want_nll, 1e-5);
  EXPECT_NEAR(sums.loss.item<double>(), want_loss, 1e-5);
}

// The loss without padding rows in the output layer equals the loss over the full logits, and so
// do the gradients (sampled SubTransformers, a padded batch, dropout off).
TEST(Loss, BatchLossSkipsPaddingRowsWithoutChangingLossOrGradients) {
  const SearchSpace space = tiny_space();
  const BinarizedSplit data = toy_split(12, 40, 3);
  std::vector<std::size_t> all(data.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const Batch b = collate(data, all);
  ASSERT_GT(b.target.numel(), b.ntokens) << "the batch must contain padding";
  for (const SubConfig& cfg : sample_configs(space, 5, 3)) {
    SuperTransformer model = fresh_model(space, 40, 2);
    model->eval();  // no dropout: both paths see the same activations
    auto full = label_smoothed_nll_loss(model->forward(b.src, b.prev, cfg), b.target, 0.1, kPadId);
    full.loss.backward();
    std::vector<torch::Tensor> want;
    for (auto& p : model->parameters()) want.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
    auto sel = batch_loss(model, b, cfg, 0.1);
    EXPECT_NEAR(sel.loss.item<double>(), full.loss.item<double>(), 1e-4 * std::abs(full.loss.item<double>()));
    EXPECT_NEAR(sel.nll.item<double>(), full.nll.item<double>(), 1e-4 * std::abs(full.nll.item<double>()));
    sel.loss.backward();
    std::size_t k = 0;
    for (auto& p : model->parameters()) {
      const auto& w = want[k++];
      ASSERT_EQ(p.grad().defined(), w.defined());
      if (w.defined()) {
        EXPECT_TRUE(torch::allclose(p.grad(), w, 1e-4, 1e-6)) << (p.grad() - w).abs().max().item<double>();
      }
    }
  }
}

// The one-pass AdamW against libtorch's torch::optim::AdamW: same parameters, same gradients
// (some parameters without one, as an unused layer of a sampled SubTransformer), weight decay on,
// several steps with a changing learning rate; then libtorch's step() continues from the fused
// optimizer's state (the checkpoint path), and both stay together.
TEST(FusedAdamW, MatchesLibtorchAdamWAndSharesItsState) {
  torch::manual_seed(3);
  std::vector<torch::Tensor> init = {torch::randn({70000}), torch::randn({33, 17}), torch::randn({5})};
  auto clone_all = [&] {
    std::vector<torch::Tensor> ps;
    for (const auto& t : init) ps.push_back(t.clone().set_requires_grad(true));
    return ps;
  };
  auto ref_params = clone_all(), fused_params = clone_all();
  auto options = torch::optim::AdamWOptions(1e-3).betas({0.9, 0.98}).eps(1e-8).weight_decay(0.01);
  torch::optim::AdamW reference(ref_params, options), fused(fused_params, options);
  for (int step = 0; step < 12; ++step) {
    for (std::size_t i = 0; i < init.size(); ++i) {
      const bool skip = (i == 1 && step % 3 == 1);  // no gradient this update: AdamW must skip it
      const torch::Tensor g = torch::randn(init[i].sizes()) * (1 + step);
      ref_params[i].mutable_grad() = skip ? torch::Tensor() : g.clone();
      fused_params[i].mutable_grad() = skip ? torch::Tensor() : g.clone();
    }
    const double lr = 1e-3 * (1 + step % 4);
    for (auto* opt : {&reference, &fused}) {
      for (auto& group : opt->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    reference.step();
    if (step < 8) {
      fused_adamw_step(fused);
    } else {
      fused.step();  // libtorch's own step on the fused optimizer's state
    }
    for (std::size_t i = 0; i < init.size(); ++i) {
      const double diff = (ref_params[i] - fused_params[i]).abs().max().item<double>();
      const double moved = (ref_params[i] - init[i]).abs().max().item<double>();
      ASSERT_GT(moved, 0);
      // Float rounding of the parameter itself (a few ulps of its largest entry) plus a small
      // fraction of how far the updates moved it.
      const double ulps = 4 * 1.2e-7 * ref_params[i].abs().max().item<double>();
      EXPECT_LE(diff, ulps + 1e-4 * moved) << "param " << i << " step " << step;
    }
  }
  // The skipped updates were skipped: parameter 1 took 12 - 4 steps.
  // (libtorch's own step() found the fused optimizer's state: the later steps continued its count.)
  int steps_of_param1 = -1;
  for (const auto& [key, state] : fused.state()) {
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
    if (s.exp_avg().sizes() == fused_params[1].sizes()) steps_of_param1 = static_cast<int>(s.step());
  }
  EXPECT_EQ(fused.state().size(), 3u);
  EXPECT_EQ(steps_of_param1, 8);
}

TEST(Trainer, ResumeReproducesTheUninterruptedRunBitwise) {
  const SearchSpace space = tiny_space();  // dropout 0.1: exercises the RNG state in checkpoints
  const BinarizedSplit data = toy_split(200, 40, 4);
  TrainTarget target{TrainMode::kSuperTransformer, space, {}};

  const std::string straight_dir = temp_dir("straight");
  SuperTransformer a = fresh_model(space, 40, 3);
  Trainer straight(a, info_for(a), data, small_options(straight_dir), target);
  const TrainResult full = straight.run();
  ASSERT_EQ(full.losses.size(), 6u);

  const std::string split_dir = temp_dir("split");
  TrainOptions half = small_options(split_dir);
  half.max_updates = 3;
  SuperTransformer b = fresh_model(space, 40, 3);
  Trainer first(b, info_for(b), data, half, target);
  const TrainResult part1 = first.run();
  ASSERT_TRUE(fs::exists(split_dir + "/checkpoint_last.pt"));

  SuperTransformer c = fresh_model(space, 40, 99);  // different init: everything must come from the checkpoint
  torch::manual_seed(12345);                        // and a disturbed global RNG
  Trainer second(c, info_for(c), data, small_options(split_dir), target);
  second.resume(split_dir + "/checkpoint_last.pt");
  EXPECT_EQ(second.num_updates(), 3);
  const TrainResult part2 = second.run();
  std::vector<double> joined = part1.losses;
  joined.insert(joined.end(), part2.losses.begin(), part2.losses.end());
  ASSERT_EQ(joined.size(), full.losses.size());
  for (std::size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], full.losses[i]) << "update " << i + 1;
  // And the final weights agree exactly.
  auto pa = a->named_parameters();
  for (const auto& p : c->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), pa[p.key()])) << p.key();
}

TEST(Trainer, StopSignalSavesAndResumes) {
  const SearchSpace space = tiny_space();
  const BinarizedSplit data = toy_split(120, 40, 5);
  TrainTarget target{TrainMode::kSuperTransformer, space, {}};
  const std::string dir = temp_dir("signal");
  SuperTransformer m = fresh_model(space, 40, 1);
  TrainOptions o = small_options(dir);
  o.log_every = 1;
  Trainer t(m, info_for(m), data, o, target);
  const TrainResult r = t.run([](const TrainProgress& p) {
    if (p.update == 2) std::raise(SIGINT);  // as if the user pressed Ctrl-C
  });
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.updates, 2);
  SuperTransformer m2 = fresh_model(space, 40, 2);
  Trainer t2(m2, info_for(m2), data, o, target);
  t2.resume(dir + "/checkpoint_last.pt");
  EXPECT_EQ(t2.run().updates, 6);
}

TEST(Trainer, SubTransformerTrainingLearnsTheToyTask) {
  const SearchSpace space = tiny_space();
  SearchSpace no_dropout = space;
  no_dropout.hyper.dropout = no_dropout.hyper.attention_dropout = 0;
  const BinarizedSplit data = toy_split(200, 20, 6);
  const SubConfig cfg = space.largest();
  SuperTransformer m = fresh_model(no_dropout, 20, 4);
  SuperTransformer sub = extract_subtransformer(*m, cfg);
  TrainOptions o = small_options("");
  o.max_updates = 60;
  o.update_freq = 1;
  o.lr.lr = 3e-3;
  o.lr.warmup_updates = 5;
  o.label_smoothing = 0;
  Trainer t(sub, info_for(sub), data, o, TrainTarget{TrainMode::kSubTransformer, space, cfg});
  const TrainResult r = t.run();
  const double first = (r.losses[0] + r.losses[1]) / 2, last = (r.losses[58] + r.losses[59]) / 2;
  EXPECT_LT(last, first * 0.75) << first << " -> " << last;
}

TEST(Fitness, BatchedScoresEqualSingleScoresAndExtractedModels) {
  const SearchSpace space = tiny_space();
  const BinarizedSplit valid = toy_split(80, 40, 7);
  SuperTransformer m = fresh_model(space, 40, 8);
  FitnessOptions fo;
  fo.max_tokens = 100;
  FitnessEvaluator eval(m, valid, fo);
  const auto configs = sample_configs(space, 3, 4);
  const auto batched = eval.score(configs);
  for (std::size_t i = 0; i < configs.size(); ++i) {
    EXPECT_DOUBLE_EQ(batched[i].loss, eval.score(configs[i]).loss);
    FitnessEvaluator standalone(extract_subtransformer(*m, configs[i]), valid, fo);
    EXPECT_NEAR(standalone.score(configs[i]).loss, batched[i].loss, 1e-5);
    EXPECT_NEAR(batched[i].ppl, std::pow(2.0, batched[i].nll_loss), 1e-9);
  }
  EXPECT_TRUE(m->is_training());  // scoring restores the mode it found
  fo.subset = 20;
  FitnessEvaluator a(m, valid, fo), b(m, valid, fo);
  EXPECT_EQ(a.pairs(), 20u);
  EXPECT_DOUBLE_EQ(a.score(configs[0]).loss, b.score(configs[0]).loss);
}

TEST(Device, ParsesAndRefusesWhatThisBuildCannotUse) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_THROW(parse_device("tpu"), std::invalid_argument);
  if (!torch::cuda::is_available()) {
    try {
      parse_device("cuda");
      FAIL();
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_TRUE(parse_device("cuda").is_cuda());
  }
}

TEST(Average, IsTheElementwiseMean) {
  const SearchSpace space = tiny_space();
  const std::string dir = temp_dir("avg");
  SuperTransformer a = fresh_model(space, 30, 1), b = fresh_model(space, 30, 2);
  save_model(dir + "/a.pt", *a, info_for(a));
  save_model(dir + "/b.pt", *b, info_for(b));
  average_checkpoints({dir + "/a.pt", dir + "/b.pt"}, dir + "/avg.pt");
  LoadedModel avg = load_model(dir + "/avg.pt");
  auto pa = a->named_parameters(), pb = b->named_parameters();
  for (const auto& p : avg.model->named_parameters()) {
    EXPECT_TRUE(torch::allclose(p.value(), (pa[p.key()] + pb[p.key()]) / 2, 1e-6, 1e-7)) << p.key();
  }
}
