// Register-level driver of one CMM register port (a partition CPU's view,
// through a RegIf): one call per register operation, each a fixed sequence
// of accesses named after the generated register map (cmm_regs.h,
// docs/registers.md). A handle in the style of OpenTitan's DIFs: it holds
// only the bus, checks its arguments before touching it (guard statements
// first) and returns a [[nodiscard]] Status. No protocol state, no timers,
// no policy: the channel protocol on top is KernelAgent (kernel_agent.h).
#pragma once
#include <cstdint>

#include "cmm_regs.h"
#include "cmm_sw/chan_proto.h"  // MgmtWords
#include "cmm_sw/key_gen.h"
#include "cmm_sw/reg_if.h"
#include "cmm_sw/status.h"

namespace cmm::sw {

// The remote end of a channel as written to CST_REMOTE.
struct PeerId {
  uint16_t node = 0;
  uint8_t part = 0;
  uint16_t ep = 0;
  bool operator==(const PeerId& o) const { return node == o.node && part == o.part && ep == o.ep; }
  bool operator!=(const PeerId& o) const { return !(*this == o); }
};

struct PartInfo {
  uint8_t part = 0;   // the requester partition, as the CMM sees it
  uint32_t quota = 0;  // endpoint quota (strap)
  uint32_t used = 0;   // endpoints owned
};

// Decoded CST entry (CST_CTRL, CST_OWNER, CST_REMOTE, CST_STATUS, CST_LOST). No key bits.
struct CstInfo {
  regs::Dir dir = regs::Dir::kRecv;
  regs::State state = regs::State::kFree;
  bool key_valid = false;
  regs::Origin key_origin = regs::Origin::kLocal;
  uint8_t owner_part = 0;
  uint16_t owner_pid = 0;
  PeerId remote{};
  uint8_t rxq_count = 0;
  regs::Reason last_reason = regs::Reason::kOk;
  uint16_t tx_nacks = 0;  // refused messages only (SEQ_GAP / SEQ_OLD NACKs are not counted)
  uint16_t tx_lost = 0;   // send entry: messages the receiver reported missing (sum of SEQ_GAP counts)
  uint16_t rx_lost = 0;   // receive entry: messages found missing by sequence gaps
  // Rekey (docs/strong-mode.md 7; 0 in cores without it).
  uint8_t key_slot = 0;         // slot of the newest key
  bool old_slot_valid = false;  // the previous key is still accepted
  bool rekey_pending = false;   // receive entry: the REKEY's CONNECT not acknowledged yet
  uint16_t key_use = 0;         // DATA under the newest key (saturating)
};

// Decoded ERRLOG_HEAD word.
struct ErrorEntry {
  regs::Reason reason = regs::Reason::kOk;
  uint16_t ep = 0;           // endpoint id bits 7:0 (the log entry's EP field; docs/scale.md)
  uint8_t opcode = 0;        // regs::Opcode of the packet, 0 for a register-port event
  bool from_fabric = false;  // raised by an ingress packet
  bool exception = false;    // valid-bit exclusion exception (I6)
  uint16_t src_node = 0;      // source node of the packet (or this node)
  static ErrorEntry decode(uint32_t word);
};

// One management message, with the source ids the CMM stamped (I4).
struct MgmtMessage {
  uint16_t src_node = 0;
  uint8_t src_part = 0;
  MgmtWords words{};
};

// Exception register of the partition (EXC_COUNT, EXC_FIRST, EXC_LAST).
struct ExcInfo {
  uint16_t count = 0;  // I6 exceptions since the last EXC_CLEAR (saturating)
  ErrorEntry first{};  // valid when count != 0 (reason, ep, src_node; exception = true)
  ErrorEntry last{};
};

// What the ID, GEOMETRY, NODE_ID and PART_INFO registers say at bring-up.
// Table geometry of the device, read from GEOMETRY by probe() (the core's is
// chosen at run time, hw/data/cmm.toml ranges); before probe: the defaults.
struct DeviceGeometry {
  uint32_t num_endpoints = regs::kNumEndpoints;
  uint32_t num_partitions = regs::kNumPartitions;
  uint32_t rxq_depth = regs::kRxqDepth;
  // GEOMETRY's fields decoded (NUM_EP 0 = 256); false if a value is impossible.
  bool decode(uint32_t v);
};

struct DeviceInfo {
  uint16_t node = 0;
  uint8_t part = 0;   // the requester partition, as the CMM sees it
  uint32_t quota = 0;
  DeviceGeometry geo{};
};

class CmmDriver {
 public:
  explicit CmmDriver(RegIf& bus) : bus_(bus) {}

  static uint32_t cst_addr(uint16_t ep, uint32_t off) {
    return regs::CMM_CST_BASE + static_cast<uint32_t>(ep) * regs::CMM_CST_STRIDE + off;
  }

