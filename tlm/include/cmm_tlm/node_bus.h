// Node bus: partition-side target ports that stamp the requester partition,
// one initiator socket to the CMM's register target. Partition CPUs reach it
// through a PartitionBusIf (one per partition, its bus interface unit) and
// CpuBusIf contexts (one per privilege/process: the CPU's hardware context),
// which implement cmm::sw::RegIf for driver code running in SC_THREADs.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "cmm_pins.h"
#include "cmm_sw/reg_if.h"
#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell {

class CmmTlm;
class PartitionBusIf;

struct NodeBusStats {
  uint64_t requests = 0;
  uint64_t responses = 0;
  uint64_t errors = 0;  // refused by the bus (no requester id, route table full)
  uint64_t stalls = 0;  // requests that waited for END_REQ from the CMM
  uint64_t lt_requests = 0;  // b_transport calls forwarded (loosely timed)
};

class NodeBus : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(NodeBus);
  // latency: one-way bus latency, added on the request and on the response path.
  // mgmt_port: also create the board-management port (mgmt_tsock), the only
  // path to the link keys (FIRMWARE, docs/strong-mode.md 11.3).
  NodeBus(sc_core::sc_module_name name, uint32_t num_parts,
          sc_core::sc_time latency = sc_core::sc_time(1, sc_core::SC_NS), bool mgmt_port = false);
  ~NodeBus() override;

  using TargetSocket = tlm_utils::simple_target_socket_tagged<NodeBus>;
  std::vector<std::unique_ptr<TargetSocket>> part_tsock;  // port p = partition p
  // Board-management port (null unless mgmt_port): requests through it are
  // stamped FIRMWARE (partition 0, user, pid 0, fw); every other port stamps fw = 0.
  std::unique_ptr<TargetSocket> mgmt_tsock;
  static constexpr int kMgmtPort = 1000;
  tlm_utils::simple_initiator_socket<NodeBus> cmm_isock;

  const NodeBusStats& stats() const { return stats_; }
  uint32_t num_parts() const { return static_cast<uint32_t>(part_tsock.size()); }
  const sc_core::sc_time& latency() const { return latency_; }
  // Hops taken as direct calls (ports bound straight to a PartitionBusIf /
  // the CMM's register target): the same calls the sockets would make.
  uint32_t direct_hops() const;

 protected:
  void end_of_elaboration() override;

 private:
  friend class CmmTlm;
  friend class PartitionBusIf;
  struct Route {
    tlm::tlm_generic_payload* gp = nullptr;
    int port = -1;
  };
  tlm::tlm_sync_enum fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  // Loosely timed: stamps like fw(), adds the latency both ways to the annotated delay.
  void b_fw(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& d);
  bool dmi_fw(int port, tlm::tlm_generic_payload& gp, tlm::tlm_dmi& dmi);
  bool stamp(int port, tlm::tlm_generic_payload& gp);  // false: no requester id
  // Forwards to the CMM; returns true if the CMM took the request (END_REQ or COMPLETED handled).
  tlm::tlm_sync_enum forward(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& d);
  int take_route(tlm::tlm_generic_payload* gp);
  TargetSocket& sock(int port) { return port == kMgmtPort ? *mgmt_tsock : *part_tsock[static_cast<size_t>(port)]; }
  // Backward call to the initiator of `port`: direct when it is a PartitionBusIf bound straight to it.
  tlm::tlm_sync_enum to_part(int port, tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum to_cmm(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);

  sc_core::sc_time latency_;
  NodeBusStats stats_{};
  // Outstanding requests (at most kMaxRoutes): a short list, searched from
  // the end, instead of a scan of the whole table per request and response.
  std::vector<Route> routes_;
  std::vector<PartitionBusIf*> part_direct_;  // [port]: bound straight to this PartitionBusIf, else null
  PartitionBusIf* mgmt_direct_ = nullptr;
  CmmTlm* cmm_direct_ = nullptr;               // cmm_isock bound straight to this CMM's register target
  bool cmm_busy_ = false;  // a request awaits END_REQ from the CMM
  Route awaiting_end_req_;
  Ring<Route> waiting_;  // requests held back while cmm_busy_
};

