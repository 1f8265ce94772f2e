// The multi-node system of a scenario, elaborated from its description:
//   per node      CmmTlm + NodeBus + one PartitionBusIf per partition
//   per partition a kernel-agent thread (KernelAgent over the kernel context)
//   per channel   a sender thread and a receiver thread (user contexts of
//                 the owning processes, Endpoint library)
//   fabric        a Crossbar, one port per node
// The testbench knows the whole scenario; it uses that knowledge only to hand
// endpoint ids from an agent to its own processes (what a real OS does through
// a system call) and to check, never to steer the hardware.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "system.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <sodium.h>
#include <systemc>

#include "cmm_sw/endpoint.h"
#include "cmm_strong_keys.h"
#include "cmm_sw/kernel_agent.h"
#include "cmm_tlm/cmm_tlm.h"
#include "cmm_tlm/crossbar.h"
#include "cmm_tlm/fabric_fault.h"
#include "cmm_tlm/node_bus.h"
#include "cmm_tlm/noc.h"
#include "rtl_core.h"
#include "scoreboard.h"
#include "trace.h"

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

namespace {

// Drop counters by reason name (only the non-zero ones).
nlohmann::json drops_json(const tlmshell::DropCount& d) {
  nlohmann::json j = nlohmann::json::object();
  for (regs::Reason r : {regs::Reason::kSrcSpoofed, regs::Reason::kBadLen, regs::Reason::kHolTimeout,
                         regs::Reason::kBadCrc})
    if (d.of(r)) j[std::string(regs::to_string(r))] = d.of(r);
  return j;
}

// Seed of a node's hardware key generator (docs/security.md 1.10), from the
// run seed with libsodium's KDF like the agents' keys (sw/src/key_gen.cpp)
// but its own domain and context: master = BLAKE2b-256(domain || seed),
// entropy = KDF(16 bytes, id = node << 32 | boot, "CMMENTRP", master).
// Same seed, same entropy: runs reproduce.
Key node_entropy(uint64_t seed, uint8_t node, uint32_t boot) {
  static constexpr char kDomain[] = "cmm/testbench/keygen-entropy/v1";
  static constexpr char kContext[9] = "CMMENTRP";
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  uint8_t in[sizeof kDomain - 1 + 8];
  std::memcpy(in, kDomain, sizeof kDomain - 1);
  for (int i = 0; i < 8; ++i) in[sizeof kDomain - 1 + i] = static_cast<uint8_t>(seed >> (8 * i));
  uint8_t master[crypto_kdf_KEYBYTES];
  crypto_generichash(master, sizeof master, in, sizeof in, nullptr, 0);
  uint8_t raw[regs::kKeyWords * 4];
  crypto_kdf_derive_from_key(raw, sizeof raw, (uint64_t{node} << 32) | boot, kContext, master);
  Key k{};
  for (uint32_t w = 0; w < regs::kKeyWords; ++w)
    k[w] = uint32_t{raw[4 * w]} | uint32_t{raw[4 * w + 1]} << 8 | uint32_t{raw[4 * w + 2]} << 16 |
           uint32_t{raw[4 * w + 3]} << 24;
  sodium_memzero(master, sizeof master);
  sodium_memzero(raw, sizeof raw);
  return k;
}

// A NACK of DATA, plain or strong (a strong NACK's aux carries the STRONG
// bit next to the NACKed opcode, docs/strong-mode.md 11.2).
bool nack_of_data(const Header& h) {
  return h.opcode == static_cast<uint8_t>(regs::Opcode::kNack) &&
         (h.aux & static_cast<uint8_t>(~(1u << regs::kStrongAuxBit))) == static_cast<uint8_t>(regs::Opcode::kData);
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
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

// A node on the fabric that is not a CMM: it speaks the link protocol
// (tlmshell::LinkExt, credits per class) and injects whatever it likes.
class RogueNode : public sc_module {
 public:
  SC_HAS_PROCESS(RogueNode);
  tlm_utils::simple_initiator_socket<RogueNode> isock;  // to the fabric
  tlm_utils::simple_target_socket<RogueNode> tsock;     // from the fabric
  std::array<uint32_t, 2> credits{};
  sc_event credit_ev;
  uint64_t received = 0;
  bool withhold = false;  // never return a credit for what it receives

  explicit RogueNode(sc_module_name n) : sc_module(n), isock("isock"), tsock("tsock") {
    isock.register_nb_transport_bw(this, &RogueNode::bw);
    tsock.register_nb_transport_fw(this, &RogueNode::fw);
    ext_ = new tlmshell::LinkExt;  // owned by gp_
    gp_.set_extension(ext_);
    cext_ = new tlmshell::LinkExt;
    cext_->kind = tlmshell::LinkExt::kCredit;
    cgp_.set_extension(cext_);
    SC_METHOD(grant);  // credits for what the fabric delivers to us, at time 0
  }
  // Sends p once a credit of its class is there; call from a thread. The CRC
  // is computed like a CMM shell does (it is no secret), unless bad_crc.
  void send(const tlmshell::Packet& p, bool bad_crc = false) {
    const uint8_t c = p.cls & 1u;
    while (credits[c] == 0) wait(credit_ev);
    --credits[c];
    pkt_.copy_from(p);
    pkt_.payload_len = p.payload_len;  // a rogue may claim more than it carries
    tlmshell::seal(pkt_);
    if (bad_crc) pkt_.crc ^= 0x1u;
    ext_->kind = tlmshell::LinkExt::kPacket;
    ext_->pkt = &pkt_;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_time d = SC_ZERO_TIME;
    isock->nb_transport_fw(gp_, ph, d);
  }

 private:
  void grant() {
    for (uint8_t c = 0; c < 2; ++c) give(c, 4);
  }
  void give(uint8_t cls, uint16_t n) {
    cext_->cls = cls;
    cext_->credits = n;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time d = SC_ZERO_TIME;
    tsock->nb_transport_bw(cgp_, ph, d);
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    tlmshell::LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->kind == tlmshell::LinkExt::kCredit) {
      credits[e->cls & 1u] += e->credits;
      credit_ev.notify(SC_ZERO_TIME);
    }
    return tlm::TLM_COMPLETED;
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_time&) {
    tlmshell::LinkExt* e = nullptr;
    gp.get_extension(e);
    if (!e || !e->pkt) return tlm::TLM_COMPLETED;
    ++received;
    if (!withhold) give(e->pkt->cls & 1u, 1);
    return tlm::TLM_COMPLETED;
  }

  tlmshell::Packet pkt_;
  tlm::tlm_generic_payload gp_, cgp_;
  tlmshell::LinkExt* ext_ = nullptr;
  tlmshell::LinkExt* cext_ = nullptr;
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

}  // namespace

class System : public sc_module {
 public:
  SC_HAS_PROCESS(System);
  System(sc_module_name name, const Scenario& s, const RunOptions& opt);

