#include "cmm_tlm/fabric_fault.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cmm_seed.h"

namespace cmm::tlmshell {

using namespace sc_core;

namespace {
constexpr const char* kKindNames[kFaultKinds] = {"drop", "duplicate", "reorder", "corrupt", "delay", "stall"};
constexpr uint32_t kReorderCyclesPerPacket = 64;  // a reordered packet waits at most window * this

using seed::splitmix_next;
}  // namespace

const char* to_string(FaultKind k) {
  const auto i = static_cast<size_t>(k);
  return i < kFaultKinds ? kKindNames[i] : "?";
}

FaultKind parse_fault_kind(const std::string& s) {
  for (size_t i = 0; i < kFaultKinds; ++i)
    if (s == kKindNames[i]) return static_cast<FaultKind>(i);
  throw std::invalid_argument("unknown fault kind '" + s +
                              "': allowed values are drop, duplicate, reorder, corrupt, delay, stall");
}

bool FaultConfig::any() const {
  for (const auto& r : rules)
    if (r.rate > 0) return true;
  return false;
}

void FaultConfig::validate() const {
  for (size_t i = 0; i < rules.size(); ++i) {
    const FaultRule& r = rules[i];
    if (!(r.rate >= 0 && r.rate <= 1))
      throw std::invalid_argument("faults[" + std::to_string(i) + "].rate = " + std::to_string(r.rate) +
                                  ": must be in [0, 1]");
    if (static_cast<size_t>(r.kind) >= kFaultKinds)
      throw std::invalid_argument("faults[" + std::to_string(i) + "].kind: unknown");
  }
  if (reorder_window < 1 || reorder_window > 64)
    throw std::invalid_argument("fault_reorder_window = " + std::to_string(reorder_window) + ": must be in [1, 64]");
  if (delay_cycles < 1 || delay_cycles > 1'000'000)
    throw std::invalid_argument("fault_delay_cycles = " + std::to_string(delay_cycles) +
                                ": must be in [1, 1000000]");
  if (stall_cycles < 1 || stall_cycles > 1'000'000)
    throw std::invalid_argument("fault_stall_cycles = " + std::to_string(stall_cycles) +
                                ": must be in [1, 1000000]");
}

// ---------------------------------------------------------------- FaultLink

FaultLink::FaultLink(sc_module_name name, uint32_t index, const FaultConfig& cfg)
    : sc_module(name), tsock("tsock"), isock("isock"), index_(index), cfg_(cfg) {
  for (const auto& r : cfg_.rules)
    if (r.rate > 0 && (r.link < 0 || static_cast<uint32_t>(r.link) == index)) {
      rules_.push_back(&r);
      keeps_spare_ |= r.kind == FaultKind::kDuplicate;
    }
  // Own stream per link: seed, link index (a link's faults do not depend on
  // how many other links there are or what they draw).
  rng_ = cfg_.seed ^ 0xFA017EC7ull;
  splitmix_next(rng_);
  rng_ ^= (uint64_t{index} + 1) * 0xD1B54A32D192ED03ull;
  tsock.register_nb_transport_fw(this, &FaultLink::fw);
  isock.register_nb_transport_bw(this, &FaultLink::bw);
  ext_ = new LinkExt;  // owned by gp_
  gp_.set_extension(ext_);
  cext_ = new LinkExt;
  cext_->kind = LinkExt::kCredit;
  cgp_.set_extension(cext_);
  SC_METHOD(pump);
  sensitive << ev_;
  dont_initialize();
}

FaultLink::~FaultLink() = default;

uint64_t FaultLink::next_u64() { return splitmix_next(rng_); }

bool FaultLink::eligible(const Packet& p) const {
  if (filter_ && !filter_(p)) return false;
  if (cfg_.packets == FaultPackets::kAll) return true;
  const auto op = p.hdr.opcode;
  // A NACK of DATA, plain or strong (STRONG bit in aux next to the opcode),
  // and the ACK of reliable delivery: the data path's reverse direction.
  const auto of = static_cast<uint8_t>(p.hdr.aux & ~(1u << regs::kStrongAuxBit));
  return op == static_cast<uint8_t>(regs::Opcode::kData) || op == static_cast<uint8_t>(regs::Opcode::kAck) ||
         (op == static_cast<uint8_t>(regs::Opcode::kNack) && of == static_cast<uint8_t>(regs::Opcode::kData));
}

int FaultLink::decide() {
  // One draw per rule of the link for every eligible packet, hit or not: the
  // stream position depends only on the packet count.
  int hit = -1;
  for (const FaultRule* r : rules_) {
    const double u = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
    if (hit < 0 && u < r->rate) hit = static_cast<int>(r->kind);
  }
  return hit;
}

Packet* FaultLink::alloc(const Packet& src) {
  if (pool_.empty()) {
    storage_.push_back(std::make_unique<Packet>());
    pool_.push_back(storage_.back().get());
  }
  Packet* p = pool_.back();
  pool_.pop_back();
  p->copy_from(src);
  return p;
}

void FaultLink::corrupt(Packet& p) {
  const uint32_t hbits = regs::kHdrBits, total = hbits + 8 * p.carried();
  const uint32_t n = 1 + static_cast<uint32_t>(next_u64() % 3);
  std::array<uint32_t, 3> pos{};
  Header::Packed packed = p.hdr.pack();
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t b = 0;
    do {
      b = static_cast<uint32_t>(next_u64() % total);
    } while (std::find(pos.begin(), pos.begin() + i, b) != pos.begin() + i);
    pos[i] = b;
    if (b < hbits) packed[b / 32] ^= 1u << (b % 32);
    else p.payload[(b - hbits) / 8] ^= static_cast<uint8_t>(1u << ((b - hbits) % 8));
  }
  p.hdr = Header::unpack(packed);
}

