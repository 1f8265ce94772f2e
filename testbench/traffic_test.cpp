#include "traffic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace cmm::tb {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using json = nlohmann::json;

PatternSpec pat(PatternKind k, uint32_t dims = 1) {
  PatternSpec p;
  p.kind = k;
  p.dims = dims;
  return p;
}

// ---- permutations ---------------------------------------------------------------

TEST(TrafficPattern, TransposeOn16) {
  // 4 x 4, i = y*4 + x: (x, y) -> (y, x).
  EXPECT_THAT(permutation(pat(PatternKind::kTranspose), 16),
              ElementsAre(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  EXPECT_THAT(permutation(pat(PatternKind::kTranspose), 9), ElementsAre(0, 3, 6, 1, 4, 7, 2, 5, 8));
}

TEST(TrafficPattern, BitReverseAndComplementOn8) {
  EXPECT_THAT(permutation(pat(PatternKind::kBitReverse), 8), ElementsAre(0, 4, 2, 6, 1, 5, 3, 7));
  EXPECT_THAT(permutation(pat(PatternKind::kBitComplement), 8), ElementsAre(7, 6, 5, 4, 3, 2, 1, 0));
}

TEST(TrafficPattern, Tornado) {
  // Ring of 8: +ceil(8/2)-1 = +3.
  EXPECT_THAT(permutation(pat(PatternKind::kTornado), 8), ElementsAre(3, 4, 5, 6, 7, 0, 1, 2));
  // Ring of 5: +ceil(5/2)-1 = +2.
  EXPECT_THAT(permutation(pat(PatternKind::kTornado), 5), ElementsAre(2, 3, 4, 0, 1));
  // 4 x 4: +1 in x and in y.
  EXPECT_THAT(permutation(pat(PatternKind::kTornado, 2), 16),
              ElementsAre(5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0));
}

TEST(TrafficPattern, Neighbour) {
  EXPECT_THAT(permutation(pat(PatternKind::kNeighbour), 5), ElementsAre(1, 2, 3, 4, 0));
  // 3 x 3: +x only.
  EXPECT_THAT(permutation(pat(PatternKind::kNeighbour, 2), 9), ElementsAre(1, 2, 0, 4, 5, 3, 7, 8, 6));
}

TEST(TrafficPattern, PermutationSizeErrors) {
  auto msg = [](PatternSpec p, uint32_t n) {
    try {
      (void)permutation(p, n);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(msg(pat(PatternKind::kTranspose), 12), HasSubstr("'transpose' needs a square number of terminals (k x k), got 12"));
  EXPECT_THAT(msg(pat(PatternKind::kBitReverse), 12), HasSubstr("'bit_reverse' needs a power-of-two number of terminals, got 12"));
  EXPECT_THAT(msg(pat(PatternKind::kBitComplement), 6), HasSubstr("power-of-two"));
  EXPECT_THAT(msg(pat(PatternKind::kTornado, 2), 8), HasSubstr("'tornado' with dims 2 needs a square number"));
  EXPECT_THAT(msg(pat(PatternKind::kUniform), 8), HasSubstr("not a permutation"));
  EXPECT_THROW(Pattern(pat(PatternKind::kTranspose), 12, 1), ConfigError);
}

TEST(TrafficPattern, SelfPolicy) {
  PatternSpec p = pat(PatternKind::kTranspose);
  Pattern keep(p, 16, 1);
  const auto pk = keep.pairs();
  EXPECT_EQ(pk.size(), 16u);
  for (uint32_t d : {0u, 5u, 10u, 15u}) {
    EXPECT_TRUE(keep.active(d));
    EXPECT_NE(std::find(pk.begin(), pk.end(), TerminalPair{d, d}), pk.end());
  }
  p.self = SelfPolicy::kSkip;
  Pattern skip(p, 16, 1);
  EXPECT_EQ(skip.pairs().size(), 12u);
  for (uint32_t d : {0u, 5u, 10u, 15u}) EXPECT_FALSE(skip.active(d));
  EXPECT_TRUE(skip.active(1));
  TrafficSpec s;
  s.pattern = p;
  Traffic t(s, 16, 1);
  EXPECT_FALSE(t.source(5).next().has_value());
  EXPECT_EQ(t.source(1).next()->dst, 4u);
}

// ---- random patterns --------------------------------------------------------------

TEST(TrafficPattern, UniformNeverSelfAndRoughlyUniform) {
  Pattern p(pat(PatternKind::kUniform), 8, 1);
  Rng rng(42);
  for (uint32_t src = 0; src < 8; ++src) {
    std::vector<uint64_t> count(8, 0);
    const int draws = 70000;
    for (int i = 0; i < draws; ++i) ++count[p.dest(src, rng)];
    EXPECT_EQ(count[src], 0u);
    double chi2 = 0;
    const double expect = draws / 7.0;
    for (uint32_t d = 0; d < 8; ++d)
      if (d != src) chi2 += (count[d] - expect) * (count[d] - expect) / expect;
    EXPECT_LT(chi2, 27.86) << "src " << src;  // 6 degrees of freedom, p = 1e-4
  }
  EXPECT_EQ(p.pairs().size(), 8u * 7u);
}

TEST(TrafficPattern, UniformFanoutBoundsPairs) {
  PatternSpec s = pat(PatternKind::kUniform);
  s.fanout = 3;
  Pattern p(s, 64, 7);
  const auto pairs = p.pairs();
  EXPECT_EQ(pairs.size(), 64u * 3u);
  std::set<TerminalPair> allowed(pairs.begin(), pairs.end());
  Rng rng(1);
  std::map<uint32_t, int> seen;
  for (int i = 0; i < 3000; ++i) {
    const uint32_t d = p.dest(10, rng);
    EXPECT_TRUE(allowed.count({10, d}));
    EXPECT_NE(d, 10u);
    ++seen[d];
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(Pattern(s, 64, 7).pairs(), pairs);   // the subset follows the seed
  EXPECT_NE(Pattern(s, 64, 8).pairs(), pairs);
}

TEST(TrafficPattern, HotspotFraction) {
  PatternSpec s = pat(PatternKind::kHotspot);
  s.hotspot_fraction = 0.2;
  s.hotspot_terminals = {0};
  Pattern p(s, 16, 1);
  Rng rng(3);
  const int draws = 50000;
  int hot = 0;
  for (int i = 0; i < draws; ++i) {
    const uint32_t d = p.dest(5, rng);
    EXPECT_NE(d, 5u);
    hot += d == 0;
  }
  // The uniform rest also reaches the hotspot: 0.2 + 0.8/15.
  EXPECT_NEAR(hot / double(draws), 0.2 + 0.8 / 15, 0.01);
  for (int i = 0; i < 1000; ++i) EXPECT_NE(p.dest(0, rng), 0u);  // the hotspot never sends to itself
  EXPECT_EQ(p.pairs().size(), 16u * 15u);

  s.hotspot_terminals = {3, 9};
  s.hotspot_fraction = 0.5;
  Pattern two(s, 16, 1);
  int to3 = 0, to9 = 0;
  for (int i = 0; i < draws; ++i) {
    const uint32_t d = two.dest(1, rng);
    to3 += d == 3;
    to9 += d == 9;
  }
  EXPECT_NEAR(to3 / double(draws), 0.25 + 0.5 / 15, 0.01);
  EXPECT_NEAR(to9 / double(draws), 0.25 + 0.5 / 15, 0.01);
}

TEST(TrafficPattern, HotspotWithFanoutKeepsHotspotPairs) {
  PatternSpec s = pat(PatternKind::kHotspot);
  s.fanout = 2;
  s.hotspot_terminals = {0};
  Pattern p(s, 32, 1);
  for (uint32_t i = 1; i < 32; ++i) {
    const auto pairs = p.pairs();
    EXPECT_NE(std::find(pairs.begin(), pairs.end(), TerminalPair{i, 0}), pairs.end());
  }
  EXPECT_LE(p.pairs().size(), 32u * 3u);
}

TEST(TrafficPattern, Incast) {
  Pattern one(pat(PatternKind::kIncast), 8, 1);
  EXPECT_FALSE(one.active(0));
  Rng rng(1);
  for (uint32_t i = 1; i < 8; ++i) EXPECT_EQ(one.dest(i, rng), 0u);
  EXPECT_EQ(one.pairs().size(), 7u);

  PatternSpec s = pat(PatternKind::kIncast);
  s.incast_terminals = {2, 5};
  Pattern two(s, 8, 1);
  EXPECT_FALSE(two.active(2));
  EXPECT_FALSE(two.active(5));
  int to2 = 0;
  for (int i = 0; i < 10000; ++i) {
    const uint32_t d = two.dest(0, rng);
    ASSERT_TRUE(d == 2 || d == 5);
    to2 += d == 2;
  }
  EXPECT_NEAR(to2 / 10000.0, 0.5, 0.03);
  EXPECT_EQ(two.pairs().size(), 12u);
}

// ---- injection ------------------------------------------------------------------------

double mean_gap(Injection& inj, Rng& rng, int n) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(inj.next_gap(rng));
  return sum / n;
}

TEST(TrafficInjection, GeometricAndExponentialDraws) {
  Rng rng(9);
  double g = 0, e = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t x = geometric_gap(rng, 0.1);
    ASSERT_GE(x, 1u);
    g += x;
    e += exponential(rng, 0.1);
  }
  EXPECT_NEAR(g / 100000, 10, 0.2);
  EXPECT_NEAR(e / 100000, 10, 0.2);
  EXPECT_EQ(geometric_gap(rng, 1.0), 1u);
  EXPECT_GT(geometric_gap(rng, 1e-12), 1000u);  // O(1) however long the gap
}

TEST(TrafficInjection, BernoulliMeanGap) {
  InjectionSpec s;
  s.kind = InjectionKind::kBernoulli;
  Rng rng(1);
  Injection inj(s, 0.05);
  EXPECT_NEAR(mean_gap(inj, rng, 100000), 20.0, 0.4);
  Injection full(s, 1.0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(full.next_gap(rng), 1u);
  EXPECT_THROW(Injection(s, 1.5), ConfigError);
  EXPECT_THROW(Injection(s, 0), ConfigError);
}

TEST(TrafficInjection, PoissonMeanGap) {
  InjectionSpec s;
  s.kind = InjectionKind::kPoisson;
  Rng rng(2);
  Injection inj(s, 0.02);
  EXPECT_NEAR(mean_gap(inj, rng, 100000), 50.0, 1.0);
  // Above one message per cycle: several share a cycle, the rate holds.
  Injection fast(s, 2.5);
  uint64_t zeros = 0, cycles = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t g = fast.next_gap(rng);
    zeros += g == 0;
    cycles += g;
  }
  EXPECT_GT(zeros, 0u);
  EXPECT_NEAR(100000.0 / cycles, 2.5, 0.05);
}

TEST(TrafficInjection, Periodic) {
  InjectionSpec s;
  s.kind = InjectionKind::kPeriodic;
  s.random_phase = false;
  Rng rng(3);
  Injection inj(s, 0.1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(inj.next_gap(rng), 10u);
  Injection frac(s, 0.3);  // 3.33 cycles: gaps 3 and 4, exact mean
  uint64_t sum = 0;
  for (int i = 0; i < 300; ++i) {
    const uint64_t g = frac.next_gap(rng);
    EXPECT_TRUE(g == 3 || g == 4);
    sum += g;
  }
  EXPECT_EQ(sum, 1000u);
  s.random_phase = true;
  std::set<uint64_t> first;
  for (int t = 0; t < 50; ++t) {
    Injection ph(s, 0.1);
    const uint64_t g = ph.next_gap(rng);
    EXPECT_GE(g, 1u);
    EXPECT_LE(g, 10u);
    first.insert(g);
    EXPECT_EQ(ph.next_gap(rng), 10u);
  }
  EXPECT_GT(first.size(), 3u);
}

TEST(TrafficInjection, OnOffMeanRateAndBurstiness) {
  InjectionSpec s;
  s.kind = InjectionKind::kOnOff;
  s.mean_on_cycles = 50;
  s.mean_off_cycles = 450;
  Rng rng(4);
  Injection inj(s, 0.02);  // 0.2 per cycle while on
  const int n = 100000;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    const double g = static_cast<double>(inj.next_gap(rng));
    sum += g;
    sq += g * g;
  }
  const double mean = sum / n;
  EXPECT_NEAR(n / sum, 0.02, 0.001);
  // Squared coefficient of variation: about 1 for Bernoulli, far above for bursts.
  const double cv2 = (sq / n - mean * mean) / (mean * mean);
  EXPECT_GT(cv2, 3.0);
  EXPECT_EQ(max_injection_rate(s), 0.1);
  EXPECT_THROW(Injection(s, 0.11), ConfigError);
  Injection peak(s, 0.1);  // one per cycle while on
  EXPECT_NEAR(100000.0 / (mean_gap(peak, rng, 100000) * 100000), 0.1, 0.005);
}

// ---- sizes ----------------------------------------------------------------------------------

double mean_size(const SizeSpec& s, int n, std::set<uint32_t>* seen = nullptr) {
  SizeDist d(s);
  Rng rng(5);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const uint32_t b = d.draw(rng);
    sum += b;
    if (seen) seen->insert(b);
  }
  return sum / n;
}

TEST(TrafficSize, Means) {
  SizeSpec s;
  s.kind = SizeKind::kFixed;
  s.bytes = 100;
  EXPECT_EQ(mean_size(s, 100), 100);
  EXPECT_EQ(s.mean_bytes(), 100);

  s.kind = SizeKind::kUniform;
  s.min_bytes = 64;
  s.max_bytes = 256;
  std::set<uint32_t> seen;
  EXPECT_NEAR(mean_size(s, 100000, &seen), 160, 1.0);
  EXPECT_EQ(s.mean_bytes(), 160);
  EXPECT_EQ(*seen.begin(), 64u);
  EXPECT_EQ(*seen.rbegin(), 256u);
  EXPECT_EQ(seen.size(), 193u);

  s.kind = SizeKind::kBimodal;
  s.small_bytes = 64;
  s.large_bytes = 1024;
  s.large_prob = 0.25;
  EXPECT_EQ(s.mean_bytes(), 304);
  EXPECT_NEAR(mean_size(s, 100000), 304, 6);

  s.kind = SizeKind::kList;
  s.sizes = {{16, 1}, {128, 2}, {1024, 1}};
  EXPECT_EQ(s.mean_bytes(), (16 + 256 + 1024) / 4.0);
  seen.clear();
  EXPECT_NEAR(mean_size(s, 100000, &seen), 324, 6);
  EXPECT_THAT(seen, ElementsAre(16, 128, 1024));
}

TEST(TrafficSize, OfferedLoadToRate) {
  TrafficSpec s;  // uniform 64..256: mean 160 B
  s.offered_load = 16;
  s.load_unit = LoadUnit::kBytes;
  EXPECT_DOUBLE_EQ(injection_rate(s), 0.1);
  s.load_unit = LoadUnit::kMessages;
  s.offered_load = 0.25;
  EXPECT_DOUBLE_EQ(injection_rate(s), 0.25);
  // Bytes above what Bernoulli can inject with these sizes: 200 B/cycle > 160.
  s.load_unit = LoadUnit::kBytes;
  s.offered_load = 200;
  try {
    s.validate(8);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("key 'offered_load' has value 200.0 (bytes_per_cycle per terminal) = 1.25"));
    EXPECT_THAT(e.what(), HasSubstr("up to 1 messages/cycle/terminal for process 'bernoulli'"));
  }
  s.injection.kind = InjectionKind::kPoisson;
  EXPECT_NO_THROW(s.validate(8));
}

// ---- sources and determinism ---------------------------------------------------------------

std::vector<Message> take(TerminalSource s, int n) {
  std::vector<Message> v;
  for (int i = 0; i < n; ++i) v.push_back(*s.next());
  return v;
}
bool same(const std::vector<Message>& a, const std::vector<Message>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].cycle != b[i].cycle || a[i].gap != b[i].gap || a[i].dst != b[i].dst || a[i].bytes != b[i].bytes ||
        a[i].src != b[i].src)
      return false;
  return true;
}

