#include "cmm_sw/kernel_agent.h"

#include <algorithm>
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

}  // namespace

void secure_zero(ChannelKey& k) {
  volatile uint32_t* p = k.data();
  for (size_t i = 0; i < k.size(); ++i) p[i] = 0;
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
    case Event::Kind::kException: return "Exception";
    case Event::Kind::kAlarm: return "Alarm";
  }
  return "?";
}

std::string Event::str() const {
  char b[240];
  if (kind == Kind::kErrorLogged || kind == Kind::kException) {
    std::snprintf(b, sizeof b, "%s %s ep=%u opcode=%s%s%s src_node=%u count=%u",
                  std::string(to_string(kind)).c_str(),
                  std::string(regs::reason_name(static_cast<uint32_t>(error.reason))).c_str(), error.ep,
                  error.opcode ? std::string(regs::opcode_name(error.opcode)).c_str() : "-",
                  error.from_fabric ? " fabric" : "", error.exception ? " EXCEPTION" : "", error.src_node, count);
  } else {
    std::snprintf(b, sizeof b, "%s req=%u ep=%u pid=%u peer=%u.%u.%u reason=%s%s%s count=%u",
                  std::string(to_string(kind)).c_str(), req_id, ep, pid, peer.node, peer.part, peer.ep,
                  std::string(regs::reason_name(static_cast<uint32_t>(reason))).c_str(),
                  agent_reason == AgentReason::kNone ? "" : " agent=",
                  agent_reason == AgentReason::kNone ? "" : std::string(to_string(agent_reason)).c_str(), count);
  }
  return b;
}

uint32_t AgentStats::total_refused() const {
  uint32_t n = 0;
  for (uint32_t v : refused) n += v;
  return n;
}

KernelAgent::KernelAgent(RegIf& bus, uint64_t key_seed, const AgentConfig& cfg)
    : drv_(bus), cfg_(cfg), keygen_(key_seed) {}

// ------------------------------------------------------------------ helpers

Status KernelAgent::guard_ep(uint16_t ep) const {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (ep >= chan_.size()) return Status::Err(Result::kBadArg, Reason::kBadEp);
  return Status::Ok();
}

Status KernelAgent::guard_init() const {
  return initialized_ ? Status::Ok() : Status::Err(Result::kNotReady);
}

ChannelKey KernelAgent::next_key() { return keygen_.next(); }

uint64_t KernelAgent::after(uint64_t ticks) const {
  const uint64_t t = now();
  return ticks >= kNever - t ? kNever - 1 : t + ticks;
}

uint64_t KernelAgent::next_deadline() const {
  uint64_t d = kNever;
  for (const Chan& c : chan_) d = std::min({d, c.deadline, c.resend_at});
  return d;
}

void KernelAgent::push(const Event& ev) {
  if (ev_count_ == ev_.size()) return;  // callers reserve room first; never reached
  ev_[(ev_head_ + ev_count_) % ev_.size()] = ev;
  ++ev_count_;
}

bool KernelAgent::next_event(Event& ev) {
  if (ev_count_ == 0) return false;
  ev = ev_[ev_head_];
  ev_head_ = (ev_head_ + 1) % ev_.size();
  --ev_count_;
  return true;
}

Event KernelAgent::chan_event(Event::Kind k, uint16_t ep) const {
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
  DeviceInfo d;
  if (Status s = drv_.probe(d); !s.ok()) return s;
  if (Status s = drv_.irq_reset(); !s.ok()) return s;
  if (cfg_.alarm_thresh != 0) {
    const auto log2 = static_cast<uint8_t>(cfg_.alarm_window_log2 & regs::CMM_ALARM_CFG_WINDOW_LOG2_MASK);
    if (Status s = drv_.set_alarm(cfg_.alarm_thresh, log2); !s.ok()) return s;
  }
  node_ = d.node;
  part_ = d.part;
  quota_ = d.quota;
  keygen_.bind(d.node, d.part, cfg_.boot);
  // The device's geometry: one tracking entry per endpoint, room for a full CONN scan.
  chan_.assign(d.geo.num_endpoints, Chan{});
  ev_.assign(std::max<size_t>(kEventCapacity, 2 * chan_.size() + 8), Event{});
  errlog_lost_seen_ = 0;
  exc_seen_ = alarm_seen_ = 0;
  deferred_ = kIrqAll;  // the first poll() looks at every queue: causes cleared above are not lost
  ev_head_ = ev_count_ = 0;
  initialized_ = true;
  return Status::Ok();
}

// ------------------------------------------------------------------ endpoint / CST operations
// The register work is the driver's (cmm_driver.h); the agent keeps its
// view of each entry (Chan) in step with what succeeded.

Status KernelAgent::alloc_endpoint(uint16_t& ep) {
  if (Status g = guard_init(); !g.ok()) return g;
  if (Status s = drv_.alloc(ep); !s.ok()) return s;
  chan_[ep] = Chan{};
  chan_[ep].track = Track::kAllocated;
  return Status::Ok();
}

Status KernelAgent::set_direction(uint16_t ep, Dir dir) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.write_ctrl(ep, dir);
  if (s.ok()) chan_[ep].dir = dir;
  return s;
}

Status KernelAgent::set_ctrl(uint16_t ep, Dir dir, regs::Mode mode) {
  if (mode == regs::Mode::kPlain) return set_direction(ep, dir);
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (Status s = drv_.write_ctrl(ep, dir, mode); !s.ok()) return s;
  chan_[ep].dir = dir;
  // A CMM without strong mode ignores MODE: the channel would silently be plain.
  if (Status s = drv_.verify_mode(ep, mode); !s.ok()) return s;
  chan_[ep].mode = mode;
  return Status::Ok();
}

Status KernelAgent::set_owner(uint16_t ep, uint16_t pid) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.write_owner(ep, pid);
  if (s.ok()) chan_[ep].pid = pid;
  return s;
}

Status KernelAgent::set_remote(uint16_t ep, const PeerId& r) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.write_remote(ep, r);
  if (s.ok()) chan_[ep].peer = r;
  return s;
}