void FaultLink::note_held() { stats_.held_max = std::max<uint64_t>(stats_.held_max, held()); }

void FaultLink::send_down(Packet& p, const sc_time& d) {
  ext_->kind = LinkExt::kPacket;
  ext_->pkt = &p;
  tlm::tlm_phase ph = tlm::BEGIN_REQ;
  sc_time dd = d;
  isock->nb_transport_fw(gp_, ph, dd);  // the receiver copies it
}

void FaultLink::forwarded(const Packet& p, bool dup, const sc_time& arrival) {
  for (Item& it : aside_)
    if (it.passes_left && --it.passes_left == 0) it.deadline = std::min(it.deadline, arrival);
  if (!dup) return;
  const uint8_t c = p.cls & 1u;
  Item copy{alloc(p), arrival, 0, SC_ZERO_TIME, false};
  if (spare_[c]) {
    --spare_[c];
    ready_.push_back(copy);
  } else {
    copies_[c].push_back(copy);
  }
  note_held();
}

tlm::tlm_sync_enum FaultLink::fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_REQ || !e || e->kind != LinkExt::kPacket || !e->pkt)
    return isock->nb_transport_fw(gp, ph, d);  // not ours to judge: the receiver reports it
  const Packet& in = *e->pkt;
  const sc_time now = sc_time_stamp(), ta = now + d;
  ++stats_.packets;
  const int k = rules_.empty() || !eligible(in) ? -1 : decide();
  if (k >= 0) ++stats_.injected[static_cast<size_t>(k)];
  const auto kind = static_cast<FaultKind>(k < 0 ? 0 : k);
  if (k >= 0 && kind == FaultKind::kDrop) {
    if (obs_) obs_->on_fault(kind, index_, in, nullptr);
    up_.push_back({ta, static_cast<uint8_t>(in.cls & 1u), 1});  // its credit, as if taken and freed on arrival
    reschedule();
    return tlm::TLM_COMPLETED;
  }
  if (k >= 0 && kind == FaultKind::kReorder) {
    if (obs_) obs_->on_fault(kind, index_, in, nullptr);
    aside_.push_back(Item{alloc(in), ta, cfg_.reorder_window,
                          ta + cfg_.clock_period * static_cast<double>(uint64_t{cfg_.reorder_window} *
                                                                       kReorderCyclesPerPacket),
                          false});
    note_held();
    reschedule();
    return tlm::TLM_COMPLETED;
  }
  if (k >= 0 && kind == FaultKind::kStall) {
    const sc_time until = now + cfg_.clock_period * static_cast<double>(cfg_.stall_cycles);
    if (until > stall_until_) {
      const sc_time from = std::max(now, stall_until_);
      stats_.stall_cycles += static_cast<uint64_t>((until - from) / cfg_.clock_period);
      stall_until_ = until;
    }
    if (obs_) obs_->on_fault(kind, index_, in, nullptr);
  }
  const bool dup = k >= 0 && kind == FaultKind::kDuplicate;
  if (dup && obs_) obs_->on_fault(kind, index_, in, nullptr);
  Packet* own = nullptr;
  if (k >= 0 && kind == FaultKind::kCorrupt) {
    own = alloc(in);
    corrupt(*own);
    if (obs_) obs_->on_fault(kind, index_, in, own);
  }
  sc_time rel = ta;
  if (k >= 0 && kind == FaultKind::kDelay) {
    rel = ta + cfg_.clock_period * static_cast<double>(cfg_.delay_cycles);
    if (obs_) obs_->on_fault(kind, index_, in, nullptr);
  }
  if (q_.empty() && !stalled(now) && rel == ta) {
    // Straight through with the sender's timing.
    tlm::tlm_sync_enum r = tlm::TLM_COMPLETED;
    if (own) {
      send_down(*own, d);
      forwarded(*own, dup, ta);
      release(own);
    } else {
      r = isock->nb_transport_fw(gp, ph, d);
      forwarded(in, dup, ta);
    }
    reschedule();
    return r;
  }
  if (!q_.empty()) rel = std::max(rel, q_.back().release);  // the link stays in order
  q_.push_back(Item{own ? own : alloc(in), rel, 0, SC_ZERO_TIME, dup});
  note_held();
  reschedule();
  return tlm::TLM_COMPLETED;
}