TEST(TrafficSource, Determinism) {
  TrafficSpec s;
  s.pattern.kind = PatternKind::kHotspot;
  s.injection.kind = InjectionKind::kOnOff;
  s.offered_load = 0.05;
  Traffic a(s, 16, 7), b(s, 16, 7), c(s, 16, 8);
  const auto m = take(a.source(3), 1000);
  EXPECT_TRUE(same(m, take(b.source(3), 1000)));
  EXPECT_TRUE(same(m, take(a.source(3), 1000)));  // a fresh source restarts the stream
  EXPECT_FALSE(same(m, take(c.source(3), 1000)));
  EXPECT_FALSE(same(m, take(a.source(4), 1000)));
  s.seed_salt = 1;
  EXPECT_FALSE(same(m, take(Traffic(s, 16, 7).source(3), 1000)));
  uint64_t cycle = 0;
  for (const auto& x : m) {
    EXPECT_EQ(x.src, 3u);
    EXPECT_EQ(x.cycle, cycle += x.gap);
  }
}

TEST(TrafficSource, GoldenStream) {
  // Pins the draws: our own distributions over mt19937_64, the same on every
  // platform. Update only on purpose (it changes every seeded run's traffic).
  TrafficSpec s;
  Traffic t(s, 8, 1);
  auto src = t.source(2);
  std::vector<std::tuple<uint64_t, uint32_t, uint32_t>> got;
  for (int i = 0; i < 4; ++i) {
    const auto m = *src.next();
    got.emplace_back(m.cycle, m.dst, m.bytes);
  }
  EXPECT_THAT(got, ElementsAreArray(std::vector<std::tuple<uint64_t, uint32_t, uint32_t>>{
                       {19, 5, 131}, {79, 5, 254}, {93, 5, 108}, {203, 4, 69}}));
}

