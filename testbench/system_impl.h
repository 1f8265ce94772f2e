// Internal to the system (testbench/system*.cpp): the System module and the
// run-time records its rooms share. One SystemC module, its work split by
// room, one file each (docs/testbench.md, "Rooms"):
//   system_elaborate.cpp  elaboration: nodes, buses, agents, channels, binding
//   system_fabric.*       elaboration: the fabric (crossbar or network)
//   system_os.cpp         the OS model: kernel-agent threads, user processes
//   system_attacks.cpp    attackers (rogue_node.h: the rogue fabric node)
//   system_monitors.cpp   monitors: what the CMMs, shells and fabric report,
//                         checked and charged to channels and attacks
//   system_trace.*        observers: Perfetto and VCD traces
//   system_results.cpp    results: counters, statistics, end-of-run checks
//   system.cpp            run control: connect storm, traffic, close, watchdog
// The testbench knows the whole scenario; it uses that knowledge only to hand
// endpoint ids from an agent to its own processes (what a real OS does through
// a system call) and to check, never to steer the hardware.
#pragma once
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <systemc>

#include "cmm_seed.h"
#include "cmm_sw/endpoint.h"
#include "cmm_sw/kernel_agent.h"
#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/fabric_fault.h"
#include "cmm_tlm/node_bus.h"
#include "rogue_node.h"
#include "scoreboard.h"
#include "system.h"
#include "system_fabric.h"
#include "system_trace.h"
#include "traffic.h"