Status KernelAgent::configure(uint16_t ep, Dir dir, uint16_t owner_pid, const PeerId& remote) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (remote.part >= drv_.geometry().num_partitions || remote.ep >= chan_.size())
    return Status::Err(Result::kBadArg, Reason::kBadField);
  if (Status s = set_direction(ep, dir); !s.ok()) return s;
  if (Status s = set_owner(ep, owner_pid); !s.ok()) return s;
  return set_remote(ep, remote);
}

Status KernelAgent::configure(uint16_t ep, Dir dir, uint16_t owner_pid, const PeerId& remote, uint8_t remote_gen,
                              regs::Mode mode) {
  if (mode != regs::Mode::kPlain) {
    if (Status g = guard_ep(ep); !g.ok()) return g;
    if (remote.part >= drv_.geometry().num_partitions || remote.ep >= chan_.size())
      return Status::Err(Result::kBadArg, Reason::kBadField);
    if (Status s = set_ctrl(ep, dir, mode); !s.ok()) return s;
    if (Status s = set_owner(ep, owner_pid); !s.ok()) return s;
    if (Status s = set_remote(ep, remote); !s.ok()) return s;
    return set_remote_gen(ep, remote_gen);
  }
  if (Status s = configure(ep, dir, owner_pid, remote); !s.ok()) return s;
  return set_remote_gen(ep, remote_gen);
}

Status KernelAgent::read_gen(uint16_t ep, uint8_t& local, uint8_t& remote) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  return drv_.read_gen(ep, local, remote);
}

Status KernelAgent::set_remote_gen(uint16_t ep, uint8_t gen) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  return drv_.write_remote_gen(ep, gen);
}

Status KernelAgent::authorize(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.command(Cmd::kAuthorize, ep);
  if (s.ok()) chan_[ep].track = Track::kAuthorized;
  return s;
}

Status KernelAgent::connect(uint16_t ep, const ChannelKey& key) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  // Key words and command back to back from this context: the CMM takes the
  // key only if all four words came from the commanding pid (atomic staging).
  if (Status s = drv_.stage_key(key); !s.ok()) return s;
  const Status s = drv_.command(Cmd::kConnect, ep);
  if (s.ok()) {
    Chan& c = chan_[ep];
    c.track = Track::kConnecting;
    c.tries = 1;
    c.deadline = after(cfg_.connect_timeout);
  }
  return s;
}

Status KernelAgent::connect(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (cfg_.key_source == KeySource::kHardware) {
    chan_[ep].key_tries = 0;
    return connect_hw(ep);
  }
  ChannelKey k = next_key();
  const Status s = connect(ep, k);
  secure_zero(k);
  return s;
}

// CMD CONNECT with HWKEY: the CMM draws the key from its generator (never
// seen by software). The generator makes one key per KEYGEN_CYCLES for the
// whole node, so a refusal KEY_GEN_NOT_READY is normal under load: retried
// by the timer, a bounded number of times.
Status KernelAgent::connect_hw(uint16_t ep) {
  Chan& c = chan_[ep];
  c.key_wait = false;
  const Status s = drv_.command(Cmd::kConnect, ep, true);
  if (s.ok()) {
    c.track = Track::kConnecting;
    c.tries = 1;
    c.key_tries = 0;
    c.deadline = after(cfg_.connect_timeout);
    return s;
  }
  if (s != Status::Err(Result::kRejected, Reason::kKeyGenNotReady)) return s;
  ++c.key_tries;
  if (c.key_tries >= std::max<uint8_t>(cfg_.keygen_tries, 1)) {
    c.key_tries = 0;
    c.deadline = kNever;
    return s;
  }
  ++stats_.keygen_retries;
  c.key_wait = true;
  c.deadline = after(cfg_.keygen_retry);
  return Status::Ok();
}

Status KernelAgent::on_keygen_timer(uint16_t ep) {
  Chan& c = chan_[ep];
  c.deadline = kNever;
  const Status s = connect_hw(ep);
  if (s.ok() || s.result != Result::kRejected) return s;  // connecting, waiting again, or a bus error
  // Refused for good (generator still not ready after the bounded tries, or the entry moved on).
  if (c.proto) return fail_request(ep, s.reason, AgentReason::kNone, true);
  Event ev = chan_event(Event::Kind::kChannelFailed, ep);
  ev.reason = s.reason;
  push(ev);
  return Status::Ok();
}

Status KernelAgent::set_key(uint16_t ep, const ChannelKey& key) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (Status s = drv_.stage_key(key); !s.ok()) return s;
  return drv_.command(Cmd::kSetKey, ep);
}

Status KernelAgent::set_key(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  if (cfg_.key_source == KeySource::kHardware) return drv_.command(Cmd::kSetKey, ep, true);
  ChannelKey k = next_key();
  const Status s = set_key(ep, k);
  secure_zero(k);
  return s;
}

// Rekey without drain (docs/strong-mode.md 7): the receiver's agent puts a
// new key into the other slot; the CMMs switch without a drain.
Status KernelAgent::rekey_channel(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  Chan& c = chan_[ep];
  if (c.track != Track::kOpen || c.dir != Dir::kRecv || c.mode != regs::Mode::kStrong)
    return Status::Err(Result::kNotReady, Reason::kNotOpen);
  if (c.rekey_wait) {
    // One in progress: still unacknowledged, its timer re-sends; else done.
    uint32_t ctrl = 0;
    if (Status s = drv_.read(CmmDriver::cst_addr(ep, regs::CMM_CST_CTRL_OFFSET), ctrl); !s.ok()) return s;
    if (CMM_FIELD_GET(ctrl, CMM_CST_CTRL_REKEY_PENDING)) return Status::Ok();
    c.rekey_wait = false;
    c.deadline = kNever;
  }
  Status s = Status::Ok();
  if (cfg_.key_source == KeySource::kHardware) {
    s = drv_.rekey(ep, true);
  } else {
    ChannelKey k = next_key();
    s = drv_.stage_key(k);  // words and command back to back from this context
    secure_zero(k);
    if (s.ok()) s = drv_.rekey(ep, false);
  }
  if (s.ok()) {
    ++stats_.rekeys;
    c.rekey_wait = true;
    c.rekey_retry = false;
    c.rekey_tries = 1;
    c.deadline = after(cfg_.connect_timeout);
    return s;
  }
  // Not now: the previous new key not in use yet, or the generator busy.
  if (s == Status::Err(Result::kRejected, Reason::kKeyPresent) ||
      s == Status::Err(Result::kRejected, Reason::kKeyGenNotReady)) {
    c.rekey_retry = true;
    c.deadline = after(cfg_.connect_timeout);
    return Status::Ok();
  }
  return s;
}

