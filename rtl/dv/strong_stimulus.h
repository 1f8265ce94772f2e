// Seeded random stimulus for the strong-mode lockstep (docs/strong-mode.md 11,
// docs/rtl.md "Strong mode"). One core talks to itself: every egress header
// is looped back to its ingress (remote node = own node, link key of the own
// id), with the payload the pins give it (a strong DATA: the doorbell's
// bytes streamed on mac_tx_*; a strong CONNECT: eg_wrap_o), streamed again on
// mac_rx_* when the header enters S1. Scripts provision the link key through
// the FIRMWARE requester (reg_req_fw), open strong channels (CST_CTRL.MODE)
// and stream DATA; noise tampers, replays, strips the STRONG bit, clears link
// keys, writes MODE at random, probes the LINK_* access rule and flips the
// MODE bit (fault bit CmmCore::kCstProtBits + 1). Pins only, like the plain Stimulus.
#pragma once
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "cmm_pins.h"

namespace cmm::dv {

struct StrongStimCounts {
  uint64_t link_sets = 0, channels = 0, doorbells = 0, tx_streams = 0, rx_streams = 0, looped = 0;
  uint64_t tampered = 0, replayed = 0, stripped = 0, dropped = 0, fw_probes = 0, mode_flips = 0, resets = 0;
  std::string str() const;
};

class StrongStimulus {
 public:
  StrongStimulus(uint64_t seed, const Straps& straps);
  void next(const PinsOut& cur, PinsIn& in, bool& rst_n);
  void observe(const PinsIn& in, bool rst_n, const PinsOut& before, const PinsOut& after);
  const StrongStimCounts& counts() const { return n_; }

 private:
  struct Op {
    bool write = false, fw = false;
    uint32_t addr = 0, wdata = 0;
    uint8_t part = 0, priv = 0;
    uint16_t pid = 0;
    int learn = 0;                 // 1: CMD_STATUS.EP -> ea, 2: -> eb, 3: CST_GEN.LOCAL -> ga, 4: -> gb
    bool script = false;           // a step of the channel script (a refusal aborts it)
    std::vector<uint8_t> payload;  // doorbell: the message bytes
  };
  struct Pkt {
    Header h;
    std::vector<uint8_t> pay;
  };

  uint32_t r(uint32_t n) { return n ? static_cast<uint32_t>(rng_() % n) : 0; }
  bool chance(uint32_t percent) { return r(100) < percent; }
  void clear();
  void plan_channel();
  void push_script(Op o) {
    o.script = true;
    script_.push_back(std::move(o));
  }
  Op random_op();
  Op kernel(uint8_t part, bool write, uint32_t addr, uint32_t wdata);
  Op cmd(uint8_t part, uint32_t op, uint32_t ep);
  Op cst(uint8_t part, int ep, uint32_t off, uint32_t wdata, bool write = true);
  Op fw(bool write, uint32_t addr, uint32_t wdata);
  Op doorbell();
  void loop_back(const Header& h, std::vector<uint8_t> pay);
  void on_response(const Op& o, uint8_t status, uint32_t rdata);

  std::mt19937_64 rng_;
  Straps straps_;
  uint64_t cycle_ = 0;
  uint32_t timebase_ = 0;
  int reset_left_ = 0;
  // Register port: the script first, then random operations.
  std::deque<Op> script_;
  bool op_valid_ = false;
  Op op_{};
  // The open channel (receive entry ea of partition pa, send entry eb of pb).
  bool chan_ = false;
  uint8_t pa_ = 0, pb_ = 0;
  int ea_ = -1, eb_ = -1;
  uint16_t pida_ = 0, pidb_ = 0;
  uint8_t ga_ = 0, gb_ = 0;
  // MAC streams.
  std::vector<uint8_t> tx_pay_;
  uint32_t tx_beat_ = 0;
  std::deque<std::vector<uint8_t>> tx_sent_;  // payloads of loaded TX engines, in push order
  std::vector<uint8_t> rx_pay_;
  uint32_t rx_beat_ = 0;
  bool rx_active_ = false;
  // Fabric loop.
  std::deque<Pkt> ingq_;
  std::vector<Pkt> seen_;  // strong packets seen on egress (replay source)
  uint32_t p_eg_ready_ = 90, p_beat_ = 85, p_ing_ = 80;
  StrongStimCounts n_;
};

}  // namespace cmm::dv