  RunResult collect(double wall_seconds);
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
    uint64_t errors_logged = 0, error_events = 0, exceptions = 0, errors_lost = 0, mgmt_ignored = 0, alarms = 0;
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
      if (sys_.vcd_) sys_.vcd_->sample(static_cast<uint32_t>(node_), t.value(), in, out, true);
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
    std::array<int, regs::kNumEndpoints> rx_chan{};  // receive endpoint -> channel, -1 none
    std::array<int, regs::kNumEndpoints> tx_chan{};  // send endpoint -> channel, -1 none
    // Node-wide counters read through the register port at the end of the
    // run: the same path for the C++ and the RTL core.
    bool regs_read = false;
    std::array<uint32_t, regs::kReasonCount> reject_regs{};
    std::array<uint32_t, regs::CMM_STAT_COUNT> stat_regs{};
    // Deliveries that beat the agent's CONN interrupt service (the entry is
    // OPEN in hardware before software hears of it): matched when it does.
    std::array<std::vector<std::pair<uint64_t, Header>>, regs::kNumEndpoints> early;
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
  void monitor_thread();
  void sampler_thread();
  nlohmann::json timeseries_ = nlohmann::json::array();
  void read_counters();
  void on_deliver(size_t node, const Header& h);
  void on_ingress(size_t node, const tlmshell::Packet& p);
  void on_egress(size_t node, const tlmshell::Packet& p);
  void on_reject(size_t node, regs::Reason r, const Header& h);
  void on_drop(const tlmshell::Packet& p, regs::Reason why, const uint32_t* fabric_port);
  AttackRt* rogue_of(uint8_t node_id) const { return rogue_by_id_[node_id]; }
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
  // Exactly one of the two fabrics; both have in_tsock/out_isock per node port.
  std::unique_ptr<tlmshell::Crossbar> xbar_;
  std::unique_ptr<tlmshell::Noc> noc_;
  tlm::tlm_base_target_socket<>& fabric_in(uint32_t port) {
    return xbar_ ? static_cast<tlm::tlm_base_target_socket<>&>(*xbar_->in_tsock[port])
                 : static_cast<tlm::tlm_base_target_socket<>&>(*noc_->in_tsock[port]);
  }
  tlm::tlm_base_initiator_socket<>& fabric_out(uint32_t port) {
    return xbar_ ? static_cast<tlm::tlm_base_initiator_socket<>&>(*xbar_->out_isock[port])
                 : static_cast<tlm::tlm_base_initiator_socket<>&>(*noc_->out_isock[port]);
  }
  // Security drops the fabric counted at a node/rogue port (input: SRC_SPOOFED,
  // BAD_LEN; output: HOL_TIMEOUT).
  tlmshell::DropCount port_drops(uint32_t port) const {
    return xbar_ ? xbar_->stats().port_drops.at(port) : noc_->stats().node_drops.at(port);
  }
  void fabric_route(uint8_t node, int port) {
    if (xbar_) xbar_->set_route(node, port);
    else noc_->set_route(node, port);
  }
  std::vector<std::unique_ptr<Node>> nodes_;
  std::array<int16_t, 256> node_by_id_{};  // node id -> index into nodes_, -1 none
  std::vector<std::unique_ptr<ChanRt>> chans_;
  std::vector<std::unique_ptr<CpuBusIf>> user_ctx_;
  std::vector<std::unique_ptr<AttackRt>> attacks_;
  std::array<AttackRt*, 256> rogue_by_id_{};  // rogue node id -> its attack
  std::vector<AttackRt*> rogue_by_port_;       // fabric port -> the attack of the rogue node on it
  DropWatch drop_watch_{*this};
  uint64_t fabric_drops_seen_ = 0;
  std::set<size_t> faults_done_;  // RunOptions::data_faults applied
  std::map<std::string, uint64_t> legit_control_drops_;  // non-DATA packets of CMMs dropped, by opcode
  std::vector<std::unique_ptr<RogueNode>> idle_ports_;  // terminate network ports no node uses
  // Traces.
  std::unique_ptr<PerfettoTrace> perfetto_;
  std::unique_ptr<VcdWriter> vcd_;
  uint64_t ps(uint64_t cyc) const { return cyc * period_.value(); }  // SystemC resolution is 1 ps
  static uint64_t msg_id(const ChanRt& c, uint32_t seq) { return (uint64_t{c.idx} << 32) | seq; }
  std::string proc_name(const Location& l) const {
    return scen_.nodes[l.node].partitions[l.part].processes[l.proc].name;
  }
  void trace_stage(ChanRt& c, uint32_t seq, size_t node, const std::string& track, uint64_t cyc, const char* stage);
  void trace_end(ChanRt& c, uint32_t seq, uint64_t cyc, const char* how);
  std::vector<int64_t> rxq_depth_;  // per node, messages in receive queues (trace counter)
  // Generated traffic.
  std::optional<Traffic> traffic_;
  std::vector<Location> terms_;
  std::deque<ChannelSpec> gen_specs_;                   // stable addresses for ChanRt::spec
  std::map<std::pair<uint32_t, uint32_t>, ChanRt*> pair_chan_;  // (src, dst) terminal -> channel
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

System::System(sc_module_name name, const Scenario& s, const RunOptions& opt)
    : sc_module(name), scen_(s), opt_(opt), period_(sc_time(1000.0 / s.clock_ghz, SC_PS)),
      poll_rx_(s.rx_wakeup == "poll"), sb_(opt.seed) {
  clock_ = std::make_unique<tlmshell::ClockDomain>("clock", period_);
  if (opt.exact_latency) done_.keep_exact_latency();
  // Fabric: one port per node, then one per rogue node.
  uint32_t rogues = 0;
  for (const auto& a : s.attacks) rogues += is_rogue_attack(a.kind) ? 1 : 0;
  const uint32_t ports = static_cast<uint32_t>(s.nodes.size()) + rogues;
  if (s.topology == "crossbar") {
    tlmshell::XbarConfig xc;
    xc.num_ports = ports;
    xc.clock_period = period_;
    xc.router_delay_cycles = s.router_delay_cycles;
    xc.hol_lifetime_cycles = s.hol_lifetime_cycles;
    xc.ports.assign(xc.num_ports, tlmshell::XbarPortConfig{s.link_bytes_per_cycle, s.link_latency_cycles});
    xbar_ = std::make_unique<tlmshell::Crossbar>("fabric", xc);
  } else {
    tlmshell::NocConfig nc;
    nc.topology = tlmshell::parse_topology(s.topology);
    nc.x = s.fabric_x;
    nc.y = nc.topology == tlmshell::Topology::kRing ? 1 : s.fabric_y;
    if (nc.topology == tlmshell::Topology::kRing && nc.x == 0) nc.x = std::max<uint32_t>(ports, 2);
    if (nc.topology != tlmshell::Topology::kRing && (nc.x == 0 || nc.y == 0)) {
      // Smallest near-square grid that holds every port.
      uint32_t x = 2;
      while (x * x < ports) ++x;
      nc.x = nc.x ? nc.x : x;
      nc.y = nc.y ? nc.y : std::max<uint32_t>(2, (ports + nc.x - 1) / nc.x);
    }
    if (nc.num_nodes() < ports)
      throw ConfigError(fmt::format("fabric_x/fabric_y: a {}x{} {} has {} routers, the scenario needs {} (nodes + rogue "
                                    "nodes)", nc.x, nc.y, s.topology, nc.num_nodes(), ports));
    nc.vcs_per_class = s.vcs_per_class;
    nc.buf_depth_flits = s.buf_depth_flits;
    nc.link_width_bytes = s.link_bytes_per_cycle;
    nc.link_latency_cycles = s.link_latency_cycles;
    nc.router_delay_cycles = s.router_delay_cycles;
    nc.hol_lifetime_cycles = s.hol_lifetime_cycles;
    nc.clock_period = period_;
    nc.clock = clock_.get();
    try {
      tlmshell::set_router_model(nc, s.router_model, s.router_rc_cycles, s.router_va_cycles, s.router_sa_cycles,
                                 s.router_st_cycles, s.router_credit_delay_cycles, s.router_alloc_iters);
      nc.validate();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    noc_ = std::make_unique<tlmshell::Noc>("fabric", nc);
  }
  if (xbar_) xbar_->set_fault_hook(&drop_watch_);
  else noc_->set_fault_hook(&drop_watch_);
  // Fault injection: an interposer on each node's two links, only when a
  // rule is configured (otherwise the links are bound directly, as always).
  if (!opt_.faults && !s.faults.empty()) {
    // The scenario's fault keys (tests may set RunOptions::faults instead).
    RunOptions::Faults f;
    for (const auto& r : s.faults) f.rules.push_back({r.kind, r.rate, r.link});
    f.packets = s.fault_packets;
    f.reorder_window = s.fault_reorder_window;
    f.delay_cycles = s.fault_delay_cycles;
    f.stall_cycles = s.fault_stall_cycles;
    opt_.faults = f;
  }
  if (opt_.faults && !opt_.faults->rules.empty()) {
    const RunOptions::Faults& F = *opt_.faults;
    tlmshell::FaultConfig fc;
    fc.seed = opt.seed;
    fc.clock_period = period_;
    fc.reorder_window = F.reorder_window;
    fc.delay_cycles = F.delay_cycles;
    fc.stall_cycles = F.stall_cycles;
    if (F.packets == "data") fc.packets = tlmshell::FaultPackets::kData;
    else if (F.packets != "all")
      throw ConfigError("fault_packets: '" + F.packets + "': allowed values are all, data");
    for (size_t i = 0; i < F.rules.size(); ++i) {
      const auto& R = F.rules[i];
      tlmshell::FaultRule fr;
      try {
        fr.kind = tlmshell::parse_fault_kind(R.kind);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(fmt::format("faults[{}].kind: {}", i, e.what()));
      }
      fr.rate = R.rate;
      // Links: node n's injection link is 2n, its ejection link 2n + 1.
      std::vector<int> links;
      if (R.link == "all" || R.link.empty()) {
        links.push_back(-1);
      } else {
        const auto dot = R.link.rfind('.');
        const std::string dir = dot == std::string::npos ? "" : R.link.substr(dot + 1);
        const bool has_dir = dir == "in" || dir == "out";
        const std::string name = has_dir ? R.link.substr(0, dot) : R.link;
        int n = -1;
        for (size_t k = 0; k < s.nodes.size(); ++k)
          if (s.nodes[k].name == name) n = static_cast<int>(k);
        if (n < 0)
          throw ConfigError(fmt::format("faults[{}].link: '{}': allowed values are all, <node>, <node>.in, <node>.out "
                                        "with a node of the scenario", i, R.link));
        if (!has_dir || dir == "in") links.push_back(2 * n);
        if (!has_dir || dir == "out") links.push_back(2 * n + 1);
      }
      for (int l : links) {
        fr.link = l;
        fc.rules.push_back(fr);
      }
    }
    try {
      fc.validate();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    faults_ = std::make_unique<tlmshell::FaultInjector>(fc);
    faults_->set_observer(&fault_watch_);
    // Faults hit the scenario's own packets only: a rogue node's (its own id)
    // are judged by the attack accounting and pass untouched.
    faults_->set_filter([this](const tlmshell::Packet& p) { return node_by_id_[p.hdr.src_node] >= 0; });
    fault_settle_ = fault_settle_cycles();
  }
  rogue_by_port_.assign(xbar_ ? xbar_->config().num_ports : noc_->config().num_nodes(), nullptr);
  for (uint32_t i = 0; i < 256; ++i) fabric_route(static_cast<uint8_t>(i), -1);
  if (noc_)
    for (uint32_t p = ports; p < noc_->config().num_nodes(); ++p) {
      idle_ports_.push_back(std::make_unique<RogueNode>(sc_gen_unique_name("idle_port")));
      idle_ports_.back()->isock.bind(fabric_in(p));
      fabric_out(p).bind(idle_ports_.back()->tsock);
    }

  // Nodes.
  node_by_id_.fill(-1);
  for (size_t n = 0; n < s.nodes.size(); ++n) {
    node_by_id_[s.nodes[n].id] = static_cast<int16_t>(n);
    const NodeSpec& N = s.nodes[n];
    auto node = std::make_unique<Node>();
    node->idx = n;
    node->spec = &N;
    node->rx_chan.fill(-1);
    node->tx_chan.fill(-1);
    tlmshell::CmmTlmConfig cc;
    cc.clock_period = period_;
    cc.clock = clock_.get();
    cc.entropy = node_entropy(opt.seed, N.id, 0);  // boot 0: the system never resets a CMM
    cc.straps.node_id = N.id;
    cc.core_params.mac_latency_cycles = s.mac_latency_cycles;
    cc.core_params.mac_bytes_per_cycle = s.mac_bytes_per_cycle;
    for (size_t p = 0; p < N.partitions.size(); ++p) cc.straps.quota[p] = N.partitions[p].quota;
    if (s.core_of(N) == "rtl") {
      cc.core_factory = rtl_core_factory();
      if (!cc.core_factory)
        throw ConfigError("node " + N.name + ": core 'rtl' needs the Verilated RTL, but this build has none "
                          "(Verilator was not found when it was configured)");
    }
    const std::string nn = "node" + N.name;
    node->cmm = std::make_unique<CmmTlm>((nn + "_cmm").c_str(), cc);
    const bool strong = s.security_mode == "strong";
    node->bus = std::make_unique<NodeBus>((nn + "_bus").c_str(), static_cast<uint32_t>(N.partitions.size()),
                                          period_ * static_cast<double>(s.bus_latency_cycles), strong);
    if (strong) {
      node->bmc = std::make_unique<PartitionBusIf>((nn + "_bmc").c_str());
      node->bmc->isock.bind(*node->bus->mgmt_tsock);
      node->fw = node->bmc->make_context(regs::Priv::kUser, 0);  // the bus stamps FIRMWARE
    } else {
      node->provisioned = true;
    }
    node->bus->cmm_isock.bind(node->cmm->reg_tsock);
    if (faults_) {
      faults_->interpose(static_cast<uint32_t>(n), node->cmm->eg_isock, fabric_in(static_cast<uint32_t>(n)),
                         fabric_out(static_cast<uint32_t>(n)), node->cmm->ing_tsock);
      link_names_.push_back(N.name + ".in");
      link_names_.push_back(N.name + ".out");
    } else {
      node->cmm->eg_isock.bind(fabric_in(static_cast<uint32_t>(n)));
      fabric_out(static_cast<uint32_t>(n)).bind(node->cmm->ing_tsock);
    }
    fabric_route(N.id, static_cast<int>(n));
    node->mon = std::make_unique<DeliveryMonitor>(*this, n);
    node->cmm->set_observer(node->mon.get());
    for (size_t p = 0; p < N.partitions.size(); ++p) {
      auto part = std::make_unique<Part>();
      part->node = node.get();
      part->idx = p;
      part->biu = std::make_unique<PartitionBusIf>((nn + "_part" + N.partitions[p].name + "_biu").c_str());
      part->biu->isock.bind(*node->bus->part_tsock[p]);
      part->kctx = part->biu->make_context(regs::Priv::kKernel, 0);
      part->stat_ctx = part->biu->make_context(regs::Priv::kKernel, 0);
      // Keys: the driver's per-partition KDF from the run seed (it binds
      // node, partition and boot itself).
      sw::AgentConfig ac;
      ac.alarm_thresh = static_cast<uint16_t>(s.alarm_thresh);
      ac.alarm_window_log2 = static_cast<uint8_t>(s.alarm_window_log2);
      ac.key_source = s.key_source == "hardware" ? sw::KeySource::kHardware : sw::KeySource::kSoftware;
      part->agent = std::make_unique<KernelAgent>(*part->kctx, opt.seed, ac);
      part->agent->set_clock([this] { return cycle(); });
      // The OS policy: grant only the channels of the scenario (what a real
      // system configures), so a rogue's CHAN_REQ takes no endpoint.
      Part* pp = part.get();
      part->agent->set_accept_policy([this, pp](const sw::IncomingRequest& rq) {
        for (const auto& ch : chans_) {
          const ChanRt& c = *ch;
          if (c.s.node == pp->node->idx && c.s.part == pp->idx && scen_.nodes[c.r.node].id == rq.src_node &&
              c.r.part == rq.src_part && pid_of(c.r) == rq.recv_pid && pid_of(c.s) == rq.send_pid)
            return true;
        }
        return false;
      });
      node->parts.push_back(std::move(part));
    }
    nodes_.push_back(std::move(node));
  }

  // Traces: node index = pid; window and node filter from the options.
  if (!opt.perfetto_path.empty() || !opt.vcd_path.empty()) {
    TraceLimits lim;
    lim.from_ps = ps(opt.trace_from_cycle);
    lim.to_ps = opt.trace_to_cycle == UINT64_MAX ? UINT64_MAX : ps(opt.trace_to_cycle);
    for (const auto& want : opt.trace_nodes) {
      bool found = false;
      for (size_t n = 0; n < s.nodes.size(); ++n)
        if (s.nodes[n].name == want) {
          lim.nodes.push_back(static_cast<uint32_t>(n));
          found = true;
        }
      if (!found) {
        std::string names;
        for (const auto& N : s.nodes) names += (names.empty() ? "" : ", ") + N.name;
        throw ConfigError("--trace-nodes: no node named '" + want + "' (nodes: " + names + ")");
      }
    }
    try {
      if (!opt.perfetto_path.empty()) {
        perfetto_ = std::make_unique<PerfettoTrace>(opt.perfetto_path, lim);
        for (size_t n = 0; n < s.nodes.size(); ++n)
          perfetto_->set_node_name(static_cast<uint32_t>(n), "node " + s.nodes[n].name);
      }
      if (!opt.vcd_path.empty()) {
        VcdOptions vo;
        vo.limits = lim;
        vo.include_keys = opt.vcd_keys;
        vo.clock_period_ps = period_.value();
        vcd_ = std::make_unique<VcdWriter>(opt.vcd_path, vo);
        for (size_t n = 0; n < s.nodes.size(); ++n) vcd_->add_node(static_cast<uint32_t>(n), s.nodes[n].name);
      }
    } catch (const std::exception& e) {
      throw ConfigError(std::string("traces: ") + e.what());
    }
  }
  rxq_depth_.assign(s.nodes.size(), 0);

  // Channels: one sender and one receiver thread each, on their own hardware
  // contexts (same pid as the owning process).
  std::vector<const ChannelSpec*> specs;
  for (const auto& c : s.channels) specs.push_back(&c);
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  if (s.traffic) {
    terms_ = s.terminals();
    traffic_.emplace(*s.traffic, static_cast<uint32_t>(terms_.size()), opt.seed);
    auto name = [&](uint32_t t) {
      const Location& l = terms_[t];
      return s.nodes[l.node].partitions[l.part].processes[l.proc].name;
    };
    // Every pair the pattern needs gets a channel; each takes one endpoint in
    // the receiver's and one in the sender's partition.
    std::map<std::pair<size_t, size_t>, uint32_t> need;
    for (const auto& [src, dst] : traffic_->channel_pairs()) {
      ChannelSpec cs;
      cs.receiver = name(dst);
      cs.sender = name(src);
      cs.messages = 0;
      gen_specs_.push_back(cs);
      specs.push_back(&gen_specs_.back());
      pairs.emplace_back(src, dst);
      ++need[{terms_[dst].node, terms_[dst].part}];
      ++need[{terms_[src].node, terms_[src].part}];
    }
    for (const auto& [np, n] : need) {
      const auto& P = s.nodes[np.first].partitions[np.second];
      if (n > P.quota)
        throw ConfigError(fmt::format("traffic: pattern {} on {} terminals needs {} endpoints in partition {} of node "
                                      "{}, its quota is {} (the CMM has {} in all; hw/data/cmm.toml): use "
                                      "traffic.pattern.fanout, fewer processes, or a permutation",
                                      to_string(s.traffic->pattern.kind), terms_.size(), n, P.name,
                                      s.nodes[np.first].name, P.quota, regs::kNumEndpoints));
    }
  }
  for (size_t c = 0; c < specs.size(); ++c) {
    auto ch = std::make_unique<ChanRt>();
    ch->idx = static_cast<uint32_t>(c);
    ch->spec = specs[c];
    if (c >= s.channels.size()) {
      ch->open_ended = true;
      std::tie(ch->src_term, ch->dst_term) = pairs[c - s.channels.size()];
    }
    ch->r = s.locate(ch->spec->receiver);
    ch->s = s.locate(ch->spec->sender);
    ch->label = ch->spec->receiver + " <- " + ch->spec->sender;
    if (!ch->open_ended) ch->times.resize(ch->spec->messages);
    ch->times.on_done = [this, c = ch.get()](uint32_t, const ChanRt::Times& t) { account(*c, t); };
    ch->times.finished = [this, i = ch->idx](uint32_t seq) { return sb_.finished(i, seq); };
    sb_.add_channel(ch->idx, ch->label, ch->spec->messages);
    chans_.push_back(std::move(ch));
  }
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    user_ctx_.push_back(part_of(c.s).biu->make_context(regs::Priv::kUser, pid_of(c.s)));
    CpuBusIf& sctx = *user_ctx_.back();
    user_ctx_.push_back(part_of(c.r).biu->make_context(regs::Priv::kUser, pid_of(c.r)));
    CpuBusIf& rctx = *user_ctx_.back();
    if (!c.open_ended) sc_spawn([this, &c, &sctx] { sender_thread(c, sctx); }, sc_gen_unique_name("sender"));
    else pair_chan_[{c.src_term, c.dst_term}] = &c;
    sc_spawn([this, &c, &rctx] { receiver_thread(c, rctx); }, sc_gen_unique_name("receiver"));
  }
  if (traffic_)
    for (uint32_t t = 0; t < terms_.size(); ++t) {
      if (!traffic_->active(t)) continue;
      user_ctx_.push_back(part_of(terms_[t]).biu->make_context(regs::Priv::kUser, pid_of(terms_[t])));
      CpuBusIf& ctx = *user_ctx_.back();
      sc_spawn([this, t, &ctx] { source_thread(t, ctx); }, sc_gen_unique_name("source"));
    }
  for (auto& node : nodes_)
    for (auto& part : node->parts) {
      Part& p = *part;
      sc_spawn([this, &p] { agent_thread(p); }, sc_gen_unique_name("agent"));
    }
  // Attackers.
  uint32_t port = static_cast<uint32_t>(s.nodes.size());
  for (const auto& A : s.attacks) {
    auto a = std::make_unique<AttackRt>();
    a->spec = &A;
    const ChanRt& c = *chans_[A.channel];
    if (is_rogue_attack(A.kind)) {
      a->rogue = std::make_unique<RogueNode>(sc_gen_unique_name("rogue_node"));
      a->rogue->isock.bind(fabric_in(port));
      fabric_out(port).bind(a->rogue->tsock);
      fabric_route(A.rogue_node_id, static_cast<int>(port));
      a->rogue->withhold = A.kind == "credit_withholder";
      a->port = port;
      rogue_by_id_[A.rogue_node_id] = a.get();
      rogue_by_port_.at(port) = a.get();
      ++port;
      if (A.kind == "rogue_node_spoofed" || A.kind == "key_predictor") a->expect = regs::Reason::kSrcSpoofed;
      else if (A.kind == "rogue_all_kinds") a->expect = regs::Reason::kOk;  // one reason per packet kind
      else a->expect = regs::Reason::kSrcNodeMismatch;
      a->target = A.kind == "rogue_all_kinds" ? "send and receive entries of " + c.label : "receive entry of " + c.label;
    } else {
      const Location at = s.locate(A.attacker);
      Part& ap = part_of(at);
      a->expect = regs::Reason::kDenied;
      const bool on_sender = at.node == c.s.node;
      a->target = std::string(on_sender ? "send" : "receive") + " entry of " + c.label;
      if (A.kind == "steal_endpoint") {
        a->ctx = ap.biu->make_context(regs::Priv::kUser, pid_of(at));
      } else {
        // A second kernel context of the partition (not its agent's: no
        // interference with the partition's own interrupt service).
        a->ctx = ap.biu->make_context(regs::Priv::kKernel, 0);
        a->kernel = true;
      }
    }
    AttackRt& ar = *a;
    attacks_.push_back(std::move(a));
    sc_spawn([this, &ar] { attack_thread(ar); }, sc_gen_unique_name("attacker"));
  }
  for (const auto& c : s.channels) expected_messages_ += c.messages;
  sc_spawn([this] { control_thread(); }, "control");
  sc_spawn([this] { monitor_thread(); }, "monitor");
  if (s.stats_interval_cycles) sc_spawn([this] { sampler_thread(); }, "sampler");
}

// ---- kernel agents -------------------------------------------------------

void System::agent_thread(Part& p) {
  KernelAgent& a = *p.agent;
  const NodeSpec& N = *p.node->spec;
  // No heap-owning locals in thread bodies: a thread still blocked when the
  // simulation ends is never unwound.
  auto who = [&] { return fmt::format("agent of partition {} (node {})", N.partitions[p.idx].name, N.name); };
  // Strong mode: the first agent of the node provisions the link keys (one
  // per node of the system, its own included) through the board-management
  // port before any agent of the node speaks; the others wait.
  Node& node = *p.node;
  if (!node.provisioned && !node.provisioning) {
    node.provisioning = true;
    for (const auto& M : scen_.nodes)
      if (tlmshell::provision_link_key(*node.fw, M.id, link_key_for(opt_.seed, N.id, M.id)) != sw::BusStatus::kOk)
        error(fmt::format("node {}: provisioning the link key for node {} failed", N.name, M.name));
    node.provisioned = true;
    node.provisioned_ev.notify(SC_ZERO_TIME);
  }
  while (!node.provisioned) wait(node.provisioned_ev);
  if (Status st = a.init(); !st.ok()) {
    error(who() + ": init failed: " + st.str());
    return;
  }
  // Receiver side starts the id exchange for each of its channels (DESIGN step 1).
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    if (c.r.node != p.node->idx || c.r.part != p.idx) continue;
    sw::ChannelRequest rq;
    rq.sender_node = scen_.nodes[c.s.node].id;
    rq.sender_part = static_cast<uint8_t>(c.s.part);
    rq.sender_pid = pid_of(c.s);
    rq.recv_pid = pid_of(c.r);
    if (scen_.security_mode == "strong") rq.mode = regs::Mode::kStrong;
    c.request_cycle = cycle();
    if (Status st = a.request_channel(rq, c.req_id); !st.ok()) {
      c.failed = true;
      c.failure = "request_channel: " + st.str();
      error(c.label + ": " + c.failure);
      c.ready_ev.notify(SC_ZERO_TIME);
      progress();
    }
  }
  bool closed_mine = false;
  for (;;) {
    if (Status st = a.poll(); !st.ok()) error(who() + ": poll: " + st.str());
    Event ev;
    while (a.next_event(ev)) handle(p, ev);
    if (closing_ && !closed_mine) {
      // DESIGN step 7: the receiver side closes its channels (keys zeroized,
      // the peer told), then frees the entries.
      closed_mine = true;
      for (auto& ch : chans_) {
        ChanRt& c = *ch;
        if (c.r.node != p.node->idx || c.r.part != p.idx || c.rep < 0) continue;
        const auto ep = static_cast<uint8_t>(c.rep);
        if (Status st = a.close(ep); !st.ok()) error(c.label + ": close: " + st.str());
        if (Status st = a.free_endpoint(ep); !st.ok()) error(c.label + ": free: " + st.str());
        c.closed_recv = true;
        p.node->rx_chan[ep] = -1;
        progress();
      }
    }
    if (finished_) return;
    if (p.node->cmm->irq_level(static_cast<uint32_t>(p.idx))) continue;
    // Sleep until an interrupt, the control thread, or the agent's next timer
    // (CONNECT re-send, request and grant expiry).
    const uint64_t due = a.next_deadline(), now = cycle();
    if (due != KernelAgent::kNever && due <= now) continue;
    if (due != p.timer_at) {
      p.timer.cancel();
      p.timer_at = due;
      if (due != KernelAgent::kNever) p.timer.notify(period_ * static_cast<double>(due - now));
    }
    wait(p.node->cmm->irq_rise_event(static_cast<uint32_t>(p.idx)) | p.wake | p.timer);
    if (p.timer_at != KernelAgent::kNever && cycle() >= p.timer_at) p.timer_at = UINT64_MAX;  // fired
  }
}

void System::handle(Part& p, const Event& ev) {
  auto find = [&](auto pred) -> ChanRt* {
    for (auto& ch : chans_)
      if (pred(*ch)) return ch.get();
    return nullptr;
  };
  switch (ev.kind) {
    case Event::Kind::kChannelReady:
    case Event::Kind::kChannelFailed: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.r.node == p.node->idx && c.r.part == p.idx && c.req_id == ev.req_id;
      });
      if (!c) {
        error(fmt::format("node {}: {} for no channel of the scenario", p.node->spec->name, ev.str()));
        return;
      }
      if (ev.kind == Event::Kind::kChannelFailed) {
        c->failed = true;
        c->failure = ev.str();
        error(c->label + ": set-up failed: " + ev.str());
      } else {
        c->rep = ev.ep;
        c->recv_ready = true;
        p.node->rx_chan[ev.ep] = static_cast<int>(c->idx);
        for (const auto& [when, h] : p.node->early[ev.ep]) check_delivery(*c, h, when);
        p.node->early[ev.ep].clear();
        if (c->send_ready) c->open_cycle = cycle();
      }
      c->ready_ev.notify(SC_ZERO_TIME);
      progress();
      return;
    }
    case Event::Kind::kSendReady: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.req_id == ev.req_id &&
               scen_.nodes[c.r.node].id == ev.peer.node && c.r.part == ev.peer.part;
      });
      if (!c) {
        error(fmt::format("node {}: {} for no channel of the scenario", p.node->spec->name, ev.str()));
        return;
      }
      c->sep = ev.ep;
      c->send_ready = true;
      p.node->tx_chan[ev.ep] = static_cast<int>(c->idx);
      if (c->recv_ready) c->open_cycle = cycle();
      c->ready_ev.notify(SC_ZERO_TIME);
      progress();
      return;
    }
    case Event::Kind::kChannelRefused:
      // A rogue node's CHAN_REQ refused by the OS policy: its attack's tally.
      if (AttackRt* a = rogue_of(ev.peer.node)) {
        ++a->agent_refused[static_cast<size_t>(ev.agent_reason)];
        return;
      }
      error(fmt::format("node {}: agent refused a channel request: {}", p.node->spec->name, ev.str()));
      return;
    case Event::Kind::kRequestCancelled:
      error(fmt::format("node {}: request cancelled by the peer: {}", p.node->spec->name, ev.str()));
      return;
    case Event::Kind::kPeerClosed: {
      // Sender side of a channel the receiver closed: free the entry.
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.sep == ev.ep;
      });
      if (!c || !closing_) {
        error(fmt::format("node {}: unexpected {}", p.node->spec->name, ev.str()));
        if (!c) return;
      }
      if (Status st = p.agent->free_endpoint(ev.ep); !st.ok()) error(c->label + ": free: " + st.str());
      c->closed_send = true;
      c->close_cycle = cycle();
      progress();
      return;
    }
    case Event::Kind::kTxNacked: {
      ChanRt* c = find([&](const ChanRt& c) {
        return c.s.node == p.node->idx && c.s.part == p.idx && c.sep == ev.ep;
      });
      if (!c) {
        error(fmt::format("node {}: {} on an endpoint of no channel", p.node->spec->name, ev.str()));
        return;
      }
      // The library's count; each NACK's reason and tag were seen at the
      // sender's CMM (on_ingress) and classified there.
      c->nacked += ev.count;
      sb_.nacks_reported(c->idx, ev.count, static_cast<uint8_t>(ev.reason));
      c->wake_rx();
      progress();
      return;
    }
    case Event::Kind::kRxPending: {
      const int ci = p.node->rx_chan[ev.ep];
      if (ci >= 0) chans_[static_cast<size_t>(ci)]->wake_rx();
      return;
    }
    case Event::Kind::kErrorLogged:
      ++p.errors_logged;
      p.error_events += std::max<uint32_t>(1, ev.count);  // 1 + coalesced repeats
      // A SEQ_GAP NACK at a send entry: the library learns it from the log.
      if (ev.error.reason == regs::Reason::kSeqGap && ev.error.from_fabric &&
          ev.error.opcode == static_cast<uint8_t>(regs::Opcode::kNack) && ev.error.ep < regs::kNumEndpoints)
        if (const int ci = p.node->tx_chan[ev.error.ep]; ci >= 0 && chans_[static_cast<size_t>(ci)]->s.part == p.idx) {
          // The log coalesces repeats by (reason, source node), not by
          // endpoint: the repeats of one entry may be SEQ_GAPs of other send
          // entries of this partition whose receivers sit on the same node.
          // Each goes to a channel with a SEQ_GAP its library has not seen
          // yet, the entry's own first (totals exact, per channel too).
          uint32_t n = std::max<uint32_t>(1, ev.count);
          auto take = [&](ChanRt& ch, bool all) {
            const auto& cs = sb_.channels().at(ch.idx);
            const uint32_t due = cs.nacks_seq_gap > cs.gaps_logged ? cs.nacks_seq_gap - cs.gaps_logged : 0;
            const uint32_t k = all ? n : std::min(n, due);
            if (!k) return;
            sb_.gaps_reported(ch.idx, k);
            n -= k;
            ch.wake_rx();
          };
          ChanRt& own = *chans_[static_cast<size_t>(ci)];
          take(own, false);
          for (auto& ch : chans_)
            if (n && ch.get() != &own && ch->s.node == p.node->idx && ch->s.part == p.idx &&
                scen_.nodes[ch->r.node].id == ev.error.src_node)
              take(*ch, false);
          if (n) take(own, true);
        }
      if (p.error_lines.size() < 16) p.error_lines.push_back(ev.str());
      return;
    case Event::Kind::kErrorsLost:
      p.errors_lost += ev.count;
      // SEQ_GAP entries of this partition's send channels may be among them.
      for (auto& ch : chans_)
        if (ch->s.node == p.node->idx && ch->s.part == p.idx) sb_.gap_log_lossy(ch->idx);
      return;
    case Event::Kind::kException:
      p.exceptions += ev.count;  // from EXC_COUNT: never lost, unlike log entries
      return;
    case Event::Kind::kAlarm:
      p.alarms += ev.count;
      return;
    case Event::Kind::kMgmtIgnored:
    case Event::Kind::kMgmtOther:
      ++p.mgmt_ignored;
      if (AttackRt* a = rogue_of(ev.mgmt.src_node)) {
        if (ev.kind == Event::Kind::kMgmtOther && ev.agent_reason == sw::AgentReason::kNone) ++a->mgmt_other;
        else ++a->agent_refused[static_cast<size_t>(ev.agent_reason)];
      }
      return;
  }
}

