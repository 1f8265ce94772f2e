// Driver + user library on two real cores: id exchange over MGMT, CONNECT/ACK,
// DATA delivery, receive-queue-full backpressure, CLOSE from either side,
// quotas, a NACKed CONNECT and a NACKed MGMT message.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "cmm_siphash.h"
#include "sw_fixture.h"

namespace cmm::sw::testing {
namespace {

using namespace regs;
using Kind = Event::Kind;

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31u);
  return v;
}

TEST_F(TwoNodes, IdExchangeOpensTheChannelOnBothSides) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);

  CstInfo r, s;
  ASSERT_EQ(recv_agent.read_cst(rep, r), Status::Ok());
  EXPECT_EQ(r.dir, Dir::kRecv);
  EXPECT_EQ(r.state, State::kOpen);
  EXPECT_TRUE(r.key_valid);
  EXPECT_EQ(r.key_origin, Origin::kLocal);
  EXPECT_EQ(r.owner_part, kRecvPart);
  EXPECT_EQ(r.owner_pid, kRecvPid);
  EXPECT_EQ(r.remote, (PeerId{kSendNode, kSendPart, sep}));

  ASSERT_EQ(send_agent.read_cst(sep, s), Status::Ok());
  EXPECT_EQ(s.dir, Dir::kSend);
  EXPECT_EQ(s.state, State::kOpen);
  EXPECT_TRUE(s.key_valid);
  EXPECT_EQ(s.key_origin, Origin::kRemote);
  EXPECT_EQ(s.owner_part, kSendPart);
  EXPECT_EQ(s.owner_pid, kSendPid);
  // The remote partition is the one the CMM stamped on the CHAN_REQ.
  EXPECT_EQ(s.remote, (PeerId{kRecvNode, kRecvPart, rep}));

  // Generations exchanged in CHAN_REQ/CHAN_INFO: each entry knows its peer's epoch.
  uint8_t rgen = 0, rremote = 0, sgen = 0, sremote = 0;
  ASSERT_EQ(recv_agent.read_gen(rep, rgen, rremote), Status::Ok());
  ASSERT_EQ(send_agent.read_gen(sep, sgen, sremote), Status::Ok());
  EXPECT_NE(rgen, 0);
  EXPECT_NE(sgen, 0);
  EXPECT_EQ(rremote, sgen);
  EXPECT_EQ(sremote, rgen);

  const Event* ready = find(recv_ev, Kind::kChannelReady);
  EXPECT_EQ(ready->pid, kRecvPid);
  EXPECT_EQ(ready->peer, (PeerId{kSendNode, kSendPart, sep}));
  const Event* sready = find(send_ev, Kind::kSendReady);
  EXPECT_EQ(sready->pid, kSendPid);
  EXPECT_EQ(sready->peer, (PeerId{kRecvNode, kRecvPart, rep}));

  uint32_t v = 0;
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatConnectSent, v).ok());
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(send_agent.stat(CmmCore::kStatConnectAccepted, v).ok());
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatMgmtSent, v).ok());
  EXPECT_EQ(v, 1u);  // CHAN_REQ
  ASSERT_TRUE(send_agent.stat(CmmCore::kStatMgmtSent, v).ok());
  EXPECT_EQ(v, 1u);  // CHAN_INFO
  EXPECT_EQ(count(recv_ev, Kind::kErrorLogged), 0u);
  EXPECT_EQ(count(send_ev, Kind::kErrorLogged), 0u);
  EXPECT_EQ(rnode.buffer_errors() + snode.buffer_errors(), 0u);
}

TEST_F(TwoNodes, MessagesArriveIntactWithTheirTags) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);

  const size_t lens[] = {1, 5, 64, 333, kMaxMsgBytes, 2};
  uint16_t tag = 100;
  for (size_t len : lens) {
    const auto msg = pattern(len, static_cast<uint8_t>(len));
    ASSERT_EQ(tx.send(msg.data(), msg.size(), tag), Status::Ok());
    ASSERT_TRUE(fab.run_until_idle());
    std::vector<uint8_t> buf(kMaxMsgBytes, 0xEE);
    RxInfo info;
    ASSERT_EQ(rx.receive(buf.data(), buf.size(), info), Status::Ok()) << "len " << len;
    EXPECT_EQ(info.len, len);
    EXPECT_EQ(info.tag, tag);
    EXPECT_EQ(info.remaining, 0);
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(len)), msg);
    ++tag;
  }
  uint8_t b[4];
  RxInfo info;
  EXPECT_EQ(rx.receive(b, sizeof b, info), Status::Err(Result::kEmpty, Reason::kRxqEmpty));
  uint32_t sent = 0, delivered = 0;
  ASSERT_TRUE(tx.tx_sent(sent).ok());
  EXPECT_EQ(sent, std::size(lens));
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatDataDelivered, delivered).ok());
  EXPECT_EQ(delivered, std::size(lens));

  // The receiving agent was told (RX interrupt) while messages were queued.
  ASSERT_EQ(tx.send("x", 1, 1), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  round();
  const Event* rx_ev = find(recv_ev, Kind::kRxPending);
  ASSERT_NE(rx_ev, nullptr);
  EXPECT_EQ(rx_ev->ep, rep);
  EXPECT_EQ(rx_ev->count, 1u);
}

