// Lockstep co-simulation: the Verilated RTL core and cmm::CmmCore get identical
// inputs every cycle; every output is compared every cycle; the first mismatch
// stops the run with a report.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "rtl_model.h"

namespace cmm::dv {

// Functional cross of the ingress commits (docs/rtl.md "Functional cross"):
// for every header that S1 commits, its opcode x the state its entry had
// before the edge x the register access on that entry at the same edge (the
// same-edge hazard; NONE without) x the outcome (the reason the reference
// rejected it with, ACCEPT for a delivered DATA, OK otherwise). Decoded from
// the pins and the reference's entry states, not from the RTL.
struct CrossCoverage {
  // Same-edge register access kinds (the K_* of rtl/cmm_core_cov.sv).
  enum Hazard : uint8_t {
    kNone, kDoorbell, kRxPop, kEpRead, kRxBuf, kCmdClose, kCmdFree, kCmdConnect, kCmdSetKey, kCmdOther,
    kCstRead, kCstWrite, kHazardCount
  };
  static constexpr uint32_t kNoEntry = 15;   // state column: header for another node or past the table
  static constexpr uint32_t kOutcomeOk = 254, kOutcomeAccept = 255;
  // key: opcode << 24 | state << 16 | hazard << 8 | outcome (reason code, kOutcomeOk, kOutcomeAccept)
  std::map<uint32_t, uint64_t> bins;
  static uint32_t key(uint32_t opcode, uint32_t state, uint32_t hazard, uint32_t outcome) {
    return (opcode & 0xFFu) << 24 | (state & 0xFFu) << 16 | (hazard & 0xFFu) << 8 | (outcome & 0xFFu);
  }
  static const char* hazard_name(uint32_t h);
  static std::string outcome_name(uint32_t o);
  void merge(const CrossCoverage& o) {
    for (const auto& [k, n] : o.bins) bins[k] += n;
  }
  // {"commits": N, "bins": [{"opcode": .., "state": .., "hazard": .., "outcome": .., "n": ..}, ...]}
  std::string json() const;
};

struct CosimConfig {
  uint64_t seed = 1;
  uint64_t cycles = 200000;
  std::string fst_path;        // on a mismatch: re-run and dump an FST around it
  uint64_t fst_window = 200;   // cycles before the mismatch to dump
  bool verbose = true;         // print the summary and coverage
  // Parameters of the reference core. strong = true: the strong stimulus
  // (strong_stimulus.h) and a DUT with STRONG = 1 at the same engine
  // (make_dut = make_rtl_model_strong); reliable delivery stays off.
  CoreParams params{};
  // Plain stimulus: pulse the counter preload pin every n cycles (0: never).
  uint32_t preload_period = 0;
  // Plain stimulus: wide-value mode (Stimulus::set_wide).
  bool wide = false;
  // Collect CosimResult::cross (a map update per ingress commit).
  bool collect_cross = false;
  // Builds the model under test (default: the Verilated RTL). Tests use it to
  // wrap the RTL in a fault injector.
  std::function<std::unique_ptr<CorePinsModel>(const Straps&, const RtlTrace&)> make_dut;
};

struct CosimResult {
  bool pass = false;
  uint64_t cycles = 0;          // cycles compared
  uint64_t fail_cycle = 0;      // first mismatching cycle (valid if !pass)
  std::string fail_port;        // first mismatching port
  std::string report;           // mismatch report or summary
  // Transactions that matched.
  uint64_t reg_accesses = 0, ing_headers = 0, eg_headers = 0, verdicts = 0, delivered = 0, resets = 0;
  uint64_t high_ep_verdicts = 0;  // verdicts for entries past the default geometry's (larger tables only)
  uint32_t reasons_hit = 0, states_hit = 0, cmds_hit = 0, hazard_kinds = 0;
  uint32_t new_reasons_hit = 0;  // of the 10 core reasons of the hardening (STALE_GEN ... TABLE_FAULT)
  uint64_t tombstones = 0, resends = 0, reacks = 0;  // CLOSE tombstones, CONNECT re-sends, duplicate CONNECT re-ACKs
  // Counter preload (CosimConfig::preload_period): pulses driven, and cycles
  // in which some REJECT_COUNT stood at its cap (counted only in such runs).
  uint64_t preloads = 0, reject_cap_cycles = 0;
  // Table faults driven at the top 8 CST fault-port indices (rx_seq[15:9] and
  // the parity bit): the part of the index space a stale bit count missed.
  uint64_t cst_top_faults = 0;
  double seconds = 0;
  // Strong runs: strong reasons counted by the reference (MODE_MISMATCH, NO_LINK_KEY, BAD_MAC, KEY_EXHAUSTED).
  std::array<uint64_t, 4> strong_reasons{};
  CrossCoverage cross;  // with CosimConfig::collect_cross
};

// Quota straps of a lockstep seed for a table geometry (the default geometry's
// straps are those every recorded seed ran with).
Straps straps_for_seed(uint64_t seed, const Geometry& geo = Geometry{});
// Compares every output port (header field by field): true if they differ;
// port/ref_val/dut_val name the first difference, all lists every one.
bool first_output_diff(const PinsOut& ref, const PinsOut& dut, std::string& port, std::string& ref_val,
                       std::string& dut_val, std::string& all);
CosimResult run_cosim(const CosimConfig& cfg);

}  // namespace cmm::dv
