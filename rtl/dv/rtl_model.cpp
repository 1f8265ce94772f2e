// Verilated rtl/cmm_core.sv behind cmm::CorePinsModel: pins only.
// Compiled once per model flavour (rtl/CMakeLists.txt): the plain model, the
// coverage model (CMM_RTL_COV: line/toggle/user coverage, written per model
// instance into $CMM_COV_DIR) and the mutant schema (CMM_RTL_MUT: the mutant
// is chosen at run time by $CMM_MUT_ID, passed to the RTL as +MUT_ID=<n>)
// and the strong coverage model (CMM_RTL_COV_STRONG: STRONG = 1, provides
// make_rtl_model_strong).
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "rtl_model.h"
#if defined(CMM_RTL_COV_STRONG)
#include <verilated_cov.h>

#include "Vcmm_core_cov_strong.h"
using VTop = Vcmm_core_cov_strong;
#define CMM_RTL_COV 1
#define CMM_RTL_STRONG 1
#elif defined(CMM_RTL_COV)
#include <verilated_cov.h>

#include "Vcmm_core_cov.h"
using VTop = Vcmm_core_cov;
#elif defined(CMM_RTL_STRONG)
#include "Vcmm_core_strong.h"
using VTop = Vcmm_core_strong;
#elif defined(CMM_RTL_G2)
#include "Vcmm_core_g2.h"
using VTop = Vcmm_core_g2;
#elif defined(CMM_RTL_MUT)
#include "Vcmm_core_mut.h"
using VTop = Vcmm_core_mut;
#else
#include "Vcmm_core.h"
using VTop = Vcmm_core;
#endif
#if defined(CMM_RTL_COV) || defined(CMM_RTL_MUT) || defined(CMM_RTL_STRONG) || defined(CMM_RTL_NOFST) || \
    defined(CMM_RTL_G2)
#define CMM_RTL_FST 0  // the closure models are built without tracing
#else
#define CMM_RTL_FST 1
#endif

namespace cmm::dv {
namespace {

using namespace regs;

constexpr uint64_t kHalfPeriodPs = 500;  // 1 GHz, Verilator's default 1 ps precision
#if defined(CMM_RTL_G2)
// The second geometry's model (rtl/CMakeLists.txt CMM_RTL_GEOMETRY2): its
// straps pin carries CMM_RTL_G2_PARTITIONS quotas.
constexpr uint32_t kPinPartitions = CMM_RTL_G2_PARTITIONS;
#else
constexpr uint32_t kPinPartitions = regs::kNumPartitions;
#endif
constexpr uint32_t kPinQuotaBits = kPinPartitions * regs::CMM_PART_INFO_QUOTA_BITS;
static_assert(sizeof(VTop::cfg_quota_i) * 8 >= kPinQuotaBits && sizeof(VTop::cfg_quota_i) * 8 < kPinQuotaBits + 32,
              "cfg_quota_i of the Verilated model has another width than the partition count implies");

class RtlModel final : public CorePinsModel {
 public:
  RtlModel(const Straps& s, const RtlTrace& tr) : trace_(tr) {
    ctx_ = std::make_unique<VerilatedContext>();
    ctx_->debug(0);
    ctx_->randReset(0);
    // +MUT_ID=<n> selects a mutant of the schema model; other models have no
    // plusarg and ignore it.
    if (const char* m = std::getenv("CMM_MUT_ID")) {
      const std::string arg = std::string("+MUT_ID=") + m;
      const char* argv[] = {"cmm_rtl", arg.c_str()};
      ctx_->commandArgs(2, argv);
    }
#if CMM_RTL_FST
    if (!trace_.fst_path.empty()) ctx_->traceEverOn(true);
#endif
    top_ = std::make_unique<VTop>(ctx_.get(), "cmm_core");
    top_->cfg_node_id_i = s.node_id;
    // cfg_quota_i is wider than 64 bits (a VlWide): partition p at bits [p*W +: W].
    constexpr uint32_t w = regs::CMM_PART_INFO_QUOTA_BITS;
    for (uint32_t i = 0; i < (kPinQuotaBits + 31) / 32; ++i) top_->cfg_quota_i[i] = 0;
    for (uint32_t p = 0; p < kPinPartitions; ++p)
      for (uint32_t b = 0; b < w; ++b)
        if ((s.quota[p] >> b) & 1u) top_->cfg_quota_i[(p * w + b) / 32] |= 1u << ((p * w + b) % 32);
    top_->clk = 0;
    top_->rst_ni = 1;
    top_->eval();
    reset();     // the C++ core's power-up state; not traced, not counted
    edges_ = 0;  // FST time = the harness's edge count
#if CMM_RTL_FST
    if (!trace_.fst_path.empty()) {
      fst_ = std::make_unique<VerilatedFstC>();
      top_->trace(fst_.get(), 99);
      fst_->open(trace_.fst_path.c_str());
    }
#endif
  }
  ~RtlModel() override {
    if (fst_) fst_->close();
    top_->final();
#if defined(CMM_RTL_COV)
    // One file per model instance (each has its own context); scripts/coverage
    // merges them with verilator_coverage.
    static std::atomic<unsigned> seq{0};
    const char* dir = std::getenv("CMM_COV_DIR");
    const std::string path = std::string(dir && *dir ? dir : ".") + "/cov_" + std::to_string(::getpid()) + "_" +
                             std::to_string(seq++) + ".dat";
    ctx_->coveragep()->write(path.c_str());
#endif
  }