// ---- user processes ------------------------------------------------------

void System::sender_thread(ChanRt& c, CpuBusIf& ctx) {
  while (!c.send_ready && !c.failed) wait(c.ready_ev);
  if (c.failed) return;
  sw::Endpoint ep(ctx, static_cast<uint8_t>(c.sep));
  std::mt19937_64 rng(mix(opt_.seed, 0x5E4D0000ull + c.idx));
  // The traffic library's draws: the same numbers with every standard library.
  const double rate = 1.0 / std::max<uint32_t>(1, c.spec->mean_gap_cycles);
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  for (uint32_t seq = 0; seq < c.spec->messages; ++seq) {
    const auto g = static_cast<uint64_t>(exponential(rng, rate));
    if (g) wait(period_ * static_cast<double>(g));
    const uint32_t len =
        c.spec->min_bytes + static_cast<uint32_t>(uniform_below(rng, c.spec->max_bytes - c.spec->min_bytes + 1));
    c.times[seq].bytes = len;
    send_one(c, ep, seq, len, cycle(), buf);
  }
  c.sender_done = true;
  c.wake_rx();
  progress();
}

void System::send_one(ChanRt& c, sw::Endpoint& ep, uint32_t seq, uint32_t len, uint64_t created,
                      std::array<uint8_t, regs::kMaxMsgBytes>& buf) {
  make_payload(opt_.seed, c.idx, seq, buf.data(), len);
  c.times[seq].created = created;
  if (perfetto_) {
    perfetto_->begin_message(msg_id(c, seq), perfetto_->track(static_cast<uint32_t>(c.s.node), proc_name(c.s)),
                             ps(created), "DATA " + c.label, {{"seq", seq}, {"bytes", len}});
    perfetto_->stage(msg_id(c, seq), perfetto_->track(static_cast<uint32_t>(c.s.node), proc_name(c.s)), ps(created),
                     "source");
    c.times[seq].traced = true;
  }
  const Status st = ep.send(buf.data(), len, static_cast<uint16_t>(seq));
  if (st.ok()) {
    sb_.sent(c.idx, seq, len, created);
    ++c.sent;
  } else if (st.result == Result::kRejected) {
    sb_.refused_at_source(c.idx, seq, static_cast<uint8_t>(st.reason));
    ++c.refused;
    trace_end(c, seq, cycle(), "refused at source");
  } else {
    error(fmt::format("{}: send of message {} failed: {}", c.label, seq, st.str()));
  }
}

