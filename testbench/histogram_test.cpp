#include "histogram.h"

#include "report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>
#include <random>
#include <vector>

namespace cmm::tb {
namespace {

constexpr double kPs[] = {0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

// Every percentile within the stated relative error of the exact one; count,
// min, max exact; mean and stddev exact up to rounding.
void expect_within_bound(const std::vector<uint64_t>& v, const char* what) {
  Histogram h;
  for (uint64_t x : v) h.add(x);
  ASSERT_EQ(h.count(), v.size()) << what;
  EXPECT_EQ(h.min(), *std::min_element(v.begin(), v.end())) << what;
  EXPECT_EQ(h.max(), *std::max_element(v.begin(), v.end())) << what;
  long double sum = 0, sq = 0;
  for (uint64_t x : v) sum += static_cast<long double>(x);
  const long double mean = sum / static_cast<long double>(v.size());
  for (uint64_t x : v) sq += (static_cast<long double>(x) - mean) * (static_cast<long double>(x) - mean);
  const double sd = static_cast<double>(std::sqrt(sq / static_cast<long double>(v.size())));
  EXPECT_NEAR(h.mean(), static_cast<double>(mean), 1e-9 * static_cast<double>(mean) + 1e-9) << what;
  EXPECT_NEAR(h.stddev(), sd, 1e-6 * sd + 1e-6) << what;
  for (double p : kPs) {
    const uint64_t exact = percentile(v, p);
    const uint64_t got = h.percentile(p);
    const double err = std::fabs(static_cast<double>(got) - static_cast<double>(exact));
    EXPECT_LE(err, Histogram::kRelError * static_cast<double>(exact)) << what << " p" << p << " exact " << exact
                                                                       << " got " << got;
  }
}

TEST(Histogram, StatedErrorIsOneIn512AndSmallValuesAreExact) {
  EXPECT_DOUBLE_EQ(Histogram::kRelError, 1.0 / 512);
  std::vector<uint64_t> v;
  for (uint64_t x = 0; x < Histogram::kExactBelow; ++x) v.insert(v.end(), x % 7 + 1, x);
  Histogram h;
  for (uint64_t x : v) h.add(x);
  for (double p : kPs) EXPECT_EQ(h.percentile(p), percentile(v, p)) << p;
}

TEST(Histogram, BucketsCoverEveryValueWithBoundedWidth) {
  std::mt19937_64 rng(3);
  size_t prev = 0;
  for (int i = 0; i < 200000; ++i) {
    const unsigned e = static_cast<unsigned>(rng() % 64);
    const uint64_t v = e == 0 ? rng() % 2 : (uint64_t{1} << e) | (rng() & ((uint64_t{1} << e) - 1));
    const size_t b = Histogram::bucket_of(v);
    const uint64_t lo = Histogram::bucket_low(b), w = Histogram::bucket_width(b);
    ASSERT_LE(lo, v);
    ASSERT_LE(v - lo, w - 1);
    if (v >= Histogram::kExactBelow) ASSERT_LE(static_cast<double>(w), 2 * Histogram::kRelError * static_cast<double>(lo));
    else ASSERT_EQ(w, 1u);
  }
  // Consecutive values map to the same or the next bucket (monotonic, no gaps).
  for (uint64_t v = 0; v < (uint64_t{1} << 20); ++v) {
    const size_t b = Histogram::bucket_of(v);
    ASSERT_TRUE(b == prev || b == prev + 1) << v;
    prev = b;
  }
  EXPECT_EQ(Histogram::bucket_low(Histogram::bucket_of(UINT64_MAX)) + Histogram::bucket_width(Histogram::bucket_of(UINT64_MAX)) - 1,
            UINT64_MAX);
}

TEST(Histogram, RandomDistributionsWithinBound) {
  std::mt19937_64 rng(11);
  std::vector<uint64_t> uni, logu, expo, bimodal;
  std::uniform_int_distribution<uint64_t> u(0, 5'000'000);
  std::exponential_distribution<double> ex(1.0 / 300.0);
  for (int i = 0; i < 100000; ++i) {
    uni.push_back(u(rng));
    logu.push_back(static_cast<uint64_t>(std::exp2(std::uniform_real_distribution<double>(0, 40)(rng))));
    expo.push_back(40 + static_cast<uint64_t>(ex(rng)));
    bimodal.push_back(i % 100 == 0 ? 1'000'000 + rng() % 1000 : 60 + rng() % 20);
  }
  expect_within_bound(uni, "uniform");
  expect_within_bound(logu, "log-uniform");
  expect_within_bound(expo, "exponential");
  expect_within_bound(bimodal, "bimodal");
}

// Values at bucket edges, where midpoint rounding is worst; one repeated
// value; two far-apart clusters; values near 2^64.
TEST(Histogram, AdversarialDistributionsWithinBound) {
  std::vector<uint64_t> edges;
  for (unsigned e = 9; e < 63; ++e)
    for (uint64_t m : {uint64_t{256}, uint64_t{257}, uint64_t{383}, uint64_t{511}}) {
      const uint64_t lo = m << (e - 8), w = uint64_t{1} << (e - 8);
      edges.push_back(lo);
      edges.push_back(lo + w - 1);
      edges.push_back(lo + w / 2);
    }
  expect_within_bound(edges, "bucket edges");
  expect_within_bound(std::vector<uint64_t>(1000, 123457), "one value");
  std::vector<uint64_t> low_high;
  for (int i = 0; i < 999; ++i) low_high.push_back(1 + i % 3);
  low_high.push_back(UINT64_MAX);
  expect_within_bound(low_high, "0-3 and 2^64-1");
  std::vector<uint64_t> huge;
  for (uint64_t i = 0; i < 5000; ++i) huge.push_back(UINT64_MAX - i * 0x0123456789ABull);
  expect_within_bound(huge, "near 2^64");
  Histogram h;
  h.add(UINT64_MAX);
  EXPECT_EQ(h.percentile(50), UINT64_MAX);  // clamped to the exact max
  EXPECT_EQ(h.min(), UINT64_MAX);
}

TEST(Histogram, EmptySetIsAllZero) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.stddev(), 0.0);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(100), 0u);
  EXPECT_TRUE(h.begin() == h.end());
  EXPECT_TRUE(h.pow2_bins().empty());
  Histogram g;
  g.merge(h);
  EXPECT_TRUE(g.empty());
}