tlm::tlm_sync_enum FaultLink::bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
  LinkExt* e = nullptr;
  gp.get_extension(e);
  if (ph != tlm::BEGIN_RESP || !e || e->kind != LinkExt::kCredit) return tsock->nb_transport_bw(gp, ph, d);
  const uint8_t c = e->cls & 1u;
  const bool plain = !keeps_spare_ && !stalled(sc_time_stamp());
  if (plain) return tsock->nb_transport_bw(gp, ph, d);  // exact pass-through
  uint32_t n = e->credits;
  const sc_time now = sc_time_stamp();
  while (n && !copies_[c].empty()) {  // a waiting copy takes the credit
    Item it = copies_[c].front();
    copies_[c].pop_front();
    it.release = std::max(it.release, now);
    ready_.push_back(it);
    --n;
  }
  if (keeps_spare_ && n && spare_[c] == 0) {
    spare_[c] = 1;
    --n;
  }
  if (n) send_up(c, static_cast<uint16_t>(n));
  reschedule();
  return tlm::TLM_COMPLETED;
}

void FaultLink::send_up(uint8_t cls, uint16_t n) {
  const sc_time now = sc_time_stamp();
  if (stalled(now)) {
    up_.push_back({stall_until_, cls, n});
    return;
  }
  cext_->cls = cls;
  cext_->credits = n;
  tlm::tlm_phase ph = tlm::BEGIN_RESP;
  sc_time d = SC_ZERO_TIME;
  tsock->nb_transport_bw(cgp_, ph, d);
}

