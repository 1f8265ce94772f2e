// Helpers of the replay and race matrices (hw/src/cmm_core_race_test.cpp):
// two cores back to back with a wire that can hold packets and release them
// at a chosen cycle, channel set-up in steps, teardown, and checks of what
// the tables hold (through the test-only views, never a key read path).
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cmm_core_testing.h"

namespace cmm::coretest::race {

using namespace regs;

// Receiver node R and sender node S (the receive entry makes the key and
// CONNECTs; DATA flows S -> R). Partitions 2 and 3 of each node take over
// the entries in the "re-allocated to another partition" cells.
constexpr uint8_t kR = 202, kS = 204;
constexpr uint8_t kRp = 3, kSp = 0, kRp2 = 5, kSp2 = 6;
constexpr uint16_t kRPid = 216, kSPid = 2202, kRPid2 = 500, kSPid2 = 600;

// Distinct non-zero keys, never confusable with small register values.
inline Key key_n(uint32_t n) {
  Key k;
  for (uint32_t w = 0; w < kKeyWords; ++w) k[w] = 0x5A000000u | ((n & 0xFFFu) << 12) | (0x111u * w + 1u);
  return k;
}

// The two entries of one channel and who owns them.
struct Ends {
  uint32_t rx = 0, tx = 0;
  uint8_t rp = kRp, sp = kSp;
  uint16_t rpid = kRPid, spid = kSPid;
  Key key{};
};

// What one entry holds, as seen through the test-only views (no key bits:
// the key is identified by comparing it with the keys the test made).
struct EpView {
  uint32_t state = 0;
  bool valid = false;
  uint32_t origin = 0, gen = 0, rx_seq = 0, tx_seq = 0, rxq = 0;
  int key_id = -1;  // index into the known keys, -1: none valid, -2: a key the test never made
  bool operator==(const EpView& o) const {
    return state == o.state && valid == o.valid && origin == o.origin && gen == o.gen && rx_seq == o.rx_seq &&
           tx_seq == o.tx_seq && rxq == o.rxq && key_id == o.key_id;
  }
  bool operator!=(const EpView& o) const { return !(*this == o); }
};
inline std::ostream& operator<<(std::ostream& os, const EpView& v) {
  return os << state_name(v.state) << (v.valid ? " key#" + std::to_string(v.key_id) : std::string(" nokey"))
            << " origin=" << v.origin << " gen=" << v.gen << " rx_seq=" << v.rx_seq << " tx_seq=" << v.tx_seq
            << " rxq=" << v.rxq;
}

class World {
 public:
  CoreHarness r{kR}, s{kS};
  Net net{{&r, &s}};
  std::vector<Header> held;                 // kept off the wire until released
  std::function<bool(const Header&)> hold;  // which routed headers to hold
  std::vector<Key> keys;                    // every key the test made (for key_id)

  World() {
    net.filter = [this](Header& h) {
      if (hold && hold(h)) {
        held.push_back(h);
        return false;
      }
      return true;
    };
  }
  CoreHarness& at(uint16_t node) { return node == kR ? r : s; }
  void settle() { r.settle(); }
  Key new_key() {
    keys.push_back(key_n(static_cast<uint32_t>(keys.size() + 1)));
    return keys.back();
  }
  // Puts the first held header with this opcode on the wire (into its
  // destination's ingress); false if none is held.
  bool release(Opcode op) {
    for (auto it = held.begin(); it != held.end(); ++it) {
      if (it->opcode != u(op)) continue;
      const Header h = *it;
      held.erase(it);
      at(h.dst_node).ingress.push_back(h);
      return true;
    }
    return false;
  }