// One generated-traffic terminal: messages at their ideal cycles (open loop);
// when the endpoint or bus holds it back, later messages go out late but keep
// their creation time, so the wait counts in their latency.
void System::source_thread(uint32_t term, CpuBusIf& ctx) {
  while (!traffic_started_) wait(traffic_start_ev_);
  TerminalSource src = traffic_->source(term);
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  while (auto m = src.next()) {
    const uint64_t due = t0_ + m->cycle;
    if (due >= measure_end_) break;
    if (cycle() < due) wait(period_ * static_cast<double>(due - cycle()));
    auto it = pair_chan_.find({term, m->dst});
    if (it == pair_chan_.end() || it->second->failed || it->second->sep < 0) {
      error(fmt::format("terminal {}: no open channel to terminal {}", term, m->dst));
      break;
    }
    ChanRt& c = *it->second;
    if (c.next_seq == UINT32_MAX) break;
    const uint32_t seq = c.next_seq++;
    sb_.extend(c.idx, c.next_seq);
    c.times.push_back({});
    c.times[seq].bytes = m->bytes;
    sw::Endpoint ep(ctx, static_cast<uint8_t>(c.sep));
    send_one(c, ep, seq, m->bytes, due, buf);
  }
  for (auto& [pr, c] : pair_chan_)
    if (pr.first == term) {
      c->sender_done = true;
      c->wake_rx();
    }
  progress();
}

void System::receiver_thread(ChanRt& c, CpuBusIf& ctx) {
  while (!c.recv_ready && !c.failed) wait(c.ready_ev);
  if (c.failed) return;
  sw::Endpoint ep(ctx, static_cast<uint8_t>(c.rep));
  std::array<uint8_t, regs::kMaxMsgBytes> buf{};
  const sc_time poll = period_ * static_cast<double>(scen_.rx_poll_cycles);
  uint64_t library_wait_from = 0;
  for (;;) {
    c.rx_flag = false;  // a wake-up from here on makes us read again
    sw::RxInfo info;
    const Status st = ep.receive(buf.data(), buf.size(), info);
    if (st.ok()) {
      uint64_t when = cycle();
      if (!c.deliver_cycles.empty()) {
        when = c.deliver_cycles.front();
        c.deliver_cycles.pop_front();
      } else {
        error(c.label + ": message read that the CMM never delivered");
      }
      uint32_t seq = 0;
      if (c.seq_of(info.tag, seq)) {
        sb_.delivered(c.idx, seq, buf.data(), info.len, when);
        if (seq < c.times.size()) {
          c.times[seq].read = cycle();
          trace_end(c, seq, cycle(), "read");
          if (perfetto_) perfetto_->counter(static_cast<uint32_t>(c.r.node), "receive-queue messages", ps(cycle()),
                                            static_cast<double>(--rxq_depth_[c.r.node]));
          c.times.retire(seq);
        }
      } else {
        sb_.unauthorized(fmt::format("{}: read a message with tag {} that was never sent", c.label, info.tag));
      }
      ++c.received;  // no progress() per message: the control thread waits for receiver_done
      if (c.spec->rx_service_cycles) wait(period_ * static_cast<double>(c.spec->rx_service_cycles));
      // Interrupt-driven: the status read said this was the last queued
      // message; a later one raises RX again (rx_flag), so no read is spent
      // to find the queue empty.
      if (poll_rx_ || info.remaining > 0) continue;
    } else if (st.result != Result::kEmpty) {
      error(fmt::format("{}: receive failed: {}", c.label, st.str()));
      wait(poll);
      continue;
    }
    // Done when every sent message was read or reported lost, and the
    // library has seen every NACK that reached the sender's CMM (if it never
    // does, the scoreboard says so after a grace period, not the watchdog).
    // With fault injection, messages a fault destroyed may still be reported
    // (a NACK on its way) or never be (a tail): they count as pending, and
    // the receiver first waits fault_settle_ cycles for their reports.
    const auto& cs = sb_.channels().at(c.idx);
    const uint32_t pend = faults_ && c.sender_done ? fault_pending(c) : 0;
    const uint64_t settle = pend ? fault_settle_ : 0;
    if (c.sender_done && int64_t{c.received} + cs.reported_lost() + pend >= int64_t{c.sent}) {
      if (!pend && cs.library_complete()) break;
      if (!library_wait_from) library_wait_from = cycle();
      const uint64_t waited = cycle() - library_wait_from;
      if (waited >= settle && cs.library_complete()) break;
      if (waited > kLibraryGraceCycles + settle) break;
    }
    if (c.rx_flag) continue;
    if (poll_rx_) {
      wait(poll, c.rx_ev);
    } else if (library_wait_from) {
      // Only the grace period is timed; everything else is an event.
      const uint64_t waited = cycle() - library_wait_from;
      const uint64_t until = waited < settle ? settle : kLibraryGraceCycles + settle + 1;
      wait(period_ * static_cast<double>(until - waited), c.rx_ev);
    } else {
      wait(c.rx_ev);
    }
  }
  c.receiver_done = true;
  progress();
}

// ---- monitors and control ------------------------------------------------

void System::on_deliver(size_t node, const Header& h) {
  Node& N = *nodes_[node];
  if (faults_) {
    uint32_t seq = 0;
    if (ChanRt* c = data_of(h, seq); c && c->r.node == node) {
      c->rx_next = static_cast<uint16_t>(h.seq + 1u);
      c->rx_high = std::max<int64_t>(c->rx_high, seq);
    }
  }
  if (AttackRt* a = rogue_of(h.src_node)) ++a->unauthorized;  // no rogue packet may ever be delivered
  if (h.dst_ep >= regs::kNumEndpoints) {
    sb_.unauthorized(fmt::format("node {} endpoint {}: {}", N.spec->name, h.dst_ep, h.str()));
    return;
  }
  const int ci = N.rx_chan[h.dst_ep];
  if (ci < 0) {
    N.early[h.dst_ep].emplace_back(cycle(), h);
    return;
  }
  check_delivery(*chans_[static_cast<size_t>(ci)], h, cycle());
}

void System::check_delivery(ChanRt& c, const Header& h, uint64_t when) {
  // I2, checked independently of the core: the hardware-stamped source is
  // the channel's sender endpoint.
  if (h.src_node != scen_.nodes[c.s.node].id || h.src_part != c.s.part || static_cast<int>(h.src_ep) != c.sep) {
    sb_.unauthorized(fmt::format("{}: delivered from {}.{}.{}, expected {}.{}.{}", c.label, h.src_node, h.src_part,
                                 h.src_ep, scen_.nodes[c.s.node].id, c.s.part, c.sep));
  }
  c.deliver_cycles.push_back(when);
  if (uint32_t seq = 0; c.seq_of(h.tag, seq) && seq < c.times.size()) {
    c.times[seq].delivered = when;
    if (perfetto_) {
      trace_stage(c, seq, c.r.node, proc_name(c.r), when, "receive queue");
      perfetto_->counter(static_cast<uint32_t>(c.r.node), "receive-queue messages", ps(when),
                         static_cast<double>(++rxq_depth_[c.r.node]));
    }
  }
  // rx_wakeup "poll": the receiver also looks at once. "interrupt": it learns
  // of the message only from its agent's service of the CMM's RX interrupt
  // (kRxPending), as software would.
  if (poll_rx_) c.wake_rx();
}

ChanRt* System::data_of(const Header& h, uint32_t& seq) {
  if (h.opcode != static_cast<uint8_t>(regs::Opcode::kData) || h.src_ep >= regs::kNumEndpoints) return nullptr;
  const int n = node_by_id_[h.src_node];
  if (n < 0) return nullptr;
  const int ci = nodes_[static_cast<size_t>(n)]->tx_chan[h.src_ep];
  if (ci < 0) return nullptr;
  ChanRt* c = chans_[static_cast<size_t>(ci)].get();
  if (h.src_part != c->s.part || !c->seq_of(h.tag, seq) || seq >= c->times.size()) return nullptr;  // forged
  return c;
}

void System::on_egress(size_t node, const tlmshell::Packet& p) {
  uint32_t seq = 0;
  if (ChanRt* c = data_of(p.hdr, seq); c && c->s.node == node) {
    c->sent_on_wire(p.hdr.seq, seq);
    if (faults_) {
      // The sender CMM's tx_seq and the drag of nack_seq (security.md 1.5).
      c->tx_wire_next = static_cast<uint16_t>(p.hdr.seq + 1u);
      if (static_cast<uint16_t>(c->tx_wire_next - c->nack_seq) > 0x8000u)
        c->nack_seq = static_cast<uint16_t>(c->tx_wire_next - 0x8000u);
    }
    c->times[seq].egress = cycle();
    trace_stage(*c, seq, node, "fabric out", cycle(), "fabric");
  }
}