Status KernelAgent::on_rekey_timer(uint16_t ep) {
  Chan& c = chan_[ep];
  c.deadline = kNever;
  if (c.rekey_retry) {
    c.rekey_retry = false;
    const Status s = rekey_channel(ep);
    return s.result == Result::kRejected || s.result == Result::kNotReady ? Status::Ok() : s;
  }
  CstInfo info;
  if (Status s = drv_.read_cst(ep, info); !s.ok()) return s;
  if (!info.rekey_pending || info.state != State::kOpen || c.rekey_tries >= std::max<uint8_t>(cfg_.connect_tries, 1)) {
    c.rekey_wait = false;  // acknowledged (or given up: a later REKEY_DUE starts again)
    return Status::Ok();
  }
  const Status s = drv_.rekey(ep, false);  // while pending: the stored key again, nothing staged
  if (s.ok()) {
    ++stats_.rekey_resends;
    ++c.rekey_tries;
    c.deadline = after(cfg_.connect_timeout);
    return s;
  }
  c.rekey_wait = false;
  return s.result == Result::kRejected ? Status::Ok() : s;
}

Status KernelAgent::close(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.command(Cmd::kClose, ep);
  if (s.ok()) {
    Chan& c = chan_[ep];
    c.track = Track::kAllocated;
    c.proto = false;
    c.req_id = kNoRequest;
    c.retries = 0;
    c.tries = 0;
    c.key_wait = false;
    c.key_tries = 0;
    c.rekey_wait = c.rekey_retry = false;
    c.rekey_tries = 0;
    c.deadline = kNever;
    c.resend_at = kNever;
    c.resend_backoff = false;
    // TX_NACKS and CST_LOST survive CLOSE (only ALLOC/FREE clear them): keep the *_seen marks.
  }
  return s;
}

Status KernelAgent::free_endpoint(uint16_t ep) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  const Status s = drv_.command(Cmd::kFree, ep);
  if (s.ok()) chan_[ep] = Chan{};
  return s;
}

// ------------------------------------------------------------------ status reads

Status KernelAgent::read_cst(uint16_t ep, CstInfo& out) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  return drv_.read_cst(ep, out);
}

Status KernelAgent::endpoint_state(uint16_t ep, State& out) {
  if (Status g = guard_ep(ep); !g.ok()) return g;
  return drv_.endpoint_state(ep, out);
}

Status KernelAgent::part_info(PartInfo& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.part_info(out);
}

Status KernelAgent::reject_count(Reason r, uint32_t& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.reject_count(r, out);
}

Status KernelAgent::stat(uint32_t index, uint32_t& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.stat(index, out);
}

// ------------------------------------------------------------------ management messages

Status KernelAgent::send_mgmt(uint16_t node, uint8_t part, const MgmtWords& words) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.send_mgmt(node, part, words);
}

Status KernelAgent::mgmt_receive(MgmtMessage& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.mgmt_receive(out);
}

// ------------------------------------------------------------------ interrupts, error log

Status KernelAgent::irq_status(uint32_t& bits) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.irq_status(bits);
}

Status KernelAgent::irq_ack(uint32_t bits) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.irq_ack(bits);
}

Status KernelAgent::errlog_pop(ErrorEntry& out, uint8_t* lost) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.errlog_pop(out, lost);
}

Status KernelAgent::read_exceptions(ExcInfo& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.read_exceptions(out);
}

Status KernelAgent::exc_clear() {
  if (Status g = guard_init(); !g.ok()) return g;
  const Status s = drv_.command(Cmd::kExcClear, 0);
  if (s.ok()) exc_seen_ = 0;
  return s;
}

Status KernelAgent::set_alarm(uint16_t thresh, uint8_t window_log2) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.set_alarm(thresh, window_log2);
}

Status KernelAgent::alarm_count(uint32_t& out) {
  if (Status g = guard_init(); !g.ok()) return g;
  return drv_.alarm_count(out);
}

// ------------------------------------------------------------------ id exchange

int KernelAgent::find_request(uint16_t req_id) const {
  if (req_id == kNoRequest) return -1;
  for (uint32_t e = 0; e < chan_.size(); ++e) {
    const Chan& c = chan_[e];
    if (c.track != Track::kNone && c.proto && c.dir == Dir::kRecv && c.req_id == req_id) return static_cast<int>(e);
  }
  return -1;
}

// Our requests to (node, part) that have been sent and are not finished.
size_t KernelAgent::pending_requests(uint16_t node, uint8_t part) const {
  size_t n = 0;
  for (const Chan& c : chan_)
    if (c.proto && c.dir == Dir::kRecv && c.peer.node == node && c.peer.part == part &&
        (c.track == Track::kReqSent || c.track == Track::kAuthorized || c.track == Track::kConnecting))
      ++n;
  return n;
}

// Send endpoints granted to (node, part) and not yet opened by a CONNECT.
size_t KernelAgent::pending_grants(uint16_t node, uint8_t part) const {
  size_t n = 0;
  for (const Chan& c : chan_)
    if (c.proto && c.dir == Dir::kSend && c.track == Track::kAuthorized && c.peer.node == node && c.peer.part == part)
      ++n;
  return n;
}

Status KernelAgent::send_proto(uint16_t node, uint8_t part, const chan_proto::Msg& msg) {
  return send_mgmt(node, part, chan_proto::encode(msg));
}

Status KernelAgent::release(uint16_t ep) {
  const Track t = chan_[ep].track;
  if (t == Track::kAuthorized || t == Track::kConnecting || t == Track::kOpen) {
    if (Status s = close(ep); !s.ok()) return s;
  }
  return free_endpoint(ep);
}

Status KernelAgent::send_request(uint16_t ep) {
  Chan& c = chan_[ep];
  const Status s = send_proto(c.peer.node, c.peer.part,
                              chan_proto::chan_req(c.req_id, ep, c.pid, c.peer_pid, c.gen, static_cast<uint8_t>(c.mode)));
  if (s.ok()) {
    c.track = Track::kReqSent;
    c.deadline = after(cfg_.request_timeout);
    arm_mgmt_timer(ep);
  }
  return s;
}

