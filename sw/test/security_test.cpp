// Attacks against a channel set up by the agents, on real cores, seen from the
// software side: the driver's result codes and error-log events (I1, I2, I3,
// I4, I5, I6, I7).
#include <gtest/gtest.h>

#include <vector>

#include "sw_fixture.h"

namespace cmm::sw::testing {
namespace {

using namespace regs;
using Kind = Event::Kind;

Packet forged(Opcode op, uint8_t src_node, uint8_t src_part, uint8_t src_ep, uint8_t dst_node, uint8_t dst_part,
              uint8_t dst_ep, const Key& key) {
  Packet p;
  p.hdr.opcode = static_cast<uint8_t>(op);
  p.hdr.src_node = src_node;
  p.hdr.src_part = src_part;
  p.hdr.src_ep = src_ep;
  p.hdr.dst_node = dst_node;
  p.hdr.dst_part = dst_part;
  p.hdr.dst_ep = dst_ep;
  p.hdr.key = key;
  return p;
}

class Attacks : public TwoNodes {
 protected:
  void SetUp() override {
    TwoNodes::SetUp();
    if (HasFatalFailure()) return;
    open_channel(rep, sep);
    recv_ev.clear();
    send_ev.clear();
  }
  // The channel still carries a message end to end.
  void expect_channel_works(uint16_t tag) {
    Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
    ASSERT_EQ(tx.send("still ok", 8, tag), Status::Ok());
    ASSERT_TRUE(fab.run_until_idle());
    char buf[16];
    RxInfo info;
    ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
    EXPECT_EQ(std::string(buf, info.len), "still ok");
    EXPECT_EQ(info.tag, tag);
  }
  uint8_t rep = 0, sep = 0;
};

// I6: a remote CONNECT onto the receive entry (key set by the local agent) is
// an exception: logged with the EXCEPTION bit, entry unchanged.
TEST_F(Attacks, RemoteConnectOnReceiveEntryIsAnExceptionInTheErrorLog) {
  const Key evil{0xBAD0BAD0, 1, 2, 3};
  fab.inject(kRecvNode, forged(Opcode::kConnect, kSendNode, kSendPart, sep, kRecvNode, kRecvPart, rep, evil));
  ASSERT_TRUE(fab.run_until_idle());
  round();
  const Event* e = find(recv_ev, Kind::kErrorLogged);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.reason, Reason::kKeyLocked);
  EXPECT_TRUE(e->error.exception);
  EXPECT_TRUE(e->error.from_fabric);
  EXPECT_EQ(e->error.opcode, static_cast<uint8_t>(Opcode::kConnect));
  EXPECT_EQ(e->error.ep, rep);
  EXPECT_EQ(e->error.src_node, kSendNode);
  EXPECT_FALSE(rnode.core().key_equals_for_test(rep, evil));
  CstInfo c;
  ASSERT_EQ(recv_agent.read_cst(rep, c), Status::Ok());
  EXPECT_EQ(c.state, State::kOpen);
  EXPECT_EQ(c.key_origin, Origin::kLocal);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kKeyLocked, n).ok());
  EXPECT_EQ(n, 1u);
  expect_channel_works(1);
}

// I6: the local agent cannot overwrite a key a remote CONNECT stored.
TEST_F(Attacks, LocalSetKeyOnSendEntryIsAnExceptionInTheErrorLog) {
  EXPECT_EQ(send_agent.set_key(sep), Status::Err(Result::kRejected, Reason::kKeyLocked));
  EXPECT_EQ(send_agent.connect(sep), Status::Err(Result::kRejected, Reason::kKeyLocked));
  round();
  ASSERT_EQ(count(send_ev, Kind::kErrorLogged), 2u);
  const Event* e = find(send_ev, Kind::kErrorLogged);
  EXPECT_EQ(e->error.reason, Reason::kKeyLocked);
  EXPECT_TRUE(e->error.exception);
  EXPECT_FALSE(e->error.from_fabric);
  EXPECT_EQ(e->error.ep, sep);
  EXPECT_EQ(e->error.src_node, kSendNode);
  expect_channel_works(2);
}

// I2: DATA with the right source ids but a wrong key is not delivered.
TEST_F(Attacks, ForgedDataWithWrongKeyIsDroppedCountedAndLogged) {
  Packet p = forged(Opcode::kData, kSendNode, kSendPart, sep, kRecvNode, kRecvPart, rep, Key{1, 2, 3, 4});
  p.hdr.len = 4;
  p.payload = {'e', 'v', 'i', 'l'};
  fab.inject(kRecvNode, p);
  ASSERT_TRUE(fab.run_until_idle());
  round();
  Endpoint rx(recv_ubus, rep);
  RxStatus rs;
  ASSERT_EQ(rx.rx_status(rs), Status::Ok());
  EXPECT_EQ(rs.count, 0);
  const Event* e = find(recv_ev, Kind::kErrorLogged);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.reason, Reason::kBadKey);
  EXPECT_FALSE(e->error.exception);
  EXPECT_EQ(count(recv_ev, Kind::kRxPending), 0u);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kBadKey, n).ok());
  EXPECT_EQ(n, 1u);
  expect_channel_works(3);
}

