// Replay of every packet kind within and across epochs, and races of
// CLOSE/CONNECT/ALLOC/FREE on one entry (issue 8; docs/security.md sections
// 1.2-1.5 and 3). Also replayed on the RTL in lockstep (rtl/CMakeLists.txt,
// cmm_rtl_race_test).
//
// ReplayMatrix: a real channel between two cores is opened and used, and one
// packet of every kind is captured off the wire; the channel then goes into
// one of eight epochs/states and the captured packet is put on the wire again.
// Each cell asserts the exact reason codes and REJECT_COUNTs at both nodes
// (every other counter unchanged), the error-log entries, that no table entry
// changed, that no key other than the current one is held anywhere, no
// delivery, and that the legitimate channel then still delivers.
//
// RaceMatrix: two events on one channel entry pair, the second offset by
// -8..+8 cycles from the first, run to quiescence; end-state invariants
// (docs/security.md 1.2-1.4) and, where the contract fixes it, the exact end
// state; then a fresh channel on the same entries must work.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cmm_core_race_util.h"

namespace cmm::coretest {
namespace {

using namespace regs;
using namespace race;

// =====================================================================
// A. Replay matrix
// =====================================================================

enum class Pkt {
  kData, kConnect, kConnectAck, kNackData, kNackSeqGap, kNackConnect,
  kClose,  // sent by R (the receive entry's agent closes)
  kMgmt,
  kCloseFromSender,
};
enum class When {
  kSameEpoch,           // channel still OPEN, the original consumed: a duplicate
  kHalfClosed,          // R's agent CLOSEd; S is CLOSED (its agent has not acted yet)
  kClosed,              // both agents CLOSEd (both ALLOCATED, new generations)
  kNewEpochConnecting,  // FREE, re-ALLOC, re-AUTHORIZE both; new CONNECT (new key) still on the wire
  kNewEpochOpen,        // ... and the new channel OPEN
  kReauthConnecting,    // both CLOSEd, re-AUTHORIZEd without FREE (the CLOSEs' generations); new CONNECT on the wire
  kReauthOpen,          // ... and the new channel OPEN
  kOtherPartition,      // FREE; both entries re-allocated to other partitions, a channel of theirs OPEN
};

const char* pkt_name(Pkt p) {
  switch (p) {
    case Pkt::kData: return "Data";
    case Pkt::kConnect: return "Connect";
    case Pkt::kConnectAck: return "ConnectAck";
    case Pkt::kNackData: return "NackOfDataRxqFull";
    case Pkt::kNackSeqGap: return "NackOfDataSeqGap";
    case Pkt::kNackConnect: return "NackOfConnect";
    case Pkt::kClose: return "CloseFromReceiver";
    case Pkt::kCloseFromSender: return "CloseFromSender";
    case Pkt::kMgmt: return "Mgmt";
  }
  return "?";
}
const char* when_name(When w) {
  switch (w) {
    case When::kSameEpoch: return "SameEpoch";
    case When::kHalfClosed: return "AfterLocalClose";
    case When::kClosed: return "AfterBothClosed";
    case When::kNewEpochConnecting: return "NewEpochConnecting";
    case When::kNewEpochOpen: return "NewEpochOpen";
    case When::kReauthConnecting: return "ReauthorizedConnecting";
    case When::kReauthOpen: return "ReauthorizedOpen";
    case When::kOtherPartition: return "ReallocatedToOtherPartition";
  }
  return "?";
}
// Packets R sends (they are replayed into S); the others go S -> R.
bool to_s(Pkt p) { return p == Pkt::kConnect || p == Pkt::kNackData || p == Pkt::kNackSeqGap || p == Pkt::kClose; }

// Where an error-log entry is expected: the owner of the R / S entry at
// replay time, or R's original partition (a NACK of CLOSE is logged to the
// partition it addresses).
enum class LogAt { kROwner, kSOwner, kROrig, kSOrig };
bool log_at_r(LogAt a) { return a == LogAt::kROwner || a == LogAt::kROrig; }
struct LogExp {
  LogAt at;
  Reason reason;
  Opcode opcode;
};
struct Expect {
  Reason at_r = Reason::kOk, at_s = Reason::kOk;  // the one reject counted at each node (kOk: none)
  std::vector<LogExp> logs;
  bool mgmt_delivered = false;  // the core is a mailbox for MGMT (decisions.md, race)
  bool sender_told_seq_old = false;  // S believes the SEQ_OLD NACK (LAST_REASON, IRQ TXNACK)
  // A duplicated NACK of DATA is not believed twice (1.5, nack_seq): SEQ_OLD,
  // TX_NACKS and CST_LOST.TX unchanged, no IRQ TXNACK (found by this matrix).
  bool dup_nack_refused = false;
};

// The table: expected outcome of every cell (docs/security.md 1.2-1.5).
bool new_connecting(When w) { return w == When::kNewEpochConnecting || w == When::kReauthConnecting; }
bool new_open(When w) { return w == When::kNewEpochOpen || w == When::kReauthOpen; }

Expect expect_of(Pkt p, When w) {
  Expect e;
  // A re-authorization passes through ALLOCATED: a new epoch as after re-ALLOC (1.2).
  if (w == When::kReauthConnecting) w = When::kNewEpochConnecting;
  if (w == When::kReauthOpen) w = When::kNewEpochOpen;
  const bool closed = w == When::kHalfClosed || w == When::kClosed;
  switch (p) {
    case Pkt::kData:  // S -> R; its NACK goes back to S
      if (w == When::kSameEpoch) {
        e.at_r = Reason::kSeqOld;  // not logged for the owner; the sender is told (NACK with key)
        e.sender_told_seq_old = true;
      } else if (closed || w == When::kNewEpochConnecting) {
        e.at_r = Reason::kNotOpen;
        e.at_s = Reason::kUnauthResponse;  // the NACK proves nothing at S (no key / old epoch)
        e.logs = {{LogAt::kROwner, Reason::kNotOpen, Opcode::kData}};
      } else if (w == When::kNewEpochOpen) {
        e.at_r = Reason::kStaleGen;
        e.at_s = Reason::kUnauthResponse;
        e.logs = {{LogAt::kROwner, Reason::kStaleGen, Opcode::kData}};
      } else {
        e.at_r = Reason::kDstPartMismatch;
        e.at_s = Reason::kStrayResponse;  // the NACK addresses S's old partition
        e.logs = {{LogAt::kROwner, Reason::kDstPartMismatch, Opcode::kData}};
      }
      break;
    case Pkt::kConnect:  // R -> S; its ACK/NACK goes back to R
      if (w == When::kSameEpoch) {
        e.at_r = Reason::kStrayResponse;  // re-ACKed as a duplicate (1.4); the ACK is stray at OPEN R
      } else if (closed) {
        e.at_s = Reason::kNotOpen;
        e.at_r = Reason::kStrayResponse;
        e.logs = {{LogAt::kSOwner, Reason::kNotOpen, Opcode::kConnect}};
      } else if (w == When::kNewEpochConnecting) {
        e.at_s = Reason::kStaleGen;
        e.at_r = Reason::kUnauthResponse;  // NACK of the old epoch at the CONNECTING entry
        e.logs = {{LogAt::kSOwner, Reason::kStaleGen, Opcode::kConnect}};
      } else if (w == When::kNewEpochOpen) {
        e.at_s = Reason::kKeyPresent;
        e.at_r = Reason::kStrayResponse;
        e.logs = {{LogAt::kSOwner, Reason::kKeyPresent, Opcode::kConnect}};
      } else {
        e.at_s = Reason::kDstPartMismatch;
        e.at_r = Reason::kStrayResponse;
        e.logs = {{LogAt::kSOwner, Reason::kDstPartMismatch, Opcode::kConnect}};
      }
      break;
    case Pkt::kConnectAck:  // S -> R, never answered
      e.at_r = w == When::kNewEpochConnecting ? Reason::kStaleGen : Reason::kStrayResponse;
      break;
    case Pkt::kNackData:
    case Pkt::kNackSeqGap:  // R -> S, never answered
      if (w == When::kSameEpoch) {
        e.at_s = Reason::kSeqOld;
        e.dup_nack_refused = true;
      } else if (w == When::kOtherPartition) {
        e.at_s = Reason::kStrayResponse;
      } else {
        e.at_s = Reason::kUnauthResponse;
      }
      break;
    case Pkt::kNackConnect:  // S -> R, never answered
      e.at_r = w == When::kNewEpochConnecting ? Reason::kUnauthResponse : Reason::kStrayResponse;
      break;
    case Pkt::kClose:  // R -> S; a refusal is NACKed (no key) and that NACK logged at R
      if (w == When::kSameEpoch || w == When::kClosed) {
        e.at_s = Reason::kStrayResponse;  // crossing/duplicate CLOSE at CLOSED/ALLOCATED
      } else if (w == When::kOtherPartition) {
        e.at_s = Reason::kDstPartMismatch;
        e.logs = {{LogAt::kSOwner, Reason::kDstPartMismatch, Opcode::kClose},
                  {LogAt::kROrig, Reason::kDstPartMismatch, Opcode::kClose}};
      } else {
        e.at_s = Reason::kStaleGen;
        e.logs = {{LogAt::kSOwner, Reason::kStaleGen, Opcode::kClose},
                  {LogAt::kROrig, Reason::kStaleGen, Opcode::kClose}};
      }
      break;
    case Pkt::kCloseFromSender:  // S -> R, the same checks at the receive entry; the NACK logged at S
      if (w == When::kSameEpoch || w == When::kClosed) {
        e.at_r = Reason::kStrayResponse;
      } else if (w == When::kOtherPartition) {
        e.at_r = Reason::kDstPartMismatch;
        e.logs = {{LogAt::kROwner, Reason::kDstPartMismatch, Opcode::kClose},
                  {LogAt::kSOrig, Reason::kDstPartMismatch, Opcode::kClose}};
      } else {
        e.at_r = Reason::kStaleGen;
        e.logs = {{LogAt::kROwner, Reason::kStaleGen, Opcode::kClose},
                  {LogAt::kSOrig, Reason::kStaleGen, Opcode::kClose}};
      }
      break;
    case Pkt::kMgmt:
      e.mgmt_delivered = true;
      break;
  }
  return e;
}

struct ReplayCell {
  Pkt pkt;
  When when;
};
void PrintTo(const ReplayCell& c, std::ostream* os) { *os << pkt_name(c.pkt) << "_" << when_name(c.when); }

std::vector<ReplayCell> replay_cells() {
  std::vector<ReplayCell> v;
  for (Pkt p : {Pkt::kData, Pkt::kConnect, Pkt::kConnectAck, Pkt::kNackData, Pkt::kNackSeqGap, Pkt::kNackConnect,
                Pkt::kClose, Pkt::kCloseFromSender, Pkt::kMgmt})
    for (When w : {When::kSameEpoch, When::kHalfClosed, When::kClosed, When::kNewEpochConnecting,
                   When::kNewEpochOpen, When::kReauthConnecting, When::kReauthOpen, When::kOtherPartition}) {
      // The CLOSE is what closes the channel: its "same epoch" replay is the
      // duplicate at the CLOSED peer, i.e. the state after R's CLOSE.
      if ((p == Pkt::kClose || p == Pkt::kCloseFromSender) && w == When::kHalfClosed) continue;
      v.push_back({p, w});
    }
  return v;
}

class ReplayMatrix : public ::testing::TestWithParam<ReplayCell> {
 protected:
  World w;
  Ends ch;       // the channel the packets were captured on (its key is w.keys[0])
  Ends cur;      // the channel that is legitimate at replay time
  bool cur_open = false;
  uint8_t gen_r0 = 0, gen_s0 = 0;  // generations of the captured channel
  Header pkt[9]{};
  Header& cap(Pkt p) { return pkt[static_cast<int>(p)]; }