TEST_F(TwoNodes, FullReceiveQueueIsReportedToTheSenderByNack) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  const auto msg = pattern(40, 1);
  for (uint16_t t = 1; t <= kRxqDepth + 1; ++t) ASSERT_EQ(tx.send(msg.data(), msg.size(), t), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());

  TxStatus ts;
  ASSERT_EQ(tx.tx_status(ts), Status::Ok());
  EXPECT_EQ(ts.nacks, 1);
  EXPECT_EQ(ts.last_reason, Reason::kRxqFull);
  EXPECT_EQ(ts.last_tag, kRxqDepth + 1);

  round();
  const Event* nack = find(send_ev, Kind::kTxNacked);
  ASSERT_NE(nack, nullptr);
  EXPECT_EQ(nack->ep, sep);
  EXPECT_EQ(nack->count, 1u);
  EXPECT_EQ(nack->reason, Reason::kRxqFull);
  const Event* pend = find(recv_ev, Kind::kRxPending);
  ASSERT_NE(pend, nullptr);
  EXPECT_EQ(pend->count, kRxqDepth);
  uint32_t full = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kRxqFull, full).ok());
  EXPECT_EQ(full, 1u);
  // RXQ_FULL is the sender's concern: nothing in the receiver's error log.
  EXPECT_EQ(count(recv_ev, Kind::kErrorLogged), 0u);

  // The receiver drains one; the sender re-sends the refused message.
  std::vector<uint8_t> buf(64);
  RxInfo info;
  ASSERT_EQ(rx.receive(buf.data(), buf.size(), info), Status::Ok());
  EXPECT_EQ(info.tag, 1);
  EXPECT_EQ(info.remaining, kRxqDepth - 1);
  ASSERT_EQ(tx.send(msg.data(), msg.size(), ts.last_tag), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  std::vector<uint16_t> tags;
  while (rx.receive(buf.data(), buf.size(), info).ok()) tags.push_back(info.tag);
  EXPECT_EQ(tags, (std::vector<uint16_t>{2, 3, 4, 5}));
  // I7: sent = delivered + NACKed.
  uint32_t sent = 0, delivered = 0;
  ASSERT_TRUE(tx.tx_sent(sent).ok());
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatDataDelivered, delivered).ok());
  ASSERT_EQ(tx.tx_status(ts), Status::Ok());
  EXPECT_EQ(sent, delivered + ts.nacks);
}

// A lost DATA: the next one is delivered, the gap reported to both agents
// (error log + exact CST_LOST counts); the SEQ_GAP NACK is not a refusal.
TEST_F(TwoNodes, LostDataIsReportedAsAGapToBothAgents) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  bool dropped = false;
  fab.set_filter([&](uint8_t, Packet& p) {
    if (p.hdr.opcode != static_cast<uint8_t>(Opcode::kData) || dropped) return true;
    dropped = true;
    return false;
  });
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  ASSERT_EQ(tx.send("lost", 4, 1), Status::Ok());
  ASSERT_EQ(tx.send("next", 4, 2), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  round();
  char buf[8];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(info.tag, 2);
  EXPECT_EQ(logged(recv_ev, Reason::kSeqGap), 1u);
  EXPECT_EQ(logged(send_ev, Reason::kSeqGap), 1u);
  EXPECT_EQ(send_agent.stats().seq_gap_nacks, 1u);
  EXPECT_EQ(send_agent.stats().tx_lost, 1u);
  EXPECT_EQ(recv_agent.stats().rx_lost, 1u);
  EXPECT_EQ(count(send_ev, Kind::kTxNacked), 0u);
  CstInfo sc, rc;
  ASSERT_EQ(send_agent.read_cst(sep, sc), Status::Ok());
  ASSERT_EQ(recv_agent.read_cst(rep, rc), Status::Ok());
  EXPECT_EQ(sc.tx_nacks, 0u);  // nothing was refused
  EXPECT_EQ(sc.tx_lost, 1u);
  EXPECT_EQ(rc.rx_lost, 1u);
  // Exact accounting at the sender: sent = delivered + refused + lost.
  uint32_t sent = 0, delivered = 0;
  ASSERT_TRUE(tx.tx_sent(sent).ok());
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatDataDelivered, delivered).ok());
  EXPECT_EQ(sent, delivered + sc.tx_nacks + sc.tx_lost);
  // A second poll adds nothing (the CST_LOST marks were taken).
  round();
  EXPECT_EQ(send_agent.stats().tx_lost, 1u);
  EXPECT_EQ(recv_agent.stats().rx_lost, 1u);
}

// A gap followed by a refusal in the same poll: the RXQ_FULL NACK is still
// reported (TX_NACKS holds refusals only; nothing is subtracted for gaps).
TEST_F(TwoNodes, RefusalAfterAGapIsStillReportedAsNacked) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  bool dropped = false;
  fab.set_filter([&](uint8_t, Packet& p) {
    if (p.hdr.opcode != static_cast<uint8_t>(Opcode::kData) || dropped) return true;
    dropped = true;
    return false;
  });
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  // Tag 1 lost; 2..kRxqDepth+1 fill the queue (2 with a gap); the last is refused.
  for (uint16_t t = 1; t <= kRxqDepth + 2; ++t) ASSERT_EQ(tx.send("m", 1, t), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  round();
  EXPECT_EQ(send_agent.stats().seq_gap_nacks, 1u);
  EXPECT_EQ(send_agent.stats().tx_lost, 1u);
  EXPECT_EQ(recv_agent.stats().rx_lost, 1u);
  ASSERT_EQ(count(send_ev, Kind::kTxNacked), 1u);
  const Event* nack = find(send_ev, Kind::kTxNacked);
  EXPECT_EQ(nack->ep, sep);
  EXPECT_EQ(nack->count, 1u);
  EXPECT_EQ(nack->reason, Reason::kRxqFull);
  uint32_t sent = 0, delivered = 0;
  ASSERT_TRUE(tx.tx_sent(sent).ok());
  ASSERT_TRUE(recv_agent.stat(CmmCore::kStatDataDelivered, delivered).ok());
  EXPECT_EQ(delivered, kRxqDepth);
  EXPECT_EQ(sent, delivered + nack->count + send_agent.stats().tx_lost);
  // The legitimate channel keeps working after draining.
  char buf[4];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(info.tag, 2);
}