Status KernelAgent::request_channel(const ChannelRequest& req, uint16_t& req_id) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  if (req.sender_part >= drv_.geometry().num_partitions) return Status::Err(Result::kBadArg, Reason::kBadPart);
  uint16_t ep = 0;
  if (Status s = alloc_endpoint(ep); !s.ok()) return s;
  uint8_t gen = 0, rgen = 0;
  Status s = read_gen(ep, gen, rgen);  // our epoch goes to the peer in CHAN_REQ
  if (s.ok()) s = set_ctrl(ep, Dir::kRecv, req.mode);  // the mode both ends must agree on
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
  c.gen = gen;
  c.peer_pid = req.sender_pid;
  c.peer = PeerId{req.sender_node, req.sender_part, 0};
  if (pending_requests(req.sender_node, req.sender_part) >= peer_limit()) {
    // The peer refuses more grants than this at once: send it later.
    c.track = Track::kReqQueued;
    c.queued_seq = next_queued_seq_++;
    ++stats_.requests_deferred;
    req_id = id;
    return Status::Ok();
  }
  s = send_request(ep);
  if (!s.ok()) {
    (void)release(ep);
    return s;
  }
  req_id = id;
  return Status::Ok();
}

Status KernelAgent::cancel_request(uint16_t req_id) {
  if (!initialized_) return Status::Err(Result::kNotReady);
  const int ep = find_request(req_id);
  if (ep < 0) return Status::Err(Result::kBadArg);
  return withdraw(static_cast<uint16_t>(ep), Reason::kOk, AgentReason::kNone);
}

// Receiver side: tell the peer to release what it granted, then release ours.
Status KernelAgent::withdraw(uint16_t ep, Reason why, AgentReason agent_why) {
  const Chan& c = chan_[ep];
  if (c.track != Track::kAllocated && c.track != Track::kReqQueued) {
    const Status s =
        send_proto(c.peer.node, c.peer.part, chan_proto::chan_cancel(c.req_id, why, c.peer_pid, agent_why));
    if (!s.ok()) {
      (void)release(ep);
      return s;
    }
  }
  return release(ep);
}

Status KernelAgent::fail_request(uint16_t ep, Reason why, AgentReason agent_why, bool tell_peer) {
  Event ev = chan_event(Event::Kind::kChannelFailed, ep);
  ev.reason = why;
  ev.agent_reason = agent_why;
  push(ev);
  return tell_peer ? withdraw(ep, why, agent_why) : release(ep);
}

Status KernelAgent::refuse(const MgmtMessage& m, const chan_proto::Msg& msg, Reason why, AgentReason agent_why) {
  if (agent_why != AgentReason::kNone) refused(agent_why);
  ++stats_.chan_refuses;
  Event ev;
  ev.kind = Event::Kind::kChannelRefused;
  ev.req_id = msg.req_id;
  ev.pid = msg.send_pid;
  ev.peer = PeerId{m.src_node, m.src_part, msg.ep};
  ev.reason = why;
  ev.agent_reason = agent_why;
  push(ev);
  return send_proto(m.src_node, m.src_part, chan_proto::chan_refuse(msg.req_id, why, msg.send_pid, agent_why));
}

// A channel-protocol message the agent does not act on: counted and reported.
void KernelAgent::ignore(const MgmtMessage& m, const chan_proto::Msg& msg, AgentReason why) {
  refused(why);
  Event ev;
  ev.kind = Event::Kind::kMgmtIgnored;
  ev.req_id = msg.req_id;
  ev.peer = PeerId{m.src_node, m.src_part, msg.ep};
  ev.agent_reason = why;
  ev.mgmt = m;
  push(ev);
}

// Sender side: a receiver-side agent asks for a send endpoint.
Status KernelAgent::handle_chan_req(const MgmtMessage& m, const chan_proto::Msg& msg) {
  // A re-sent request (its first answer was lost): answer again, allocate nothing.
  for (uint32_t e = 0; e < chan_.size(); ++e) {
    const Chan& c = chan_[e];
    if (c.track == Track::kNone || !c.proto || c.dir != Dir::kSend || c.req_id != msg.req_id ||
        c.peer.node != m.src_node || c.peer.part != m.src_part)
      continue;
    ++stats_.mgmt_duplicates;
    if (c.track == Track::kAuthorized || c.track == Track::kOpen)
      return send_proto(m.src_node, m.src_part,
                        chan_proto::chan_info(msg.req_id, static_cast<uint16_t>(e), c.pid, c.gen,
                                              static_cast<uint8_t>(c.mode)));
    return Status::Ok();
  }
  if (msg.ep >= chan_.size()) return refuse(m, msg, Reason::kBadField, AgentReason::kMalformed);
  // One peer partition may hold only so many unconnected grants (request storm).
  if (pending_grants(m.src_node, m.src_part) >= peer_limit())
    return refuse(m, msg, Reason::kDenied, AgentReason::kPeerLimit);
  const auto mode = static_cast<regs::Mode>(msg.mode);
  // Both ends must agree on the mode: one this agent does not grant is refused.
  if (((cfg_.accept_modes >> msg.mode) & 1u) == 0) return refuse(m, msg, Reason::kModeMismatch, AgentReason::kPolicy);
  if (policy_ &&
      !policy_(IncomingRequest{m.src_node, m.src_part, msg.req_id, msg.ep, msg.recv_pid, msg.send_pid, mode}))
    return refuse(m, msg, Reason::kDenied, AgentReason::kPolicy);
  uint16_t ep = 0;
  if (Status s = alloc_endpoint(ep); !s.ok()) {
    if (s.result == Result::kRejected) return refuse(m, msg, s.reason, AgentReason::kNone);
    return s;
  }
  // Remote = the requester's HARDWARE-STAMPED node and partition + its endpoint.
  uint8_t gen = 0, rgen = 0;
  Status s = read_gen(ep, gen, rgen);
  if (s.ok()) s = configure(ep, Dir::kSend, msg.send_pid, PeerId{m.src_node, m.src_part, msg.ep}, msg.gen, mode);
  if (s.ok()) s = authorize(ep);
  if (!s.ok()) {
    const Status r = release(ep);
    if (s.result != Result::kRejected) return s;
    if (!r.ok()) return r;
    return refuse(m, msg, s.reason, AgentReason::kNone);
  }
  Chan& c = chan_[ep];
  c.proto = true;
  c.req_id = msg.req_id;
  c.gen = gen;
  c.peer_pid = msg.recv_pid;
  c.deadline = after(cfg_.grant_timeout);
  return send_proto(m.src_node, m.src_part, chan_proto::chan_info(msg.req_id, ep, msg.send_pid, gen, msg.mode));
}