TEST(TrafficSource, RateOverManyTerminals) {
  TrafficSpec s;
  s.offered_load = 8;  // bytes/cycle/terminal at a mean of 160 B: 0.05 msg/cycle
  s.load_unit = LoadUnit::kBytes;
  Traffic t(s, 16, 1);
  EXPECT_DOUBLE_EQ(t.rate(), 0.05);
  EXPECT_EQ(t.channel_pairs().size(), 16u * 15u);
  double bytes = 0;
  uint64_t end = 0;
  for (uint32_t i = 0; i < 16; ++i) {
    auto src = t.source(i);
    for (int k = 0; k < 5000; ++k) {
      const auto m = *src.next();
      bytes += m.bytes;
      end = std::max(end, m.cycle);
    }
  }
  EXPECT_NEAR(bytes / 16 / (5000 / 0.05), 8.0, 0.3);
  EXPECT_THROW(t.source(16), std::out_of_range);
}

// ---- traces -------------------------------------------------------------------------------------

std::string trace_error(const std::string& text, uint32_t n = 4) {
  std::istringstream in(text);
  try {
    (void)TrafficTrace::parse(in, "t.trace", n);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(TrafficTrace, HappyPath) {
  std::istringstream in(
      "# cycle source destination size\n"
      "\n"
      "10 0 1 64\n"
      "   12\t1 0 1024   # trailing comment\r\n"
      "10 0 2 1\n"
      "25 0 1 100\n"
      "0 3 3 8\n");
  const auto t = TrafficTrace::parse(in, "t.trace", 4);
  EXPECT_EQ(t.messages(), 5u);
  ASSERT_EQ(t.source(0).size(), 3u);
  EXPECT_EQ(t.source(0)[1].cycle, 10u);
  EXPECT_EQ(t.source(0)[1].dst, 2u);
  EXPECT_EQ(t.source(0)[1].line, 5u);
  EXPECT_EQ(t.source(1)[0].bytes, 1024u);
  EXPECT_TRUE(t.source(2).empty());
  EXPECT_THAT(t.pairs(), ElementsAre(TerminalPair{0, 1}, TerminalPair{0, 2}, TerminalPair{1, 0}, TerminalPair{3, 3}));
}

TEST(TrafficTrace, Errors) {
  EXPECT_EQ(trace_error("1 0 1\n"), "t.trace:1: 3 fields in '1 0 1' (expected 4: cycle source destination size)");
  EXPECT_THAT(trace_error("# x\n1 0 1 2 3\n"), HasSubstr("t.trace:2: 5 fields in '1 0 1 2 3' (expected 4"));
  EXPECT_EQ(trace_error("1x 0 1 64\n"), "t.trace:1: bad cycle '1x' in '1x 0 1 64' (expected an unsigned integer)");
  EXPECT_THAT(trace_error("1 -1 1 64\n"), HasSubstr("t.trace:1: bad source '-1' in '1 -1 1 64' (expected an unsigned integer)"));
  EXPECT_EQ(trace_error("1 4 1 64\n"), "t.trace:1: bad source '4' in '1 4 1 64' (expected a terminal id 0..3)");
  EXPECT_EQ(trace_error("\n\n1 0 9 64\n"), "t.trace:3: bad destination '9' in '1 0 9 64' (expected a terminal id 0..3)");
  EXPECT_EQ(trace_error("1 0 1 0\n"), "t.trace:1: bad size '0' in '1 0 1 0' (expected 1..1024 bytes)");
  EXPECT_EQ(trace_error("1 0 1 1025\n"), "t.trace:1: bad size '1025' in '1 0 1 1025' (expected 1..1024 bytes)");
  EXPECT_THAT(trace_error("1 0 1 sixty\n"), HasSubstr("bad size 'sixty'"));
  EXPECT_THAT(trace_error("99999999999999999999 0 1 8\n"), HasSubstr("expected an unsigned integer below 2^64"));
  EXPECT_EQ(trace_error("10 0 1 8\n5 1 0 8\n4 0 1 8\n"),
            "t.trace:3: cycle '4' in '4 0 1 8' is before the previous message of source 0 (cycle 10, line 1) "
            "(expected non-decreasing cycles per source)");
  EXPECT_THAT(trace_error("# nothing\n\n"), HasSubstr("t.trace: no messages"));
  try {
    (void)TrafficTrace::load("/nonexistent/x.trace", 4);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trace file '/nonexistent/x.trace': cannot open"));
  }
}

TEST(TrafficTrace, ReplayThroughTraffic) {
  const std::string path = ::testing::TempDir() + "cmm_traffic_test.trace";
  {
    std::ofstream f(path);
    f << "# two sources\n5 0 1 64\n5 0 1 32\n20 0 2 16\n7 2 0 1024\n";
  }
  TrafficSpec s;
  s.trace_file = path;
  Traffic t(s, 3, 1);
  EXPECT_TRUE(t.active(0));
  EXPECT_FALSE(t.active(1));
  EXPECT_EQ(t.rate(), 0);
  EXPECT_THAT(t.channel_pairs(), ElementsAre(TerminalPair{0, 1}, TerminalPair{0, 2}, TerminalPair{2, 0}));
  auto src = t.source(0);
  std::vector<uint64_t> gaps;
  while (auto m = src.next()) gaps.push_back(m->gap);
  EXPECT_THAT(gaps, ElementsAre(5, 0, 15));
  EXPECT_FALSE(t.source(1).next().has_value());
  std::remove(path.c_str());
}

// ---- JSON -----------------------------------------------------------------------------------------

TrafficSpec round_trip(const TrafficSpec& s) { return TrafficSpec::from_json(json::parse(s.to_json().dump())); }

TEST(TrafficJson, RoundTrip) {
  TrafficSpec a;
  EXPECT_EQ(round_trip(a), a);

  TrafficSpec b;
  b.pattern.kind = PatternKind::kHotspot;
  b.pattern.hotspot_fraction = 0.3;
  b.pattern.hotspot_terminals = {1, 7};
  b.pattern.fanout = 4;
  b.injection.kind = InjectionKind::kOnOff;
  b.injection.mean_on_cycles = 20;
  b.injection.mean_off_cycles = 180.5;
  b.size.kind = SizeKind::kBimodal;
  b.size.small_bytes = 8;
  b.size.large_bytes = 512;
  b.size.large_prob = 0.125;
  b.offered_load = 0.01;
  b.seed_salt = 0xFFFFFFFFFFFFFFFFull;
  EXPECT_EQ(round_trip(b), b);

  TrafficSpec c;
  c.pattern.kind = PatternKind::kIncast;
  c.pattern.incast_terminals = {0, 3};
  c.injection.kind = InjectionKind::kPeriodic;
  c.injection.random_phase = false;
  c.size.kind = SizeKind::kList;
  c.size.sizes = {{64, 0.7}, {1024, 0.3}};
  c.offered_load = 12.5;
  c.load_unit = LoadUnit::kBytes;
  EXPECT_EQ(round_trip(c), c);

  TrafficSpec d;
  d.pattern = pat(PatternKind::kTornado, 2);
  d.pattern.self = SelfPolicy::kSkip;
  d.injection.kind = InjectionKind::kPoisson;
  d.size.kind = SizeKind::kFixed;
  d.size.bytes = 1024;
  EXPECT_EQ(round_trip(d), d);

  TrafficSpec e;
  e.trace_file = "traces/x.trace";
  e.seed_salt = 3;
  EXPECT_EQ(round_trip(e), e);
  EXPECT_EQ(e.to_json(), json::parse(R"({"trace_file": "traces/x.trace", "seed_salt": 3})"));

  // Only the keys the chosen kinds use are written.
  EXPECT_EQ(d.to_json()["pattern"], json::parse(R"({"name": "tornado", "dims": 2, "self": "skip"})"));
  EXPECT_EQ(c.to_json()["size"], json::parse(R"({"dist": "list", "sizes": [{"bytes": 64, "weight": 0.7},
                                                  {"bytes": 1024, "weight": 0.3}]})"));
  EXPECT_THAT(b.summary(), HasSubstr("hotspot"));
}

TEST(TrafficJson, MissingKeysKeepDefaults) {
  const auto s = TrafficSpec::from_json(json::parse(R"({"pattern": {"name": "transpose"}})"));
  TrafficSpec want;
  want.pattern.kind = PatternKind::kTranspose;
  EXPECT_EQ(s, want);
  EXPECT_EQ(TrafficSpec::from_json(json::object()), TrafficSpec());
}

std::string json_error(const char* text) {
  try {
    (void)TrafficSpec::from_json(json::parse(text));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(TrafficJson, ValidationErrors) {
  EXPECT_EQ(json_error(R"({"patern": {}})"),
            "traffic: unknown key 'patern' (allowed: pattern, injection, size, offered_load, load_unit, trace_file, "
            "seed_salt)");
  EXPECT_EQ(json_error(R"([1])"), "traffic: expected an object, got [1]");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "tornad"}})"),
            "traffic.pattern: key 'name' has value \"tornad\" (allowed: uniform, transpose, bit_reverse, "
            "bit_complement, tornado, neighbour, hotspot, incast)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "transpose", "fanout": 3}})"),
            "traffic.pattern: key 'fanout' is not used by pattern 'transpose' (allowed: name, self)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "hotspot", "hot": 3}})"),
            "traffic.pattern: unknown key 'hot' (allowed: name, hotspot_fraction, hotspot_terminals, fanout)");
  EXPECT_EQ(json_error(R"({"pattern": {"fanout": "x"}})"),
            "traffic.pattern: key 'fanout' has value \"x\" of the wrong type (expected an unsigned integer)");
  EXPECT_EQ(json_error(R"({"pattern": {"fanout": -2}})"),
            "traffic.pattern: key 'fanout' has value -2 (allowed: 0..4294967295)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "tornado", "dims": 3}})"),
            "traffic.pattern: key 'dims' has value 3 (allowed: 1, 2)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "tornado", "self": "drop"}})"),
            "traffic.pattern: key 'self' has value \"drop\" (allowed: keep, skip)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "hotspot", "hotspot_fraction": 1.5}})"),
            "traffic.pattern: key 'hotspot_fraction' has value 1.5 (allowed: 0..1)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "hotspot", "hotspot_terminals": [1, 1]}})"),
            "traffic.pattern: key 'hotspot_terminals' has value [1,1] (allowed: distinct terminal ids; 1 repeats)");
  EXPECT_EQ(json_error(R"({"pattern": {"name": "incast", "incast_terminals": []}})"),
            "traffic.pattern: key 'incast_terminals' has value [] (allowed: a non-empty list of terminal ids)");
  EXPECT_THAT(json_error(R"({"pattern": {"name": "incast", "incast_terminals": [-1]}})"),
              HasSubstr("key 'incast_terminals' has element -1 (expected a terminal id"));
  EXPECT_EQ(json_error(R"({"injection": {"process": "burst"}})"),
            "traffic.injection: key 'process' has value \"burst\" (allowed: bernoulli, poisson, onoff, periodic)");
  EXPECT_EQ(json_error(R"({"injection": {"process": "bernoulli", "mean_on_cycles": 5}})"),
            "traffic.injection: key 'mean_on_cycles' is not used by process 'bernoulli' (allowed: process)");
  EXPECT_EQ(json_error(R"({"injection": {"process": "onoff", "mean_on_cycles": 0.5}})"),
            "traffic.injection: key 'mean_on_cycles' has value 0.5 (allowed: >= 1 (cycles))");
  EXPECT_EQ(json_error(R"({"injection": {"process": "periodic", "random_phase": 1}})"),
            "traffic.injection: key 'random_phase' has value 1 of the wrong type (expected true or false)");
  EXPECT_EQ(json_error(R"({"size": {"dist": "normal"}})"),
            "traffic.size: key 'dist' has value \"normal\" (allowed: fixed, uniform, bimodal, list)");
  EXPECT_EQ(json_error(R"({"size": {"max_bytes": 2000}})"),
            "traffic.size: key 'max_bytes' has value 2000 (allowed: 1..1024)");
  EXPECT_EQ(json_error(R"({"size": {"min_bytes": 300}})"),
            "traffic.size: key 'max_bytes' has value 256 (allowed: 300..1024 (>= min_bytes))");
  EXPECT_EQ(json_error(R"({"size": {"dist": "fixed", "bytes": 0}})"),
            "traffic.size: key 'bytes' has value 0 (allowed: 1..1024)");
  EXPECT_EQ(json_error(R"({"size": {"dist": "bimodal", "large_prob": -0.1}})"),
            "traffic.size: key 'large_prob' has value -0.1 (allowed: 0..1)");
  EXPECT_EQ(json_error(R"({"size": {"dist": "list"}})"),
            "traffic.size: key 'sizes' has value [] (allowed: a non-empty list of {\"bytes\", \"weight\"})");
  EXPECT_EQ(json_error(R"({"size": {"dist": "list", "sizes": [{"bytes": 8, "weight": 0}]}})"),
            "traffic.size.sizes[0]: key 'weight' has value 0.0 (allowed: > 0)");
  EXPECT_EQ(json_error(R"({"size": {"dist": "list", "sizes": [{"bytes": 8}]}})"),
            "traffic.size.sizes[0]: needs both 'bytes' and 'weight', got {\"bytes\":8}");
  EXPECT_EQ(json_error(R"({"size": {"dist": "list", "sizes": [{"bytes": 8, "wieght": 1}]}})"),
            "traffic.size.sizes[0]: unknown key 'wieght' (allowed: bytes, weight)");
  EXPECT_EQ(json_error(R"({"offered_load": 0})"),
            "traffic: key 'offered_load' has value 0.0 (allowed: > 0 (messages_per_cycle per terminal))");
  EXPECT_EQ(json_error(R"({"offered_load": "high"})"),
            "traffic: key 'offered_load' has value \"high\" of the wrong type (expected a number)");
  EXPECT_EQ(json_error(R"({"load_unit": "flits"})"),
            "traffic: key 'load_unit' has value \"flits\" (allowed: messages_per_cycle, bytes_per_cycle)");
  EXPECT_EQ(json_error(R"({"trace_file": "x.trace", "pattern": {}})"),
            "traffic: key 'pattern' cannot be combined with 'trace_file' (the trace gives destinations, cycles and "
            "sizes)");
  EXPECT_EQ(json_error(R"({"trace_file": ""})"), "traffic: key 'trace_file' has value \"\" (allowed: a file path)");
  EXPECT_THAT(json_error(R"({"injection": {"process": "onoff"}, "offered_load": 0.5})"),
              HasSubstr("up to 0.1 messages/cycle/terminal for process 'onoff': at most one message per cycle while on"));
}