  const char* kind() const override { return "rtl"; }
  const PinsOut& out() const override { return out_; }
  uint64_t cycle() const override { return cycle_; }

  void step(const PinsIn& in) override {
    s1_busy_ = in.ing_valid && out_.ing_ready;
    // What the pins cannot show (the C++ core's quiescent() sees it inside):
    // a flipped table bit is checked at the next edge, and a seed or a HWKEY
    // command may start a key computation (KEYGEN_CYCLES edges). Assumed
    // conservatively from the inputs.
    fault_pending_ = in.fault_valid;
    if (kg_left_ > 0) --kg_left_;
    const bool hwkey_cmd = in.reg_req_valid && out_.reg_req_ready && in.reg_req_write &&
                           (in.reg_req_addr & ((1u << regs::kAddrBits) - 1u)) == CMM_CMD_OFFSET &&
                           CMM_FIELD_GET(in.reg_req_wdata, CMM_CMD_HWKEY) != 0;
    if ((in.entropy_valid && in.entropy != Key{}) || hwkey_cmd) kg_left_ = regs::kKeygenCycles + 1u;
    edge(in, true);
    ++cycle_;
  }
  using CorePinsModel::reset;
  void reset(const PinsIn& in) override {
    edge(in, false);
    cycle_ = 0;
    s1_busy_ = fault_pending_ = false;
    kg_left_ = 0;
  }
  // Idle edges of a quiescent core change nothing but time and the key
  // generator's countdown (docs/security.md 1.10), which the pins do not
  // show: the first ones are evaluated (a computation ends within
  // KEYGEN_CYCLES edges), the rest only counted.
  void skip_idle(uint64_t n) override {
    const uint64_t k = std::min<uint64_t>(n, regs::kKeygenCycles + 1u);
    for (uint64_t i = 0; i < k; ++i) edge(PinsIn{}, true);
    kg_left_ = 0;
    fault_pending_ = s1_busy_ = false;
    cycle_ += n;
  }
  // Derived from the pins with the C++ core's definition (no header in S1,
  // no egress header, no register response, no verdict, no MAC engine
  // loaded), so both implementations skip exactly the same idle cycles. With
  // no egress header the queues are empty: ing_ready low then means S1 waits
  // for the RX engine, reg_req_ready low that the TX engine is loaded.
  bool quiescent() const override {
    return !s1_busy_ && !out_.eg_valid && !out_.reg_rsp_valid && !out_.vd_valid && !fault_pending_ && kg_left_ == 0 &&
           out_.ing_ready && out_.reg_req_ready;
  }

 private:
  void edge(const PinsIn& in, bool rst_n) {
    VTop& t = *top_;
    t.rst_ni = rst_n;
    t.reg_req_valid_i = in.reg_req_valid;
    t.reg_req_write_i = in.reg_req_write;
    t.reg_req_addr_i = in.reg_req_addr & ((1u << regs::kAddrBits) - 1u);
    t.reg_req_wdata_i = in.reg_req_wdata;
    t.reg_req_part_i = in.reg_req_part & ((1u << regs::kPartIdBits) - 1u);
    t.reg_req_priv_i = in.reg_req_priv & 1u;
    t.reg_req_pid_i = in.reg_req_pid;
    t.reg_req_fw_i = in.reg_req_fw;
    t.mac_tx_valid_i = in.mac_tx_valid;
    t.mac_rx_valid_i = in.mac_rx_valid;
    for (uint32_t w = 0; w < regs::kMacBeatBytes / 4; ++w) {
      uint32_t tx = 0, rx = 0;
      for (uint32_t j = 0; j < 4; ++j) {
        tx |= uint32_t{in.mac_tx_data[4 * w + j]} << (8 * j);
        rx |= uint32_t{in.mac_rx_data[4 * w + j]} << (8 * j);
      }
      t.mac_tx_data_i[w] = tx;
      t.mac_rx_data_i[w] = rx;
    }
    t.ing_valid_i = in.ing_valid;
    const Header::Packed hp = in.ing_hdr.pack();
    for (size_t w = 0; w < hp.size(); ++w) t.ing_hdr_i[w] = hp[w];
    t.eg_ready_i = in.eg_ready;
    t.cycle_i = in.cycle;
    t.entropy_valid_i = in.entropy_valid;
    for (uint32_t w = 0; w < regs::kKeyWords; ++w) t.entropy_i[w] = in.entropy[w];
    t.fault_valid_i = in.fault_valid;
    t.fault_table_i = in.fault_table & 1u;  // a 1-bit pin (0 CST, 1 CKT)
    t.fault_entry_i = in.fault_entry;
    t.fault_bit_i = in.fault_bit;
    t.dv_preload_i = in.dv_preload;
#if defined(CMM_RTL_BOTH_EDGES)
    // Flops on both edges (+define+CMM_BOTH_EDGES): one toggle, one
    // evaluation per cycle (the inputs settle and the flops take them).
    t.clk = !t.clk;
    t.eval();
    dump(2 * edges_ + 1);
#else
    t.clk = 0;
    t.eval();
    dump(2 * edges_);
    t.clk = 1;
    t.eval();
    dump(2 * edges_ + 1);
#endif
    ++edges_;
    sample();
  }

