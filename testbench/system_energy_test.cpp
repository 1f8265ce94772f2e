// Energy of whole runs (docs/energy.md): the totals are the sums of the
// components, stats.json carries them with units, the time series has them.
#include <gtest/gtest.h>

#include "energy.h"
#include "system_test_fixture.h"

namespace cmm::tb {
namespace {

using test::run;

void expect_sums(const RunResult& r) {
  const nlohmann::json& e = r.energy;
  ASSERT_TRUE(e.contains("total_pj")) << e.dump();
  double cmm = 0, routers = 0, links = 0, nodes = 0;
  for (const auto& n : e["nodes"]) {
    cmm += n["cmm_pj"].get<double>();
    nodes += n["total_pj"].get<double>();
    EXPECT_DOUBLE_EQ(n["total_pj"].get<double>(), n["cmm_pj"].get<double>() + n["link_pj"].get<double>());
  }
  for (const auto& x : e["routers"]) routers += x["total_pj"].get<double>();
  double node_links = 0;
  for (const auto& x : e["links"]) {
    links += x["total_pj"].get<double>();
    const std::string name = x["link"];
    for (const auto& n : e["nodes"])
      if (name == n["node"].get<std::string>() + ".in" || name == n["node"].get<std::string>() + ".out")
        node_links += x["total_pj"].get<double>();
  }
  EXPECT_DOUBLE_EQ(cmm, e["cmm_pj"].get<double>());
  EXPECT_DOUBLE_EQ(routers, e["router_pj"].get<double>());
  EXPECT_DOUBLE_EQ(links, e["link_pj"].get<double>());
  EXPECT_DOUBLE_EQ(nodes, cmm + node_links);
  EXPECT_DOUBLE_EQ(e["total_pj"].get<double>(), cmm + routers + links);
  double kinds = 0;
  for (const auto& [k, v] : e["by_kind"].items()) kinds += v.get<double>();
  EXPECT_NEAR(kinds, e["total_pj"].get<double>(), 1e-9 * e["total_pj"].get<double>());
  EXPECT_DOUBLE_EQ(e["average_power_mw"].get<double>(),
                   e["total_pj"].get<double>() / (static_cast<double>(r.simulated_cycles) / r.clock_ghz));
  // Static power x the whole run: a part of each component, summed.
  double stat = 0;
  for (const auto& n : e["nodes"]) stat += n["static_pj"].get<double>();
  for (const auto& x : e["routers"]) stat += x["static_pj"].get<double>();
  for (const auto& x : e["links"]) stat += x["static_pj"].get<double>();
  EXPECT_GT(e["static_pj"].get<double>(), 0.0);
  EXPECT_NEAR(stat, e["static_pj"].get<double>(), 1e-9 * stat);
  EXPECT_NEAR(e["static_power_mw"].get<double>(),
              e["static_pj"].get<double>() / (static_cast<double>(r.simulated_cycles) / r.clock_ghz),
              1e-9 * e["static_power_mw"].get<double>());
  // Every CMM did work: register accesses, lookups, buffer bytes.
  for (const auto& n : e["nodes"]) {
    EXPECT_GT(n["register_access_pj"].get<double>(), 0.0);
    EXPECT_GT(n["table_lookup_pj"].get<double>(), 0.0);
  }
  // stats.json: each figure with its unit and description; nothing undeclared.
  EXPECT_TRUE(undeclared_stats(r).empty()) << ::testing::PrintToString(undeclared_stats(r));
  const nlohmann::json j = stats_json(r);
  EXPECT_EQ(j["energy"]["total_pj"]["unit"], "pJ");
  EXPECT_EQ(j["energy"]["total_pj"]["value"].get<double>(), e["total_pj"].get<double>());
  EXPECT_EQ(j["energy"]["average_power_mw"]["unit"], "mW");
  EXPECT_EQ(j["energy"]["nodes"][0]["total_pj"]["unit"], "pJ");
  const std::string t = stats_txt(j);
  EXPECT_NE(t.find("\nenergy.nodes.202.total_pj "), std::string::npos);
  // The time series carries the cumulative energy; its last sample is at most the total.
  ASSERT_FALSE(r.timeseries.empty());
  double prev = 0;
  for (const auto& row : r.timeseries) {
    EXPECT_GE(row["energy_pj"].get<double>(), prev);
    prev = row["energy_pj"].get<double>();
  }
  EXPECT_LE(prev, e["total_pj"].get<double>());
}

TEST(SystemEnergy, CrossbarTotalsAreTheSumOfComponents) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  for (auto& c : s.channels) c.messages = 10;
  s.stats_interval_cycles = 2000;
  const RunResult r = run(s, 3);
  ASSERT_TRUE(r.scoreboard_clean) << test::dump(r);
  expect_sums(r);
  EXPECT_EQ(r.energy["routers"].size(), 1u);  // the crossbar
}

TEST(SystemEnergy, MeshTotalsAreTheSumOfComponents) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  for (auto& c : s.channels) c.messages = 10;
  s.topology = "mesh";
  s.stats_interval_cycles = 2000;
  const RunResult r = run(s, 3);
  ASSERT_TRUE(r.scoreboard_clean) << test::dump(r);
  expect_sums(r);
  EXPECT_EQ(r.energy["routers"].size(), 4u);  // a 2x2 mesh
  double router_pj = 0;
  for (const auto& x : r.energy["routers"]) router_pj += x["crossbar_pj"].get<double>();
  EXPECT_GT(router_pj, 0.0);
}

}  // namespace
}  // namespace cmm::tb

CMM_TB_SYSTEM_TEST_MAIN