void System::on_ingress(size_t node, const tlmshell::Packet& p) {
  const Header& h = p.hdr;
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq); c && c->r.node == node && c->times[seq].egress) {
    c->times[seq].ingress = cycle();
    trace_stage(*c, seq, node, "CMM", cycle(), "CMM pipeline");
    return;
  }
  // NACKs of DATA for one of this node's send endpoints.
  if (!nack_of_data(h) ||
      h.dst_ep >= regs::kNumEndpoints)
    return;
  const int ci = nodes_[node]->tx_chan[h.dst_ep];
  if (ci < 0) return;
  ChanRt& c = *chans_[static_cast<size_t>(ci)];
  // Only the receiver's CMM can send these (the fabric validates source
  // nodes); anything else is a forgery the core refuses, counted there.
  // (The receive endpoint is known here once its agent reported the channel
  // ready; before that, a NACK from the receiver's node and partition is its
  // CMM's: NOT_OPEN while the entry waits for a CONNECT_ACK that was lost.)
  if (h.src_node != scen_.nodes[c.r.node].id || h.src_part != c.r.part ||
      (c.rep >= 0 && static_cast<int>(h.src_ep) != c.rep))
    return;
  if (faults_) {
    // A copy of a NACK already judged (duplicated on a link): the sender's
    // CMM refuses it SEQ_OLD and counts nothing.
    NackCopies& nc = nack_copies_[p.id];
    --nc.out;
    const bool copy = nc.arrived;
    nc.arrived = true;
    if (nc.out <= 0) nack_copies_.erase(p.id);  // every copy is accounted for (duplicates are made before arrival)
    if (copy) return;
    // A NACK overtaken by a later one (reordered, delayed) is no longer
    // fresh: the sender's CMM refuses it SEQ_OLD (security.md 1.5), so what
    // it reports reaches the sender's agent never; it counts as lost on the way.
    const uint8_t why = h.reason % regs::kReasonCount;
    if (why != static_cast<uint8_t>(regs::Reason::kSeqOld)) {
      if (static_cast<uint16_t>(h.seq - c.nack_seq) < static_cast<uint16_t>(c.tx_wire_next - c.nack_seq)) {
        c.nack_seq = static_cast<uint16_t>(h.seq + 1u);
      } else {
        ++stale_nacks_;
        nack_lost(c, h, p.id, false);
        return;
      }
    }
  }
  // NACK of DATA: seq = the DATA's wire seq; tag = its tag, or for SEQ_GAP
  // the number of missing messages (decisions.md, core 17:08).
  if (c.seq_of_wire(h.seq, seq)) {
    const uint8_t why = h.reason % regs::kReasonCount;
    sb_.nack(c.idx, seq, why, why == static_cast<uint8_t>(regs::Reason::kSeqGap) ? h.tag : 0u);
    // One of its messages refused: the NACK ends its span (a SEQ_GAP NACK
    // names a delivered message).
    if (perfetto_ && seq < c.times.size() && !c.times[seq].delivered &&
        why != static_cast<uint8_t>(regs::Reason::kSeqGap) && why != static_cast<uint8_t>(regs::Reason::kSeqOld)) {
      const std::string how = "NACK " + std::string(regs::reason_name(why));
      trace_end(c, seq, cycle(), how.c_str());
    }
  } else if (!c.open_ended) {
    // A tag this sender never used: someone spoofed its ids (a legitimate
    // message is never refused for its key).
    ++c.reflected;
    sb_.nacks_reflected(c.idx, 1);
  }
  c.wake_rx();
}

// A verdict against a packet (C++ cores): the attack whose rogue node sent
// it gets the reason (the fabric guarantees src_node names the sender).
void System::on_reject(size_t node, regs::Reason r, const Header& h) {
  if (AttackRt* a = rogue_of(h.src_node)) ++a->refused[static_cast<uint32_t>(r) % regs::kReasonCount];
  if (!faults_ || r != regs::Reason::kRxqFull) return;
  // A DATA refused RXQ_FULL: the receiver's CMM reports a gap before it to
  // its own agent only (security.md 1.5); the sender hears of this DATA, not
  // of the gap. Those messages are reported lost, as by a NACK lost on the way.
  uint32_t seq = 0;
  ChanRt* c = data_of(h, seq);
  if (!c || c->r.node != node) return;
  const uint16_t d = static_cast<uint16_t>(h.seq - c->rx_next);
  if (d != 0 && d < 0x8000u) sb_.nack(c->idx, seq, static_cast<uint8_t>(regs::Reason::kSeqGap), d, true);
  c->rx_next = static_cast<uint16_t>(h.seq + 1u);
  c->rx_high = std::max<int64_t>(c->rx_high, seq);
  c->wake_rx();
}

// A packet dropped by the fabric (port given) or a receiving shell, counted
// there with `why`. Charged to the attack that sent it (by port at a rogue's
// input: spoofed ids; by src_node elsewhere), or to the rogue it was going
// to (HOL_TIMEOUT at its port); a legitimate DATA becomes a reported loss of
// its channel, a dropped NACK of DATA reports its losses the same way.
void System::on_drop(const tlmshell::Packet& p, regs::Reason why, const uint32_t* fabric_port) {
  if (const Header* orig = corrupted_original(p)) {
    // Dropped because an injected fault corrupted it (edge check, CRC): the
    // loss is the fault's, judged by the packet as it was sent.
    if (fabric_port) fault_port_drops_[*fabric_port].add(why);
    fault_loss(p, *orig);
    return;
  }
  const Header& h = p.hdr;
  const auto w = static_cast<uint32_t>(why) % regs::kReasonCount;
  AttackRt* at_port = fabric_port && *fabric_port < rogue_by_port_.size() ? rogue_by_port_[*fabric_port] : nullptr;
  if (at_port && why == regs::Reason::kHolTimeout && rogue_of(h.src_node) != at_port) {
    ++at_port->dropped_toward;
    return;
  }
  if (at_port) {
    ++at_port->refused[w];
    return;
  }
  if (AttackRt* a = rogue_of(h.src_node)) {
    ++a->refused[w];
    return;
  }
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq)) {
    sb_.dropped(c->idx, seq, static_cast<uint8_t>(w));
    c->wake_rx();
    return;
  }
  if (nack_of_data(h) &&
      h.dst_ep < regs::kNumEndpoints && node_by_id_[h.dst_node] >= 0) {
    const int ci = nodes_[static_cast<size_t>(node_by_id_[h.dst_node])]->tx_chan[h.dst_ep];
    if (ci >= 0) {
      ChanRt& c = *chans_[static_cast<size_t>(ci)];
      if (h.src_node == scen_.nodes[c.r.node].id && h.src_part == c.r.part && static_cast<int>(h.src_ep) == c.rep &&
          c.seq_of_wire(h.seq, seq)) {
        nack_lost(c, h, p.id);
        return;
      }
    }
  }
  ++legit_control_drops_[fmt::format("{}_{}", regs::opcode_name(h.opcode % regs::kOpcodeCount), regs::reason_name(w))];
}

// A NACK of DATA of channel c that never reached (or was refused by) the
// sender's CMM: the losses it reports count as dropped with a reason (the
// receiver's CMM counted and logged them).
void System::nack_lost(ChanRt& c, const Header& h, uint64_t id, bool dedupe) {
  if (faults_ && dedupe) {
    // Lost only when no copy of it reached or can still reach the sender's CMM.
    NackCopies& nc = nack_copies_[id];
    --nc.out;
    const bool judged = nc.arrived, more = nc.out > 0;
    if (!more) nack_copies_.erase(id);
    if (judged || more) return;
  }
  uint32_t seq = 0;
  if (c.seq_of_wire(h.seq, seq)) {
    const uint8_t r = h.reason % regs::kReasonCount;
    sb_.nack(c.idx, seq, r, r == static_cast<uint8_t>(regs::Reason::kSeqGap) ? h.tag : 0u, true);
  }
  c.wake_rx();
}

void System::on_fault(tlmshell::FaultKind k, uint32_t, const tlmshell::Packet& before, const tlmshell::Packet*) {
  const Header* orig = corrupted_original(before);
  const Header& h = orig ? *orig : before.hdr;
  if (k == tlmshell::FaultKind::kDuplicate && nack_of_data(h))
    ++nack_copies_[before.id].out;
  if (k == tlmshell::FaultKind::kDrop) fault_loss(before, orig ? *orig : before.hdr);
  else if (k == tlmshell::FaultKind::kCorrupt && before.id) corrupted_.emplace(before.id, orig ? *orig : before.hdr);
}

void System::fault_loss(const tlmshell::Packet& p, const Header& h) {
  uint32_t seq = 0;
  if (ChanRt* c = data_of(h, seq)) {
    // Lost in the fabric: the CMMs must report it (a SEQ_GAP at the next
    // message), unless no later message ever reaches the receiver (a tail).
    if (c->fault_lost.insert(seq).second) ++c->fault_hit;
    c->wake_rx();
    return;
  }
  if (nack_of_data(h) &&
      h.dst_ep < regs::kNumEndpoints && node_by_id_[h.dst_node] >= 0) {
    const int ci = nodes_[static_cast<size_t>(node_by_id_[h.dst_node])]->tx_chan[h.dst_ep];
    if (ci >= 0) {
      ChanRt& c = *chans_[static_cast<size_t>(ci)];
      if (h.src_node == scen_.nodes[c.r.node].id && h.src_part == c.r.part && static_cast<int>(h.src_ep) == c.rep) {
        nack_lost(c, h, p.id);
        return;
      }
    }
  }
  ++legit_control_drops_[fmt::format("{}_FAULT", regs::opcode_name(h.opcode % regs::kOpcodeCount))];
}

// Messages of c an injected fault destroyed whose loss nobody reported yet.
uint32_t System::fault_pending(const ChanRt& c) {
  uint32_t n = 0;
  for (uint32_t seq : c.fault_lost) n += sb_.finished(c.idx, seq) ? 0 : 1;
  return n;
}

// How long a receiver whose only missing messages were destroyed by faults
// waits for the reports still on their way (a NACK delayed, reordered or
// stalled), before it takes them as a tail nobody can report.
uint64_t System::fault_settle_cycles() const {
  const auto& F = *opt_.faults;
  return uint64_t{F.delay_cycles} + F.stall_cycles + uint64_t{F.reorder_window} * 64 + 4ull * scen_.hol_lifetime_cycles +
         20'000;
}

// After the run: a destroyed message still unreported is a tail loss (the
// plain scheme cannot report it: no later message of its channel reached the
// receiver's CMM) when no later message did; otherwise it stays a silent loss.
void System::fault_tail_classify() {
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    for (uint32_t seq : c.fault_lost) {
      if (sb_.finished(c.idx, seq) || int64_t{seq} <= c.rx_high) continue;
      sb_.tail_lost(c.idx, seq);
      ++c.fault_tail;
    }
  }
}

nlohmann::json System::fault_stats() {
  nlohmann::json j = nlohmann::json::object();
  const auto tot = faults_->totals();
  nlohmann::json inj = nlohmann::json::object(), links = nlohmann::json::object();
  uint64_t stall_cycles = 0;
  auto name = [](size_t k) { return tlmshell::to_string(static_cast<tlmshell::FaultKind>(k)); };
  for (size_t k = 0; k < tlmshell::kFaultKinds; ++k) inj[name(k)] = tot[k];
  for (const auto& l : faults_->links()) {
    if (!l) continue;
    stall_cycles += l->stats().stall_cycles;
    nlohmann::json per = nlohmann::json::object();
    for (size_t k = 0; k < tlmshell::kFaultKinds; ++k)
      if (l->stats().injected[k]) per[name(k)] = l->stats().injected[k];
    if (!per.empty()) links[link_names_.at(l->index())] = per;
  }
  uint64_t hit = 0, tail = 0, unexplained = 0;
  for (const auto& c : chans_) {
    hit += c->fault_hit;
    tail += c->fault_tail;
    unexplained += sb_.unreported(c->idx);
  }
  j["injected"] = inj;
  j["links"] = links;
  j["stall_cycles"] = stall_cycles;
  j["data_hit"] = hit;
  j["lost_tail"] = tail;
  j["stale_nacks"] = stale_nacks_;
  j["unroutable_explained"] = fault_unroutable_;
  j["unexplained"] = unexplained;
  return j;
}