// I2/I4: DATA from another partition of the sender's node (its own key-less
// endpoint) cannot reach the receive endpoint.
TEST_F(Attacks, DataFromAnotherSourceIsRefused) {
  Packet p = forged(Opcode::kData, kSendNode, 1, sep, kRecvNode, kRecvPart, rep, Key{});
  p.hdr.len = 1;
  p.payload = {0};
  fab.inject(kRecvNode, p);
  ASSERT_TRUE(fab.run_until_idle());
  round();
  const Event* e = find(recv_ev, Kind::kErrorLogged);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.reason, Reason::kSrcPartMismatch);
}

// I5: another process, another partition's agent, cannot use the endpoints.
TEST_F(Attacks, OtherProcessesAndPartitionsAreConfined) {
  CoreRegIf other_proc(snode, kSendPart, Priv::kUser, 999);
  Endpoint stolen(other_proc, sep);
  EXPECT_EQ(stolen.send("x", 1, 0), Status::Err(Result::kBusError, Reason::kDenied));
  TxStatus ts;
  EXPECT_EQ(stolen.tx_status(ts), Status::Err(Result::kBusError, Reason::kDenied));
  // The owner process of the sender's partition cannot use another endpoint page.
  Endpoint not_mine(send_ubus, static_cast<uint8_t>(sep + 1));
  EXPECT_EQ(not_mine.tx_status(ts), Status::Err(Result::kBusError, Reason::kDenied));

  CoreRegIf k1(snode, 1, Priv::kKernel, 0);
  KernelAgent rogue(k1, 99);
  ASSERT_EQ(rogue.init(), Status::Ok());
  CstInfo c;
  EXPECT_EQ(rogue.read_cst(sep, c), Status::Err(Result::kBusError, Reason::kDenied));
  EXPECT_EQ(rogue.set_remote(sep, PeerId{1, 1, 1}), Status::Err(Result::kBusError, Reason::kDenied));
  EXPECT_EQ(rogue.close(sep), Status::Err(Result::kRejected, Reason::kDenied));
  EXPECT_EQ(rogue.free_endpoint(sep), Status::Err(Result::kRejected, Reason::kDenied));
  EXPECT_EQ(rogue.set_key(sep), Status::Err(Result::kRejected, Reason::kDenied));
  // The rogue's own error log records its denied accesses; the victim's stays clean.
  ASSERT_EQ(rogue.poll(), Status::Ok());
  std::vector<Event> rev;
  drain(rogue, rev);
  EXPECT_GE(count(rev, Kind::kErrorLogged), 4u);
  for (const Event& e : rev) {
    if (e.kind == Kind::kErrorLogged) {
      EXPECT_EQ(e.error.reason, Reason::kDenied);
    }
  }
  // Denied accesses are logged for the REQUESTER's partition: here partition 0
  // (process 999's two accesses, the owner's access to a page not its own).
  round();
  EXPECT_EQ(count(send_ev, Kind::kErrorLogged), 3u);
  for (const Event& e : send_ev) {
    if (e.kind == Kind::kErrorLogged) {
      EXPECT_EQ(e.error.reason, Reason::kDenied);
    }
  }
  expect_channel_works(4);
}

// I7: even entries lost to a full error log are reported (as a count).
TEST_F(Attacks, LostErrorLogEntriesAreReported) {
  CoreRegIf k1(snode, 1, Priv::kKernel, 0);
  KernelAgent rogue(k1, 99);
  ASSERT_EQ(rogue.init(), Status::Ok());
  CstInfo c;
  for (uint32_t i = 0; i < kErrlogDepth + 2; ++i)
    EXPECT_EQ(rogue.read_cst(sep, c), Status::Err(Result::kBusError, Reason::kDenied));
  ASSERT_EQ(rogue.poll(), Status::Ok());
  std::vector<Event> rev;
  drain(rogue, rev);
  ASSERT_FALSE(rev.empty());
  EXPECT_EQ(rev[0].kind, Kind::kErrorsLost);
  EXPECT_EQ(rev[0].count, 2u);
  EXPECT_EQ(count(rev, Kind::kErrorLogged), kErrlogDepth);
}

// The id exchange trusts only hardware-stamped ids: a CHAN_INFO forged by a
// kernel agent of another partition of the sender's node is ignored.
TEST_F(Attacks, ForgedChanInfoFromAnotherPartitionIsIgnored) {
  CoreRegIf k1(snode, 1, Priv::kKernel, 0);
  KernelAgent rogue(k1, 7);
  ASSERT_EQ(rogue.init(), Status::Ok());
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  // The rogue answers first, pretending to be the sender's agent.
  ASSERT_EQ(rogue.send_mgmt(kRecvNode, kRecvPart, chan_proto::encode(chan_proto::chan_info(req, 9, kSendPid))),
            Status::Ok());
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kChannelReady, req) != nullptr; }));
  const Event* ign = find(recv_ev, Kind::kMgmtIgnored);
  ASSERT_NE(ign, nullptr);
  EXPECT_EQ(ign->peer.part, 1);
  const Event* ready = find(recv_ev, Kind::kChannelReady, req);
  EXPECT_EQ(ready->peer.part, kSendPart);
  EXPECT_NE(ready->peer.ep, 9);
}

