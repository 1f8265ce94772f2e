// System tests: whole scenarios through the full SystemC system (CMMs, node
// buses, kernel agents and processes as SystemC threads, crossbar). SystemC
// allows one elaboration per process: ctest runs each TEST in its own process.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <systemc>

#include "system.h"
#include "system_test_fixture.h"

namespace cmm::tb {
namespace {

using test::dump;
using test::opts;
using test::row;

// The patent's FIG. 2 system, default scenario: the channel 216 <- 220b is
// set up by the patent's steps and every message of every channel arrives
// exactly once, intact; at the end every channel is closed and every key zeroized.
TEST(SystemFig2, DefaultScenarioRunsClean) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = fig2_scenario();
  const RunResult r = run_system(s, opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, s.channels.size());
  const ChannelRow* c = row(r, "216 <- 220b");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->opened);
  EXPECT_TRUE(c->closed);
  EXPECT_NE(c->receiver.find("node 202 partition 208d"), std::string::npos) << c->receiver;
  EXPECT_NE(c->sender.find("node 204 partition 218a"), std::string::npos) << c->sender;
  EXPECT_EQ(c->delivered, 200u);
  uint64_t expected = 0;
  for (const auto& ch : s.channels) expected += ch.messages;
  EXPECT_EQ(r.messages_sent, expected);
  EXPECT_EQ(r.messages_delivered, expected);
  EXPECT_EQ(r.latency_cycles.size(), expected);
  EXPECT_EQ(r.nacks_reported, 0u);
  EXPECT_TRUE(r.rejects_by_reason.empty()) << dump(r);
  EXPECT_EQ(r.agent_errors_logged, 0u);
  // The patent's steps on the wire: each receiver CMM sent one CONNECT per
  // channel it receives on, each sender CMM accepted it; CLOSE at the end.
  uint64_t conn_sent = 0, conn_acc = 0, close_sent = 0;
  for (const auto& n : r.per_node) {
    conn_sent += n["connect_sent"].get<uint64_t>();
    conn_acc += n["connect_accepted"].get<uint64_t>();
    close_sent += n["close_sent"].get<uint64_t>();
    EXPECT_EQ(n["endpoints_used_at_end"].get<uint32_t>(), 0u);
  }
  // Every statistic is declared once with a unit and a description.
  EXPECT_TRUE(undeclared_stats(r).empty()) << ::testing::PrintToString(undeclared_stats(r));
  EXPECT_EQ(conn_sent, s.channels.size());
  EXPECT_EQ(conn_acc, s.channels.size());
  EXPECT_EQ(close_sent, s.channels.size());
  // Latency floor: the message crosses at least the fabric's zero-load path.
  EXPECT_GE(*std::min_element(r.latency_cycles.begin(), r.latency_cycles.end()),
            2ull * s.link_latency_cycles);
}

// Channel keys from the CMMs' hardware key generators (docs/security.md
// 1.10): every CONNECT takes its key from the generator, which the platform
// seeds per node at the first edge after reset (CmmTlmConfig::entropy, from
// the run seed). Unseeded, every CONNECT would be refused KEY_GEN_NOT_READY
// and no channel would open.
TEST(SystemFig2, HardwareKeySourceRunsClean) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.key_source = "hardware";
  const RunResult r = run_system(s, opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, s.channels.size());
  uint64_t expected = 0;
  for (const auto& ch : s.channels) expected += ch.messages;
  EXPECT_EQ(r.messages_delivered, expected);
  // Two CONNECTs on one node within a key's 14 cycles: the second is refused
  // KEY_GEN_NOT_READY and the agent retries it (counted, never fatal).
}

// Receivers that poll (rx_wakeup "poll") deliver the same messages as the
// default interrupt-driven ones.
TEST(SystemFig2, PollingReceiversRunClean) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.rx_wakeup = "poll";
  const RunResult r = run_system(s, opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  uint64_t expected = 0;
  for (const auto& ch : s.channels) expected += ch.messages;
  EXPECT_EQ(r.messages_delivered, expected);
}

// A receiver slower than its sender: the receive queue fills; every refused
// message is NACKed back and reported to the sender (never a silent drop).
TEST(SystemBackpressure, FullReceiveQueueIsReportedToTheSender) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.channels = {{"216", "220b", 60, 32, 64, 2, 400}};
  const RunResult r = run_system(s, opts(3));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const ChannelRow* c = row(r, "216 <- 220b");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->sent, 60u);
  EXPECT_GT(c->nacked, 0u);
  EXPECT_EQ(c->delivered + c->nacked, c->sent);
  EXPECT_EQ(r.rejects_by_reason.at("RXQ_FULL"), c->nacked);
}