// Claims 13/17: each user process reads the state of its own channel from the
// CST through the driver (read-only view), and a process that does not own
// the endpoint is refused by the CMM.
TEST_F(TwoNodes, ProcessesReadTheirChannelStateFromTheCst) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  ChannelView tv, rv;
  ASSERT_EQ(tx.channel_view(tv), Status::Ok());
  ASSERT_EQ(rx.channel_view(rv), Status::Ok());
  EXPECT_EQ(tv.state, State::kOpen);
  EXPECT_EQ(tv.dir, Dir::kSend);
  EXPECT_TRUE(tv.key_valid);
  EXPECT_EQ(tv.remote_node, kRecvNode);
  EXPECT_EQ(tv.remote_part, kRecvPart);
  EXPECT_EQ(tv.remote_ep, rep);
  EXPECT_EQ(rv.state, State::kOpen);
  EXPECT_EQ(rv.dir, Dir::kRecv);
  EXPECT_TRUE(rv.key_valid);
  EXPECT_EQ(rv.remote_node, kSendNode);
  EXPECT_EQ(rv.remote_ep, sep);
  // A queued message shows in the receiver's view.
  ASSERT_EQ(tx.send("abc", 3, 5), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  ASSERT_EQ(rx.channel_view(rv), Status::Ok());
  EXPECT_EQ(rv.rxq_count, 1);
  // Another process of the receiving partition: DENIED, counted.
  const uint32_t denied = rnode.core().reject_count(Reason::kDenied);
  CoreRegIf other_ubus{rnode, kRecvPart, regs::Priv::kUser, kRecvPid + 1};
  Endpoint spy(other_ubus, rep);
  ChannelView sv;
  EXPECT_EQ(spy.channel_view(sv), Status::Err(Result::kBusError, Reason::kDenied));
  EXPECT_EQ(rnode.core().reject_count(Reason::kDenied), denied + 1);
  // After the receiver's agent closes, both views say so.
  ASSERT_EQ(recv_agent.close(rep), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(send_ev, Kind::kPeerClosed) != nullptr; }));
  ASSERT_EQ(tx.channel_view(tv), Status::Ok());
  EXPECT_EQ(tv.state, State::kClosed);
  EXPECT_FALSE(tv.key_valid);
  ASSERT_EQ(rx.channel_view(rv), Status::Ok());
  EXPECT_EQ(rv.state, State::kAllocated);
  EXPECT_FALSE(rv.key_valid);
}

TEST_F(TwoNodes, CloseByTheReceiverIsSeenByTheSender) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  ASSERT_EQ(recv_agent.close(rep), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(send_ev, Kind::kPeerClosed) != nullptr; }));
  EXPECT_EQ(find(send_ev, Kind::kPeerClosed)->ep, sep);
  EXPECT_FALSE(snode.core().key_valid(sep));
  EXPECT_FALSE(rnode.core().key_valid(rep));
  State st;
  ASSERT_TRUE(send_agent.endpoint_state(sep, st).ok());
  EXPECT_EQ(st, State::kClosed);
  ASSERT_TRUE(recv_agent.endpoint_state(rep, st).ok());
  EXPECT_EQ(st, State::kAllocated);

  Endpoint tx(send_ubus, sep);
  EXPECT_EQ(tx.send("late", 4, 9), Status::Err(Result::kRejected, Reason::kNotOpen));
  EXPECT_EQ(send_agent.free_endpoint(sep), Status::Ok());
  EXPECT_EQ(recv_agent.free_endpoint(rep), Status::Ok());
  PartInfo pi;
  ASSERT_TRUE(send_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
  EXPECT_EQ(count(recv_ev, Kind::kPeerClosed), 0u);  // the closer is not notified of its own CLOSE
}

TEST_F(TwoNodes, CloseByTheSenderIsSeenByTheReceiverWhoseQueueStaysReadable) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  ASSERT_EQ(tx.send("one", 3, 1), Status::Ok());
  ASSERT_EQ(tx.send("two", 3, 2), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  ASSERT_EQ(send_agent.close(sep), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kPeerClosed) != nullptr; }));
  EXPECT_EQ(find(recv_ev, Kind::kPeerClosed)->ep, rep);
  State st;
  ASSERT_TRUE(recv_agent.endpoint_state(rep, st).ok());
  EXPECT_EQ(st, State::kClosed);
  char buf[8] = {};
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "one");
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "two");
  EXPECT_EQ(recv_agent.free_endpoint(rep), Status::Ok());
  // The sender's entry went back to ALLOCATED: it can be freed too.
  EXPECT_EQ(send_agent.free_endpoint(sep), Status::Ok());
}

TEST_F(TwoNodes, LocalCloseFlushesQueuedMessagesAndTellsTheOwner) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  Endpoint tx(send_ubus, sep);
  ASSERT_EQ(tx.send("a", 1, 1), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  round();  // RxPending
  ASSERT_EQ(recv_agent.close(rep), Status::Ok());
  round();
  const Event* e = find(recv_ev, Kind::kErrorLogged);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->error.reason, Reason::kRxqFlushed);
  EXPECT_EQ(e->error.ep, rep);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kRxqFlushed, n).ok());
  EXPECT_EQ(n, 1u);
}