namespace cmm::tb {

using namespace sc_core;
using sw::Event;
using sw::KernelAgent;
using sw::Result;
using sw::Status;
using tlmshell::CmmTlm;
using tlmshell::CpuBusIf;
using tlmshell::NodeBus;
using tlmshell::PartitionBusIf;

// A NACK of DATA, plain or strong (a strong NACK's aux carries the STRONG
// bit next to the NACKed opcode, docs/strong-mode.md 11.2).
inline bool nack_of_data(const Header& h) {
  return h.opcode == static_cast<uint8_t>(regs::Opcode::kNack) &&
         (h.aux & static_cast<uint8_t>(~(1u << regs::kStrongAuxBit))) == static_cast<uint8_t>(regs::Opcode::kData);
}

// How long a receiver waits, once its channel is complete in hardware, for
// the sender's library to report the last NACKs.
constexpr uint64_t kLibraryGraceCycles = 100'000;

struct ChanRt {
  uint32_t idx = 0;
  const ChannelSpec* spec = nullptr;
  Location r{}, s{};  // receiver, sender
  std::string label;            // "216 <- 220b"
  uint16_t req_id = sw::kNoRequest;
  int rep = -1, sep = -1;       // endpoints once known
  bool recv_ready = false, send_ready = false, failed = false;
  bool sender_done = false, receiver_done = false;
  bool closed_recv = false, closed_send = false;
  uint64_t request_cycle = 0, open_cycle = 0, close_cycle = 0;
  uint32_t sent = 0, refused = 0, received = 0, nacked = 0, reflected = 0;
  bool rekey_due = false;  // rekey_interval_messages reached: the receiving agent rekeys
  std::deque<uint64_t> deliver_cycles;  // receive-queue entry times, in queue order
  // Stage times of each message (cycles), by sequence number.
  struct Times {
    uint64_t created = 0, egress = 0, ingress = 0, delivered = 0, read = 0;
    uint32_t bytes = 0;
    bool traced = false;  // has a span in the Perfetto trace
  };
  SeqWindow<Times> times;  // unfinished messages only; each finished one goes to System::account
  bool open_ended = false;  // generated traffic: messages created on the fly
  uint32_t next_seq = 0;    // messages created so far (open-ended)
  uint32_t src_term = 0, dst_term = 0;
  // Sequence number of a 16-bit tag: the latest message created with it
  // (fewer than 65536 of a channel's messages are ever in flight).
  bool seq_of(uint16_t tag, uint32_t& seq) const {
    const uint32_t n = open_ended ? next_seq : static_cast<uint32_t>(times.size());
    if (!open_ended) {
      seq = tag;
      return tag < n;
    }
    if (n == 0) return false;
    seq = (n - 1) - ((n - 1 - tag) & 0xFFFFu);
    return true;
  }
  sc_event ready_ev, rx_ev;
  // Set with every rx_ev notification and cleared by the receiver before it
  // reads, so a wake-up that comes while it is inside a register access is
  // not lost (events are not sticky).
  bool rx_flag = false;
  // The sender CMM's DATA sequence number (header seq, 16 bits) of each
  // message that left it -> the message's sequence number here. A NACK of
  // DATA names the DATA by its wire seq (its tag is the missing count for
  // SEQ_GAP); a message in flight is never 1024 DATA behind.
  static constexpr uint32_t kWireWindow = 1024;
  struct WireSeq {
    uint32_t seq = 0;
    uint16_t wire = 0;
    bool valid = false;
  };
  std::vector<WireSeq> wire_seq;
  void sent_on_wire(uint16_t wire, uint32_t s) {
    if (wire_seq.empty()) wire_seq.resize(kWireWindow);
    wire_seq[wire % kWireWindow] = {s, wire, true};
  }
  bool seq_of_wire(uint16_t wire, uint32_t& s) const {
    if (wire_seq.empty()) return false;
    const WireSeq& w = wire_seq[wire % kWireWindow];
    if (!w.valid || w.wire != wire) return false;
    s = w.seq;
    return true;
  }
  void wake_rx() {
    rx_flag = true;
    rx_ev.notify(SC_ZERO_TIME);
  }
  std::string failure;
  // Fault injection (docs/fault-injection.md): messages whose DATA an
  // injected fault destroyed and whose loss is not yet reported; the
  // sender CMM's NACK freshness (security.md 1.5: tx_seq, nack_seq) and the
  // receiver CMM's next expected seq, mirrored from what crossed the links.
  std::set<uint32_t> fault_lost;
  uint32_t fault_hit = 0, fault_tail = 0;
  uint16_t tx_wire_next = 0, nack_seq = 0, rx_next = 0;
  int64_t rx_high = -1;  // highest message seq the receiver's CMM delivered or refused RXQ_FULL
};

struct AttackRt {
  const AttackSpec* spec = nullptr;
  std::string target;  // what was attacked, for the report
  regs::Reason expect = regs::Reason::kOk;  // the reason every attempt must meet (kOk: several, see the kind)
  uint32_t attempts = 0, succeeded = 0;
  // Refusals by reason: as the attacker saw them (register port), or counted
  // against its packets by the CMMs (core verdicts), the shells and the fabric.
  std::array<uint64_t, regs::kReasonCount> refused{};
  std::array<uint64_t, static_cast<size_t>(sw::AgentReason::kCount)> agent_refused{};  // MGMT judged by agents
  uint64_t mgmt_other = 0;  // MGMT messages agents ignored as not theirs
  uint64_t unauthorized = 0;
  uint64_t dropped_toward = 0;  // packets toward it the fabric dropped (HOL_TIMEOUT at its port)
  uint32_t predictions = 0, prediction_hits = 0;  // key_predictor
  uint32_t port = 0;  // fabric port (rogue nodes)
  bool done = false;
  std::unique_ptr<RogueNode> rogue;
  std::unique_ptr<CpuBusIf> ctx;
  bool kernel = false;
};

class System : public sc_module {
 public:
  SC_HAS_PROCESS(System);
  System(sc_module_name name, const Scenario& s, const RunOptions& opt);

  RunResult collect(double wall_seconds);
  // The measurement window's CPU time and deliveries (speed report), once it ended.
  bool window_measured() const { return win_done_; }
  double window_cpu_seconds() const { return win_cpu1_ - win_cpu0_; }
  uint64_t window_messages() const { return win_msgs1_ - win_msgs0_; }
  uint64_t window_cycles() const { return win_cyc1_ - win_cyc0_; }
  bool finished() const { return finished_; }
  uint64_t cycle() const { return sc_time_stamp().value() / period_.value(); }
  std::string stuck_report() const;

