#include "cmm_tlm/signal_shell.h"

namespace cmm::tlmshell {

using namespace sc_core;

CmmCoreSignalShell::CmmCoreSignalShell(sc_module_name name, const CoreParams& params)
    : sc_module(name),
      clk("clk"),
      rst_ni("rst_ni"),
      cfg_node_id_i("cfg_node_id_i"),
      cfg_quota_i("cfg_quota_i"),
      reg_req_valid_i("reg_req_valid_i"),
      reg_req_ready_o("reg_req_ready_o"),
      reg_req_write_i("reg_req_write_i"),
      reg_req_addr_i("reg_req_addr_i"),
      reg_req_wdata_i("reg_req_wdata_i"),
      reg_req_part_i("reg_req_part_i"),
      reg_req_priv_i("reg_req_priv_i"),
      reg_req_pid_i("reg_req_pid_i"),
      reg_rsp_valid_o("reg_rsp_valid_o"),
      reg_rsp_rdata_o("reg_rsp_rdata_o"),
      reg_rsp_status_o("reg_rsp_status_o"),
      reg_rsp_buf_o("reg_rsp_buf_o"),
      reg_rsp_buf_slot_o("reg_rsp_buf_slot_o"),
      ing_valid_i("ing_valid_i"),
      ing_ready_o("ing_ready_o"),
      ing_hdr_i("ing_hdr_i"),
      eg_valid_o("eg_valid_o"),
      eg_ready_i("eg_ready_i"),
      cycle_i("cycle_i"),
      entropy_valid_i("entropy_valid_i"),
      entropy_i("entropy_i"),
      fault_valid_i("fault_valid_i"),
      fault_table_i("fault_table_i"),
      fault_entry_i("fault_entry_i"),
      fault_bit_i("fault_bit_i"),
      dv_preload_i("dv_preload_i"),
      eg_cls_o("eg_cls_o"),
      eg_hdr_o("eg_hdr_o"),
      vd_valid_o("vd_valid_o"),
      vd_accept_o("vd_accept_o"),
      vd_ep_o("vd_ep_o"),
      vd_slot_o("vd_slot_o"),
      vd_reason_o("vd_reason_o"),
      irq_o("irq_o"),
      reg_req_fw_i("reg_req_fw_i"),
      mac_tx_valid_i("mac_tx_valid_i"),
      mac_tx_data_i("mac_tx_data_i"),
      mac_rx_valid_i("mac_rx_valid_i"),
      mac_rx_data_i("mac_rx_data_i"),
      mac_tx_ready_o("mac_tx_ready_o"),
      mac_rx_ready_o("mac_rx_ready_o"),
      eg_wrap_o("eg_wrap_o"),
      params_(params),
      core_(Straps{}, params) {
  SC_METHOD(on_clk);
  sensitive << clk.pos();  // also runs once at initialization to drive the reset outputs
}

sc_dt::sc_bv<regs::kHdrBits> CmmCoreSignalShell::to_bv(const Header& h) {
  const Header::Packed p = h.pack();
  sc_dt::sc_bv<regs::kHdrBits> v;
  for (uint32_t w = 0; w < p.size(); ++w) {
    const uint32_t lo = 32 * w;
    const uint32_t hi = std::min<uint32_t>(lo + 31, regs::kHdrBits - 1);
    v.range(hi, lo) = p[w];
  }
  return v;
}

Header CmmCoreSignalShell::from_bv(const sc_dt::sc_bv<regs::kHdrBits>& v) {
  Header::Packed p{};
  for (uint32_t w = 0; w < p.size(); ++w) {
    const uint32_t lo = 32 * w;
    const uint32_t hi = std::min<uint32_t>(lo + 31, regs::kHdrBits - 1);
    p[w] = static_cast<uint32_t>(v.range(hi, lo).to_uint());
  }
  return Header::unpack(p);
}

Straps CmmCoreSignalShell::read_straps() const {
  Straps s;
  s.node_id = static_cast<uint16_t>(cfg_node_id_i.read() & 0xFFFFu);
  const sc_dt::sc_bv<kQuotaPinBits> q = cfg_quota_i.read();
  constexpr uint32_t w = regs::CMM_PART_INFO_QUOTA_BITS;
  for (uint32_t p = 0; p < regs::kNumPartitions; ++p) s.quota[p] = q.range(p * w + w - 1, p * w).to_uint();
  return s;
}

void CmmCoreSignalShell::on_clk() {
  if (!initialized_) {  // time-0 initialization run: show the power-up outputs
    initialized_ = true;
    core_ = CmmCore(read_straps(), params_);
    core_.set_observer(obs_);
    write_outputs();
    return;
  }
  if (!rst_ni.read()) {  // synchronous, active low: straps sampled here
    core_ = CmmCore(read_straps(), params_);
    core_.set_observer(obs_);
    write_outputs();
    return;
  }
  PinsIn in;
  in.reg_req_valid = reg_req_valid_i.read();
  in.reg_req_write = reg_req_write_i.read();
  in.reg_req_addr = reg_req_addr_i.read() & ((1u << regs::kAddrBits) - 1u);
  in.reg_req_wdata = reg_req_wdata_i.read();
  in.reg_req_part = static_cast<uint8_t>(reg_req_part_i.read() & ((1u << regs::kPartIdBits) - 1u));
  in.reg_req_priv = reg_req_priv_i.read() ? 1 : 0;
  in.reg_req_pid = static_cast<uint16_t>(reg_req_pid_i.read() & ((1u << regs::kPidBits) - 1u));
  in.ing_valid = ing_valid_i.read();
  in.ing_hdr = from_bv(ing_hdr_i.read());
  in.eg_ready = eg_ready_i.read();
  in.cycle = cycle_i.read();
  if (entropy_valid_i.size() != 0 && entropy_valid_i->read()) {
    in.entropy_valid = true;
    if (entropy_i.size() != 0) {
      const sc_dt::sc_bv<regs::kKeyBits> k = entropy_i->read();
      for (uint32_t w = 0; w < regs::kKeyWords; ++w) in.entropy[w] = static_cast<uint32_t>(k.get_word(static_cast<int>(w)));
    }
  }
  if (fault_valid_i.size() != 0 && fault_valid_i->read()) {
    in.fault_valid = true;
    in.fault_table = fault_table_i.size() != 0 && fault_table_i->read() ? 1 : 0;
    in.fault_entry = static_cast<uint16_t>(fault_entry_i.size() != 0 ? fault_entry_i->read() & 0xFFFFu : 0u);
    in.fault_bit = static_cast<uint8_t>(fault_bit_i.size() != 0 ? fault_bit_i->read() & 0xFFu : 0u);
  }
  in.dv_preload = dv_preload_i.size() != 0 && dv_preload_i->read();
  in.reg_req_fw = reg_req_fw_i.size() != 0 && reg_req_fw_i->read();
  auto beat = [](const sc_dt::sc_bv<8 * regs::kMacBeatBytes>& v, MacBeat& b) {
    for (uint32_t i = 0; i < regs::kMacBeatBytes; ++i)
      b[i] = static_cast<uint8_t>(v.range(static_cast<int>(8 * i + 7), static_cast<int>(8 * i)).to_uint());
  };
  if (mac_tx_valid_i.size() != 0 && mac_tx_valid_i->read()) {
    in.mac_tx_valid = true;
    if (mac_tx_data_i.size() != 0) beat(mac_tx_data_i->read(), in.mac_tx_data);
  }
  if (mac_rx_valid_i.size() != 0 && mac_rx_valid_i->read()) {
    in.mac_rx_valid = true;
    if (mac_rx_data_i.size() != 0) beat(mac_rx_data_i->read(), in.mac_rx_data);
  }
  core_.step(in);
  write_outputs();
}

void CmmCoreSignalShell::write_outputs() {
  const PinsOut& o = core_.out();
  reg_req_ready_o.write(o.reg_req_ready);
  reg_rsp_valid_o.write(o.reg_rsp_valid);
  reg_rsp_rdata_o.write(o.reg_rsp_rdata);
  reg_rsp_status_o.write(o.reg_rsp_status & 3u);
  reg_rsp_buf_o.write(o.reg_rsp_buf);
  reg_rsp_buf_slot_o.write(o.reg_rsp_buf_slot & 0xFu);
  ing_ready_o.write(o.ing_ready);
  eg_valid_o.write(o.eg_valid);
  eg_cls_o.write(o.eg_cls != 0);
  eg_hdr_o.write(to_bv(o.eg_hdr));
  vd_valid_o.write(o.vd_valid);
  vd_accept_o.write(o.vd_accept);
  vd_ep_o.write(o.vd_ep);
  vd_slot_o.write(o.vd_slot & 0xFu);
  vd_reason_o.write(o.vd_reason);
  irq_o.write(o.irq & 0xFFu);
  if (mac_tx_ready_o.size() != 0) mac_tx_ready_o->write(o.mac_tx_ready);
  if (mac_rx_ready_o.size() != 0) mac_rx_ready_o->write(o.mac_rx_ready);
  if (eg_wrap_o.size() != 0) {
    sc_dt::sc_bv<regs::kKeyBits> w;
    for (uint32_t i = 0; i < regs::kKeyWords; ++i) w.set_word(static_cast<int>(i), o.eg_wrap[i]);
    eg_wrap_o->write(w);
  }
}

}  // namespace cmm::tlmshell
