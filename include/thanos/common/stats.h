#pragma once
// Rank and error statistics shared by measurement reports, predictors and benchmarks.
#include <vector>

namespace thanos {

// Kendall's tau-b (ties in either list handled as scipy.stats.kendalltau does). O(n^2), which is
// fine for the few thousand rows of a latency dataset. 0 when undefined (fewer than 2 points, or
// one list constant).
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

// The median (the mean of the two middle values for an even count); 0 for no values.
double median_of(std::vector<double> v);

// The p-th percentile (0..100) with linear interpolation between the closest ranks, numpy's
// default. Throws std::invalid_argument for no values.
double percentile_of(std::vector<double> values, double p);

// A closed interval [low, high]; infinite ends when nothing narrower holds.
struct Interval {
  double low = 0;
  double high = 0;
};

// The distribution-free interval for the median of the distribution the values were drawn from:
// [x(j), x(n+1-j)] of the sorted values with the largest j whose coverage, P(j <= B <= n-j) for B
// ~ Binomial(n, 1/2), is at least `confidence` (the sign-test interval; no assumption about the
// shape of the noise, which on a shared machine is one-sided and bursty). With too few values for
// even [min, max] to reach `confidence` (n = 4 gives 87.5% at most) the interval is
// [-inf, +inf]. Throws std::invalid_argument unless 0 < confidence < 1.
Interval median_interval(std::vector<double> values, double confidence);

// Mean and population standard deviation.
double mean_of(const std::vector<double>& v);
double stddev_of(const std::vector<double>& v);

}  // namespace thanos
