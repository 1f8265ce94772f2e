#include "cmm_sw/kernel_agent.h"

#include <cstdio>
#include <utility>

namespace cmm::sw {

using regs::Cmd;
using regs::Dir;
using regs::Reason;
using regs::State;

namespace {

constexpr uint32_t kIrqAll = regs::CMM_IRQ_STATUS_BITS_MASK << regs::CMM_IRQ_STATUS_BITS_LSB;
constexpr uint32_t bit(regs::Irq b) { return 1u << static_cast<uint32_t>(b); }
constexpr uint32_t u(Cmd c) { return static_cast<uint32_t>(c); }
constexpr uint32_t u(Dir d) { return static_cast<uint32_t>(d); }
// Events one serviced item (error-log entry, MGMT message) can produce at most.
constexpr size_t kReserve = regs::kNumEndpoints + 2;

}  // namespace

void secure_zero(ChannelKey& k) {
  volatile uint32_t* p = k.data();
  for (size_t i = 0; i < k.size(); ++i) p[i] = 0;
}

ErrorEntry ErrorEntry::decode(uint32_t w) {
  ErrorEntry e;
  e.reason = static_cast<Reason>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_REASON));
  e.ep = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EP));
  e.opcode = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_OPCODE));
  e.from_fabric = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_FROM_FABRIC) != 0;
  e.exception = CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_EXCEPTION) != 0;
  e.src_node = static_cast<uint8_t>(CMM_FIELD_GET(w, CMM_ERRLOG_HEAD_SRC_NODE));
  return e;
}

std::string_view to_string(Event::Kind k) {
  switch (k) {
    case Event::Kind::kChannelReady: return "ChannelReady";
    case Event::Kind::kChannelFailed: return "ChannelFailed";
    case Event::Kind::kSendReady: return "SendReady";
    case Event::Kind::kChannelRefused: return "ChannelRefused";
    case Event::Kind::kRequestCancelled: return "RequestCancelled";
    case Event::Kind::kPeerClosed: return "PeerClosed";
    case Event::Kind::kTxNacked: return "TxNacked";
    case Event::Kind::kRxPending: return "RxPending";
    case Event::Kind::kErrorLogged: return "ErrorLogged";
    case Event::Kind::kErrorsLost: return "ErrorsLost";
    case Event::Kind::kMgmtIgnored: return "MgmtIgnored";
    case Event::Kind::kMgmtOther: return "MgmtOther";
  }
  return "?";
}

std::string Event::str() const {
  char b[200];
  if (kind == Kind::kErrorLogged) {
    std::snprintf(b, sizeof b, "ErrorLogged %s ep=%u opcode=%s%s%s src_node=%u",
                  std::string(regs::reason_name(static_cast<uint32_t>(error.reason))).c_str(), error.ep,
                  error.opcode ? std::string(regs::opcode_name(error.opcode)).c_str() : "-",
                  error.from_fabric ? " fabric" : "", error.exception ? " EXCEPTION" : "", error.src_node);
  } else {
    std::snprintf(b, sizeof b, "%s req=%u ep=%u pid=%u peer=%u.%u.%u reason=%s count=%u",
                  std::string(to_string(kind)).c_str(), req_id, ep, pid, peer.node, peer.part, peer.ep,
                  std::string(regs::reason_name(static_cast<uint32_t>(reason))).c_str(), count);
  }
  return b;
}

KernelAgent::KernelAgent(RegIf& bus, uint64_t key_seed) : bus_(bus), keygen_(key_seed) {}

// ------------------------------------------------------------------ helpers

uint32_t KernelAgent::cst_addr(uint8_t ep, uint32_t off) {
  return regs::CMM_CST_BASE + static_cast<uint32_t>(ep) * regs::CMM_CST_STRIDE + off;
}

Status KernelAgent::guard_ep(uint8_t ep) const {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (ep >= regs::kNumEndpoints) return Status::Err(Result::kBadArg, Reason::kBadEp);
  return Status::Ok();
}

Status KernelAgent::read(uint32_t addr, uint32_t& v) {
  v = 0;
  return from_bus(bus_.read32(addr, v));
}

// CMD write; on REJECT the reason comes from CMD_STATUS.
Status KernelAgent::command(Cmd op, uint8_t ep) {
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, u(op));
  w = CMM_FIELD_SET(w, CMM_CMD_EP, ep);
  const BusStatus b = bus_.write32(regs::CMM_CMD_OFFSET, w);
  if (b != BusStatus::kReject) return from_bus(b);
  uint32_t st = 0;
  const Status s = read(regs::CMM_CMD_STATUS_OFFSET, st);
  if (!s.ok()) return s;
  return Status::Err(Result::kRejected, static_cast<Reason>(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON)));
}

