// Attackers room: a node on the fabric that is not a CMM. It speaks the link
// protocol (tlmshell::LinkExt, credits per class) and injects whatever it
// likes; withholding credits, it also models a node that never drains. The
// elaboration uses a silent one to terminate network ports no node uses.
#pragma once
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/extensions.h"

namespace cmm::tb {

using sc_core::sc_event;
using sc_core::sc_module;
using sc_core::sc_module_name;
using sc_core::sc_time;
using sc_core::SC_ZERO_TIME;

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

// The sniffer-and-replay attacker of the threat model (issue 9 item 6): a tap
// on one link (between a node's CMM egress and its fabric port) that records
// every packet crossing it and injects whatever it likes into the link:
// verbatim replays (CRC still valid) and splices (header of one packet,
// payload of another, CRC recomputed: it is no secret). Credit-transparent,
// except that it keeps one downstream credit per class as its own spare to
// inject with (the sender is granted one less).
class SnifferTap : public sc_module {
 public:
  SC_HAS_PROCESS(SnifferTap);
  tlm_utils::simple_target_socket<SnifferTap> tsock;     // from the node
  tlm_utils::simple_initiator_socket<SnifferTap> isock;  // to the fabric
  std::vector<std::unique_ptr<tlmshell::Packet>> recorded;
  uint64_t injected = 0;

  explicit SnifferTap(sc_module_name n) : sc_module(n), tsock("tsock"), isock("isock") {
    tsock.register_nb_transport_fw(this, &SnifferTap::fw);
    isock.register_nb_transport_bw(this, &SnifferTap::bw);
    ext_ = new tlmshell::LinkExt;  // owned by gp_
    gp_.set_extension(ext_);
    cext_ = new tlmshell::LinkExt;
    cext_->kind = tlmshell::LinkExt::kCredit;
    cgp_.set_extension(cext_);
  }
  // Injects p into the link once the spare credit of its class is there;
  // reseal: recompute the CRC (a splice). Call from a thread.
  void inject(const tlmshell::Packet& p, bool reseal) {
    const uint8_t c = p.cls & 1u;
    while (spare_[c] == 0) wait(spare_ev_);
    --spare_[c];
    pkt_.copy_from(p);
    if (reseal) tlmshell::seal(pkt_);
    ext_->kind = tlmshell::LinkExt::kPacket;
    ext_->pkt = &pkt_;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_time d = SC_ZERO_TIME;
    isock->nb_transport_fw(gp_, ph, d);  // the receiver copies it
    ++injected;
  }

 private:
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
    tlmshell::LinkExt* e = nullptr;
    gp.get_extension(e);
    if (ph == tlm::BEGIN_REQ && e && e->kind == tlmshell::LinkExt::kPacket && e->pkt) {
      recorded.push_back(std::make_unique<tlmshell::Packet>());
      recorded.back()->copy_from(*e->pkt);
    }
    return isock->nb_transport_fw(gp, ph, d);
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase& ph, sc_time& d) {
    tlmshell::LinkExt* e = nullptr;
    gp.get_extension(e);
    if (ph != tlm::BEGIN_RESP || !e || e->kind != tlmshell::LinkExt::kCredit) return tsock->nb_transport_bw(gp, ph, d);
    const uint8_t c = e->cls & 1u;
    uint32_t n = e->credits;
    if (n && spare_[c] == 0) {  // refill the spare first
      spare_[c] = 1;
      --n;
      spare_ev_.notify(SC_ZERO_TIME);
    }
    if (n) {
      cext_->cls = c;
      cext_->credits = static_cast<uint16_t>(n);
      tlm::tlm_phase p2 = tlm::BEGIN_RESP;
      sc_time d2 = d;
      tsock->nb_transport_bw(cgp_, p2, d2);
    }
    return tlm::TLM_COMPLETED;
  }

  std::array<uint32_t, 2> spare_{};
  sc_event spare_ev_;
  tlmshell::Packet pkt_;
  tlm::tlm_generic_payload gp_, cgp_;
  tlmshell::LinkExt* ext_ = nullptr;
  tlmshell::LinkExt* cext_ = nullptr;
};

}  // namespace cmm::tb
