#include "scenario.h"

#include <gtest/gtest.h>

namespace cmm::tb {
namespace {

TEST(Scenario, Fig2HasThePatentsNodesPartitionsAndChannel) {
  const Scenario s = fig2_scenario();
  ASSERT_NO_THROW(s.validate());
  ASSERT_EQ(s.nodes.size(), 2u);
  EXPECT_EQ(s.nodes[0].id, 202);
  EXPECT_EQ(s.nodes[1].id, 204);
  EXPECT_EQ(s.nodes[0].partitions.size(), 4u);
  EXPECT_EQ(s.nodes[1].partitions.size(), 2u);
  const auto r = s.locate("216");
  EXPECT_EQ(s.nodes[r.node].partitions[r.part].name, "208d");
  const auto t = s.locate("220b");
  EXPECT_EQ(s.nodes[t.node].partitions[t.part].name, "218a");
  EXPECT_EQ(s.channels[0].receiver, "216");
  EXPECT_EQ(s.channels[0].sender, "220b");
}

TEST(Scenario, JsonRoundTripIsIdentical) {
  const Scenario s = fig2_scenario();
  const Scenario t = scenario_from_json(s.to_json(), "test");
  EXPECT_EQ(s.to_json(), t.to_json());
}

TEST(Scenario, UnknownKeyIsNamedWithAllowedKeys) {
  nlohmann::json j = fig2_scenario().to_json();
  j["link_latency"] = 3;
  try {
    scenario_from_json(j, "cfg.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
    EXPECT_NE(m.find("'link_latency'"), std::string::npos) << m;
    EXPECT_NE(m.find("link_latency_cycles"), std::string::npos) << m;
  }
}

TEST(Scenario, BadValuesNameKeyAndValue) {
  nlohmann::json j = fig2_scenario().to_json();
  j["channels"][0]["max_bytes"] = 5000;
  EXPECT_THROW(
      {
        try {
          scenario_from_json(j, "cfg.json");
        } catch (const ConfigError& e) {
          EXPECT_NE(std::string(e.what()).find("5000"), std::string::npos) << e.what();
          throw;
        }
      },
      ConfigError);
  j = fig2_scenario().to_json();
  j["channels"][0]["sender"] = "999";
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
  j = fig2_scenario().to_json();
  j["nodes"][1]["id"] = 202;
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
  j = fig2_scenario().to_json();
  j["clock_ghz"] = "fast";
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
  j = fig2_scenario().to_json();
  j["nodes"][0]["partitions"][0]["processes"][0]["pid"] = 0;
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
}

TEST(Scenario, QuotaAboveTableSizeIsRejected) {
  Scenario s = fig2_scenario();
  s.nodes[1].partitions[0].quota = 16;
  EXPECT_THROW(s.validate(), ConfigError);
}

}  // namespace
}  // namespace cmm::tb