  // ---- raw access
  [[nodiscard]] Status read(uint32_t addr, uint32_t& v);
  // A refused write (BusStatus::kReject) is kRejected with `on_reject`.
  [[nodiscard]] Status write(uint32_t addr, uint32_t v, regs::Reason on_reject = regs::Reason::kOk);
  // CMD; on REJECT the reason comes from CMD_STATUS.
  [[nodiscard]] Status command(regs::Cmd op, uint16_t ep, bool hwkey = false);

  // ---- bring-up
  // ID magic and GEOMETRY (kBadDevice if impossible; else adopted by this
  // driver: endpoint and partition checks follow it), NODE_ID, PART_INFO.
  [[nodiscard]] Status probe(DeviceInfo& out);
  const DeviceGeometry& geometry() const { return geo_; }
  // Clears every IRQ_STATUS cause, then enables them all.
  [[nodiscard]] Status irq_reset();

  // ---- endpoints and CST entries
  // CMD ALLOC; the entry from CMD_STATUS.
  [[nodiscard]] Status alloc(uint16_t& ep);
  [[nodiscard]] Status write_ctrl(uint16_t ep, regs::Dir dir);
  [[nodiscard]] Status write_ctrl(uint16_t ep, regs::Dir dir, regs::Mode mode);
  // Reads CST_CTRL.MODE back: kRejected MODE_MISMATCH unless it is `mode`
  // (a CMM without strong mode reads 0).
  [[nodiscard]] Status verify_mode(uint16_t ep, regs::Mode mode);
  [[nodiscard]] Status write_owner(uint16_t ep, uint16_t pid);
  [[nodiscard]] Status write_remote(uint16_t ep, const PeerId& remote);
  [[nodiscard]] Status read_gen(uint16_t ep, uint8_t& local, uint8_t& remote);
  // Only the REMOTE field: LOCAL is read-only and a set bit there is RESERVED_BITS.
  [[nodiscard]] Status write_remote_gen(uint16_t ep, uint8_t gen);
  // KEY0..3 from this context (the CMM takes a key only if all four words
  // and the command came from one pid).
  [[nodiscard]] Status stage_key(const ChannelKey& key);
  [[nodiscard]] Status read_cst(uint16_t ep, CstInfo& out);
  [[nodiscard]] Status endpoint_state(uint16_t ep, regs::State& out);
  [[nodiscard]] Status cst_status(uint16_t ep, uint32_t& raw);  // the CST_STATUS word
  [[nodiscard]] Status cst_lost(uint16_t ep, uint16_t& tx, uint16_t& rx);
  // CMD REKEY on an OPEN strong receive entry (docs/strong-mode.md 7): the
  // key staged before (stage_key) or, with hwkey, the CMM's generator's.
  [[nodiscard]] Status rekey(uint16_t ep, bool hwkey);

  // ---- partition and node counters
  [[nodiscard]] Status part_info(PartInfo& out);
  [[nodiscard]] Status reject_count(regs::Reason r, uint32_t& out);
  [[nodiscard]] Status stat(uint32_t index, uint32_t& out);

  // ---- management messages
  [[nodiscard]] Status send_mgmt(uint16_t node, uint8_t part, const MgmtWords& words);
  // MGMT_RX_STATUS: messages queued (0: none) and the head's stamped source.
  [[nodiscard]] Status mgmt_status(uint32_t& count, uint16_t& src_node, uint8_t& src_part);
  [[nodiscard]] Status mgmt_word(uint32_t i, uint32_t& word);  // MGMT_RX word i of the head
  // Head of the MGMT receive queue, then MGMT_POP. kEmpty when none.
  [[nodiscard]] Status mgmt_receive(MgmtMessage& out);

  // ---- interrupts, error log, exceptions, alarm
  [[nodiscard]] Status irq_status(uint32_t& bits);
  [[nodiscard]] Status irq_ack(uint32_t bits);  // write-1-to-clear
  [[nodiscard]] Status errlog_status(uint32_t& count, uint8_t& lost);
  [[nodiscard]] Status errlog_head(ErrorEntry& head);
  [[nodiscard]] Status errlog_head_repeat(uint32_t& repeats);
  // Oldest error-log entry, then ERRLOG_POP. kEmpty when none. lost: LOST field.
  [[nodiscard]] Status errlog_pop(ErrorEntry& out, uint8_t* lost = nullptr);
  [[nodiscard]] Status exc_count(uint32_t& count);
  [[nodiscard]] Status exc_last(ErrorEntry& out);
  [[nodiscard]] Status read_exceptions(ExcInfo& out);
  [[nodiscard]] Status set_alarm(uint16_t thresh, uint8_t window_log2);
  [[nodiscard]] Status alarm_count(uint32_t& out);

 private:
  Status bad_ep(uint16_t ep) const;
  RegIf& bus_;
  DeviceGeometry geo_{};
};

}  // namespace cmm::sw