  static Header last_sent(const CoreHarness& h, Opcode op, int reason = -1) {
    for (auto it = h.egress.rbegin(); it != h.egress.rend(); ++it)
      if (it->hdr.opcode == u(op) && (reason < 0 || it->hdr.reason == reason)) return it->hdr;
    ADD_FAILURE() << "nothing sent with opcode " << opcode_name(u(op));
    return Header{};
  }
  void drain(const Ends& e) {
    while (w.r.core.rxq_count(e.rx) != 0) w.r.wr_ok(user(e.rp, e.rpid), ep_addr(e.rx, CMM_EP_RX_POP_OFFSET), 0);
  }

  // Opens a channel the way the agents do and uses it, recording one packet
  // of every kind as it crosses the wire.
  void capture() {
    CoreHarness &r = w.r, &s = w.s;
    // S's agent is late with AUTHORIZE: the first CONNECT is refused NOT_OPEN
    // (the NACK echoes the CONNECT's key and is believed; R back to AUTHORIZED).
    ch = w.alloc_pair(kRp, kRPid, kSp, kSPid, true, false);
    ch.key = w.new_key();
    w.connect(ch);
    w.settle();
    ASSERT_EQ(r.core.ep_state(ch.rx), State::kAuthorized);
    cap(Pkt::kNackConnect) = last_sent(s, Opcode::kNack);
    ASSERT_EQ(cap(Pkt::kNackConnect).aux, u(Opcode::kConnect));
    ASSERT_EQ(cap(Pkt::kNackConnect).reason, u(Reason::kNotOpen));
    // The agent retries with the same key once S has authorized.
    s.cmd_ok(kSp, Cmd::kAuthorize, ch.tx);
    w.connect(ch);
    w.settle();
    ASSERT_EQ(r.core.ep_state(ch.rx), State::kOpen);
    ASSERT_EQ(s.core.ep_state(ch.tx), State::kOpen);
    cap(Pkt::kConnect) = last_sent(r, Opcode::kConnect);
    cap(Pkt::kConnectAck) = last_sent(s, Opcode::kConnectAck);
    // DATA seq 0..3 fill the queue, seq 4 is refused RXQ_FULL.
    const Req su = user(kSp, kSPid);
    for (uint16_t t = 0x100; t <= 0x104; ++t) ASSERT_EQ(s.doorbell(su, ch.tx, 8, t).status, u(Rsp::kOk));
    w.settle();
    cap(Pkt::kData) = s.egress[s.egress.size() - 5].hdr;
    ASSERT_EQ(cap(Pkt::kData).tag, 0x100u);
    cap(Pkt::kNackData) = last_sent(r, Opcode::kNack, u(Reason::kRxqFull));
    drain(ch);
    // seq 5 lost on the wire, seq 6 delivered: SEQ_GAP NACK to the sender.
    w.hold = [](const Header& h) { return h.opcode == u(Opcode::kData) && h.tag == 0x105; };
    ASSERT_EQ(s.doorbell(su, ch.tx, 8, 0x105).status, u(Rsp::kOk));
    ASSERT_EQ(s.doorbell(su, ch.tx, 8, 0x106).status, u(Rsp::kOk));
    w.settle();
    w.hold = nullptr;
    w.held.clear();
    cap(Pkt::kNackSeqGap) = last_sent(r, Opcode::kNack, u(Reason::kSeqGap));
    ASSERT_EQ(cap(Pkt::kNackSeqGap).seq, 6u);  // names the delivered DATA (1.5)
    ASSERT_EQ(cap(Pkt::kNackSeqGap).tag, 1u);  // one message missing
    drain(ch);
    // A management message between the two agents.
    s.wr_ok(kernel(kSp), CMM_MGMT_DST_OFFSET, kR | (uint32_t{kRp} << CMM_MGMT_DST_PART_LSB));
    for (uint32_t i = 0; i < CMM_MGMT_TX_COUNT; ++i) s.wr_ok(kernel(kSp), CMM_MGMT_TX_OFFSET + 4 * i, 0x600D0 + i);
    s.cmd_ok(kSp, Cmd::kMgmtSend);
    w.settle();
    cap(Pkt::kMgmt) = last_sent(s, Opcode::kMgmt);
    r.cmd_ok(kRp, Cmd::kMgmtPop);
    // Accounting at the send entry: 7 sent = 5 delivered + 1 refused + 1 lost.
    ASSERT_EQ(CMM_FIELD_GET(s.cst_status(kSp, ch.tx), CMM_CST_STATUS_TX_NACKS), 1u);
    ASSERT_EQ(CMM_FIELD_GET(s.rd_ok(kernel(kSp), cst_addr(ch.tx, CMM_CST_LOST_OFFSET)), CMM_CST_LOST_TX), 1u);
    gen_r0 = r.gen(kRp, ch.rx);
    gen_s0 = s.gen(kSp, ch.tx);
    cur = ch;
    cur_open = true;
  }