void FaultLink::pump() {
  const sc_time now = sc_time_stamp();
  if (!stalled(now)) {
    // Credits due upstream (drop releases, credits held over a stall), in order.
    due_.clear();
    for (size_t i = 0; i < up_.size();) {
      if (up_[i].at <= now) {
        due_.push_back(up_[i]);
        up_.erase(up_.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
    for (const auto& u : due_) send_up(u.cls, u.n);
    // The in-order queue.
    while (!q_.empty() && q_.front().release <= now) {
      Item it = q_.front();
      q_.pop_front();
      send_down(*it.p, SC_ZERO_TIME);
      forwarded(*it.p, it.dup, now);
      release(it.p);
    }
    // Reordered packets whose window passed or whose time is up.
    for (size_t i = 0; i < aside_.size();) {
      if (aside_[i].deadline <= now) {
        Item it = aside_[i];
        aside_.erase(aside_.begin() + static_cast<long>(i));
        send_down(*it.p, SC_ZERO_TIME);
        release(it.p);
      } else {
        ++i;
      }
    }
    // Copies of duplicated packets that hold a credit.
    while (!ready_.empty() && ready_.front().release <= now) {
      Item it = ready_.front();
      ready_.pop_front();
      send_down(*it.p, SC_ZERO_TIME);
      release(it.p);
    }
  }
  reschedule();
}

void FaultLink::reschedule() {
  const sc_time now = sc_time_stamp();
  sc_time next = SC_ZERO_TIME;
  bool any = false;
  auto take = [&](sc_time t) {
    if (t < stall_until_) t = stall_until_;
    if (t < now) t = now;
    if (!any || t < next) next = t;
    any = true;
  };
  for (const auto& u : up_) take(u.at);
  if (!q_.empty()) take(q_.front().release);
  for (const auto& it : aside_) take(it.deadline);
  if (!ready_.empty()) take(ready_.front().release);
  if (!any) return;
  if (next == now) ev_.notify(SC_ZERO_TIME);  // a delta later: never inside the caller's transport call
  else ev_.notify(next - now);
}

// ------------------------------------------------------------ FaultInjector

void FaultInjector::interpose(uint32_t port, tlm::tlm_base_initiator_socket<>& node_out,
                              tlm::tlm_base_target_socket<>& fabric_in, tlm::tlm_base_initiator_socket<>& fabric_out,
                              tlm::tlm_base_target_socket<>& node_in) {
  const uint32_t need = out_link(port) + 1;
  if (links_.size() < need) links_.resize(need);
  auto make = [&](uint32_t idx, const char* dir) {
    auto l = std::make_unique<FaultLink>(
        (std::string("fault_link_") + std::to_string(port) + "_" + dir).c_str(), idx, cfg_);
    l->set_observer(obs_);
    if (filter_) l->set_filter(filter_);
    return l;
  };
  links_[in_link(port)] = make(in_link(port), "in");
  links_[out_link(port)] = make(out_link(port), "out");
  node_out.bind(links_[in_link(port)]->tsock);
  links_[in_link(port)]->isock.bind(fabric_in);
  fabric_out.bind(links_[out_link(port)]->tsock);
  links_[out_link(port)]->isock.bind(node_in);
}

void FaultInjector::set_observer(FaultObserver* o) {
  obs_ = o;
  for (auto& l : links_)
    if (l) l->set_observer(o);
}

void FaultInjector::set_filter(const std::function<bool(const Packet&)>& f) {
  filter_ = f;
  for (auto& l : links_)
    if (l) l->set_filter(f);
}

FaultLink* FaultInjector::link(uint32_t index) const { return index < links_.size() ? links_[index].get() : nullptr; }

std::array<uint64_t, kFaultKinds> FaultInjector::totals() const {
  std::array<uint64_t, kFaultKinds> t{};
  for (const auto& l : links_)
    if (l)
      for (size_t k = 0; k < kFaultKinds; ++k) t[k] += l->stats().injected[k];
  return t;
}

}  // namespace cmm::tlmshell
