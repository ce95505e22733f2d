#pragma once
// Learning-rate schedules as fairseq computes them (hand-written so resume is exact: the rate is a
// pure function of the number of completed updates).
#include <cstdint>
#include <string>

namespace thanos {

enum class LrScheduleKind { kInverseSqrt, kCosine, kFixed };
LrScheduleKind lr_schedule_from_string(const std::string& s);  // inverse_sqrt | cosine | fixed
std::string to_string(LrScheduleKind kind);

struct LrScheduleOptions {
  LrScheduleKind kind = LrScheduleKind::kInverseSqrt;
  double lr = 5e-4;               // peak rate (fairseq --lr; HAT's cosine: --max-lr)
  double warmup_init_lr = 1e-7;   // rate at update 0
  std::int64_t warmup_updates = 4000;
  double min_lr = 1e-7;           // cosine: rate at the end of the period (HAT: --lr 1e-7)
  std::int64_t period_updates = 0;  // cosine: updates after warm-up to anneal over (0: max-updates - warm-up)
};

// Rate for the update that follows `num_updates` completed updates:
//   warm-up (num_updates < warmup): warmup_init_lr + num_updates * (lr - warmup_init_lr) / warmup
//   inverse_sqrt: lr * sqrt(warmup / num_updates)
//   cosine: min_lr + (lr - min_lr) * (1 + cos(pi * t / period)) / 2, t = num_updates - warmup (clamped)
double learning_rate(const LrScheduleOptions& options, std::int64_t num_updates, std::int64_t max_updates);

}  // namespace thanos
