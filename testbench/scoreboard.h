// Checks every message end to end: each sent message is delivered exactly
// once and intact, or its rejection was reported to its sender; nothing
// unauthorized is ever delivered. Also gathers the latency samples.
//
// Memory is bounded by what is in flight, not by the length of the run: per
// channel only a window of sequence numbers from the oldest message still in
// flight is kept; delivered and reported messages below it are counted and
// forgotten. A delivery, NACK or SEQ_GAP naming a forgotten message is still
// judged: it was sent and is finished (delivered or reported lost), so a
// second delivery is an error. Messages refused at source or dropped with a
// counted reason are remembered (sequence number and state) for the last
// kSeqHorizon sequence numbers, the most a 16-bit tag can name.
#pragma once
#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "histogram.h"

namespace cmm::tb {

// Deterministic payload of message `seq` on channel `ch` (no storage needed).
void make_payload(uint64_t seed, uint32_t ch, uint32_t seq, uint8_t* out, uint32_t len);
uint64_t payload_hash(const uint8_t* p, uint32_t len);

class Scoreboard {
 public:
  // exact_latency: keep every latency sample too (short runs).
  explicit Scoreboard(uint64_t seed, bool exact_latency = false) : seed_(seed), lat_(exact_latency) {}
  // Moves keep the map nodes the slots point to; a copy would not.
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;
  Scoreboard(Scoreboard&&) = default;
  Scoreboard& operator=(Scoreboard&&) = default;
  static constexpr uint32_t kSeqHorizon = 65536;
  void add_channel(uint32_t ch, std::string label, uint32_t expected_messages);
  // A sender's doorbell was accepted by its CMM.
  void sent(uint32_t ch, uint32_t seq, uint32_t len, uint64_t cycle);
  // The same, with the payload as sent (make_payload's bytes): no regeneration.
  void sent(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t cycle);
  // The sender's CMM refused the doorbell (never left the node): counted as rejected-and-reported.
  void refused_at_source(uint32_t ch, uint32_t seq, uint8_t reason);
  // A receiver process read a message from its endpoint.
  // seq: the sequence number the receiver recovered from the 16-bit tag.
  void delivered(uint32_t ch, uint32_t seq, const uint8_t* data, uint32_t len, uint64_t deliver_cycle);
  // Open-ended channels (generated traffic): the channel now expects n messages.
  void extend(uint32_t ch, uint32_t n);
  // A delivery on an endpoint that belongs to no channel of the scenario.
  void unauthorized(const std::string& what);
  // One NACK of a DATA message of channel `ch` that reached the sender's CMM
  // from the channel's receiver (authentic: the fabric validates source
  // nodes). By reason (docs/security.md 1.5):
  //   SEQ_GAP  message `seq` was delivered; the `gap` messages sent before it
  //            never reached the receiver's CMM: lost, and reported so
  //   SEQ_OLD  a late or duplicate copy of `seq` was refused: no loss in itself
  //   other    message `seq` was refused: lost, reported with that reason
  // `in_fabric`: the NACK itself was dropped by the fabric or a shell (counted
  // there with its reason): the losses it reports count as dropped-with-a-
  // reason, and the sender's library is not expected to see it.
  void nack(uint32_t ch, uint32_t seq, uint8_t reason, uint32_t gap = 0, bool in_fabric = false);
  // The sender's library saw `n` more NACKs (EP_TX_STATUS; the last with
  // `reason`); SEQ_GAP NACKs it learns from its error log instead
  // (gaps_reported). Together they must add up to the NACKs above.
  void nacks_reported(uint32_t ch, uint32_t n, uint8_t reason);
  void gaps_reported(uint32_t ch, uint32_t n);
  // The sender's partition of `ch` lost error-log entries (see gap_log_lossy).
  void gap_log_lossy(uint32_t ch) { stats(ch).gap_log_lossy = true; }
  // Message `seq` was dropped by the fabric or a shell, counted there with
  // `reason` (SRC_SPOOFED, BAD_LEN, HOL_TIMEOUT, BAD_CRC): lost, reported by
  // the counter (and to the sender by a later SEQ_GAP, if one comes).
  void dropped(uint32_t ch, uint32_t seq, uint8_t reason);
  // NACKs that reached the sender for messages it never sent (a rogue node
  // spoofed its ids): reported to the sender, but not losses of the channel.
  void nacks_reflected(uint32_t ch, uint32_t n);
  // Message `seq`, still in flight, was destroyed by an injected fabric fault
  // and no later message of its channel reached the receiver's CMM: the
  // plain scheme cannot report it (no SEQ_GAP without a later message). A
  // named category of its own (FAULT_TAIL), never counted as reported.
  void tail_lost(uint32_t ch, uint32_t seq);