Status KernelAgent::stage_key(const ChannelKey& key) {
  for (uint32_t i = 0; i < regs::kKeyWords; ++i) {
    const Status s = from_bus(bus_.write32(regs::CMM_KEY_OFFSET + i * regs::CMM_KEY_STRIDE, key[i]));
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

ChannelKey KernelAgent::next_key() {
  ChannelKey k{};
  for (uint32_t i = 0; i < regs::kKeyWords; i += 2) {
    const uint64_t r = keygen_();
    k[i] = static_cast<uint32_t>(r);
    if (i + 1 < regs::kKeyWords) k[i + 1] = static_cast<uint32_t>(r >> 32);
  }
  return k;
}

void KernelAgent::push(const Event& ev) {
  if (ev_count_ == kEventCapacity) return;  // callers reserve room first; never reached
  ev_[(ev_head_ + ev_count_) % kEventCapacity] = ev;
  ++ev_count_;
}

bool KernelAgent::next_event(Event& ev) {
  if (ev_count_ == 0) return false;
  ev = ev_[ev_head_];
  ev_head_ = (ev_head_ + 1) % kEventCapacity;
  --ev_count_;
  return true;
}

Event KernelAgent::chan_event(Event::Kind k, uint8_t ep) const {
  const Chan& c = chan_[ep];
  Event ev;
  ev.kind = k;
  ev.ep = ep;
  ev.req_id = c.req_id;
  ev.pid = c.pid;
  ev.peer = c.peer;
  return ev;
}

// ------------------------------------------------------------------ bring-up

Status KernelAgent::init() {
  initialized_ = false;
  uint32_t v = 0;
  Status s = read(regs::CMM_ID_OFFSET, v);
  if (!s.ok()) return s;
  if (CMM_FIELD_GET(v, CMM_ID_MAGIC) != regs::kMagic) return Status::Err(Result::kBadDevice);
  s = read(regs::CMM_GEOMETRY_OFFSET, v);
  if (!s.ok()) return s;
  if (CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_EP) != regs::kNumEndpoints ||
      CMM_FIELD_GET(v, CMM_GEOMETRY_NUM_PART) != regs::kNumPartitions ||
      CMM_FIELD_GET(v, CMM_GEOMETRY_RXQ_DEPTH) != regs::kRxqDepth ||
      CMM_FIELD_GET(v, CMM_GEOMETRY_KEY_WORDS) != regs::kKeyWords)
    return Status::Err(Result::kBadDevice);
  s = read(regs::CMM_NODE_ID_OFFSET, v);
  if (!s.ok()) return s;
  const uint8_t node = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_NODE_ID_NODE));
  s = read(regs::CMM_PART_INFO_OFFSET, v);
  if (!s.ok()) return s;
  const uint8_t part = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_PART));
  const uint8_t quota = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_QUOTA));
  s = from_bus(bus_.write32(regs::CMM_IRQ_STATUS_OFFSET, kIrqAll));
  if (!s.ok()) return s;
  s = from_bus(bus_.write32(regs::CMM_IRQ_ENABLE_OFFSET, kIrqAll));
  if (!s.ok()) return s;
  node_ = node;
  part_ = part;
  quota_ = quota;
  chan_.fill(Chan{});
  errlog_lost_seen_ = 0;
  deferred_ = kIrqAll;  // the first poll() looks at every queue: causes cleared above are not lost
  ev_head_ = ev_count_ = 0;
  initialized_ = true;
  return Status::Ok();
}

// ------------------------------------------------------------------ endpoint / CST operations

Status KernelAgent::alloc_endpoint(uint8_t& ep) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CMD_OP, u(Cmd::kAlloc));
  const BusStatus b = bus_.write32(regs::CMM_CMD_OFFSET, w);
  if (b != BusStatus::kOk && b != BusStatus::kReject) return from_bus(b);
  uint32_t st = 0;
  const Status s = read(regs::CMM_CMD_STATUS_OFFSET, st);
  if (!s.ok()) return s;
  const auto why = static_cast<Reason>(CMM_FIELD_GET(st, CMM_CMD_STATUS_REASON));
  if (b == BusStatus::kReject || why != Reason::kOk) return Status::Err(Result::kRejected, why);
  const uint32_t e = CMM_FIELD_GET(st, CMM_CMD_STATUS_EP);
  if (e >= regs::kNumEndpoints) return Status::Err(Result::kBadDevice, Reason::kBadEp);
  ep = static_cast<uint8_t>(e);
  chan_[ep] = Chan{};
  chan_[ep].track = Track::kAllocated;
  return Status::Ok();
}