  // One agent CLOSEs (its CLOSE recorded), the peer entry goes CLOSED.
  void first_close(bool by_s) {
    CoreHarness& h = by_s ? w.s : w.r;
    h.cmd_ok(by_s ? kSp : kRp, Cmd::kClose, by_s ? ch.tx : ch.rx);
    w.settle();
    cap(by_s ? Pkt::kCloseFromSender : Pkt::kClose) = last_sent(h, Opcode::kClose);
    ASSERT_EQ(by_s ? w.r.core.ep_state(ch.rx) : w.s.core.ep_state(ch.tx), State::kClosed);
    cur_open = false;
  }
  // Brings the channel into the cell's epoch/state.
  void enter(When when, Pkt p) {
    const bool by_s = p == Pkt::kCloseFromSender;  // otherwise R's agent closes first
    if (when == When::kSameEpoch) {
      if (p == Pkt::kClose || by_s) first_close(by_s);
      return;
    }
    first_close(by_s);
    if (when == When::kHalfClosed) return;
    // The other agent acknowledges: ALLOCATED, new generation.
    if (by_s) {
      w.r.cmd_ok(kRp, Cmd::kClose, ch.rx);
    } else {
      w.s.cmd_ok(kSp, Cmd::kClose, ch.tx);
    }
    if (when == When::kClosed) return;
    if (when == When::kReauthConnecting || when == When::kReauthOpen) {
      // The same entries, never freed: the agents exchange the generations the CLOSEs made and re-AUTHORIZE.
      cur = ch;
      w.s.set_remote_gen(kSp, ch.tx, w.r.gen(kRp, ch.rx));
      w.r.set_remote_gen(kRp, ch.rx, w.s.gen(kSp, ch.tx));
      w.s.cmd_ok(kSp, Cmd::kAuthorize, ch.tx);
      w.r.cmd_ok(kRp, Cmd::kAuthorize, ch.rx);
    } else {
      w.r.cmd_ok(kRp, Cmd::kFree, ch.rx);
      w.s.cmd_ok(kSp, Cmd::kFree, ch.tx);
    }
    if (when == When::kOtherPartition) {
      cur = w.open(kRp2, kRPid2, kSp2, kSPid2);
    } else {
      if (when == When::kNewEpochConnecting || when == When::kNewEpochOpen) cur = w.alloc_pair(kRp, kRPid, kSp, kSPid);
      cur.key = w.new_key();
      if (new_connecting(when)) w.hold = [](const Header& h) { return h.opcode == u(Opcode::kConnect); };
      w.connect(cur);
      w.settle();
      w.hold = nullptr;
      ASSERT_EQ(w.r.core.ep_state(cur.rx), new_open(when) ? State::kOpen : State::kConnecting);
    }
    ASSERT_EQ(cur.rx, ch.rx) << "the same entries are re-allocated";
    ASSERT_EQ(cur.tx, ch.tx);
    // New epochs at both ends (CST_GEN.LOCAL read through the port).
    EXPECT_NE(w.r.gen(cur.rp, cur.rx), gen_r0);
    EXPECT_NE(w.s.gen(cur.sp, cur.tx), gen_s0);
    cur_open = !new_connecting(when);
  }
  uint8_t owner_of(LogAt a) const {
    return a == LogAt::kROwner ? cur.rp : a == LogAt::kSOwner ? cur.sp : a == LogAt::kROrig ? ch.rp : ch.sp;
  }
};

TEST_P(ReplayMatrix, Cell) {
  const ReplayCell cell = GetParam();
  const Expect ex = expect_of(cell.pkt, cell.when);
  CoreHarness &r = w.r, &s = w.s;
  ASSERT_NO_FATAL_FAILURE(capture());
  ASSERT_NO_FATAL_FAILURE(enter(cell.when, cell.pkt));
  const Header replay = cap(cell.pkt);
  ASSERT_NE(replay.opcode, 0u);
  ASSERT_EQ(replay.dst_node, to_s(cell.pkt) ? kS : kR);
  const Key old_key = ch.key;

  // Before: reports cleared, tables, counters and S's accounting recorded.
  w.clear_reports({kRp, kSp, kRp2, kSp2});
  const World::TableView tr0 = w.table(r), ts0 = w.table(s);
  const auto rj_r0 = rejects_of(r), rj_s0 = rejects_of(s);
  const uint32_t nacks0 = CMM_FIELD_GET(s.cst_status(cur.sp, cur.tx), CMM_CST_STATUS_TX_NACKS);
  const uint32_t lost0 = s.rd_ok(kernel(cur.sp), cst_addr(cur.tx, CMM_CST_LOST_OFFSET));
  const uint32_t txst0 = s.rd_ok(user(cur.sp, cur.spid), ep_addr(cur.tx, CMM_EP_TX_STATUS_OFFSET));
  const uint32_t mgmt0 = r.stat(CmmCore::kStatMgmtReceived);
  const uint32_t acc0 = s.stat(CmmCore::kStatConnectAccepted);
  r.take_verdicts();
  s.take_verdicts();

  // The replay: the captured header, bit for bit, on the wire again.
  w.at(replay.dst_node).ingress.push_back(replay);
  w.settle();

  // Exact reasons and counters: one reject where the contract says, nothing else counted.
  auto rj_r = rejects_of(r), rj_s = rejects_of(s);
  if (ex.at_s != Reason::kOk) {
    EXPECT_EQ(s.rejects(ex.at_s), rj_s0[u(ex.at_s)] + 1) << "at S: " << reason_name(u(ex.at_s));
    --rj_s[u(ex.at_s)];
  }
  if (ex.at_r != Reason::kOk) {
    EXPECT_EQ(r.rejects(ex.at_r), rj_r0[u(ex.at_r)] + 1) << "at R: " << reason_name(u(ex.at_r));
    --rj_r[u(ex.at_r)];
  }
  for (uint32_t i = 0; i < kReasonCount; ++i) {
    EXPECT_EQ(rj_r[i], rj_r0[i]) << "unexpected reject at R: " << reason_name(i);
    EXPECT_EQ(rj_s[i], rj_s0[i]) << "unexpected reject at S: " << reason_name(i);
  }
  // No table entry changed at either node (state, key, origin, generation, sequence numbers, queue).
  const World::TableView tr1 = w.table(r), ts1 = w.table(s);
  for (uint32_t ep = 0; ep < kNumEndpoints; ++ep) {
    EXPECT_EQ(tr1[ep], tr0[ep]) << "R ep " << ep;
    EXPECT_EQ(ts1[ep], ts0[ep]) << "S ep " << ep;
  }
  EXPECT_EQ(s.stat(CmmCore::kStatConnectAccepted), acc0);
  // No old key anywhere once its epoch is over; the current key untouched.
  if (cell.when != When::kSameEpoch) w.expect_key_nowhere(old_key, "key of the old epoch");
  if (cur_open) {
    EXPECT_TRUE(r.core.key_equals_for_test(cur.rx, cur.key));
    EXPECT_TRUE(s.core.key_equals_for_test(cur.tx, cur.key));
  }
  // No delivery; a DATA gets exactly its refusal verdict.
  const std::vector<VdRec> vd = r.take_verdicts();
  if (cell.pkt == Pkt::kData) {
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_FALSE(vd[0].accept);
    EXPECT_EQ(vd[0].reason, u(ex.at_r));
  } else {
    EXPECT_TRUE(vd.empty());
  }
  EXPECT_TRUE(s.take_verdicts().empty());
  // S's accounting: delivered + TX_NACKS + CST_LOST.TX = sent stays exact.
  EXPECT_EQ(CMM_FIELD_GET(s.cst_status(cur.sp, cur.tx), CMM_CST_STATUS_TX_NACKS), nacks0)
      << (ex.dup_nack_refused ? "a duplicated NACK counted twice in TX_NACKS" : "");
  EXPECT_EQ(s.rd_ok(kernel(cur.sp), cst_addr(cur.tx, CMM_CST_LOST_OFFSET)), lost0)
      << (ex.dup_nack_refused ? "a duplicated SEQ_GAP NACK counted twice in CST_LOST" : "");
  // Reports: the exact error-log entries; no channel changed state (no IRQ CONN).
  for (CoreHarness* h : {&r, &s})
    for (uint8_t p : {kRp, kSp, kRp2, kSp2}) {
      std::vector<LogExp> want;
      for (const LogExp& l : ex.logs)
        if (owner_of(l.at) == p && (h == &r) == log_at_r(l.at)) want.push_back(l);
      SCOPED_TRACE("error log of partition " + std::to_string(p) + " at node " + std::to_string(h->node()));
      ASSERT_EQ(h->errlog_count(p), want.size());
      for (const LogExp& l : want) {
        const ErrEntry e = h->pop_err(p);
        EXPECT_EQ(e.reason, u(l.reason));
        EXPECT_EQ(e.opcode, u(l.opcode));
        EXPECT_EQ(e.from_fabric, 1u);
        EXPECT_EQ(e.exception, 0u);
      }
      const uint32_t irq = h->irq_status(p);
      EXPECT_EQ(irq & bit(Irq::kConn), 0u);
      EXPECT_EQ(irq & bit(Irq::kRx), 0u);
      EXPECT_EQ(irq & bit(Irq::kExc), 0u);
      const bool told = (ex.sender_told_seq_old || ex.dup_nack_refused) && h == &s && p == cur.sp;
      if (told && !ex.dup_nack_refused) {
        EXPECT_NE(irq & bit(Irq::kTxnack), 0u);
      } else {
        EXPECT_EQ(irq & bit(Irq::kTxnack), 0u);
      }
    }
  const uint32_t txst = s.rd_ok(user(cur.sp, cur.spid), ep_addr(cur.tx, CMM_EP_TX_STATUS_OFFSET));
  if (ex.sender_told_seq_old) {
    EXPECT_EQ(CMM_FIELD_GET(txst, CMM_EP_TX_STATUS_LAST_REASON), u(Reason::kSeqOld));
  } else {
    EXPECT_EQ(txst, txst0) << "EP_TX_STATUS of the send entry changed";
  }
  // MGMT: node-authenticated mailbox; the agent's expected-source rules apply.
  EXPECT_EQ(r.stat(CmmCore::kStatMgmtReceived), mgmt0 + (ex.mgmt_delivered ? 1u : 0u));
  if (ex.mgmt_delivered) r.cmd_ok(kRp, Cmd::kMgmtPop);

  // The legitimate channel still works.
  if (new_connecting(cell.when)) {
    w.r.cmd_ok(cur.rp, Cmd::kConnect, cur.rx);  // the agent's retry sends the stored key again
    w.settle();
    ASSERT_EQ(r.core.ep_state(cur.rx), State::kOpen);
    ASSERT_EQ(s.core.ep_state(cur.tx), State::kOpen);
    cur_open = true;
  }
  if (!cur_open) {
    w.teardown(kRp, kSp);
    cur = w.open(kRp, kRPid, kSp, kSPid);
    EXPECT_EQ(cur.rx, ch.rx);
    EXPECT_EQ(cur.tx, ch.tx);
  }
  EXPECT_TRUE(s.core.key_equals_for_test(cur.tx, cur.key));
  w.expect_delivers(cur, 0x7E);
  if (cell.when != When::kSameEpoch) w.expect_key_nowhere(old_key, "key of the old epoch");
}

INSTANTIATE_TEST_SUITE_P(EveryKindEveryEpoch, ReplayMatrix, ::testing::ValuesIn(replay_cells()),
                         [](const ::testing::TestParamInfo<ReplayCell>& i) {
                           return std::string(pkt_name(i.param.pkt)) + "_" + when_name(i.param.when);
                         });

// =====================================================================
// B. Race matrix
// =====================================================================

// Starting points: one entry pair (R receive, S send) with its agents'
// fields written and AUTHORIZED, then brought this far. "Held": the packet is
// on the wire and arrives when the race releases it; "lost": dropped.
enum class Base {
  kAuthorized,            // key staged at R, no CONNECT yet
  kConnectHeld,           // R CONNECTING, its CONNECT in flight
  kConnectLost,           // R CONNECTING, its CONNECT lost
  kAckHeld,               // S OPEN, its CONNECT_ACK in flight, R CONNECTING
  kAckLost,               // S OPEN, CONNECT_ACK lost, R CONNECTING
  kOpen,                  // channel OPEN
  kDataHeld,              // channel OPEN, a DATA in flight
  kConnectHeldPeerClosed, // CONNECT in flight; S's agent CLOSEd its AUTHORIZED entry (ALLOCATED)
  kConnectHeldPeerFreed,  // ... and FREEd it
  kDataHeldLocalClosed,   // DATA in flight; R's agent CLOSEd (S CLOSED by it)
  kDataHeldLocalFreed,    // ... and FREEd R's entry
  kAckHeldLocalClosed,    // CONNECT_ACK in flight; R's agent CLOSEd the CONNECTING entry
  kAckHeldLocalFreed,     // ... and FREEd it
  kNackHeld,              // S's agent AUTHORIZEd late: the first CONNECT's NACK (NOT_OPEN) in flight, R CONNECTING
  kNackHeldPeerUnauth,    // the same, S still not AUTHORIZEd
  kConnectHeldPeerUnauth, // R CONNECTING, its CONNECT in flight, S's entry not yet AUTHORIZEd
};
enum class Ev {
  kLocalClose,     // R's agent: CMD CLOSE
  kPeerClose,      // S's agent: CMD CLOSE
  kConnect,        // R's agent: CMD CONNECT (first, key staged)
  kResend,         // R's agent: CMD CONNECT on the CONNECTING entry (re-send)
  kConnectArrives, // the CONNECT in flight reaches S
  kAckArrives,     // the CONNECT_ACK in flight reaches R
  kDataArrives,    // the DATA in flight reaches R
  kLocalFree,      // R's agent: CMD FREE
  kPeerFree,       // S's agent: CMD FREE
  kLocalRealloc,   // R's agent: ALLOC (the freed entry), fields, AUTHORIZE (one register access per cycle)
  kPeerRealloc,    // S's agent: the same at S
  kNackArrives,    // the NACK of CONNECT in flight reaches R
  kPeerAuthorize,  // S's agent: CMD AUTHORIZE (late)
};

constexpr int kAny = -1;
struct Race {
  const char* name;
  Base base;
  Ev a, b;
  int end_r = kAny, end_s = kAny;  // end state where the contract fixes it (before the agents' retry)
  const char* finding = nullptr;   // a contract violation this race found (fixed since)
};
constexpr int st(State s) { return static_cast<int>(s); }

const Race kRaces[] = {
    {"LocalCloseVsAckInFlight", Base::kAckHeld, Ev::kLocalClose, Ev::kAckArrives, st(State::kAllocated),
     st(State::kClosed)},
    {"LocalCloseVsConnectInFlight", Base::kConnectHeld, Ev::kLocalClose, Ev::kConnectArrives, st(State::kAllocated),
     st(State::kClosed)},
    {"LocalCloseVsDataInFlight", Base::kDataHeld, Ev::kLocalClose, Ev::kDataArrives, st(State::kAllocated),
     st(State::kClosed)},
    {"LocalCloseVsPeerClose", Base::kOpen, Ev::kLocalClose, Ev::kPeerClose, st(State::kAllocated),
     st(State::kAllocated)},
    {"LocalCloseVsPeerCloseAckLate", Base::kAckHeld, Ev::kLocalClose, Ev::kPeerClose, st(State::kAllocated),
     st(State::kAllocated)},
    {"LocalCloseVsPeerCloseConnectLate", Base::kConnectHeld, Ev::kLocalClose, Ev::kPeerClose,
     st(State::kAllocated), st(State::kAllocated)},
    {"ConnectVsLocalClose", Base::kAuthorized, Ev::kConnect, Ev::kLocalClose, st(State::kAllocated), kAny},
    {"PeerCloseVsConnectInFlight", Base::kConnectHeld, Ev::kPeerClose, Ev::kConnectArrives, kAny,
     st(State::kAllocated)},
    {"PeerCloseVsAckInFlight", Base::kAckHeld, Ev::kPeerClose, Ev::kAckArrives, st(State::kClosed),
     st(State::kAllocated)},
    {"PeerCloseVsDataInFlight", Base::kDataHeld, Ev::kPeerClose, Ev::kDataArrives, st(State::kClosed),
     st(State::kAllocated)},
    {"ConnectVsPeerClose", Base::kAuthorized, Ev::kConnect, Ev::kPeerClose, kAny, st(State::kAllocated)},
    {"ResendVsAckInFlight", Base::kAckHeld, Ev::kResend, Ev::kAckArrives, st(State::kOpen), st(State::kOpen)},
    {"ResendVsConnectInFlight", Base::kConnectHeld, Ev::kResend, Ev::kConnectArrives, st(State::kOpen),
     st(State::kOpen)},
    {"ResendVsLocalClose", Base::kConnectLost, Ev::kResend, Ev::kLocalClose, st(State::kAllocated),
     st(State::kClosed)},
    {"ResendVsPeerClose", Base::kAckLost, Ev::kResend, Ev::kPeerClose, st(State::kClosed), st(State::kAllocated)},
    {"PeerFreeVsConnectInFlight", Base::kConnectHeldPeerClosed, Ev::kPeerFree, Ev::kConnectArrives, kAny,
     st(State::kFree)},
    {"PeerReallocVsConnectInFlight", Base::kConnectHeldPeerFreed, Ev::kPeerRealloc, Ev::kConnectArrives, kAny,
     st(State::kAuthorized)},
    {"LocalFreeVsDataInFlight", Base::kDataHeldLocalClosed, Ev::kLocalFree, Ev::kDataArrives, st(State::kFree),
     st(State::kClosed)},
    {"LocalReallocVsDataInFlight", Base::kDataHeldLocalFreed, Ev::kLocalRealloc, Ev::kDataArrives,
     st(State::kAuthorized), st(State::kClosed)},
    {"LocalFreeVsAckInFlight", Base::kAckHeldLocalClosed, Ev::kLocalFree, Ev::kAckArrives, st(State::kFree),
     st(State::kClosed)},
    {"LocalReallocVsAckInFlight", Base::kAckHeldLocalFreed, Ev::kLocalRealloc, Ev::kAckArrives,
     st(State::kAuthorized), st(State::kClosed)},
    {"ResendVsNackOfConnectInFlight", Base::kNackHeld, Ev::kResend, Ev::kNackArrives, kAny, kAny,
     "found here: the NACK of the first CONNECT, believed after the re-send's CONNECT opened S, left S OPEN with "
     "the key and R AUTHORIZED without it (half-open); fixed by the CONNECT attempt number in seq (1.4)"},
    {"ResendVsNackOfConnectPeerUnauthorized", Base::kNackHeldPeerUnauth, Ev::kResend, Ev::kNackArrives,
     st(State::kAuthorized), st(State::kAllocated)},
    // S ends CLOSED (tombstone) if R's CLOSE left CONNECTING, AUTHORIZED (keyless) if the NACK came first.
    {"LocalCloseVsNackOfConnectInFlight", Base::kNackHeld, Ev::kLocalClose, Ev::kNackArrives, st(State::kAllocated),
     kAny},
    {"PeerAuthorizeVsConnectInFlight", Base::kConnectHeldPeerUnauth, Ev::kPeerAuthorize, Ev::kConnectArrives},
};
constexpr int kWindow = 8;  // event b at -8..+8 cycles from event a

struct RaceCell {
  int race;
  int offset;
};

class RaceMatrix : public ::testing::TestWithParam<RaceCell> {
 protected:
  World w;
  Ends e;
  uint8_t gen_r0 = 0, gen_s0 = 0;  // the epoch of the race's channel
  struct Seen {
    bool valid = false;
    uint32_t origin = 0, gen = 0;
    int key_id = -1;
  };
  std::array<std::array<Seen, kNumEndpoints>, 2> seen{};
  uint64_t watched = 0;