// Receiver side: the answer to one of our requests. Believed only from the
// stamped node/partition the request went to, and only while it waits.
Status KernelAgent::handle_chan_reply(const MgmtMessage& m, const chan_proto::Msg& msg) {
  const int found = find_request(msg.req_id);
  if (found < 0) {
    if (msg.type == chan_proto::Type::kChanInfo) {
      // A grant for a request we no longer have (cancelled, failed): let it go.
      const Status s =
          send_proto(m.src_node, m.src_part, chan_proto::chan_cancel(msg.req_id, Reason::kOk, msg.send_pid));
      if (!s.ok()) return s;
    }
    ignore(m, msg, AgentReason::kUnknownRequest);
    return Status::Ok();
  }
  Chan& c = chan_[found];
  if (c.peer.node != m.src_node || c.peer.part != m.src_part) {
    ignore(m, msg, AgentReason::kWrongSource);
    return Status::Ok();
  }
  if (c.track != Track::kReqSent) {
    // The same grant again (our CHAN_REQ was re-sent, or the peer answered a
    // repeat): the CONNECT already answers it; dropped without an event.
    if (msg.type == chan_proto::Type::kChanInfo && c.track != Track::kReqQueued && msg.ep == c.peer.ep &&
        msg.gen == c.peer_gen && msg.mode == static_cast<uint8_t>(c.mode)) {
      ++stats_.mgmt_duplicates;
      return Status::Ok();
    }
    ignore(m, msg, AgentReason::kNotPending);
    return Status::Ok();
  }
  const auto ep = static_cast<uint16_t>(found);
  c.deadline = kNever;
  c.resend_at = kNever;  // answered: no re-send, no wake-up
  c.resend_backoff = false;
  if (msg.type == chan_proto::Type::kChanRefuse) return fail_request(ep, msg.reason, msg.agent_reason, false);
  if (msg.ep >= chan_.size()) {
    refused(AgentReason::kMalformed);
    return fail_request(ep, Reason::kBadField, AgentReason::kMalformed, true);
  }
  if (msg.mode != static_cast<uint8_t>(c.mode)) {  // the peer gave its entry another mode
    refused(AgentReason::kPolicy);
    return fail_request(ep, Reason::kModeMismatch, AgentReason::kPolicy, true);
  }
  Status s = set_remote(ep, PeerId{m.src_node, m.src_part, msg.ep});
  if (s.ok()) s = set_remote_gen(ep, msg.gen);
  if (s.ok()) c.peer_gen = msg.gen;
  if (s.ok()) s = authorize(ep);
  if (s.ok()) s = connect(ep);  // key creation (504), CKT store (506), CONNECT (508)
  if (!s.ok()) {
    const Status f = fail_request(ep, s.reason, AgentReason::kNone, true);
    return s.result == Result::kRejected ? f : s;
  }
  return Status::Ok();
}

// Sender side: the receiver withdrew a request we granted.
Status KernelAgent::handle_chan_cancel(const MgmtMessage& m, const chan_proto::Msg& msg) {
  AgentReason why = AgentReason::kUnknownRequest;
  for (uint32_t e = 0; e < chan_.size(); ++e) {
    const Chan& c = chan_[e];
    if (c.track == Track::kNone || !c.proto || c.dir != Dir::kSend || c.req_id != msg.req_id) continue;
    if (c.peer.node != m.src_node || c.peer.part != m.src_part) {
      if (why == AgentReason::kUnknownRequest) why = AgentReason::kWrongSource;
      continue;
    }
    if (c.track != Track::kAuthorized) {  // already connected: the channel is the owners' now
      why = AgentReason::kNotPending;
      continue;
    }
    const auto ep = static_cast<uint16_t>(e);
    Event ev = chan_event(Event::Kind::kRequestCancelled, ep);
    ev.reason = msg.reason;
    ev.agent_reason = msg.agent_reason;
    push(ev);
    return release(ep);
  }
  ignore(m, msg, why);
  return Status::Ok();
}

Status KernelAgent::handle_mgmt(const MgmtMessage& m) {
  chan_proto::Msg msg;
  if (!chan_proto::decode(m.words, msg)) {
    Event ev;
    ev.kind = Event::Kind::kMgmtOther;
    ev.peer = PeerId{m.src_node, m.src_part, 0};
    ev.mgmt = m;
    if (chan_proto::is_ours(m.words)) {  // our protocol id, broken layout
      refused(AgentReason::kMalformed);
      ev.agent_reason = AgentReason::kMalformed;
    }
    push(ev);
    return Status::Ok();
  }
  if (msg.type == chan_proto::Type::kChanReq) return handle_chan_req(m, msg);
  if (msg.type == chan_proto::Type::kChanCancel) return handle_chan_cancel(m, msg);
  return handle_chan_reply(m, msg);
}

// A MGMT message of ours was NACKed by node e.src_node. The log names no
// partition and no message, and a NACK is only node-authenticated: it never
// fails a request by itself (expiry does). MGMTQ_FULL: re-send what is still
// unanswered toward that node after an exponential back-off (an immediate
// re-send meets the same full queue in a connect storm), a bounded number of
// times.
Status KernelAgent::on_mgmt_nack(const ErrorEntry& e) {
  for (uint32_t i = 0; i < chan_.size(); ++i) {
    Chan& c = chan_[i];
    // The log keeps the low bits of the source node only (ERRLOG_HEAD.SRC_NODE):
    // nodes sharing them are all re-sent to, which is harmless (a repeat is
    // answered with the grant already made and allocates nothing).
    if (!mgmt_unanswered(c) || (c.peer.node & regs::CMM_ERRLOG_HEAD_SRC_NODE_MASK) != e.src_node) continue;
    refused(AgentReason::kMgmtNacked);
    c.last_nack = e.reason;
    if (e.reason != Reason::kMgmtqFull) continue;
    schedule_mgmt_resend(i);
  }
  return Status::Ok();
}