Status KernelAgent::set_direction(uint8_t ep, Dir dir) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CST_CTRL_DIR, u(dir));
  const Status s = from_bus(bus_.write32(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), w), Reason::kNotOpen);
  if (s.ok()) chan_[ep].dir = dir;
  return s;
}

Status KernelAgent::set_owner(uint8_t ep, uint16_t pid) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const uint32_t w = CMM_FIELD_SET(0u, CMM_CST_OWNER_PID, pid);
  const Status s = from_bus(bus_.write32(cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), w), Reason::kNotOpen);
  if (s.ok()) chan_[ep].pid = pid;
  return s;
}

Status KernelAgent::set_remote(uint8_t ep, const PeerId& r) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (r.part >= regs::kNumPartitions || r.ep >= regs::kNumEndpoints)
    return Status::Err(Result::kBadArg, Reason::kBadField);
  uint32_t w = 0;
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_NODE, r.node);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_PART, r.part);
  w = CMM_FIELD_SET(w, CMM_CST_REMOTE_EP, r.ep);
  const Status s = from_bus(bus_.write32(cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), w), Reason::kNotOpen);
  if (s.ok()) chan_[ep].peer = r;
  return s;
}

Status KernelAgent::configure(uint8_t ep, Dir dir, uint16_t owner_pid, const PeerId& remote) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (remote.part >= regs::kNumPartitions || remote.ep >= regs::kNumEndpoints)
    return Status::Err(Result::kBadArg, Reason::kBadField);
  if (Status s = set_direction(ep, dir); !s.ok()) return s;
  if (Status s = set_owner(ep, owner_pid); !s.ok()) return s;
  return set_remote(ep, remote);
}

Status KernelAgent::authorize(uint8_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = command(Cmd::kAuthorize, ep);
  if (s.ok()) chan_[ep].track = Track::kAuthorized;
  return s;
}

Status KernelAgent::connect(uint8_t ep, const ChannelKey& key) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (Status s = stage_key(key); !s.ok()) return s;
  const Status s = command(Cmd::kConnect, ep);
  if (s.ok()) chan_[ep].track = Track::kConnecting;
  return s;
}

Status KernelAgent::connect(uint8_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  ChannelKey k = next_key();
  const Status s = connect(ep, k);
  secure_zero(k);
  return s;
}

Status KernelAgent::set_key(uint8_t ep, const ChannelKey& key) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (Status s = stage_key(key); !s.ok()) return s;
  return command(Cmd::kSetKey, ep);
}

Status KernelAgent::set_key(uint8_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  ChannelKey k = next_key();
  const Status s = set_key(ep, k);
  secure_zero(k);
  return s;
}

Status KernelAgent::close(uint8_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = command(Cmd::kClose, ep);
  if (s.ok()) {
    Chan& c = chan_[ep];
    c.track = Track::kAllocated;
    c.proto = false;
    c.req_id = kNoRequest;
    c.retries = 0;
    c.tx_nacks_seen = 0;
  }
  return s;
}

Status KernelAgent::free_endpoint(uint8_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = command(Cmd::kFree, ep);
  if (s.ok()) chan_[ep] = Chan{};
  return s;
}

// ------------------------------------------------------------------ status reads

Status KernelAgent::read_cst(uint8_t ep, CstInfo& out) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  uint32_t ctrl = 0, owner = 0, remote = 0, status = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_OWNER_OFFSET), owner); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_REMOTE_OFFSET), remote); !s.ok()) return s;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), status); !s.ok()) return s;
  CstInfo c;
  c.dir = static_cast<Dir>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_DIR));
  c.state = static_cast<State>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_STATE));
  c.key_valid = CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_VALID) != 0;
  c.key_origin = static_cast<regs::Origin>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_KEY_ORIGIN));
  c.owner_part = static_cast<uint8_t>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_OWNER_PART));
  c.owner_pid = static_cast<uint16_t>(CMM_FIELD_GET(owner, CMM_CST_OWNER_PID));
  c.remote.node = static_cast<uint8_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_NODE));
  c.remote.part = static_cast<uint8_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_PART));
  c.remote.ep = static_cast<uint8_t>(CMM_FIELD_GET(remote, CMM_CST_REMOTE_EP));
  c.rxq_count = static_cast<uint8_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_RXQ_COUNT));
  c.last_reason = static_cast<Reason>(CMM_FIELD_GET(status, CMM_CST_STATUS_LAST_REASON));
  c.tx_nacks = static_cast<uint16_t>(CMM_FIELD_GET(status, CMM_CST_STATUS_TX_NACKS));
  out = c;
  return Status::Ok();
}