  void hold_op(Opcode op) {
    w.hold = [op](const Header& h) { return h.opcode == u(op); };
  }
  void setup(Base b) {
    CoreHarness &r = w.r, &s = w.s;
    e = w.alloc_pair(kRp, kRPid, kSp, kSPid, true,
                     b != Base::kNackHeld && b != Base::kNackHeldPeerUnauth && b != Base::kConnectHeldPeerUnauth);
    e.key = w.new_key();
    gen_r0 = r.gen(kRp, e.rx);
    gen_s0 = s.gen(kSp, e.tx);
    switch (b) {
      case Base::kAuthorized:
        r.stage_key(kRp, e.key);
        break;
      case Base::kConnectHeld:
      case Base::kConnectLost:
      case Base::kConnectHeldPeerClosed:
      case Base::kConnectHeldPeerFreed:
        hold_op(Opcode::kConnect);
        w.connect(e);
        w.settle();
        if (b == Base::kConnectLost) w.held.clear();
        if (b == Base::kConnectHeldPeerClosed || b == Base::kConnectHeldPeerFreed) s.cmd_ok(kSp, Cmd::kClose, e.tx);
        if (b == Base::kConnectHeldPeerFreed) s.cmd_ok(kSp, Cmd::kFree, e.tx);
        break;
      case Base::kAckHeld:
      case Base::kAckLost:
      case Base::kAckHeldLocalClosed:
      case Base::kAckHeldLocalFreed:
        hold_op(Opcode::kConnectAck);
        w.connect(e);
        w.settle();
        if (b == Base::kAckLost) w.held.clear();
        if (b == Base::kAckHeldLocalClosed || b == Base::kAckHeldLocalFreed) {
          r.cmd_ok(kRp, Cmd::kClose, e.rx);
          w.settle();
        }
        if (b == Base::kAckHeldLocalFreed) r.cmd_ok(kRp, Cmd::kFree, e.rx);
        break;
      case Base::kConnectHeldPeerUnauth:
        hold_op(Opcode::kConnect);
        w.connect(e);
        w.settle();
        break;
      case Base::kNackHeld:
      case Base::kNackHeldPeerUnauth:
        // S's fields written but not yet AUTHORIZEd: the CONNECT is refused NOT_OPEN (the NACK
        // echoes its key); S's agent AUTHORIZEs while that NACK is on its way back.
        hold_op(Opcode::kNack);
        w.connect(e);
        w.settle();
        ASSERT_EQ(w.held.size(), 1u);
        if (b == Base::kNackHeld) s.cmd_ok(kSp, Cmd::kAuthorize, e.tx);
        break;
      case Base::kOpen:
      case Base::kDataHeld:
      case Base::kDataHeldLocalClosed:
      case Base::kDataHeldLocalFreed:
        w.connect(e);
        w.settle();
        if (b == Base::kOpen) break;
        hold_op(Opcode::kData);
        ASSERT_EQ(s.doorbell(user(kSp, kSPid), e.tx, 16, 0x51).status, u(Rsp::kOk));
        w.settle();
        if (b == Base::kDataHeld) break;
        r.cmd_ok(kRp, Cmd::kClose, e.rx);
        w.settle();
        if (b == Base::kDataHeldLocalFreed) r.cmd_ok(kRp, Cmd::kFree, e.rx);
        break;
    }
    w.hold = nullptr;
  }