TEST(Histogram, MergeEqualsOneHistogramOfAll) {
  std::mt19937_64 rng(5);
  Histogram a, b, all;
  std::vector<uint64_t> v;
  for (int i = 0; i < 50000; ++i) {
    const uint64_t x = rng() % (i < 25000 ? 1000 : 10'000'000);
    (i % 3 ? a : b).add(x);
    all.add(x);
    v.push_back(x);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_NEAR(a.mean(), all.mean(), 1e-9 * all.mean());
  EXPECT_NEAR(a.stddev(), all.stddev(), 1e-9 * all.stddev());
  for (double p : kPs) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  EXPECT_EQ(a.pow2_bins(), all.pow2_bins());
}

TEST(Histogram, ExactSamplesOptionGivesExactPercentiles) {
  std::mt19937_64 rng(9);
  Histogram h(true);
  std::vector<uint64_t> v;
  for (int i = 0; i < 20000; ++i) {
    v.push_back(rng() % 100'000'000);
    h.push_back(v.back());
  }
  EXPECT_TRUE(h.exact());
  EXPECT_EQ(h.rel_error(), 0.0);
  for (double p : kPs) EXPECT_EQ(h.percentile(p), percentile(v, p)) << p;
  EXPECT_EQ(h.samples(), v);
  // Merging a histogram without samples leaves only the bounded estimate.
  Histogram approx;
  approx.add(5);
  h.merge(approx);
  EXPECT_FALSE(h.exact());
  EXPECT_EQ(h.rel_error(), Histogram::kRelError);
}

// Iterating yields count samples in ascending order, each within the bound;
// the power-of-two bins count every sample once.
TEST(Histogram, IteratesItsSamplesAndBinsThem) {
  Histogram h;
  std::vector<uint64_t> v{0, 1, 1, 3, 700, 701, 4096, 99999, 99999, 1u << 30};
  for (uint64_t x : v) h.add(x);
  EXPECT_EQ(static_cast<uint64_t>(std::distance(h.begin(), h.end())), h.size());
  std::vector<uint64_t> seen(h.begin(), h.end());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  for (size_t i = 0; i < v.size(); ++i)
    EXPECT_LE(std::fabs(double(seen[i]) - double(v[i])), Histogram::kRelError * double(v[i])) << i;
  EXPECT_EQ(*std::min_element(h.begin(), h.end()), 0u);
  const auto bins = h.pow2_bins();
  EXPECT_EQ(std::accumulate(bins.begin(), bins.end(), uint64_t{0}), h.size());
  EXPECT_EQ(bins[0], 3u);   // 0 and 1, 1
  EXPECT_EQ(bins[1], 1u);   // 3
  EXPECT_EQ(bins[9], 2u);   // 700, 701
  EXPECT_EQ(bins[12], 1u);  // 4096
  EXPECT_EQ(bins[16], 2u);  // 99999
  EXPECT_EQ(bins[30], 1u);
}

TEST(Histogram, MemoryDoesNotGrowWithTheNumberOfSamples) {
  Histogram h;
  for (uint64_t i = 0; i < 2'000'000; ++i) h.add(i % 100'000);
  Histogram g;
  for (uint64_t i = 0; i < 100'000; ++i) g.add(i);
  EXPECT_EQ(h.buckets(), g.buckets());
  EXPECT_LT(h.buckets(), 3000u);  // 100k cycles: 8 powers of two above 512
  EXPECT_TRUE(h.samples().empty());
}

// stats.json states the bound (or 0 with exact samples) beside the same
// percentile names as before.
TEST(Histogram, StatsJsonStatesThePercentileError) {
  RunResult a, b;
  b.keep_exact_latency();
  for (uint64_t x : {1000u, 1001u, 1003u, 5000u, 70000u}) {
    a.latency_cycles.push_back(x);
    b.latency_cycles.push_back(x);
  }
  const nlohmann::json ja = stats_json(a), jb = stats_json(b);
  EXPECT_EQ(ja["latency"]["percentile_rel_error"]["value"].get<double>(), Histogram::kRelError);
  EXPECT_EQ(jb["latency"]["percentile_rel_error"]["value"].get<double>(), 0.0);
  EXPECT_EQ(jb["latency"]["p50"]["value"].get<uint64_t>(), 1003u);
  EXPECT_LE(std::fabs(ja["latency"]["p50"]["value"].get<double>() - 1003.0), 1003.0 * Histogram::kRelError);
  EXPECT_EQ(ja["latency"]["max"]["value"].get<uint64_t>(), 70000u);
  EXPECT_EQ(ja["latency"]["count"]["value"].get<uint64_t>(), 5u);
  EXPECT_NE(summary_text(a, false).find("percentiles within 1/512"), std::string::npos);
  EXPECT_NE(summary_text(b, false).find("exact"), std::string::npos);
}

}  // namespace
}  // namespace cmm::tb