  // CST fields of one entry as its agent writes them after the id exchange.
  static void fill(CoreHarness& h, uint8_t part, uint32_t ep, uint16_t pid, Dir dir, uint8_t rn, uint8_t rpart,
                   uint32_t rep, uint8_t rgen, bool authorize) {
    h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_CTRL_OFFSET), u(dir));
    h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_OWNER_OFFSET), pid);
    h.wr_ok(kernel(part), cst_addr(ep, CMM_CST_REMOTE_OFFSET), remote_word(rn, rpart, rep));
    h.set_remote_gen(part, ep, rgen);
    if (authorize) h.cmd_ok(part, Cmd::kAuthorize, ep);
  }
  // ALLOC of both entries, ids and generations exchanged, fields written.
  Ends alloc_pair(uint8_t rp, uint16_t rpid, uint8_t sp, uint16_t spid, bool auth_r = true, bool auth_s = true) {
    Ends e;
    e.rp = rp;
    e.sp = sp;
    e.rpid = rpid;
    e.spid = spid;
    const int re = r.alloc(rp), se = s.alloc(sp);
    EXPECT_GE(re, 0);
    EXPECT_GE(se, 0);
    if (re < 0 || se < 0) return e;
    e.rx = static_cast<uint32_t>(re);
    e.tx = static_cast<uint32_t>(se);
    const uint8_t rg = r.gen(rp, e.rx), sg = s.gen(sp, e.tx);
    fill(s, sp, e.tx, spid, Dir::kSend, kR, rp, e.rx, rg, auth_s);
    fill(r, rp, e.rx, rpid, Dir::kRecv, kS, sp, e.tx, sg, auth_r);
    return e;
  }
  void connect(const Ends& e) {
    r.stage_key(e.rp, e.key);
    r.cmd_ok(e.rp, Cmd::kConnect, e.rx);
  }
  Ends open(uint8_t rp, uint16_t rpid, uint8_t sp, uint16_t spid) {
    Ends e = alloc_pair(rp, rpid, sp, spid);
    e.key = new_key();
    connect(e);
    settle();
    EXPECT_EQ(r.core.ep_state(e.rx), State::kOpen);
    EXPECT_EQ(s.core.ep_state(e.tx), State::kOpen);
    return e;
  }

  // One message end to end on an open channel: accepted, queued, right tag.
  void expect_delivers(const Ends& e, uint16_t tag) {
    SCOPED_TRACE("the legitimate channel delivers");
    r.take_verdicts();
    const uint32_t q = r.core.rxq_count(e.rx);
    ASSERT_LT(q, kRxqDepth);
    ASSERT_EQ(s.doorbell(user(e.sp, e.spid), e.tx, 16, tag).status, u(Rsp::kOk));
    settle();
    const std::vector<VdRec> vd = r.take_verdicts();
    ASSERT_EQ(vd.size(), 1u);
    EXPECT_TRUE(vd[0].accept);
    EXPECT_EQ(vd[0].ep, e.rx);
    ASSERT_EQ(r.core.rxq_count(e.rx), q + 1);
    const Req ru = user(e.rp, e.rpid);
    for (uint32_t i = 0; i < q; ++i) r.wr_ok(ru, ep_addr(e.rx, CMM_EP_RX_POP_OFFSET), 0);
    EXPECT_EQ(r.rd_ok(ru, ep_addr(e.rx, CMM_EP_RX_TAG_OFFSET)), tag);
    r.wr_ok(ru, ep_addr(e.rx, CMM_EP_RX_POP_OFFSET), 0);
  }

  // Entries a partition owns, found through its own CST window (DENIED otherwise).
  static std::vector<uint32_t> owned(CoreHarness& h, uint8_t part) {
    std::vector<uint32_t> v;
    for (uint32_t ep = 0; ep < kNumEndpoints; ++ep)
      if (h.rd(kernel(part), cst_addr(ep, CMM_CST_CTRL_OFFSET)).status == u(Rsp::kOk)) v.push_back(ep);
    return v;
  }
  static uint32_t used(CoreHarness& h, uint8_t part) {
    return CMM_FIELD_GET(h.rd_ok(kernel(part), CMM_PART_USED_OFFSET), CMM_PART_USED_USED);
  }
  // PART_INFO.USED equals the entries the partition owns.
  static void expect_used_consistent(CoreHarness& h, uint8_t part) {
    EXPECT_EQ(used(h, part), owned(h, part).size()) << "quota use of partition " << unsigned(part) << " at node "
                                                    << unsigned(h.node());
  }
  // The agents give every entry of the two partitions back: CLOSE what is
  // not ALLOCATED (the peer first learns it), then FREE. Outcomes not checked.
  void teardown(uint8_t rp, uint8_t sp) {
    for (CoreHarness* h : {&r, &s}) {
      const uint8_t part = h == &r ? rp : sp;
      for (uint32_t ep : owned(*h, part))
        if (h->cst_state(part, ep) != u(State::kAllocated)) h->cmd(part, Cmd::kClose, ep);
      settle();
    }
    for (CoreHarness* h : {&r, &s}) {
      const uint8_t part = h == &r ? rp : sp;
      for (uint32_t ep : owned(*h, part)) EXPECT_EQ(h->cmd(part, Cmd::kFree, ep).status, u(Rsp::kOk));
    }
    settle();
  }
  void clear_reports(std::initializer_list<uint8_t> parts) {
    for (CoreHarness* h : {&r, &s})
      for (uint8_t p : parts) {
        h->clear_errlog(p);
        h->wr_ok(kernel(p), CMM_IRQ_STATUS_OFFSET, CMM_IRQ_STATUS_WMASK);
      }
  }

  int key_id(const CoreHarness& h, uint32_t ep) const {
    if (!h.core.key_valid(ep)) return -1;
    for (size_t i = 0; i < keys.size(); ++i)
      if (h.core.key_equals_for_test(ep, keys[i])) return static_cast<int>(i);
    return -2;
  }
  EpView view(const CoreHarness& h, uint32_t ep) const {
    EpView v;
    v.state = u(h.core.ep_state(ep));
    v.valid = h.core.key_valid(ep);
    v.origin = v.valid ? h.core.key_origin(ep) : 0;
    v.gen = h.core.ep_gen(ep);
    v.rx_seq = h.core.rx_seq(ep);
    v.tx_seq = h.core.tx_seq(ep);
    v.rxq = h.core.rxq_count(ep);
    v.key_id = key_id(h, ep);
    return v;
  }
  using TableView = std::array<EpView, kNumEndpoints>;
  TableView table(const CoreHarness& h) const {
    TableView t;
    for (uint32_t ep = 0; ep < kNumEndpoints; ++ep) t[ep] = view(h, ep);
    return t;
  }
  // No entry of either node holds key k.
  void expect_key_nowhere(const Key& k, const char* what) const {
    for (const CoreHarness* h : {&r, &s})
      for (uint32_t ep = 0; ep < kNumEndpoints; ++ep)
        EXPECT_FALSE(h->core.key_equals_for_test(ep, k)) << what << " at node " << unsigned(h->node()) << " ep " << ep;
  }
};

inline std::array<uint32_t, kReasonCount> rejects_of(const CoreHarness& h) {
  std::array<uint32_t, kReasonCount> a{};
  for (uint32_t i = 0; i < kReasonCount; ++i) a[i] = h.core.reject_count(static_cast<Reason>(i));
  return a;
}

}  // namespace cmm::coretest::race