 private:
  struct Node;
  struct Part {
    Node* node = nullptr;
    size_t idx = 0;  // partition id
    std::unique_ptr<PartitionBusIf> biu;
    std::unique_ptr<CpuBusIf> kctx;
    std::unique_ptr<CpuBusIf> stat_ctx;  // the testbench's own kernel context: end-of-run register reads
    std::unique_ptr<KernelAgent> agent;
    uint32_t used_at_end = 0;            // PART_INFO.USED after the close phase
    sc_event wake;
    // The agent's next timer as one timed event, re-armed only when the
    // deadline changes (a timeout per wait would leave a cancelled entry in
    // the kernel's queue at every interrupt).
    sc_event timer;
    uint64_t timer_at = UINT64_MAX;
    uint32_t rekeys_due = 0;  // its receive channels with rekey_due set: the agent scans chans_ only then
    uint64_t errors_logged = 0, error_events = 0, exceptions = 0, errors_lost = 0, mgmt_ignored = 0, alarms = 0;
    uint64_t rekey_refused = 0;  // rekey_channel() errors (each also an error of the run)
    uint32_t exc_count_reg = 0, alarm_count_reg = 0;  // EXC_COUNT, ALARM_COUNT after the close phase
    std::vector<std::string> error_lines;
  };
  class DeliveryMonitor : public tlmshell::CmmTlmObserver {
   public:
    DeliveryMonitor(System& sys, size_t node) : sys_(sys), node_(node) {}
    void on_deliver(uint64_t, const Header& h) override { sys_.on_deliver(node_, h); }
    void on_reject(uint64_t, regs::Reason r, const Header* h) override {
      if (h) sys_.on_reject(node_, r, *h);
    }
    void on_drop(const sc_time&, const tlmshell::Packet& p, regs::Reason why) override {
      ++sys_.nodes_[node_]->shell_drops_seen;
      sys_.on_drop(p, why, nullptr);
    }
    void on_ingress_accept(const sc_time&, const tlmshell::Packet& p) override { sys_.on_ingress(node_, p); }
    void on_egress(const sc_time&, const tlmshell::Packet& p) override { sys_.on_egress(node_, p); }
    void on_pins(const sc_time& t, const PinsIn& in, const PinsOut& out) override {
      sys_.traces_->pins(static_cast<uint32_t>(node_), t.value(), in, out);
    }
   private:
    System& sys_;
    size_t node_;
  };
  struct Node {
    size_t idx = 0;
    const NodeSpec* spec = nullptr;
    std::unique_ptr<CmmTlm> cmm;
    std::unique_ptr<NodeBus> bus;
    std::vector<std::unique_ptr<Part>> parts;
    std::unique_ptr<DeliveryMonitor> mon;
    std::vector<int> rx_chan;  // receive endpoint -> channel, -1 none (geometry.num_endpoints entries)
    std::vector<int> tx_chan;  // send endpoint -> channel, -1 none
    // Node-wide counters read through the register port at the end of the
    // run: the same path for the C++ and the RTL core.
    bool regs_read = false;
    std::array<uint32_t, regs::kReasonCount> reject_regs{};
    std::array<uint32_t, regs::CMM_STAT_COUNT> stat_regs{};
    // Deliveries that beat the agent's CONN interrupt service (the entry is
    // OPEN in hardware before software hears of it): matched when it does.
    std::vector<std::vector<std::pair<uint64_t, Header>>> early;  // per endpoint
    uint64_t shell_drops_seen = 0;  // drops its shell reported through the observer
    // Strong mode: the board-management port (FIRMWARE) that provisions the
    // link keys before the node's agents send anything (strong-mode.md 11.3).
    std::unique_ptr<PartitionBusIf> bmc;
    std::unique_ptr<CpuBusIf> fw;
    bool provisioned = false, provisioning = false;
    sc_event provisioned_ev;
  };
  // Every security drop of the fabric, reported packet by packet.
  class DropWatch : public tlmshell::FaultHook {
   public:
    explicit DropWatch(System& sys) : sys_(sys) {}
    void on_drop(const tlmshell::Packet& p, uint32_t port, regs::Reason why) override {
      ++sys_.fabric_drops_seen_;
      sys_.on_drop(p, why, &port);
    }
    void on_unroutable(const tlmshell::Packet& p, uint32_t) override {
      // A header corrupted by an injected fault may name a node that does not exist.
      if (const Header* h = sys_.corrupted_original(p)) {
        ++sys_.fault_unroutable_;
        sys_.fault_loss(p, *h);
      }
    }
    tlmshell::FaultDecision on_packet(tlmshell::Packet& p, uint32_t, uint64_t) override {
      tlmshell::FaultDecision f;
      uint32_t seq = 0;
      const ChanRt* c = sys_.opt_.data_faults.empty() ? nullptr : sys_.data_of(p.hdr, seq);
      for (size_t i = 0; c && i < sys_.opt_.data_faults.size(); ++i) {
        auto& df = sys_.opt_.data_faults[i];
        if (df.channel != c->idx || df.seq != seq || sys_.faults_done_.count(i)) continue;
        sys_.faults_done_.insert(i);
        if (df.duplicate) f.duplicates = 1;
        else f.drop = true;
      }
      return f;
    }
   private:
    System& sys_;
  };