Status KernelAgent::endpoint_state(uint8_t ep, State& out) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  uint32_t ctrl = 0;
  if (Status s = read(cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl); !s.ok()) return s;
  out = static_cast<State>(CMM_FIELD_GET(ctrl, CMM_CST_CTRL_STATE));
  return Status::Ok();
}

Status KernelAgent::part_info(PartInfo& out) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_PART_INFO_OFFSET, v); !s.ok()) return s;
  out.part = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_PART));
  out.quota = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_QUOTA));
  out.used = static_cast<uint8_t>(CMM_FIELD_GET(v, CMM_PART_INFO_USED));
  return Status::Ok();
}

Status KernelAgent::reject_count(Reason r, uint32_t& out) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  const auto i = static_cast<uint32_t>(r);
  if (i >= regs::kReasonCount || i >= regs::CMM_REJECT_COUNT_COUNT) return Status::Err(Result::kBadArg);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_REJECT_COUNT_OFFSET + i * regs::CMM_REJECT_COUNT_STRIDE, v); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_REJECT_COUNT_COUNT);
  return Status::Ok();
}

Status KernelAgent::stat(uint32_t index, uint32_t& out) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (index >= regs::CMM_STAT_COUNT) return Status::Err(Result::kBadArg);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_STAT_OFFSET + index * regs::CMM_STAT_STRIDE, v); !s.ok()) return s;
  out = CMM_FIELD_GET(v, CMM_STAT_COUNT);
  return Status::Ok();
}

// ------------------------------------------------------------------ management messages

Status KernelAgent::send_mgmt(uint8_t node, uint8_t part, const MgmtWords& words) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (part >= regs::kNumPartitions) return Status::Err(Result::kBadArg, Reason::kBadPart);
  for (uint32_t i = 0; i < regs::kMgmtWords; ++i) {
    const uint32_t w = CMM_FIELD_SET(0u, CMM_MGMT_TX_WORD, words[i]);
    if (Status s = from_bus(bus_.write32(regs::CMM_MGMT_TX_OFFSET + i * regs::CMM_MGMT_TX_STRIDE, w)); !s.ok())
      return s;
  }
  uint32_t dst = 0;
  dst = CMM_FIELD_SET(dst, CMM_MGMT_DST_NODE, node);
  dst = CMM_FIELD_SET(dst, CMM_MGMT_DST_PART, part);
  if (Status s = from_bus(bus_.write32(regs::CMM_MGMT_DST_OFFSET, dst)); !s.ok()) return s;
  return command(Cmd::kMgmtSend, 0);
}

Status KernelAgent::mgmt_receive(MgmtMessage& out) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t st = 0;
  if (Status s = read(regs::CMM_MGMT_RX_STATUS_OFFSET, st); !s.ok()) return s;
  if (CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT) == 0) return Status::Err(Result::kEmpty, Reason::kRxqEmpty);
  MgmtMessage m;
  m.src_node = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE));
  m.src_part = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART));
  for (uint32_t i = 0; i < regs::kMgmtWords; ++i) {
    uint32_t w = 0;
    if (Status s = read(regs::CMM_MGMT_RX_OFFSET + i * regs::CMM_MGMT_RX_STRIDE, w); !s.ok()) return s;
    m.words[i] = CMM_FIELD_GET(w, CMM_MGMT_RX_WORD);
  }
  if (Status s = command(Cmd::kMgmtPop, 0); !s.ok()) return s;
  out = m;
  return Status::Ok();
}

// ------------------------------------------------------------------ interrupts, error log

Status KernelAgent::irq_status(uint32_t& bits) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t v = 0;
  if (Status s = read(regs::CMM_IRQ_STATUS_OFFSET, v); !s.ok()) return s;
  bits = CMM_FIELD_GET(v, CMM_IRQ_STATUS_BITS);
  return Status::Ok();
}

Status KernelAgent::irq_ack(uint32_t bits) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if ((bits & ~regs::CMM_IRQ_STATUS_BITS_MASK) != 0) return Status::Err(Result::kBadArg);
  return from_bus(bus_.write32(regs::CMM_IRQ_STATUS_OFFSET, CMM_FIELD_SET(0u, CMM_IRQ_STATUS_BITS, bits)));
}

Status KernelAgent::errlog_pop(ErrorEntry& out, uint8_t* lost) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t st = 0;
  if (Status s = read(regs::CMM_ERRLOG_STATUS_OFFSET, st); !s.ok()) return s;
  if (lost) *lost = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST));
  if (CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT) == 0) return Status::Err(Result::kEmpty, Reason::kRxqEmpty);
  uint32_t head = 0;
  if (Status s = read(regs::CMM_ERRLOG_HEAD_OFFSET, head); !s.ok()) return s;
  if (Status s = command(Cmd::kErrlogPop, 0); !s.ok()) return s;
  out = ErrorEntry::decode(head);
  return Status::Ok();
}

