#include "scenario.h"

#include <algorithm>

#include "scenario_keys.h"

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

// The message of a refused scenario, or "" when it was accepted.
std::string refusal(const nlohmann::json& j, const std::string& where = "cfg.json") {
  try {
    scenario_from_json(j, where);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
std::string refusal_with(const char* key, const nlohmann::json& v) {
  nlohmann::json j = fig2_scenario().to_json();
  j[key] = v;
  return refusal(j);
}
#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

// Found by fuzz/scenario_fuzz.cpp: nlohmann converts a float or an
// out-of-range number to an integer with a static_cast (undefined behaviour).
TEST(Scenario, NonIntegerOrOutOfRangeNumberForAnIntegerKeyIsAConfigError) {
  for (const char* bad : {"6.7e126", "-5", "1.5", "4294967296", "-1"}) {
    nlohmann::json j = fig2_scenario().to_json();
    const bool u64 = std::string(bad) != "4294967296";
    j[u64 ? "warmup_cycles" : "link_latency_cycles"] = nlohmann::json::parse(bad);
    const std::string m = refusal(j);
    EXPECT_HAS(m, "cfg.json");
    EXPECT_HAS(m, "an integer in");
  }
}

// Issue 10's list, one test per class of bad input: the message names the
// source, the key, the value and what is allowed.
TEST(ScenarioKeys, NegativeIntegerIsRefusedNotWrapped) {
  const std::string m = refusal_with("link_latency_cycles", -5);
  EXPECT_HAS(m, "cfg.json: key 'link_latency_cycles' has value -5 (allowed: an integer in 0..1000000, cycles)");
  EXPECT_HAS(refusal_with("warmup_cycles", -1), "key 'warmup_cycles' has value -1");
}

TEST(ScenarioKeys, FractionForAnIntegerKeyIsRefusedNotTruncated) {
  EXPECT_HAS(refusal_with("link_latency_cycles", 1.5), "key 'link_latency_cycles' has value 1.5 (allowed: an integer");
}

TEST(ScenarioKeys, IntegerAboveTheRangeIsRefusedNotTruncated) {
  EXPECT_HAS(refusal_with("link_latency_cycles", 4294967296ULL), "has value 4294967296 (allowed: an integer in 0..");
  EXPECT_HAS(refusal_with("max_cycles", 0), "key 'max_cycles' has value 0 (allowed: an integer in 1..");
  EXPECT_HAS(refusal_with("seed", -3), "key 'seed' has value -3");
}

TEST(ScenarioKeys, WrongTypeIsRefused) {
  EXPECT_HAS(refusal_with("clock_ghz", "fast"), "key 'clock_ghz' has value \"fast\" (allowed: a number");
  EXPECT_HAS(refusal_with("topology", 3), "key 'topology' has value 3 (allowed: one of crossbar, ring, mesh, torus, fat_tree, dragonfly, "
                                              "flatfly, file)");
  EXPECT_HAS(refusal_with("nodes", "two"), "key 'nodes' has value \"two\" (allowed: an array)");
}

TEST(ScenarioKeys, EnumOutsideItsValuesIsRefused) {
  EXPECT_HAS(refusal_with("topology", "hypercube"), "key 'topology' has value \"hypercube\" (allowed: one of crossbar");
  nlohmann::json j = fig2_attack_scenario().to_json();
  j["attacks"][0]["kind"] = "tickle";
  EXPECT_HAS(refusal(j), "key 'attacks[0].kind' has value \"tickle\" (allowed: one of rogue_node_spoofed");
}

TEST(ScenarioKeys, NestedKeyIsNamedByItsJsonPath) {
  nlohmann::json j = fig2_scenario().to_json();
  j["channels"][2]["messages"] = -5;
  EXPECT_HAS(refusal(j), "cfg.json: key 'channels[2].messages' has value -5 (allowed: an integer in 0..65536");
  j = fig2_scenario().to_json();
  j["nodes"][1]["partitions"][0]["processes"][1]["pid"] = 70000;
  EXPECT_HAS(refusal(j), "key 'nodes[1].partitions[0].processes[1].pid' has value 70000 (allowed: an integer in 1..65535");
  j = fig2_scenario().to_json();
  j["channels"][0]["mesage"] = 5;
  EXPECT_HAS(refusal(j), "unknown key 'mesage' in channels[0] (allowed: receiver, sender, messages");
}

TEST(ScenarioKeys, SetChecksTheValueAndNamesTheOption) {
  nlohmann::json j = fig2_scenario().to_json();
  auto set_error = [&](const std::string& kv) {
    try {
      apply_set(j, kv);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_HAS(set_error("link_latency_cycles=-5"), "--set link_latency_cycles=-5: key 'link_latency_cycles' has value -5");
  EXPECT_HAS(set_error("link_latency_cycles=1.5"), "has value 1.5");
  EXPECT_HAS(set_error("link_latency_cycles=4294967296"), "has value 4294967296");
  EXPECT_HAS(set_error("link_latency=3"), "no scalar scenario key 'link_latency' (allowed: ");
  EXPECT_HAS(set_error("nodes=3"), "'nodes' is not a scalar key");
  EXPECT_HAS(set_error("traffic.offered_load=0.1"), "the scenario has no 'traffic'");
  EXPECT_HAS(set_error("topology=hypercube"), "has value \"hypercube\" (allowed: one of crossbar");
  EXPECT_EQ(set_error("link_latency_cycles=7"), "");
  EXPECT_EQ(j["link_latency_cycles"], 7);
  EXPECT_EQ(set_error("name=123"), "");  // a string key takes the text
  EXPECT_EQ(j["name"], "123");
  EXPECT_EQ(set_error("key_source=\"hardware\""), "");  // a JSON string literal, as the README writes it
  EXPECT_EQ(j["key_source"], "hardware");
  EXPECT_HAS(set_error("key_source=\"hard\""), "has value \"hard\" (allowed: one of software, hardware");
}

TEST(ScenarioKeys, KeyWithoutEffectGivesAWarningOnlyWhenSetAwayFromItsDefault) {
  nlohmann::json j = fig2_scenario().to_json();
  std::vector<std::string> w;
  scenario_from_json(j, "cfg.json", &w);
  EXPECT_TRUE(w.empty()) << w.front();  // a --dump-config reads back silently
  j["rx_poll_cycles"] = 77;
  j["vcs_per_class"] = 4;
  scenario_from_json(j, "cfg.json", &w);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_HAS(w[0] + w[1], "key 'rx_poll_cycles' = 77 has no effect here (only rx_wakeup poll)");
  EXPECT_HAS(w[0] + w[1], "key 'vcs_per_class' = 4 has no effect here (only topology other than crossbar)");
  w.clear();
  j["rx_wakeup"] = "poll";
  j["topology"] = "mesh";
  scenario_from_json(j, "cfg.json", &w);
  EXPECT_TRUE(w.empty()) << w.front();
}

// The table is the one source: every dumped key is declared, defaults are
// the structs' own, and the reference lists every key.
TEST(ScenarioKeys, EveryDumpedKeyIsDeclaredWithUnitOrTypeAndDescription) {
  Scenario s = fig2_attack_scenario();
  const nlohmann::json j = s.to_json();
  for (auto it = j.begin(); it != j.end(); ++it) EXPECT_NE(find_key(KeyScope::kScenario, it.key()), nullptr) << it.key();
  for (auto it = j["channels"][0].begin(); it != j["channels"][0].end(); ++it)
    EXPECT_NE(find_key(KeyScope::kChannel, it.key()), nullptr) << it.key();
  for (auto it = j["attacks"][0].begin(); it != j["attacks"][0].end(); ++it)
    EXPECT_NE(find_key(KeyScope::kAttack, it.key()), nullptr) << it.key();
  const std::string md = keys_markdown(), txt = keys_text();
  for (const auto& d : scenario_keys()) {
    EXPECT_FALSE(d.desc.empty()) << d.path();
    EXPECT_HAS(md, "`" + d.path() + "`");
    EXPECT_HAS(txt, d.path() + "\n  type ");
  }
  EXPECT_EQ(find_key(KeyScope::kScenario, "link_latency_cycles")->def, Scenario{}.link_latency_cycles);
  EXPECT_EQ(find_key(KeyScope::kChannel, "messages")->def, ChannelSpec{}.messages);
}

// traffic.* keys are parsed by TrafficSpec::from_json; their declarations
// must agree with it: defaults, and each enum value is accepted.
TEST(ScenarioKeys, TrafficDeclarationsAgreeWithTheTrafficParser) {
  const nlohmann::json def = TrafficSpec{}.to_json();
  for (const auto& d : scenario_keys()) {
    if (d.scope != KeyScope::kTraffic) continue;
    const nlohmann::json::json_pointer ptr("/" + [&] {
      std::string p = d.name;
      std::replace(p.begin(), p.end(), '.', '/');
      return p;
    }());
    if (def.contains(ptr)) {
      EXPECT_EQ(def.at(ptr), d.def) << d.path();
    }
    if (d.type == KeyType::kEnum && d.name.find('.') != std::string::npos)
      for (const auto& v : d.allowed) {
        nlohmann::json t;
        const std::string obj = d.name.substr(0, d.name.find('.'));
        t[obj][d.name.substr(d.name.find('.') + 1)] = v;
        if (d.name == "pattern.self") t[obj]["name"] = "transpose";  // permutations only
        if (v == "list") t[obj]["sizes"] = {{{"bytes", 64}, {"weight", 1}}};
        EXPECT_NO_THROW(TrafficSpec::from_json(t)) << d.path() << " = " << v;
      }
  }
  nlohmann::json bad;
  bad["size"] = {{"dist", "fixed"}, {"bytes", find_key_path("traffic.size.bytes")->umax + 1}};
  EXPECT_THROW(TrafficSpec::from_json(bad), ConfigError);
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


// Requested by faults (config-requests.md): fault rules and their knobs.
TEST(ScenarioKeys, FaultRulesAreParsedCheckedAndDumpedOnlyWhenPresent) {
  nlohmann::json j = fig2_scenario().to_json();
  EXPECT_FALSE(j.contains("faults"));
  EXPECT_FALSE(j.contains("fault_delay_cycles"));  // default outputs unchanged
  j["faults"] = {{{"kind", "drop"}, {"rate", 0.01}, {"link", "202.in"}}, {{"kind", "stall"}, {"rate", 0.001}}};
  j["fault_delay_cycles"] = 50;
  const Scenario s = scenario_from_json(j, "cfg.json");
  ASSERT_EQ(s.faults.size(), 2u);
  EXPECT_EQ(s.faults[1].link, "all");
  EXPECT_EQ(s.fault_delay_cycles, 50u);
  EXPECT_EQ(scenario_from_json(s.to_json(), "x").to_json(), s.to_json());
  j["faults"][0]["rate"] = 1.5;
  EXPECT_HAS(refusal(j), "key 'faults[0].rate' has value 1.5 (allowed: a number, 0 <= x <= 1");
  j["faults"][0]["rate"] = 0.1;
  j["faults"][0]["link"] = "999.in";
  EXPECT_HAS(refusal(j), "key 'faults[0].link' has value \"999.in\"");
  j["faults"][0]["link"] = "204";
  j["faults"][0]["kind"] = "melt";
  EXPECT_HAS(refusal(j), "key 'faults[0].kind' has value \"melt\" (allowed: one of drop, duplicate");
  j["faults"][0].erase("kind");
  EXPECT_HAS(refusal(j), "key 'faults[0].kind' is missing");
  j = fig2_scenario().to_json();
  j["fault_stall_cycles"] = 0;
  EXPECT_HAS(refusal(j), "key 'fault_stall_cycles' has value 0 (allowed: an integer in 1..1000000");
  EXPECT_EQ(parse_fault_option("corrupt=0.001@202.out").link, "202.out");
  EXPECT_THROW(parse_fault_option("drop=2"), ConfigError);
  EXPECT_THROW(parse_fault_option("drop"), ConfigError);
}

// Requested by router: the pipeline router's keys.
TEST(ScenarioKeys, RouterPipelineKeysHaveRangesAndWarnWhereUnused) {
  nlohmann::json j = fig2_scenario().to_json();
  EXPECT_FALSE(j.contains("router_rc_cycles"));
  j["router_sa_cycles"] = 0;
  EXPECT_HAS(refusal(j), "key 'router_sa_cycles' has value 0 (allowed: an integer in 1..64");
  j["router_sa_cycles"] = 2;
  j["router_model"] = "wormhole";
  EXPECT_HAS(refusal(j), "key 'router_model' has value \"wormhole\" (allowed: one of simple, pipeline)");
  j["router_model"] = "pipeline";
  std::vector<std::string> w;
  scenario_from_json(j, "cfg.json", &w);  // on a crossbar: neither has an effect
  EXPECT_EQ(w.size(), 2u);
  j["topology"] = "mesh";
  w.clear();
  const Scenario s = scenario_from_json(j, "cfg.json", &w);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(s.to_json()["router_sa_cycles"], 2);
}

// Requested by strong: the channel mode and the MAC engine's timing.
TEST(ScenarioKeys, SecurityModeAndMacKeys) {
  nlohmann::json j = fig2_scenario().to_json();
  EXPECT_EQ(j["security_mode"], "plain");
  EXPECT_FALSE(j.contains("mac_latency_cycles"));
  j["security_mode"] = "paranoid";
  EXPECT_HAS(refusal(j), "key 'security_mode' has value \"paranoid\" (allowed: one of plain, strong)");
  j["security_mode"] = "strong";
  j["mac_bytes_per_cycle"] = 17;
  EXPECT_HAS(refusal(j), "key 'mac_bytes_per_cycle' has value 17 (allowed: an integer in 1..16, bytes/cycle)");
  j["mac_bytes_per_cycle"] = 8;
  const Scenario s = scenario_from_json(j, "cfg.json");
  EXPECT_EQ(s.mac_bytes_per_cycle, 8u);
  EXPECT_EQ(s.to_json()["mac_latency_cycles"], 4);
}


// Switched fabrics (issue 12): keys with ranges, dumped only where they act,
// copied into the fabric's config by fill_fabric_config.
struct FakeNocConfig {  // the fields fill_fabric_config writes, as in cmm_tlm/noc.h
  enum class R : uint8_t { kMinimal, kEcmp, kUpDown, kValiant, kUgal, kAdaptive } routing = R::kMinimal;
  enum class A : uint8_t { kAbsolute, kPalmtree } df_arrangement = A::kAbsolute;
  uint32_t ft_k = 0, ft_levels = 0, ft_terminals = 0, df_a = 0, df_p = 0, df_h = 0, df_groups = 0, fb_k = 0,
           fb_n = 0, fb_c = 0;
  std::string topo_file;
  double link_ns_terminal = 0, link_ns_local = 0, link_ns_global = 0;
  uint32_t ugal_threshold = 0;
};

TEST(ScenarioKeys, SwitchedFabricKeysRangesDumpAndCopy) {
  nlohmann::json j = fig2_scenario().to_json();
  for (const char* k : {"routing", "ft_k", "df_a", "fb_k", "topo_file", "link_ns_global", "df_arrangement"})
    EXPECT_FALSE(j.contains(k)) << k;  // a crossbar's dump (and outputs) are unchanged
  j["topology"] = "hypercube";
  EXPECT_HAS(refusal(j), "fat_tree, dragonfly, flatfly, file");
  j["topology"] = "dragonfly";
  j["df_h"] = 65;
  EXPECT_HAS(refusal(j), "key 'df_h' has value 65 (allowed: an integer in 1..64");
  j["df_h"] = 1;
  j["df_arrangement"] = "random";
  EXPECT_HAS(refusal(j), "key 'df_arrangement' has value \"random\"");
  j["df_arrangement"] = "palmtree";
  j["link_ns_global"] = -1;
  EXPECT_HAS(refusal(j), "key 'link_ns_global' has value -1");
  j["link_ns_global"] = 500.0;
  j["routing"] = "ecmp";
  EXPECT_HAS(refusal(j), "ecmp, adaptive: fat_tree");
  j["routing"] = "ugal";  // needs a third VC set
  EXPECT_HAS(refusal(j), "3..16 with routing ugal");
  j["vcs_per_class"] = 3;
  j["ugal_threshold"] = 7;
  {
    const Scenario u = scenario_from_json(j, "cfg.json");
    EXPECT_EQ(u.to_json()["ugal_threshold"], 7);
    FakeNocConfig unc;
    fill_fabric_config(u, unc);
    EXPECT_EQ(unc.routing, FakeNocConfig::R::kUgal);
    EXPECT_EQ(unc.ugal_threshold, 7u);
  }
  j.erase("ugal_threshold");
  j.erase("vcs_per_class");
  j["routing"] = "adaptive";
  EXPECT_HAS(refusal(j), "ecmp, adaptive: fat_tree");
  j["routing"] = "updown";
  j["ft_k"] = 8;  // no effect on a dragonfly: a warning
  std::vector<std::string> w;
  const Scenario s = scenario_from_json(j, "cfg.json", &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("ft_k"), std::string::npos);
  EXPECT_EQ(s.to_json()["link_ns_global"], 500.0);
  EXPECT_EQ(s.to_json()["df_h"], 1);
  FakeNocConfig nc;
  fill_fabric_config(s, nc);
  EXPECT_EQ(nc.routing, FakeNocConfig::R::kUpDown);
  EXPECT_EQ(nc.df_arrangement, FakeNocConfig::A::kPalmtree);
  EXPECT_EQ(nc.df_h, 1u);
  EXPECT_EQ(nc.df_a, 4u);
  EXPECT_EQ(nc.link_ns_global, 500.0);
  j["topology"] = "file";
  EXPECT_HAS(refusal(j), "topo_file");
  // Ring, mesh and torus configs are left alone.
  Scenario m = fig2_scenario();
  m.topology = "mesh";
  FakeNocConfig untouched;
  fill_fabric_config(m, untouched);
  EXPECT_EQ(untouched.df_a, 0u);
}

// Geometry is a run-time parameter of the scenario (DESIGN.md): its keys have
// the data file's ranges, errors name the source and value, the quotas and
// partitions are checked against it, and it round-trips through JSON.
TEST(ScenarioKeys, GeometryKeysRangesErrorsAndRoundTrip) {
  nlohmann::json j = fig2_scenario().to_json();
  EXPECT_FALSE(j.contains("geometry"));  // dumped only away from the default
  j["geometry"]["num_endpoints"] = 65537;
  EXPECT_HAS(refusal(j), "cfg.json: key 'geometry.num_endpoints' has value 65537 (allowed: an integer in 1..65536");
  j["geometry"] = {{"rxq_depth", 16}};
  EXPECT_HAS(refusal(j), "key 'geometry.rxq_depth' has value 16 (allowed: an integer in 1..15");
  j["geometry"] = {{"num_endpoint", 64}};
  EXPECT_HAS(refusal(j), "unknown key 'num_endpoint' in geometry (allowed: num_endpoints");
  // 64 endpoints: partition quotas up to 64 pass; 9 partitions need num_partitions >= 9.
  Scenario s = fig2_scenario();
  s.nodes[1].partitions[0].quota = 40;
  EXPECT_THROW(s.validate(), ConfigError);
  s.geometry.num_endpoints = 64;
  EXPECT_NO_THROW(s.validate());
  s.nodes[1].partitions.resize(9, s.nodes[1].partitions[1]);
  for (size_t p = 2; p < 9; ++p) {
    s.nodes[1].partitions[p].name = "x" + std::to_string(p);
    s.nodes[1].partitions[p].quota = 1;
    s.nodes[1].partitions[p].processes.clear();
  }
  EXPECT_THROW(s.validate(), ConfigError);
  s.geometry.num_partitions = 9;
  EXPECT_NO_THROW(s.validate());
  const Scenario r = scenario_from_json(s.to_json(), "x");
  EXPECT_EQ(r.geometry, s.geometry);
  // --set geometry.* is checked and lands in the geometry object.
  nlohmann::json k = fig2_scenario().to_json();
  EXPECT_NO_THROW(apply_set(k, "geometry.mgmtq_depth=12"));
  EXPECT_EQ(k["geometry"]["mgmtq_depth"], 12);
  try {
    apply_set(k, "geometry.egq_depth=1");
    ADD_FAILURE() << "egq_depth 1 accepted";
  } catch (const ConfigError& e) {
    EXPECT_HAS(std::string(e.what()), "--set geometry.egq_depth=1: key 'geometry.egq_depth' has value 1");
  }
  // rtl nodes run the RTL's one geometry.
  Scenario t = fig2_scenario();
  t.geometry.rxq_depth = 8;
  t.core = "rtl";
  EXPECT_THROW(t.validate(), ConfigError);
}

}  // namespace
}  // namespace cmm::tb
