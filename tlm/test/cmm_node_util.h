// CMM nodes for TLM system tests: CmmTlm + NodeBus + one partition bus, and
// the kernel agents' register sequences (ALLOC, CST fields, generation
// exchange, AUTHORIZE, key staging, CONNECT) done from a test thread.
#pragma once
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/node_bus.h"

namespace cmm::tlmshell::test {

using namespace ::cmm::regs;  // CMM_FIELD_* macros take unqualified field names

inline const sc_core::sc_time kP(1, sc_core::SC_NS);

struct Node {
  CmmTlm cmm;
  NodeBus bus;
  PartitionBusIf biu;
  Node(const char* n, uint8_t id, uint32_t slots = 4, uint32_t regq = 16)
      : cmm((std::string(n) + "_cmm").c_str(), cfg(id, slots, regq)),
        bus((std::string(n) + "_bus").c_str(), 1, kP),
        biu((std::string(n) + "_biu0").c_str()) {
    bus.cmm_isock.bind(cmm.reg_tsock);
    biu.isock.bind(*bus.part_tsock[0]);
  }
  static CmmTlmConfig cfg(uint8_t id, uint32_t slots, uint32_t regq) {
    CmmTlmConfig c;
    c.ingress_slots_per_class = slots;
    c.reg_queue_depth = regq;
    c.straps.node_id = id;
    c.straps.quota.fill(0);  // quotas must fit the table (reservation, docs/security.md 1.7)
    c.straps.quota[0] = 8;
    return c;
  }
};

inline uint32_t cst(uint32_t ep, uint32_t off) { return CMM_CST_BASE + ep * CMM_CST_STRIDE + off; }
inline uint32_t epr(uint32_t ep, uint32_t off) { return CMM_EP_BASE + ep * CMM_EP_STRIDE + off; }
inline uint32_t cmd(regs::Cmd op, uint32_t ep = 0) {
  return CMM_FIELD_SET(CMM_FIELD_SET(0u, CMM_CMD_OP, static_cast<uint32_t>(op)), CMM_CMD_EP, ep);
}

inline uint32_t state_of(sw::RegIf& k, uint32_t ep) {
  uint32_t v = 0;
  EXPECT_EQ(k.read32(cst(ep, CMM_CST_CTRL_OFFSET), v), sw::BusStatus::kOk);
  return CMM_FIELD_GET(v, CMM_CST_CTRL_STATE);
}

// ALLOC + direction, owner and remote ids (entry stays ALLOCATED); returns the endpoint.
inline uint32_t alloc_entry(sw::RegIf& k, regs::Dir dir, uint16_t pid, uint16_t rnode, uint8_t rpart, uint8_t rep) {
  using namespace regs;
  uint32_t v = 0;
  EXPECT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAlloc)), sw::BusStatus::kOk);
  EXPECT_EQ(k.read32(CMM_CMD_STATUS_OFFSET, v), sw::BusStatus::kOk);
  const uint32_t ep = CMM_FIELD_GET(v, CMM_CMD_STATUS_EP);
  EXPECT_EQ(k.write32(cst(ep, CMM_CST_CTRL_OFFSET), CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, static_cast<uint32_t>(dir))),
            sw::BusStatus::kOk);
  EXPECT_EQ(k.write32(cst(ep, CMM_CST_OWNER_OFFSET), pid), sw::BusStatus::kOk);
  uint32_t rem = CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, rnode);
  rem = CMM_FIELD_SET(rem, CMM_CST_REMOTE_PART, rpart);
  rem = CMM_FIELD_SET(rem, CMM_CST_REMOTE_EP, rep);
  EXPECT_EQ(k.write32(cst(ep, CMM_CST_REMOTE_OFFSET), rem), sw::BusStatus::kOk);
  return ep;
}

inline uint8_t local_gen(sw::RegIf& k, uint32_t ep) {
  uint32_t v = 0;
  EXPECT_EQ(k.read32(cst(ep, CMM_CST_GEN_OFFSET), v), sw::BusStatus::kOk);
  return static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_CST_GEN_LOCAL));
}

inline void authorize(sw::RegIf& k, uint32_t ep, uint8_t remote_gen) {
  using namespace regs;
  EXPECT_EQ(k.write32(cst(ep, CMM_CST_GEN_OFFSET), CMM_FIELD_SET(0u, CMM_CST_GEN_REMOTE, remote_gen)),
            sw::BusStatus::kOk);
  EXPECT_EQ(k.write32(CMM_CMD_OFFSET, cmd(Cmd::kAuthorize, ep)), sw::BusStatus::kOk);
}