void System::attack_thread(AttackRt& a) {
  const AttackSpec& A = *a.spec;
  ChanRt& c = *chans_[A.channel];
  wait(period_ * static_cast<double>(A.start_cycle));
  while (!(c.recv_ready && c.send_ready) && !c.failed) wait(c.ready_ev);
  if (c.failed) {
    a.done = true;
    progress();
    return;
  }
  std::mt19937_64 rng(mix(opt_.seed, 0xBADull + A.channel + A.start_cycle));
  const bool on_sender = a.target.rfind("send", 0) == 0;
  std::array<uint8_t, 64> buf{};
  // Line rate: one header plus the 16-byte payload per link slot.
  const uint32_t line = std::max<uint32_t>(
      1, (tlmshell::kHeaderBytes + 16 + scen_.link_bytes_per_cycle - 1) / scen_.link_bytes_per_cycle);
  for (uint32_t i = 0; i < A.count; ++i) {
    if (i) wait(period_ * static_cast<double>(A.gap_cycles ? A.gap_cycles : line));
    ++a.attempts;
    Status st = Status::Ok();
    if (a.rogue) {
      if (A.kind == "key_predictor") predictor_attempt(a, i);
      else rogue_attempt(a, i, rng);
      continue;  // verdicts are counted where they happen (fabric, shell, CMM, agent)
    }
    if (a.kernel) {
      // Raw CST accesses of a kernel on the other partition's entry: take
      // ownership, redirect the channel, read its state. (Commands on it are
      // refused too, but their reason sits in CMD_STATUS, which this
      // partition's own agent may overwrite concurrently: core tests cover them.)
      const uint32_t ep = static_cast<uint32_t>(on_sender ? c.sep : c.rep);
      const uint32_t cst = regs::CMM_CST_BASE + ep * regs::CMM_CST_STRIDE;
      sw::BusStatus b = sw::BusStatus::kOk;
      uint32_t v = 0;
      switch (i % 3) {
        case 0: b = a.ctx->write32(cst + regs::CMM_CST_OWNER_OFFSET, 0xFFFFu); break;
        case 1:
          b = a.ctx->write32(cst + regs::CMM_CST_REMOTE_OFFSET, CMM_FIELD_SET(0u, CMM_CST_REMOTE_NODE, A.rogue_node_id));
          break;
        default: b = a.ctx->read32(cst + regs::CMM_CST_CTRL_OFFSET, v); break;
      }
      if (b != sw::BusStatus::kReject) st = sw::from_bus(b);
    } else {
      sw::Endpoint ep(*a.ctx, static_cast<uint8_t>(on_sender ? c.sep : c.rep));
      if (on_sender) {
        st = ep.send(buf.data(), buf.size(), static_cast<uint16_t>(c.spec->messages + i));
      } else {
        sw::RxInfo info;
        st = ep.receive(buf.data(), buf.size(), info);
      }
    }
    if (st.ok()) {
      ++a.succeeded;
      error(fmt::format("attack {} by {} on the {} succeeded (attempt {})", A.kind, A.attacker, a.target, i));
    } else {
      ++a.refused[static_cast<uint32_t>(st.reason) % regs::kReasonCount];
    }
  }
  if (a.rogue && a.rogue->withhold) {
    // Every request elicited one NACK; the fabric delivers as many as the
    // rogue granted credits for and must drop the rest (HOL_TIMEOUT). Wait
    // for that (bounded: one lifetime per stuck packet, plus slack).
    const uint64_t limit = cycle() + uint64_t{scen_.hol_lifetime_cycles + 64} * (A.count + 2) + 10'000;
    while (a.rogue->received + port_drops(a.port).hol_timeout < a.attempts && cycle() < limit)
      wait(period_ * 256.0);
  }
  a.done = true;
  progress();
}

// One packet of a rogue node. It knows every id of the channel (they are not
// secret); generations and keys it can only guess.
void System::rogue_attempt(AttackRt& a, uint32_t i, std::mt19937_64& rng) {
  const AttackSpec& A = *a.spec;
  const ChanRt& c = *chans_[A.channel];
  const NodeSpec& rn = scen_.nodes[c.r.node];
  const NodeSpec& sn = scen_.nodes[c.s.node];
  using regs::Opcode;
  // rogue_all_kinds: kind k = i % 10, rounds alternate own id and spoofed ids.
  const uint32_t k = A.kind == "rogue_all_kinds" ? i % 10 : 0;
  const bool spoofed = A.kind == "rogue_node_spoofed" || (A.kind == "rogue_all_kinds" && (i / 10) % 2 == 1);
  const bool to_sender = k == 1 || k == 3;  // CONNECT and NACK go to the send entry
  tlmshell::Packet p;
  Header& h = p.hdr;
  h.src_node = spoofed ? (to_sender ? rn.id : sn.id) : A.rogue_node_id;
  h.src_part = static_cast<uint8_t>(to_sender ? c.r.part : c.s.part);
  h.src_ep = static_cast<uint8_t>(to_sender ? c.rep : c.sep);
  h.dst_node = to_sender ? sn.id : rn.id;
  h.dst_part = static_cast<uint8_t>(to_sender ? c.s.part : c.r.part);
  h.dst_ep = static_cast<uint8_t>(to_sender ? c.sep : c.rep);
  h.src_gen = static_cast<uint8_t>(rng());
  h.dst_gen = static_cast<uint8_t>(rng());
  h.seq = static_cast<uint16_t>(rng());
  h.tag = static_cast<uint16_t>(c.spec->messages + i);  // never a tag of the sender's
  for (auto& w : h.key) w = static_cast<uint32_t>(rng());
  auto data = [&](uint32_t len, uint32_t carried) {
    h.opcode = static_cast<uint8_t>(Opcode::kData);
    h.len = static_cast<uint16_t>(len);
    p.payload_len = static_cast<uint16_t>(carried);
    for (uint32_t b = 0; b < std::min<uint32_t>(carried, tlmshell::Packet::kCapacity); ++b)
      p.payload[b] = static_cast<uint8_t>(rng());
  };
  bool bad_crc = false;
  switch (k) {
    case 0: data(16, 16); break;
    case 1: h.opcode = static_cast<uint8_t>(Opcode::kConnect); break;
    case 2:
      h.opcode = static_cast<uint8_t>(Opcode::kConnectAck);
      p.cls = 1;
      break;
    case 3:
      h.opcode = static_cast<uint8_t>(Opcode::kNack);
      h.aux = static_cast<uint8_t>(Opcode::kData);
      h.reason = static_cast<uint8_t>(regs::Reason::kRxqFull);
      h.tag = 0;
      p.cls = 1;
      break;
    case 4: h.opcode = static_cast<uint8_t>(Opcode::kClose); break;
    case 5: {
      // A forged CHAN_CANCEL of the channel's request, or a CHAN_REQ.
      h.opcode = static_cast<uint8_t>(Opcode::kMgmt);
      h.dst_ep = 0;
      const sw::chan_proto::Msg m =
          (i / 20) % 2 == 0 ? sw::chan_proto::chan_cancel(c.req_id, regs::Reason::kOk, pid_of(c.s))
                            : sw::chan_proto::chan_req(static_cast<uint16_t>(rng()), 0, pid_of(c.r), pid_of(c.s));
      h.key = sw::chan_proto::encode(m);
      break;
    }
    case 6: h.opcode = 7; break;  // no such opcode
    case 7: data(0xFFFF, 0xFFFF); break;  // oversized: claims 64 KiB
    case 8: data(16, 48); break;          // header len and carried length disagree
    default:
      data(16, 16);
      bad_crc = true;  // own id: reaches the receiving shell, which drops it
      break;
  }
  a.rogue->send(p, bad_crc);
}

// The old driver's keys (git show 18a4992:sw/src/kernel_agent.cpp): each
// partition's std::mt19937_64, seeded from the run seed (the testbench mixed
// in node id and partition), two draws per 128-bit key, one key per CONNECT.
// The predictor tries key n of both seedings for the channel's receiving
// partition (whose agent made the key), checks each against the CMMs' key
// comparator (C++ cores) and sends it as the sender would.
void System::predictor_attempt(AttackRt& a, uint32_t i) {
  const AttackSpec& A = *a.spec;
  const ChanRt& c = *chans_[A.channel];
  const NodeSpec& rn = scen_.nodes[c.r.node];
  const NodeSpec& sn = scen_.nodes[c.s.node];
  const uint64_t seed = i % 2 == 0 ? opt_.seed : mix(opt_.seed, (uint64_t{rn.id} << 8) | c.r.part);
  std::mt19937_64 gen(seed);
  gen.discard(2ull * (i / 2));
  Key k{};
  for (uint32_t w = 0; w < regs::kKeyWords; w += 2) {
    const uint64_t r = gen();
    k[w] = static_cast<uint32_t>(r);
    if (w + 1 < regs::kKeyWords) k[w + 1] = static_cast<uint32_t>(r >> 32);
  }
  const CmmTlm& rm = *nodes_[c.r.node]->cmm;
  const CmmTlm& sm = *nodes_[c.s.node]->cmm;
  if (rm.has_cpp_core() && sm.has_cpp_core()) {
    ++a.predictions;
    if (rm.core().key_equals_for_test(static_cast<uint32_t>(c.rep), k) ||
        sm.core().key_equals_for_test(static_cast<uint32_t>(c.sep), k)) {
      ++a.prediction_hits;
      error(fmt::format("attack key_predictor: prediction {} (seed {:#x}, key {}) is the key of {}", i, seed, i / 2,
                        c.label));
    }
  }
  tlmshell::Packet p;
  Header& h = p.hdr;
  h.opcode = static_cast<uint8_t>(regs::Opcode::kData);
  h.src_node = sn.id;  // as the sender: its own id would fail SRC_NODE_MISMATCH before any key check
  h.src_part = static_cast<uint8_t>(c.s.part);
  h.src_ep = static_cast<uint8_t>(c.sep);
  h.dst_node = rn.id;
  h.dst_part = static_cast<uint8_t>(c.r.part);
  h.dst_ep = static_cast<uint8_t>(c.rep);
  h.tag = static_cast<uint16_t>(c.spec->messages + i);
  h.len = 16;
  h.key = k;
  p.payload_len = 16;
  a.rogue->send(p);
}

// The drop hooks saw every drop the fabric and the shells counted; a node's
// own port never drops a spoofed or malformed packet of its CMM.
void System::check_drops() {
  const tlmshell::DropCount total = xbar_ ? xbar_->stats().drops : noc_->stats().drops;
  if (fabric_drops_seen_ != total.total())
    errors_.push_back(fmt::format("fabric: {} drops counted, {} reported packet by packet", total.total(),
                                  fabric_drops_seen_));
  for (const auto& node : nodes_) {
    tlmshell::DropCount d = port_drops(static_cast<uint32_t>(node->idx));
    if (auto it = fault_port_drops_.find(static_cast<uint32_t>(node->idx)); it != fault_port_drops_.end()) {
      d.src_spoofed -= std::min(d.src_spoofed, it->second.src_spoofed);  // corrupted by an injected fault
      d.bad_len -= std::min(d.bad_len, it->second.bad_len);
    }
    if (d.src_spoofed || d.bad_len)
      errors_.push_back(fmt::format("fabric: the port of node {} dropped {} SRC_SPOOFED and {} BAD_LEN packets of its "
                                    "CMM", node->spec->name, d.src_spoofed, d.bad_len));
    if (node->shell_drops_seen != node->cmm->stats().drops.total())
      errors_.push_back(fmt::format("node {}: the shell counted {} drops, reported {} packet by packet",
                                    node->spec->name, node->cmm->stats().drops.total(), node->shell_drops_seen));
  }
}

bool System::attacks_done() const {
  for (const auto& a : attacks_)
    if (!a->done) return false;
  return true;
}

void System::trace_stage(ChanRt& c, uint32_t seq, size_t node, const std::string& track, uint64_t cyc,
                         const char* stage) {
  if (!perfetto_ || seq >= c.times.size() || !c.times[seq].traced) return;
  perfetto_->stage(msg_id(c, seq), perfetto_->track(static_cast<uint32_t>(node), track), ps(cyc), stage);
}

void System::trace_end(ChanRt& c, uint32_t seq, uint64_t cyc, const char* how) {
  if (!perfetto_ || seq >= c.times.size() || !c.times[seq].traced) return;
  c.times[seq].traced = false;
  perfetto_->end_message(msg_id(c, seq), ps(cyc), {{"end", how}});
}

bool System::traffic_done() const {
  for (const auto& c : chans_)
    if (!c->failed && !(c->sender_done && c->receiver_done)) return false;
  return true;
}

bool System::all_closed() const {
  for (const auto& c : chans_)
    if (!c->failed && c->rep >= 0 && !(c->closed_recv && c->closed_send)) return false;
  return true;
}

void System::control_thread() {
  auto all_open = [&] {
    for (const auto& c : chans_)
      if (!c->failed && !(c->recv_ready && c->send_ready)) return false;
    return true;
  };
  while (!all_open()) wait(progress_ev_);
  storm_done_cycle_ = cycle();
  if (traffic_) {
    t0_ = cycle();
    measure_start_ = t0_ + scen_.warmup_cycles;
    measure_end_ = measure_start_ + scen_.measure_cycles;
    drain_deadline_ = measure_end_ + scen_.drain_cycles;
    drain_ev_.notify(period_ * static_cast<double>(drain_deadline_ - cycle()));
    traffic_started_ = true;
    traffic_start_ev_.notify(SC_ZERO_TIME);
  }
  while (!traffic_done() || !attacks_done()) {
    if (cycle() >= drain_deadline_) {
      error(fmt::format("drain: in-flight messages did not finish within drain_cycles={} after the measurement "
                        "ended; stuck: {}", scen_.drain_cycles, stuck_report()));
      drain_failed_ = true;
      sc_stop();
      return;
    }
    // One timed event for the deadline, not a fresh timeout per wake-up: a
    // cancelled timeout stays in the kernel's queue until its time.
    if (drain_deadline_ != UINT64_MAX) wait(progress_ev_ | drain_ev_);
    else wait(progress_ev_);
  }
  traffic_done_cycle_ = cycle();
  closing_ = true;
  for (auto& n : nodes_)
    for (auto& p : n->parts) p->wake.notify(SC_ZERO_TIME);
  while (!all_closed()) wait(progress_ev_);
  end_cycle_ = cycle();
  read_counters();
  finished_ = true;
  for (auto& n : nodes_)
    for (auto& p : n->parts) p->wake.notify(SC_ZERO_TIME);
  wait(SC_ZERO_TIME);
  sc_stop();
}

