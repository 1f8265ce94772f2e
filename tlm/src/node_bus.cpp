#include "cmm_tlm/node_bus.h"

#include <string>
#include <unordered_map>

#include "cmm_tlm/cmm_tlm.h"

namespace cmm::tlmshell {

using namespace sc_core;

namespace {
constexpr size_t kMaxRoutes = 256;
}

namespace {
// Target interfaces (they exist from construction on) -> their owners: a
// bound port's interface finds its peer in O(1), with no walk of the
// hierarchy per bus (quadratic in the node count).
struct BusPort {
  NodeBus* bus;
  int port;
};
std::unordered_map<sc_interface*, BusPort>& bus_ports() {
  static std::unordered_map<sc_interface*, BusPort> m;
  return m;
}
std::unordered_map<sc_interface*, CmmTlm*>& reg_targets() {
  static std::unordered_map<sc_interface*, CmmTlm*> m;
  return m;
}
}  // namespace

// ------------------------------------------------------------ NodeBus

NodeBus::NodeBus(sc_module_name name, uint32_t num_parts, sc_time latency, bool mgmt_port)
    : sc_module(name), cmm_isock("cmm_isock"), latency_(latency), part_direct_(num_parts, nullptr), waiting_(num_parts + 2) {
  routes_.reserve(kMaxRoutes);
  if (num_parts == 0 || num_parts > regs::kMaxNumPartitions)
    SC_REPORT_FATAL("cmm/node_bus", "number of partitions out of range");
  for (uint32_t p = 0; p < num_parts; ++p) {
    const std::string n = "part_tsock_" + std::to_string(p);
    part_tsock.push_back(std::make_unique<TargetSocket>(n.c_str()));
    part_tsock.back()->register_nb_transport_fw(this, &NodeBus::fw, static_cast<int>(p));
    part_tsock.back()->register_b_transport(this, &NodeBus::b_fw, static_cast<int>(p));
    part_tsock.back()->register_get_direct_mem_ptr(this, &NodeBus::dmi_fw, static_cast<int>(p));
    bus_ports()[&part_tsock.back()->get_base_interface()] = BusPort{this, static_cast<int>(p)};
  }
  if (mgmt_port) {
    mgmt_tsock = std::make_unique<TargetSocket>("mgmt_tsock");
    mgmt_tsock->register_nb_transport_fw(this, &NodeBus::fw, kMgmtPort);
    mgmt_tsock->register_b_transport(this, &NodeBus::b_fw, kMgmtPort);
    mgmt_tsock->register_get_direct_mem_ptr(this, &NodeBus::dmi_fw, kMgmtPort);
    bus_ports()[&mgmt_tsock->get_base_interface()] = BusPort{this, kMgmtPort};
  }
  cmm_isock.register_nb_transport_bw(this, &NodeBus::bw);
}

int NodeBus::take_route(tlm::tlm_generic_payload* gp) {
  for (size_t i = routes_.size(); i-- > 0;)
    if (routes_[i].gp == gp) {
      const int p = routes_[i].port;
      routes_[i] = routes_.back();
      routes_.pop_back();
      return p;
    }
  return -1;
}

void note_reg_target(sc_interface* i, CmmTlm* c) { reg_targets()[i] = c; }
void forget_reg_target(sc_interface* i) { reg_targets().erase(i); }

NodeBus::~NodeBus() {
  for (auto& t : part_tsock) bus_ports().erase(&t->get_base_interface());
  if (mgmt_tsock) bus_ports().erase(&mgmt_tsock->get_base_interface());
}

// Hops bound straight to a PartitionBusIf or to a CMM's register target
// become direct calls: the simple sockets would only forward the same
// call (no timing of their own), through two indirect calls per hop.
void NodeBus::end_of_elaboration() {
  const auto it = reg_targets().find(cmm_isock.get_interface());
  if (it != reg_targets().end()) {
    cmm_direct_ = it->second;
    cmm_direct_->reg_direct_ = this;
  }
}

PartitionBusIf::~PartitionBusIf() = default;

void PartitionBusIf::end_of_elaboration() {
  const auto it = bus_ports().find(isock.get_interface());
  if (it == bus_ports().end()) return;
  NodeBus& b = *it->second.bus;
  direct_bus_ = &b;
  direct_port_ = it->second.port;
  if (direct_port_ == NodeBus::kMgmtPort) b.mgmt_direct_ = this;
  else b.part_direct_[static_cast<size_t>(direct_port_)] = this;
}

uint32_t NodeBus::direct_hops() const {
  uint32_t n = cmm_direct_ ? 1 : 0;
  for (auto* p : part_direct_) n += p ? 1 : 0;
  return n + (mgmt_direct_ ? 1 : 0);
}

tlm::tlm_sync_enum NodeBus::to_part(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  PartitionBusIf* pb = port == kMgmtPort ? mgmt_direct_ : part_direct_[static_cast<size_t>(port)];
  if (pb) return pb->bw(gp, ph, d);
  return sock(port)->nb_transport_bw(gp, ph, d);
}

tlm::tlm_sync_enum NodeBus::to_cmm(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (cmm_direct_) return cmm_direct_->reg_fw(gp, ph, d);
  return cmm_isock->nb_transport_fw(gp, ph, d);
}

tlm::tlm_sync_enum NodeBus::forward(int port, tlm::tlm_generic_payload& gp, sc_time& d) {
  tlm::tlm_phase ph = tlm::BEGIN_REQ;
  const tlm::tlm_sync_enum s = to_cmm(gp, ph, d);
  if (s == tlm::TLM_ACCEPTED) {
    cmm_busy_ = true;
    awaiting_end_req_ = Route{&gp, port};
    ++stats_.stalls;
    return s;
  }
  if (s == tlm::TLM_COMPLETED) {
    take_route(&gp);
    ++stats_.responses;
    return s;
  }
  if (ph != tlm::END_REQ) SC_REPORT_ERROR("cmm/node_bus", "CMM answered BEGIN_REQ with an unsupported phase");
  return tlm::TLM_UPDATED;
}

tlm::tlm_sync_enum NodeBus::fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (ph == tlm::END_RESP) return tlm::TLM_COMPLETED;
  if (ph != tlm::BEGIN_REQ) {
    SC_REPORT_ERROR("cmm/node_bus", "unexpected phase from a partition");
    return tlm::TLM_COMPLETED;
  }
  ++stats_.requests;
  if (routes_.size() >= kMaxRoutes || !stamp(port, gp)) {
    // No hardware context (or too many outstanding): refused by the bus, never forwarded.
    ++stats_.errors;
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    d += 2 * latency_;
    return tlm::TLM_COMPLETED;
  }
  routes_.push_back(Route{&gp, port});
  if (cmm_busy_) {
    waiting_.push(Route{&gp, port});
    return tlm::TLM_ACCEPTED;
  }
  sc_time fd = d + latency_;
  const tlm::tlm_sync_enum s = forward(port, gp, fd);
  if (s == tlm::TLM_COMPLETED) {
    d = fd + latency_;
    return tlm::TLM_COMPLETED;
  }
  if (s == tlm::TLM_ACCEPTED) return tlm::TLM_ACCEPTED;
  ph = tlm::END_REQ;
  return tlm::TLM_UPDATED;
}

