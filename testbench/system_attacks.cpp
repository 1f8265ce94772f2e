// Attackers room: one thread per attack of the scenario. Rogue nodes on
// their own fabric port (rogue_node.h) send forged packets of every kind or
// predicted keys; processes and kernels of the system try endpoints and CST
// entries that are not theirs. Verdicts are counted where they happen
// (system_monitors.cpp); the attempts here.
#include "system_impl.h"

namespace cmm::tb {

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
  std::mt19937_64 rng(seed::combine(opt_.seed, 0xBADull + A.channel + A.start_cycle));
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
      sw::Endpoint ep(*a.ctx, static_cast<uint16_t>(on_sender ? c.sep : c.rep), scen_.geometry.num_endpoints);
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
    while (a.rogue->received + fabric_->port_drops(a.port).hol_timeout < a.attempts && cycle() < limit)
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
  h.src_ep = static_cast<uint16_t>(to_sender ? c.rep : c.sep);
  h.dst_node = to_sender ? sn.id : rn.id;
  h.dst_part = static_cast<uint8_t>(to_sender ? c.s.part : c.r.part);
  h.dst_ep = static_cast<uint16_t>(to_sender ? c.sep : c.rep);
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
    case 6: h.opcode = 8; break;  // no such opcode (7 is ACK on reliable strong channels)
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
  const uint64_t seed = i % 2 == 0 ? opt_.seed : seed::combine(opt_.seed, (uint64_t{rn.id} << 8) | c.r.part);
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
  h.src_ep = static_cast<uint16_t>(c.sep);
  h.dst_node = rn.id;
  h.dst_part = static_cast<uint8_t>(c.r.part);
  h.dst_ep = static_cast<uint16_t>(c.rep);
  h.tag = static_cast<uint16_t>(c.spec->messages + i);
  h.len = 16;
  h.key = k;
  p.payload_len = 16;
  a.rogue->send(p);
}

bool System::attacks_done() const {
  for (const auto& a : attacks_)
    if (!a->done) return false;
  return true;
}

}  // namespace cmm::tb