class CpuBusIf;

// Provisions the link key of remote node `node` through a register interface
// of the board-management port (FIRMWARE): LINK_KEY0..3, LINK_CMD SET, then
// LINK_STATUS checked (docs/strong-mode.md 11.3). Returns kOk or the first
// failing access's status (kReject if LINK_STATUS reports a refusal).
cmm::sw::BusStatus provision_link_key(cmm::sw::RegIf& fw, uint16_t node, const Key& key);
// Removes it (LINK_CMD CLEAR).
cmm::sw::BusStatus clear_link_key(cmm::sw::RegIf& fw, uint16_t node);

// Bus interface unit of one partition's CPU: one initiator socket to the
// NodeBus port of that partition. Serializes the request phase of the CPU
// contexts that share it (base-protocol request exclusion).
class PartitionBusIf : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(PartitionBusIf);
  explicit PartitionBusIf(sc_core::sc_module_name name);
  ~PartitionBusIf() override;

  tlm_utils::simple_initiator_socket<PartitionBusIf> isock;

  // A hardware context (privilege, process id) of this CPU. Software using
  // the returned RegIf cannot change them (I4).
  std::unique_ptr<CpuBusIf> make_context(regs::Priv priv, uint16_t pid);

  // Blocking transport for CpuBusIf; call from an SC_THREAD only.
  void transport(tlm::tlm_generic_payload& gp, CpuBusIf& ctx);

 protected:
  void end_of_elaboration() override;

 private:
  friend class NodeBus;
  NodeBus* direct_bus_ = nullptr;  // isock bound straight to port direct_port_ of this NodeBus
  int direct_port_ = -1;
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_generic_payload* req_gp_ = nullptr;  // in the request phase
  sc_core::sc_event end_req_ev_;
  uint32_t end_req_waiters_ = 0;  // contexts blocked in transport() for the request phase
};

// One CPU hardware context: implements the software register interface by
// nb_transport from the calling SC_THREAD, waiting for BEGIN_RESP.
class CpuBusIf : public cmm::sw::RegIf {
 public:
  CpuBusIf(PartitionBusIf& bus, regs::Priv priv, uint16_t pid);
  ~CpuBusIf() override = default;
  CpuBusIf(const CpuBusIf&) = delete;
  CpuBusIf& operator=(const CpuBusIf&) = delete;

  [[nodiscard]] cmm::sw::BusStatus read32(uint32_t addr, uint32_t& data) override;
  [[nodiscard]] cmm::sw::BusStatus write32(uint32_t addr, uint32_t data) override;
  [[nodiscard]] cmm::sw::BusStatus write_block(uint32_t addr, const uint8_t* data, size_t len) override;
  [[nodiscard]] cmm::sw::BusStatus read_block(uint32_t addr, uint8_t* data, size_t len) override;

  regs::Priv priv() const { return priv_; }
  uint16_t pid() const { return pid_; }
  // Last access: TLM response status and whether the shell refused it.
  tlm::tlm_response_status last_tlm_status() const { return gp_.get_response_status(); }
  uint64_t accesses() const { return accesses_; }

 private:
  friend class PartitionBusIf;
  cmm::sw::BusStatus run(tlm::tlm_command cmd, uint32_t addr, uint8_t* data, size_t len);

  PartitionBusIf& bus_;
  const regs::Priv priv_;
  const uint16_t pid_;
  tlm::tlm_generic_payload gp_;
  RequesterId* rid_ = nullptr;
  RegResponse* rsp_ = nullptr;
  std::array<uint8_t, 4> word_{};
  bool busy_ = false;
  bool done_ = false;
  sc_core::sc_time done_time_;
  sc_core::sc_event done_ev_;
  uint64_t accesses_ = 0;
};

class LtCpuBusIf;