TEST_F(TwoNodes, SenderQuotaExhaustionRefusesTheThirdRequest) {
  // Node 204 partition 0 may own 2 endpoints.
  uint16_t req[3] = {};
  for (auto& r : req)
    ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, r), Status::Ok());
  ASSERT_TRUE(pump([&] {
    return count(recv_ev, Kind::kChannelReady) + count(recv_ev, Kind::kChannelFailed) == 3 &&
           count(send_ev, Kind::kSendReady) == 2;
  }));
  const Event* failed = find(recv_ev, Kind::kChannelFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->req_id, req[2]);
  EXPECT_EQ(failed->reason, Reason::kQuotaExceeded);
  const Event* refused = find(send_ev, Kind::kChannelRefused);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, Reason::kQuotaExceeded);
  EXPECT_EQ(refused->peer.node, kRecvNode);
  EXPECT_EQ(refused->peer.part, kRecvPart);
  PartInfo pi;
  ASSERT_TRUE(recv_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 2);  // the failed request's endpoint was released
  ASSERT_TRUE(send_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 2);
  EXPECT_EQ(pi.quota, 2);
  uint32_t q = 0;
  ASSERT_TRUE(send_agent.reject_count(Reason::kQuotaExceeded, q).ok());
  EXPECT_EQ(q, 1u);
}

TEST_F(TwoNodes, ReceiverQuotaExhaustionFailsAtOnce) {
  uint16_t ep = 0;
  for (int i = 0; i < 4; ++i) ASSERT_EQ(recv_agent.alloc_endpoint(ep), Status::Ok());
  uint16_t req = 0;
  EXPECT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req),
            Status::Err(Result::kRejected, Reason::kQuotaExceeded));
  round();
  EXPECT_TRUE(recv_ev.empty());
  EXPECT_TRUE(send_ev.empty());  // nothing was sent
}