// Channels inside one partition pair, many to one, all partitions busy.
TEST(SystemTraffic, ManyToOneAcrossBothNodes) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.channels = {{"216", "220b", 40, 1, 1024, 50}, {"216", "220a", 40, 1, 1024, 50}, {"216", "222", 40, 1, 1024, 50},
                {"216", "210a", 40, 1, 1024, 50}};
  const RunResult r = run_system(s, opts(9));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, 4u);
  EXPECT_EQ(r.messages_delivered + r.nacks_reported, r.messages_sent);
}

// A quota of zero: the agent cannot allocate, the request fails with the
// hardware's reason, and the run reports it instead of hanging.
TEST(SystemErrors, ChannelThatCannotBeSetUpIsReported) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.nodes[0].partitions[3].quota = 0;  // 208d, home of 216
  // 200 cycles apart: the receiver keeps up, so all 10 arrive (no RXQ_FULL).
  s.channels = {{"216", "220b", 10, 8, 8, 200}, {"210a", "222", 10, 8, 8, 200}};
  const RunResult r = run_system(s, opts(1));
  EXPECT_FALSE(r.scoreboard_clean);
  EXPECT_EQ(r.channels_opened, 1u);
  bool named = false;
  for (const auto& e : r.errors) named |= e.find("216 <- 220b") != std::string::npos &&
                                          e.find("QUOTA_EXCEEDED") != std::string::npos;
  EXPECT_TRUE(named) << dump(r);
  const ChannelRow* ok = row(r, "210a <- 222");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->delivered, 10u);
}

// The watchdog ends a run that cannot finish and says what is stuck.
TEST(SystemErrors, WatchdogReportsWhatIsStuck) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.max_cycles = 2000;  // far too short for 200 messages 300 cycles apart
  const RunResult r = run_system(s, opts(1));
  ASSERT_FALSE(r.scoreboard_clean);
  bool watchdog = false;
  for (const auto& e : r.errors) watchdog |= e.find("watchdog") != std::string::npos &&
                                             e.find("216 <- 220b") != std::string::npos;
  EXPECT_TRUE(watchdog) << dump(r);
  EXPECT_EQ(r.simulated_cycles, 2000u);
}

// The attack scenario (fig2-attacks) and one test per attacker: system_security_test.cpp.

// The same system on each network topology: same verdicts, every message once.
class SystemOnNetwork : public ::testing::TestWithParam<const char*> {};

TEST_P(SystemOnNetwork, Fig2UnderAttackRunsClean) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_attack_scenario();
  s.topology = GetParam();
  s.link_latency_cycles = 3;
  const RunResult r = run_system(s, opts(2));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.fabric["topology"], GetParam());
  EXPECT_TRUE(undeclared_stats(r).empty()) << ::testing::PrintToString(undeclared_stats(r));
  uint64_t reported = 0;
  for (const auto& c : r.per_channel) reported += c["reported_lost"].get<uint64_t>();
  EXPECT_EQ(r.messages_delivered + reported, r.messages_sent);
  for (const auto& a : r.attacks) {
    EXPECT_EQ(a.succeeded, 0u);
    EXPECT_EQ(a.unauthorized, 0u);
    EXPECT_EQ(a.silent_losses, 0u);
    EXPECT_EQ(a.refused_as_expected, a.attempts) << a.kind << ": " << a.note;
  }
  // 2 nodes + 6 rogue nodes: a 3x3 grid, or a ring of 8.
  EXPECT_GT(r.fabric["flits_injected"].get<uint64_t>(), 0u);
}
INSTANTIATE_TEST_SUITE_P(Topologies, SystemOnNetwork, ::testing::Values("ring", "mesh", "torus"),
                         [](const ::testing::TestParamInfo<const char*>& i) { return std::string(i.param); });

TEST(SystemErrors, NetworkTooSmallForTheScenarioIsAConfigError) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_attack_scenario();
  s.topology = "mesh";
  s.fabric_x = 1;
  s.fabric_y = 2;
  try {
    (void)run_system(s, opts(1));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("the scenario needs 8"), std::string::npos) << e.what();
  }
}