// ------------------------------------------------------------------ id exchange

int KernelAgent::find_request(uint16_t req_id) const {
  if (req_id == kNoRequest) return -1;
  for (uint32_t e = 0; e < regs::kNumEndpoints; ++e) {
    const Chan& c = chan_[e];
    if (c.track != Track::kNone && c.proto && c.dir == Dir::kRecv && c.req_id == req_id) return static_cast<int>(e);
  }
  return -1;
}

Status KernelAgent::send_proto(uint8_t node, uint8_t part, const chan_proto::Msg& msg) {
  return send_mgmt(node, part, chan_proto::encode(msg));
}

Status KernelAgent::release(uint8_t ep) {
  const Track t = chan_[ep].track;
  if (t == Track::kAuthorized || t == Track::kConnecting || t == Track::kOpen) {
    if (Status s = close(ep); !s.ok()) return s;
  }
  return free_endpoint(ep);
}

Status KernelAgent::request_channel(const ChannelRequest& req, uint16_t& req_id) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (req.sender_part >= regs::kNumPartitions) return Status::Err(Result::kBadArg, Reason::kBadPart);
  uint8_t ep = 0;
  if (Status s = alloc_endpoint(ep); !s.ok()) return s;
  Status s = set_direction(ep, Dir::kRecv);
  if (s.ok()) s = set_owner(ep, req.recv_pid);
  if (!s.ok()) {
    (void)release(ep);
    return s;
  }
  uint16_t id = next_req_id_;
  while (id == kNoRequest || find_request(id) >= 0) ++id;
  next_req_id_ = static_cast<uint16_t>(id + 1);
  Chan& c = chan_[ep];
  c.proto = true;
  c.req_id = id;
  c.peer_pid = req.sender_pid;
  c.peer = PeerId{req.sender_node, req.sender_part, 0};
  s = send_proto(req.sender_node, req.sender_part, chan_proto::chan_req(id, ep, req.recv_pid, req.sender_pid));
  if (!s.ok()) {
    (void)release(ep);
    return s;
  }
  c.track = Track::kReqSent;
  req_id = id;
  return Status::Ok();
}

Status KernelAgent::cancel_request(uint16_t req_id) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  const int ep = find_request(req_id);
  if (ep < 0) return Status::Err(Result::kBadArg);
  return withdraw(static_cast<uint8_t>(ep), Reason::kOk);
}

// Receiver side: tell the peer to release what it granted, then release ours.
Status KernelAgent::withdraw(uint8_t ep, Reason why) {
  const Chan& c = chan_[ep];
  if (c.track != Track::kAllocated) {
    const Status s = send_proto(c.peer.node, c.peer.part, chan_proto::chan_cancel(c.req_id, why, c.peer_pid));
    if (!s.ok()) {
      (void)release(ep);
      return s;
    }
  }
  return release(ep);
}

Status KernelAgent::fail_request(uint8_t ep, Reason why, bool tell_peer) {
  Event ev = chan_event(Event::Kind::kChannelFailed, ep);
  ev.reason = why;
  push(ev);
  return tell_peer ? withdraw(ep, why) : release(ep);
}

Status KernelAgent::refuse(const MgmtMessage& m, const chan_proto::Msg& msg, Reason why) {
  Event ev;
  ev.kind = Event::Kind::kChannelRefused;
  ev.req_id = msg.req_id;
  ev.pid = msg.send_pid;
  ev.peer = PeerId{m.src_node, m.src_part, msg.ep};
  ev.reason = why;
  push(ev);
  return send_proto(m.src_node, m.src_part, chan_proto::chan_refuse(msg.req_id, why, msg.send_pid));
}

