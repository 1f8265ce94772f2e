// Seeded fault injection on fabric links (issue 9 item 5, docs/fault-injection.md).
//
// A FaultLink is an interposer on one link between a node and the fabric
// (any fabric: Crossbar or Noc; nothing inside the network changes). It
// speaks the link protocol on both sides (LinkExt packets forward, credits
// backward) and is credit-transparent: credits from downstream pass upstream
// unchanged, so a packet it holds keeps the downstream credit its sender
// spent on it. Links: a node's injection link (node -> fabric, "in") and its
// ejection link (fabric -> node, "out").
//
// Faults, at most one per packet (the first rule whose draw hits):
//   drop       the packet vanishes; the credit it used goes back upstream at
//              its arrival time (as if the receiver had taken and freed it)
//   duplicate  a copy follows the packet. A link with a duplicate rule keeps
//              one downstream credit per class as its own spare (upstream is
//              granted one less); the copy goes right behind the original
//              on the spare, or with the next credit that comes back
//              (withheld from upstream) when the spare is in use
//   reorder    the packet is held while `reorder_window` later packets of
//              the link pass it (or `reorder_window * 64` cycles at most)
//   corrupt    1-3 distinct bits flipped in the packed header or the payload
//              (the CRC-32C is left as the sender sealed it)
//   delay      `delay_cycles` more; the link stays in order (later packets
//              queue behind it)
//   stall      the link stops for `stall_cycles` from this packet on: no
//              packet and no credit crosses it in either direction; then
//              everything held goes in order
// Decisions come from a per-link splitmix64 stream seeded from the run seed
// and the link index: same seed, same faults.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell {

enum class FaultKind : uint8_t { kDrop = 0, kDuplicate, kReorder, kCorrupt, kDelay, kStall, kCount };
inline constexpr size_t kFaultKinds = static_cast<size_t>(FaultKind::kCount);
const char* to_string(FaultKind k);
// "drop", "duplicate", ...; throws std::invalid_argument naming the allowed values.
FaultKind parse_fault_kind(const std::string& s);

// Which packets faults may hit.
enum class FaultPackets : uint8_t { kAll = 0, kData = 1 };  // kData: DATA and NACKs of DATA

struct FaultRule {
  FaultKind kind = FaultKind::kDrop;
  double rate = 0;  // probability per packet crossing a matching link, 0..1
  int link = -1;    // link index (FaultInjector numbering), -1: every link
};

struct FaultConfig {
  std::vector<FaultRule> rules;
  FaultPackets packets = FaultPackets::kAll;
  uint32_t reorder_window = 4;  // packets
  uint32_t delay_cycles = 100;
  uint32_t stall_cycles = 200;
  uint64_t seed = 1;  // the run seed; each link derives its own stream
  sc_core::sc_time clock_period = sc_core::sc_time(1, sc_core::SC_NS);
  bool any() const;  // some rule with a non-zero rate
  void validate() const;  // throws std::invalid_argument naming the field
};

// Told of every injected fault. `before` is the packet as it entered the
// link; `after` the packet as it left (corrupt: the flipped one), or
// nullptr when the packet is gone (drop) or when nothing changed.
class FaultObserver {
 public:
  virtual ~FaultObserver() = default;
  virtual void on_fault(FaultKind k, uint32_t link, const Packet& before, const Packet* after) = 0;
};

struct FaultLinkStats {
  std::array<uint64_t, kFaultKinds> injected{};  // by kind (stall: stalls started)
  uint64_t packets = 0;                          // packets that entered the link
  uint64_t stall_cycles = 0;                     // cycles of stall started (overlaps merged)
  uint64_t held_max = 0;                         // most packets held at once
};