  // One register access or one release per step; a multi-step event runs
  // its steps on consecutive cycles.
  std::vector<std::function<void()>> steps(Ev ev) {
    CoreHarness &r = w.r, &s = w.s;
    auto release = [this](Opcode op) {
      return [this, op] { EXPECT_TRUE(w.release(op)) << "nothing held: " << opcode_name(u(op)); };
    };
    auto realloc = [this](CoreHarness& h, uint8_t part, uint16_t pid, Dir dir, uint32_t ep, CoreHarness& peer,
                          uint8_t peer_part, uint32_t peer_ep) {
      std::vector<std::function<void()>> v;
      v.push_back([&h, part, ep] { EXPECT_EQ(h.alloc(part), static_cast<int>(ep)) << "the freed entry"; });
      v.push_back([&h, part, ep, dir] { h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_CTRL_OFFSET), u(dir)); });
      v.push_back([&h, part, ep, pid] { h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_OWNER_OFFSET), pid); });
      v.push_back([&h, part, ep, &peer, peer_part, peer_ep] {
        h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_REMOTE_OFFSET), remote_word(peer.node(), peer_part, peer_ep));
      });
      // The id exchange carries the peer entry's current generation.
      v.push_back([&h, part, ep, &peer, peer_ep] { h.set_remote_gen(part, ep, peer.core.ep_gen(peer_ep)); });
      v.push_back([&h, part, ep] { h.cmd_ok(part, Cmd::kAuthorize, ep); });
      (void)this;
      return v;
    };
    switch (ev) {
      case Ev::kLocalClose: return {[this, &r] { r.cmd(kRp, Cmd::kClose, e.rx); }};
      case Ev::kPeerClose: return {[this, &s] { s.cmd(kSp, Cmd::kClose, e.tx); }};
      case Ev::kConnect:
      case Ev::kResend: return {[this, &r] { r.cmd(kRp, Cmd::kConnect, e.rx); }};
      case Ev::kConnectArrives: return {release(Opcode::kConnect)};
      case Ev::kAckArrives: return {release(Opcode::kConnectAck)};
      case Ev::kDataArrives: return {release(Opcode::kData)};
      case Ev::kNackArrives: return {release(Opcode::kNack)};
      case Ev::kPeerAuthorize: return {[this, &s] { s.cmd(kSp, Cmd::kAuthorize, e.tx); }};
      case Ev::kLocalFree: return {[this, &r] { r.cmd(kRp, Cmd::kFree, e.rx); }};
      case Ev::kPeerFree: return {[this, &s] { s.cmd(kSp, Cmd::kFree, e.tx); }};
      case Ev::kLocalRealloc: return realloc(r, kRp, kRPid, Dir::kRecv, e.rx, s, kSp, e.tx);
      case Ev::kPeerRealloc: return realloc(s, kSp, kSPid, Dir::kSend, e.tx, r, kRp, e.rx);
    }
    return {};
  }

  // Checked at every cycle the race driver sees: a valid key is one the test
  // made, keeps its origin (I6), its value and its epoch while valid, and the
  // race's key is only ever held in the race's epoch.
  void watch() {
    ++watched;
    for (int n = 0; n < 2; ++n) {
      const CoreHarness& h = n == 0 ? w.r : w.s;
      for (uint32_t ep = 0; ep < kNumEndpoints; ++ep) {
        Seen now;
        now.valid = h.core.key_valid(ep);
        now.origin = now.valid ? h.core.key_origin(ep) : 0;
        now.gen = h.core.ep_gen(ep);
        now.key_id = w.key_id(h, ep);
        Seen& was = seen[n][ep];
        if (now.valid) {
          EXPECT_GE(now.key_id, 0) << "a key the test never made, node " << unsigned(h.node()) << " ep " << ep;
          if (now.key_id == 0) {
            EXPECT_EQ(now.gen, n == 0 ? gen_r0 : gen_s0) << "the race's key in another epoch, ep " << ep;
          }
        }
        if (was.valid && now.valid) {
          EXPECT_EQ(now.origin, was.origin) << "I6: key origin changed while valid, node " << unsigned(h.node());
          EXPECT_EQ(now.key_id, was.key_id) << "key changed while valid, node " << unsigned(h.node());
          EXPECT_EQ(now.gen, was.gen) << "key survived into a new epoch, node " << unsigned(h.node());
        }
        was = now;
      }
    }
  }
  void tick() {
    w.net.tick();
    watch();
  }
  void settle() {
    for (int i = 0; i < 2000 && !w.net.idle(); ++i) tick();
    ASSERT_TRUE(w.net.idle()) << "not quiescent";
  }
  uint8_t remote_gen(CoreHarness& h, uint8_t part, uint32_t ep) {
    return static_cast<uint8_t>(
        CMM_FIELD_GET(h.rd_ok(kernel(part), cst_addr(ep, CMM_CST_GEN_OFFSET)), CMM_CST_GEN_REMOTE));
  }

  // End-state invariants that hold whatever the interleaving.
  void check_invariants(const char* when) {
    SCOPED_TRACE(when);
    CoreHarness &r = w.r, &s = w.s;
    const State rs = r.core.ep_state(e.rx), ss = s.core.ep_state(e.tx);
    SCOPED_TRACE(std::string("R ") + std::string(state_name(u(rs))) + ", S " + std::string(state_name(u(ss))));
    // Keys exactly where the state says (recv: CONNECTING/OPEN; send: OPEN).
    EXPECT_EQ(r.core.key_valid(e.rx), rs == State::kConnecting || rs == State::kOpen);
    EXPECT_EQ(s.core.key_valid(e.tx), ss == State::kOpen);
    // Never half-open: an OPEN receive entry has an OPEN peer with the same
    // key; an OPEN send entry's peer is OPEN or still CONNECTING (its retry
    // is then re-ACKed), with the same key and each other's generations.
    if (rs == State::kOpen) {
      EXPECT_EQ(ss, State::kOpen) << "receive entry OPEN, send entry not";
    }
    if (ss == State::kOpen) {
      EXPECT_TRUE(rs == State::kOpen || rs == State::kConnecting) << "send entry OPEN with a key nobody uses";
      EXPECT_TRUE(s.core.key_equals_for_test(e.tx, e.key));
      EXPECT_TRUE(r.core.key_equals_for_test(e.rx, e.key));
      EXPECT_EQ(remote_gen(s, kSp, e.tx), r.core.ep_gen(e.rx));
      EXPECT_EQ(remote_gen(r, kRp, e.rx), s.core.ep_gen(e.tx));
    }
    // Quota use equals the entries owned.
    World::expect_used_consistent(r, kRp);
    World::expect_used_consistent(s, kSp);
  }
};