// Sender side: a receiver-side agent asks for a send endpoint.
Status KernelAgent::handle_chan_req(const MgmtMessage& m, const chan_proto::Msg& msg) {
  // A re-sent request (its first answer was lost): answer again, allocate nothing.
  for (uint32_t e = 0; e < regs::kNumEndpoints; ++e) {
    const Chan& c = chan_[e];
    if (c.track == Track::kNone || !c.proto || c.dir != Dir::kSend || c.req_id != msg.req_id ||
        c.peer.node != m.src_node || c.peer.part != m.src_part)
      continue;
    if (c.track == Track::kAuthorized || c.track == Track::kOpen)
      return send_proto(m.src_node, m.src_part, chan_proto::chan_info(msg.req_id, static_cast<uint8_t>(e), c.pid));
    return Status::Ok();
  }
  if (msg.ep >= regs::kNumEndpoints) return refuse(m, msg, Reason::kBadField);
  if (policy_ && !policy_(IncomingRequest{m.src_node, m.src_part, msg.req_id, msg.ep, msg.recv_pid, msg.send_pid}))
    return refuse(m, msg, Reason::kDenied);
  uint8_t ep = 0;
  if (Status s = alloc_endpoint(ep); !s.ok()) {
    if (s.result == Result::kRejected) return refuse(m, msg, s.reason);
    return s;
  }
  // Remote = the requester's HARDWARE-STAMPED node and partition + its endpoint.
  Status s = configure(ep, Dir::kSend, msg.send_pid, PeerId{m.src_node, m.src_part, msg.ep});
  if (s.ok()) s = authorize(ep);
  if (!s.ok()) {
    const Status r = release(ep);
    if (s.result != Result::kRejected) return s;
    if (!r.ok()) return r;
    return refuse(m, msg, s.reason);
  }
  Chan& c = chan_[ep];
  c.proto = true;
  c.req_id = msg.req_id;
  c.peer_pid = msg.recv_pid;
  return send_proto(m.src_node, m.src_part, chan_proto::chan_info(msg.req_id, ep, msg.send_pid));
}

// Receiver side: the answer to one of our requests.
Status KernelAgent::handle_chan_reply(const MgmtMessage& m, const chan_proto::Msg& msg) {
  const int found = find_request(msg.req_id);
  // Only the partition we asked (stamped ids) may answer, and only once.
  if (found < 0 || chan_[found].track != Track::kReqSent || chan_[found].peer.node != m.src_node ||
      chan_[found].peer.part != m.src_part) {
    if (found < 0 && msg.type == chan_proto::Type::kChanInfo) {
      // A grant for a request we no longer have (cancelled, failed): let it go.
      const Status s = send_proto(m.src_node, m.src_part, chan_proto::chan_cancel(msg.req_id, Reason::kOk, msg.send_pid));
      if (!s.ok()) return s;
    }
    Event ev;
    ev.kind = Event::Kind::kMgmtIgnored;
    ev.req_id = msg.req_id;
    ev.peer = PeerId{m.src_node, m.src_part, msg.ep};
    ev.mgmt = m;
    push(ev);
    return Status::Ok();
  }
  const auto ep = static_cast<uint8_t>(found);
  if (msg.type == chan_proto::Type::kChanRefuse) return fail_request(ep, msg.reason, false);
  if (msg.ep >= regs::kNumEndpoints) return fail_request(ep, Reason::kBadField, true);
  Status s = set_remote(ep, PeerId{m.src_node, m.src_part, msg.ep});
  if (s.ok()) s = authorize(ep);
  if (s.ok()) s = connect(ep);  // key creation (504), CKT store (506), CONNECT (508)
  if (!s.ok()) {
    const Status f = fail_request(ep, s.reason, true);
    return s.result == Result::kRejected ? f : s;
  }
  return Status::Ok();
}

// Sender side: the receiver withdrew a request we granted.
Status KernelAgent::handle_chan_cancel(const MgmtMessage& m, const chan_proto::Msg& msg) {
  for (uint32_t e = 0; e < regs::kNumEndpoints; ++e) {
    const Chan& c = chan_[e];
    if (c.track != Track::kAuthorized || !c.proto || c.dir != Dir::kSend || c.req_id != msg.req_id ||
        c.peer.node != m.src_node || c.peer.part != m.src_part)
      continue;
    const auto ep = static_cast<uint8_t>(e);
    Event ev = chan_event(Event::Kind::kRequestCancelled, ep);
    ev.reason = msg.reason;
    push(ev);
    return release(ep);
  }
  Event ev;  // nothing granted (or already connected): nothing to release
  ev.kind = Event::Kind::kMgmtIgnored;
  ev.req_id = msg.req_id;
  ev.peer = PeerId{m.src_node, m.src_part, 0};
  ev.mgmt = m;
  push(ev);
  return Status::Ok();
}

Status KernelAgent::handle_mgmt(const MgmtMessage& m) {
  chan_proto::Msg msg;
  if (!chan_proto::decode(m.words, msg)) {
    Event ev;
    ev.kind = Event::Kind::kMgmtOther;
    ev.peer = PeerId{m.src_node, m.src_part, 0};
    ev.mgmt = m;
    push(ev);
    return Status::Ok();
  }
  if (msg.type == chan_proto::Type::kChanReq) return handle_chan_req(m, msg);
  if (msg.type == chan_proto::Type::kChanCancel) return handle_chan_cancel(m, msg);
  return handle_chan_reply(m, msg);
}