  // Final check; appends one line per problem to `errors`. Returns true when clean.
  bool finish(std::vector<std::string>& errors) const;

  struct ChannelStats {
    std::string label;
    uint32_t expected = 0, sent = 0, delivered = 0, refused_at_source = 0;
    uint32_t nacked = 0;     // NACKs the sender's library reported (EP_TX_STATUS)
    uint32_t gaps_logged = 0;  // SEQ_GAP NACKs the sender's library learned from its error log
    uint32_t reflected = 0;  // of them for messages never sent (spoofed)
    uint32_t nacked_lost = 0;  // messages lost, NACKed with their reason
    uint32_t nacks_seq_gap = 0;   // SEQ_GAP NACKs
    uint32_t gap_lost = 0;   // messages lost, reported by a SEQ_GAP NACK
    uint32_t nacks_seq_old = 0;   // SEQ_OLD NACKs (late or duplicate copies)
    uint32_t fabric_dropped = 0;    // messages dropped and counted by the fabric or a shell (not also in gap_lost)
    uint32_t tail_lost = 0;  // FAULT_TAIL: destroyed by an injected fault, unreportable (tail_lost())
    uint32_t gap_renacked = 0;  // NACKed messages a later SEQ_GAP counted again (refused before the seq check)
    // The library saw every NACK that refused a message (EP_TX_STATUS counts
    // exactly those) and learned every SEQ_GAP from its log; SEQ_OLD NACKs
    // refuse nothing and reach no counter of the sender.
    // When the sender's partition lost error-log entries (LOST count), some
    // SEQ_GAP entries never reached its library: the agent re-reads CST_LOST
    // instead (exact), and the log count may only fall short.
    bool gap_log_lossy = false;
    bool library_complete() const {
      return nacked >= nacked_lost + reflected && (gap_log_lossy || gaps_logged >= nacks_seq_gap);
    }
    bool library_exact() const {
      return nacked == nacked_lost + reflected &&
             (gap_log_lossy ? gaps_logged <= nacks_seq_gap : gaps_logged == nacks_seq_gap);
    }
    // Losses reported: NACKed, missing in a SEQ_GAP, or dropped with a counted reason.
    uint32_t reported_lost() const { return nacked_lost + gap_lost + fabric_dropped; }
  };
  // Sent messages neither delivered (yet) nor reported lost: after the run,
  // silent losses (I7).
  uint32_t unreported(uint32_t ch) const;
  const std::map<uint32_t, ChannelStats>& channels() const { return chan_; }
  // Message `seq` of channel `ch` is finished: read by its receiver, refused
  // at source or reported lost (nothing more will happen to it).
  bool finished(uint32_t ch, uint32_t seq) const;
  // Delivery latency (sent -> delivered), streaming.
  const Histogram& latencies() const { return lat_; }
  uint64_t errors_seen() const { return errors_.size(); }
  // Refusals at source and loss NACKs, by reason.
  std::map<uint8_t, uint64_t> rejects_by_reason() const { return reasons_; }
  // Messages the scoreboard holds a record of now (in its windows and the
  // remembered refusals and drops): bounded by what is in flight.
  size_t tracked() const;