// Re-send of an unanswered MGMT message after the exponential back-off
// (bounded tries; nothing if a back-off re-send is already scheduled; an
// answer timeout due earlier stays).
void KernelAgent::schedule_mgmt_resend(uint32_t i) {
  Chan& c = chan_[i];
  if (c.retries >= cfg_.mgmt_tries || c.resend_backoff) return;
  const uint64_t base = std::max<uint64_t>(cfg_.mgmt_backoff, 1);
  const unsigned shift = std::min<unsigned>(c.retries, std::min<unsigned>(cfg_.mgmt_backoff_doublings, 32u));
  const uint64_t spread = (i * 37u + node_ * 11u) % base;  // de-synchronizes the nodes' re-sends
  c.resend_at = std::min(c.resend_at, base > (kNever >> shift) ? kNever - 1 : after((base << shift) + spread));
  c.resend_backoff = true;
}

// A CHAN_REQ (or its CHAN_INFO) lost in the fabric draws no NACK: without an
// answer after mgmt_timeout << retries the CHAN_REQ is sent again (the peer
// answers a repeat with its grant and allocates nothing). Only while a
// re-send is left in the shared budget and before the request expires.
void KernelAgent::arm_mgmt_timer(uint16_t ep) {
  Chan& c = chan_[ep];
  if (c.dir != Dir::kRecv || c.track != Track::kReqSent || c.retries >= cfg_.mgmt_tries) return;
  const uint64_t base = std::max<uint64_t>(cfg_.mgmt_timeout != 0 ? cfg_.mgmt_timeout : cfg_.request_timeout / 8, 1);
  const unsigned shift = std::min<unsigned>(c.retries, 32u);
  const uint64_t at = base > (kNever >> shift) ? kNever - 1 : after(base << shift);
  if (at >= c.deadline) return;  // expiry comes first: a re-send could not be answered in time
  c.resend_at = at;
  c.resend_backoff = false;
}

bool KernelAgent::mgmt_unanswered(const Chan& c) {
  if (c.track == Track::kNone || !c.proto) return false;
  return (c.dir == Dir::kRecv && c.track == Track::kReqSent) ||
         (c.dir == Dir::kSend && c.track == Track::kAuthorized);
}

Status KernelAgent::on_mgmt_resend(uint16_t ep) {
  Chan& c = chan_[ep];
  const bool timeout = !c.resend_backoff;
  c.resend_at = kNever;
  c.resend_backoff = false;
  if (!mgmt_unanswered(c) || c.retries >= cfg_.mgmt_tries) return Status::Ok();  // answered, gone, or no budget
  ++c.retries;
  ++stats_.mgmt_resends;
  if (timeout) ++stats_.mgmt_timeouts;
  const bool req = c.dir == Dir::kRecv;
  const auto mode = static_cast<uint8_t>(c.mode);  // a re-send asks (grants) the same mode
  const chan_proto::Msg msg = req ? chan_proto::chan_req(c.req_id, ep, c.pid, c.peer_pid, c.gen, mode)
                                  : chan_proto::chan_info(c.req_id, ep, c.pid, c.gen, mode);
  const Status s = send_proto(c.peer.node, c.peer.part, msg);
  if (s.ok()) arm_mgmt_timer(ep);
  return s;
}

// ------------------------------------------------------------------ timers

// CONNECT unanswered: re-send it (the CMM re-sends the stored key) with
// exponential back-off; after cfg_.connect_tries sends, CLOSE and report.
Status KernelAgent::on_connect_timer(uint16_t ep) {
  Chan& c = chan_[ep];
  State st = State::kFree;
  if (Status s = endpoint_state(ep, st); !s.ok()) return s;
  if (st != State::kConnecting) {  // answered meanwhile: the CONN scan reports it
    c.deadline = kNever;
    deferred_ |= bit(regs::Irq::kConn);
    return Status::Ok();
  }
  if (c.tries < cfg_.connect_tries) {
    const Status s = drv_.command(Cmd::kConnect, ep);
    if (!s.ok() && s.result != Result::kRejected) return s;
    if (!s.ok()) deferred_ |= bit(regs::Irq::kConn);  // the state moved under us
    ++c.tries;
    ++stats_.connect_resends;
    const unsigned shift = std::min<unsigned>(c.tries - 1u, 32u);
    const uint64_t wait = cfg_.connect_timeout > (kNever >> shift) ? kNever : cfg_.connect_timeout << shift;
    c.deadline = after(wait);
    return Status::Ok();
  }
  refused(AgentReason::kConnectTimeout);
  c.deadline = kNever;
  if (c.proto) return fail_request(ep, Reason::kOk, AgentReason::kConnectTimeout, true);
  // A channel set up by hand: CLOSE (key zeroized), the caller keeps the endpoint.
  Event ev = chan_event(Event::Kind::kChannelFailed, ep);
  ev.agent_reason = AgentReason::kConnectTimeout;
  push(ev);
  return close(ep);
}

// A grant that no CONNECT used: release it so one peer cannot pin endpoints.
Status KernelAgent::on_grant_timer(uint16_t ep) {
  Chan& c = chan_[ep];
  State st = State::kFree;
  if (Status s = endpoint_state(ep, st); !s.ok()) return s;
  c.deadline = kNever;
  if (st != State::kAuthorized) {  // the CONNECT came: the CONN scan reports it
    deferred_ |= bit(regs::Irq::kConn);
    return Status::Ok();
  }
  refused(AgentReason::kGrantExpired);
  Event ev = chan_event(Event::Kind::kRequestCancelled, ep);
  ev.agent_reason = AgentReason::kGrantExpired;
  push(ev);
  return release(ep);
}

