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

// Mean and population standard deviation.
double mean_of(const std::vector<double>& v);
double stddev_of(const std::vector<double>& v);

}  // namespace thanos
