// Attackers in the whole system (issue 8, docs/security.md): the attack
// scenario and one test per attacker of the threat model, each next to the
// FIG. 2 traffic. Each asserts the safe outcome (no unauthorized delivery, no
// silent loss), the reason codes and counters, and that the legitimate
// channels complete. One SystemC elaboration per process: ctest runs each
// TEST alone.
#include <gtest/gtest.h>

#include <systemc>

#include "system.h"
#include "system_test_fixture.h"

namespace cmm::tb {
namespace {

using test::dump;
using test::obs;
using test::refused;
using test::run;
using test::sum_refused;

// Every channel of the run carried all its messages: each delivered once
// intact or reported lost to its sender (the scoreboard checks it message by
// message; here the totals).
void expect_channels_complete(const Scenario& s, const RunResult& r) {
  ASSERT_EQ(r.channels.size(), s.channels.size());
  for (size_t i = 0; i < r.channels.size(); ++i) {
    const ChannelRow& c = r.channels[i];
    SCOPED_TRACE(c.label);
    EXPECT_TRUE(c.opened);
    EXPECT_TRUE(c.closed);
    EXPECT_EQ(c.sent, s.channels[i].messages);
    EXPECT_GT(c.delivered, 0u);
    EXPECT_EQ(r.per_channel[i]["delivered"].get<uint64_t>() + r.per_channel[i]["reported_lost"].get<uint64_t>(), c.sent);
  }
}

Scenario with_attack(const AttackSpec& a) {
  Scenario s = fig2_scenario();
  s.name = "fig2-" + a.kind;
  s.attacks = {a};
  return s;
}

// The attack scenario: every attacker at once next to the FIG. 2 traffic;
// nothing unauthorized is delivered, nothing is lost silently, every attempt
// is refused and counted with a reason, every channel completes.
TEST(SystemAttacks, Fig2AttacksNoUnauthorizedDeliveryNoSilentLoss) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = fig2_attack_scenario();
  const RunResult r = run(s, 5);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  ASSERT_EQ(r.attacks.size(), s.attacks.size());
  for (size_t i = 0; i < r.attacks.size(); ++i) {
    const AttackRow& a = r.attacks[i];
    SCOPED_TRACE(a.kind + " by " + a.attacker);
    EXPECT_EQ(a.attempts, s.attacks[i].count);
    EXPECT_EQ(a.succeeded, 0u);
    EXPECT_EQ(a.unauthorized, 0u);
    EXPECT_EQ(a.silent_losses, 0u);
    EXPECT_EQ(a.refused_as_expected, a.attempts) << dump(r);
    EXPECT_EQ(sum_refused(a), a.attempts) << dump(r);  // each attempt refused exactly once
  }
  for (const char* k : {"rogue_all_kinds", "flooder", "credit_withholder", "key_predictor"}) {
    bool present = false;
    for (const auto& a : r.attacks) present |= a.kind == k;
    EXPECT_TRUE(present) << k;
  }
  expect_channels_complete(s, r);
  // The CMMs and the fabric counted the same refusals the attacks were charged with.
  uint64_t spoofed = 0;
  for (const auto& a : r.attacks) spoofed += refused(a, "SRC_SPOOFED");
  EXPECT_EQ(r.drops_by_reason.at("SRC_SPOOFED"), spoofed);
  EXPECT_TRUE(undeclared_stats(r).empty()) << ::testing::PrintToString(undeclared_stats(r));
}

// A rogue node sends every packet kind, alternately with its own id and with
// the channel's ids. Spoofed ones die at the fabric edge (SRC_SPOOFED), bad
// lengths too (BAD_LEN, checked first), a bad CRC at the receiving shell;
// with its own id every kind meets its CMM verdict or the agent's policy.
TEST(SystemAttacks, RogueNodeOfEveryPacketKindIsRefusedPerKind) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = with_attack({"rogue_all_kinds", "", 0, 40, 2000, 120, 252});
  const RunResult r = run(s, 3);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const AttackRow& a = r.attacks.at(0);
  EXPECT_EQ(a.attempts, 40u);
  // Rounds of 10 kinds: own id, spoofed, own id, spoofed.
  EXPECT_EQ(refused(a, "SRC_SPOOFED"), 16u) << dump(r);    // 8 kinds x 2 spoofed rounds
  EXPECT_EQ(refused(a, "BAD_LEN"), 8u) << dump(r);         // oversized and mismatched, 4 rounds
  EXPECT_EQ(refused(a, "BAD_CRC"), 2u) << dump(r);         // own id: reaches the shell
  EXPECT_EQ(refused(a, "BAD_OPCODE"), 2u) << dump(r);
  EXPECT_EQ(refused(a, "SRC_NODE_MISMATCH"), 4u) << dump(r);  // DATA and CLOSE
  EXPECT_EQ(refused(a, "STRAY_RESPONSE"), 4u) << dump(r);     // CONNECT_ACK and NACK prove nothing
  EXPECT_EQ(refused(a, "KEY_PRESENT"), 2u) << dump(r);        // CONNECT at the OPEN send entry
  EXPECT_EQ(refused(a, "AGENT_UNKNOWN_REQUEST") + refused(a, "AGENT_WRONG_SOURCE"), 1u) << dump(r);  // CHAN_CANCEL
  EXPECT_EQ(refused(a, "AGENT_POLICY"), 1u) << dump(r);       // CHAN_REQ
  EXPECT_EQ(sum_refused(a), 40u);
  EXPECT_EQ(a.unauthorized, 0u);
  EXPECT_EQ(a.silent_losses, 0u);
  // The counters behind it: fabric, shell and CMM.
  EXPECT_EQ(r.drops_by_reason.at("SRC_SPOOFED"), 16u);
  EXPECT_EQ(r.drops_by_reason.at("BAD_LEN"), 8u);
  EXPECT_EQ(r.drops_by_reason.at("BAD_CRC"), 2u);
  EXPECT_EQ(r.per_node[0]["shell_drops"]["BAD_CRC"].get<uint64_t>(), 2u);  // node 202
  EXPECT_EQ(r.rejects_by_reason.at("BAD_OPCODE"), 2u);
  EXPECT_EQ(r.rejects_by_reason.at("STRAY_RESPONSE"), 4u);
  EXPECT_EQ(r.rejects_by_reason.at("SRC_NODE_MISMATCH"), 4u);
  expect_channels_complete(s, r);
  EXPECT_EQ(r.channels[0].delivered, 200u);
}