 private:
  struct Msg {
    uint64_t hash = 0;
    uint64_t sent_cycle = 0;
    uint32_t len = 0;
    // 0 unsent, 1 sent, 2 delivered, 3 refused at source, 4 NACKed (lost),
    // 5 reported missing by a SEQ_GAP NACK, 6 dropped by the fabric or a shell (counted),
    // 7 FAULT_TAIL (tail_lost), 8 NACKed NOT_OPEN (as 4, but kept behind the window)
    uint8_t state = 0;
  };
  static constexpr uint8_t kRetired = 0xFF;  // state of a forgotten message: sent, then delivered or reported lost
  struct Window {
    uint32_t base = 0;          // sequence number of win.front()
    std::deque<Msg> win;        // base .. base + win.size() - 1
    std::map<uint32_t, uint8_t> kept;  // below base: refused (3) and dropped (6) ones, within kSeqHorizon
    uint32_t high() const { return base + static_cast<uint32_t>(win.size()); }
  };
  // The record of `seq`, grown to it when `open`; nullptr below the window or beyond it.
  Msg* at(Window& w, uint32_t seq, bool open = false);
  // State of `seq`: its record's, a kept one's, kRetired below the window, 0 beyond it.
  uint8_t state_of(const Window& w, uint32_t seq) const;
  // Forgets finished messages at the front of the window.
  void retire(Window& w);
  // Per-channel records (created on first use) and the window of `ch`, nullptr if none.
  ChannelStats& stats(uint32_t ch) { return chan_[ch]; }
  Window& make_window(uint32_t ch) { return msgs_[ch]; }
  Window* window(uint32_t ch);
  const Window* window(uint32_t ch) const;
  uint64_t seed_;
  std::map<uint32_t, ChannelStats> chan_;
  std::map<uint32_t, Window> msgs_;
  Histogram lat_;
  std::vector<std::string> errors_;
  std::map<uint8_t, uint64_t> reasons_;
};

// A channel's per-message records by sequence number, held only until each
// message is finished (the system's stage times): a window from the oldest
// unfinished message. size(), resize(), push_back() and operator[] work like
// a vector of every message ever opened; a finished message's index yields a
// fresh scratch record (a late duplicate changes nothing). Each record is
// handed to on_done as it leaves, in sequence order; a message that never
// finishes leaves once kSeqHorizon newer ones were opened, or at flush().
template <typename T>
class SeqWindow {
 public:
  static constexpr uint32_t kSeqHorizon = Scoreboard::kSeqHorizon;
  std::function<void(uint32_t seq, const T&)> on_done;
  // Asked about the oldest unfinished message when a later one finishes
  // (e.g. reported lost: it is never read).
  std::function<bool(uint32_t seq)> finished;

  uint32_t size() const { return high_; }
  void resize(uint32_t n) { high_ = std::max(high_, n); }  // records appear when first used
  void push_back(const T& t) { (*this)[high_] = t; }
  T& operator[](uint32_t seq) {
    if (seq < base_) return scratch_ = T{};
    if (seq >= high_) high_ = seq + 1;
    if (seq - base_ >= win_.size()) {
      win_.resize(seq - base_ + 1);
      done_.resize(win_.size(), false);
    }
    while (win_.size() > kSeqHorizon) pop();
    if (seq < base_) return scratch_ = T{};
    return win_[seq - base_];
  }
  // Message `seq` is finished: it leaves with every finished one before it.
  void retire(uint32_t seq) {
    if (seq < base_ || seq - base_ >= win_.size()) return;
    done_[seq - base_] = true;
    while (!win_.empty() && (done_.front() || (finished && finished(base_)))) pop();
  }
  void flush() {
    while (!win_.empty()) pop();
  }
  size_t held() const { return win_.size(); }

 private:
  void pop() {
    if (on_done) on_done(base_, win_.front());
    win_.pop_front();
    done_.pop_front();
    ++base_;
  }
  uint32_t base_ = 0, high_ = 0;
  std::deque<T> win_;
  std::deque<bool> done_;
  T scratch_{};
};

}  // namespace cmm::tb
