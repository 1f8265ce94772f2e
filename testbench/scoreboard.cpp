#include "scoreboard.h"

#include <algorithm>
#include <cmath>

namespace cmm::tb {

namespace {
uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

void make_payload(uint64_t seed, uint32_t ch, uint32_t seq, uint8_t* out, uint32_t len) {
  uint64_t s = splitmix(seed ^ (uint64_t(ch) << 32) ^ seq);
  for (uint32_t i = 0; i < len; i += 8) {
    s = splitmix(s);
    for (uint32_t b = 0; b < 8 && i + b < len; ++b) out[i + b] = static_cast<uint8_t>(s >> (8 * b));
  }
}

uint64_t payload_hash(const uint8_t* p, uint32_t len) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (uint32_t i = 0; i < len; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

void Scoreboard::add_channel(uint32_t ch, std::string label, uint32_t expected) {
  chan_[ch].label = std::move(label);
  chan_[ch].expected = expected;
  msgs_[ch].resize(expected);
}

void Scoreboard::sent(uint32_t ch, uint32_t seq, uint32_t len, uint64_t cycle) {
  auto it = msgs_.find(ch);
  if (it == msgs_.end() || seq >= it->second.size()) {
    errors_.push_back("sent: unknown channel " + std::to_string(ch) + " seq " + std::to_string(seq));
    return;
  }
  Msg& m = it->second[seq];
  std::vector<uint8_t> buf(len);
  make_payload(seed_, ch, seq, buf.data(), len);
  m.len = len;
  m.hash = payload_hash(buf.data(), len);
  m.sent_cycle = cycle;
  m.state = 1;
  ++chan_[ch].sent;
}

void Scoreboard::refused_at_source(uint32_t ch, uint32_t seq, uint8_t reason) {
  auto it = msgs_.find(ch);
  if (it == msgs_.end() || seq >= it->second.size()) return;
  it->second[seq].state = 3;
  ++chan_[ch].refused;
  ++reasons_[reason];
}

void Scoreboard::extend(uint32_t ch, uint32_t n) {
  auto& v = msgs_[ch];
  if (n > v.size()) v.resize(n);
  chan_[ch].expected = std::max(chan_[ch].expected, n);
}

void Scoreboard::delivered(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t cycle) {
  auto it = msgs_.find(ch);
  if (it == msgs_.end()) {
    errors_.push_back("delivery on unknown channel " + std::to_string(ch));
    return;
  }
  if (seq >= it->second.size()) {
    errors_.push_back(chan_[ch].label + ": delivered message " + std::to_string(seq) + " never sent");
    return;
  }
  Msg& m = it->second[seq];
  const std::string id = chan_[ch].label + " seq " + std::to_string(seq);
  if (m.state == 2) {
    errors_.push_back(id + ": delivered twice");
    return;
  }
  if (m.state != 1) {
    errors_.push_back(id + ": delivered but never sent (unauthorized or forged)");
    return;
  }
  if (len != m.len || payload_hash(data, len) != m.hash) {
    errors_.push_back(id + ": payload corrupted (len " + std::to_string(len) + ", expected " +
                      std::to_string(m.len) + ")");
    return;
  }
  m.state = 2;
  ++chan_[ch].delivered;
  lat_.push_back(cycle - m.sent_cycle);
}

void Scoreboard::unauthorized(const std::string& what) { errors_.push_back("unauthorized delivery: " + what); }

void Scoreboard::nacks_reported(uint32_t ch, uint32_t n, uint8_t reason) {
  chan_[ch].nacked += n;
  reasons_[reason] += n;
}

void Scoreboard::nacks_reflected(uint32_t ch, uint32_t n) { chan_[ch].reflected += n; }

bool Scoreboard::finish(std::vector<std::string>& errors) const {
  errors.insert(errors.end(), errors_.begin(), errors_.end());
  for (const auto& [ch, c] : chan_) {
    // Sent but not delivered must equal what the sender was told was refused.
    const uint32_t lost = c.sent - c.delivered;
    if (lost + c.reflected != c.nacked)
      errors.push_back(c.label + ": " + std::to_string(lost) + " sent messages not delivered but " +
                       std::to_string(c.nacked) + " NACKs reported to the sender (" + std::to_string(c.reflected) +
                       " of them reflected from spoofed packets)");
    if (c.sent + c.refused != c.expected)
      errors.push_back(c.label + ": only " + std::to_string(c.sent + c.refused) + " of " +
                       std::to_string(c.expected) + " messages were attempted");
  }
  return errors.empty();
}

uint64_t percentile(std::vector<uint64_t> v, double p) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  std::nth_element(v.begin(), v.begin() + static_cast<long>(rank - 1), v.end());
  return v[rank - 1];
}

}  // namespace cmm::tb