bool NodeBus::stamp(int port, tlm::tlm_generic_payload& gp) {
  RequesterId* rid = nullptr;
  gp.get_extension(rid);
  if (!rid) return false;
  if (port == kMgmtPort) {
    // The board-management controller: FIRMWARE, and nothing of a partition.
    rid->part = 0;
    rid->priv = regs::Priv::kUser;
    rid->pid = 0;
    rid->fw = true;
  } else {
    rid->part = static_cast<uint8_t>(port);  // the port IS the partition: stamped by hardware
    rid->fw = false;                         // never FIRMWARE from a partition
  }
  return true;
}

// Loosely timed: no routes, no request exclusion (the CMM answers inside the
// call); the bus latency both ways goes into the annotated delay.
void NodeBus::b_fw(int port, tlm::tlm_generic_payload& gp, sc_time& d) {
  ++stats_.requests;
  ++stats_.lt_requests;
  if (!stamp(port, gp)) {
    ++stats_.errors;
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    d += 2 * latency_;
    return;
  }
  d += latency_;
  cmm_isock->b_transport(gp, d);
  d += latency_;
  ++stats_.responses;
}

bool NodeBus::dmi_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi) {
  (void)port;
  return cmm_isock->get_direct_mem_ptr(gp, dmi);  // the CMM refuses it
}