void System::monitor_thread() {
  using clock = std::chrono::steady_clock;
  auto last_print = clock::now();
  for (;;) {
    wait(period_ * static_cast<double>(kMonitorCycles));
    if (opt_.interrupt && *opt_.interrupt) {
      interrupted_ = true;
      error("interrupted by the user: statistics cover the run so far");
      sc_stop();
      return;
    }
    if (!opt_.progress) continue;
    const auto now = clock::now();
    if (now - last_print < std::chrono::seconds(1)) continue;
    last_print = now;
    uint64_t done = 0;
    for (const auto& c : chans_) done += c->received + c->nacked + c->refused;
    const double wall = std::chrono::duration<double>(now - wall0_).count();
    const double frac = expected_messages_ ? static_cast<double>(done) / static_cast<double>(expected_messages_) : 0.0;
    const double eta = frac > 0 ? wall * (1.0 - frac) / frac : 0.0;
    std::fprintf(stderr, "cmmsim: %.3f us simulated (%llu cycles), %llu of %llu messages (%.1f%%), %.2f M cycles/s, ETA %.0f s\n",
                 sc_time_stamp().to_seconds() * 1e6,
                 static_cast<unsigned long long>(cycle()), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(expected_messages_), 100.0 * frac,
                 static_cast<double>(cycle()) / wall / 1e6, eta);
  }
}

// Time series: cumulative counts at every interval (rates are differences).
void System::sampler_thread() {
  for (;;) {
    wait(period_ * static_cast<double>(scen_.stats_interval_cycles));
    uint64_t sent = 0, delivered = 0, nacked = 0, read = 0;
    for (const auto& c : chans_) {
      sent += c->sent;
      nacked += c->nacked;
      read += c->received;
      delivered += c->deliver_cycles.size() + c->received;
    }
    nlohmann::json row = {{"cycle", cycle()},        {"sent", sent},           {"delivered", delivered},
                          {"read", read},            {"nacked", nacked},       {"in_flight", sent - delivered - nacked},
                          {"rx_queued", delivered - read}};
    if (noc_) row["fabric_flits"] = noc_->stats().flits_injected;
    uint64_t in_use = 0;  // table occupancy: entries of open channels, all nodes
    for (const auto& c : chans_)
      in_use += (c->rep >= 0 && !c->closed_recv ? 1 : 0) + (c->sep >= 0 && !c->closed_send ? 1 : 0);
    row["endpoints_in_use"] = in_use;
    timeseries_.push_back(row);
  }
}

void System::read_counters() {
  for (auto& node : nodes_) {
    CpuBusIf& k = *node->parts[0]->stat_ctx;
    bool ok = true;
    for (uint32_t r = 0; r < regs::kReasonCount; ++r)
      ok &= k.read32(regs::CMM_REJECT_COUNT_OFFSET + r * regs::CMM_REJECT_COUNT_STRIDE, node->reject_regs[r]) ==
            sw::BusStatus::kOk;
    for (uint32_t i = 0; i < regs::CMM_STAT_COUNT; ++i)
      ok &= k.read32(regs::CMM_STAT_OFFSET + i * regs::CMM_STAT_STRIDE, node->stat_regs[i]) == sw::BusStatus::kOk;
    for (auto& p : node->parts) {
      uint32_t v = 0;
      ok &= p->stat_ctx->read32(regs::CMM_PART_INFO_OFFSET, v) == sw::BusStatus::kOk;
      p->used_at_end = CMM_FIELD_GET(v, CMM_PART_INFO_USED);
      // Exception register and reject-rate alarm (docs/security.md 1.6).
      ok &= p->stat_ctx->read32(regs::CMM_EXC_COUNT_OFFSET, v) == sw::BusStatus::kOk;
      p->exc_count_reg = CMM_FIELD_GET(v, CMM_EXC_COUNT_COUNT);
      ok &= p->stat_ctx->read32(regs::CMM_ALARM_COUNT_OFFSET, v) == sw::BusStatus::kOk;
      p->alarm_count_reg = CMM_FIELD_GET(v, CMM_ALARM_COUNT_COUNT);
    }
    if (!ok) error("node " + node->spec->name + ": reading the counters at the end of the run failed");
    node->regs_read = ok;
  }
}

std::string System::stuck_report() const {
  std::string o;
  size_t listed = 0, more = 0;
  for (const auto& c : chans_) {
    if (c->failed || (c->closed_recv && c->closed_send)) continue;
    const bool done = c->recv_ready && c->send_ready && c->sender_done && c->receiver_done;
    if (done && !closing_) continue;
    if (++listed > 16) {
      ++more;
      continue;
    }
    o += fmt::format("{}: {}{}{} rep {} sep {} sent {}/{} received {} nacked {}{}{}; ", c->label,
                     c->recv_ready ? "recv-open " : "recv-not-open ", c->send_ready ? "send-open " : "send-not-open ",
                     c->sender_done ? "sender-done" : "sender-busy", c->rep, c->sep, c->sent, c->spec->messages,
                     c->received, c->nacked, c->closed_recv ? " recv-closed" : "", c->closed_send ? " send-closed" : "");
  }
  if (more) o += fmt::format("and {} more channels", more);
  return o;
}

// Latency and its parts, of messages created in the measurement window
// (generated traffic; static channels: all): creation -> egress (source:
// payload burst, doorbell, egress queue), egress -> ingress accept
// (fabric), ingress accept -> receive queue (CMM pipeline); and the wait
// in the receive queue until the process reads it. Offered and accepted
// load of the window.
void System::account(const ChanRt& c, const ChanRt::Times& t) {
  if (traffic_ && !traffic_started_) return;  // before the window: not measured
  const uint64_t w0 = traffic_ ? measure_start_ : 0, w1 = traffic_ ? measure_end_ : UINT64_MAX;
  if (node_off_.size() < nodes_.size()) {
    node_off_.resize(nodes_.size(), 0);
    node_acc_.resize(nodes_.size(), 0);
  }
  if (t.created >= w0 && t.created < w1 && (t.created || t.bytes)) {
    ++created_msgs_;
    created_bytes_ += t.bytes;
    node_off_[c.s.node] += t.bytes;
    if (t.delivered) done_.latency_cycles.push_back(t.delivered - t.created);
    if (t.delivered && t.egress && t.ingress) {
      done_.part_source.push_back(t.egress - t.created);
      done_.part_fabric.push_back(t.ingress - t.egress);
      done_.part_pipeline.push_back(t.delivered - t.ingress);
      if (t.read >= t.delivered && t.read) done_.part_rx_wait.push_back(t.read - t.delivered);
    }
  }
  if (t.delivered && t.delivered >= w0 && t.delivered < w1) {
    ++accepted_msgs_;
    accepted_bytes_ += t.bytes;
    node_acc_[c.r.node] += t.bytes;
  }
}