TEST_P(RaceMatrix, Cell) {
  const RaceCell cell = GetParam();
  const Race& race = kRaces[cell.race];
  CoreHarness &r = w.r, &s = w.s;
  const ::testing::ScopedTrace finding(__FILE__, __LINE__, race.finding ? race.finding : race.name);
  ASSERT_NO_FATAL_FAILURE(setup(race.base));
  watch();

  // Event a at cycle kWindow, event b at kWindow + offset (same cycle: a first;
  // a packet release takes no cycle, a register access at least one).
  const std::vector<std::function<void()>> sa = steps(race.a), sb = steps(race.b);
  size_t ia = 0, ib = 0;
  const uint64_t t0 = r.core.cycle();
  uint64_t due_a = kWindow, due_b = static_cast<uint64_t>(kWindow + cell.offset);
  auto now = [&] { return r.core.cycle() - t0; };
  for (int guard = 0; (ia < sa.size() || ib < sb.size()) && guard < 500; ++guard) {
    if (ia < sa.size() && now() >= due_a) {
      sa[ia++]();
      due_a = now();
      watch();
    } else if (ib < sb.size() && now() >= due_b) {
      sb[ib++]();
      due_b = now();
      watch();
    } else {
      tick();
    }
  }
  ASSERT_NO_FATAL_FAILURE(settle());
  // Whatever is still held arrives late, after both events.
  while (!w.held.empty()) {
    const Opcode op = static_cast<Opcode>(w.held.front().opcode);
    ASSERT_TRUE(w.release(op));
    ASSERT_NO_FATAL_FAILURE(settle());
  }

  // Exact where the contract fixes the outcome.
  if (race.end_r != kAny) {
    EXPECT_EQ(state_name(u(r.core.ep_state(e.rx))), state_name(static_cast<uint32_t>(race.end_r))) << "R end state";
  }
  if (race.end_s != kAny) {
    EXPECT_EQ(state_name(u(s.core.ep_state(e.tx))), state_name(static_cast<uint32_t>(race.end_s))) << "S end state";
  }
  check_invariants("after the race");

  // A CONNECTING entry always has its retry path: the re-send is accepted;
  // it opens the channel if the peer entry is still in the same epoch and
  // waiting (AUTHORIZED, keyless) or OPEN with this key, else it is not
  // believed anywhere and the agent's CLOSE (below) ends it.
  if (r.core.ep_state(e.rx) == State::kConnecting) {
    const State ss = s.core.ep_state(e.tx);
    const bool peer_waits = s.core.ep_gen(e.tx) == gen_s0 &&
                            (ss == State::kOpen || (ss == State::kAuthorized && !s.core.key_valid(e.tx)));
    r.cmd_ok(kRp, Cmd::kConnect, e.rx);
    ASSERT_NO_FATAL_FAILURE(settle());
    if (peer_waits) {
      EXPECT_EQ(r.core.ep_state(e.rx), State::kOpen) << "the re-send opens the channel";
    } else {
      EXPECT_NE(r.core.ep_state(e.rx), State::kOpen);
    }
    check_invariants("after the agent's re-send");
  }
  // No stale key anywhere outside the race's epoch was checked at every cycle
  // (watch); the agents now give the entries back and set up a fresh channel
  // on the same entries.
  w.teardown(kRp, kSp);
  EXPECT_EQ(World::used(r, kRp), 0u);
  EXPECT_EQ(World::used(s, kSp), 0u);
  w.expect_key_nowhere(e.key, "the race's key after teardown");
  const Ends fresh = w.open(kRp, kRPid, kSp, kSPid);
  EXPECT_EQ(fresh.rx, e.rx);
  EXPECT_EQ(fresh.tx, e.tx);
  w.expect_delivers(fresh, 0x7E);
  w.expect_key_nowhere(e.key, "the race's key on the fresh channel");
}

void PrintTo(const RaceCell& c, std::ostream* os) { *os << kRaces[c.race].name << " offset " << c.offset; }

std::vector<RaceCell> race_cells() {
  std::vector<RaceCell> v;
  for (int i = 0; i < static_cast<int>(sizeof kRaces / sizeof kRaces[0]); ++i)
    for (int off = -kWindow; off <= kWindow; ++off) v.push_back({i, off});
  return v;
}

INSTANTIATE_TEST_SUITE_P(OneEntryPair, RaceMatrix, ::testing::ValuesIn(race_cells()),
                         [](const ::testing::TestParamInfo<RaceCell>& i) {
                           const int o = i.param.offset;
                           return std::string(kRaces[i.param.race].name) + "_" + (o < 0 ? "m" : "p") +
                                  std::to_string(o < 0 ? -o : o);
                         });

}  // namespace
}  // namespace cmm::coretest
