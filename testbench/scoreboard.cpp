#include "scoreboard.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "cmm_regs.h"
#include "cmm_seed.h"

namespace cmm::tb {

namespace {
constexpr uint8_t kSeqOld = static_cast<uint8_t>(regs::Reason::kSeqOld);
constexpr uint8_t kSeqGap = static_cast<uint8_t>(regs::Reason::kSeqGap);
constexpr uint8_t kNotOpen = static_cast<uint8_t>(regs::Reason::kNotOpen);

using seed::splitmix;
}  // namespace

void make_payload(uint64_t seed, uint32_t ch, uint32_t seq, uint8_t* out, uint32_t len) {
  uint64_t s = splitmix(seed ^ (uint64_t(ch) << 32) ^ seq);
  uint32_t i = 0;
  for (; i + 8 <= len; i += 8) {  // whole words: byte b of the word is bits 8b..8b+7 (little-endian order)
    s = splitmix(s);
    uint8_t w[8];
    for (uint32_t b = 0; b < 8; ++b) w[b] = static_cast<uint8_t>(s >> (8 * b));
    std::memcpy(out + i, w, 8);
  }
  if (i < len) {
    s = splitmix(s);
    for (uint32_t b = 0; i + b < len; ++b) out[i + b] = static_cast<uint8_t>(s >> (8 * b));
  }
}

uint64_t payload_hash(const uint8_t* p, uint32_t len) {
  // FNV-1a style over 8-byte words (the value never leaves the scoreboard;
  // per byte it cost a dependent multiply per byte, twice per message).
  uint64_t h = 0xCBF29CE484222325ull ^ len;
  uint32_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  for (; i < len; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

Scoreboard::Window* Scoreboard::window(uint32_t ch) {
  auto it = msgs_.find(ch);
  return it == msgs_.end() ? nullptr : &it->second;
}

const Scoreboard::Window* Scoreboard::window(uint32_t ch) const {
  auto it = msgs_.find(ch);
  return it == msgs_.end() ? nullptr : &it->second;
}

void Scoreboard::add_channel(uint32_t ch, std::string label, uint32_t expected) {
  ChannelStats& c = stats(ch);
  c.label = std::move(label);
  c.expected = expected;
  make_window(ch);
}

Scoreboard::Msg* Scoreboard::at(Window& w, uint32_t seq, bool open) {
  if (seq < w.base) return nullptr;
  if (seq >= w.high()) {
    if (!open) return nullptr;
    w.win.resize(seq - w.base + 1);
    // Tags name only the last kSeqHorizon messages: older kept records can go.
    while (!w.kept.empty() && w.kept.begin()->first + uint64_t{kSeqHorizon} <= w.high()) w.kept.erase(w.kept.begin());
  }
  return &w.win[seq - w.base];
}

uint8_t Scoreboard::state_of(const Window& w, uint32_t seq) const {
  if (seq >= w.high()) return 0;
  if (seq >= w.base) return w.win[seq - w.base].state;
  auto k = w.kept.find(seq);
  return k == w.kept.end() ? kRetired : k->second;
}

void Scoreboard::retire(Window& w) {
  while (!w.win.empty()) {
    const uint8_t st = w.win.front().state;
    if (st == 0 || st == 1) break;  // unsent or in flight
    if (st == 3 || st == 6 || st == 8) w.kept.emplace(w.base, st);  // a later SEQ_GAP may name them
    w.win.pop_front();
    ++w.base;
  }
}

bool Scoreboard::finished(uint32_t ch, uint32_t seq) const {
  const Window* w = window(ch);
  if (!w) return false;
  const uint8_t st = state_of(*w, seq);
  return st != 0 && st != 1;
}

size_t Scoreboard::tracked() const {
  size_t n = 0;
  for (const auto& [ch, w] : msgs_) n += w.win.size() + w.kept.size();
  return n;
}

void Scoreboard::sent(uint32_t ch, uint32_t seq, uint32_t len, uint64_t cycle) {
  std::array<uint8_t, regs::kMaxMsgBytes> small;
  std::vector<uint8_t> big;
  uint8_t* buf = small.data();
  if (len > small.size()) {
    big.resize(len);
    buf = big.data();
  }
  make_payload(seed_, ch, seq, buf, len);
  sent(ch, seq, buf, len, cycle);
}

void Scoreboard::sent(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t cycle) {
  Window* w = window(ch);
  auto c = w ? chan_.find(ch) : chan_.end();
  ChannelStats* cs = c == chan_.end() ? nullptr : &c->second;
  const bool known = w && cs && seq < cs->expected;
  Msg* m = known ? at(*w, seq, true) : nullptr;
  if (!m) {
    errors_.push_back("sent: unknown channel " + std::to_string(ch) + " seq " + std::to_string(seq) +
                      (known ? " (sent again after it finished)" : ""));
    return;
  }
  m->len = len;
  m->hash = payload_hash(data, len);
  m->sent_cycle = cycle;
  m->state = 1;
  ++cs->sent;
}

void Scoreboard::refused_at_source(uint32_t ch, uint32_t seq, uint8_t reason) {
  Window* w = window(ch);
  if (!w || seq >= stats(ch).expected) return;
  Msg* m = at(*w, seq, true);
  if (!m) return;
  m->state = 3;
  ++stats(ch).refused_at_source;
  ++reasons_[reason];
  retire(*w);
}

void Scoreboard::extend(uint32_t ch, uint32_t n) {
  make_window(ch);
  ChannelStats& c = stats(ch);
  c.expected = std::max(c.expected, n);
}

void Scoreboard::delivered(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t cycle) {
  Window* wp = window(ch);
  if (!wp) {
    errors_.push_back("delivery on unknown channel " + std::to_string(ch));
    return;
  }
  Window& w = *wp;
  if (seq >= w.high()) {
    errors_.push_back(stats(ch).label + ": delivered message " + std::to_string(seq) + " never sent");
    return;
  }
  // The message's name, built only for an error (not per delivery).
  auto id = [&] { return stats(ch).label + " seq " + std::to_string(seq); };
  const uint8_t st = state_of(w, seq);
  if (st == kRetired) {
    errors_.push_back(id() + ": delivered again after it was delivered or reported lost (duplicate or replay)");
    return;
  }
  if (st == 2) {
    errors_.push_back(id() + ": delivered twice");
    return;
  }
  if (st == 4 || st == 5 || st == 7 || st == 8) {
    errors_.push_back(id() + ": delivered after its loss was reported");
    return;
  }
  if (st != 1) {
    errors_.push_back(id() + ": delivered but never sent (unauthorized or forged)");
    return;
  }
  Msg& m = *at(w, seq);
  if (len != m.len || payload_hash(data, len) != m.hash) {
    errors_.push_back(id() + ": payload corrupted (len " + std::to_string(len) + ", expected " +
                      std::to_string(m.len) + ")");
    return;
  }
  m.state = 2;
  ++stats(ch).delivered;
  lat_.add(cycle - m.sent_cycle);
  retire(w);
}

void Scoreboard::unauthorized(const std::string& what) { errors_.push_back("unauthorized delivery: " + what); }

void Scoreboard::nack(uint32_t ch, uint32_t seq, uint8_t reason, uint32_t gap, bool in_fabric) {
  Window* wp = window(ch);
  if (!wp) return;
  Window& w = *wp;
  ChannelStats& c = stats(ch);
  const std::string id = c.label + " seq " + std::to_string(seq);
  const uint8_t st = state_of(w, seq);
  if (st == 0 || st == 3) {
    errors_.push_back(id + ": NACK (reason " + std::to_string(reason) + ") for a message never sent");
    return;
  }
  // What the NACK reports becomes a counted drop when the NACK itself was dropped.
  // NOT_OPEN: refused before the receiver's sequence check, so a later
  // SEQ_GAP may count it again; remembered behind the window (state 8).
  const uint8_t lost_state = in_fabric ? 6 : reason == kNotOpen ? 8 : 4;
  uint32_t& lost_count = in_fabric ? c.fabric_dropped : c.nacked_lost;
  if (reason == kSeqOld) {
    if (!in_fabric) ++c.nacks_seq_old;
    return;
  }
  if (reason == kSeqGap) {
    if (!in_fabric) ++c.nacks_seq_gap;
    // The `gap` messages sent just before `seq` are the missing ones (each
    // accepted doorbell took the next sequence number at the sender's CMM).
    uint32_t left = gap;
    for (uint32_t s = seq; s-- > 0 && left;) {
      const uint8_t ms = state_of(w, s);
      if (ms == 0 || ms == 3) continue;  // never left the sender
      --left;
      if (ms == 1) {
        at(w, s)->state = in_fabric ? 6 : 5;
        ++(in_fabric ? c.fabric_dropped : c.gap_lost);
      } else if (ms == 6) {
        // already charged to the fabric's counter; now the sender knows too
      } else if (ms == 4 || ms == 8) {
        // Refused before the receiver's sequence check (NOT_OPEN: the receive
        // entry was still CONNECTING, its CONNECT_ACK lost) and NACKed: the
        // CMM counts it in this gap again. Reported twice, lost once.
        ++c.gap_renacked;
      } else {
        errors_.push_back(c.label + " seq " + std::to_string(s) + ": reported missing (SEQ_GAP at seq " +
                          std::to_string(seq) + ") but " +
                          (ms == 2 ? "delivered" : ms == kRetired ? "delivered or already reported lost"
                           : ms == 7 ? "taken for an unreportable tail" : "already NACKed"));
      }
    }
    if (left) errors_.push_back(id + ": SEQ_GAP of " + std::to_string(gap) + " but only " +
                                std::to_string(gap - left) + " messages were sent before it");
    retire(w);
    return;
  }
  if (reason == kNotOpen && (st == 5 || st == kRetired)) {
    // Reported lost by a gap, then its late (reordered) copy reached the
    // receive entry after it left OPEN: NACKed NOT_OPEN. If that NACK reaches
    // the sender's agent it is reported twice, lost once (the reverse order
    // of the NOT_OPEN case above); lost or stale on the way, it adds nothing.
    if (!in_fabric) ++c.gap_renacked;
    return;
  }
  if (st != 1) {
    errors_.push_back(id + ": NACKed (reason " + std::to_string(reason) + ") after it was " +
                      (st == 2 ? "delivered" : st == kRetired ? "delivered or reported lost" : "already reported lost"));
    return;
  }
  at(w, seq)->state = lost_state;
  ++lost_count;
  ++reasons_[reason];
  retire(w);
}

void Scoreboard::nacks_reported(uint32_t ch, uint32_t n, uint8_t) { stats(ch).nacked += n; }

void Scoreboard::gaps_reported(uint32_t ch, uint32_t n) { stats(ch).gaps_logged += n; }

void Scoreboard::dropped(uint32_t ch, uint32_t seq, uint8_t reason) {
  Window* w = window(ch);
  if (!w) return;
  Msg* m = at(*w, seq);
  // Not in flight (e.g. a duplicate copy dropped after the original was
  // delivered): no loss.
  if (!m || m->state != 1) return;
  m->state = 6;
  ++stats(ch).fabric_dropped;
  ++reasons_[reason];
  retire(*w);
}

void Scoreboard::nacks_reflected(uint32_t ch, uint32_t n) { stats(ch).reflected += n; }

void Scoreboard::tail_lost(uint32_t ch, uint32_t seq) {
  Window* w = window(ch);
  if (!w) return;
  Msg* m = at(*w, seq);
  if (!m || m->state != 1) return;
  m->state = 7;
  ++stats(ch).tail_lost;
  retire(*w);
}

uint32_t Scoreboard::unreported(uint32_t ch) const {
  const Window* w = window(ch);
  if (!w) return 0;
  return static_cast<uint32_t>(std::count_if(w->win.begin(), w->win.end(),
                                             [](const Msg& m) { return m.state == 1; }));
}

bool Scoreboard::finish(std::vector<std::string>& errors) const {
  errors.insert(errors.end(), errors_.begin(), errors_.end());
  for (const auto& [ch, c] : chan_) {
    // sent = delivered + reported (NACKed with a loss reason, or missing in a SEQ_GAP).
    if (const uint32_t silent = unreported(ch))
      errors.push_back(c.label + ": " + std::to_string(silent) + " sent messages neither delivered nor reported " +
                       "lost (silent loss; " + std::to_string(c.nacked_lost) + " NACKed, " +
                       std::to_string(c.gap_lost) + " reported missing by SEQ_GAP, " + std::to_string(c.fabric_dropped) +
                       " dropped with a counted reason)");
    // Every NACK the sender's CMM took in reached the sender's library: the
    // refusals as NACKs (EP_TX_STATUS), the SEQ_GAPs through its error log.
    if (!c.library_exact())
      errors.push_back(c.label + ": the sender's library reported " + std::to_string(c.nacked) + " NACKs and " +
                       std::to_string(c.gaps_logged) + " SEQ_GAPs; its CMM took in " + std::to_string(c.nacked_lost) +
                       " refusals, " + std::to_string(c.nacks_seq_gap) + " SEQ_GAP, " + std::to_string(c.nacks_seq_old) +
                       " SEQ_OLD (not counted) and " + std::to_string(c.reflected) +
                       " NACKs of spoofed packets");
    if (c.sent + c.refused_at_source != c.expected)
      errors.push_back(c.label + ": only " + std::to_string(c.sent + c.refused_at_source) + " of " +
                       std::to_string(c.expected) + " messages were attempted");
  }
  return errors.empty();
}

}  // namespace cmm::tb