// The Perfetto timeline has one span per message that begins and ends, the
// VCD has the pins of both CMMs and, by default, no key field at all.
TEST(SystemTraces, PerfettoSpansPairAndTheWaveformCarriesNoKeys) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  for (auto& c : s.channels) c.messages = 10;
  RunOptions o = opts(1);
  o.perfetto_path = ::testing::TempDir() + "cmm_trace.json";
  o.vcd_path = ::testing::TempDir() + "cmm_pins.vcd";
  const RunResult r = run_system(s, o);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  std::ifstream tf(o.perfetto_path);
  const nlohmann::json t = nlohmann::json::parse(tf);
  size_t begins = 0, ends = 0, patent_spans = 0;
  for (const auto& e : t["traceEvents"]) {
    begins += e["ph"] == "b";
    ends += e["ph"] == "e";
    patent_spans += e["ph"] == "b" && e["name"] == "DATA 216 <- 220b";
  }
  EXPECT_EQ(begins, ends);
  EXPECT_GE(patent_spans, 10u);  // one per message and node it visits
  std::ifstream vf(o.vcd_path);
  const std::string vcd((std::istreambuf_iterator<char>(vf)), std::istreambuf_iterator<char>());
  EXPECT_NE(vcd.find("$scope module node202"), std::string::npos);
  EXPECT_NE(vcd.find("$scope module node204"), std::string::npos);
  EXPECT_NE(vcd.find("ing_hdr_opcode"), std::string::npos);
  EXPECT_EQ(vcd.find("hdr_key"), std::string::npos);
}

Scenario traffic_scenario(const char* pattern_json, double load) {
  nlohmann::json j = {
      {"name", "traffic"},
      {"topology", "mesh"},
      {"link_latency_cycles", 2},
      {"generate", {{"nodes", 4}, {"partitions", 2}, {"processes", 1}}},
      {"traffic",
       {{"pattern", nlohmann::json::parse(pattern_json)},
        {"size", {{"dist", "fixed"}, {"bytes", 128}}},
        {"offered_load", load}}},
      {"warmup_cycles", 1000},
      {"measure_cycles", 10000},
      {"drain_cycles", 50000}};
  return scenario_from_json(j, "test");
}

// Generated traffic: channels for every pair the pattern needs, opened by the
// agents (the connect storm), then warm-up, measurement and drain; at low load
// everything offered is accepted and every message is accounted for.
TEST(SystemTrafficGen, UniformWithFanoutOnAMeshAcceptsWhatIsOffered) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = traffic_scenario(R"({"name": "uniform", "fanout": 2})", 0.002);
  const RunResult r = run_system(s, opts(4));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, 8u * 2u);
  ASSERT_FALSE(r.load.empty());
  const double offered = r.load["offered_msgs"].get<double>();
  const double accepted = r.load["accepted_msgs"].get<double>();
  EXPECT_NEAR(offered, 0.002, 0.0006);
  EXPECT_NEAR(accepted, offered, 0.0003);
  // Latency samples are the messages created in the measurement window only.
  EXPECT_LT(r.latency_cycles.size(), r.messages_delivered);
  EXPECT_NEAR(static_cast<double>(r.latency_cycles.size()), offered * 8 * 10000, 2.0);
  EXPECT_GT(r.connect_storm_cycles, 0u);
  EXPECT_TRUE(undeclared_stats(r).empty()) << ::testing::PrintToString(undeclared_stats(r));
  // The latency histogram counts every sample once.
  const nlohmann::json st = stats_json(r);
  uint64_t binned = 0;
  for (const auto& b : st["latency"]["histogram"]["bins"]) binned += b["count"].get<uint64_t>();
  EXPECT_EQ(binned, r.latency_cycles.size());
  EXPECT_GT(r.per_node[0]["offered_bytes_per_cycle"].get<double>(), 0.0);
}

// Connect storm of a 4x4 mesh where every node opens channels to 6 others
// (scripts/bench's mesh scenario with fanout 6): 96 channels, 7 MGMTQ_FULL
// NACKs from 7 nodes overflow a partition's 4-entry error log. Found: the
// lost entry was the NACK of a CHAN_REQ, nothing re-sent it and the request
// expired (REQUEST_EXPIRED, reason OK); now a LOST count re-sends every
// unanswered MGMT message after its back-off.
TEST(SystemFanout, Fanout6MeshOpensEveryChannel) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = scenario_from_json(nlohmann::json::parse(R"({
    "name": "bench-mesh4x4-fanout6", "topology": "mesh", "fabric_x": 4, "fabric_y": 4, "vcs_per_class": 1,
    "buf_depth_flits": 4, "link_bytes_per_cycle": 16, "link_latency_cycles": 1, "router_delay_cycles": 1,
    "generate": {"nodes": 16, "partitions": 1, "processes": 1},
    "traffic": {"pattern": {"name": "uniform", "fanout": 6}, "injection": {"process": "bernoulli"},
                "size": {"dist": "fixed", "bytes": 96}, "offered_load": 0.005, "load_unit": "messages_per_cycle"},
    "warmup_cycles": 2000, "measure_cycles": 10000, "drain_cycles": 100000})"), "fanout6");
  const RunResult r = run_system(s, opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_requested, 96u);
  EXPECT_EQ(r.channels_opened, 96u);
  EXPECT_GT(r.rejects_by_reason.at("MGMTQ_FULL"), 0u);  // the storm still overflows queues; it is survived
  EXPECT_GT(r.messages_delivered, 0u);
}