tlm::tlm_sync_enum NodeBus::bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (ph == tlm::END_REQ) {
    cmm_busy_ = false;
    const Route r = awaiting_end_req_;
    awaiting_end_req_ = Route{};
    if (r.gp) {
      tlm::tlm_phase p2 = tlm::END_REQ;
      sc_time d2 = d + latency_;
      to_part(r.port, *r.gp, p2, d2);
    }
    while (!cmm_busy_ && !waiting_.empty()) {
      const Route w = waiting_.front();
      waiting_.pop();
      sc_time fd = latency_;
      const tlm::tlm_sync_enum s = forward(w.port, *w.gp, fd);
      if (s == tlm::TLM_ACCEPTED) break;  // END_REQ to w comes with the CMM's END_REQ
      tlm::tlm_phase p2 = s == tlm::TLM_COMPLETED ? tlm::BEGIN_RESP : tlm::END_REQ;
      sc_time d2 = s == tlm::TLM_COMPLETED ? fd + latency_ : SC_ZERO_TIME;
      to_part(w.port, *w.gp, p2, d2);
    }
    return tlm::TLM_ACCEPTED;
  }
  if (ph != tlm::BEGIN_RESP) {
    SC_REPORT_ERROR("cmm/node_bus", "unexpected phase from the CMM");
    return tlm::TLM_COMPLETED;
  }
  const int port = take_route(&gp);
  if (port < 0) {
    SC_REPORT_ERROR("cmm/node_bus", "response for an unknown transaction");
    return tlm::TLM_COMPLETED;
  }
  ++stats_.responses;
  tlm::tlm_phase p2 = tlm::BEGIN_RESP;
  sc_time d2 = d + latency_;
  to_part(port, gp, p2, d2);
  return tlm::TLM_COMPLETED;
}

// ------------------------------------------------------------ PartitionBusIf

PartitionBusIf::PartitionBusIf(sc_module_name name) : sc_module(name), isock("isock") {
  isock.register_nb_transport_bw(this, &PartitionBusIf::bw);
}

std::unique_ptr<CpuBusIf> PartitionBusIf::make_context(regs::Priv priv, uint16_t pid) {
  return std::make_unique<CpuBusIf>(*this, priv, pid);
}

void PartitionBusIf::transport(tlm::tlm_generic_payload& gp, CpuBusIf& ctx) {
  while (req_gp_) {
    ++end_req_waiters_;
    wait(end_req_ev_);
    --end_req_waiters_;
  }
  req_gp_ = &gp;
  ctx.done_ = false;
  tlm::tlm_phase ph = tlm::BEGIN_REQ;
  sc_time d = SC_ZERO_TIME;
  const tlm::tlm_sync_enum s =
      direct_bus_ ? direct_bus_->fw(direct_port_, gp, ph, d) : isock->nb_transport_fw(gp, ph, d);
  if (s == tlm::TLM_COMPLETED || (s == tlm::TLM_UPDATED && ph == tlm::BEGIN_RESP)) {
    ctx.done_ = true;
    ctx.done_time_ = sc_time_stamp() + d;
  }
  if (s != tlm::TLM_ACCEPTED && req_gp_ == &gp) {
    req_gp_ = nullptr;
    if (end_req_waiters_) end_req_ev_.notify(SC_ZERO_TIME);  // no delta notification per access
  }
  while (!ctx.done_) wait(ctx.done_ev_);
  if (sc_time_stamp() < ctx.done_time_) wait(ctx.done_time_ - sc_time_stamp());
}

tlm::tlm_sync_enum PartitionBusIf::bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  if (req_gp_ == &gp) {  // END_REQ, or BEGIN_RESP which implies it
    req_gp_ = nullptr;
    if (end_req_waiters_) end_req_ev_.notify(SC_ZERO_TIME);  // no delta notification per access
  }
  if (ph == tlm::END_REQ) return tlm::TLM_ACCEPTED;
  if (ph != tlm::BEGIN_RESP) {
    SC_REPORT_ERROR("cmm/cpu_bus", "unexpected phase");
    return tlm::TLM_COMPLETED;
  }
  CpuCtxExt* c = nullptr;
  gp.get_extension(c);
  if (!c || !c->ctx) {
    SC_REPORT_ERROR("cmm/cpu_bus", "response without a CPU context");
    return tlm::TLM_COMPLETED;
  }
  c->ctx->done_ = true;
  c->ctx->done_time_ = sc_time_stamp() + d;
  c->ctx->done_ev_.notify(d);
  return tlm::TLM_COMPLETED;
}