TEST_F(TwoNodes, CancelledRequestReleasesItsEndpoint) {
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  ASSERT_EQ(recv_agent.cancel_request(req), Status::Ok());
  EXPECT_EQ(recv_agent.cancel_request(req), Status::Err(Result::kBadArg));
  PartInfo pi;
  ASSERT_TRUE(recv_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
  // The sender's agent granted an endpoint before the CHAN_CANCEL arrived and
  // releases it; the late CHAN_INFO is ignored by the receiver's agent.
  ASSERT_TRUE(pump([&] {
    return find(recv_ev, Kind::kMgmtIgnored) != nullptr && find(send_ev, Kind::kRequestCancelled) != nullptr;
  }));
  EXPECT_EQ(find(recv_ev, Kind::kMgmtIgnored)->req_id, req);
  EXPECT_EQ(find(send_ev, Kind::kRequestCancelled)->req_id, req);
  ASSERT_TRUE(fab.run_until_idle());
  round();
  ASSERT_TRUE(send_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
  EXPECT_EQ(count(send_ev, Kind::kSendReady), 0u);
  EXPECT_EQ(count(recv_ev, Kind::kChannelReady), 0u);
}

// A CONNECT to the wrong (FREE) endpoint is NACKed NOT_OPEN without a key:
// the receiver's CMM does not believe a keyless NACK (UNAUTH_RESPONSE), so the
// agent's bounded CONNECT re-sends end the request (CONNECT_TIMEOUT).
TEST_F(TwoNodes, ConnectToAWrongEndpointFailsAfterBoundedTriesAndStoresNoKey) {
  // The fabric corrupts the CHAN_INFO's send endpoint (word 1, bits 7:0) to a FREE one.
  fab.set_filter([](uint8_t, Packet& p) {
    chan_proto::Msg m;
    MgmtWords w{p.hdr.key[0], p.hdr.key[1], p.hdr.key[2], p.hdr.key[3]};
    if (p.hdr.opcode == static_cast<uint8_t>(Opcode::kMgmt) && chan_proto::decode(w, m) &&
        m.type == chan_proto::Type::kChanInfo) {
      m.ep = 15;
      const MgmtWords nw = chan_proto::encode(m);
      for (size_t i = 0; i < nw.size(); ++i) p.hdr.key[i] = nw[i];
    }
    return true;
  });
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  ASSERT_TRUE(run_for(32 * test_config().connect_timeout, [&] {
    return find(recv_ev, Kind::kChannelFailed) && find(send_ev, Kind::kRequestCancelled);
  }));
  const Event* f = find(recv_ev, Kind::kChannelFailed);
  EXPECT_EQ(f->req_id, req);
  EXPECT_EQ(f->agent_reason, AgentReason::kConnectTimeout);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kUnauthResponse, n).ok());
  EXPECT_EQ(n, test_config().connect_tries);  // one keyless NACK per CONNECT sent
  ASSERT_TRUE(send_agent.reject_count(Reason::kNotOpen, n).ok());
  EXPECT_EQ(n, test_config().connect_tries + 1u);  // the CONNECTs and the giving-up CLOSE
  PartInfo pi;
  ASSERT_TRUE(recv_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
  // The real send endpoint never got a key (I3); the receiver's CHAN_CANCEL
  // makes the sender's agent release it.
  EXPECT_EQ(find(send_ev, Kind::kRequestCancelled)->agent_reason, AgentReason::kConnectTimeout);
  EXPECT_EQ(find(send_ev, Kind::kSendReady), nullptr);
  for (uint32_t e = 0; e < kNumEndpoints; ++e) EXPECT_FALSE(snode.core().key_valid(e));
  ASSERT_TRUE(send_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
}

TEST_F(TwoNodes, MgmtQueueFullIsRetriedUntilTheRequestGetsThrough) {
  // Another partition of node 202 fills the sender partition's MGMT queue.
  CoreRegIf noise_bus(rnode, 5, Priv::kKernel, 0);
  KernelAgent noise(noise_bus, 5);
  ASSERT_EQ(noise.init(), Status::Ok());
  for (uint32_t i = 0; i < kMgmtqDepth; ++i)
    ASSERT_EQ(noise.send_mgmt(kSendNode, kSendPart, MgmtWords{0x1000 + i, 0, 0, 0}), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());

  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  // Receiver's agent sees the MGMT NACK in its error log and re-sends.
  ASSERT_EQ(recv_agent.poll(), Status::Ok());
  drain(recv_agent, recv_ev);
  const Event* nack = find(recv_ev, Kind::kErrorLogged);
  ASSERT_NE(nack, nullptr);
  EXPECT_EQ(nack->error.reason, Reason::kMgmtqFull);
  EXPECT_EQ(nack->error.opcode, static_cast<uint8_t>(Opcode::kMgmt));
  EXPECT_EQ(nack->error.src_node, kSendNode);

  ASSERT_TRUE(pump([&] {
    return find(recv_ev, Kind::kChannelReady, req) && find(send_ev, Kind::kSendReady, req);
  }));
  EXPECT_EQ(count(send_ev, Kind::kMgmtOther), kMgmtqDepth);
  EXPECT_EQ(find(send_ev, Kind::kMgmtOther)->mgmt.src_part, 5);
  EXPECT_EQ(count(recv_ev, Kind::kChannelFailed), 0u);
}

// MGMT NACKs name no partition and are only node-authenticated: the agent
// re-sends a bounded number of times, and the request fails only when it
// expires, with the last NACK reason.
TEST_F(TwoNodes, MgmtQueueStayingFullFailsTheRequestWhenItExpires) {
  CoreRegIf noise_bus(rnode, 5, Priv::kKernel, 0);
  KernelAgent noise(noise_bus, 5);
  ASSERT_EQ(noise.init(), Status::Ok());
  for (uint32_t i = 0; i < kMgmtqDepth; ++i)
    ASSERT_EQ(noise.send_mgmt(kSendNode, kSendPart, MgmtWords{0x1000 + i, 0, 0, 0}), Status::Ok());
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  // The sender's agent does not run: its queue stays full.
  const uint64_t end = fab.cycle() + test_config().request_timeout + 1000;
  while (fab.cycle() < end && !find(recv_ev, Kind::kChannelFailed)) {
    ASSERT_EQ(recv_agent.poll(), Status::Ok());
    drain(recv_agent, recv_ev);
    fab.run(50);
  }
  const Event* f = find(recv_ev, Kind::kChannelFailed);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->req_id, req);
  EXPECT_EQ(f->reason, Reason::kMgmtqFull);
  EXPECT_EQ(f->agent_reason, AgentReason::kRequestExpired);
  EXPECT_EQ(recv_agent.stats().mgmt_resends, test_config().mgmt_tries);
  EXPECT_EQ(recv_agent.stats()[AgentReason::kRequestExpired], 1u);
  EXPECT_GE(logged(recv_ev, Reason::kMgmtqFull), 1u + test_config().mgmt_tries);  // first try + re-sends
  PartInfo pi;
  ASSERT_TRUE(recv_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 0);
}

// A MGMT message of the id exchange lost in the fabric draws no NACK: the
// receiver's agent re-sends its CHAN_REQ after mgmt_timeout (request_timeout
// / 8) and the channel opens, with one endpoint on each side.
static bool drop_first(chan_proto::Type lose, bool& dropped, Packet& p) {
  chan_proto::Msg m;
  const MgmtWords w{p.hdr.key[0], p.hdr.key[1], p.hdr.key[2], p.hdr.key[3]};
  if (dropped || p.hdr.opcode != static_cast<uint8_t>(Opcode::kMgmt) || !chan_proto::decode(w, m) || m.type != lose)
    return true;
  dropped = true;
  return false;
}

TEST_F(TwoNodes, LostChanReqIsResentOnTimeoutAndTheChannelOpens) {
  bool dropped = false;
  fab.set_filter([&](uint8_t, Packet& p) { return drop_first(chan_proto::Type::kChanReq, dropped, p); });
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  ASSERT_TRUE(run_for(test_config().request_timeout, [&] {
    return find(recv_ev, Kind::kChannelReady, req) && find(send_ev, Kind::kSendReady, req);
  })) << "channel did not open";
  EXPECT_TRUE(dropped);
  EXPECT_EQ(recv_agent.stats().mgmt_timeouts, 1u);
  EXPECT_EQ(recv_agent.stats().mgmt_resends, 1u);
  EXPECT_EQ(send_agent.stats().mgmt_duplicates, 0u);  // the first CHAN_REQ it saw was the re-sent one
  EXPECT_EQ(count(recv_ev, Kind::kChannelFailed), 0u);
  EXPECT_EQ(recv_agent.stats().total_refused() + send_agent.stats().total_refused(), 0u);
  PartInfo rp, sp;
  ASSERT_TRUE(recv_agent.part_info(rp).ok());
  ASSERT_TRUE(send_agent.part_info(sp).ok());
  EXPECT_EQ(rp.used, 1);
  EXPECT_EQ(sp.used, 1);
  // The channel carries data.
  Endpoint tx(send_ubus, find(send_ev, Kind::kSendReady, req)->ep);
  Endpoint rx(recv_ubus, find(recv_ev, Kind::kChannelReady, req)->ep);
  ASSERT_EQ(tx.send("hi", 2, 7), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  char buf[4];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(info.tag, 7);
}

// The CHAN_INFO is lost: the re-sent CHAN_REQ is answered again with the
// same grant (no second endpoint on the sender's side).
TEST_F(TwoNodes, LostChanInfoIsAnsweredAgainWithTheSameGrant) {
  bool dropped = false;
  fab.set_filter([&](uint8_t, Packet& p) { return drop_first(chan_proto::Type::kChanInfo, dropped, p); });
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  ASSERT_TRUE(run_for(test_config().request_timeout, [&] {
    return find(recv_ev, Kind::kChannelReady, req) && find(send_ev, Kind::kSendReady, req);
  })) << "channel did not open";
  EXPECT_TRUE(dropped);
  EXPECT_EQ(recv_agent.stats().mgmt_timeouts, 1u);
  EXPECT_EQ(send_agent.stats().mgmt_duplicates, 1u);
  EXPECT_EQ(count(send_ev, Kind::kSendReady), 1u);
  EXPECT_EQ(recv_agent.stats().total_refused() + send_agent.stats().total_refused(), 0u);
  PartInfo sp;
  ASSERT_TRUE(send_agent.part_info(sp).ok());
  EXPECT_EQ(sp.used, 1);
  uint32_t v = 0;
  ASSERT_TRUE(send_agent.stat(CmmCore::kStatMgmtSent, v).ok());
  EXPECT_EQ(v, 2u);  // CHAN_INFO twice, for one grant
}

TEST_F(TwoNodes, ChannelBetweenTwoPartitionsOfOneNode) {
  // Partition 1 of node 202 sends to partition 3 (receiver) on the same CMM.
  CoreRegIf k1(rnode, 1, Priv::kKernel, 0);
  CoreRegIf u1(rnode, 1, Priv::kUser, 77);
  KernelAgent a1(k1, 11);
  ASSERT_EQ(a1.init(), Status::Ok());
  uint16_t req = 0;
  ASSERT_EQ(recv_agent.request_channel(ChannelRequest{kRecvNode, 1, 77, kRecvPid}, req), Status::Ok());
  std::vector<Event> ev1;
  ASSERT_TRUE(pump([&] {
    EXPECT_EQ(a1.poll(), Status::Ok());
    drain(a1, ev1);
    return find(recv_ev, Kind::kChannelReady, req) && find(ev1, Kind::kSendReady, req);
  }));
  Endpoint tx(u1, find(ev1, Kind::kSendReady)->ep), rx(recv_ubus, find(recv_ev, Kind::kChannelReady)->ep);
  ASSERT_EQ(tx.send("local", 5, 3), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  char buf[8];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "local");
}

TEST_F(TwoNodes, ChannelCanBeReopenedWithAFreshKeyAfterClose) {
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  ASSERT_EQ(send_agent.close(sep), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kPeerClosed) != nullptr; }));
  ASSERT_EQ(send_agent.free_endpoint(sep), Status::Ok());
  ASSERT_EQ(recv_agent.free_endpoint(rep), Status::Ok());
  recv_ev.clear();
  send_ev.clear();
  uint16_t rep2 = 0, sep2 = 0;
  open_channel(rep2, sep2);
  EXPECT_EQ(rep2, rep);  // the lowest free endpoints again
  EXPECT_EQ(sep2, sep);
  Endpoint tx(send_ubus, sep2), rx(recv_ubus, rep2);
  ASSERT_EQ(tx.send("again", 5, 2), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  char buf[8];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "again");
  EXPECT_EQ(count(recv_ev, Kind::kErrorLogged) + count(send_ev, Kind::kErrorLogged), 0u);
}

