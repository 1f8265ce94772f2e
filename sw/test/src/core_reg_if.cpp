#include "cmm_sw_testing/core_reg_if.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cmm::sw::testing {

using namespace regs;

namespace {


// Which payload window (if any) addr is in, its endpoint and offset inside the window.
enum class Win { kNone, kTx, kRx };
struct WinPos {
  Win win = Win::kNone;
  uint32_t ep = 0, off = 0;
};
// num_eps: the core's run-time geometry (endpoint pages that exist).
WinPos window_of(uint32_t addr, uint32_t num_eps) {
  WinPos p;
  if (addr < CMM_EP_BASE || addr >= CMM_EP_BASE + num_eps * CMM_EP_STRIDE) return p;
  p.ep = (addr - CMM_EP_BASE) / CMM_EP_STRIDE;
  const uint32_t off = (addr - CMM_EP_BASE) % CMM_EP_STRIDE;
  if (off >= CMM_TX_BUF_OFFSET && off < CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES) {
    p.win = Win::kTx;
    p.off = off - CMM_TX_BUF_OFFSET;
  } else if (off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES) {
    p.win = Win::kRx;
    p.off = off - CMM_RX_BUF_OFFSET;
  }
  return p;
}
uint32_t window_bytes(Win w) { return w == Win::kTx ? CMM_TX_BUF_BYTES : CMM_RX_BUF_BYTES; }

bool is_doorbell(uint32_t addr, uint32_t num_eps) {
  return addr >= CMM_EP_BASE && addr < CMM_EP_BASE + num_eps * CMM_EP_STRIDE && (addr - CMM_EP_BASE) % CMM_EP_STRIDE == CMM_EP_DOORBELL_OFFSET;
}

BusStatus to_bus(uint8_t rsp) {
  switch (static_cast<Rsp>(rsp)) {
    case Rsp::kOk: return BusStatus::kOk;
    case Rsp::kDenied: return BusStatus::kDenied;
    case Rsp::kDecerr: return BusStatus::kDecErr;
    case Rsp::kReject: return BusStatus::kReject;
  }
  return BusStatus::kDecErr;
}

}  // namespace

// ------------------------------------------------------------------ SimNode

SimNode::SimNode(LoopbackFabric& fabric, const Straps& straps, const CoreParams& params)
    : fab_(fabric),
      core_(straps, params),
      tx_stage_(core_.geometry().num_endpoints),
      rx_(size_t{core_.geometry().num_endpoints} * core_.geometry().rxq_depth) {}

bool SimNode::idle() const {
  return core_.quiescent() && ingress_.empty() && vd_pending_.empty() && !req_.valid;
}

void SimNode::pre(uint64_t now, PinsIn& in) {
  in = PinsIn{};
  in.cycle = static_cast<uint32_t>(now);  // cycle_i: the platform timebase (alarm windows)
  if (entropy_next_) {
    in.entropy_valid = true;
    in.entropy = entropy_;
    entropy_next_ = false;
  }
  const PinsOut& o = core_.out();
  // Egress: the fabric takes the shown header (and a DATA payload snapshot).
  in.eg_ready = eg_ready_;
  if (o.eg_valid && eg_ready_) {
    Packet p;
    p.hdr = o.eg_hdr;
    if (p.hdr.opcode == static_cast<uint8_t>(Opcode::kData)) {
      if (tx_fifo_.empty()) {
        ++buffer_errors_;
      } else {
        p.payload = std::move(tx_fifo_.front());
        tx_fifo_.pop_front();
      }
    }
    fab_.route(node_id(), std::move(p));
  }
  // Ingress: the oldest arrived packet, if the core takes it.
  if (!ingress_.empty() && ingress_.front().due <= now) {
    in.ing_valid = true;
    in.ing_hdr = ingress_.front().pkt.hdr;
    if (o.ing_ready) {
      if (in.ing_hdr.masked().opcode == static_cast<uint8_t>(Opcode::kData))
        vd_pending_.push_back(std::move(ingress_.front().pkt.payload));  // waits for its verdict
      ingress_.pop_front();
    }
  }
  // Register port.
  if (req_.valid && !req_.accepted) {
    in.reg_req_valid = true;
    in.reg_req_write = req_.write;
    in.reg_req_addr = req_.addr;
    in.reg_req_wdata = req_.wdata;
    in.reg_req_part = req_.part;
    in.reg_req_priv = req_.priv;
    in.reg_req_pid = req_.pid;
    if (o.reg_req_ready) req_.accepted = true;
  }
}