  // Injected fabric faults (docs/fault-injection.md).
  class FaultWatch : public tlmshell::FaultObserver {
   public:
    explicit FaultWatch(System& sys) : sys_(sys) {}
    void on_fault(tlmshell::FaultKind k, uint32_t link, const tlmshell::Packet& before,
                  const tlmshell::Packet* after) override {
      sys_.on_fault(k, link, before, after);
    }
   private:
    System& sys_;
  };
  void on_fault(tlmshell::FaultKind k, uint32_t link, const tlmshell::Packet& before, const tlmshell::Packet* after);
  // A packet destroyed by an injected fault; `h` is its header before any corruption.
  void fault_loss(const tlmshell::Packet& p, const Header& h);
  bool retransmitted_by_sender(const ChanRt& c) const;
  // The header a corrupted packet had before the fault, or nullptr.
  const Header* corrupted_original(const tlmshell::Packet& p) const {
    if (!faults_ || corrupted_.empty()) return nullptr;
    auto it = corrupted_.find(p.id);
    return it == corrupted_.end() ? nullptr : &it->second;
  }
  // A NACK of DATA of channel c lost on the way (fabric or fault): what it reports counts as dropped.
  void nack_lost(ChanRt& c, const Header& h, uint64_t id, bool dedupe = true);
  uint64_t stale_nacks_ = 0;  // NACKs of DATA the sender's CMM refused as overtaken
  uint32_t fault_pending(const ChanRt& c);
  uint64_t fault_settle_cycles() const;
  void fault_tail_classify();
  nlohmann::json fault_stats();
  std::unique_ptr<tlmshell::FaultInjector> faults_;
  FaultWatch fault_watch_{*this};
  std::unordered_map<uint64_t, Header> corrupted_;  // packet id -> header before the fault
  // NACKs of DATA by packet id: copies still on their way (1 + injected
  // duplicates - arrivals - losses) and whether one reached the sender's CMM
  // (the first that does is judged; later copies the CMM refuses SEQ_OLD).
  struct NackCopies {
    int32_t out = 1;
    bool arrived = false;
  };
  std::unordered_map<uint64_t, NackCopies> nack_copies_;
  uint64_t fault_unroutable_ = 0;                    // unroutable packets explained by corruption
  std::map<uint32_t, tlmshell::DropCount> fault_port_drops_;  // edge drops explained by corruption, by port
  std::vector<std::string> link_names_;              // fault link index -> "<node>.in" / "<node>.out"
  uint64_t fault_settle_ = 0;

  void agent_thread(Part& p);
  void handle(Part& p, const Event& ev);
  void sender_thread(ChanRt& c, CpuBusIf& ctx);
  void source_thread(uint32_t term, CpuBusIf& ctx);
  void send_one(ChanRt& c, sw::Endpoint& ep, uint32_t seq, uint32_t len, uint64_t created,
                std::array<uint8_t, regs::kMaxMsgBytes>& buf);
  void receiver_thread(ChanRt& c, CpuBusIf& ctx);
  void control_thread();
  // A finished sender, receiver or source thread waits here for good instead
  // of ending: SystemC 2.3 removes an ended thread with a linear search of
  // its process table, so thousands of endings cost O(threads^2) (1.4 s of
  // CPU at 1,024 nodes, inside the measurement window, where sources end).
  // Never notified: no event, no change to the run.
  sc_event park_ev_;
  void park() {
    for (;;) wait(park_ev_);
  }
  // Samples the process CPU time and delivered messages at the measurement
  // window's edges (speed report only; it touches nothing simulated).
  void window_edge();
  double win_cpu0_ = 0, win_cpu1_ = 0;
  uint64_t win_cyc0_ = 0, win_cyc1_ = 0, win_msgs0_ = 0, win_msgs1_ = 0;
  bool win_started_ = false, win_done_ = false;
  void monitor_thread();
  void sampler_thread();
  nlohmann::json timeseries_ = nlohmann::json::array();
  void read_counters();
  // Parts of collect(), in this order (errors are appended in run order).
  void channel_results(RunResult& r);
  void node_results(RunResult& r);
  void attack_results(RunResult& r);
  void on_deliver(size_t node, const Header& h);
  void on_ingress(size_t node, const tlmshell::Packet& p);
  void on_egress(size_t node, const tlmshell::Packet& p);
  void on_reject(size_t node, regs::Reason r, const Header& h);
  void on_drop(const tlmshell::Packet& p, regs::Reason why, const uint32_t* fabric_port);
  AttackRt* rogue_of(uint16_t node_id) const { return rogue_by_id_[node_id]; }
  void rogue_attempt(AttackRt& a, uint32_t i, std::mt19937_64& rng);
  void predictor_attempt(AttackRt& a, uint32_t i);
  bool attacks_done() const;
  void check_drops();
  // The channel and sequence number of a legitimate DATA header, or nullptr.
  ChanRt* data_of(const Header& h, uint32_t& seq);
  void attack_thread(AttackRt& a);
  void check_delivery(ChanRt& c, const Header& h, uint64_t when);
  void progress() { progress_ev_.notify(SC_ZERO_TIME); }
  void error(const std::string& e) { errors_.push_back(fmt::format("cycle {}: {}", cycle(), e)); }
  Part& part_of(const Location& l) { return *nodes_[l.node]->parts[l.part]; }
  uint16_t pid_of(const Location& l) const {
    return scen_.nodes[l.node].partitions[l.part].processes[l.proc].pid;
  }
  bool traffic_done() const;
  bool all_closed() const;