Status KernelAgent::service_timers() {
  if (next_deadline() > now()) return Status::Ok();
  const uint64_t t = now();
  for (uint32_t i = 0; i < chan_.size(); ++i) {
    Chan& c = chan_[i];
    if (c.deadline > t && c.resend_at > t) continue;
    if (room() < reserve()) return Status::Ok();  // the rest at the next poll
    const auto ep = static_cast<uint16_t>(i);
    if (c.resend_at <= t) {
      if (Status s = on_mgmt_resend(ep); !s.ok()) return s;
      if (c.deadline > t) continue;
    }
    Status s = Status::Ok();
    if (c.key_wait) {
      s = on_keygen_timer(ep);
    } else if (c.track == Track::kConnecting) {
      s = on_connect_timer(ep);
    } else if (c.track == Track::kReqSent) {
      refused(AgentReason::kRequestExpired);
      c.deadline = kNever;
      s = fail_request(ep, c.last_nack, AgentReason::kRequestExpired, true);
    } else if (c.track == Track::kAuthorized && c.dir == Dir::kSend && c.proto) {
      s = on_grant_timer(ep);
    } else if (c.track == Track::kOpen && (c.rekey_wait || c.rekey_retry)) {
      s = on_rekey_timer(ep);
    } else {
      c.deadline = kNever;
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Held-back requests go out, oldest first, as the peer's limit allows.
Status KernelAgent::service_queued() {
  for (;;) {
    int best = -1;
    for (uint32_t i = 0; i < chan_.size(); ++i) {
      const Chan& c = chan_[i];
      if (c.track != Track::kReqQueued || pending_requests(c.peer.node, c.peer.part) >= peer_limit())
        continue;
      if (best < 0 || c.queued_seq < chan_[best].queued_seq) best = static_cast<int>(i);
    }
    if (best < 0) return Status::Ok();
    const auto ep = static_cast<uint16_t>(best);
    if (Status s = send_request(ep); !s.ok()) {
      (void)fail_request(ep, s.reason, AgentReason::kNone, false);
      return s;
    }
  }
}

// ------------------------------------------------------------------ poll

Status KernelAgent::service_errlog() {
  uint32_t n = 0;
  uint8_t lost = 0;
  if (Status s = drv_.errlog_status(n, lost); !s.ok()) return s;
  if (lost != errlog_lost_seen_) {
    if (room() < 1) return Status::Ok();
    Event ev;
    ev.kind = Event::Kind::kErrorsLost;
    ev.count = static_cast<uint8_t>(lost - errlog_lost_seen_);
    push(ev);
    errlog_lost_seen_ = lost;
    // A lost SEQ_GAP entry must not hide lost messages: look at every channel.
    for (uint32_t i = 0; i < chan_.size(); ++i) {
      if (chan_[i].track == Track::kNone) continue;
      if (Status s = sample_lost(static_cast<uint16_t>(i)); !s.ok()) return s;
    }
    // A lost entry may have been the NACK (MGMTQ_FULL) of one of our MGMT
    // messages: the log no longer says which, so every unanswered one is
    // re-sent after its back-off, as if NACKed (the peer answers a repeated
    // request again and allocates nothing).
    for (uint32_t i = 0; i < chan_.size(); ++i)
      if (mgmt_unanswered(chan_[i])) schedule_mgmt_resend(i);
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (room() < reserve()) return Status::Ok();  // the rest at the next poll
    ErrorEntry e;
    uint32_t repeats = 0;
    if (Status s = drv_.errlog_head(e); !s.ok()) return s;
    if (Status s = drv_.errlog_head_repeat(repeats); !s.ok()) return s;
    if (Status s = drv_.command(Cmd::kErrlogPop, 0); !s.ok()) return s;
    stats_.errlog_repeats += repeats;
    if (static_cast<uint32_t>(e.reason) < regs::kReasonCount)
      stats_.logged[static_cast<uint32_t>(e.reason)] += 1 + repeats;
    Event ev;
    ev.kind = Event::Kind::kErrorLogged;
    ev.ep = e.ep;
    ev.reason = e.reason;
    ev.peer.node = e.src_node;
    ev.count = 1 + repeats;
    ev.error = e;
    push(ev);
    // The log's EP field holds endpoint id bits 7:0 (docs/scale.md): with more
    // than 256 endpoints every id with those low bits is a candidate.
    bool gap_counted = false;  // one logged NACK, however many candidates
    for (uint32_t ep = e.ep; ep < chan_.size(); ep += 1u << regs::CMM_ERRLOG_HEAD_EP_BITS) {
      if (e.reason == Reason::kSeqGap && e.from_fabric) {
        // The lost count itself comes from CST_LOST (exact even if log entries
        // are lost); the log only says which entry to look at.
        if (e.opcode == static_cast<uint8_t>(regs::Opcode::kNack) && chan_[ep].dir == Dir::kSend && !gap_counted) {
          stats_.seq_gap_nacks += 1 + repeats;
          gap_counted = true;
        }
        if (chan_[ep].track != Track::kNone) {
          if (Status s = sample_lost(static_cast<uint16_t>(ep)); !s.ok()) return s;
        }
      }
      if (e.reason == Reason::kRekeyDue && chan_[ep].track == Track::kOpen && chan_[ep].dir == Dir::kRecv) {
        // Forced rekey (docs/strong-mode.md 7): the channel's key nears its limit.
        const uint32_t before = stats_.rekeys;
        const Status s = rekey_channel(static_cast<uint16_t>(ep));
        if (!s.ok() && s.result != Result::kRejected) return s;
        if (stats_.rekeys != before) ++stats_.forced_rekeys;
      }
    }
    if (e.from_fabric && e.opcode == static_cast<uint8_t>(regs::Opcode::kMgmt)) {
      if (Status s = on_mgmt_nack(e); !s.ok()) return s;
    }
  }
  deferred_ &= ~bit(regs::Irq::kErr);
  return Status::Ok();
}

Status KernelAgent::service_mgmt() {
  for (uint32_t i = 0; i < cfg_.mgmt_batch; ++i) {
    if (room() < reserve()) return Status::Ok();
    uint32_t count = 0;
    MgmtMessage m;
    if (Status s = drv_.mgmt_status(count, m.src_node, m.src_part); !s.ok()) return s;
    if (count == 0) break;
    for (uint32_t w = 0; w < regs::kMgmtWords; ++w)
      if (Status s = drv_.mgmt_word(w, m.words[w]); !s.ok()) return s;
    if (Status s = drv_.command(Cmd::kMgmtPop, 0); !s.ok()) return s;
    if (Status s = handle_mgmt(m); !s.ok()) return s;
    if (count == 1) break;  // that was the last one queued when we looked
  }
  deferred_ &= ~bit(regs::Irq::kMgmt);
  return Status::Ok();
}

// EXC: the exception register counts every I6 exception even when the log is
// full; report what is new since the last look.
Status KernelAgent::service_exc() {
  if (room() < 1) return Status::Ok();
  uint32_t n = 0;
  if (Status s = drv_.exc_count(n); !s.ok()) return s;
  const auto count = static_cast<uint16_t>(n);
  if (count != exc_seen_) {
    ErrorEntry last;
    if (Status s = drv_.exc_last(last); !s.ok()) return s;
    const uint16_t fresh = count > exc_seen_ ? static_cast<uint16_t>(count - exc_seen_) : count;  // cleared meanwhile
    Event ev;
    ev.kind = Event::Kind::kException;
    ev.error = last;
    ev.error.exception = true;
    ev.ep = ev.error.ep;
    ev.reason = ev.error.reason;
    ev.peer.node = ev.error.src_node;
    ev.count = fresh;
    push(ev);
    stats_.exceptions += fresh;
    exc_seen_ = count;
    if (count == regs::CMM_EXC_COUNT_COUNT_MASK) {  // saturated: start counting again
      if (Status s = exc_clear(); !s.ok()) return s;
    }
  }
  deferred_ &= ~bit(regs::Irq::kExc);
  return Status::Ok();
}

Status KernelAgent::service_alarm() {
  if (room() < 1) return Status::Ok();
  uint32_t v = 0;
  if (Status s = drv_.alarm_count(v); !s.ok()) return s;
  const auto count = static_cast<uint16_t>(v);
  if (count != alarm_seen_) {
    const uint16_t fresh = count > alarm_seen_ ? static_cast<uint16_t>(count - alarm_seen_) : count;
    Event ev;
    ev.kind = Event::Kind::kAlarm;
    ev.count = fresh;
    push(ev);
    stats_.alarms += fresh;
    alarm_seen_ = count;
  }
  deferred_ &= ~bit(regs::Irq::kAlarm);
  return Status::Ok();
}

// CONN: a peer changed the state of one of our entries (ACK, NACK, CLOSE,
// or a CONNECT accepted on a send entry).
Status KernelAgent::scan_conn() {
  if (room() < 2 * chan_.size()) return Status::Ok();
  for (uint32_t i = 0; i < chan_.size(); ++i) {
    Chan& c = chan_[i];
    const auto ep = static_cast<uint16_t>(i);
    const bool watch = c.track == Track::kConnecting || c.track == Track::kOpen ||
                       (c.track == Track::kAuthorized && c.dir == Dir::kSend);
    if (!watch) continue;
    State st = State::kFree;
    if (Status s = endpoint_state(ep, st); !s.ok()) return s;
    if (c.track == Track::kConnecting) {
      if (st == State::kOpen || st == State::kClosed) {
        c.track = Track::kOpen;
        c.deadline = kNever;
        push(chan_event(Event::Kind::kChannelReady, ep));
      } else if (st == State::kAuthorized) {  // CONNECT NACKed (authenticated): key zeroized by the CMM
        uint32_t v = 0;
        if (Status s = drv_.cst_status(ep, v); !s.ok()) return s;
        const auto why = static_cast<Reason>(CMM_FIELD_GET(v, CMM_CST_STATUS_LAST_REASON));
        c.track = Track::kAuthorized;
        c.deadline = kNever;
        if (c.proto) {
          if (Status s = fail_request(ep, why, AgentReason::kNone, true); !s.ok()) return s;
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
        c.deadline = kNever;
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
  if (room() < chan_.size()) return Status::Ok();
  for (uint32_t i = 0; i < chan_.size(); ++i) {
    Chan& c = chan_[i];
    const auto ep = static_cast<uint16_t>(i);
    if (c.dir != Dir::kSend || (c.track != Track::kOpen && c.track != Track::kPeerClosed)) continue;
    uint32_t v = 0;
    if (Status s = drv_.cst_status(ep, v); !s.ok()) return s;
    // A SEQ_GAP NACK raises TXNACK too, but counts in CST_LOST.TX only; that
    // is read when its error-log entry (or the log's LOST count) shows up.
    // TX_NACKS counts refusals only (no SEQ_GAP / SEQ_OLD NACKs): nothing to subtract.
    const auto nacks = static_cast<uint16_t>(CMM_FIELD_GET(v, CMM_CST_STATUS_TX_NACKS));
    if (nacks == c.tx_nacks_seen) continue;
    const uint32_t fresh = static_cast<uint16_t>(nacks - c.tx_nacks_seen);
    c.tx_nacks_seen = nacks;
    Event ev = chan_event(Event::Kind::kTxNacked, ep);
    ev.count = fresh;
    ev.reason = static_cast<Reason>(CMM_FIELD_GET(v, CMM_CST_STATUS_LAST_REASON));
    push(ev);
  }
  deferred_ &= ~bit(regs::Irq::kTxnack);
  return Status::Ok();
}

// CST_LOST counts only grow (saturating) until ALLOC/FREE, which also reset chan_[ep].
Status KernelAgent::sample_lost(uint16_t ep) {
  Chan& c = chan_[ep];
  uint16_t tx = 0, rx = 0;
  if (Status s = drv_.cst_lost(ep, tx, rx); !s.ok()) return s;
  stats_.tx_lost += static_cast<uint16_t>(tx - c.tx_lost_seen);
  stats_.rx_lost += static_cast<uint16_t>(rx - c.rx_lost_seen);
  c.tx_lost_seen = tx;
  c.rx_lost_seen = rx;
  return Status::Ok();
}

Status KernelAgent::scan_rx() {
  if (room() < chan_.size()) return Status::Ok();
  for (uint32_t i = 0; i < chan_.size(); ++i) {
    const Chan& c = chan_[i];
    const auto ep = static_cast<uint16_t>(i);
    if (c.dir != Dir::kRecv || (c.track != Track::kOpen && c.track != Track::kPeerClosed)) continue;
    uint32_t v = 0;
    if (Status s = drv_.cst_status(ep, v); !s.ok()) return s;
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
  if (deferred_ & bit(regs::Irq::kExc)) {
    if (Status s = service_exc(); !s.ok()) return s;
  }
  if (deferred_ & bit(regs::Irq::kAlarm)) {
    if (Status s = service_alarm(); !s.ok()) return s;
  }
  if (Status s = service_timers(); !s.ok()) return s;
  return service_queued();
}

}  // namespace cmm::sw