TEST(TrafficJson, TerminalCountErrors) {
  auto err = [](const char* text, uint32_t n) {
    try {
      TrafficSpec::from_json(json::parse(text)).validate(n);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(err(R"({"pattern": {"name": "transpose"}})", 12), HasSubstr("needs a square number of terminals"));
  EXPECT_EQ(err(R"({"pattern": {"name": "hotspot", "hotspot_terminals": [16]}})", 16),
            "traffic.pattern: key 'hotspot_terminals' has value [16] (allowed: terminal ids 0..15 (16 terminals))");
  EXPECT_EQ(err(R"({"pattern": {"fanout": 8}})", 8),
            "traffic.pattern: key 'fanout' has value 8 (allowed: 0..7 (0 = all other terminals))");
  EXPECT_EQ(err(R"({"pattern": {"name": "incast", "incast_terminals": [0, 1]}})", 2),
            "traffic.pattern: key 'incast_terminals' has value [0,1] (allowed: a proper subset of the terminals "
            "(someone must send))");
  EXPECT_EQ(err(R"({})", 1), "traffic.pattern: pattern 'uniform' needs at least 2 terminals, got 1");
  EXPECT_EQ(err(R"({})", 0), "traffic: needs at least 1 terminal, got 0");
  EXPECT_EQ(err(R"({"pattern": {"name": "bit_reverse"}})", 16), "no error");
}

}  // namespace
}  // namespace cmm::tb
