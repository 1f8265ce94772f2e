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
  j = fig2_scenario().to_json();
  j["rx_wakeup"] = "sometimes";
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
  j = fig2_scenario().to_json();
  j["key_source"] = "firmware";
  EXPECT_THROW(scenario_from_json(j, "x"), ConfigError);
  j = fig2_scenario().to_json();
  j["rx_wakeup"] = "poll";
  j["key_source"] = "hardware";
  const Scenario s = scenario_from_json(j, "x");
  EXPECT_EQ(s.rx_wakeup, "poll");
  EXPECT_EQ(s.key_source, "hardware");
}

// Found by fuzz/scenario_fuzz.cpp: nlohmann converts a float or an
// out-of-range number to an integer with a static_cast (undefined behaviour).
TEST(Scenario, NonIntegerOrOutOfRangeNumberForAnIntegerKeyIsAConfigError) {
  for (const char* bad : {"6.7e126", "-5", "1.5", "4294967296", "-1"}) {
    nlohmann::json j = fig2_scenario().to_json();
    const bool u64 = std::string(bad) != "4294967296";
    j[u64 ? "warmup_cycles" : "link_latency_cycles"] = nlohmann::json::parse(bad);
    try {
      scenario_from_json(j, "cfg.json");
      ADD_FAILURE() << "no error for " << bad;
    } catch (const ConfigError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
      EXPECT_NE(m.find("expected an integer"), std::string::npos) << m;
    }
  }
}

TEST(Scenario, QuotaAboveTableSizeIsRejected) {
  Scenario s = fig2_scenario();
  s.nodes[1].partitions[0].quota = 16;
  EXPECT_THROW(s.validate(), ConfigError);
}

// The attack scenario has every attacker kind, round-trips through JSON, and
// the validator refuses two rogue nodes with one id and line rate for any
// kind but the flooder.
TEST(Scenario, AttackScenarioHasEveryKindAndIsValidated) {
  const Scenario s = fig2_attack_scenario();
  ASSERT_NO_THROW(s.validate());
  for (const char* k : kAttackKinds) {
    bool present = false;
    for (const auto& a : s.attacks) present |= a.kind == k;
    EXPECT_TRUE(present) << k;
  }
  EXPECT_EQ(scenario_from_json(s.to_json(), "test").to_json(), s.to_json());
  Scenario t = s;
  t.attacks[7].rogue_node_id = t.attacks[6].rogue_node_id;
  EXPECT_THROW(t.validate(), ConfigError);
  t = s;
  t.attacks[0].gap_cycles = 0;
  EXPECT_THROW(t.validate(), ConfigError);
  t = s;
  t.alarm_window_log2 = 40;
  EXPECT_THROW(t.validate(), ConfigError);
}

}  // namespace
}  // namespace cmm::tb