TEST_F(TwoNodes, EachAgentCanBeSenderAndReceiverAtOnce) {
  // 216 <- 2202 (as always) and 2202 <- 216 in the other direction.
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  uint16_t back = 0;
  ASSERT_EQ(send_agent.request_channel(ChannelRequest{kRecvNode, kRecvPart, kRecvPid, kSendPid}, back), Status::Ok());
  ASSERT_TRUE(pump([&] {
    return find(send_ev, Kind::kChannelReady, back) && find(recv_ev, Kind::kSendReady, back);
  }));
  Endpoint back_tx(recv_ubus, find(recv_ev, Kind::kSendReady, back)->ep);
  Endpoint back_rx(send_ubus, find(send_ev, Kind::kChannelReady, back)->ep);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  ASSERT_EQ(tx.send("ping", 4, 1), Status::Ok());
  ASSERT_EQ(back_tx.send("pong", 4, 2), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  char buf[8];
  RxInfo info;
  ASSERT_EQ(rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "ping");
  ASSERT_EQ(back_rx.receive(buf, sizeof buf, info), Status::Ok());
  EXPECT_EQ(std::string(buf, info.len), "pong");
  PartInfo pi;
  ASSERT_TRUE(send_agent.part_info(pi).ok());
  EXPECT_EQ(pi.used, 2);
}

TEST_F(TwoNodes, ManualSetupWithTheLowLevelCalls) {
  // The same channel without the protocol: the agents' individual operations.
  uint16_t rep = 0, sep = 0;
  ASSERT_EQ(recv_agent.alloc_endpoint(rep), Status::Ok());
  ASSERT_EQ(send_agent.alloc_endpoint(sep), Status::Ok());
  uint8_t rgen = 0, sgen = 0, unused = 0;
  ASSERT_EQ(recv_agent.read_gen(rep, rgen, unused), Status::Ok());
  ASSERT_EQ(send_agent.read_gen(sep, sgen, unused), Status::Ok());
  ASSERT_EQ(recv_agent.configure(rep, Dir::kRecv, kRecvPid, PeerId{kSendNode, kSendPart, sep}, sgen), Status::Ok());
  ASSERT_EQ(send_agent.configure(sep, Dir::kSend, kSendPid, PeerId{kRecvNode, kRecvPart, rep}, rgen), Status::Ok());
  ASSERT_EQ(send_agent.authorize(sep), Status::Ok());
  ASSERT_EQ(recv_agent.authorize(rep), Status::Ok());
  const ChannelKey key{0x01234567, 0x89ABCDEF, 0x0F1E2D3C, 0x4B5A6978};
  ASSERT_EQ(recv_agent.connect(rep, key), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kChannelReady) && find(send_ev, Kind::kSendReady); }));
  EXPECT_EQ(find(recv_ev, Kind::kChannelReady)->req_id, kNoRequest);
  EXPECT_TRUE(rnode.core().key_equals_for_test(rep, key));
  EXPECT_TRUE(snode.core().key_equals_for_test(sep, key));
  // A configured entry is frozen once authorized.
  EXPECT_EQ(send_agent.set_owner(sep, 1), Status::Err(Result::kRejected, Reason::kNotOpen));
  EXPECT_EQ(send_agent.set_remote_gen(sep, 1), Status::Err(Result::kRejected, Reason::kNotOpen));
}

