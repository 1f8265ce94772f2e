// Attackers in the whole system (issue 8, docs/security.md): the attack
// scenario and one test per attacker of the threat model, each next to the
// FIG. 2 traffic. Each asserts the safe outcome (no unauthorized delivery, no
// silent loss), the reason codes and counters, and that the legitimate
// channels complete. One SystemC elaboration per process: ctest runs each
// TEST alone.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include <systemc>

#include "../tlm/test/cmm_node_util.h"
#include "cmm_tlm/crossbar.h"
#include "rogue_node.h"
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

// ---------------------------------------------------------------- sniffer and replay (issue 9 item 6)

// A strong node: CMM (reliable delivery on), node bus with its board-management port.
struct TapNode {
  tlmshell::CmmTlm cmm;
  tlmshell::NodeBus bus;
  tlmshell::PartitionBusIf biu, bmc;
  static tlmshell::CmmTlmConfig cfg(uint16_t id) {
    tlmshell::CmmTlmConfig c = tlmshell::test::Node::cfg(id, 4, 16);
    c.core_params.strong = true;
    c.core_params.reliable = true;
    return c;
  }
  TapNode(const char* n, uint16_t id)
      : cmm((std::string(n) + "_cmm").c_str(), cfg(id)),
        bus((std::string(n) + "_bus").c_str(), 1, tlmshell::test::kP, true),
        biu((std::string(n) + "_biu0").c_str()),
        bmc((std::string(n) + "_bmc").c_str()) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    biu.isock.bind(*bus.part_tsock[0]);
    bmc.isock.bind(*bus.mgmt_tsock);
  }
};

class TapThread : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(TapThread);
  TapThread(sc_core::sc_module_name n, std::function<void()> fn) : sc_module(n), fn_(std::move(fn)) { SC_THREAD(run); }

 private:
  void run() { fn_(); }
  std::function<void()> fn_;
};