class FaultLink : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(FaultLink);
  FaultLink(sc_core::sc_module_name name, uint32_t index, const FaultConfig& cfg);
  ~FaultLink() override;

  tlm_utils::simple_target_socket<FaultLink> tsock;     // from the upstream sender
  tlm_utils::simple_initiator_socket<FaultLink> isock;  // to the downstream receiver

  void set_observer(FaultObserver* o) { obs_ = o; }
  // Packets the filter refuses pass untouched (no draw): e.g. a testbench
  // keeps its rogue nodes' packets out of the fault statistics.
  void set_filter(std::function<bool(const Packet&)> f) { filter_ = std::move(f); }
  const FaultLinkStats& stats() const { return stats_; }
  uint32_t index() const { return index_; }
  // Packets held right now (queued, reordered, copies waiting for a credit).
  size_t held() const { return q_.size() + aside_.size() + copies_[0].size() + copies_[1].size() + ready_.size(); }

 private:
  struct Item {
    Packet* p = nullptr;
    sc_core::sc_time release;  // FIFO: earliest forwarding time
    uint32_t passes_left = 0;  // reorder: later packets still to pass it
    sc_core::sc_time deadline;  // reorder: forwarded at the latest then
    bool dup = false;           // send a copy after it
  };
  struct UpCredit {
    sc_core::sc_time at;
    uint8_t cls;
    uint16_t n;
  };
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_core::sc_time& d);
  void pump();
  void reschedule();
  bool stalled(const sc_core::sc_time& t) const { return t < stall_until_; }
  bool eligible(const Packet& p) const;
  int decide();  // FaultKind index or -1
  uint64_t next_u64();
  void corrupt(Packet& p);
  Packet* alloc(const Packet& src);
  void release(Packet* p) { pool_.push_back(p); }
  void send_down(Packet& p, const sc_core::sc_time& d);
  // A packet of the link (not a copy, not a reordered one) left, arriving
  // downstream at `arrival`: reorder counts; a duplicate's copy follows.
  void forwarded(const Packet& p, bool dup, const sc_core::sc_time& arrival);
  void send_up(uint8_t cls, uint16_t n);
  void note_held();

  uint32_t index_;
  FaultConfig cfg_;
  std::vector<const FaultRule*> rules_;  // the rules for this link, in order
  uint64_t rng_;
  FaultObserver* obs_ = nullptr;
  std::function<bool(const Packet&)> filter_;
  FaultLinkStats stats_{};
  std::deque<Item> q_;       // in-order queue (delay, stall, anything behind them)
  std::vector<Item> aside_;  // reordered packets
  std::array<std::deque<Item>, 2> copies_;  // duplicates waiting for a downstream credit
  std::deque<Item> ready_;  // duplicates with a credit, sent at their release time
  std::array<uint32_t, 2> spare_{};  // downstream credits kept for copies
  bool keeps_spare_ = false;  // a duplicate rule applies to this link
  std::vector<UpCredit> up_;  // credits for upstream not yet given (drop release times, stalls)
  std::vector<UpCredit> due_;  // pump()'s scratch: reused so a pump allocates nothing
  sc_core::sc_time stall_until_ = sc_core::SC_ZERO_TIME;
  std::vector<std::unique_ptr<Packet>> storage_;
  std::vector<Packet*> pool_;
  tlm::tlm_generic_payload gp_, cgp_;
  LinkExt* ext_ = nullptr;
  LinkExt* cext_ = nullptr;
  sc_core::sc_event ev_;
};

// All fault links of a system: link 2n is node port n's injection link,
// 2n + 1 its ejection link.
class FaultInjector {
 public:
  explicit FaultInjector(const FaultConfig& cfg) : cfg_(cfg) {}
  static uint32_t in_link(uint32_t port) { return 2 * port; }
  static uint32_t out_link(uint32_t port) { return 2 * port + 1; }
  // Interposes between a node and the fabric port `port` (call before
  // binding anything else to these sockets):
  //   node_out -> [in link] -> fabric_in,  fabric_out -> [out link] -> node_in.
  void interpose(uint32_t port, tlm::tlm_base_initiator_socket<>& node_out, tlm::tlm_base_target_socket<>& fabric_in,
                 tlm::tlm_base_initiator_socket<>& fabric_out, tlm::tlm_base_target_socket<>& node_in);
  void set_observer(FaultObserver* o);
  void set_filter(const std::function<bool(const Packet&)>& f);  // every link, present and future
  FaultLink* link(uint32_t index) const;
  const std::vector<std::unique_ptr<FaultLink>>& links() const { return links_; }
  const FaultConfig& config() const { return cfg_; }
  std::array<uint64_t, kFaultKinds> totals() const;

 private:
  FaultConfig cfg_;
  std::vector<std::unique_ptr<FaultLink>> links_;
  FaultObserver* obs_ = nullptr;
  std::function<bool(const Packet&)> filter_;
};

}  // namespace cmm::tlmshell
