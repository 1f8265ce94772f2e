// Checks every message end to end: each sent message is delivered exactly
// once and intact, or its rejection was reported to its sender; nothing
// unauthorized is ever delivered. Also gathers the latency samples.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cmm::tb {

// Deterministic payload of message `seq` on channel `ch` (no storage needed).
void make_payload(uint64_t seed, uint32_t ch, uint32_t seq, uint8_t* out, uint32_t len);
uint64_t payload_hash(const uint8_t* p, uint32_t len);

class Scoreboard {
 public:
  explicit Scoreboard(uint64_t seed) : seed_(seed) {}
  void add_channel(uint32_t ch, std::string label, uint32_t expected_messages);
  // A sender's doorbell was accepted by its CMM.
  void sent(uint32_t ch, uint32_t seq, uint32_t len, uint64_t cycle);
  // The sender's CMM refused the doorbell (never left the node): counted as rejected-and-reported.
  void refused_at_source(uint32_t ch, uint32_t seq, uint8_t reason);
  // A receiver process read a message from its endpoint.
  // seq: the sequence number the receiver recovered from the 16-bit tag.
  void delivered(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t deliver_cycle);
  // Open-ended channels (generated traffic): the channel now expects n messages.
  void extend(uint32_t ch, uint32_t n);
  // A delivery on an endpoint that belongs to no channel of the scenario.
  void unauthorized(const std::string& what);
  // The sender's library saw `n` more NACKs with this reason.
  void nacks_reported(uint32_t ch, uint32_t n, uint8_t reason);
  // NACKs that reached the sender for messages it never sent (a rogue node
  // spoofed its ids): reported to the sender, but not losses of the channel.
  void nacks_reflected(uint32_t ch, uint32_t n);

  // Final check; appends one line per problem to `errors`. Returns true when clean.
  bool finish(std::vector<std::string>& errors) const;

  struct ChannelStats {
    std::string label;
    uint32_t expected = 0, sent = 0, delivered = 0, refused = 0, nacked = 0, reflected = 0;
  };
  const std::map<uint32_t, ChannelStats>& channels() const { return chan_; }
  const std::vector<uint64_t>& latencies() const { return lat_; }
  uint64_t errors_seen() const { return errors_.size(); }
  std::map<uint8_t, uint64_t> rejects_by_reason() const { return reasons_; }

 private:
  struct Msg {
    uint32_t len = 0;
    uint64_t hash = 0;
    uint64_t sent_cycle = 0;
    uint8_t state = 0;  // 0 unsent, 1 sent, 2 delivered, 3 refused at source
  };
  uint64_t seed_;
  std::map<uint32_t, ChannelStats> chan_;
  std::map<uint32_t, std::vector<Msg>> msgs_;
  std::vector<uint64_t> lat_;
  std::vector<std::string> errors_;
  std::map<uint8_t, uint64_t> reasons_;
};

// Exact percentile (nearest rank) of a sample set; 0 for an empty set.
uint64_t percentile(std::vector<uint64_t> v, double p);

}  // namespace cmm::tb