TEST_F(TwoNodes, ManualSetupWithoutTheGenerationExchangeNeverOpens) {
  // Without CST_GEN.REMOTE the CONNECT carries a stale epoch: NACKed STALE_GEN,
  // no key stored at the sender.
  uint16_t rep = 0, sep = 0;
  ASSERT_EQ(recv_agent.alloc_endpoint(rep), Status::Ok());
  ASSERT_EQ(send_agent.alloc_endpoint(sep), Status::Ok());
  ASSERT_EQ(recv_agent.configure(rep, Dir::kRecv, kRecvPid, PeerId{kSendNode, kSendPart, sep}), Status::Ok());
  ASSERT_EQ(send_agent.configure(sep, Dir::kSend, kSendPid, PeerId{kRecvNode, kRecvPart, rep}), Status::Ok());
  ASSERT_EQ(send_agent.authorize(sep), Status::Ok());
  ASSERT_EQ(recv_agent.authorize(rep), Status::Ok());
  ASSERT_EQ(recv_agent.connect(rep), Status::Ok());
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kChannelFailed) != nullptr; }));
  EXPECT_EQ(find(recv_ev, Kind::kChannelFailed)->reason, Reason::kStaleGen);
  EXPECT_FALSE(snode.core().key_valid(sep));
  uint32_t n = 0;
  ASSERT_TRUE(send_agent.reject_count(Reason::kStaleGen, n).ok());
  EXPECT_EQ(n, 1u);
}

// ------------------------------------------------------------------ key_source = hardware

class TwoNodesHwKey : public TwoNodes {
 protected:
  static AgentConfig hw() {
    AgentConfig c = test_config();
    c.key_source = KeySource::kHardware;
    return c;
  }
  TwoNodesHwKey() : TwoNodes(hw(), test_config()) {}
  const Key kSeed{0xA1B2C3D4u, 0x10203040u, 0x55667788u, 0x99AABBCCu};
  // SipHash-2-4-128(seed, le64(ctr) || le64(node)), as docs/security.md 1.10 defines it.
  static Key hw_key(const Key& seed, uint64_t ctr, uint16_t node) {
    uint8_t k[16], m[16];
    for (uint32_t i = 0; i < 16; ++i) {
      k[i] = static_cast<uint8_t>(seed[i / 4] >> (8 * (i % 4)));
      m[i] = static_cast<uint8_t>((i < 8 ? ctr : uint64_t{node}) >> (8 * (i % 8)));
    }
    const auto out = sip::hash128(k, m, 16);
    Key key{};
    for (uint32_t i = 0; i < 16; ++i) key[i / 4] |= uint32_t{out[i]} << (8 * (i % 4));
    return key;
  }
  uint16_t request() {
    uint16_t req = 0;
    EXPECT_EQ(recv_agent.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req),
              Status::Ok());
    return req;
  }
};

TEST_F(TwoNodesHwKey, ChannelOpensWithTheGeneratorsKeyAndCarriesData) {
  rnode.seed(kSeed);
  uint16_t rep = 0, sep = 0;
  open_channel(rep, sep);
  const Key k = hw_key(kSeed, 0, kRecvNode);
  EXPECT_TRUE(rnode.core().key_equals_for_test(rep, k));  // software never had it
  EXPECT_TRUE(snode.core().key_equals_for_test(sep, k));
  CstInfo r;
  ASSERT_EQ(recv_agent.read_cst(rep, r), Status::Ok());
  EXPECT_EQ(r.key_origin, Origin::kLocal);
  Endpoint tx(send_ubus, sep), rx(recv_ubus, rep);
  const auto msg = pattern(100, 7);
  ASSERT_EQ(tx.send(msg.data(), msg.size(), 9), Status::Ok());
  ASSERT_TRUE(fab.run_until_idle());
  std::vector<uint8_t> buf(kMaxMsgBytes);
  RxInfo info;
  ASSERT_EQ(rx.receive(buf.data(), buf.size(), info), Status::Ok());
  EXPECT_EQ(info.tag, 9);
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + 100), msg);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kKeyGenNotReady, n).ok());
  EXPECT_EQ(n, 0u);
}