  const Scenario& scen_;
  RunOptions opt_;
  sc_time period_;
  bool poll_rx_ = false;  // rx_wakeup "poll"
  Scoreboard sb_;
  // Latency and load of the messages finished so far (ChanRt::times hands
  // each over as it finishes: memory independent of the run's length).
  RunResult done_;
  uint64_t created_msgs_ = 0, created_bytes_ = 0, accepted_msgs_ = 0, accepted_bytes_ = 0;
  std::vector<uint64_t> node_off_, node_acc_;  // bytes by node, measurement window
  void account(const ChanRt& c, const ChanRt::Times& t);
  // One clock, one dispatcher: every CMM and the network are stepped by it.
  std::unique_ptr<tlmshell::ClockDomain> clock_;
  std::unique_ptr<SystemFabric> fabric_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::array<int32_t, size_t{1} << regs::kNodeIdBits> node_by_id_{};  // node id -> index into nodes_, -1 none
  std::vector<std::unique_ptr<ChanRt>> chans_;
  std::vector<std::unique_ptr<CpuBusIf>> user_ctx_;
  std::vector<std::unique_ptr<AttackRt>> attacks_;
  std::array<AttackRt*, size_t{1} << regs::kNodeIdBits> rogue_by_id_{};  // rogue node id -> its attack
  std::vector<AttackRt*> rogue_by_port_;       // fabric port -> the attack of the rogue node on it
  DropWatch drop_watch_{*this};
  uint64_t fabric_drops_seen_ = 0;
  std::set<size_t> faults_done_;  // RunOptions::data_faults applied
  std::map<std::string, uint64_t> legit_control_drops_;  // non-DATA packets of CMMs dropped, by opcode
  // Traces.
  std::unique_ptr<SystemTraces> traces_;
  static uint64_t msg_id(const ChanRt& c, uint32_t seq) { return (uint64_t{c.idx} << 32) | seq; }
  std::string proc_name(const Location& l) const {
    return scen_.nodes[l.node].partitions[l.part].processes[l.proc].name;
  }
  void trace_stage(ChanRt& c, uint32_t seq, size_t node, const std::string& track, uint64_t cyc, const char* stage);
  void trace_end(ChanRt& c, uint32_t seq, uint64_t cyc, const char* how);
  // Generated traffic.
  std::optional<Traffic> traffic_;
  std::vector<Location> terms_;
  std::deque<ChannelSpec> gen_specs_;                   // stable addresses for ChanRt::spec
  std::map<std::pair<uint32_t, uint32_t>, ChanRt*> pair_chan_;  // (src, dst) terminal -> channel
  // The same per source terminal, sorted by destination (the per-message lookup).
  std::vector<std::vector<std::pair<uint32_t, ChanRt*>>> term_chan_;
  bool traffic_started_ = false;
  sc_event traffic_start_ev_;
  uint64_t t0_ = 0, measure_start_ = 0, measure_end_ = UINT64_MAX, drain_deadline_ = UINT64_MAX;
  sc_event progress_ev_;
  sc_event drain_ev_;  // once, at drain_deadline_
  bool closing_ = false, finished_ = false, interrupted_ = false, drain_failed_ = false;
  uint64_t expected_messages_ = 0;
  std::chrono::steady_clock::time_point wall0_ = std::chrono::steady_clock::now();
  uint64_t storm_done_cycle_ = 0, traffic_done_cycle_ = 0, end_cycle_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace cmm::tb
