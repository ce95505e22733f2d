#include "thanos/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace thanos {

LrScheduleKind lr_schedule_from_string(const std::string& s) {
  if (s == "inverse_sqrt") return LrScheduleKind::kInverseSqrt;
  if (s == "cosine") return LrScheduleKind::kCosine;
  if (s == "fixed") return LrScheduleKind::kFixed;
  throw std::invalid_argument("lr-scheduler: expected inverse_sqrt, cosine or fixed, got '" + s + "'");
}

std::string to_string(LrScheduleKind k) {
  switch (k) {
    case LrScheduleKind::kInverseSqrt: return "inverse_sqrt";
    case LrScheduleKind::kCosine: return "cosine";
    case LrScheduleKind::kFixed: return "fixed";
  }
  return "?";
}

double learning_rate(const LrScheduleOptions& o, std::int64_t n, std::int64_t max_updates) {
  if (o.kind == LrScheduleKind::kFixed) return o.lr;
  if (o.warmup_updates > 0 && n < o.warmup_updates) {
    return o.warmup_init_lr + static_cast<double>(n) * (o.lr - o.warmup_init_lr) / static_cast<double>(o.warmup_updates);
  }
  if (o.kind == LrScheduleKind::kInverseSqrt) {
    const double warm = static_cast<double>(std::max<std::int64_t>(o.warmup_updates, 1));
    return o.lr * std::sqrt(warm) / std::sqrt(static_cast<double>(std::max<std::int64_t>(n, 1)));
  }
  const std::int64_t period = o.period_updates > 0 ? o.period_updates : std::max<std::int64_t>(max_updates - o.warmup_updates, 1);
  const double t = std::min<double>(static_cast<double>(n - o.warmup_updates), static_cast<double>(period));
  return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * t / static_cast<double>(period)));
}

}  // namespace thanos