void SimNode::post() {
  const PinsOut& o = core_.out();
  if (o.vd_valid) {
    if (vd_pending_.empty()) {
      ++buffer_errors_;
    } else {
      std::vector<uint8_t> payload = std::move(vd_pending_.front());
      vd_pending_.pop_front();
      const Geometry& g = core_.geometry();
      if (o.vd_accept && o.vd_ep < g.num_endpoints && o.vd_slot < g.rxq_depth) {
        auto& slot = rx_[o.vd_ep * g.rxq_depth + o.vd_slot];
        const size_t n = std::min(payload.size(), slot.size());
        std::copy(payload.begin(), payload.begin() + static_cast<long>(n), slot.begin());
        std::fill(slot.begin() + static_cast<long>(n), slot.end(), 0);
      }
    }
  }
  if (o.reg_rsp_valid && req_.valid && req_.accepted && !req_.done) complete(o);
}

void SimNode::complete(const PinsOut& o) {
  req_.status = o.reg_rsp_status;
  req_.rdata = o.reg_rsp_rdata;
  req_.done = true;
  if (o.reg_rsp_status != static_cast<uint8_t>(Rsp::kOk)) return;
  const WinPos w = window_of(req_.addr, core_.geometry().num_endpoints);
  if (w.win != Win::kNone) {
    if (!o.reg_rsp_buf) {
      ++buffer_errors_;
      req_.status = static_cast<uint8_t>(Rsp::kDecerr);
      return;
    }
    if (w.win == Win::kTx) {
      // Either a burst (wbuf) or one 32-bit word (little-endian).
      uint8_t word[4];
      const uint8_t* src = req_.wbuf;
      if (!src) {
        std::memcpy(word, &req_.wdata, 4);
        src = word;
      }
      std::copy(src, src + req_.len, tx_stage_[w.ep].begin() + w.off);
    } else {
      const uint32_t d = core_.geometry().rxq_depth;
      const auto& slot = rx_[w.ep * d + (o.reg_rsp_buf_slot % d)];
      if (req_.rbuf) {
        std::copy(slot.begin() + w.off, slot.begin() + w.off + static_cast<long>(req_.len), req_.rbuf);
      } else {
        std::memcpy(&req_.rdata, slot.data() + w.off, 4);
      }
    }
    return;
  }
  if (req_.write && is_doorbell(req_.addr, core_.geometry().num_endpoints)) {
    // Doorbell accepted: its DATA header is queued; snapshot the staged bytes.
    const uint32_t ep = (req_.addr - CMM_EP_BASE) / CMM_EP_STRIDE;
    const uint32_t len = std::min<uint32_t>(CMM_FIELD_GET(req_.wdata, CMM_EP_DOORBELL_LEN), kMaxMsgBytes);
    auto& st = tx_stage_[ep];
    tx_fifo_.emplace_back(st.begin(), st.begin() + len);
    st.fill(0);  // staging is consumed, as in the TLM packet buffer
  }
}

// ------------------------------------------------------------------ LoopbackFabric

LoopbackFabric::LoopbackFabric(uint32_t latency_cycles) : latency_(latency_cycles == 0 ? 1 : latency_cycles) {}

SimNode& LoopbackFabric::add_node(uint16_t node_id, const std::array<uint8_t, kNumPartitions>& quota,
                                  const CoreParams& params) {
  if (node(node_id)) throw std::invalid_argument("node id used twice: " + std::to_string(node_id));
  Straps s;
  s.node_id = node_id;
  std::copy(quota.begin(), quota.end(), s.quota.begin());
  nodes_.push_back(std::make_unique<SimNode>(*this, s, params));
  ins_.resize(nodes_.size());
  return *nodes_.back();
}

