// A fabric link end for tests: sends packets (with credits) and records
// received ones (granting credits, optionally withholding request credits).
#pragma once
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "cmm_tlm/extensions.h"

namespace cmm::tlmshell::test {

class LinkStub : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(LinkStub);
  tlm_utils::simple_initiator_socket<LinkStub> isock;  // our packets out
  tlm_utils::simple_target_socket<LinkStub> tsock;     // packets to us

  struct Rx {
    Header hdr;
    uint8_t cls;
    uint16_t len;
    std::vector<uint8_t> payload;
    sc_core::sc_time t;  // arrival time (call time + annotated delay)
    uint32_t crc = 0;
  };
  std::vector<Rx> rx;
  std::array<uint32_t, 2> credits{};      // held towards the peer
  std::array<uint32_t, 2> grant{4, 4};    // credits we grant at time 0
  std::array<bool, 2> auto_return{true, true};  // return a credit on every arrival
  int stamp_src = -1;     // >= 0: send() writes this src_node into every packet
  bool auto_seal = true;  // send() computes the CRC-32C (as a CMM shell does)

  explicit LinkStub(sc_core::sc_module_name n) : sc_module(n), isock("isock"), tsock("tsock") {
    isock.register_nb_transport_bw(this, &LinkStub::bw);
    tsock.register_nb_transport_fw(this, &LinkStub::fw);
    ext_ = new LinkExt;
    gp_.set_extension(ext_);
    cext_ = new LinkExt;
    cext_->kind = LinkExt::kCredit;
    cgp_.set_extension(cext_);
    SC_METHOD(init);
  }

  // Sends p now (+delay). Requires a credit of its class.
  bool send(const Packet& p, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME) {
    if (credits[p.cls & 1u] == 0) return false;
    --credits[p.cls & 1u];
    pkt_.copy_from(p);
    if (stamp_src >= 0) pkt_.hdr.src_node = static_cast<uint8_t>(stamp_src);
    if (auto_seal) seal(pkt_);
    return transmit(pkt_, delay);
  }
  // A rogue sender: hands the fabric its own packet object exactly as it is
  // (any payload_len, any CRC), without copying. Requires a credit.
  bool send_raw(Packet& p, const sc_core::sc_time& delay = sc_core::SC_ZERO_TIME) {
    if (credits[p.cls & 1u] == 0) return false;
    --credits[p.cls & 1u];
    return transmit(p, delay);
  }
  void give_credit(uint8_t cls, uint16_t n) {
    cext_->cls = cls;
    cext_->credits = n;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    tsock->nb_transport_bw(cgp_, ph, d);
  }

 private:
  bool transmit(Packet& p, const sc_core::sc_time& delay) {
    ext_->kind = LinkExt::kPacket;
    ext_->pkt = &p;
    tlm::tlm_phase ph = tlm::BEGIN_REQ;
    sc_core::sc_time d = delay;
    isock->nb_transport_fw(gp_, ph, d);
    return true;
  }
  void init() {
    for (uint8_t c = 0; c < 2; ++c)
      if (grant[c]) give_credit(c, static_cast<uint16_t>(grant[c]));
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_core::sc_time&) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (e && e->kind == LinkExt::kCredit) credits[e->cls & 1u] += e->credits;
    return tlm::TLM_COMPLETED;
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& gp, tlm::tlm_phase&, sc_core::sc_time& d) {
    LinkExt* e = nullptr;
    gp.get_extension(e);
    if (!e || !e->pkt) return tlm::TLM_COMPLETED;
    const Packet& p = *e->pkt;
    rx.push_back(Rx{p.hdr, p.cls, p.payload_len,
                    std::vector<uint8_t>(p.payload.begin(), p.payload.begin() + p.carried()),
                    sc_core::sc_time_stamp() + d, p.crc});
    if (auto_return[p.cls & 1u]) give_credit(p.cls & 1u, 1);
    return tlm::TLM_COMPLETED;
  }

  Packet pkt_;
  tlm::tlm_generic_payload gp_, cgp_;
  LinkExt* ext_ = nullptr;
  LinkExt* cext_ = nullptr;
};

}  // namespace cmm::tlmshell::test