TEST_F(TwoNodesHwKey, TwoChannelsAtOnceShareTheGeneratorByRetrying) {
  rnode.seed(kSeed);
  const uint16_t a = request(), b = request();
  ASSERT_TRUE(pump([&] {
    return find(recv_ev, Kind::kChannelReady, a) && find(recv_ev, Kind::kChannelReady, b) &&
           count(send_ev, Kind::kSendReady) == 2;
  })) << "channels did not open";
  const uint8_t ea = find(recv_ev, Kind::kChannelReady, a)->ep, eb = find(recv_ev, Kind::kChannelReady, b)->ep;
  // Both answers came in one poll: the second CONNECT met the generator busy and was retried.
  EXPECT_GE(recv_agent.stats().keygen_retries, 1u);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kKeyGenNotReady, n).ok());
  EXPECT_EQ(n, recv_agent.stats().keygen_retries);
  const Key k0 = hw_key(kSeed, 0, kRecvNode), k1 = hw_key(kSeed, 1, kRecvNode);
  EXPECT_TRUE(rnode.core().key_equals_for_test(ea, k0));
  EXPECT_TRUE(rnode.core().key_equals_for_test(eb, k1));
  EXPECT_EQ(count(recv_ev, Kind::kChannelFailed), 0u);
}

TEST_F(TwoNodesHwKey, UnseededGeneratorFailsTheRequestWithKeyGenNotReady) {
  const uint16_t req = request();
  ASSERT_TRUE(pump([&] { return find(recv_ev, Kind::kChannelFailed, req) != nullptr; }, 400));
  EXPECT_EQ(find(recv_ev, Kind::kChannelFailed, req)->reason, Reason::kKeyGenNotReady);
  const uint8_t tries = AgentConfig{}.keygen_tries;
  EXPECT_EQ(recv_agent.stats().keygen_retries, tries - 1u);
  uint32_t n = 0;
  ASSERT_TRUE(recv_agent.reject_count(Reason::kKeyGenNotReady, n).ok());
  EXPECT_EQ(n, tries);
  // The grant is withdrawn at the sender and both endpoints are released.
  ASSERT_TRUE(pump([&] { return find(send_ev, Kind::kRequestCancelled) != nullptr; }));
  PartInfo pi;
  ASSERT_EQ(recv_agent.part_info(pi), Status::Ok());
  EXPECT_EQ(pi.used, 0);
  ASSERT_EQ(send_agent.part_info(pi), Status::Ok());
  EXPECT_EQ(pi.used, 0);
}

// The CMMs' geometry is chosen at run time: the agents read it at init() and
// use endpoints beyond the default table (ids >= 16), the user library too.
TEST(RunTimeGeometry, AgentsAdoptTheDeviceGeometryAndUseHighEndpoints) {
  CoreParams p;
  p.geo.num_endpoints = 48;
  p.geo.rxq_depth = 6;
  std::array<uint8_t, kNumPartitions> q{};
  q[kRecvPart] = 24;
  q[kSendPart] = 24;
  LoopbackFabric fab;
  SimNode& rnode = fab.add_node(kRecvNode, q, p);
  SimNode& snode = fab.add_node(kSendNode, q, p);
  CoreRegIf rk{rnode, kRecvPart, Priv::kKernel, 0}, ru{rnode, kRecvPart, Priv::kUser, kRecvPid};
  CoreRegIf sk{snode, kSendPart, Priv::kKernel, 0}, su{snode, kSendPart, Priv::kUser, kSendPid};
  KernelAgent ra(rk, 1), sa(sk, 2);
  ra.set_clock([&] { return fab.cycle(); });
  sa.set_clock([&] { return fab.cycle(); });
  ASSERT_EQ(ra.init(), Status::Ok());
  ASSERT_EQ(sa.init(), Status::Ok());
  EXPECT_EQ(ra.device_geometry().num_endpoints, 48u);
  EXPECT_EQ(ra.device_geometry().rxq_depth, 6u);
  // 20 channels: both sides end up above the default table's 16 entries.
  std::vector<Event> rev, sev;
  for (int i = 0; i < 20; ++i) {
    uint16_t req = 0;
    ASSERT_EQ(ra.request_channel(ChannelRequest{kSendNode, kSendPart, kSendPid, kRecvPid}, req), Status::Ok());
  }
  auto ready = [&](const std::vector<Event>& v, Kind k) {
    return std::count_if(v.begin(), v.end(), [k](const Event& e) { return e.kind == k; });
  };
  for (int r = 0; r < 4000 && (ready(rev, Kind::kChannelReady) < 20 || ready(sev, Kind::kSendReady) < 20); ++r) {
    ASSERT_EQ(ra.poll(), Status::Ok());
    ASSERT_EQ(sa.poll(), Status::Ok());
    Event e;
    while (ra.next_event(e)) rev.push_back(e);
    while (sa.next_event(e)) sev.push_back(e);
    fab.run(4);
  }
  ASSERT_EQ(ready(rev, Kind::kChannelReady), 20);
  ASSERT_EQ(ready(sev, Kind::kSendReady), 20);
  uint16_t rep = 0, sep = 0;
  for (const Event& e : rev)
    if (e.kind == Kind::kChannelReady) rep = std::max(rep, e.ep);
  for (const Event& e : sev)
    if (e.kind == Kind::kSendReady && e.peer.ep == rep) sep = e.ep;
  EXPECT_GE(rep, 16);
  // Six messages fill the 6-slot receive queue of the high endpoint.
  Endpoint tx(su, sep, sa.device_geometry().num_endpoints), rx(ru, rep, ra.device_geometry().num_endpoints);
  const auto data = pattern(40, 9);
  for (uint16_t t = 0; t < 6; ++t) {
    ASSERT_EQ(tx.send(data.data(), data.size(), t), Status::Ok());
    fab.run_until_idle();
  }
  EXPECT_EQ(rnode.core().rxq_count(rep), 6u);
  std::vector<uint8_t> got(64);
  RxInfo info;
  ASSERT_EQ(rx.receive(got.data(), got.size(), info), Status::Ok());
  EXPECT_EQ(info.len, data.size());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), got.begin()));
  EXPECT_EQ(rnode.buffer_errors() + snode.buffer_errors(), 0u);
}

}  // namespace
}  // namespace cmm::sw::testing