SimNode* LoopbackFabric::node(uint16_t node_id) {
  for (auto& n : nodes_)
    if (n->node_id() == node_id) return n.get();
  return nullptr;
}

void LoopbackFabric::route(uint16_t from_node, Packet&& pkt) {
  if (filter_ && !filter_(from_node, pkt)) {
    ++filtered_;
    return;
  }
  if (tracing_) trace_.push_back(pkt);
  SimNode* dst = node(pkt.hdr.dst_node);
  if (!dst) {
    ++undeliverable_;
    return;
  }
  dst->ingress_.push_back(SimNode::InFlight{cycle_ + latency_, std::move(pkt)});
}

void LoopbackFabric::inject(uint16_t dst_node, const Packet& pkt) {
  SimNode* dst = node(dst_node);
  if (!dst) {
    ++undeliverable_;
    return;
  }
  dst->ingress_.push_back(SimNode::InFlight{cycle_, pkt});
}

void LoopbackFabric::step() {
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i]->pre(cycle_, ins_[i]);
  for (size_t i = 0; i < nodes_.size(); ++i) nodes_[i]->core_.step(ins_[i]);
  for (auto& n : nodes_) n->post();
  ++cycle_;
}

void LoopbackFabric::run(uint64_t cycles) {
  for (uint64_t i = 0; i < cycles; ++i) step();
}

bool LoopbackFabric::idle() const {
  for (const auto& n : nodes_)
    if (!n->idle()) return false;
  return true;
}

bool LoopbackFabric::run_until_idle(uint64_t max_cycles) {
  for (uint64_t i = 0; i < max_cycles; ++i) {
    if (idle()) return true;
    step();
  }
  return idle();
}

// ------------------------------------------------------------------ CoreRegIf

BusStatus CoreRegIf::access(bool write, uint32_t addr, uint32_t wdata, uint32_t* rdata, const uint8_t* wbuf,
                            uint8_t* rbuf, size_t len) {
  SimNode::Req& r = node_.req_;
  if (r.valid) throw std::logic_error("CoreRegIf: two accesses in flight on one node");
  if (wbuf || rbuf) {
    const WinPos w = window_of(addr, node_.core().geometry().num_endpoints);
    const Win want = wbuf ? Win::kTx : Win::kRx;
    if (w.win != want || len == 0 || w.off + len > window_bytes(w.win)) return BusStatus::kDecErr;
  }
  ++accesses_;
  ++node_.reg_accesses_;
  r = SimNode::Req{};
  r.valid = true;
  r.write = write;
  r.addr = addr;
  r.wdata = wdata;
  r.part = part_;
  r.priv = priv_;
  r.pid = pid_;
  r.wbuf = wbuf;
  r.rbuf = rbuf;
  r.len = (wbuf || rbuf) ? len : 4;
  LoopbackFabric& fab = node_.fabric();
  for (uint64_t i = 0; !r.done; ++i) {
    if (i == kMaxAccessCycles) {
      r = SimNode::Req{};
      throw std::runtime_error("CoreRegIf: no register response within kMaxAccessCycles");
    }
    fab.step();
  }
  const uint8_t st = r.status;
  if (rdata) *rdata = r.rdata;
  r = SimNode::Req{};
  return to_bus(st);
}

BusStatus CoreRegIf::read32(uint32_t addr, uint32_t& data) {
  return access(false, addr, 0, &data, nullptr, nullptr, 4);
}

BusStatus CoreRegIf::write32(uint32_t addr, uint32_t data) {
  return access(true, addr, data, nullptr, nullptr, nullptr, 4);
}

BusStatus CoreRegIf::write_block(uint32_t addr, const uint8_t* data, size_t len) {
  if (!data) return BusStatus::kDecErr;
  return access(true, addr, 0, nullptr, data, nullptr, len);
}

BusStatus CoreRegIf::read_block(uint32_t addr, uint8_t* data, size_t len) {
  if (!data) return BusStatus::kDecErr;
  return access(false, addr, 0, nullptr, nullptr, data, len);
}

}  // namespace cmm::sw::testing