// Loosely-timed bus interface unit of one partition's CPU (a virtual
// platform's instruction-set simulator with temporal decoupling): one
// initiator socket to the NodeBus port of that partition, and the CPU's
// quantum keeper. Its contexts (LtCpuBusIf) call b_transport with the
// CPU's local time and synchronise only when the quantum is used up
// (docs/embedding.md "Loosely-timed register access"). Use from one SC_THREAD.
class LtPartitionBusIf : public sc_core::sc_module {
 public:
  // shared_qk: the keeper of the thread that drives this bus interface when
  // one thread drives several (a test harness); null: its own.
  explicit LtPartitionBusIf(sc_core::sc_module_name name, tlm_utils::tlm_quantumkeeper* shared_qk = nullptr);

  tlm_utils::simple_initiator_socket<LtPartitionBusIf> isock;
  tlm_utils::tlm_quantumkeeper& qk() { return *qk_; }

  std::unique_ptr<LtCpuBusIf> make_context(regs::Priv priv, uint16_t pid);
  // The CPU spends `t` (instructions between accesses): local time only.
  void advance(const sc_core::sc_time& t);
  // Simulated time catches up with the CPU's local time (wait()).
  void sync() { qk_->sync(); }
  uint64_t syncs() const { return syncs_; }

 private:
  friend class LtCpuBusIf;
  void transport(tlm::tlm_generic_payload& gp);
  tlm_utils::tlm_quantumkeeper own_qk_;
  tlm_utils::tlm_quantumkeeper* qk_;
  uint64_t syncs_ = 0;
};

// One hardware context of a loosely-timed CPU: implements the software
// register interface with b_transport (requester id as for CpuBusIf).
class LtCpuBusIf : public cmm::sw::RegIf {
 public:
  LtCpuBusIf(LtPartitionBusIf& bus, regs::Priv priv, uint16_t pid);
  ~LtCpuBusIf() override = default;
  LtCpuBusIf(const LtCpuBusIf&) = delete;
  LtCpuBusIf& operator=(const LtCpuBusIf&) = delete;

  [[nodiscard]] cmm::sw::BusStatus read32(uint32_t addr, uint32_t& data) override;
  [[nodiscard]] cmm::sw::BusStatus write32(uint32_t addr, uint32_t data) override;
  [[nodiscard]] cmm::sw::BusStatus write_block(uint32_t addr, const uint8_t* data, size_t len) override;
  [[nodiscard]] cmm::sw::BusStatus read_block(uint32_t addr, uint8_t* data, size_t len) override;

  regs::Priv priv() const { return priv_; }
  uint16_t pid() const { return pid_; }
  tlm::tlm_response_status last_tlm_status() const { return gp_.get_response_status(); }
  // Annotated delay the last access added to the CPU's local time.
  const sc_core::sc_time& last_latency() const { return last_latency_; }
  uint64_t accesses() const { return accesses_; }

 private:
  cmm::sw::BusStatus run(tlm::tlm_command cmd, uint32_t addr, uint8_t* data, size_t len);

  LtPartitionBusIf& bus_;
  const regs::Priv priv_;
  const uint16_t pid_;
  tlm::tlm_generic_payload gp_;
  RequesterId* rid_ = nullptr;
  RegResponse* rsp_ = nullptr;
  std::array<uint8_t, 4> word_{};
  sc_core::sc_time last_latency_;
  uint64_t accesses_ = 0;
};

// Maps a register transaction's outcome to the driver's bus status (both
// CPU bus interfaces).
cmm::sw::BusStatus bus_status(const tlm::tlm_generic_payload& gp, const RegResponse& rsp);

// Register targets by the interface of their socket (known at construction),
// so that a NodeBus finds the CMM bound to it in O(1) (CmmTlm's constructor
// and destructor call these).
void note_reg_target(sc_core::sc_interface* i, CmmTlm* c);
void forget_reg_target(sc_core::sc_interface* i);

// Extension carried by a CpuBusIf's payload so the bus interface finds it.
class CpuCtxExt : public tlm::tlm_extension<CpuCtxExt> {
 public:
  CpuBusIf* ctx = nullptr;
  tlm::tlm_extension_base* clone() const override { return new CpuCtxExt(*this); }
  void copy_from(const tlm::tlm_extension_base& e) override { ctx = static_cast<const CpuCtxExt&>(e).ctx; }
};

}  // namespace cmm::tlmshell