// A flooder at line rate against one receive entry: each packet refused
// SRC_NODE_MISMATCH, the owner's log coalesces the flood (no event lost), its
// agent gets the reject-rate ALARM, and the channel keeps delivering.
TEST(SystemAttacks, FlooderRaisesTheOwnersAlarmAndIsCoalesced) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = with_attack({"flooder", "", 0, 2000, 2000, 0, 253});
  const RunResult r = run(s, 4);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const AttackRow& a = r.attacks.at(0);
  EXPECT_EQ(a.attempts, 2000u);
  EXPECT_EQ(refused(a, "SRC_NODE_MISMATCH"), 2000u) << dump(r);
  EXPECT_EQ(r.rejects_by_reason.at("SRC_NODE_MISMATCH"), 2000u);
  EXPECT_EQ(obs(a, "responses_received"), 2000u);  // every one NACKed back to it
  EXPECT_GE(obs(a, "owner_alarms"), 1u) << dump(r);
  EXPECT_EQ(obs(a, "owner_alarms"), obs(a, "owner_alarm_count"));
  // Coalesced: every event reached the agent, in far fewer entries.
  EXPECT_EQ(obs(a, "owner_error_events"), 2000u) << dump(r);
  EXPECT_LT(obs(a, "owner_errlog_entries") * 2, obs(a, "owner_error_events")) << dump(r);
  const auto& owner = r.per_node[0]["partitions"][3];  // 208d, home of 216
  EXPECT_EQ(owner["errors_lost"].get<uint64_t>(), 0u);
  EXPECT_EQ(a.unauthorized, 0u);
  EXPECT_EQ(a.silent_losses, 0u);
  expect_channels_complete(s, r);
}