RunResult System::collect(double wall_seconds) {
  RunResult r;
  if (perfetto_) {
    perfetto_->close();
    r.traces["perfetto"] = {{"path", opt_.perfetto_path}, {"bytes", perfetto_->bytes()},
                            {"events", perfetto_->events()}, {"truncated", perfetto_->truncated()}};
  }
  if (vcd_) {
    vcd_->close();
    r.traces["vcd"] = {{"path", opt_.vcd_path}, {"bytes", vcd_->bytes()}, {"truncated", vcd_->truncated()},
                       {"keys", opt_.vcd_keys}};
  }
  r.scenario = scen_.name;
  r.seed = opt_.seed;
  r.clock_ghz = scen_.clock_ghz;
  r.channels_requested = static_cast<uint32_t>(chans_.size());
  r.simulated_cycles = finished_ ? end_cycle_ : cycle();
  r.wall_seconds = wall_seconds;
  r.connect_storm_cycles = storm_done_cycle_;
  r.interrupted = interrupted_;
  r.timeseries = timeseries_;
  if (!finished_ && !interrupted_ && !drain_failed_) {
    errors_.push_back(fmt::format("watchdog: not finished after {} cycles; stuck: {}", cycle(), stuck_report()));
  }
  if (faults_) fault_tail_classify();
  for (const auto& ch : chans_) {
    const ChanRt& c = *ch;
    if (c.recv_ready && c.send_ready) ++r.channels_opened;
    r.messages_sent += c.sent;
    r.messages_delivered += c.received;
    r.messages_refused_at_source += c.refused;
    r.nacks_reported += c.nacked;
    const auto& cs = sb_.channels().at(c.idx);
    ChannelRow row;
    row.label = c.label;
    row.receiver = fmt::format("node {} partition {} ep {}", scen_.nodes[c.r.node].name,
                               scen_.nodes[c.r.node].partitions[c.r.part].name, c.rep);
    row.sender = fmt::format("node {} partition {} ep {}", scen_.nodes[c.s.node].name,
                             scen_.nodes[c.s.node].partitions[c.s.part].name, c.sep);
    row.opened = c.recv_ready && c.send_ready;
    row.closed = c.closed_recv && c.closed_send;
    row.open_cycle = c.open_cycle;
    row.setup_cycles = c.open_cycle >= c.request_cycle ? c.open_cycle - c.request_cycle : 0;
    row.expected = cs.expected;
    row.sent = cs.sent;
    row.delivered = cs.delivered;
    row.refused = cs.refused_at_source;
    row.nacked = cs.nacked;
    r.channels.push_back(row);
    r.per_channel.push_back({{"channel", c.label},
                             {"receiver", row.receiver},
                             {"sender", row.sender},
                             {"opened", row.opened},
                             {"closed", row.closed},
                             {"open_cycle", c.open_cycle},
                             {"setup_cycles", row.setup_cycles},
                             {"expected", cs.expected},
                             {"sent", cs.sent},
                             {"delivered", cs.delivered},
                             {"refused_at_source", cs.refused_at_source},
                             {"nacked", cs.nacked},
                             {"nacked_lost", cs.nacked_lost},
                             {"nacks_seq_gap", cs.nacks_seq_gap},
                             {"gap_lost", cs.gap_lost},
                             {"nacks_seq_old", cs.nacks_seq_old},
                             {"fabric_dropped", cs.fabric_dropped},
                             {"reported_lost", cs.reported_lost()}});
    if (cs.gap_renacked) r.per_channel.back()["gap_renacked"] = cs.gap_renacked;
    if (faults_) r.per_channel.back()["fault_tail_lost"] = cs.tail_lost;
  }
  for (const auto& node : nodes_) {
    const CmmTlm& m = *node->cmm;
    // Counters as software sees them (registers) when the run finished;
    // after a watchdog stop, the C++ core's own view (RTL: none).
    std::array<uint32_t, regs::kReasonCount> rejects{};
    std::array<uint32_t, regs::CMM_STAT_COUNT> stats{};
    if (node->regs_read) {
      rejects = node->reject_regs;
      stats = node->stat_regs;
    } else if (m.has_cpp_core()) {
      for (uint32_t i = 0; i < regs::kReasonCount; ++i) rejects[i] = m.core().reject_count(static_cast<regs::Reason>(i));
      for (uint32_t i = 0; i < regs::CMM_STAT_COUNT; ++i) stats[i] = m.core().stat(i);
    }
    nlohmann::json rej = nlohmann::json::object();
    for (uint32_t i = 1; i < regs::kReasonCount; ++i) {
      if (!rejects[i]) continue;
      rej[std::string(regs::reason_name(i))] = rejects[i];
      r.rejects_by_reason[std::string(regs::reason_name(i))] += rejects[i];
    }
    nlohmann::json parts = nlohmann::json::array();
    uint32_t used = 0;
    for (const auto& p : node->parts) {
      const sw::AgentStats& as = p->agent->stats();
      nlohmann::json agent_refused = nlohmann::json::object();
      for (size_t i = 1; i < as.refused.size(); ++i)
        if (as.refused[i]) agent_refused[std::string(sw::to_string(static_cast<sw::AgentReason>(i)))] = as.refused[i];
      parts.push_back({{"partition", node->spec->partitions[p->idx].name},
                       {"errors_logged", p->errors_logged},
                       {"error_events", p->error_events},
                       {"exceptions", p->exceptions},
                       {"errors_lost", p->errors_lost},
                       {"exc_count", p->exc_count_reg},
                       {"alarms", p->alarms},
                       {"alarm_count", p->alarm_count_reg},
                       {"mgmt_ignored", p->mgmt_ignored},
                       {"connect_resends", as.connect_resends},
                       {"agent_refused", agent_refused},
                       {"endpoints_used_at_end", p->used_at_end},
                       {"error_log", p->error_lines}});
      r.agent_errors_logged += p->errors_logged;
      used += p->used_at_end;
    }
    for (uint32_t e = 0; e < regs::kNumEndpoints; ++e)
      for (const auto& [when, h] : node->early[e])
        sb_.unauthorized(fmt::format("node {} endpoint {} at cycle {}: {} (no channel of the scenario)",
                                     node->spec->name, e, when, h.str()));
    if (finished_ && used)
      errors_.push_back(fmt::format("node {}: {} endpoints still allocated after all channels closed",
                                    node->spec->name, used));
    // C++ core: also check the zeroization directly (a comparator view, no key bits).
    if (finished_ && m.has_cpp_core()) {
      uint32_t keys_left = 0;
      for (uint32_t e = 0; e < regs::kNumEndpoints; ++e) keys_left += m.core().key_valid(e) ? 1 : 0;
      if (keys_left)
        errors_.push_back(fmt::format("node {}: {} keys still valid after all channels closed", node->spec->name,
                                      keys_left));
    }
    const auto& st = m.stats();
    r.per_node.push_back({{"node", node->spec->name},
                          {"id", node->spec->id},
                          {"core", m.core_kind()},
                          {"data_sent", st.data_sent},
                          {"data_delivered", st.data_delivered},
                          {"data_discarded", st.data_discarded},
                          {"reg_requests", st.reg_requests},
                          {"reg_shell_errors", st.reg_shell_errors},
                          {"steps", st.steps},
                          {"skipped_cycles", st.skipped_cycles},
                          {"link_errors", st.link_errors},
                          {"ing_headers", st.ing_headers},
                          {"reg_stall_cycles", st.reg_stall_cycles},
                          {"ing_stall_cycles", st.ing_stall_cycles},
                          {"eg_credit_stall_cycles", st.eg_credit_stall_cycles},
                          {"connect_sent", stats[CmmCore::kStatConnectSent]},
                          {"connect_accepted", stats[CmmCore::kStatConnectAccepted]},
                          {"close_sent", stats[CmmCore::kStatCloseSent]},
                          {"mgmt_sent", stats[CmmCore::kStatMgmtSent]},
                          {"nack_sent", stats[CmmCore::kStatNackSent]},
                          {"rejects", rej},
                          {"shell_drops", drops_json(st.drops)},
                          {"port_drops", drops_json(port_drops(static_cast<uint32_t>(node->idx)))},
                          {"tx_scrubs", st.tx_scrubs},
                          {"endpoints_used_at_end", used},
                          {"partitions", parts}});
    if (st.link_errors) errors_.push_back(fmt::format("node {}: {} link errors", node->spec->name, st.link_errors));
  }
  for (const auto& ip : idle_ports_)
    if (ip->received) errors_.push_back(fmt::format("fabric: {} packets reached a port no node uses", ip->received));
  if (xbar_) {
    const auto& xs = xbar_->stats();
    if (xs.link_errors || xs.unroutable > fault_unroutable_)
      errors_.push_back(fmt::format("fabric: {} link errors, {} unroutable packets", xs.link_errors,
                                    xs.unroutable - fault_unroutable_));
    r.fabric = {{"topology", "crossbar"},
                {"forwarded_requests", xs.forwarded[0]},
                {"forwarded_responses", xs.forwarded[1]},
                {"unroutable", xs.unroutable},
                {"hol_lifetime_cycles", xbar_->config().hol_lifetime_cycles},
                {"drops", drops_json(xs.drops)},
                {"control_drops", legit_control_drops_}};
  } else {
    const auto& ns = noc_->stats();
    const auto& nc = noc_->config();
    if (ns.link_errors || ns.unroutable > fault_unroutable_)
      errors_.push_back(fmt::format("fabric: {} link errors, {} unroutable packets", ns.link_errors,
                                    ns.unroutable - fault_unroutable_));
    // Router-to-router links only (port 0 is the ejection port to the node).
    uint64_t link_flits = 0, max_link = 0;
    uint32_t links = 0;
    for (uint32_t rt = 0; rt < noc_->num_routers(); ++rt)
      for (uint32_t p = 1; p < noc_->ports_per_router(); ++p) {
        if (noc_->neighbor(rt, p) < 0) continue;
        const uint64_t f = ns.link_flits[rt * noc_->ports_per_router() + p];
        link_flits += f;
        max_link = std::max(max_link, f);
        ++links;
      }
    const double cyc = static_cast<double>(std::max<uint64_t>(1, r.simulated_cycles));
    double occ_sum = 0;
    uint32_t occ_max = 0;
    for (uint32_t rt = 0; rt < noc_->num_routers(); ++rt) {
      occ_sum += static_cast<double>(ns.buf_occupancy_sum[rt]);
      occ_max = std::max(occ_max, ns.buf_occupancy_max[rt]);
    }
    r.fabric = {{"topology", to_string(nc.topology)},
                {"x", nc.x},
                {"y", nc.y},
                {"injected_requests", ns.injected[0]},
                {"injected_responses", ns.injected[1]},
                {"flits_injected", ns.flits_injected},
                {"link_flits", link_flits},
                {"max_packet_latency_cycles", std::max(ns.latency_max[0], ns.latency_max[1])},
                {"router_steps", ns.steps},
                {"link_utilisation_mean", links ? static_cast<double>(link_flits) / links / cyc : 0.0},
                {"link_utilisation_max", static_cast<double>(max_link) / cyc},
                {"buffer_flits_mean_per_router", occ_sum / noc_->num_routers() / cyc},
                {"buffer_flits_max", occ_max},
                {"unroutable", ns.unroutable},
                {"hol_lifetime_cycles", nc.hol_lifetime_cycles},
                {"flits_dropped", ns.flits_dropped},
                {"drops", drops_json(ns.drops)},
                {"control_drops", legit_control_drops_}};
  }
  check_drops();
  if (faults_) r.fabric["faults"] = fault_stats();
  {
    tlmshell::DropCount all = xbar_ ? xbar_->stats().drops : noc_->stats().drops;
    for (const auto& node : nodes_) {
      const tlmshell::DropCount& d = node->cmm->stats().drops;
      all.bad_crc += d.bad_crc;
      all.bad_len += d.bad_len;
      all.src_spoofed += d.src_spoofed;
      all.hol_timeout += d.hol_timeout;
    }
    const nlohmann::json dj = drops_json(all);
    for (auto it = dj.begin(); it != dj.end(); ++it) r.drops_by_reason[it.key()] = it.value().get<uint64_t>();
  }
  for (const auto& ap : attacks_) {
    const AttackRt& a = *ap;
    const ChanRt& c = *chans_[a.spec->channel];
    AttackRow row;
    row.kind = a.spec->kind;
    row.attacker = a.rogue ? fmt::format("rogue node {}", a.spec->rogue_node_id) : a.spec->attacker;
    row.target = a.target;
    row.expected_reason = a.expect == regs::Reason::kOk ? "one per packet kind" : std::string(regs::to_string(a.expect));
    row.attempts = a.attempts;
    row.succeeded = a.succeeded;
    uint64_t accounted = 0;
    for (uint32_t i = 1; i < regs::kReasonCount; ++i) {
      if (!a.refused[i]) continue;
      row.refused[std::string(regs::reason_name(i))] = a.refused[i];
      accounted += a.refused[i];
    }
    for (size_t i = 1; i < a.agent_refused.size(); ++i)
      if (a.agent_refused[i]) {
        row.refused["AGENT_" + std::string(sw::to_string(static_cast<sw::AgentReason>(i)))] = a.agent_refused[i];
        accounted += a.agent_refused[i];
      }
    if (a.agent_refused[0]) {
      row.refused["AGENT_REFUSED"] = a.agent_refused[0];
      accounted += a.agent_refused[0];
    }
    if (a.mgmt_other) {
      row.refused["AGENT_NOT_CHANNEL_PROTOCOL"] = a.mgmt_other;
      accounted += a.mgmt_other;
    }
    row.refused_as_expected = static_cast<uint32_t>(
        a.expect == regs::Reason::kOk ? accounted : a.refused[static_cast<uint32_t>(a.expect)]);
    row.unauthorized = a.unauthorized + a.succeeded;
    row.silent_losses = finished_ ? sb_.unreported(a.spec->channel) : 0;
    // Every packet of a rogue node must be refused somewhere, with a reason.
    // Core verdicts per packet come from the C++ core's observer: with an RTL
    // core at either end they are not attributed (the CMM counters still are).
    const bool cpp_ends = nodes_[c.r.node]->cmm->has_cpp_core() && nodes_[c.s.node]->cmm->has_cpp_core();
    if (a.rogue && cpp_ends && finished_ && accounted < a.attempts) {
      row.silent_losses += a.attempts - accounted;
      errors_.push_back(fmt::format("attack {} by {}: {} of {} packets refused by no counter (silent loss)", row.kind,
                                    row.attacker, a.attempts - accounted, a.attempts));
    }
    if (a.rogue && !cpp_ends) row.note = "core verdicts per attack need C++ cores at both ends";
    if (row.unauthorized)
      errors_.push_back(fmt::format("attack {} by {}: {} unauthorized deliveries", row.kind, row.attacker,
                                    row.unauthorized));
    if (a.rogue) {
      row.observed["responses_received"] = a.rogue->received;
      row.observed["dropped_toward"] = a.dropped_toward;
    }
    if (a.spec->kind == "flooder" || a.spec->kind == "rogue_all_kinds") {
      // What the owner of the attacked receive entry saw (all attacks on it).
      const Part& op = *nodes_[c.r.node]->parts[c.r.part];
      row.observed["owner_alarms"] = op.alarms;
      row.observed["owner_alarm_count"] = op.alarm_count_reg;
      row.observed["owner_errlog_entries"] = op.errors_logged;
      row.observed["owner_error_events"] = op.error_events;
      row.observed["channel_delivered"] = c.received;
    }
    if (a.spec->kind == "credit_withholder") row.observed["channel_delivered"] = c.received;
    if (a.spec->kind == "key_predictor") {
      row.observed["predictions"] = a.predictions;
      row.observed["prediction_hits"] = a.prediction_hits;
    }
    if (finished_ && a.attempts != a.spec->count)
      errors_.push_back(fmt::format("attack {}: {} of {} attempts made", row.kind, a.attempts, a.spec->count));
    r.attacks.push_back(row);
  }
  // Latency and its parts, of messages created in the measurement window
  // (generated traffic; static channels: all): creation -> egress (source:
  // payload burst, doorbell, egress queue), egress -> ingress accept
  // (fabric), ingress accept -> receive queue (CMM pipeline); and the wait
  // in the receive queue until the process reads it.
  for (const auto& ch : chans_) ch->times.flush();  // the unfinished ones too
  r.latency_cycles = done_.latency_cycles;
  r.part_source = done_.part_source;
  r.part_fabric = done_.part_fabric;
  r.part_pipeline = done_.part_pipeline;
  r.part_rx_wait = done_.part_rx_wait;
  const uint64_t created_msgs = created_msgs_, created_bytes = created_bytes_, accepted_msgs = accepted_msgs_,
                 accepted_bytes = accepted_bytes_;
  if (traffic_) {
    // Per node: bytes its processes created (offered) and received (accepted) in the window.
    std::vector<uint64_t> node_off = node_off_, node_acc = node_acc_, node_terms(nodes_.size(), 0);
    node_off.resize(nodes_.size(), 0);
    node_acc.resize(nodes_.size(), 0);
    for (const auto& l : terms_) ++node_terms[l.node];
    for (size_t n = 0; n < nodes_.size(); ++n) {
      const double d = static_cast<double>(scen_.measure_cycles);
      r.per_node[n]["offered_bytes_per_cycle"] = static_cast<double>(node_off[n]) / d;
      r.per_node[n]["accepted_bytes_per_cycle"] = static_cast<double>(node_acc[n]) / d;
      r.per_node[n]["terminals"] = node_terms[n];
    }
    const double denom = static_cast<double>(scen_.measure_cycles) * static_cast<double>(terms_.size());
    r.load = {{"terminals", terms_.size()},
              {"warmup_cycles", scen_.warmup_cycles},
              {"measure_cycles", scen_.measure_cycles},
              {"traffic_start_cycle", t0_},
              {"configured_rate_msgs", traffic_->rate()},
              {"offered_msgs", static_cast<double>(created_msgs) / denom},
              {"offered_bytes", static_cast<double>(created_bytes) / denom},
              {"accepted_msgs", static_cast<double>(accepted_msgs) / denom},
              {"accepted_bytes", static_cast<double>(accepted_bytes) / denom}};
  }

  r.errors = errors_;
  sb_.finish(r.errors);
  r.scoreboard_clean = r.errors.empty();
  return r;
}

RunResult run_system(const Scenario& s, const RunOptions& opt) {
  System sys("system", s, opt);
  const auto t0 = std::chrono::steady_clock::now();
  const sc_time period(1000.0 / s.clock_ghz, SC_PS);
  sc_start(period * static_cast<double>(s.max_cycles));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sys.collect(wall);
}

}  // namespace cmm::tb