// A kernel agent of another partition of the receiver's node asks for a
// channel naming the victim's receive endpoint: the sender agent's CST entry
// gets the STAMPED partition (the attacker's), and the attacker cannot
// CONNECT to it from an endpoint that is not the named one (I3, I4).
TEST_F(Attacks, ChanReqCannotImpersonateAnotherPartition) {
  CoreRegIf k5(rnode, 5, Priv::kKernel, 0);
  KernelAgent attacker(k5, 5);
  ASSERT_EQ(attacker.init(), Status::Ok());
  uint8_t own = 0;
  ASSERT_EQ(attacker.alloc_endpoint(own), Status::Ok());
  ASSERT_EQ(attacker.send_mgmt(kSendNode, kSendPart, chan_proto::encode(chan_proto::chan_req(77, rep, kRecvPid, kSendPid))),
            Status::Ok());
  // The attacker reads the answer with the raw MGMT calls (its poll() would
  // withdraw a grant it did not ask for).
  MgmtMessage got;
  ASSERT_TRUE(pump([&] { return attacker.mgmt_receive(got).ok(); }));
  EXPECT_EQ(got.src_node, kSendNode);
  EXPECT_EQ(got.src_part, kSendPart);
  chan_proto::Msg info;
  ASSERT_TRUE(chan_proto::decode(got.words, info));
  ASSERT_EQ(info.type, chan_proto::Type::kChanInfo);
  CstInfo c;
  ASSERT_EQ(send_agent.read_cst(info.ep, c), Status::Ok());
  EXPECT_EQ(c.remote, (PeerId{kRecvNode, 5, rep}));  // partition from the header, not from the payload
  EXPECT_EQ(c.state, State::kAuthorized);

  // The attacker's CONNECT comes from its own endpoint: SRC_EP mismatch, no key stored.
  ASSERT_EQ(attacker.configure(own, Dir::kRecv, 1, PeerId{kSendNode, kSendPart, info.ep}), Status::Ok());
  ASSERT_EQ(attacker.authorize(own), Status::Ok());
  ASSERT_EQ(attacker.connect(own), Status::Ok());
  std::vector<Event> aev;
  ASSERT_TRUE(pump([&] {
    EXPECT_EQ(attacker.poll(), Status::Ok());
    drain(attacker, aev);
    return find(aev, Kind::kChannelFailed) != nullptr;
  }));
  EXPECT_EQ(find(aev, Kind::kChannelFailed)->reason, Reason::kSrcEpMismatch);
  EXPECT_FALSE(snode.core().key_valid(info.ep));
  EXPECT_EQ(count(send_ev, Kind::kSendReady), 0u);
  expect_channel_works(5);
}

// I1 through the whole software stack: after the agent handed a known key to
// the CMM, no word read at any address by the agent or the owner process
// equals any key word.
TEST_F(Attacks, NoRegisterReadReturnsKeyBits) {
  uint8_t r2 = 0, s2 = 0;
  ASSERT_EQ(recv_agent.alloc_endpoint(r2), Status::Ok());
  ASSERT_EQ(send_agent.alloc_endpoint(s2), Status::Ok());
  ASSERT_EQ(recv_agent.configure(r2, Dir::kRecv, kRecvPid, PeerId{kSendNode, kSendPart, s2}), Status::Ok());
  ASSERT_EQ(send_agent.configure(s2, Dir::kSend, kSendPid, PeerId{kRecvNode, kRecvPart, r2}), Status::Ok());
  ASSERT_EQ(send_agent.authorize(s2), Status::Ok());
  ASSERT_EQ(recv_agent.authorize(r2), Status::Ok());
  const ChannelKey key{0x5EC2E701, 0x5EC2E702, 0x5EC2E703, 0x5EC2E704};
  ASSERT_EQ(recv_agent.connect(r2, key), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  ASSERT_TRUE(snode.core().key_equals_for_test(s2, key));
  uint64_t reads = 0;
  for (CoreRegIf* bus : {&recv_kbus, &recv_ubus, &send_kbus, &send_ubus}) {
    for (uint32_t a = 0; a < CMM_EP_BASE + CMM_EP_COUNT * CMM_EP_STRIDE; a += 4) {
      uint32_t v = 0;
      (void)bus->read32(a, v);
      ++reads;
      for (uint32_t w : key) ASSERT_NE(v, w) << "address " << a;
    }
  }
  EXPECT_EQ(reads, 4u * (CMM_EP_BASE + CMM_EP_COUNT * CMM_EP_STRIDE) / 4u);
}

}  // namespace
}  // namespace cmm::sw::testing