// ------------------------------------------------------------ CpuBusIf

CpuBusIf::CpuBusIf(PartitionBusIf& bus, regs::Priv priv, uint16_t pid) : bus_(bus), priv_(priv), pid_(pid) {
  rid_ = new RequesterId;
  rsp_ = new RegResponse;
  auto* c = new CpuCtxExt;
  c->ctx = this;
  gp_.set_extension(rid_);  // owned (and freed) by the payload
  gp_.set_extension(rsp_);
  gp_.set_extension(c);
}

namespace {
// One register access in a reused payload (both CPU-side contexts).
void prepare_access(tlm::tlm_generic_payload& gp, RequesterId& rid, RegResponse& rsp, tlm::tlm_command cmd,
                    uint32_t addr, uint8_t* data, size_t len, regs::Priv priv, uint16_t pid) {
  gp.set_command(cmd);
  gp.set_address(addr);
  gp.set_data_ptr(data);
  gp.set_data_length(static_cast<unsigned>(len));
  gp.set_streaming_width(static_cast<unsigned>(len));
  gp.set_byte_enable_ptr(nullptr);
  gp.set_byte_enable_length(0);
  gp.set_dmi_allowed(false);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  rid.part = 0xFF;  // not ours to choose: the NodeBus port stamps it
  rid.priv = priv;
  rid.pid = pid;
  rsp.status = regs::Rsp::kDecerr;
  rsp.shell_error = true;
  rsp.buf = false;
}
}  // namespace

cmm::sw::BusStatus CpuBusIf::run(tlm::tlm_command cmd, uint32_t addr, uint8_t* data, size_t len) {
  if (busy_) SC_REPORT_FATAL("cmm/cpu_bus", "a CPU context used by two threads at once");
  busy_ = true;
  ++accesses_;
  prepare_access(gp_, *rid_, *rsp_, cmd, addr, data, len, priv_, pid_);
  bus_.transport(gp_, *this);
  busy_ = false;
  return bus_status(gp_, *rsp_);
}

cmm::sw::BusStatus bus_status(const tlm::tlm_generic_payload& gp, const RegResponse& rsp) {
  if (gp.get_response_status() == tlm::TLM_OK_RESPONSE) return cmm::sw::BusStatus::kOk;
  switch (rsp.status) {
    case regs::Rsp::kOk: return cmm::sw::BusStatus::kDecErr;  // refused by the bus itself
    case regs::Rsp::kDenied: return cmm::sw::BusStatus::kDenied;
    case regs::Rsp::kDecerr: return cmm::sw::BusStatus::kDecErr;
    case regs::Rsp::kReject: return cmm::sw::BusStatus::kReject;
  }
  return cmm::sw::BusStatus::kDecErr;
}

cmm::sw::BusStatus CpuBusIf::read32(uint32_t addr, uint32_t& data) {
  const auto s = run(tlm::TLM_READ_COMMAND, addr, word_.data(), 4);
  std::memcpy(&data, word_.data(), 4);
  return s;
}

cmm::sw::BusStatus CpuBusIf::write32(uint32_t addr, uint32_t data) {
  std::memcpy(word_.data(), &data, 4);
  return run(tlm::TLM_WRITE_COMMAND, addr, word_.data(), 4);
}

cmm::sw::BusStatus CpuBusIf::write_block(uint32_t addr, const uint8_t* data, size_t len) {
  // The target only reads the buffer of a write.
  return run(tlm::TLM_WRITE_COMMAND, addr, const_cast<uint8_t*>(data), len);
}

cmm::sw::BusStatus CpuBusIf::read_block(uint32_t addr, uint8_t* data, size_t len) {
  return run(tlm::TLM_READ_COMMAND, addr, data, len);
}

// ------------------------------------------------------------ loosely-timed CPU

LtPartitionBusIf::LtPartitionBusIf(sc_module_name name, tlm_utils::tlm_quantumkeeper* shared_qk)
    : sc_module(name), isock("isock"), qk_(shared_qk ? shared_qk : &own_qk_) {}

std::unique_ptr<LtCpuBusIf> LtPartitionBusIf::make_context(regs::Priv priv, uint16_t pid) {
  return std::make_unique<LtCpuBusIf>(*this, priv, pid);
}