// A rogue node that elicits responses and never returns a credit: the fabric
// delivers what it granted credits for (4) and drops the rest HOL_TIMEOUT at
// its port; the node whose NACKs were stuck recovers and every channel completes.
TEST(SystemAttacks, CreditWithholderOnlyHurtsItself) {
  REQUIRE_FRESH_KERNEL();
  Scenario s = with_attack({"credit_withholder", "", 0, 16, 2000, 200, 254});
  s.hol_lifetime_cycles = 1024;
  const RunResult r = run(s, 6);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const AttackRow& a = r.attacks.at(0);
  EXPECT_EQ(refused(a, "SRC_NODE_MISMATCH"), 16u) << dump(r);
  EXPECT_EQ(obs(a, "responses_received"), 4u);
  EXPECT_EQ(obs(a, "dropped_toward"), 12u) << dump(r);
  EXPECT_EQ(sum_refused(a), 16u);
  EXPECT_EQ(r.drops_by_reason.at("HOL_TIMEOUT"), 12u);  // nothing else was dropped
  EXPECT_EQ(a.unauthorized, 0u);
  EXPECT_EQ(a.silent_losses, 0u);
  expect_channels_complete(s, r);
}

// The old driver's keys were mt19937_64 draws from the run seed: predicted
// keys are checked against the channel's key (CMM comparator) and sent
// as the sender; none matches, and the fabric drops the spoofed packets.
TEST(SystemAttacks, KeyPredictorNeverHits) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = with_attack({"key_predictor", "", 0, 16, 2000, 100, 249});
  const RunResult r = run(s, 1);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const AttackRow& a = r.attacks.at(0);
  EXPECT_EQ(obs(a, "predictions"), 16u);
  EXPECT_EQ(obs(a, "prediction_hits"), 0u);
  EXPECT_EQ(refused(a, "SRC_SPOOFED"), 16u) << dump(r);
  EXPECT_EQ(r.drops_by_reason.at("SRC_SPOOFED"), 16u);
  EXPECT_EQ(a.unauthorized, 0u);
  EXPECT_EQ(a.silent_losses, 0u);
  expect_channels_complete(s, r);
  EXPECT_EQ(r.channels[0].delivered, 200u);
}

// The spoofing rogue of the first attack scenario: since edge source
// validation it never reaches a CMM, so no NACK is reflected to the real sender.
TEST(SystemAttacks, SpoofedRogueIsDroppedAtTheEdge) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = with_attack({"rogue_node_spoofed", "", 0, 20, 2000, 150, 250});
  const RunResult r = run(s, 2);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const AttackRow& a = r.attacks.at(0);
  EXPECT_EQ(refused(a, "SRC_SPOOFED"), 20u) << dump(r);
  EXPECT_EQ(r.per_node[1]["port_drops"].size(), 0u);  // node 204's own port dropped nothing
  EXPECT_EQ(r.nacks_reported, 0u);
  EXPECT_TRUE(r.rejects_by_reason.empty()) << dump(r);
  expect_channels_complete(s, r);
}

// Faults next to the attacks (threat model: lost and duplicated packets):
// a DATA lost in the fabric is reported to its sender by the next delivery's
// SEQ_GAP NACK (the tagged message itself was delivered); a duplicate copy is
// refused SEQ_OLD, which is no loss. The scoreboard stays exact.
TEST(SystemAttacks, LostAndDuplicatedDataAreReportedNotDeliveredTwice) {
  REQUIRE_FRESH_KERNEL();
  const Scenario s = fig2_scenario();
  RunOptions o;
  o.seed = 1;
  o.data_faults = {{0, 50, false}, {0, 100, true}};
  const RunResult r = run_system(s, o);
  ASSERT_TRUE(r.scoreboard_clean) << dump(r);
  const nlohmann::json& c = r.per_channel[0];
  EXPECT_EQ(c["sent"].get<uint64_t>(), 200u);
  EXPECT_EQ(c["delivered"].get<uint64_t>(), 199u);
  EXPECT_EQ(c["nacks_seq_gap"].get<uint64_t>(), 1u);
  EXPECT_EQ(c["gap_lost"].get<uint64_t>(), 1u);
  EXPECT_EQ(c["nacks_seq_old"].get<uint64_t>(), 1u);
  EXPECT_EQ(c["nacked_lost"].get<uint64_t>(), 0u);
  EXPECT_EQ(c["reported_lost"].get<uint64_t>(), 1u);
  EXPECT_EQ(r.rejects_by_reason.at("SEQ_GAP"), 1u);
  EXPECT_EQ(r.rejects_by_reason.at("SEQ_OLD"), 1u);
  EXPECT_EQ(r.messages_delivered, r.messages_sent - 1);
}

}  // namespace
}  // namespace cmm::tb

CMM_TB_SYSTEM_TEST_MAIN