// A trace file replaces the generator: exactly its messages, at its cycles.
TEST(SystemTrafficGen, TraceReplayDeliversExactlyTheTracedMessages) {
  REQUIRE_FRESH_KERNEL();
  const std::string path = ::testing::TempDir() + "cmm_replay.trace";
  {
    std::ofstream f(path);
    f << "# cycle source destination size\n";
    for (int i = 0; i < 40; ++i) f << 100 + 50 * i << " " << i % 8 << " " << (i % 8 + 3) % 8 << " " << 16 + i << "\n";
  }
  nlohmann::json j = {{"name", "replay"},
                      {"generate", {{"nodes", 4}, {"partitions", 2}, {"processes", 1}}},
                      {"traffic", {{"trace_file", path}}},
                      {"warmup_cycles", 0},
                      {"measure_cycles", 100000},
                      {"drain_cycles", 50000}};
  const RunResult r = run_system(scenario_from_json(j, "test"), opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, 8u);
  EXPECT_EQ(r.messages_sent, 40u);
  EXPECT_EQ(r.messages_delivered, 40u);
}

TEST(SystemTrafficGen, PermutationOpensOneChannelPerTerminal) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = traffic_scenario(R"({"name": "bit_complement"})", 0.003);
  const RunResult r = run_system(s, opts(2));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_EQ(r.channels_opened, 8u);
  EXPECT_GT(r.messages_delivered, 0u);
}

// A pattern that needs more endpoints than a partition's quota is refused
// before the run, naming the partition and the numbers.
TEST(SystemTrafficGen, PatternNeedingTooManyEndpointsIsAConfigError) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = traffic_scenario(R"({"name": "uniform"})", 0.001);  // 7 + 7 endpoints per partition of 8
  try {
    (void)run_system(s, opts(1));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 14 endpoints in partition"), std::string::npos) << e.what();
  }
}

// Rekey without drain (docs/strong-mode.md 7): FIG. 2 in strong mode with
// reliable delivery, every channel rekeyed by its receiving agent after
// every 3 messages read, under traffic. Every message arrives exactly once,
// in order and intact (scoreboard), nothing is lost or reported, every
// rekey completes, and the 200-message channel 216 <- 220b (the only
// channel of partition 208d) is rekeyed more than 50 times.
TEST(SystemRekey, ChannelsRekeyedManyTimesUnderTrafficLoseNothing) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = fig2_scenario();
  s.security_mode = "strong";
  s.rekey_interval_messages = 3;
  const RunResult r = run_system(s, opts(1));
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
  uint64_t expected = 0;
  for (const auto& ch : s.channels) expected += ch.messages;
  EXPECT_EQ(r.messages_sent, expected);
  EXPECT_EQ(r.messages_delivered, expected);
  EXPECT_EQ(r.nacks_reported, 0u);
  auto rej = [&](const char* k) {
    const auto it = r.rejects_by_reason.find(k);
    return it == r.rejects_by_reason.end() ? uint64_t{0} : it->second;
  };
  EXPECT_EQ(rej("RETX_EXHAUSTED"), 0u);
  EXPECT_EQ(rej("KEY_EXHAUSTED"), 0u);
  EXPECT_EQ(rej("BAD_MAC"), 0u);
  uint64_t installed = 0, completed = 0, requested = 0, on_216 = 0;
  for (const auto& n : r.per_node) {
    installed += n.value("rekeys_installed", uint64_t{0});
    completed += n.value("rekeys_completed", uint64_t{0});
    for (const auto& p : n["partitions"]) {
      requested += p.value("rekeys_requested", uint64_t{0});
      if (p.value("partition", std::string()) == "208d") on_216 = p.value("rekeys_requested", uint64_t{0});
    }
  }
  EXPECT_GE(on_216, 50u);
  EXPECT_GE(requested, expected / 3 - s.channels.size());
  // Every CMD REKEY reached its sender's CMM and every new key was used,
  // except a rekey after a channel's last message (nothing left to use it).
  EXPECT_LE(installed, requested);
  EXPECT_LE(requested - installed, s.channels.size());
  EXPECT_LE(completed, installed);
  EXPECT_LE(installed - completed, s.channels.size());
}

}  // namespace
}  // namespace cmm::tb

CMM_TB_SYSTEM_TEST_MAIN