// A MGMT message of ours was NACKed by node e.src_node (the log does not say
// which one): re-send what is still unanswered toward that node, or give up.
Status KernelAgent::on_mgmt_nack(const ErrorEntry& e) {
  for (uint32_t i = 0; i < regs::kNumEndpoints; ++i) {
    Chan& c = chan_[i];
    const auto ep = static_cast<uint8_t>(i);
    if (c.track == Track::kNone || !c.proto || c.peer.node != e.src_node) continue;
    const bool req = c.dir == Dir::kRecv && c.track == Track::kReqSent;
    const bool info = c.dir == Dir::kSend && c.track == Track::kAuthorized;
    if (!req && !info) continue;
    if (e.reason == Reason::kMgmtqFull && c.retries < kMaxRetries) {
      ++c.retries;
      const chan_proto::Msg msg = req ? chan_proto::chan_req(c.req_id, ep, c.pid, c.peer_pid)
                                      : chan_proto::chan_info(c.req_id, ep, c.pid);
      if (Status s = send_proto(c.peer.node, c.peer.part, msg); !s.ok()) return s;
    } else if (req) {
      if (Status s = fail_request(ep, e.reason, true); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ poll

Status KernelAgent::service_errlog() {
  uint32_t st = 0;
  if (Status s = read(regs::CMM_ERRLOG_STATUS_OFFSET, st); !s.ok()) return s;
  const uint32_t n = CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_COUNT);
  const auto lost = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_ERRLOG_STATUS_LOST));
  if (lost != errlog_lost_seen_) {
    if (room() < 1) return Status::Ok();
    Event ev;
    ev.kind = Event::Kind::kErrorsLost;
    ev.count = static_cast<uint8_t>(lost - errlog_lost_seen_);
    push(ev);
    errlog_lost_seen_ = lost;
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (room() < kReserve) return Status::Ok();  // the rest at the next poll
    uint32_t head = 0;
    if (Status s = read(regs::CMM_ERRLOG_HEAD_OFFSET, head); !s.ok()) return s;
    if (Status s = command(Cmd::kErrlogPop, 0); !s.ok()) return s;
    const ErrorEntry e = ErrorEntry::decode(head);
    Event ev;
    ev.kind = Event::Kind::kErrorLogged;
    ev.ep = e.ep;
    ev.reason = e.reason;
    ev.peer.node = e.src_node;
    ev.error = e;
    push(ev);
    if (e.from_fabric && e.opcode == static_cast<uint8_t>(regs::Opcode::kMgmt)) {
      if (Status s = on_mgmt_nack(e); !s.ok()) return s;
    }
  }
  deferred_ &= ~bit(regs::Irq::kErr);
  return Status::Ok();
}

Status KernelAgent::service_mgmt() {
  for (uint32_t i = 0; i < regs::kMgmtqDepth; ++i) {
    if (room() < kReserve) return Status::Ok();
    uint32_t st = 0;
    if (Status s = read(regs::CMM_MGMT_RX_STATUS_OFFSET, st); !s.ok()) return s;
    const uint32_t count = CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_COUNT);
    if (count == 0) break;
    MgmtMessage m;
    m.src_node = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_NODE));
    m.src_part = static_cast<uint8_t>(CMM_FIELD_GET(st, CMM_MGMT_RX_STATUS_SRC_PART));
    for (uint32_t w = 0; w < regs::kMgmtWords; ++w) {
      uint32_t v = 0;
      if (Status s = read(regs::CMM_MGMT_RX_OFFSET + w * regs::CMM_MGMT_RX_STRIDE, v); !s.ok()) return s;
      m.words[w] = CMM_FIELD_GET(v, CMM_MGMT_RX_WORD);
    }
    if (Status s = command(Cmd::kMgmtPop, 0); !s.ok()) return s;
    if (Status s = handle_mgmt(m); !s.ok()) return s;
    if (count == 1) break;  // that was the last one queued when we looked
  }
  deferred_ &= ~bit(regs::Irq::kMgmt);
  return Status::Ok();
}