void LtPartitionBusIf::advance(const sc_time& t) {
  qk_->inc(t);
  if (qk_->need_sync()) {
    ++syncs_;
    qk_->sync();
  }
}

void LtPartitionBusIf::transport(tlm::tlm_generic_payload& gp) {
  sc_time d = qk_->get_local_time();
  isock->b_transport(gp, d);
  qk_->set(d);
  if (qk_->need_sync()) {
    ++syncs_;
    qk_->sync();
  }
}

LtCpuBusIf::LtCpuBusIf(LtPartitionBusIf& bus, regs::Priv priv, uint16_t pid) : bus_(bus), priv_(priv), pid_(pid) {
  rid_ = new RequesterId;
  rsp_ = new RegResponse;
  gp_.set_extension(rid_);  // owned (and freed) by the payload
  gp_.set_extension(rsp_);
}

cmm::sw::BusStatus LtCpuBusIf::run(tlm::tlm_command cmd, uint32_t addr, uint8_t* data, size_t len) {
  ++accesses_;
  prepare_access(gp_, *rid_, *rsp_, cmd, addr, data, len, priv_, pid_);
  const sc_time before = bus_.qk().get_current_time();
  bus_.transport(gp_);
  last_latency_ = bus_.qk().get_current_time() - before;
  return bus_status(gp_, *rsp_);
}

cmm::sw::BusStatus LtCpuBusIf::read32(uint32_t addr, uint32_t& data) {
  const auto s = run(tlm::TLM_READ_COMMAND, addr, word_.data(), 4);
  std::memcpy(&data, word_.data(), 4);
  return s;
}

cmm::sw::BusStatus LtCpuBusIf::write32(uint32_t addr, uint32_t data) {
  std::memcpy(word_.data(), &data, 4);
  return run(tlm::TLM_WRITE_COMMAND, addr, word_.data(), 4);
}

cmm::sw::BusStatus LtCpuBusIf::write_block(uint32_t addr, const uint8_t* data, size_t len) {
  return run(tlm::TLM_WRITE_COMMAND, addr, const_cast<uint8_t*>(data), len);  // the target only reads it
}

cmm::sw::BusStatus LtCpuBusIf::read_block(uint32_t addr, uint8_t* data, size_t len) {
  return run(tlm::TLM_READ_COMMAND, addr, data, len);
}

// ------------------------------------------------------------ link keys (FIRMWARE)

cmm::sw::BusStatus provision_link_key(cmm::sw::RegIf& fw, uint16_t node, const Key& key) {
  using cmm::sw::BusStatus;
  if (node >= regs::kLinkNodes) return BusStatus::kReject;  // no entry (LINK_CMD.NODE would alias)
  for (uint32_t w = 0; w < regs::kKeyWords; ++w) {
    const BusStatus s = fw.write32(regs::CMM_LINK_KEY_OFFSET + regs::CMM_LINK_KEY_STRIDE * w, key[w]);
    if (s != BusStatus::kOk) return s;
  }
  uint32_t cmd = 0;
  cmd = CMM_FIELD_SET(cmd, CMM_LINK_CMD_OP, static_cast<uint32_t>(regs::LinkOp::kSet));
  cmd = CMM_FIELD_SET(cmd, CMM_LINK_CMD_NODE, node);
  const BusStatus s = fw.write32(regs::CMM_LINK_CMD_OFFSET, cmd);
  if (s != BusStatus::kOk) return s;
  uint32_t st = 0;
  const BusStatus r = fw.read32(regs::CMM_LINK_STATUS_OFFSET, st);
  if (r != BusStatus::kOk) return r;
  return CMM_FIELD_GET(st, CMM_LINK_STATUS_REASON) == 0 ? BusStatus::kOk : BusStatus::kReject;
}

cmm::sw::BusStatus clear_link_key(cmm::sw::RegIf& fw, uint16_t node) {
  if (node >= regs::kLinkNodes) return cmm::sw::BusStatus::kReject;
  uint32_t cmd = 0;
  cmd = CMM_FIELD_SET(cmd, CMM_LINK_CMD_OP, static_cast<uint32_t>(regs::LinkOp::kClear));
  cmd = CMM_FIELD_SET(cmd, CMM_LINK_CMD_NODE, node);
  return fw.write32(regs::CMM_LINK_CMD_OFFSET, cmd);
}

}  // namespace cmm::tlmshell