  void sample() {
    const VTop& t = *top_;
    PinsOut& o = out_;
    o.reg_req_ready = t.reg_req_ready_o;
    o.reg_rsp_valid = t.reg_rsp_valid_o;
    o.reg_rsp_rdata = t.reg_rsp_rdata_o;
    o.reg_rsp_status = t.reg_rsp_status_o;
    o.reg_rsp_buf = t.reg_rsp_buf_o;
    o.reg_rsp_buf_slot = t.reg_rsp_buf_slot_o;
    o.ing_ready = t.ing_ready_o;
    o.eg_valid = t.eg_valid_o;
    o.eg_cls = t.eg_cls_o;
    // The egress header changes only at a push or pop: unpacked only then.
    bool same = true;
    for (size_t w = 0; w < eg_packed_.size(); ++w) {
      same = same && eg_packed_[w] == t.eg_hdr_o[w];
      eg_packed_[w] = t.eg_hdr_o[w];
    }
    if (!same) o.eg_hdr = Header::unpack(eg_packed_);
    o.vd_valid = t.vd_valid_o;
    o.vd_accept = t.vd_accept_o;
    o.vd_ep = t.vd_ep_o;
    o.vd_slot = t.vd_slot_o;
    o.vd_reason = t.vd_reason_o;
    o.irq = t.irq_o;
    o.mac_tx_ready = t.mac_tx_ready_o;
    o.mac_rx_ready = t.mac_rx_ready_o;
    for (uint32_t w = 0; w < regs::kKeyWords; ++w) o.eg_wrap[w] = t.eg_wrap_o[w];
  }

  void dump(uint64_t half) {
    if (fst_ && edges_ >= trace_.from_cycle && edges_ <= trace_.to_cycle) fst_->dump(half * kHalfPeriodPs);
  }

  RtlTrace trace_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<VTop> top_;
  std::unique_ptr<VerilatedFstC> fst_;
  PinsOut out_{};
  Header::Packed eg_packed_{};  // eg_hdr_o as last unpacked into out_.eg_hdr (all zero = Header{})
  uint64_t edges_ = 0;  // every edge since construction (FST time)
  uint64_t cycle_ = 0;  // CorePinsModel::cycle(): edges since the last reset
  bool s1_busy_ = false;
  bool fault_pending_ = false;  // a fault was injected at the last edge
  uint32_t kg_left_ = 0;        // edges a key computation may still take
};

}  // namespace

#if defined(CMM_RTL_G2)
std::unique_ptr<CorePinsModel> make_rtl_model_g2(const Straps& s, const RtlTrace& trace) {
  return std::make_unique<RtlModel>(s, trace);
}

// CMM_RTL_G2_GEOMETRY: the generator's --geometry text the model was built
// from, parsed once (the directed replay asks at every edge).
namespace {
Geometry parse_g2_geometry() {
  Geometry g;
  const std::string text = CMM_RTL_G2_GEOMETRY;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const uint32_t v = eq == std::string::npos ? 0 : static_cast<uint32_t>(std::stoul(item.substr(eq + 1)));
    if (key == "num_endpoints") g.num_endpoints = v;
    else if (key == "num_partitions") g.num_partitions = v;
    else if (key == "rxq_depth") g.rxq_depth = v;
    else if (key == "mgmtq_depth") g.mgmtq_depth = v;
    else if (key == "errlog_depth") g.errlog_depth = v;
    else if (key == "egq_depth") g.egq_depth = v;
    else throw std::invalid_argument("CMM_RTL_G2_GEOMETRY: unknown key '" + key + "' in '" + text + "'");
    at = end + 1;
  }
  if (g.num_partitions != kPinPartitions || !g.check().empty())
    throw std::invalid_argument("CMM_RTL_G2_GEOMETRY '" + text + "': " +
                                (g.check().empty() ? "partition count differs from the model's pins" : g.check()));
  return g;
}
}  // namespace

Geometry rtl_g2_geometry() {
  static const Geometry g = parse_g2_geometry();
  return g;
}
#elif defined(CMM_RTL_STRONG)
std::unique_ptr<CorePinsModel> make_rtl_model_strong(const Straps& s, const RtlTrace& trace) {
  return std::make_unique<RtlModel>(s, trace);
}
#else
std::unique_ptr<CorePinsModel> make_rtl_model(const Straps& s, const RtlTrace& trace) {
  return std::make_unique<RtlModel>(s, trace);
}
#endif

}  // namespace cmm::dv