struct Chan {
  uint32_t rx_ep = 0, tx_ep = 0;
};

// Both kernel agents' part of a channel (partition 0 on both nodes), done from
// one thread: entries allocated, generations exchanged, both AUTHORIZED. The
// endpoints are the first free ones; `rx_ep_hint`/`tx_ep_hint` are the peers'
// endpoints as the agents agreed them.
inline Chan setup_channel(sw::RegIf& kr, uint16_t rx_node, uint16_t rx_pid, uint32_t rx_ep_hint, sw::RegIf& ks,
                          uint16_t tx_node, uint16_t tx_pid, uint32_t tx_ep_hint) {
  Chan c;
  c.rx_ep = alloc_entry(kr, regs::Dir::kRecv, rx_pid, tx_node, 0, static_cast<uint8_t>(tx_ep_hint));
  c.tx_ep = alloc_entry(ks, regs::Dir::kSend, tx_pid, rx_node, 0, static_cast<uint8_t>(rx_ep_hint));
  EXPECT_EQ(c.rx_ep, rx_ep_hint);
  EXPECT_EQ(c.tx_ep, tx_ep_hint);
  const uint8_t gr = local_gen(kr, c.rx_ep), gs = local_gen(ks, c.tx_ep);
  authorize(kr, c.rx_ep, gs);
  authorize(ks, c.tx_ep, gr);
  return c;
}

// Receiver's agent: stage the key (all four words, one pid) and CONNECT.
inline void connect(sw::RegIf& kr, uint32_t rx_ep, const Key& key) {
  using namespace regs;
  for (uint32_t w = 0; w < kKeyWords; ++w)
    EXPECT_EQ(kr.write32(CMM_KEY_OFFSET + 4 * w, key[w]), sw::BusStatus::kOk);
  EXPECT_EQ(kr.write32(CMM_CMD_OFFSET, cmd(Cmd::kConnect, rx_ep)), sw::BusStatus::kOk);
}

// Polls (every `step`) until the entry is OPEN or `tries` polls passed.
inline bool wait_open(sw::RegIf& k, uint32_t ep, int tries = 200, sc_core::sc_time step = 20 * kP) {
  for (int i = 0; i < tries; ++i) {
    if (state_of(k, ep) == static_cast<uint32_t>(regs::State::kOpen)) return true;
    sc_core::wait(step);
  }
  return false;
}

// User process: write msg into TX_BUF and ring the doorbell (LEN = db_len, or msg size).
inline sw::BusStatus send_msg(sw::RegIf& u, uint32_t ep, const std::vector<uint8_t>& msg, uint16_t tag,
                              uint32_t db_len = 0) {
  using namespace regs;
  if (!msg.empty()) {
    EXPECT_EQ(u.write_block(epr(ep, CMM_TX_BUF_OFFSET), msg.data(), msg.size()), sw::BusStatus::kOk);
  }
  uint32_t db = CMM_FIELD_SET(0u, CMM_EP_DOORBELL_LEN, db_len ? db_len : static_cast<uint32_t>(msg.size()));
  db = CMM_FIELD_SET(db, CMM_EP_DOORBELL_TAG, tag);
  return u.write32(epr(ep, CMM_EP_DOORBELL_OFFSET), db);
}

// User process: number of queued messages (RX_STATUS.COUNT).
inline uint32_t rx_count(sw::RegIf& u, uint32_t ep) {
  uint32_t v = 0;
  EXPECT_EQ(u.read32(epr(ep, CMM_EP_RX_STATUS_OFFSET), v), sw::BusStatus::kOk);
  return CMM_FIELD_GET(v, CMM_EP_RX_STATUS_COUNT);
}

// User process: read and pop the head message (len bytes).
inline std::vector<uint8_t> pop_msg(sw::RegIf& u, uint32_t ep, size_t len, uint32_t* tag = nullptr) {
  using namespace regs;
  std::vector<uint8_t> m(len, 0xEE);
  EXPECT_EQ(u.read_block(epr(ep, CMM_RX_BUF_OFFSET), m.data(), m.size()), sw::BusStatus::kOk);
  uint32_t v = 0;
  EXPECT_EQ(u.read32(epr(ep, CMM_EP_RX_TAG_OFFSET), v), sw::BusStatus::kOk);
  if (tag) *tag = v;
  EXPECT_EQ(u.write32(epr(ep, CMM_EP_RX_POP_OFFSET), 1), sw::BusStatus::kOk);
  return m;
}

}  // namespace cmm::tlmshell::test