// CONN: a peer changed the state of one of our entries (ACK, NACK, CLOSE,
// or a CONNECT accepted on a send entry).
Status KernelAgent::scan_conn() {
  if (room() < 2 * regs::kNumEndpoints) return Status::Ok();
  for (uint32_t i = 0; i < regs::kNumEndpoints; ++i) {
    Chan& c = chan_[i];
    const auto ep = static_cast<uint8_t>(i);
    const bool watch = c.track == Track::kConnecting || c.track == Track::kOpen ||
                       (c.track == Track::kAuthorized && c.dir == Dir::kSend);
    if (!watch) continue;
    State st = State::kFree;
    if (Status s = endpoint_state(ep, st); !s.ok()) return s;
    if (c.track == Track::kConnecting) {
      if (st == State::kOpen || st == State::kClosed) {
        c.track = Track::kOpen;
        push(chan_event(Event::Kind::kChannelReady, ep));
      } else if (st == State::kAuthorized) {  // CONNECT NACKed: key zeroized by the CMM
        uint32_t v = 0;
        if (Status s = read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), v); !s.ok()) return s;
        const auto why = static_cast<Reason>(CMM_FIELD_GET(v, CMM_CST_STATUS_LAST_REASON));
        c.track = Track::kAuthorized;
        if (c.proto) {
          if (Status s = fail_request(ep, why, true); !s.ok()) return s;
        } else {
          Event ev = chan_event(Event::Kind::kChannelFailed, ep);
          ev.reason = why;
          push(ev);
        }
        continue;
      }
    } else if (c.track == Track::kAuthorized) {  // send entry waiting for CONNECT
      if (st == State::kOpen || st == State::kClosed) {
        c.track = Track::kOpen;
        push(chan_event(Event::Kind::kSendReady, ep));
      }
    }
    if (c.track == Track::kOpen && st == State::kClosed) {
      c.track = Track::kPeerClosed;
      push(chan_event(Event::Kind::kPeerClosed, ep));
    }
  }
  deferred_ &= ~bit(regs::Irq::kConn);
  return Status::Ok();
}

Status KernelAgent::scan_tx() {
  if (room() < regs::kNumEndpoints) return Status::Ok();
  for (uint32_t i = 0; i < regs::kNumEndpoints; ++i) {
    Chan& c = chan_[i];
    const auto ep = static_cast<uint8_t>(i);
    if (c.dir != Dir::kSend || (c.track != Track::kOpen && c.track != Track::kPeerClosed)) continue;
    uint32_t v = 0;
    if (Status s = read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), v); !s.ok()) return s;
    const auto nacks = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_CST_STATUS_TX_NACKS));
    if (nacks == c.tx_nacks_seen) continue;
    Event ev = chan_event(Event::Kind::kTxNacked, ep);
    ev.count = static_cast<uint16_t>(nacks - c.tx_nacks_seen);
    ev.reason = static_cast<Reason>(CMM_FIELD_GET(v, CMM_CST_STATUS_LAST_REASON));
    c.tx_nacks_seen = nacks;
    push(ev);
  }
  deferred_ &= ~bit(regs::Irq::kTxnack);
  return Status::Ok();
}

Status KernelAgent::scan_rx() {
  if (room() < regs::kNumEndpoints) return Status::Ok();
  for (uint32_t i = 0; i < regs::kNumEndpoints; ++i) {
    const Chan& c = chan_[i];
    const auto ep = static_cast<uint8_t>(i);
    if (c.dir != Dir::kRecv || (c.track != Track::kOpen && c.track != Track::kPeerClosed)) continue;
    uint32_t v = 0;
    if (Status s = read(cst_addr(ep, regs::CMM_CST_STATUS_OFFSET), v); !s.ok()) return s;
    const uint32_t n = CMM_FIELD_GET(v, CMM_CST_STATUS_RXQ_COUNT);
    if (n == 0) continue;
    Event ev = chan_event(Event::Kind::kRxPending, ep);
    ev.count = n;
    push(ev);
  }
  deferred_ &= ~bit(regs::Irq::kRx);
  return Status::Ok();
}

Status KernelAgent::poll() {
  if (!initialized_) return Status::Err(Result::kNotReady);
  uint32_t hw = 0;
  if (Status s = irq_status(hw); !s.ok()) return s;
  if (hw != 0) {
    if (Status s = irq_ack(hw); !s.ok()) return s;  // before servicing: new causes re-raise
    deferred_ |= hw;
  }
  if (deferred_ == 0) return Status::Ok();
  // Error log first: a NACKed CONNECT is logged before its CONN scan reports it.
  if (deferred_ & bit(regs::Irq::kErr)) {
    if (Status s = service_errlog(); !s.ok()) return s;
  }
  if (deferred_ & bit(regs::Irq::kMgmt)) {
    if (Status s = service_mgmt(); !s.ok()) return s;
  }
  if (deferred_ & bit(regs::Irq::kConn)) {
    if (Status s = scan_conn(); !s.ok()) return s;
  }
  if (deferred_ & bit(regs::Irq::kTxnack)) {
    if (Status s = scan_tx(); !s.ok()) return s;
  }
  if (deferred_ & bit(regs::Irq::kRx)) {
    if (Status s = scan_rx(); !s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace cmm::sw