// The sniffer-and-replay attacker on the sender's link (a tap between its
// CMM and the fabric, so source validation lets everything through): it
// records every packet of a strong channel, then replays each one verbatim
// and splices them (header of one DATA with the payload of another; a DATA
// header moved to the expected sequence number), CRC recomputed. The
// receiving CMM refuses every replayed DATA SEQ_OLD (valid MAC, old seq;
// re-acknowledged, never delivered twice), every splice BAD_MAC (counted,
// logged for the owner, never answered), the replayed CONNECT_ACK
// STRAY_RESPONSE; the process receives exactly the messages sent, in
// order, and the channel keeps working.
TEST(SnifferReplay, StrongChannelRefusesReplaysAndSplicesAndKeepsWorking) {
  REQUIRE_FRESH_KERNEL();
  using namespace tlmshell;
  using namespace regs;  // CMM_FIELD_* take unqualified field names
  namespace tt = tlmshell::test;
  TapNode rx("n0", 0), tx("n1", 1);
  XbarConfig xc;
  xc.num_ports = 2;
  xc.ports.assign(2, XbarPortConfig{16, 2});
  Crossbar xbar("xbar", xc);
  SnifferTap tap("sniffer");
  rx.cmm.eg_isock.bind(*xbar.in_tsock[0]);
  xbar.out_isock[0]->bind(rx.cmm.ing_tsock);
  tx.cmm.eg_isock.bind(tap.tsock);
  tap.isock.bind(*xbar.in_tsock[1]);
  xbar.out_isock[1]->bind(tx.cmm.ing_tsock);
  auto fw_r = rx.bmc.make_context(regs::Priv::kKernel, 0);
  auto fw_s = tx.bmc.make_context(regs::Priv::kKernel, 0);
  auto kr = rx.biu.make_context(regs::Priv::kKernel, 0);
  auto ur = rx.biu.make_context(regs::Priv::kUser, 100);
  auto ks = tx.biu.make_context(regs::Priv::kKernel, 0);
  auto us = tx.biu.make_context(regs::Priv::kUser, 200);
  const Key lk{0x5EED0001u, 0x5EED0002u, 0x5EED0003u, 0x5EED0004u};
  constexpr uint32_t kLen = 64, kFirst = 8, kAfter = 4;
  auto msg = [](uint32_t i) {
    std::vector<uint8_t> m(kLen);
    for (uint32_t b = 0; b < kLen; ++b) m[b] = static_cast<uint8_t>(i * 37 + b * 11 + 1);
    return m;
  };
  std::vector<std::vector<uint8_t>> got;
  uint32_t replayed_data = 0, splices = 0, replayed_acks = 0;
  uint32_t rep = 0;
  bool done = false;
  auto receive = [&](uint32_t n) {
    for (int i = 0; i < 4000 && got.size() < n; ++i) {
      if (tt::rx_count(*ur, rep) == 0) {
        sc_core::wait(20 * tt::kP);
        continue;
      }
      got.push_back(tt::pop_msg(*ur, rep, kLen));
    }
  };
  TapThread drv("drv", [&] {
    EXPECT_EQ(provision_link_key(*fw_r, 1, lk), sw::BusStatus::kOk);
    EXPECT_EQ(provision_link_key(*fw_s, 0, lk), sw::BusStatus::kOk);
    rep = tt::alloc_entry(*kr, regs::Dir::kRecv, 100, 1, 0, 0);
    const uint32_t tep = tt::alloc_entry(*ks, regs::Dir::kSend, 200, 0, 0, static_cast<uint8_t>(rep));
    EXPECT_EQ(kr->write32(tt::cst(rep, regs::CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_MODE, 1u)),
              sw::BusStatus::kOk);
    EXPECT_EQ(ks->write32(tt::cst(tep, regs::CMM_CST_CTRL_OFFSET),
                          CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, 1u), CMM_CST_CTRL_MODE, 1u)),
              sw::BusStatus::kOk);
    const uint8_t gr = tt::local_gen(*kr, rep), gs = tt::local_gen(*ks, tep);
    tt::authorize(*kr, rep, gs);
    tt::authorize(*ks, tep, gr);
    tt::connect(*kr, rep, Key{0x0C0FFEE1u, 2, 3, 4});
    EXPECT_TRUE(tt::wait_open(*ks, tep));
    EXPECT_TRUE(tt::wait_open(*kr, rep));
    for (uint32_t i = 0; i < kFirst; ++i) {
      EXPECT_EQ(tt::send_msg(*us, tep, msg(i), static_cast<uint16_t>(i)), sw::BusStatus::kOk);
      receive(i + 1);
    }
    // The attack: everything recorded, replayed; then splices.
    std::vector<const Packet*> datas;
    const size_t n_rec = tap.recorded.size();
    for (size_t i = 0; i < n_rec; ++i) {
      const Packet& p = *tap.recorded[i];
      if (p.hdr.opcode == static_cast<uint8_t>(regs::Opcode::kData)) {
        datas.push_back(&p);
        ++replayed_data;
      }
      if (p.hdr.opcode == static_cast<uint8_t>(regs::Opcode::kConnectAck)) ++replayed_acks;
      tap.inject(p, false);
      sc_core::wait(40 * tt::kP);
    }
    const uint16_t expected = static_cast<uint16_t>(kFirst);
    for (size_t i = 0; i + 1 < datas.size(); ++i) {
      Packet sp;
      sp.copy_from(*datas[i]);
      std::memcpy(sp.payload.data(), datas[i + 1]->payload.data(), kLen);  // another message's payload
      tap.inject(sp, true);
      ++splices;
      sc_core::wait(40 * tt::kP);
      Packet mv;
      mv.copy_from(*datas[i]);
      mv.hdr.seq = expected;  // its own payload, moved to the sequence number the receiver expects
      tap.inject(mv, true);
      ++splices;
      sc_core::wait(40 * tt::kP);
    }
    // The legitimate channel keeps working, in order.
    for (uint32_t i = kFirst; i < kFirst + kAfter; ++i) {
      EXPECT_EQ(tt::send_msg(*us, tep, msg(i), static_cast<uint16_t>(i)), sw::BusStatus::kOk);
      receive(i + 1);
    }
    sc_core::wait(2000 * tt::kP);
    receive(kFirst + kAfter + 1);  // anything more would be a replay or a splice delivered
    done = true;
  });
  sc_core::sc_start(sc_core::sc_time(2, sc_core::SC_MS));
  ASSERT_TRUE(done);
  const CmmCore& rc = rx.cmm.core();
  // Exactly the messages sent, once each, in order, intact.
  ASSERT_EQ(got.size(), kFirst + kAfter);
  for (uint32_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], msg(i)) << "message " << i;
  EXPECT_EQ(rx.cmm.stats().data_delivered, kFirst + kAfter);
  EXPECT_EQ(replayed_data, kFirst);
  EXPECT_GE(splices, 2u * (kFirst - 1));
  EXPECT_EQ(tap.injected, tap.recorded.size() - kAfter + splices);  // every recorded packet replayed once
  // Refused with their reasons and counted.
  EXPECT_EQ(rc.reject_count(regs::Reason::kSeqOld), replayed_data);
  EXPECT_EQ(rc.reject_count(regs::Reason::kBadMac), splices);
  EXPECT_EQ(rc.reject_count(regs::Reason::kStrayResponse), replayed_acks);
  EXPECT_GE(replayed_acks, 1u);
  EXPECT_EQ(rc.reject_count(regs::Reason::kSeqAhead), 0u);
  EXPECT_EQ(tx.cmm.core().reject_count(regs::Reason::kRetxExhausted), 0u);
  EXPECT_EQ(rx.cmm.stats().link_errors + tx.cmm.stats().link_errors + xbar.stats().link_errors, 0u);
}

}  // namespace
}  // namespace cmm::tb

CMM_TB_SYSTEM_TEST_MAIN
