// CMM core, synthesizable SystemVerilog. Same ports and cycle behaviour as
// cmm::CmmCore (hw/src/cmm_core.{h,cpp}); the contract is docs/core-interface.md.
//
// Structure (see docs/rtl.md):
//   * state registers (*_q), written only by the single flop process p_flops;
//   * combinational next-state logic that gives the result of applying, in
//     this order, exactly like CmmCore::step():
//       0. table parity check (fail closed, security.md 1.11; p_flt) and the
//          key generator's seed / SipHash round (1.10; p_kg_mid)
//       1. egress pop            (eg_valid_o && eg_ready_i)
//       2. clear the one-cycle response / verdict pulses
//       3. ingress commit (S2)   of the header held in S1
//       4. ingress accept (S1)   (ing_valid_i && ing_ready_o)
//       5. register access       (reg_req_valid_i && reg_req_ready_o), which
//                                sees the effects of step 3
//     Step 3 (p_ing) and step 5 (p_reg) are decision processes: they work on
//     a copy of the one CST/CKT entry they touch (wi_* / wr_*; p_reg also on
//     the requester partition's bank, wp_*) and record their other effects as
//     small events (reject/STAT counts, error-log entry, IRQ causes, egress
//     header, management message). Small per-table processes apply them with
//     constant indices: p_mid_* give the mid-edge state *_m that step 5 reads,
//     p_fin_* / p_egq / p_rxq / p_s1 the next state *_n. Same result as
//     blocking updates in step order; small decision trees for synthesis;
//   * outputs: continuous functions of the state registers only (no input to
//     output path), like CmmCore::compute_outputs().
//   * synchronous active-low reset, applied in the next-state processes (the
//     next state is the power-up state while rst_ni is low);
//   * after the update: the HWKEY draw's generator restart (p_kg), the parity
//     of every written entry and the DV fault injection (p_fault, p_flops).

// Every offset, field position and width comes from cmm_pkg (generated from
// hw/data/cmm.toml). The CKT key array has no path to the register read mux
// (invariant I1 by construction): rdata (reg_rd) is built from CST, counters,
// logs and the per-partition bank only (never from wr_key / wp_key_stage);
// KEY staging is write-only.
//
// Language subset: also read by Debian's yosys 0.23, which has no package
// import, no struct members inside tasks/functions or on array elements, no
// type casts and no `return`. Hence: the package names come in through the
// generated alias file cmm_pkg_import.svh, tables are one array per field,
// and headers are vectors sliced with the package's HDR_<FIELD>_LSB/_BITS.

// Header field f of header vector v.
`define CMM_H(v, f) v[HDR_``f``_LSB +: HDR_``f``_BITS]

// The flops' clock event. Default: the rising edge. CMM_BOTH_EDGES (the
// Verilated lockstep/TLM model only, rtl/CMakeLists.txt): every edge of clk is
// a cycle, so the harness evaluates the model once per cycle instead of twice
// (docs/rtl.md "Evaluation per cycle").
`ifndef CMM_CLK_EDGE
`ifdef CMM_BOTH_EDGES
`define CMM_CLK_EDGE edge clk
`else
`define CMM_CLK_EDGE posedge clk
`endif
`endif
// The next-state processes. Default: always_comb blocks (synthesis, lint,
// the coverage/mutant/strong/SystemC models). CMM_ONE_PASS (the Verilated
// lockstep/TLM model only): the same blocks as tasks that the flop process
// calls in dependency order at each edge, so the next-state logic runs once
// per cycle instead of once per input change and once per state change
// (docs/rtl.md "Evaluation per cycle").
`ifdef CMM_ONE_PASS
`define CMM_COMB(n) task automatic n``_t(); begin : n
`define CMM_COMB_END end endtask
`else
`define CMM_COMB(n) always_comb begin : n
`define CMM_COMB_END end
`endif
// Row guard of the table loops. Default: empty (every row, every time).
// CMM_ONE_PASS: only the rows an edge may change or changed at the last edge
// (the *_act masks of p_flops); the others still hold their values
// (docs/rtl.md "Evaluation per cycle").
`ifdef CMM_ONE_PASS
`define CMM_ACT(m) if (m)
`else
`define CMM_ACT(m)
`endif

module cmm_core #(
  // Strong mode (docs/strong-mode.md 11). STRONG = 0: the core before strong
  // mode, bit-exact (the new inputs are ignored, the new outputs stay 0).
  parameter bit          STRONG = 1'b0,
  parameter int unsigned MAC_B  = 16,  // mac_bytes_per_cycle, 1..16
  parameter int unsigned MAC_L  = 4    // mac_latency_cycles, 0..255
) (
  input  logic                                                 clk,
  input  logic                                                 rst_ni,
  // straps
  input  logic [cmm_pkg::NODE_ID_BITS-1:0]                     cfg_node_id_i,
  input  logic [cmm_pkg::NUM_PARTITIONS*cmm_pkg::CMM_PART_INFO_QUOTA_BITS-1:0] cfg_quota_i,
  // register port, request
  input  logic                                                 reg_req_valid_i,
  output logic                                                 reg_req_ready_o,
  input  logic                                                 reg_req_write_i,
  input  logic [cmm_pkg::CMM_ADDR_BITS-1:0]                    reg_req_addr_i,
  input  logic [$bits(cmm_pkg::CMM_MAGIC)-1:0]                 reg_req_wdata_i,
  input  logic [cmm_pkg::PART_ID_BITS-1:0]                     reg_req_part_i,
  input  logic [cmm_pkg::PRIV_BITS-1:0]                        reg_req_priv_i,
  input  logic [cmm_pkg::PID_BITS-1:0]                         reg_req_pid_i,
  // register port, response
  output logic                                                 reg_rsp_valid_o,
  output logic [$bits(cmm_pkg::CMM_MAGIC)-1:0]                 reg_rsp_rdata_o,
  output logic [cmm_pkg::RSP_BITS-1:0]                         reg_rsp_status_o,
  output logic                                                 reg_rsp_buf_o,
  output logic [cmm_pkg::CMM_EP_RX_STATUS_SLOT_BITS-1:0]       reg_rsp_buf_slot_o,
  // ingress headers
  input  logic                                                 ing_valid_i,
  output logic                                                 ing_ready_o,
  input  logic [cmm_pkg::HDR_BITS-1:0]                         ing_hdr_i,
  // egress headers
  output logic                                                 eg_valid_o,
  input  logic                                                 eg_ready_i,
  // platform timebase: free-running cycle count of this clock (alarm windows only)
  input  logic [31:0]                                          cycle_i,
  // key generator seed: a TRNG/PUF value after reset (docs/security.md 1.10)
  input  logic                                                 entropy_valid_i,
  input  logic [cmm_pkg::KEY_BITS-1:0]                         entropy_i,
  // fault injection (DV only, tied to 0 in silicon; docs/security.md 1.11):
  // invert stored bit fault_bit_i of entry fault_entry_i of the CST (0) / CKT (1)
  input  logic                                                 fault_valid_i,
  input  logic                                                 fault_table_i,
  input  logic [cmm_pkg::EP_ID_BITS-1:0]                       fault_entry_i,
  input  logic [7:0]                                           fault_bit_i,
  // counter preload (DV only, tied to 0 in silicon; PinsIn::dv_preload): every
  // statistic counter stored DV_PRELOAD_MARGIN below its cap and every sequence
  // number DV_PRELOAD_MARGIN back after this edge's update, so lockstep runs
  // reach saturation and wrap (docs/rtl.md)
  input  logic                                                 dv_preload_i,
  output logic                                                 eg_cls_o,
  output logic [cmm_pkg::HDR_BITS-1:0]                         eg_hdr_o,
  // delivery verdicts
  output logic                                                 vd_valid_o,
  output logic                                                 vd_accept_o,
  output logic [cmm_pkg::EP_ID_BITS-1:0]                       vd_ep_o,
  output logic [cmm_pkg::CMM_EP_RX_STATUS_SLOT_BITS-1:0]       vd_slot_o,
  output logic [cmm_pkg::CMM_ERRLOG_HEAD_REASON_BITS-1:0]      vd_reason_o,
  // interrupts
  output logic [cmm_pkg::NUM_PARTITIONS-1:0]                   irq_o,
  // strong mode (11.3, 11.6): FIRMWARE requester, MAC payload streams, CONNECT wrap payload
  input  logic                                                 reg_req_fw_i,
  input  logic                                                 mac_tx_valid_i,
  input  logic [8*cmm_pkg::MAC_BEAT_BYTES-1:0]                 mac_tx_data_i,
  output logic                                                 mac_tx_ready_o,
  input  logic                                                 mac_rx_valid_i,
  input  logic [8*cmm_pkg::MAC_BEAT_BYTES-1:0]                 mac_rx_data_i,
  output logic                                                 mac_rx_ready_o,
  output logic [cmm_pkg::KEY_BITS-1:0]                         eg_wrap_o
);

  // Every cmm_pkg name, as module-scope aliases (no values in that file).
`include "cmm_pkg_import.svh"

  // ------------------------------------------------------------------ geometry
  localparam int DW     = $bits(CMM_MAGIC);            // register data width
  localparam int NEP    = NUM_ENDPOINTS;
  localparam int NPART  = NUM_PARTITIONS;
  localparam int EPI    = EP_IDX_BITS;                 // endpoint index width
  localparam int PI     = PART_IDX_BITS;               // partition index width
  localparam int RSN_W  = CMM_ERRLOG_HEAD_REASON_BITS; // reason field width (headers, status)
  localparam int OPC_W  = CMM_ERRLOG_HEAD_OPCODE_BITS; // opcode width
  localparam int LEN_W  = CMM_EP_DOORBELL_LEN_BITS;
  localparam int TAG_W  = CMM_EP_DOORBELL_TAG_BITS;
  localparam int SLOT_W = CMM_EP_RX_STATUS_SLOT_BITS;
  localparam int QUO_W  = CMM_PART_INFO_QUOTA_BITS;
  localparam int USED_W = CMM_PART_USED_USED_BITS;
  localparam int STATE_W = STATE_BITS;
  localparam int RSP_W  = RSP_BITS;
  localparam int RXQ_IW = $clog2(RXQ_DEPTH);
  localparam int RXQ_CW = $clog2(RXQ_DEPTH + 1);
  localparam int EGQ_IW = $clog2(EGQ_DEPTH);
  localparam int EGQ_CW = $clog2(EGQ_DEPTH + 1);
  localparam int MQ_IW  = $clog2(MGMTQ_DEPTH);
  localparam int MQ_CW  = $clog2(MGMTQ_DEPTH + 1);
  localparam int EL_IW  = $clog2(ERRLOG_DEPTH);
  localparam int EL_CW  = $clog2(ERRLOG_DEPTH + 1);
  localparam int GEN_W  = CMM_CST_GEN_LOCAL_BITS;           // generation (epoch) width
  localparam int SEQ_W  = HDR_SEQ_BITS;                     // sequence number width
  localparam int REP_W  = CMM_ERRLOG_HEAD_REPEAT_COUNT_BITS;  // error-log repeat count
  localparam int EXC_W  = CMM_EXC_COUNT_COUNT_BITS;
  localparam int ALC_W  = CMM_ALARM_COUNT_COUNT_BITS;
  localparam int KW     = KEY_WORDS;
  localparam int ACFG_W = CMM_ALARM_CFG_WINDOW_LOG2_LSB + CMM_ALARM_CFG_WINDOW_LOG2_BITS;  // ALARM_CFG fields
  typedef logic [ACFG_W-1:0] acfg_t;
  localparam int KG_W   = $clog2(KEYGEN_CYCLES + 1);         // key generator countdown
  localparam int TFC_W  = CMM_TABLE_FAULT_COUNT_BITS;
  // Parity-protected CST bits (docs/security.md 1.11; the order is the
  // fault-injection bit index, LSB first), then the parity bit itself.
  localparam int CP_DIR = STATE_W, CP_OPART = CP_DIR + 1, CP_OPID = CP_OPART + PART_ID_BITS,
                 CP_RNODE = CP_OPID + PID_BITS, CP_RPART = CP_RNODE + NODE_ID_BITS,
                 CP_REP = CP_RPART + PART_ID_BITS, CP_GEN = CP_REP + EP_ID_BITS, CP_RGEN = CP_GEN + GEN_W,
                 CP_TXSEQ = CP_RGEN + GEN_W, CP_RXSEQ = CP_TXSEQ + SEQ_W, CST_PB = CP_RXSEQ + SEQ_W;  // 108
  localparam int CKT_PB = KEY_BITS + 2;  // key 0..127, valid 128, origin 129, parity 130
  // Node-wide event counters: STAT_* indices are enum stat of the package.
  localparam int STAT_IW = STAT_BITS;
  typedef logic [CMM_STAT_COUNT-1:0] statm_t;  // a set of STAT counts (one bit per index)
  // Interrupt cause masks (IRQ_STATUS bit positions from the package).
  localparam logic [IRQ_BITS-1:0] IRQM_ERR = IRQ_BITS'(1) << IRQ_ERR, IRQM_MGMT = IRQ_BITS'(1) << IRQ_MGMT,
                                  IRQM_CONN = IRQ_BITS'(1) << IRQ_CONN, IRQM_TXNACK = IRQ_BITS'(1) << IRQ_TXNACK,
                                  IRQM_RX = IRQ_BITS'(1) << IRQ_RX, IRQM_EXC = IRQ_BITS'(1) << IRQ_EXC,
                                  IRQM_ALARM = IRQ_BITS'(1) << IRQ_ALARM;

  // Sized constants (avoid width-mismatched compares).
  localparam logic [LEN_W-1:0] MAX_LEN = LEN_W'(MAX_MSG_BYTES);
  localparam logic [OPC_W-1:0] OP_DATA = OPC_W'(OPCODE_DATA);
  // Counter preload values (dv_preload_i): DV_PRELOAD_MARGIN below each cap.
  localparam logic [31:0] PL_WORD = 32'hFFFF_FFFF - 32'(DV_PRELOAD_MARGIN);
  localparam logic [SEQ_W-1:0] PL_SEQW = {SEQ_W{1'b1}} - SEQ_W'(DV_PRELOAD_MARGIN);
  localparam logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0] PL_NACKS =
      {CMM_CST_STATUS_TX_NACKS_BITS{1'b1}} - CMM_CST_STATUS_TX_NACKS_BITS'(DV_PRELOAD_MARGIN);
  localparam logic [CMM_EP_TX_SENT_COUNT_BITS-1:0] PL_SENT =
      {CMM_EP_TX_SENT_COUNT_BITS{1'b1}} - CMM_EP_TX_SENT_COUNT_BITS'(DV_PRELOAD_MARGIN);
  localparam logic [REP_W-1:0] PL_REP = {REP_W{1'b1}} - REP_W'(DV_PRELOAD_MARGIN);
  localparam logic [EXC_W-1:0] PL_EXC = {EXC_W{1'b1}} - EXC_W'(DV_PRELOAD_MARGIN);
  localparam logic [ALC_W-1:0] PL_ALC = {ALC_W{1'b1}} - ALC_W'(DV_PRELOAD_MARGIN);
  localparam logic [TFC_W-1:0] PL_TFC = {TFC_W{1'b1}} - TFC_W'(DV_PRELOAD_MARGIN);
  localparam logic [31:0] CMDC_MASK = ((32'd1 << CMM_CMD_STATUS_COUNT_BITS) - 32'd1) << CMM_CMD_STATUS_COUNT_LSB;
  localparam logic [31:0] PL_CMDC = (((32'd1 << CMM_CMD_STATUS_COUNT_BITS) - 32'd1) - 32'(DV_PRELOAD_MARGIN))
                              << CMM_CMD_STATUS_COUNT_LSB;
  localparam logic [OPC_W-1:0] OP_CONNECT = OPC_W'(OPCODE_CONNECT);
  localparam logic [OPC_W-1:0] OP_CONNECT_ACK = OPC_W'(OPCODE_CONNECT_ACK);
  localparam logic [OPC_W-1:0] OP_NACK = OPC_W'(OPCODE_NACK);
  localparam logic [OPC_W-1:0] OP_CLOSE = OPC_W'(OPCODE_CLOSE);
  localparam logic [OPC_W-1:0] OP_MGMT = OPC_W'(OPCODE_MGMT);

  typedef logic [RSN_W-1:0]    rsn_t;
  typedef logic [REASON_BITS-1:0] rcode_t;  // a reason code as a plain vector (the reason_e width)
  typedef logic [OPC_W-1:0]    opc_t;
  typedef logic [DW-1:0]       word_t;
  typedef logic [HDR_BITS-1:0] hdr_v;  // a packed header (cmm_pkg::hdr_t layout), fields via `CMM_H

  // ------------------------------------------------------------------ state
  // Channel state table, one array per field of an entry.
  logic [STATE_W-1:0]                           cst_state_q [NEP], cst_state_n [NEP];
  logic                                         cst_dir_q [NEP], cst_dir_n [NEP];
  logic [PART_ID_BITS-1:0]                      cst_owner_part_q [NEP], cst_owner_part_n [NEP];
  logic [PID_BITS-1:0]                          cst_owner_pid_q [NEP], cst_owner_pid_n [NEP];
  logic [NODE_ID_BITS-1:0]                      cst_rnode_q [NEP], cst_rnode_n [NEP];
  logic [PART_ID_BITS-1:0]                      cst_rpart_q [NEP], cst_rpart_n [NEP];
  logic [EP_ID_BITS-1:0]                        cst_rep_q [NEP], cst_rep_n [NEP];
  logic [CMM_CST_STATUS_LAST_REASON_BITS-1:0]   cst_last_reason_q [NEP], cst_last_reason_n [NEP];
  logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0]      cst_tx_nacks_q [NEP], cst_tx_nacks_n [NEP];
  logic [CMM_EP_TX_STATUS_LAST_REASON_BITS-1:0] cst_tx_last_reason_q [NEP], cst_tx_last_reason_n [NEP];
  logic [CMM_EP_TX_STATUS_LAST_TAG_BITS-1:0]    cst_tx_last_tag_q [NEP], cst_tx_last_tag_n [NEP];
  logic [CMM_EP_TX_SENT_COUNT_BITS-1:0]         cst_tx_sent_q [NEP], cst_tx_sent_n [NEP];
  logic [RXQ_IW-1:0]                            cst_rxq_head_q [NEP], cst_rxq_head_n [NEP];
  logic [RXQ_CW-1:0]                            cst_rxq_count_q [NEP], cst_rxq_count_n [NEP];
  logic [GEN_W-1:0]                             cst_gen_q [NEP], cst_gen_n [NEP];        // CST_GEN.LOCAL
  logic [GEN_W-1:0]                             cst_rgen_q [NEP], cst_rgen_n [NEP];      // CST_GEN.REMOTE
  logic [SEQ_W-1:0]                             cst_tx_seq_q [NEP], cst_tx_seq_n [NEP];  // next DATA seq
  logic [SEQ_W-1:0]                             cst_rx_seq_q [NEP], cst_rx_seq_n [NEP];  // next expected seq
  logic [SEQ_W-1:0]                             cst_tx_lost_q [NEP], cst_tx_lost_n [NEP];  // CST_LOST.TX
  logic [SEQ_W-1:0]                             cst_nack_seq_q [NEP], cst_nack_seq_n [NEP];  // send: DATA seqs below are answered
  logic [SEQ_W-1:0]                             cst_rx_lost_q [NEP], cst_rx_lost_n [NEP];  // CST_LOST.RX
  // Receive slots: length and tag (storage, not reset).
  logic [LEN_W-1:0]      rxq_len_q [NEP][RXQ_DEPTH], rxq_len_n [NEP][RXQ_DEPTH];
  logic [TAG_W-1:0]      rxq_tag_q [NEP][RXQ_DEPTH], rxq_tag_n [NEP][RXQ_DEPTH];
  // Channel key table: written by commands and CONNECT, read only by the
  // ingress comparator and the egress key attach. No register read path.
  logic [KEY_BITS-1:0]   ckt_key_q [NEP], ckt_key_n [NEP];
  logic [NEP-1:0]        ckt_valid_q, ckt_valid_n;
  logic [NEP-1:0]        ckt_origin_q, ckt_origin_n;
  // Table integrity: one parity bit per CST and per CKT entry, written with
  // the entry (even parity over the protected bits), and the TABLE_FAULT register.
  logic [NEP-1:0]        cst_par_q, ckt_par_q;
  logic [TFC_W-1:0]      tf_count_q, tf_count_n;
  logic [EP_ID_BITS-1:0] tf_ep_q, tf_ep_n;
  logic                  tf_tab_q, tf_tab_n;
  // Hardware key generator (docs/security.md 1.10): seed K, counter, countdown
  // of the computation in flight, READY/SEEDED. Not readable (I1): only
  // READY/SEEDED reach the read mux; the result only the CKT write of a draw.
  logic [KEY_BITS-1:0]   kg_key_q, kg_key_n;
  logic [63:0]           kg_ctr_q, kg_ctr_n;
  logic [KG_W-1:0]       kg_cnt_q, kg_cnt_n;
  logic                  kg_ready_q, kg_ready_n, kg_seeded_q, kg_seeded_n;
  logic [KEY_BITS-1:0]   kg_key_m;                      // after this edge's seed / round (p_kg_mid)
  logic [63:0]           kg_ctr_m;
  logic [KG_W-1:0]       kg_cnt_m;
  logic                  kg_ready_m, kg_seeded_m, kg_start_m;
  logic                  kg_start, kg_adv;              // engine: load step 0 / apply step kg_step
  logic [3:0]            kg_step;
  logic [KEY_BITS-1:0]   kg_res;                        // engine result (final when READY)
  logic                  kg_draw;                       // p_reg: a HWKEY command took the result
  // Per-partition bank.
  logic [KEY_BITS-1:0]   key_stage_q [NPART], key_stage_n [NPART];
  logic [KW-1:0]         key_wr_q [NPART], key_wr_n [NPART];      // KEY words written since the last command
  logic [PID_BITS-1:0]   key_pid_q [NPART], key_pid_n [NPART];    // pid of the first of those writes
  word_t                 cmd_status_q [NPART], cmd_status_n [NPART];
  logic [IRQ_BITS-1:0]   irq_status_q [NPART], irq_status_n [NPART];
  logic [IRQ_BITS-1:0]   irq_enable_q [NPART], irq_enable_n [NPART];
  logic [KEY_BITS-1:0]   mgmt_tx_q [NPART], mgmt_tx_n [NPART];
  word_t                 mgmt_dst_q [NPART], mgmt_dst_n [NPART];
  // Management receive queue (storage: source node, source partition, words).
  logic [NODE_ID_BITS-1:0] mq_src_node_q [NPART][MGMTQ_DEPTH], mq_src_node_n [NPART][MGMTQ_DEPTH];
  logic [PART_ID_BITS-1:0] mq_src_part_q [NPART][MGMTQ_DEPTH], mq_src_part_n [NPART][MGMTQ_DEPTH];
  logic [KEY_BITS-1:0]     mq_words_q [NPART][MGMTQ_DEPTH], mq_words_n [NPART][MGMTQ_DEPTH];
  logic [MQ_IW-1:0]      mq_head_q [NPART], mq_head_n [NPART];
  logic [MQ_CW-1:0]      mq_count_q [NPART], mq_count_n [NPART];
  word_t                 el_q [NPART][ERRLOG_DEPTH], el_n [NPART][ERRLOG_DEPTH];  // storage
  logic [EL_IW-1:0]      el_head_q [NPART], el_head_n [NPART];
  logic [EL_CW-1:0]      el_count_q [NPART], el_count_n [NPART];
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] el_lost_q [NPART], el_lost_n [NPART];
  logic [REP_W-1:0]      el_rep_q [NPART][ERRLOG_DEPTH], el_rep_n [NPART][ERRLOG_DEPTH];  // storage
  logic [USED_W-1:0]     used_q [NPART], used_n [NPART];
  // Exception register and reject-rate alarm (per partition).
  logic [EXC_W-1:0]      exc_count_q [NPART], exc_count_n [NPART];
  word_t                 exc_first_q [NPART], exc_first_n [NPART];
  word_t                 exc_last_q [NPART], exc_last_n [NPART];
  acfg_t                 alarm_cfg_q [NPART], alarm_cfg_n [NPART];
  logic [ALC_W-1:0]      alarm_count_q [NPART], alarm_count_n [NPART];
  logic                  alarm_wv_q [NPART], alarm_wv_n [NPART];        // a window is open
  logic                  alarm_fired_q [NPART], alarm_fired_n [NPART];  // fired in this window
  word_t                 alarm_win_q [NPART], alarm_win_n [NPART];      // cycle_i >> WINDOW_LOG2
  logic [ALC_W-1:0]      alarm_cnt_q [NPART], alarm_cnt_n [NPART];      // events in the window
  // Node-wide counters.
  word_t                 rej_q [REASON_COUNT], rej_n [REASON_COUNT];
  word_t                 stat_q [CMM_STAT_COUNT], stat_n [CMM_STAT_COUNT];
  // Pipeline stage S1 and the egress queues ([0] request, [1] response class).
  logic                  s1_valid_q, s1_valid_n;
  hdr_v                  s1_q, s1_n;                                              // storage
  hdr_v                  egq_q [2][EGQ_DEPTH], egq_n [2][EGQ_DEPTH];              // storage
  logic [EGQ_IW-1:0]     egq_head_q [2], egq_head_n [2];
  logic [EGQ_CW-1:0]     egq_count_q [2], egq_count_n [2];
  // Output registers of the one-cycle pulses.
  logic                  rsp_valid_q, rsp_valid_n;
  word_t                 rsp_rdata_q, rsp_rdata_n;
  logic [RSP_W-1:0]      rsp_status_q, rsp_status_n;
  logic                  rsp_buf_q, rsp_buf_n;
  logic [SLOT_W-1:0]     rsp_slot_q, rsp_slot_n;
  logic                  vd_valid_q, vd_valid_n;
  logic                  vd_accept_q, vd_accept_n;
  logic [EP_ID_BITS-1:0] vd_ep_q, vd_ep_n;
  logic [SLOT_W-1:0]     vd_slot_q, vd_slot_n;
  rsn_t                  vd_reason_q, vd_reason_n;
  // Strong mode (docs/strong-mode.md 11). Sized down to one link entry when
  // STRONG = 0 (then everything below is constant 0 and pruned).
  localparam int NLINK = STRONG ? LINK_NODES : 1;
  localparam logic [7:0] AUX_STRONG = 8'(1) << STRONG_AUX_BIT;
  localparam logic [31:0] MB_C = (MAC_B < 1) ? 32'd1 : (MAC_B > 16) ? 32'd16 : 32'(MAC_B);  // clamped as CoreParams
  localparam logic [31:0] ML_C = (MAC_L > 255) ? 32'd255 : 32'(MAC_L);
  logic                  cst_mode_q [NEP], cst_mode_n [NEP], cst_mode_m [NEP];  // CST_CTRL.MODE (parity, fault bit CST_PB + 1)
  logic                  wi_mode, wr_mode;
`ifdef CMM_ONE_PASS
  // Rows (entries, partitions, reject counters, egress slots) whose derived
  // copies (*_d, *_t, *_m, *_n) and flops are evaluated at this edge: those
  // the edge may change (*_now) and those it changed at the last edge
  // (*_prev, restored). Every other row's copies still equal its *_q.
  logic [NEP-1:0]          cst_act, cst_now, cst_prev = '1;
  logic [NPART-1:0]        part_act, part_now, part_prev = '1;
  logic [REASON_COUNT-1:0] rej_act, rej_now, rej_prev = '1;
  logic [EGQ_DEPTH-1:0]    egq_now [2], egq_prev [2];
`endif
  // Link-key table (packed: one flop vector per field): no read path (I1).
  logic [NLINK*KEY_BITS-1:0] link_key_q, link_key_n;  // entry n: bits n*KEY_BITS +: KEY_BITS
  logic [NLINK-1:0]      link_valid_q, link_valid_n;
  logic [NLINK*32-1:0]   link_ctr_q, link_ctr_n;  // CONNECT counter (wrap nonce), entry n: bits n*32 +: 32
  logic [KEY_BITS-1:0]   link_stage_q, link_stage_n, wk_stage;   // LINK_KEY0..3 staging (wk_*: p_reg copy)
  logic [KW-1:0]         link_wr_q, link_wr_n, wk_wr;
  word_t                 link_status_q, link_status_n, wk_status;
  logic [KEY_BITS-1:0]   egq_wrap_q [EGQ_DEPTH], egq_wrap_n [EGQ_DEPTH];  // eg_wrap_o of each request slot
  logic [KEY_BITS-1:0]   mrx_key_q, mrx_key_n;   // entry key the RX engine took at the S1 load
  logic [127:0]          mrx_c_q, mrx_c_n;       // first 16 payload bytes of S1 (a CONNECT's C)
  logic [4:0]            mrx_got_q, mrx_got_n;
  hdr_v                  mtx_hdr_q, mtx_hdr_n;   // the DATA header waiting for its tag
  // MAC engines and combinational MACs.
  logic                  mtx_load, mtx_busy, mtx_ready, mtx_done, mrx_load, mrx_busy, mrx_ready, mrx_rdy;
  logic [127:0]          mtx_tag, mrx_tag;
  logic [KEY_BITS-1:0]   mrx_load_key;
  logic [EPI-1:0]        mrx_idx;
  logic [127:0]          im_tag;           // header MAC of S1 under its entry's key (checks of 11.7)
  logic [127:0]          uw_key, uw_tag;   // unwrap of the CONNECT in S1 (11.5)
  logic [127:0]          rs_tag, pf_key;   // seal of the response header with the key the request proved
  logic [127:0]          cs_tag, wp_c, wp_t;  // seal of a CLOSE, wrap of a CONNECT (register side)
  logic                  s1_strong, s1_commit;
  logic                  pf_v, pf_unwrap;  // the ingress proved a key: the entry's (DATA) / the unwrapped one
  logic                  ev_i_eg_strong;   // the response answers a strong request
  logic                  ev_r_eg_strong;   // the request comes from a strong entry
  logic [15:0]           ev_r_eg_tag;      // strong CONNECT: counter bits 31:16
  logic                  ev_r_mtx;         // a strong doorbell loads the TX engine (no push)
  logic                  ev_r_ctr_v;       // a strong CONNECT used link[rnode].ctr
  logic                  ev_r_link_v, ev_r_link_set;  // LINK_CMD SET / CLEAR of ev_r_link_node
  logic [NODE_ID_BITS-1:0] ev_r_link_node;
  logic [KEY_BITS-1:0]   ev_r_link_key;
  hdr_v                  eg_rsp_h0, eg_req_h0;  // before the tag is inserted
  logic [KEY_BITS-1:0]   eg_req_wrap;
  // ---- Combinational intermediates (see "next state" below and docs/rtl.md).
  // Parity check at the start of the edge (p_flt): entries failing closed and
  // the table state every later process reads (*_d: FAULT, queue empty, key
  // zeroized for those entries; the other fields are the stored ones).
  logic [CST_PB-1:0]                            cst_pk_q [NEP], cst_pk_n [NEP];  // protected bits, packed
  logic [NEP-1:0]                               cst_bad, ckt_bad, flt;
  logic [STATE_W-1:0]                           cst_state_d [NEP];
  logic [RXQ_IW-1:0]                            cst_rxq_head_d [NEP];
  logic [RXQ_CW-1:0]                            cst_rxq_count_d [NEP];
  logic [KEY_BITS-1:0]                          ckt_key_d [NEP];
  logic [NEP-1:0]                               ckt_valid_d, ckt_origin_d;
  logic                                         ft_v;        // a detection at this edge (the first entry)
  logic [EPI-1:0]                               ft_idx;
  logic                                         ft_tab;      // 1: the CKT mismatched, 0: only the CST
  logic                                         ft_log_v;    // exception for its owner partition
  logic [PI-1:0]                                ft_log_part;
  word_t                                        ft_log_w;
  logic [TFC_W-1:0]                             tf_count_t;  // TABLE_FAULT after the detection
  logic [EP_ID_BITS-1:0]                        tf_ep_t;
  logic                                         tf_tab_t;
  logic [CST_PB:0]                              cst_flip [NEP];  // fault injection masks (incl. parity)
  logic [CKT_PB:0]                              ckt_flip [NEP];
  logic [NEP-1:0]                               cst_mode_flip;
  logic [NEP-1:0]                               cst_par_n, ckt_par_n;  // parity to store (of the written value, + flip)
  // The detection's error-log event on a copy of its partition (p_flt_log),
  // and the per-partition log/alarm state after the detection (*_t), which the
  // ingress commit starts from.
  logic                  wt_v;
  logic [PI-1:0]         wt_idx;
  logic [EL_IW-1:0]      wt_back;
  logic [IRQ_BITS-1:0]   wt_irq_status;
  logic [EL_CW-1:0]      wt_el_count;
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] wt_el_lost;
  logic [EXC_W-1:0]      wt_exc_count;
  word_t                 wt_exc_first, wt_exc_last, wt_alarm_win;
  logic [ALC_W-1:0]      wt_alarm_count, wt_alarm_cnt;
  logic                  wt_alarm_wv, wt_alarm_fired;
  logic                  wt_slot_v;
  logic [EL_IW-1:0]      wt_slot;
  word_t                 wt_slot_w;
  logic [REP_W-1:0]      wt_slot_rep;
  word_t                 wt_x, wt_wid;
  logic [IRQ_BITS-1:0]                          irq_status_t [NPART];
  word_t                                        el_t [NPART][ERRLOG_DEPTH];
  logic [EL_CW-1:0]                             el_count_t [NPART];
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0]       el_lost_t [NPART];
  logic [REP_W-1:0]                             el_rep_t [NPART][ERRLOG_DEPTH];
  logic [EXC_W-1:0]                             exc_count_t [NPART];
  word_t                                        exc_first_t [NPART], exc_last_t [NPART];
  logic [ALC_W-1:0]                             alarm_count_t [NPART], alarm_cnt_t [NPART];
  logic                                         alarm_wv_t [NPART], alarm_fired_t [NPART];
  word_t                                        alarm_win_t [NPART];
  // Mid-edge values: the state after the ingress commit (step 3), as the
  // register access (step 5) sees it. Only the parts step 3 can change.
  logic [STATE_W-1:0]                           cst_state_m [NEP];
  logic                                         cst_dir_m [NEP];
  logic [PART_ID_BITS-1:0]                      cst_owner_part_m [NEP];
  logic [PID_BITS-1:0]                          cst_owner_pid_m [NEP];
  logic [NODE_ID_BITS-1:0]                      cst_rnode_m [NEP];
  logic [PART_ID_BITS-1:0]                      cst_rpart_m [NEP];
  logic [EP_ID_BITS-1:0]                        cst_rep_m [NEP];
  logic [CMM_CST_STATUS_LAST_REASON_BITS-1:0]   cst_last_reason_m [NEP];
  logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0]      cst_tx_nacks_m [NEP];
  logic [CMM_EP_TX_STATUS_LAST_REASON_BITS-1:0] cst_tx_last_reason_m [NEP];
  logic [CMM_EP_TX_STATUS_LAST_TAG_BITS-1:0]    cst_tx_last_tag_m [NEP];
  logic [CMM_EP_TX_SENT_COUNT_BITS-1:0]         cst_tx_sent_m [NEP];
  logic [RXQ_IW-1:0]                            cst_rxq_head_m [NEP];
  logic [RXQ_CW-1:0]                            cst_rxq_count_m [NEP];
  logic [GEN_W-1:0]                             cst_gen_m [NEP], cst_rgen_m [NEP];
  logic [SEQ_W-1:0]                             cst_tx_seq_m [NEP], cst_rx_seq_m [NEP];
  logic [SEQ_W-1:0]                             cst_tx_lost_m [NEP], cst_rx_lost_m [NEP];
  logic [SEQ_W-1:0]                             cst_nack_seq_m [NEP];
  logic [KEY_BITS-1:0]                          ckt_key_m [NEP];
  logic [NEP-1:0]                               ckt_valid_m, ckt_origin_m;
  word_t                                        rej_m [REASON_COUNT];
  word_t                                        stat_m [CMM_STAT_COUNT];
  logic [IRQ_BITS-1:0]                          irq_status_m [NPART];
  word_t                                        el_m [NPART][ERRLOG_DEPTH];
  logic [EL_CW-1:0]                             el_count_m [NPART];
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0]       el_lost_m [NPART];
  logic [REP_W-1:0]                             el_rep_m [NPART][ERRLOG_DEPTH];
  logic [EXC_W-1:0]                             exc_count_m [NPART];
  word_t                                        exc_first_m [NPART], exc_last_m [NPART];
  logic [ALC_W-1:0]                             alarm_count_m [NPART], alarm_cnt_m [NPART];
  logic                                         alarm_wv_m [NPART], alarm_fired_m [NPART];
  word_t                                        alarm_win_m [NPART];
  logic [NODE_ID_BITS-1:0]                      mq_src_node_m [NPART][MGMTQ_DEPTH];
  logic [PART_ID_BITS-1:0]                      mq_src_part_m [NPART][MGMTQ_DEPTH];
  logic [KEY_BITS-1:0]                          mq_words_m [NPART][MGMTQ_DEPTH];
  logic [MQ_CW-1:0]                             mq_count_m [NPART];
  // Working copies of the one CST/CKT entry a step works on: wi_* (ingress,
  // p_ing, entry DST_EP of the header) and wr_* (register access, p_reg,
  // entry reg_entry()); copied in before the step, written back after it.
  logic [EPI-1:0]                               wi_idx;
  logic [STATE_W-1:0]                           wi_state;
  logic                                         wi_dir;
  logic [PART_ID_BITS-1:0]                      wi_owner_part;
  logic [PID_BITS-1:0]                          wi_owner_pid;
  logic [NODE_ID_BITS-1:0]                      wi_rnode;
  logic [PART_ID_BITS-1:0]                      wi_rpart;
  logic [EP_ID_BITS-1:0]                        wi_rep;
  logic [CMM_CST_STATUS_LAST_REASON_BITS-1:0]   wi_last_reason;
  logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0]      wi_tx_nacks;
  logic [CMM_EP_TX_STATUS_LAST_REASON_BITS-1:0] wi_tx_last_reason;
  logic [CMM_EP_TX_STATUS_LAST_TAG_BITS-1:0]    wi_tx_last_tag;
  logic [CMM_EP_TX_SENT_COUNT_BITS-1:0]         wi_tx_sent;
  logic [RXQ_IW-1:0]                            wi_rxq_head;
  logic [RXQ_CW-1:0]                            wi_rxq_count;
  logic [GEN_W-1:0]                             wi_gen, wi_rgen;
  logic [SEQ_W-1:0]                             wi_tx_seq, wi_rx_seq, wi_tx_lost, wi_rx_lost, wi_nack_seq;
  logic [KEY_BITS-1:0]                          wi_key;
  logic                                         wi_kvalid, wi_korigin;
  logic [EPI-1:0]                               wr_idx;
  logic [STATE_W-1:0]                           wr_state;
  logic                                         wr_dir;
  logic [PART_ID_BITS-1:0]                      wr_owner_part;
  logic [PID_BITS-1:0]                          wr_owner_pid;
  logic [NODE_ID_BITS-1:0]                      wr_rnode;
  logic [PART_ID_BITS-1:0]                      wr_rpart;
  logic [EP_ID_BITS-1:0]                        wr_rep;
  logic [CMM_CST_STATUS_LAST_REASON_BITS-1:0]   wr_last_reason;
  logic [CMM_CST_STATUS_TX_NACKS_BITS-1:0]      wr_tx_nacks;
  logic [CMM_EP_TX_STATUS_LAST_REASON_BITS-1:0] wr_tx_last_reason;
  logic [CMM_EP_TX_STATUS_LAST_TAG_BITS-1:0]    wr_tx_last_tag;
  logic [CMM_EP_TX_SENT_COUNT_BITS-1:0]         wr_tx_sent;
  logic [RXQ_IW-1:0]                            wr_rxq_head;
  logic [RXQ_CW-1:0]                            wr_rxq_count;
  logic [GEN_W-1:0]                             wr_gen, wr_rgen;
  logic [SEQ_W-1:0]                             wr_tx_seq, wr_rx_seq, wr_tx_lost, wr_rx_lost, wr_nack_seq;
  logic [KEY_BITS-1:0]                          wr_key;
  logic                                         wr_kvalid, wr_korigin;
  logic                  wi_rxq_push;                 // one delivery into a receive slot of entry wi_idx
  logic [RXQ_IW-1:0]     wi_rxq_slot;
  logic [LEN_W-1:0]      wi_rxq_len;
  logic [TAG_W-1:0]      wi_rxq_tag;
  // Working copy of the requester partition's bank (p_reg).
  logic [PI-1:0]         wp_idx;
  logic [KEY_BITS-1:0]   wp_key_stage, wp_mgmt_tx;
  word_t                 wp_cmd_status, wp_mgmt_dst;
  logic [IRQ_BITS-1:0]   wp_irq_status, wp_irq_enable;
  logic [MQ_IW-1:0]      wp_mq_head;
  logic [MQ_CW-1:0]      wp_mq_count;
  logic [EL_IW-1:0]      wp_el_head;
  logic [EL_CW-1:0]      wp_el_count;
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] wp_el_lost;
  logic [USED_W-1:0]     wp_used;
  logic [KW-1:0]         wp_key_wr;
  logic [PID_BITS-1:0]   wp_key_pid;
  logic [EXC_W-1:0]      wp_exc_count;
  word_t                 wp_exc_first, wp_exc_last, wp_alarm_win;
  acfg_t                 wp_alarm_cfg;
  logic [ALC_W-1:0]      wp_alarm_count, wp_alarm_cnt;
  logic                  wp_alarm_wv, wp_alarm_fired;
  // The requester partition's log, exception and alarm state and IRQ_STATUS
  // after the register access's log event (p_reg_log).
  logic [IRQ_BITS-1:0]   wf_irq_status;
  logic [EL_CW-1:0]      wf_el_count;
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] wf_el_lost;
  logic [EXC_W-1:0]      wf_exc_count;
  word_t                 wf_exc_first, wf_exc_last, wf_alarm_win;
  logic [ALC_W-1:0]      wf_alarm_count, wf_alarm_cnt;
  logic                  wf_alarm_wv, wf_alarm_fired;
  logic [EL_IW-1:0]      wf_back;
  word_t                 wf_x, wf_wid;                // log_update_r temporaries
  word_t                 wl_x, wl_wid;                // log_update_i temporaries
  // Working copy of the partition the ingress commit logs into (p_ing_log):
  // error log, exception register, alarm, IRQ_STATUS.
  logic [PI-1:0]         wl_idx;
  logic                  wl_v;                        // an ingress log event for partition wl_idx
  logic [EL_IW-1:0]      wl_back;                     // its newest error-log slot
  logic [IRQ_BITS-1:0]   wl_irq_status;
  logic [EL_CW-1:0]      wl_el_count;
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0] wl_el_lost;
  logic [EXC_W-1:0]      wl_exc_count;
  word_t                 wl_exc_first, wl_exc_last, wl_alarm_win;
  logic [ALC_W-1:0]      wl_alarm_count, wl_alarm_cnt;
  logic                  wl_alarm_wv, wl_alarm_fired;
  logic                  wl_slot_v;                   // error-log slot written: word and repeat count
  logic [EL_IW-1:0]      wl_slot;
  word_t                 wl_slot_w;
  logic [REP_W-1:0]      wl_slot_rep;
  // Events of the ingress commit (p_ing), applied to the tables by p_mid_*.
  logic                  ev_i_rej_v;                  // up to two reject counts
  rsn_t                  ev_i_rej_r;
  logic                  ev_i_rej2_v;
  rsn_t                  ev_i_rej2_r;
  statm_t                ev_i_stat;                   // STAT counts (one bit per index)
  logic [PART_ID_BITS-1:0] ev_i_irq_part;             // IRQ causes raised (one partition)
  logic [IRQ_BITS-1:0]   ev_i_irq_mask;
  logic                  ev_i_log_v;                  // one error-log entry (+ IRQ ERR)
  logic [PART_ID_BITS-1:0] ev_i_log_part;
  word_t                 ev_i_log_w;
  logic                  ev_i_eg_v;                   // one response-class egress header:
  logic                  ev_i_eg_ack;                 //   CONNECT_ACK, else NACK with reason ev_i_eg_r
  logic [HDR_REASON_BITS-1:0] ev_i_eg_r;
  logic [SEQ_W-1:0]      ev_i_eg_seq;                 //   NACK seq (SEQ_GAP: missing messages)
  logic [1:0]            ev_i_eg_key;                 //   key carried: KSEL_*
  logic                  ev_i_mq_v;                   // one management message received
  logic [PI-1:0]         ev_i_mq_part;
  logic [NODE_ID_BITS-1:0] ev_i_mq_node;
  logic [PART_ID_BITS-1:0] ev_i_mq_spart;
  logic [KEY_BITS-1:0]   ev_i_mq_words;
  // Events of the register access (p_reg), applied by p_fin_*.
  logic                  ev_r_rej_v;                  // one reject count
  rsn_t                  ev_r_rej_r;
  logic [RXQ_CW-1:0]     ev_r_flush;                  // RXQ_FLUSHED counts of one CLOSE/FREE
  statm_t                ev_r_stat;                   // STAT counts (one bit per index)
  logic                  ev_r_log_v;                  // one error-log event (partition wp_idx)
  word_t                 ev_r_log_w;
  logic                  ev_r_el_v;                   // one error-log slot written (partition wp_idx)
  logic [EL_IW-1:0]      ev_r_el_slot;
  word_t                 ev_r_el_w;
  logic [REP_W-1:0]      ev_r_el_rep;
  logic                  ev_r_eg_v;                   // one request-class egress header:
  opc_t                  ev_r_eg_op;                  //   opcode, source partition and endpoint,
  logic [PART_ID_BITS-1:0] ev_r_eg_sp;                //   generations and seq at the push
  logic [EP_ID_BITS-1:0] ev_r_eg_se;
  logic [GEN_W-1:0]      ev_r_eg_sg, ev_r_eg_dg;
  logic [SEQ_W-1:0]      ev_r_eg_seq;
  hdr_v                  eg_rsp_h, eg_req_h;          // the headers of those events (p_eg_hdr)
  // Register access results, written directly by the register-side tasks of
  // p_reg (yosys 0.23 drops writes through task inout/output arguments).
  word_t                 reg_rd;                      // read data
  logic [RSP_W-1:0]      reg_rsp;                     // response status
  logic                  reg_any;                     // flush_rxq(): the queue held messages
  rcode_t                key_r;                       // store_local_key(): reason (OK: stored or allowed)
  logic                  key_exc, key_ok;             //   I6 exception; usable

  // ------------------------------------------------------------------ outputs (state only)
  logic eg_show_rsp;
  assign eg_show_rsp      = egq_count_q[1] != '0;
  // Strong: one doorbell in the TX engine at a time; S1 must commit at the next edge (11.6).
  assign reg_req_ready_o  = egq_count_q[0] != EGQ_CW'(EGQ_DEPTH) && !mtx_busy;
  assign ing_ready_o      = (!s1_valid_q || !mrx_busy || mrx_rdy) &&
                            (EGQ_CW'(EGQ_DEPTH) - egq_count_q[1]) >= (EGQ_CW'(1) + EGQ_CW'(s1_valid_q));
  assign mac_tx_ready_o   = mtx_ready;
  assign mac_rx_ready_o   = mrx_ready;
  assign eg_wrap_o        = (!eg_show_rsp && egq_count_q[0] != '0) ? egq_wrap_q[egq_head_q[0]] : '0;
  assign s1_commit        = s1_valid_q && (!mrx_busy || mrx_rdy);
  assign reg_rsp_valid_o  = rsp_valid_q;
  assign reg_rsp_rdata_o  = rsp_rdata_q;
  assign reg_rsp_status_o = rsp_status_q;
  assign reg_rsp_buf_o    = rsp_buf_q;
  assign reg_rsp_buf_slot_o = rsp_slot_q;
  assign eg_valid_o       = eg_show_rsp || (egq_count_q[0] != '0);
  assign eg_cls_o         = eg_show_rsp;
  assign eg_hdr_o         = eg_show_rsp ? egq_q[1][egq_head_q[1]]
                          : (egq_count_q[0] != '0) ? egq_q[0][egq_head_q[0]] : '0;
  assign vd_valid_o       = vd_valid_q;
  assign vd_accept_o      = vd_accept_q;
  assign vd_ep_o          = vd_ep_q;
  assign vd_slot_o        = vd_slot_q;
  assign vd_reason_o      = vd_reason_q;
  always_comb begin : p_irq
    for (int p = 0; p < NPART; p++) irq_o[p] = |(irq_status_q[p] & irq_enable_q[p]);
  end

  // ------------------------------------------------------------------ helpers
  // Link-table index (one entry when STRONG = 0); node ids >= LINK_NODES
  // have no entry (lk_in = 0: NO_LINK_KEY).
  localparam int LKW = STRONG ? $clog2(LINK_NODES) : 1;
  function automatic logic [LKW-1:0] lk_i(logic [NODE_ID_BITS-1:0] n);
    lk_i = STRONG ? LKW'(n) : '0;
  endfunction
  function automatic logic lk_in(logic [NODE_ID_BITS-1:0] n);
    lk_in = 32'(n) < LINK_NODES;
  endfunction
  // A strong packet: STRONG bit on DATA, CONNECT, CONNECT_ACK, NACK or CLOSE (11.2).
  function automatic logic strong_pkt(hdr_v h);
    strong_pkt = STRONG && h[HDR_AUX_LSB + STRONG_AUX_BIT] && `CMM_H(h, OPCODE) >= OP_DATA &&
                 (`CMM_H(h, OPCODE) <= OP_CLOSE);
  endfunction
  function automatic word_t sat_inc(word_t x);
    sat_inc = (x == '1) ? x : x + DW'(1);
  endfunction

  // Saturating 16-bit sum (CST_LOST).
  function automatic logic [SEQ_W-1:0] sat_add(logic [SEQ_W-1:0] a, logic [SEQ_W-1:0] b);
    logic [SEQ_W:0] t;
    t = {1'b0, a} + {1'b0, b};
    sat_add = t[SEQ_W] ? '1 : t[SEQ_W-1:0];
  endfunction

  // A header built by this CMM: source node from the strap (I4).
  function automatic hdr_v make_hdr(opc_t op, logic [PART_ID_BITS-1:0] sp, logic [EP_ID_BITS-1:0] se,
                                    logic [NODE_ID_BITS-1:0] dn, logic [PART_ID_BITS-1:0] dp,
                                    logic [EP_ID_BITS-1:0] de, logic [NODE_ID_BITS-1:0] sn);
    hdr_v h;
    h = '0;
    `CMM_H(h, OPCODE)   = op;
    `CMM_H(h, SRC_NODE) = sn;
    `CMM_H(h, SRC_PART) = sp;
    `CMM_H(h, SRC_EP)   = se;
    `CMM_H(h, DST_NODE) = dn;
    `CMM_H(h, DST_PART) = dp;
    `CMM_H(h, DST_EP)   = de;
    make_hdr = h;
  endfunction

  // An error-log word.
  function automatic word_t log_word(rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode, logic from_fabric,
                                     logic exception, logic [NODE_ID_BITS-1:0] src_node);
    word_t w;
    w = '0;
    w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS] = CMM_ERRLOG_HEAD_REASON_BITS'(r);
    w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS] = CMM_ERRLOG_HEAD_EP_BITS'(ep);  // bits 7:0
    w[CMM_ERRLOG_HEAD_OPCODE_LSB +: CMM_ERRLOG_HEAD_OPCODE_BITS] = opcode;
    w[CMM_ERRLOG_HEAD_FROM_FABRIC_LSB] = from_fabric;
    w[CMM_ERRLOG_HEAD_EXCEPTION_LSB] = exception;
    w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS] = CMM_ERRLOG_HEAD_SRC_NODE_BITS'(src_node);  // bits 7:0
    log_word = w;
  endfunction

  // Coalescing key of an error-log word: reason, source node, from-fabric, exception.
  localparam word_t EL_SAME =
      (DW'((1 << CMM_ERRLOG_HEAD_REASON_BITS) - 1) << CMM_ERRLOG_HEAD_REASON_LSB) |
      (DW'((1 << CMM_ERRLOG_HEAD_SRC_NODE_BITS) - 1) << CMM_ERRLOG_HEAD_SRC_NODE_LSB) |
      (DW'(1) << CMM_ERRLOG_HEAD_FROM_FABRIC_LSB) | (DW'(1) << CMM_ERRLOG_HEAD_EXCEPTION_LSB);

  // Slot of the newest error-log entry (head + count - 1).
  function automatic logic [EL_IW-1:0] el_back(logic [EL_IW-1:0] head, logic [EL_CW-1:0] count);
    el_back = EL_IW'((32'(head) + 32'(count) + ERRLOG_DEPTH - 1) % ERRLOG_DEPTH);
  endfunction

  // One error-log event of a partition (CmmCore::log_error): coalesced into
  // the newest entry if it is not the head and (reason, source node,
  // from-fabric, exception) are equal, else a new entry or LOST; an exception
  // updates EXC_*; the event counts for the reject-rate alarm (window =
  // cycle_i >> WINDOW_LOG2); IRQ ERR (+ EXC, ALARM); the slot written (new
  // word, or the newest entry with its repeat count bumped) is an event.
  // Three copies of the same code, one per working copy (log_update_t: wt_* of
  // p_flt_log, the table-fault exception; log_update_i: wl_* of p_ing_log;
  // log_update_r: wf_* of p_reg_log), writing their variables
  // directly: yosys 0.23 drops writes through task inout/output arguments.
  // Keep them identical.
  task automatic log_update_i(word_t w, logic [EL_IW-1:0] head, word_t back_w, logic [REP_W-1:0] back_rep,
                               acfg_t cfg);
    wl_slot_v = 1'b0;
    wl_slot = '0;
    wl_slot_w = '0;
    wl_slot_rep = '0;
    wl_x = '0;
    // Never into the head (count >= 2): the agent reads HEAD and REPEAT, then
    // pops; a repeat added in between would be lost with the pop.
    if (wl_el_count >= EL_CW'(2) && ((back_w ^ w) & EL_SAME) == '0) begin
      wl_slot_v = 1'b1;
      wl_slot = el_back(head, wl_el_count);
      wl_slot_w = back_w;
      wl_slot_rep = (back_rep == '1) ? back_rep : back_rep + 1'b1;
    end else if (wl_el_count == EL_CW'(ERRLOG_DEPTH)) begin
      if (wl_el_lost != '1) wl_el_lost = wl_el_lost + 1'b1;
    end else begin
      wl_slot_v = 1'b1;
      wl_slot = EL_IW'((32'(head) + 32'(wl_el_count)) % ERRLOG_DEPTH);
      wl_slot_w = w;
      wl_el_count = wl_el_count + EL_CW'(1);
    end
    if (w[CMM_ERRLOG_HEAD_EXCEPTION_LSB]) begin
      wl_x[CMM_EXC_LAST_REASON_LSB +: CMM_EXC_LAST_REASON_BITS] =
          w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS];
      wl_x[CMM_EXC_LAST_EP_LSB +: CMM_EXC_LAST_EP_BITS] = w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS];
      wl_x[CMM_EXC_LAST_SRC_NODE_LSB +: CMM_EXC_LAST_SRC_NODE_BITS] =
          w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS];
      wl_x[CMM_EXC_LAST_VALID_LSB] = 1'b1;
      if (!wl_exc_first[CMM_EXC_FIRST_VALID_LSB]) wl_exc_first = wl_x;
      wl_exc_last = wl_x;
      if (wl_exc_count != '1) wl_exc_count = wl_exc_count + 1'b1;
      wl_irq_status = wl_irq_status | IRQM_EXC;
    end
    wl_wid = cycle_i >> cfg[CMM_ALARM_CFG_WINDOW_LOG2_LSB +: CMM_ALARM_CFG_WINDOW_LOG2_BITS];
    if (!wl_alarm_wv || wl_wid != wl_alarm_win) begin
      wl_alarm_wv = 1'b1;
      wl_alarm_win = wl_wid;
      wl_alarm_cnt = '0;
      wl_alarm_fired = 1'b0;
    end
    if (wl_alarm_cnt != '1) wl_alarm_cnt = wl_alarm_cnt + 1'b1;
    if (cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS] != '0 && !wl_alarm_fired &&
        wl_alarm_cnt >= cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS]) begin
      wl_alarm_fired = 1'b1;  // once per window
      if (wl_alarm_count != '1) wl_alarm_count = wl_alarm_count + 1'b1;
      wl_irq_status = wl_irq_status | IRQM_ALARM;
    end
    wl_irq_status = wl_irq_status | IRQM_ERR;
  endtask

  task automatic log_update_t(word_t w, logic [EL_IW-1:0] head, word_t back_w, logic [REP_W-1:0] back_rep,
                               acfg_t cfg);
    wt_slot_v = 1'b0;
    wt_slot = '0;
    wt_slot_w = '0;
    wt_slot_rep = '0;
    wt_x = '0;
    // Never into the head (count >= 2): the agent reads HEAD and REPEAT, then
    // pops; a repeat added in between would be lost with the pop.
    if (wt_el_count >= EL_CW'(2) && ((back_w ^ w) & EL_SAME) == '0) begin
      wt_slot_v = 1'b1;
      wt_slot = el_back(head, wt_el_count);
      wt_slot_w = back_w;
      wt_slot_rep = (back_rep == '1) ? back_rep : back_rep + 1'b1;
    end else if (wt_el_count == EL_CW'(ERRLOG_DEPTH)) begin
      if (wt_el_lost != '1) wt_el_lost = wt_el_lost + 1'b1;
    end else begin
      wt_slot_v = 1'b1;
      wt_slot = EL_IW'((32'(head) + 32'(wt_el_count)) % ERRLOG_DEPTH);
      wt_slot_w = w;
      wt_el_count = wt_el_count + EL_CW'(1);
    end
    if (w[CMM_ERRLOG_HEAD_EXCEPTION_LSB]) begin
      wt_x[CMM_EXC_LAST_REASON_LSB +: CMM_EXC_LAST_REASON_BITS] =
          w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS];
      wt_x[CMM_EXC_LAST_EP_LSB +: CMM_EXC_LAST_EP_BITS] = w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS];
      wt_x[CMM_EXC_LAST_SRC_NODE_LSB +: CMM_EXC_LAST_SRC_NODE_BITS] =
          w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS];
      wt_x[CMM_EXC_LAST_VALID_LSB] = 1'b1;
      if (!wt_exc_first[CMM_EXC_FIRST_VALID_LSB]) wt_exc_first = wt_x;
      wt_exc_last = wt_x;
      if (wt_exc_count != '1) wt_exc_count = wt_exc_count + 1'b1;
      wt_irq_status = wt_irq_status | IRQM_EXC;
    end
    wt_wid = cycle_i >> cfg[CMM_ALARM_CFG_WINDOW_LOG2_LSB +: CMM_ALARM_CFG_WINDOW_LOG2_BITS];
    if (!wt_alarm_wv || wt_wid != wt_alarm_win) begin
      wt_alarm_wv = 1'b1;
      wt_alarm_win = wt_wid;
      wt_alarm_cnt = '0;
      wt_alarm_fired = 1'b0;
    end
    if (wt_alarm_cnt != '1) wt_alarm_cnt = wt_alarm_cnt + 1'b1;
    if (cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS] != '0 && !wt_alarm_fired &&
        wt_alarm_cnt >= cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS]) begin
      wt_alarm_fired = 1'b1;  // once per window
      if (wt_alarm_count != '1) wt_alarm_count = wt_alarm_count + 1'b1;
      wt_irq_status = wt_irq_status | IRQM_ALARM;
    end
    wt_irq_status = wt_irq_status | IRQM_ERR;
  endtask

  task automatic log_update_r(word_t w, logic [EL_IW-1:0] head, word_t back_w, logic [REP_W-1:0] back_rep,
                               acfg_t cfg);
    ev_r_el_v = 1'b0;
    ev_r_el_slot = '0;
    ev_r_el_w = '0;
    ev_r_el_rep = '0;
    wf_x = '0;
    // Never into the head (count >= 2): the agent reads HEAD and REPEAT, then
    // pops; a repeat added in between would be lost with the pop.
    if (wf_el_count >= EL_CW'(2) && ((back_w ^ w) & EL_SAME) == '0) begin
      ev_r_el_v = 1'b1;
      ev_r_el_slot = el_back(head, wf_el_count);
      ev_r_el_w = back_w;
      ev_r_el_rep = (back_rep == '1) ? back_rep : back_rep + 1'b1;
    end else if (wf_el_count == EL_CW'(ERRLOG_DEPTH)) begin
      if (wf_el_lost != '1) wf_el_lost = wf_el_lost + 1'b1;
    end else begin
      ev_r_el_v = 1'b1;
      ev_r_el_slot = EL_IW'((32'(head) + 32'(wf_el_count)) % ERRLOG_DEPTH);
      ev_r_el_w = w;
      wf_el_count = wf_el_count + EL_CW'(1);
    end
    if (w[CMM_ERRLOG_HEAD_EXCEPTION_LSB]) begin
      wf_x[CMM_EXC_LAST_REASON_LSB +: CMM_EXC_LAST_REASON_BITS] =
          w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS];
      wf_x[CMM_EXC_LAST_EP_LSB +: CMM_EXC_LAST_EP_BITS] = w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS];
      wf_x[CMM_EXC_LAST_SRC_NODE_LSB +: CMM_EXC_LAST_SRC_NODE_BITS] =
          w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS];
      wf_x[CMM_EXC_LAST_VALID_LSB] = 1'b1;
      if (!wf_exc_first[CMM_EXC_FIRST_VALID_LSB]) wf_exc_first = wf_x;
      wf_exc_last = wf_x;
      if (wf_exc_count != '1) wf_exc_count = wf_exc_count + 1'b1;
      wf_irq_status = wf_irq_status | IRQM_EXC;
    end
    wf_wid = cycle_i >> cfg[CMM_ALARM_CFG_WINDOW_LOG2_LSB +: CMM_ALARM_CFG_WINDOW_LOG2_BITS];
    if (!wf_alarm_wv || wf_wid != wf_alarm_win) begin
      wf_alarm_wv = 1'b1;
      wf_alarm_win = wf_wid;
      wf_alarm_cnt = '0;
      wf_alarm_fired = 1'b0;
    end
    if (wf_alarm_cnt != '1) wf_alarm_cnt = wf_alarm_cnt + 1'b1;
    if (cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS] != '0 && !wf_alarm_fired &&
        wf_alarm_cnt >= cfg[CMM_ALARM_CFG_THRESH_LSB +: CMM_ALARM_CFG_THRESH_BITS]) begin
      wf_alarm_fired = 1'b1;  // once per window
      if (wf_alarm_count != '1) wf_alarm_count = wf_alarm_count + 1'b1;
      wf_irq_status = wf_irq_status | IRQM_ALARM;
    end
    wf_irq_status = wf_irq_status | IRQM_ERR;
  endtask

  // Side effects on the node-wide counters, the error logs, IRQ_STATUS, the
  // management queues and the egress queues are not written where they
  // happen: the step's tasks record them as *events* (a fixed small number
  // of each kind per step; docs/rtl.md), and small processes with constant
  // indices apply them (p_mid_*: ingress events; p_fin_*: register-access
  // events). The one CST/CKT entry a step touches is a working copy (wi_* /
  // wr_*), and so is the requester partition's bank in the register access
  // (wp_*) and the partition the ingress commit logs into (wl_*).

  // ---- ingress-side effects (p_ing)
  // Key a response carries (ev_i_eg_key).
  localparam logic [1:0] KSEL_ZERO = 2'd0, KSEL_ENTRY = 2'd1, KSEL_HDR = 2'd2;

  // At most two reject counts per ingress step (RXQ_FULL + SEQ_GAP).
  task automatic count_reject_i(reason_e r);
    if (ev_i_rej_v) begin
      ev_i_rej2_v = 1'b1;
      ev_i_rej2_r = RSN_W'(r);
    end else begin
      ev_i_rej_v = 1'b1;
      ev_i_rej_r = RSN_W'(r);
    end
  endtask

  task automatic bump_stat_i(logic [STAT_IW-1:0] i);
    ev_i_stat[i] = 1'b1;
  endtask

  task automatic raise_i(logic [PART_ID_BITS-1:0] part, logic [IRQ_BITS-1:0] cause);
    ev_i_irq_part = part;   // a part >= NPART matches no partition: no IRQ
    ev_i_irq_mask = cause;
  endtask

  // CONNECT_ACK (ids and generations swapped, the entry's stored key). Room
  // is guaranteed by ing_ready_o. The header is built by p_eg_hdr.
  task automatic push_ack();
    ev_i_eg_v = 1'b1;
    ev_i_eg_ack = 1'b1;
    ev_i_eg_key = KSEL_ENTRY;
    ev_i_eg_strong = s1_strong;  // ACK of a strong CONNECT: sealed with the stored key (11.9)
  endtask

  task automatic log_error_i(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                             logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    ev_i_log_v = 1'b1;      // a part >= NPART matches no partition: no log, no IRQ
    ev_i_log_part = part;
    ev_i_log_w = log_word(r, ep, opcode, from_fabric, exception, src_node);
  endtask

  // Count, then answer the source with NACK (never answer a response). The
  // NACK carries a key only for DATA and CONNECT sent by the addressed
  // entry's peer (CmmCore::nack_key; docs/security.md 1.3): the entry's key
  // if valid, else a CONNECT's own key at a send entry.
  task automatic nack_seq(reason_e r, logic [SEQ_W-1:0] seq);
    count_reject_i(r);
    if (`CMM_H(s1_q, OPCODE) != OP_NACK && `CMM_H(s1_q, OPCODE) != OP_CONNECT_ACK) begin
      ev_i_eg_v = 1'b1;     // header built by p_eg_hdr
      ev_i_eg_ack = 1'b0;
      ev_i_eg_r = HDR_REASON_BITS'(r);
      ev_i_eg_seq = seq;
      ev_i_eg_key = KSEL_ZERO;
      ev_i_eg_strong = s1_strong;  // a strong request gets a strong answer (11.9; p_eg_hdr)
      if ((`CMM_H(s1_q, OPCODE) == OP_DATA || `CMM_H(s1_q, OPCODE) == OP_CONNECT) &&
          `CMM_H(s1_q, DST_NODE) == cfg_node_id_i && `CMM_H(s1_q, DST_EP) < EP_ID_BITS'(NEP) &&
          wi_state != STATE_FREE && wi_owner_part == `CMM_H(s1_q, DST_PART) && ids_match_i()) begin
        if (wi_kvalid) ev_i_eg_key = KSEL_ENTRY;
        else if (`CMM_H(s1_q, OPCODE) == OP_CONNECT && wi_dir == DIR_SEND) ev_i_eg_key = KSEL_HDR;
      end
      bump_stat_i(STAT_NACK_SENT);
    end
  endtask

  task automatic nack(reason_e r);
    nack_seq(r, '0);
  endtask

  // The header in S1 comes from the entry's peer / from its current epochs.
  function automatic logic ids_match_i();
    ids_match_i = `CMM_H(s1_q, SRC_NODE) == wi_rnode && `CMM_H(s1_q, SRC_PART) == wi_rpart &&
                  `CMM_H(s1_q, SRC_EP) == wi_rep;
  endfunction
  function automatic logic gens_match_i();
    gens_match_i = `CMM_H(s1_q, DST_GEN) == wi_gen && `CMM_H(s1_q, SRC_GEN) == wi_rgen;
  endfunction
  function automatic logic key_match_i();
    key_match_i = `CMM_H(s1_q, KEY) == wi_key;  // full-width compare: constant time
  endfunction

  task automatic zeroize_i();
    wi_key = '0;
    wi_kvalid = 1'b0;
    wi_korigin = 1'b0;
  endtask

  // ---- register-side effects (p_reg)
  task automatic count_reject_r(rcode_t r);
    ev_r_rej_v = 1'b1;
    ev_r_rej_r = RSN_W'(r);
  endtask

  task automatic bump_stat_r(logic [STAT_IW-1:0] i);
    ev_r_stat[i] = 1'b1;
  endtask

  // Room is guaranteed by reg_req_ready_o. The header is built by p_eg_hdr
  // from the entry/partition copies, which the step does not change after
  // the push in any field the header carries except those recorded here
  // (generations, seq) and the CLOSE key (taken from the mid-edge CKT).
  task automatic push_req(opc_t op, logic [PART_ID_BITS-1:0] sp, logic [EP_ID_BITS-1:0] se);
    ev_r_eg_v = 1'b1;
    ev_r_eg_op = op;
    ev_r_eg_sp = sp;
    ev_r_eg_se = se;
    ev_r_eg_sg = wr_gen;
    ev_r_eg_dg = wr_rgen;
    ev_r_eg_seq = (op == OP_DATA || op == OP_CONNECT) ? wr_tx_seq : '0;  // DATA seq / CONNECT attempt
    ev_r_eg_strong = STRONG && wr_mode && op != OP_MGMT;  // STRONG bit and tag (11.2, 11.9; p_eg_hdr)
  endtask

  // Strong CONNECT (11.5): a link key must exist and its counter must not wrap.
  function automatic rcode_t link_chk();
    link_chk = REASON_OK;
    if (STRONG && wr_mode) begin
      if (!lk_in(wr_rnode) || !link_valid_q[lk_i(wr_rnode)]) link_chk = REASON_NO_LINK_KEY;
      else if (link_ctr_q[32'(lk_i(wr_rnode)) * 32 +: 32] == '1) link_chk = REASON_KEY_EXHAUSTED;
    end
  endfunction

  // Sends the CONNECT of entry wr_idx; strong: the link's counter is the
  // attempt number and the wrap nonce (11.5).
  task automatic send_connect(logic [PART_ID_BITS-1:0] part, logic [EP_ID_BITS-1:0] ep);
    if (STRONG && wr_mode) begin
      wr_tx_seq = link_ctr_q[32'(lk_i(wr_rnode)) * 32 +: SEQ_W];
      ev_r_eg_tag = link_ctr_q[32'(lk_i(wr_rnode)) * 32 + 16 +: 16];
      ev_r_ctr_v = 1'b1;
    end
    push_req(OP_CONNECT, part, ep);
    bump_stat_r(STAT_CONNECT_SENT);
  endtask

  // The register side logs only into the requester's partition. The event
  // is applied by p_reg_log after the access: no access both logs and
  // changes the log, exception or alarm state (ERRLOG_POP, EXC_CLEAR,
  // ALARM_CFG and IRQ_STATUS writes never log), so the order is the C++ one.
  task automatic log_error_r(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                             logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    if (part < PART_ID_BITS'(NPART)) begin
      ev_r_log_v = 1'b1;
      ev_r_log_w = log_word(r, ep, opcode, from_fabric, exception, src_node);
    end
  endtask

  task automatic zeroize_r();
    wr_key = '0;
    wr_kvalid = 1'b0;
    wr_korigin = 1'b0;
  endtask

  // Discards the receive queue, one RXQ_FLUSHED count per message; reg_any: whether any.
  task automatic flush_rxq();
    reg_any = wr_rxq_count != '0;
    ev_r_flush = wr_rxq_count;
    wr_rxq_count = '0;
    wr_rxq_head = '0;
  endtask

  // Every field of an entry to its power-up value except the generation,
  // which survives FREE (receive slots need no clearing: only slots below
  // rxq_count are visible).
  task automatic reset_entry();
    wr_state = '0;          wr_dir = '0;
    wr_owner_part = '0;     wr_owner_pid = '0;
    wr_rnode = '0;          wr_rpart = '0;          wr_rep = '0;
    wr_last_reason = '0;    wr_tx_nacks = '0;
    wr_tx_last_reason = '0; wr_tx_last_tag = '0;    wr_tx_sent = '0;
    wr_rxq_head = '0;       wr_rxq_count = '0;
    wr_rgen = '0;           wr_tx_seq = '0;         wr_rx_seq = '0;
    wr_tx_lost = '0;        wr_rx_lost = '0;        wr_nack_seq = '0;
    wr_mode = 1'b0;
    zeroize_r();
  endtask

  // The entry a register access can touch: CST window / endpoint page by
  // address, else (commands) the first FREE entry for ALLOC, the CMD.EP
  // operand otherwise. Paths that touch no entry write the copy back unchanged.
  function automatic logic [EPI-1:0] reg_entry(logic [CMM_ADDR_BITS-1:0] a, word_t wd);
    logic found;
    logic [EPI-1:0] k;
    found = 1'b0;
    k = wd[CMM_CMD_EP_LSB +: EPI];
    if (a >= CMM_CST_BASE && a < CMM_CST_BASE + CMM_ADDR_BITS'(NEP * CMM_CST_STRIDE))
      k = EPI'((32'(a) - 32'(CMM_CST_BASE)) / CMM_CST_STRIDE);
    else if (a >= CMM_EP_BASE && a < CMM_EP_BASE + CMM_ADDR_BITS'(NEP * CMM_EP_STRIDE))
      k = EPI'((32'(a) - 32'(CMM_EP_BASE)) / CMM_EP_STRIDE);
    else if (wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS] == CMM_CMD_OP_BITS'(CMD_ALLOC))
      for (int i = 0; i < NEP; i++)
        if (!found && cst_state_m[i] == STATE_FREE) begin
          found = 1'b1;
          k = EPI'(i);
        end
    reg_entry = k;
  endfunction

  // ------------------------------------------------------------------ ingress commit (S2)
  task automatic ingress_data();
    reason_e r;
    logic tell;
    logic [RXQ_IW-1:0] slot;
    logic [SEQ_W-1:0] d;
    logic drop, strong_e;
    r = REASON_OK;
    tell = 1'b0;
    drop = 1'b0;
    strong_e = STRONG && wi_mode;
    slot = '0;
    d = `CMM_H(s1_q, SEQ) - wi_rx_seq;  // mod 2^16
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, LEN) == '0 || `CMM_H(s1_q, LEN) > MAX_LEN) r = REASON_BAD_LEN;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FAULT) r = REASON_TABLE_FAULT;  // out of service: dropped unanswered
    // Strong entry: the MAC first (11.7), under the key the RX engine took at
    // the S1 load, which must still be the entry's; nothing unauthenticated is answered.
    else if (strong_e && !wi_kvalid) begin
      r = REASON_NO_KEY;
      tell = 1'b1;
      drop = 1'b1;
    end else if (strong_e && (!s1_strong || wi_key != mrx_key_q || mrx_tag != `CMM_H(s1_q, KEY))) begin
      r = REASON_BAD_MAC;
      tell = 1'b1;
      drop = 1'b1;
    end else if (wi_state == STATE_FREE) begin
      pf_v = strong_e;
      r = REASON_NOT_OPEN;
    end else begin
      pf_v = strong_e;
      tell = 1'b1;
      if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (wi_dir != DIR_RECV) r = REASON_WRONG_DIR;
      else if (wi_state != STATE_OPEN) r = REASON_NOT_OPEN;
      else if (!wi_kvalid) r = REASON_NO_KEY;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
      else if (!gens_match_i()) r = REASON_STALE_GEN;
      else if (!strong_e && !key_match_i()) r = REASON_BAD_KEY;
      else if (d[SEQ_W-1]) begin
        r = REASON_SEQ_OLD;    // duplicate, replay or overtaken: the sender is told, not the owner
        tell = 1'b0;
      end else if (wi_rxq_count >= RXQ_CW'(RXQ_DEPTH)) begin
        r = REASON_RXQ_FULL;   // the sender is told by NACK
        tell = 1'b0;
        wi_rx_seq = `CMM_H(s1_q, SEQ) + 1'b1;
      end
    end
    vd_valid_n = 1'b1;
    vd_ep_n = `CMM_H(s1_q, DST_EP);
    vd_reason_n = RSN_W'(r);
    if (r != REASON_OK) begin
      vd_accept_n = 1'b0;
      vd_slot_n = '0;
      if (r == REASON_TABLE_FAULT || drop) count_reject_i(r);  // no NACK: nothing in the entry can be trusted / unauthenticated
      else nack(r);
      if (tell) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                            `CMM_H(s1_q, SRC_NODE));
      if (r == REASON_RXQ_FULL && d != '0) begin
        // The gap before it is still reported to the receiving agent (I7).
        wi_rx_lost = sat_add(wi_rx_lost, d);
        count_reject_i(REASON_SEQ_GAP);
        log_error_i(wi_owner_part, RSN_W'(REASON_SEQ_GAP), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1,
                    1'b0, `CMM_H(s1_q, SRC_NODE));
      end
    end else begin
      wi_rx_seq = `CMM_H(s1_q, SEQ) + 1'b1;
      slot = RXQ_IW'((32'(wi_rxq_head) + 32'(wi_rxq_count)) % RXQ_DEPTH);
      wi_rxq_push = 1'b1;
      wi_rxq_slot = slot;
      wi_rxq_len = `CMM_H(s1_q, LEN);
      wi_rxq_tag = `CMM_H(s1_q, TAG);
      wi_rxq_count = wi_rxq_count + RXQ_CW'(1);
      vd_accept_n = 1'b1;
      vd_slot_n = SLOT_W'(slot);
      raise_i(wi_owner_part, IRQM_RX);
      bump_stat_i(STAT_DATA_DELIVERED);
      if (d != '0) begin
        // d messages before this one are missing: tell the owner and the sender (one NACK).
        wi_rx_lost = sat_add(wi_rx_lost, d);
        log_error_i(wi_owner_part, RSN_W'(REASON_SEQ_GAP), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1,
                    1'b0, `CMM_H(s1_q, SRC_NODE));
        nack_seq(REASON_SEQ_GAP, d);
      end
    end
  endtask

  task automatic ingress_connect();
    reason_e r;
    logic logit, exc, drop;
    logic [KEY_BITS-1:0] ckey;  // the key the CONNECT carries (strong: unwrapped)
    r = REASON_OK;
    logit = 1'b0;
    exc = 1'b0;
    drop = 1'b0;
    ckey = s1_strong ? uw_key : `CMM_H(s1_q, KEY);
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FAULT) r = REASON_TABLE_FAULT;  // out of service: unanswered
    else if (wi_state == STATE_FREE) r = REASON_NOT_OPEN;
    // Strong CONNECT (11.8): link key, then the wrap tag over the ciphertext; dropped unanswered.
    else if (s1_strong && (!lk_in(`CMM_H(s1_q, SRC_NODE)) || !link_valid_q[lk_i(`CMM_H(s1_q, SRC_NODE))])) begin
      r = REASON_NO_LINK_KEY;
      drop = 1'b1;
      logit = `CMM_H(s1_q, DST_PART) == wi_owner_part;
    end else if (s1_strong && (`CMM_H(s1_q, LEN) != LEN_W'(16) || uw_tag != `CMM_H(s1_q, KEY))) begin
      r = REASON_BAD_MAC;
      drop = 1'b1;
      logit = `CMM_H(s1_q, DST_PART) == wi_owner_part;
    end else begin
      logit = 1'b1;
      pf_v = s1_strong;
      pf_unwrap = 1'b1;
      if (STRONG && s1_strong != wi_mode) r = REASON_MODE_MISMATCH;
      else if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (wi_dir == DIR_RECV) begin
        // I6: a remote CONNECT must not change a key the local agent set.
        if (wi_kvalid) begin
          r = REASON_KEY_LOCKED;
          exc = 1'b1;
        end else r = REASON_WRONG_DIR;
      end
      else if (wi_kvalid) begin
        // A duplicate of the CONNECT that opened the entry is answered again;
        // any other key is I3's KEY_PRESENT.
        if (!(wi_state == STATE_OPEN && wi_korigin == ORIGIN_REMOTE && ids_match_i() && gens_match_i() &&
              ckey == wi_key))
          r = REASON_KEY_PRESENT;
      end
      else if (wi_state != STATE_AUTHORIZED) r = REASON_NOT_OPEN;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
      else if (!gens_match_i()) r = REASON_STALE_GEN;  // a CONNECT of an earlier epoch
      else if (ckey == '0) r = REASON_KEY_ZERO;  // keys are never all-zero
    end
    if (r == REASON_TABLE_FAULT) begin
      count_reject_i(r);
    end else if (drop) begin
      count_reject_i(r);
      if (logit) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                             `CMM_H(s1_q, SRC_NODE));
    end else if (r != REASON_OK) begin
      nack(r);
      if (logit) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, exc,
                             `CMM_H(s1_q, SRC_NODE));
    end else if (wi_kvalid) begin
      push_ack();  // duplicate: ACK again, nothing else changes
    end else begin
      wi_key = ckey;
      wi_kvalid = 1'b1;
      wi_korigin = ORIGIN_REMOTE;
      wi_state = STATE_OPEN;
      wi_tx_seq = '0;
      wi_nack_seq = '0;
      wi_last_reason = '0;
      raise_i(wi_owner_part, IRQM_CONN);
      bump_stat_i(STAT_CONNECT_ACCEPTED);
      push_ack();
    end
  endtask

  task automatic ingress_connect_ack();
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i || `CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) begin
      count_reject_i(REASON_STRAY_RESPONSE);
    end else if (wi_state == STATE_FAULT) begin
      count_reject_i(REASON_TABLE_FAULT);
    end else if (wi_state != STATE_CONNECTING || wi_dir != DIR_RECV ||
        `CMM_H(s1_q, DST_PART) != wi_owner_part || !ids_match_i()) begin
      count_reject_i(REASON_STRAY_RESPONSE);
    end else if (STRONG && wi_mode && (!wi_kvalid || !s1_strong || im_tag != `CMM_H(s1_q, KEY))) begin
      count_reject_i(REASON_BAD_MAC);  // strong entry: the MAC first (11.7)
    end else if (!gens_match_i()) begin
      count_reject_i(REASON_STALE_GEN);
    end else if (!wi_kvalid || (!(STRONG && wi_mode) && !key_match_i())) begin
      count_reject_i(REASON_UNAUTH_RESPONSE);
    end else begin
      wi_state = STATE_OPEN;
      wi_last_reason = '0;
      raise_i(wi_owner_part, IRQM_CONN);
    end
  endtask

  task automatic ingress_nack();
    logic owned, proven, done, bad_mac;
    rsn_t why;
    logic [SEQ_W-1:0] fresh, window;
    logic [HDR_AUX_BITS-1:0] nop;  // the original opcode (strong cores: without the STRONG bit, 11.2)
    nop = `CMM_H(s1_q, AUX) & ~(STRONG ? AUX_STRONG : 8'd0);
    fresh = `CMM_H(s1_q, SEQ) - wi_nack_seq;       // mod 2^16
    window = wi_tx_seq - wi_nack_seq;              // believable: seq in [nack_seq, tx_seq - 1]
    owned = `CMM_H(s1_q, DST_NODE) == cfg_node_id_i && `CMM_H(s1_q, DST_EP) < EP_ID_BITS'(NEP) &&
            wi_state != STATE_FREE && wi_owner_part == `CMM_H(s1_q, DST_PART) && ids_match_i();
    // Strong entry: the MAC first (11.7); then the generations prove the epoch.
    bad_mac = STRONG && wi_mode && wi_kvalid && (!s1_strong || im_tag != `CMM_H(s1_q, KEY));
    proven = gens_match_i() && wi_kvalid && ((STRONG && wi_mode) || key_match_i());  // a NACK changes an entry only if it proves them
    why = (`CMM_H(s1_q, REASON) < RSN_W'(REASON_COUNT)) ? `CMM_H(s1_q, REASON) : RSN_W'(REASON_BAD_OPCODE);
    done = 1'b0;
    if (nop != HDR_AUX_BITS'(OPCODE_CLOSE) && nop != HDR_AUX_BITS'(OPCODE_MGMT) &&
        `CMM_H(s1_q, DST_NODE) == cfg_node_id_i && `CMM_H(s1_q, DST_EP) < EP_ID_BITS'(NEP) &&
        wi_state == STATE_FAULT) begin
      // NACKs of CLOSE and MGMT address a partition, every other one its entry.
      count_reject_i(REASON_TABLE_FAULT);
      done = 1'b1;
    end else if (nop == HDR_AUX_BITS'(OPCODE_DATA)) begin
      if (owned && wi_dir == DIR_SEND) begin
        done = 1'b1;
        if (bad_mac) count_reject_i(REASON_BAD_MAC);
        else if (!proven) count_reject_i(REASON_UNAUTH_RESPONSE);
        else if (why != RSN_W'(REASON_SEQ_OLD) && fresh >= window) begin
          // At most once: a NACK answers one DATA that was sent and not
          // answered yet (the receiver answers in order); a duplicate or
          // replay is SEQ_OLD.
          count_reject_i(REASON_SEQ_OLD);
        end else begin
          if (why != RSN_W'(REASON_SEQ_OLD)) wi_nack_seq = `CMM_H(s1_q, SEQ) + 1'b1;
          wi_tx_last_reason = `CMM_H(s1_q, REASON);
          if (why != RSN_W'(REASON_SEQ_GAP)) wi_tx_last_tag = `CMM_H(s1_q, TAG);  // SEQ_GAP: tag = missing count
          wi_last_reason = `CMM_H(s1_q, REASON);
          raise_i(wi_owner_part, IRQM_TXNACK);
          if (why == RSN_W'(REASON_SEQ_GAP)) begin
            // tag messages before DATA seq were lost (that one was delivered):
            // counted apart from the refusals, and logged.
            wi_tx_lost = sat_add(wi_tx_lost, `CMM_H(s1_q, TAG));
            log_error_i(wi_owner_part, why, `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                        `CMM_H(s1_q, SRC_NODE));
          end else if (why != RSN_W'(REASON_SEQ_OLD) && wi_tx_nacks != '1) begin
            // TX_NACKS counts refusals only; SEQ_OLD: a copy of one already
            // delivered or reported lost (delivered + TX_NACKS + CST_LOST.TX = sent).
            wi_tx_nacks = wi_tx_nacks + 1'b1;
          end
        end
      end
    end else if (nop == HDR_AUX_BITS'(OPCODE_CONNECT)) begin
      if (owned && wi_state == STATE_CONNECTING && wi_dir == DIR_RECV) begin
        done = 1'b1;
        if (bad_mac) count_reject_i(REASON_BAD_MAC);
        else if (!proven) count_reject_i(REASON_UNAUTH_RESPONSE);
        // Only the latest attempt's NACK: an older one may be overtaken by the
        // re-sent CONNECT's success (a half-open channel otherwise).
        else if (`CMM_H(s1_q, SEQ) != wi_tx_seq) done = 1'b0;  // STRAY_RESPONSE
        else begin
          zeroize_i();
          wi_state = STATE_AUTHORIZED;
          wi_last_reason = `CMM_H(s1_q, REASON);
          raise_i(wi_owner_part, IRQM_CONN);
          log_error_i(wi_owner_part, why, `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                      `CMM_H(s1_q, SRC_NODE));
        end
      end
    end else if (nop == HDR_AUX_BITS'(OPCODE_CLOSE) || nop == HDR_AUX_BITS'(OPCODE_MGMT)) begin
      if (`CMM_H(s1_q, DST_NODE) == cfg_node_id_i && `CMM_H(s1_q, DST_PART) < PART_ID_BITS'(NPART)) begin
        log_error_i(`CMM_H(s1_q, DST_PART), why, `CMM_H(s1_q, DST_EP), s1_q[HDR_AUX_LSB +: OPC_W], 1'b1, 1'b0,
                    `CMM_H(s1_q, SRC_NODE));
        done = 1'b1;
      end
    end
    if (!done) count_reject_i(REASON_STRAY_RESPONSE);
  endtask

  task automatic ingress_close();
    reason_e r;
    logic logit, stray, drop, strong_k;
    r = REASON_OK;
    logit = 1'b0;
    stray = 1'b0;
    drop = 1'b0;
    strong_k = STRONG && wi_mode && wi_kvalid;  // a strong entry holding a key: the MAC first (11.7)
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FAULT) r = REASON_TABLE_FAULT;  // out of service: unanswered
    else if (wi_state == STATE_FREE) r = REASON_NOT_OPEN;
    else if (strong_k && (!s1_strong || im_tag != `CMM_H(s1_q, KEY))) begin
      r = REASON_BAD_MAC;  // never answered
      drop = 1'b1;
      logit = 1'b1;
    end else begin
      logit = 1'b1;
      if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
      // Crossing CLOSEs: both entries already left the epoch; nothing to answer.
      else if (wi_state == STATE_ALLOCATED || wi_state == STATE_CLOSED) stray = 1'b1;
      else if (!gens_match_i()) r = REASON_STALE_GEN;
      else if (wi_kvalid) begin
        if (!strong_k && !key_match_i()) r = REASON_BAD_KEY;
        else if (wi_state != STATE_CONNECTING && wi_state != STATE_OPEN) stray = 1'b1;
      end
      // No key: only a send entry in AUTHORIZED (the CLOSE overtook its CONNECT) becomes a tombstone.
      else if (!(wi_dir == DIR_SEND && wi_state == STATE_AUTHORIZED)) stray = 1'b1;
    end
    if (r == REASON_TABLE_FAULT) begin
      count_reject_i(r);
    end else if (drop) begin
      count_reject_i(r);
      log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                  `CMM_H(s1_q, SRC_NODE));
    end else if (r != REASON_OK) begin
      nack(r);  // a NACK of CLOSE never carries a key
      if (logit) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                             `CMM_H(s1_q, SRC_NODE));
    end else if (stray) begin
      count_reject_i(REASON_STRAY_RESPONSE);
    end else begin
      zeroize_i();
      wi_state = STATE_CLOSED;  // queued messages stay readable; a late CONNECT meets CLOSED
      raise_i(wi_owner_part, IRQM_CONN);
    end
  endtask

  task automatic ingress_mgmt();
    logic [PI-1:0] p;
    p = s1_q[HDR_DST_PART_LSB +: PI];
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) nack(REASON_MISROUTED);
    else if (`CMM_H(s1_q, DST_PART) >= PART_ID_BITS'(NPART)) nack(REASON_BAD_PART);
    else if (mq_count_q[p] == MQ_CW'(MGMTQ_DEPTH)) nack(REASON_MGMTQ_FULL);
    else begin
      ev_i_mq_v = 1'b1;  // stored at slot (head + count) by p_mid_part
      ev_i_mq_part = p;
      ev_i_mq_node = `CMM_H(s1_q, SRC_NODE);
      ev_i_mq_spart = `CMM_H(s1_q, SRC_PART);
      ev_i_mq_words = `CMM_H(s1_q, KEY);
      raise_i(`CMM_H(s1_q, DST_PART), IRQM_MGMT);
      bump_stat_i(STAT_MGMT_RECEIVED);
    end
  endtask

  task automatic ingress();
    unique case (`CMM_H(s1_q, OPCODE))
      OP_DATA:        ingress_data();
      OP_CONNECT:     ingress_connect();
      OP_CONNECT_ACK: ingress_connect_ack();
      OP_NACK:        ingress_nack();
      OP_CLOSE:       ingress_close();
      OP_MGMT:        ingress_mgmt();
      default:        nack(REASON_BAD_OPCODE);
    endcase
  endtask
  // ------------------------------------------------------------------ register side
  task automatic doorbell(logic [EPI-1:0] e, word_t wd);
    reason_e r;
    logic [LEN_W-1:0] len;
    len = wd[CMM_EP_DOORBELL_LEN_LSB +: CMM_EP_DOORBELL_LEN_BITS];
    r = REASON_OK;
    if (wr_dir != DIR_SEND) r = REASON_WRONG_DIR;
    else if (wr_state != STATE_OPEN) r = REASON_NOT_OPEN;
    else if (!wr_kvalid) r = REASON_NO_KEY;
    else if (len == '0 || len > MAX_LEN) r = REASON_BAD_LEN;
    if (r != REASON_OK) begin
      wr_tx_last_reason = RSN_W'(r);
      count_reject_r(r);
      reg_rsp = RSP_REJECT;
    end else begin
      // Egress key attach: key, source ids, generations and seq come from the CMM, never software (I4).
      push_req(OP_DATA, wr_owner_part, EP_ID_BITS'(e));  // header: p_eg_hdr
      if (STRONG && wr_mode) begin
        // The tag replaces the key: the TX engine takes the payload first (11.6).
        ev_r_eg_v = 1'b0;
        ev_r_mtx = 1'b1;
      end
      wr_tx_seq = wr_tx_seq + 1'b1;
      // NACKs are believed for the last 2^15 DATA at most (security.md 1.5): drag the window.
      if (SEQ_W'(wr_tx_seq - wr_nack_seq) > SEQ_W'(16'h8000)) wr_nack_seq = wr_tx_seq - SEQ_W'(16'h8000);
      wr_tx_sent = wr_tx_sent + 1'b1;  // wraps, like the C++ counter
      bump_stat_r(STAT_DATA_SENT);
    end
  endtask

  // Stores the staged key into a receive entry (SET_KEY, CONNECT); I6 on a
  // send entry. Atomic staging: all four words, written by the commanding
  // process alone, not zero. With HWKEY the generator's result (if READY)
  // replaces the staging bank; an existing key of a CONNECT is used as is.
  // Results in key_r / key_exc / key_ok (module level: no task outputs).
  task automatic store_local_key(logic allow_existing, logic [PID_BITS-1:0] pid, logic hwkey);
    key_ok = 1'b0;
    key_exc = 1'b0;
    key_r = (REASON_OK);
    if (wr_dir == DIR_SEND) begin
      if (wr_kvalid) begin
        key_r = (REASON_KEY_LOCKED);  // key set by a remote CONNECT
        key_exc = 1'b1;
      end else key_r = (REASON_WRONG_DIR);
    end else if (wr_state != STATE_AUTHORIZED) begin
      key_r = (REASON_NOT_OPEN);
    end else if (wr_kvalid) begin
      if (allow_existing) begin
        key_r = link_chk();
        key_ok = key_r == REASON_OK;
      end else key_r = (REASON_KEY_PRESENT);
    end else if (hwkey) begin
      // HWKEY: the generator's result instead of the staging bank (security.md 1.10).
      if (!kg_ready_m) key_r = (REASON_KEY_GEN_NOT_READY);
      else if (allow_existing && link_chk() != REASON_OK) key_r = link_chk();  // CONNECT: before the draw
      else begin
        wr_key = kg_res;
        wr_kvalid = 1'b1;
        wr_korigin = ORIGIN_LOCAL;
        key_ok = 1'b1;
        kg_draw = 1'b1;  // ctr + 1, READY 0, next computation (p_kg)
      end
    end else if (wp_key_wr != '0 && wp_key_pid != pid) begin
      key_r = (REASON_KEY_STAGE_BUSY);
    end else if (wp_key_wr != '1) begin
      key_r = (REASON_KEY_INCOMPLETE);
    end else if (wp_key_stage == '0) begin
      key_r = (REASON_KEY_ZERO);
    end else if (allow_existing && link_chk() != REASON_OK) begin
      key_r = link_chk();  // CONNECT: before the store
    end else begin
      wr_key = wp_key_stage;
      wr_kvalid = 1'b1;
      wr_korigin = ORIGIN_LOCAL;
      key_ok = 1'b1;
    end
  endtask

  // CMD ALLOC: free entries must exceed the unused quota of the partitions
  // holding fewer entries than the requester (quota reservation,
  // docs/security.md 1.7, as CmmCore narrows it so that over-committed
  // quotas cannot deadlock).
  function automatic logic alloc_room(logic [PI-1:0] p, logic [USED_W-1:0] used_p);
    logic [EPI:0] nfree;
    logic [USED_W+PI:0] resv;
    logic [USED_W-1:0] spare;
    nfree = '0;
    spare = '0;
    resv = '0;
    for (int i = 0; i < NEP; i++)
      if (cst_state_m[i] == STATE_FREE) nfree = nfree + 1'b1;
    for (int q = 0; q < NPART; q++)
      if (PI'(q) != p && used_q[q] < used_p && USED_W'(cfg_quota_i[q*QUO_W +: QUO_W]) > used_q[q]) begin
        spare = USED_W'(cfg_quota_i[q*QUO_W +: QUO_W]) - used_q[q];
        resv = resv + (USED_W+PI+1)'(spare);
      end
    alloc_room = nfree != '0 && (USED_W+PI+1)'(nfree) > resv;
  endfunction

  task automatic command(logic [PI-1:0] p, word_t wd);
    logic [CMM_CMD_OP_BITS-1:0] op;
    logic [CMM_CMD_EP_BITS-1:0] ep;
    logic [EPI-1:0] e;
    logic [PART_ID_BITS-1:0] part;
    rcode_t r;
    logic exc, owned, found;
    logic [CMM_CMD_STATUS_COUNT_BITS-1:0] cnt;
    word_t st;
    part = PART_ID_BITS'(p);
    op = wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS];
    ep = wd[CMM_CMD_EP_LSB +: CMM_CMD_EP_BITS];
    e = ep[EPI-1:0];
    r = REASON_OK;
    exc = 1'b0;
    found = 1'b0;
    // need_owned(): operand in range, not FAULT, owned by the requester's partition (I5).
    owned = 1'b0;
    if (ep >= CMM_CMD_EP_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wr_state == STATE_FAULT) r = REASON_TABLE_FAULT;  // before the owner check: the owner field is not trusted
    else if (wr_state == STATE_FREE || wr_owner_part != part) r = REASON_DENIED;
    else owned = 1'b1;

    unique case (op)
      CMM_CMD_OP_BITS'(CMD_NOP): r = REASON_OK;
      CMM_CMD_OP_BITS'(CMD_ALLOC): begin
        r = REASON_OK;
        if (wp_used >= USED_W'(cfg_quota_i[p*QUO_W +: QUO_W])) r = REASON_QUOTA_EXCEEDED;
        else if (!alloc_room(p, wp_used)) r = REASON_NO_FREE_EP;
        else begin
          for (int i = 0; i < NEP; i++)
            if (!found && cst_state_m[i] == STATE_FREE) begin
              found = 1'b1;
              e = EPI'(i);
            end
          reset_entry();
          wr_state = STATE_ALLOCATED;
          wr_owner_part = part;
          wr_gen = wr_gen + 1'b1;  // a new epoch every time the entry enters ALLOCATED
          wp_used = wp_used + 1'b1;
          ep = CMM_CMD_EP_BITS'(e);
        end
      end
      CMM_CMD_OP_BITS'(CMD_AUTHORIZE):
        if (owned) begin
          if (wr_state != STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else wr_state = STATE_AUTHORIZED;
        end
      CMM_CMD_OP_BITS'(CMD_SET_KEY):
        if (owned) begin
          store_local_key(1'b0, reg_req_pid_i, wd[CMM_CMD_HWKEY_LSB]);
          r = key_r;
          exc = key_exc;
        end
      CMM_CMD_OP_BITS'(CMD_CONNECT):
        if (owned) begin
          if (wr_dir == DIR_RECV && wr_state == STATE_CONNECTING) begin
            r = link_chk();
            if (r == REASON_OK) begin
              wr_tx_seq = wr_tx_seq + 1'b1;  // a new attempt: only its NACK is believed
              send_connect(part, ep);        // retry: the stored key again, the staged one is not used
            end
          end else begin
            store_local_key(1'b1, reg_req_pid_i, wd[CMM_CMD_HWKEY_LSB]);
            r = key_r;
            exc = key_exc;
            if (key_ok) begin
              wr_tx_seq = '0;  // attempt 0 (a receive entry sends no DATA)
              send_connect(part, ep);
              wr_state = STATE_CONNECTING;
              wr_rx_seq = '0;
            end
          end
        end
      CMM_CMD_OP_BITS'(CMD_CLOSE):
        if (owned) begin
          if (wr_state == STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else begin
            if (wr_state == STATE_CONNECTING || wr_state == STATE_OPEN) begin
              // Authenticated by the key and the current generations (before the bump below).
              push_req(OP_CLOSE, part, ep);
              bump_stat_r(STAT_CLOSE_SENT);
            end
            zeroize_r();
            flush_rxq();
            if (reg_any) log_error_r(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            wr_state = STATE_ALLOCATED;
            wr_gen = wr_gen + 1'b1;
          end
        end
      CMM_CMD_OP_BITS'(CMD_FREE):
        if (owned) begin
          if (wr_state != STATE_ALLOCATED && wr_state != STATE_CLOSED) r = REASON_NOT_OPEN;
          else begin
            flush_rxq();
            if (reg_any) log_error_r(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            reset_entry();
            wp_used = wp_used - 1'b1;
          end
        end
      CMM_CMD_OP_BITS'(CMD_MGMT_SEND): begin
        r = REASON_OK;
        push_req(OP_MGMT, part, '0);
        bump_stat_r(STAT_MGMT_SENT);
      end
      CMM_CMD_OP_BITS'(CMD_MGMT_POP): begin
        r = REASON_OK;
        if (wp_mq_count == '0) r = REASON_RXQ_EMPTY;
        else begin
          wp_mq_head = MQ_IW'((32'(wp_mq_head) + 1) % MGMTQ_DEPTH);
          wp_mq_count = wp_mq_count - MQ_CW'(1);
        end
      end
      CMM_CMD_OP_BITS'(CMD_ERRLOG_POP): begin
        r = REASON_OK;
        if (wp_el_count == '0) r = REASON_RXQ_EMPTY;
        else begin
          wp_el_head = EL_IW'((32'(wp_el_head) + 1) % ERRLOG_DEPTH);
          wp_el_count = wp_el_count - EL_CW'(1);
        end
      end
      CMM_CMD_OP_BITS'(CMD_EXC_CLEAR): begin
        r = REASON_OK;
        wp_exc_count = '0;
        wp_exc_first = '0;
        wp_exc_last = '0;
      end
      default: r = REASON_BAD_CMD;
    endcase

    // A staged key never outlives one command.
    wp_key_stage = '0;
    wp_key_wr = '0;
    wp_key_pid = '0;
    cnt = wp_cmd_status[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] + 1'b1;
    st = '0;
    st[CMM_CMD_STATUS_REASON_LSB +: CMM_CMD_STATUS_REASON_BITS] = CMM_CMD_STATUS_REASON_BITS'(r);
    st[CMM_CMD_STATUS_EP_LSB +: CMM_CMD_STATUS_EP_BITS] = ep;
    st[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] = cnt;
    wp_cmd_status = st;
    if (r != REASON_OK) begin
      count_reject_r(r);
      reg_rsp = RSP_REJECT;
      if (exc || r == REASON_DENIED) log_error_r(part, RSN_W'(r), ep, '0, 1'b0, exc, cfg_node_id_i);
    end
  endtask

  task automatic decerr(logic [PART_ID_BITS-1:0] part);
    count_reject_r(REASON_BAD_ADDR);
    log_error_r(part, RSN_W'(REASON_BAD_ADDR), '0, '0, 1'b0, 1'b0, cfg_node_id_i);
    reg_rsp = RSP_DECERR;
  endtask

  task automatic denied(logic [PART_ID_BITS-1:0] part, logic [EPI-1:0] e);
    count_reject_r(REASON_DENIED);
    log_error_r(part, RSN_W'(REASON_DENIED), EP_ID_BITS'(e), '0, 1'b0, 1'b0, cfg_node_id_i);
    reg_rsp = RSP_DENIED;
  endtask

  // A write setting a bit outside the register's writable fields changes
  // nothing (RESERVED_BITS, counted only).
  function automatic logic reserved_bits(word_t wd, word_t wmask);
    reserved_bits = (wd & ~wmask) != '0;
  endfunction

  // Kernel bank (banked by requester partition) and node-wide counters.
  // rid/i: the register and word index from the generated decode.
  task automatic kernel_bank(logic [RID_BITS-1:0] rid, int i, logic [PI-1:0] p, logic kernel, logic wr,
                             word_t wd);
    logic ro;
    logic [PART_ID_BITS-1:0] part;
    word_t wmask;
    part = PART_ID_BITS'(p);
    ro = cmm_reg_acc(rid) == RACC_RO;
    wmask = cmm_reg_wmask(rid);

    if (!kernel) denied(part, '0);
    else if (wr && ro) begin
      count_reject_r(REASON_READ_ONLY);
      reg_rsp = RSP_REJECT;
    end else if (!wr) begin
      // The read mux has no CKT input and KEY staging is write-only: I1 by construction.
      if (rid == RID_PART_INFO) begin
        reg_rd[CMM_PART_INFO_PART_LSB +: CMM_PART_INFO_PART_BITS] = part;
        reg_rd[CMM_PART_INFO_QUOTA_LSB +: CMM_PART_INFO_QUOTA_BITS] = cfg_quota_i[p*QUO_W +: QUO_W];
      end else if (rid == RID_PART_USED) begin
        reg_rd[CMM_PART_USED_USED_LSB +: CMM_PART_USED_USED_BITS] = wp_used;
      end else if (rid == RID_CMD_STATUS) begin
        reg_rd = wp_cmd_status;
      end else if (rid == RID_IRQ_STATUS) begin
        reg_rd = DW'(wp_irq_status);
      end else if (rid == RID_IRQ_ENABLE) begin
        reg_rd = DW'(wp_irq_enable);
      end else if (rid == RID_MGMT_TX) begin
        reg_rd = wp_mgmt_tx[i*DW +: DW];
      end else if (rid == RID_MGMT_DST) begin
        reg_rd = wp_mgmt_dst;
      end else if (rid == RID_MGMT_RX_STATUS) begin
        reg_rd[CMM_MGMT_RX_STATUS_COUNT_LSB +: CMM_MGMT_RX_STATUS_COUNT_BITS] =
            CMM_MGMT_RX_STATUS_COUNT_BITS'(wp_mq_count);
        if (wp_mq_count != '0) begin
          reg_rd[CMM_MGMT_RX_STATUS_SRC_NODE_LSB +: CMM_MGMT_RX_STATUS_SRC_NODE_BITS] = mq_src_node_m[p][wp_mq_head];
          reg_rd[CMM_MGMT_RX_STATUS_SRC_PART_LSB +: CMM_MGMT_RX_STATUS_SRC_PART_BITS] = mq_src_part_m[p][wp_mq_head];
        end
      end else if (rid == RID_MGMT_RX) begin
        if (wp_mq_count != '0) reg_rd = mq_words_m[p][wp_mq_head][i*DW +: DW];
      end else if (rid == RID_ERRLOG_STATUS) begin
        reg_rd[CMM_ERRLOG_STATUS_COUNT_LSB +: CMM_ERRLOG_STATUS_COUNT_BITS] = CMM_ERRLOG_STATUS_COUNT_BITS'(wp_el_count);
        reg_rd[CMM_ERRLOG_STATUS_LOST_LSB +: CMM_ERRLOG_STATUS_LOST_BITS] = wp_el_lost;
      end else if (rid == RID_ERRLOG_HEAD) begin
        if (wp_el_count != '0) reg_rd = el_m[p][wp_el_head];
      end else if (rid == RID_ERRLOG_HEAD_REPEAT) begin
        if (wp_el_count != '0) reg_rd[CMM_ERRLOG_HEAD_REPEAT_COUNT_LSB +: REP_W] = el_rep_m[p][wp_el_head];
      end else if (rid == RID_EXC_COUNT) begin
        reg_rd[CMM_EXC_COUNT_COUNT_LSB +: EXC_W] = wp_exc_count;
      end else if (rid == RID_EXC_FIRST) begin
        reg_rd = wp_exc_first;
      end else if (rid == RID_EXC_LAST) begin
        reg_rd = wp_exc_last;
      end else if (rid == RID_ALARM_CFG) begin
        reg_rd = DW'(wp_alarm_cfg);
      end else if (rid == RID_ALARM_COUNT) begin
        reg_rd[CMM_ALARM_COUNT_COUNT_LSB +: ALC_W] = wp_alarm_count;
      end else if (rid == RID_KEYGEN_STATUS) begin
        // Status only: nothing of K, ctr or the result is readable (I1).
        reg_rd[CMM_KEYGEN_STATUS_READY_LSB] = kg_ready_m;
        reg_rd[CMM_KEYGEN_STATUS_SEEDED_LSB] = kg_seeded_m;
      end else if (rid == RID_TABLE_FAULT) begin
        reg_rd[CMM_TABLE_FAULT_COUNT_LSB +: TFC_W] = tf_count_t;
        reg_rd[CMM_TABLE_FAULT_LAST_EP_LSB +: CMM_TABLE_FAULT_LAST_EP_BITS] = tf_ep_t;
        reg_rd[CMM_TABLE_FAULT_LAST_TABLE_LSB] = tf_tab_t;
      end else if (rid == RID_REJECT_COUNT) begin
        if (i < REASON_COUNT) reg_rd = rej_m[i];
      end else if (rid == RID_STAT) begin
        reg_rd = stat_m[i];
      end
      // KEY and CMD read as 0.
    end else if (rid == RID_KEY) begin
      // Atomic staging: while partly written, the bank belongs to its first writer.
      if (wp_key_wr != '0 && wp_key_pid != reg_req_pid_i) begin
        count_reject_r(REASON_KEY_STAGE_BUSY);
        reg_rsp = RSP_REJECT;
      end else begin
        if (wp_key_wr == '0) wp_key_pid = reg_req_pid_i;
        wp_key_wr[i[$clog2(KW)-1:0]] = 1'b1;
        wp_key_stage[i*DW +: DW] = wd;
      end
    end else if (reserved_bits(wd, wmask) ||
                 (rid == RID_CMD && wd[CMM_CMD_HWKEY_LSB] &&
                  wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS] != CMM_CMD_OP_BITS'(CMD_CONNECT) &&
                  wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS] != CMM_CMD_OP_BITS'(CMD_SET_KEY))) begin
      // HWKEY with an op that takes no key is a reserved bit too.
      count_reject_r(REASON_RESERVED_BITS);
      reg_rsp = RSP_REJECT;
    end else begin
      if (rid == RID_CMD) command(p, wd);
      else if (rid == RID_IRQ_STATUS) wp_irq_status = wp_irq_status & ~wd[IRQ_BITS-1:0];
      else if (rid == RID_IRQ_ENABLE) wp_irq_enable = wd[CMM_IRQ_ENABLE_BITS_LSB +: CMM_IRQ_ENABLE_BITS_BITS];
      else if (rid == RID_MGMT_DST) wp_mgmt_dst = wd & CMM_MGMT_DST_WMASK;
      else if (rid == RID_ALARM_CFG) begin
        wp_alarm_cfg = wd[ACFG_W-1:0];  // the reserved bits are 0 here
        wp_alarm_wv = 1'b0;  // a new configuration starts a new count
        wp_alarm_fired = 1'b0;
        wp_alarm_cnt = '0;
      end else wp_mgmt_tx[i*DW +: DW] = wd;
    end
  endtask

  // CST window: kernel agent of the owning partition (I5); a cst_ep_ro
  // register also gives the owner process a masked read-only view (claims 13/17).
  task automatic cst_window(logic [RID_BITS-1:0] rid, logic [EPI-1:0] e, logic [PART_ID_BITS-1:0] part,
                            logic kernel, logic wr, word_t wd);
    word_t wmask;
    logic view;
    logic [CMM_CST_REMOTE_PART_BITS-1:0] rp;
    logic [EP_ID_BITS-1:0] re;
    rp = wd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS];
    // CST_REMOTE.EP holds bits 11:0 of the remote endpoint, CST_REMOTE_HI.EP the rest.
    re = wr_rep;
    re[CMM_CST_REMOTE_EP_BITS-1:0] = wd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS];
    wmask = cmm_reg_wmask(rid);
    view = !kernel && !wr && cmm_reg_who(rid) == RWHO_CST_EP_RO && reg_req_pid_i == wr_owner_pid;
    if (wr_state == STATE_FAULT) begin
      count_reject_r(REASON_TABLE_FAULT);  // out of service; its owner field is not trusted
      reg_rsp = RSP_REJECT;
    end else if (!(kernel || view) || wr_state == STATE_FREE || wr_owner_part != part) denied(part, e);
    else if (!wr) begin
      if (rid == RID_CST_CTRL) begin
        reg_rd[CMM_CST_CTRL_DIR_LSB +: CMM_CST_CTRL_DIR_BITS] = wr_dir;
        if (STRONG) reg_rd[CMM_CST_CTRL_MODE_LSB] = wr_mode;
        reg_rd[CMM_CST_CTRL_STATE_LSB +: CMM_CST_CTRL_STATE_BITS] = wr_state;
        reg_rd[CMM_CST_CTRL_KEY_VALID_LSB +: CMM_CST_CTRL_KEY_VALID_BITS] = wr_kvalid;   // valid bit only, never key bits
        reg_rd[CMM_CST_CTRL_KEY_ORIGIN_LSB +: CMM_CST_CTRL_KEY_ORIGIN_BITS] = wr_korigin;
        reg_rd[CMM_CST_CTRL_OWNER_PART_LSB +: CMM_CST_CTRL_OWNER_PART_BITS] = wr_owner_part;
      end else if (rid == RID_CST_OWNER) begin
        reg_rd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS] = wr_owner_pid;
      end else if (rid == RID_CST_REMOTE) begin
        reg_rd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS] = wr_rnode;
        reg_rd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS] = wr_rpart;
        reg_rd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS] = wr_rep[CMM_CST_REMOTE_EP_BITS-1:0];
      end else if (rid == RID_CST_REMOTE_HI) begin
        reg_rd[CMM_CST_REMOTE_HI_EP_LSB +: CMM_CST_REMOTE_HI_EP_BITS] = wr_rep[EP_ID_BITS-1:CMM_CST_REMOTE_EP_BITS];
      end else if (rid == RID_CST_STATUS) begin
        reg_rd[CMM_CST_STATUS_RXQ_COUNT_LSB +: CMM_CST_STATUS_RXQ_COUNT_BITS] =
            CMM_CST_STATUS_RXQ_COUNT_BITS'(wr_rxq_count);
        reg_rd[CMM_CST_STATUS_LAST_REASON_LSB +: CMM_CST_STATUS_LAST_REASON_BITS] = wr_last_reason;
        reg_rd[CMM_CST_STATUS_TX_NACKS_LSB +: CMM_CST_STATUS_TX_NACKS_BITS] = wr_tx_nacks;
      end else if (rid == RID_CST_GEN) begin
        reg_rd[CMM_CST_GEN_LOCAL_LSB +: CMM_CST_GEN_LOCAL_BITS] = wr_gen;
        reg_rd[CMM_CST_GEN_REMOTE_LSB +: CMM_CST_GEN_REMOTE_BITS] = wr_rgen;
      end else if (rid == RID_CST_SEQ) begin
        reg_rd[CMM_CST_SEQ_TX_LSB +: CMM_CST_SEQ_TX_BITS] = wr_tx_seq;
        reg_rd[CMM_CST_SEQ_RX_LSB +: CMM_CST_SEQ_RX_BITS] = wr_rx_seq;
      end else begin
        reg_rd[CMM_CST_LOST_TX_LSB +: CMM_CST_LOST_TX_BITS] = wr_tx_lost;
        reg_rd[CMM_CST_LOST_RX_LSB +: CMM_CST_LOST_RX_BITS] = wr_rx_lost;
      end
      if (!kernel) reg_rd = reg_rd & cmm_reg_vmask(rid);  // the owner's view: state-level fields only
    end else if (cmm_reg_acc(rid) == RACC_RO) begin
      count_reject_r(REASON_READ_ONLY);
      reg_rsp = RSP_REJECT;
    end else if (reserved_bits(wd, wmask)) begin
      count_reject_r(REASON_RESERVED_BITS);
      reg_rsp = RSP_REJECT;
    end else if (wr_state != STATE_ALLOCATED) begin
      count_reject_r(REASON_NOT_OPEN);
      reg_rsp = RSP_REJECT;
    end else if (rid == RID_CST_CTRL) begin
      wr_dir = wd[CMM_CST_CTRL_DIR_LSB];
      if (STRONG) wr_mode = wd[CMM_CST_CTRL_MODE_LSB];  // else accepted and ignored (11.11)
    end else if (rid == RID_CST_OWNER) begin
      wr_owner_pid = wd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS];
    end else if (rid == RID_CST_GEN) begin
      wr_rgen = wd[CMM_CST_GEN_REMOTE_LSB +: CMM_CST_GEN_REMOTE_BITS];
    end else if (rid == RID_CST_REMOTE_HI) begin
      // Refused if no id has these bits 15:12; the CST_REMOTE write that follows checks the whole id.
      if ((32'(wd[CMM_CST_REMOTE_HI_EP_LSB +: CMM_CST_REMOTE_HI_EP_BITS]) << CMM_CST_REMOTE_EP_BITS) >= 32'(NEP)) begin
        count_reject_r(REASON_BAD_FIELD);
        reg_rsp = RSP_REJECT;
      end else
        wr_rep[EP_ID_BITS-1:CMM_CST_REMOTE_EP_BITS] = wd[CMM_CST_REMOTE_HI_EP_LSB +: CMM_CST_REMOTE_HI_EP_BITS];
    end else begin
      if (rp >= CMM_CST_REMOTE_PART_BITS'(NPART) || 32'(re) >= 32'(NEP)) begin
        count_reject_r(REASON_BAD_FIELD);
        reg_rsp = RSP_REJECT;
      end else begin
        wr_rnode = wd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS];
        wr_rpart = rp;
        wr_rep = re;
      end
    end
  endtask
  // Endpoint pages: the owning process, or the kernel agent of its partition (I5).
  task automatic ep_page(logic [RID_BITS-1:0] rid, logic [EPI-1:0] e, logic [PART_ID_BITS-1:0] part,
                         logic kernel, logic wr, word_t wd);
    logic in_tx, in_rx, is_cmd;
    in_tx = rid == RID_TX_BUF;
    in_rx = rid == RID_RX_BUF;
    is_cmd = cmm_reg_acc(rid) == RACC_CMD;
    if (wr_state == STATE_FAULT) begin
      count_reject_r(REASON_TABLE_FAULT);
      reg_rsp = RSP_REJECT;
    end else if (wr_state == STATE_FREE || wr_owner_part != part ||
             (!kernel && reg_req_pid_i != wr_owner_pid))
      denied(part, e);
    else if (in_tx) begin
      if (!wr) decerr(part);
      else rsp_buf_n = 1'b1;
    end else if (in_rx) begin
      if (wr) decerr(part);
      else if (wr_rxq_count == '0) begin
        count_reject_r(REASON_RXQ_EMPTY);
        reg_rsp = RSP_REJECT;
      end else begin
        rsp_buf_n = 1'b1;
        rsp_slot_n = SLOT_W'(wr_rxq_head);
      end
    end else if (wr != is_cmd) begin
      if (wr) begin
        count_reject_r(REASON_READ_ONLY);
        reg_rsp = RSP_REJECT;
      end
      // Command registers read as 0.
    end else if (rid == RID_EP_DOORBELL) begin
      doorbell(e, wd);
    end else if (rid == RID_EP_RX_POP) begin
      if (wr_rxq_count == '0) begin
        count_reject_r(REASON_RXQ_EMPTY);
        reg_rsp = RSP_REJECT;
      end else begin
        wr_rxq_head = RXQ_IW'((32'(wr_rxq_head) + 1) % RXQ_DEPTH);
        wr_rxq_count = wr_rxq_count - RXQ_CW'(1);
      end
    end else if (rid == RID_EP_TX_STATUS) begin
      reg_rd[CMM_EP_TX_STATUS_LAST_REASON_LSB +: CMM_EP_TX_STATUS_LAST_REASON_BITS] = wr_tx_last_reason;
      reg_rd[CMM_EP_TX_STATUS_NACKS_LSB +: CMM_EP_TX_STATUS_NACKS_BITS] =
          (wr_tx_nacks > CMM_CST_STATUS_TX_NACKS_BITS'({CMM_EP_TX_STATUS_NACKS_BITS{1'b1}}))
              ? '1 : wr_tx_nacks[CMM_EP_TX_STATUS_NACKS_BITS-1:0];  // saturates
      reg_rd[CMM_EP_TX_STATUS_LAST_TAG_LSB +: CMM_EP_TX_STATUS_LAST_TAG_BITS] = wr_tx_last_tag;
    end else if (rid == RID_EP_TX_SENT) begin
      reg_rd[CMM_EP_TX_SENT_COUNT_LSB +: CMM_EP_TX_SENT_COUNT_BITS] = wr_tx_sent;
    end else if (rid == RID_EP_RX_STATUS) begin
      reg_rd[CMM_EP_RX_STATUS_COUNT_LSB +: CMM_EP_RX_STATUS_COUNT_BITS] =
          CMM_EP_RX_STATUS_COUNT_BITS'(wr_rxq_count);
      reg_rd[CMM_EP_RX_STATUS_SLOT_LSB +: CMM_EP_RX_STATUS_SLOT_BITS] = CMM_EP_RX_STATUS_SLOT_BITS'(wr_rxq_head);
      if (wr_rxq_count != '0)
        reg_rd[CMM_EP_RX_STATUS_LEN_LSB +: CMM_EP_RX_STATUS_LEN_BITS] = rxq_len_n[e][wr_rxq_head];
    end else if (rid == RID_EP_RX_TAG) begin
      if (wr_rxq_count != '0)
        reg_rd[CMM_EP_RX_TAG_TAG_LSB +: CMM_EP_RX_TAG_TAG_BITS] = rxq_tag_n[e][wr_rxq_head];
    end
  endtask

  // LINK_KEY0..3 / LINK_CMD / LINK_STATUS, FIRMWARE requester only (11.3), on
  // the copies wk_*. The read mux has no link-key input: I1 extends to them.
  task automatic link_access(logic [RID_BITS-1:0] rid, int i, logic wr, word_t wd);
    logic [CMM_LINK_CMD_OP_BITS-1:0] op;
    logic [CMM_LINK_CMD_NODE_BITS-1:0] node;
    rcode_t lr;
    logic [CMM_LINK_STATUS_COUNT_BITS-1:0] cnt;
    op = wd[CMM_LINK_CMD_OP_LSB +: CMM_LINK_CMD_OP_BITS];
    node = wd[CMM_LINK_CMD_NODE_LSB +: CMM_LINK_CMD_NODE_BITS];
    lr = REASON_OK;
    if (rid == RID_LINK_STATUS) begin
      if (wr) begin
        count_reject_r(REASON_READ_ONLY);
        reg_rsp = RSP_REJECT;
      end else reg_rd = wk_status;
    end else if (!wr) begin
      // LINK_KEY and LINK_CMD read as 0.
    end else if (rid == RID_LINK_KEY) begin
      wk_stage[i*DW +: DW] = wd;
      wk_wr[i[$clog2(KW)-1:0]] = 1'b1;
    end else if (reserved_bits(wd, CMM_LINK_CMD_WMASK)) begin
      count_reject_r(REASON_RESERVED_BITS);
      reg_rsp = RSP_REJECT;
    end else begin
      if (op == CMM_LINK_CMD_OP_BITS'(LINK_OP_SET)) begin
        if (wk_wr != '1) lr = REASON_KEY_INCOMPLETE;
        else if (wk_stage == '0) lr = REASON_KEY_ZERO;
        else begin
          ev_r_link_v = 1'b1;  // re-provisioning overwrites: key, valid, counter 0
          ev_r_link_set = 1'b1;
          ev_r_link_key = wk_stage;
        end
      end else if (op == CMM_LINK_CMD_OP_BITS'(LINK_OP_CLEAR)) begin
        ev_r_link_v = 1'b1;
      end else if (op != CMM_LINK_CMD_OP_BITS'(LINK_OP_NOP)) lr = REASON_BAD_CMD;
      ev_r_link_node = NODE_ID_BITS'(node);
      wk_stage = '0;  // a staged link key never outlives one command
      wk_wr = '0;
      cnt = wk_status[CMM_LINK_STATUS_COUNT_LSB +: CMM_LINK_STATUS_COUNT_BITS] + 1'b1;
      wk_status = '0;
      wk_status[CMM_LINK_STATUS_REASON_LSB +: CMM_LINK_STATUS_REASON_BITS] = CMM_LINK_STATUS_REASON_BITS'(lr);
      wk_status[CMM_LINK_STATUS_NODE_LSB +: CMM_LINK_STATUS_NODE_BITS] = node;
      wk_status[CMM_LINK_STATUS_COUNT_LSB +: CMM_LINK_STATUS_COUNT_BITS] = cnt;
      if (lr != REASON_OK) begin
        count_reject_r(lr);
        reg_rsp = RSP_REJECT;
      end
    end
  endtask

  // One register access (decode, I5 check, execute); sets the response pulse.
  task automatic reg_access();
    logic [CMM_ADDR_BITS-1:0] a;
    logic [PART_ID_BITS-1:0] part;
    logic [PI-1:0] p;
    logic kernel, wr;
    word_t wd;
    logic [RID_BITS-1:0] rid;
    logic [2:0] who;
    logic [EPI-1:0] e;
    a = reg_req_addr_i;
    part = reg_req_part_i;
    p = part[PI-1:0];
    kernel = reg_req_priv_i == PRIV_KERNEL;
    wr = reg_req_write_i;
    wd = reg_req_wdata_i;
    reg_rd = '0;
    reg_rsp = RSP_OK;
    // The generated decode (hw/data/cmm.toml): register, class of requester, entry.
    rid = cmm_reg_id(a);
    who = cmm_reg_who(rid);
    e = EPI'(32'(a) >= 32'(CMM_EP_BASE) ? (32'(a) - 32'(CMM_EP_BASE)) / CMM_EP_STRIDE
                                          : (32'(a) - 32'(CMM_CST_BASE)) / CMM_CST_STRIDE);

    if (a[1:0] != 2'b00) begin
      decerr(part);
    end else if (part >= PART_ID_BITS'(NPART)) begin
      count_reject_r(REASON_DENIED);
      reg_rsp = RSP_DENIED;
    end else if (STRONG && (rid == RID_NONE ? reg_req_fw_i
                                            : (reg_req_fw_i ? !(who == RWHO_FIRMWARE || who == RWHO_ANY)
                                                            : who == RWHO_FIRMWARE))) begin
      // Management plane (11.3): the board-management port reaches only the
      // global and FIRMWARE registers; nobody else reaches the FIRMWARE ones.
      denied(part, '0);
    end else if (STRONG && who == RWHO_FIRMWARE) begin
      link_access(rid, cmm_reg_elem(a), wr, wd);
    end else if (rid == RID_NONE || who == RWHO_FIRMWARE) begin
      decerr(part);  // FIRMWARE registers exist only in strong-mode cores
    end else if (who == RWHO_ANY) begin
      // Global registers readable by anyone.
      if (wr) begin
        count_reject_r(REASON_READ_ONLY);
        reg_rsp = RSP_REJECT;
      end else if (rid == RID_ID) begin
        reg_rd = CMM_MAGIC;
      end else if (rid == RID_NODE_ID) begin
        reg_rd[CMM_NODE_ID_NODE_LSB +: CMM_NODE_ID_NODE_BITS] = cfg_node_id_i;
      end else begin
        reg_rd[CMM_GEOMETRY_NUM_EP_LSB +: CMM_GEOMETRY_NUM_EP_BITS] = CMM_GEOMETRY_NUM_EP_BITS'(NEP);
        reg_rd[CMM_GEOMETRY_NUM_PART_LSB +: CMM_GEOMETRY_NUM_PART_BITS] = CMM_GEOMETRY_NUM_PART_BITS'(NPART);
        reg_rd[CMM_GEOMETRY_RXQ_DEPTH_LSB +: CMM_GEOMETRY_RXQ_DEPTH_BITS] = CMM_GEOMETRY_RXQ_DEPTH_BITS'(RXQ_DEPTH);
        reg_rd[CMM_GEOMETRY_KEY_WORDS_LSB +: CMM_GEOMETRY_KEY_WORDS_BITS] = CMM_GEOMETRY_KEY_WORDS_BITS'(KEY_WORDS);
      end
    end else if (who == RWHO_KERNEL) begin
      kernel_bank(rid, cmm_reg_elem(a), p, kernel, wr, wd);
    end else if (who == RWHO_CST || who == RWHO_CST_EP_RO) begin
      cst_window(rid, e, part, kernel, wr, wd);
    end else begin
      ep_page(rid, e, part, kernel, wr, wd);
    end
    rsp_valid_n = 1'b1;
    rsp_rdata_n = (reg_rsp == RSP_OK) ? reg_rd : '0;
    rsp_status_n = reg_rsp;
  endtask

  // ------------------------------------------------------------------ next state
  // Processes in dependency order (no combinational loop between them):
  //   p_flt      parity check of every entry (first, security.md 1.11): the
  //              checked tables *_d, the detection event; p_flt_log /
  //              p_flt_part its exception and alarms -> partition state *_t
  //   p_ing      steps 2-3: verdict pulse clear, ingress commit of S1 on the
  //              working copy wi_* of its entry -> ingress events
  //   p_ing_log  the ingress error-log event on the working copy wl_* of its
  //              partition (coalescing, exception register, alarm)
  //   p_mid_*    mid-edge state (*_m): tables with the ingress commit applied
  //   p_reg      steps 2, 5: response pulse, register access on the working
  //              copies wr_* (entry) and wp_* (requester partition), reading
  //              the mid-edge state -> register events
  //   p_fin_*    next state (*_n): mid-edge state with the register access
  //              applied; synchronous reset (the power-up state)
  //   p_egq      step 1 (egress pop) and the pushes of steps 3 and 5
  //   p_s1       step 4 (ingress accept)
  //   p_kg_mid   key generator seed / round (before the register access,
  //              which sees its result); p_kg: the draw of a HWKEY command
  //   p_fault    fault injection after the update, parities of the written entries
  // Same result as the steps applied one after the other, like CmmCore::step().

  // ---- table integrity: parity check of every entry before anything uses it
  // (security.md 1.11). A mismatching entry fails closed at this edge: every
  // later process reads the *_d tables (FAULT, queue empty, CKT zeroized).
  // One injected flip per edge and a detection rewrites the parity, so at
  // most one entry mismatches per edge; should several, all fail closed and
  // the first is reported.
  `CMM_COMB(p_flt)
    ft_v = 1'b0;  ft_idx = '0;  ft_tab = 1'b0;
    for (int k = 0; k < NEP; k++) `CMM_ACT(cst_act[k]) begin
      cst_pk_q[k] = {cst_rx_seq_q[k], cst_tx_seq_q[k], cst_rgen_q[k], cst_gen_q[k], cst_rep_q[k], cst_rpart_q[k],
                     cst_rnode_q[k], cst_owner_pid_q[k], cst_owner_part_q[k], cst_dir_q[k], cst_state_q[k]};
      cst_bad[k] = (^cst_pk_q[k]) ^ cst_mode_q[k] ^ cst_par_q[k];  // MODE is under parity (0 without strong mode)
      ckt_bad[k] = (^ckt_key_q[k]) ^ ckt_valid_q[k] ^ ckt_origin_q[k] ^ ckt_par_q[k];
      flt[k] = cst_bad[k] || ckt_bad[k];
      cst_state_d[k] = flt[k] ? STATE_FAULT : cst_state_q[k];
      cst_rxq_head_d[k] = flt[k] ? '0 : cst_rxq_head_q[k];
      cst_rxq_count_d[k] = flt[k] ? '0 : cst_rxq_count_q[k];
      ckt_key_d[k] = flt[k] ? '0 : ckt_key_q[k];
      ckt_valid_d[k] = flt[k] ? 1'b0 : ckt_valid_q[k];
      ckt_origin_d[k] = flt[k] ? 1'b0 : ckt_origin_q[k];
      if (!ft_v && flt[k]) begin
        ft_v = 1'b1;
        ft_idx = EPI'(k);
        ft_tab = ckt_bad[k];
      end
    end
    // An exception for the owner if the entry was in use (stored state and owner).
    ft_log_v = ft_v && cst_state_q[ft_idx] != STATE_FREE && cst_owner_part_q[ft_idx] < PART_ID_BITS'(NPART);
    ft_log_part = cst_owner_part_q[ft_idx][PI-1:0];
    ft_log_w = log_word(RSN_W'(REASON_TABLE_FAULT), EP_ID_BITS'(ft_idx), '0, 1'b0, 1'b1, cfg_node_id_i);
    tf_count_t = tf_count_q;  tf_ep_t = tf_ep_q;  tf_tab_t = tf_tab_q;
    if (ft_v) begin
      if (tf_count_q != '1) tf_count_t = tf_count_q + 1'b1;
      tf_ep_t = EP_ID_BITS'(ft_idx);
      tf_tab_t = ft_tab;
    end
    tf_count_n = rst_ni ? tf_count_t : '0;
    tf_ep_n = rst_ni ? tf_ep_t : '0;
    tf_tab_n = rst_ni ? tf_tab_t : 1'b0;
  `CMM_COMB_END

  // ---- the detection's exception on a copy of its owner partition's log state
  `CMM_COMB(p_flt_log)
    wt_v = ft_log_v;
    wt_idx = ft_log_part;
    wt_el_count = el_count_q[wt_idx];
    wt_el_lost = el_lost_q[wt_idx];
    wt_exc_count = exc_count_q[wt_idx];
    wt_exc_first = exc_first_q[wt_idx];
    wt_exc_last = exc_last_q[wt_idx];
    wt_alarm_count = alarm_count_q[wt_idx];
    wt_alarm_wv = alarm_wv_q[wt_idx];
    wt_alarm_fired = alarm_fired_q[wt_idx];
    wt_alarm_win = alarm_win_q[wt_idx];
    wt_alarm_cnt = alarm_cnt_q[wt_idx];
    wt_irq_status = '0;  // causes to OR into IRQ_STATUS of partition wt_idx
    wt_slot_v = 1'b0;  wt_slot = '0;  wt_slot_w = '0;  wt_slot_rep = '0;
    wt_back = el_back(el_head_q[wt_idx], wt_el_count);
    wt_x = '0;
    wt_wid = '0;
    if (wt_v)
      log_update_t(ft_log_w, el_head_q[wt_idx], el_q[wt_idx][wt_back], el_rep_q[wt_idx][wt_back],
                   alarm_cfg_q[wt_idx]);
  `CMM_COMB_END

  // ---- partition state after the detection: that exception, and IRQ ALARM
  // + ALARM_COUNT in every partition (a hardware fault concerns every kernel).
  `CMM_COMB(p_flt_part)
    for (int p = 0; p < NPART; p++) `CMM_ACT(part_act[p]) begin
      irq_status_t[p] = irq_status_q[p];
      if (wt_v && wt_idx == PI'(p)) begin
        irq_status_t[p] = irq_status_t[p] | wt_irq_status;
        el_count_t[p] = wt_el_count;         el_lost_t[p] = wt_el_lost;
        exc_count_t[p] = wt_exc_count;       exc_first_t[p] = wt_exc_first;   exc_last_t[p] = wt_exc_last;
        alarm_count_t[p] = wt_alarm_count;   alarm_wv_t[p] = wt_alarm_wv;     alarm_fired_t[p] = wt_alarm_fired;
        alarm_win_t[p] = wt_alarm_win;       alarm_cnt_t[p] = wt_alarm_cnt;
      end else begin
        el_count_t[p] = el_count_q[p];       el_lost_t[p] = el_lost_q[p];
        exc_count_t[p] = exc_count_q[p];     exc_first_t[p] = exc_first_q[p]; exc_last_t[p] = exc_last_q[p];
        alarm_count_t[p] = alarm_count_q[p]; alarm_wv_t[p] = alarm_wv_q[p];   alarm_fired_t[p] = alarm_fired_q[p];
        alarm_win_t[p] = alarm_win_q[p];     alarm_cnt_t[p] = alarm_cnt_q[p];
      end
      if (ft_v) begin
        if (alarm_count_t[p] != '1) alarm_count_t[p] = alarm_count_t[p] + 1'b1;
        irq_status_t[p] = irq_status_t[p] | IRQM_ALARM;
      end
      for (int s = 0; s < ERRLOG_DEPTH; s++) begin
        el_t[p][s] = el_q[p][s];
        el_rep_t[p][s] = el_rep_q[p][s];
        if (wt_slot_v && wt_idx == PI'(p) && wt_slot == EL_IW'(s)) begin
          el_t[p][s] = wt_slot_w;
          el_rep_t[p][s] = wt_slot_rep;
        end
      end
    end
  `CMM_COMB_END

  // ---- key generator (security.md 1.10), right after the parity check and
  // before the ingress commit and the register access, which see its result:
  // a seed sets K, ctr 0 and starts a computation (unseeded if zero; no round
  // at this edge); else a computation in flight does one SipRound (countdown)
  // and, when the countdown reaches 0, is READY, or, if the result is all
  // zero, starts again with ctr + 1. Start at edge E: READY from E + 14 on.
  `CMM_COMB(p_kg_mid)
    kg_key_m = kg_key_q;      kg_ctr_m = kg_ctr_q;        kg_cnt_m = kg_cnt_q;
    kg_ready_m = kg_ready_q;  kg_seeded_m = kg_seeded_q;
    kg_start_m = 1'b0;
    kg_adv = 1'b0;
    kg_step = 4'(KEYGEN_CYCLES + 1) - 4'(kg_cnt_q);  // countdown 14..2 -> SipHash step 1..13
    if (entropy_valid_i) begin
      kg_key_m = entropy_i;
      kg_ctr_m = '0;
      kg_ready_m = 1'b0;
      kg_seeded_m = entropy_i != '0;  // a generator keyed with zeros is predictable
      kg_cnt_m = (entropy_i != '0) ? KG_W'(KEYGEN_CYCLES) : '0;
      kg_start_m = entropy_i != '0;
    end else if (kg_cnt_q != '0) begin
      kg_cnt_m = kg_cnt_q - 1'b1;
      kg_adv = kg_cnt_q != KG_W'(1);  // step 0 was done at the start, the result is final after step 13
      if (kg_cnt_q == KG_W'(1)) begin
        if (kg_res != '0) kg_ready_m = 1'b1;
        else begin  // an all-zero key is never used
          kg_ctr_m = kg_ctr_q + 64'd1;
          kg_cnt_m = KG_W'(KEYGEN_CYCLES);
          kg_start_m = 1'b1;
        end
      end
    end
    if (!rst_ni) kg_adv = 1'b0;
  `CMM_COMB_END

  // ---- steps 2 (verdict pulse) and 3 (ingress commit)
  `CMM_COMB(p_ing)
    ev_i_rej_v = 1'b0;   ev_i_rej_r = '0;  ev_i_rej2_v = 1'b0;  ev_i_rej2_r = '0;
    ev_i_stat = '0;
    ev_i_irq_part = '0;  ev_i_irq_mask = '0;
    ev_i_log_v = 1'b0;   ev_i_log_part = '0;  ev_i_log_w = '0;
    ev_i_eg_v = 1'b0;    ev_i_eg_ack = 1'b0;  ev_i_eg_r = '0;  ev_i_eg_seq = '0;  ev_i_eg_key = KSEL_ZERO;
    ev_i_mq_v = 1'b0;    ev_i_mq_part = '0;  ev_i_mq_node = '0;  ev_i_mq_spart = '0;  ev_i_mq_words = '0;
    ev_i_eg_strong = 1'b0;  pf_v = 1'b0;  pf_unwrap = 1'b0;
    wi_idx = s1_q[HDR_DST_EP_LSB +: EPI];
    wi_mode = cst_mode_q[wi_idx];
    wi_state = cst_state_d[wi_idx];
    wi_dir = cst_dir_q[wi_idx];
    wi_owner_part = cst_owner_part_q[wi_idx];
    wi_owner_pid = cst_owner_pid_q[wi_idx];
    wi_rnode = cst_rnode_q[wi_idx];
    wi_rpart = cst_rpart_q[wi_idx];
    wi_rep = cst_rep_q[wi_idx];
    wi_last_reason = cst_last_reason_q[wi_idx];
    wi_tx_nacks = cst_tx_nacks_q[wi_idx];
    wi_tx_last_reason = cst_tx_last_reason_q[wi_idx];
    wi_tx_last_tag = cst_tx_last_tag_q[wi_idx];
    wi_tx_sent = cst_tx_sent_q[wi_idx];
    wi_rxq_head = cst_rxq_head_d[wi_idx];
    wi_rxq_count = cst_rxq_count_d[wi_idx];
    wi_gen = cst_gen_q[wi_idx];        wi_rgen = cst_rgen_q[wi_idx];
    wi_tx_seq = cst_tx_seq_q[wi_idx];  wi_rx_seq = cst_rx_seq_q[wi_idx];
    wi_tx_lost = cst_tx_lost_q[wi_idx];  wi_rx_lost = cst_rx_lost_q[wi_idx];
    wi_nack_seq = cst_nack_seq_q[wi_idx];
    wi_key = ckt_key_d[wi_idx];  wi_kvalid = ckt_valid_d[wi_idx];  wi_korigin = ckt_origin_d[wi_idx];
    wi_rxq_push = 1'b0;  wi_rxq_slot = '0;  wi_rxq_len = '0;  wi_rxq_tag = '0;
    vd_valid_n = 1'b0;
    vd_accept_n = vd_accept_q;  vd_ep_n = vd_ep_q;  vd_slot_n = vd_slot_q;  vd_reason_n = vd_reason_q;
    if (s1_commit) ingress();  // strong with payload: when the RX engine's tag is ready (11.6)
    if (!rst_ni) begin
      vd_valid_n = 1'b0;  vd_accept_n = 1'b0;  vd_ep_n = '0;  vd_slot_n = '0;  vd_reason_n = '0;
    end
  `CMM_COMB_END

  // ---- the ingress error-log event on a copy of its partition's log state
  `CMM_COMB(p_ing_log)
    wl_v = ev_i_log_v && ev_i_log_part < PART_ID_BITS'(NPART);
    wl_idx = ev_i_log_part[PI-1:0];
    wl_el_count = el_count_t[wl_idx];
    wl_el_lost = el_lost_t[wl_idx];
    wl_exc_count = exc_count_t[wl_idx];
    wl_exc_first = exc_first_t[wl_idx];
    wl_exc_last = exc_last_t[wl_idx];
    wl_alarm_count = alarm_count_t[wl_idx];
    wl_alarm_wv = alarm_wv_t[wl_idx];
    wl_alarm_fired = alarm_fired_t[wl_idx];
    wl_alarm_win = alarm_win_t[wl_idx];
    wl_alarm_cnt = alarm_cnt_t[wl_idx];
    wl_irq_status = '0;  // causes to OR into IRQ_STATUS of partition wl_idx
    wl_slot_v = 1'b0;  wl_slot = '0;  wl_slot_w = '0;  wl_slot_rep = '0;
    wl_back = el_back(el_head_q[wl_idx], wl_el_count);
    wl_x = '0;
    wl_wid = '0;
    if (wl_v)
      log_update_i(ev_i_log_w, el_head_q[wl_idx], el_t[wl_idx][wl_back], el_rep_t[wl_idx][wl_back],
                   alarm_cfg_q[wl_idx]);
  `CMM_COMB_END

  // ---- mid-edge state: the entry wi_idx written back, ingress events applied
  `CMM_COMB(p_mid_cst)
    for (int k = 0; k < NEP; k++) `CMM_ACT(cst_act[k]) begin
      if (wi_idx == EPI'(k)) begin
        cst_state_m[k] = wi_state;
        cst_dir_m[k] = wi_dir;
        cst_owner_part_m[k] = wi_owner_part;
        cst_owner_pid_m[k] = wi_owner_pid;
        cst_rnode_m[k] = wi_rnode;
        cst_rpart_m[k] = wi_rpart;
        cst_rep_m[k] = wi_rep;
        cst_last_reason_m[k] = wi_last_reason;
        cst_tx_nacks_m[k] = wi_tx_nacks;
        cst_tx_last_reason_m[k] = wi_tx_last_reason;
        cst_tx_last_tag_m[k] = wi_tx_last_tag;
        cst_tx_sent_m[k] = wi_tx_sent;
        cst_rxq_head_m[k] = wi_rxq_head;
        cst_rxq_count_m[k] = wi_rxq_count;
        cst_gen_m[k] = wi_gen;        cst_rgen_m[k] = wi_rgen;
        cst_tx_seq_m[k] = wi_tx_seq;  cst_rx_seq_m[k] = wi_rx_seq;
        cst_tx_lost_m[k] = wi_tx_lost;  cst_rx_lost_m[k] = wi_rx_lost;
        cst_nack_seq_m[k] = wi_nack_seq;
        ckt_key_m[k] = wi_key;  ckt_valid_m[k] = wi_kvalid;  ckt_origin_m[k] = wi_korigin;
        cst_mode_m[k] = wi_mode;
      end else begin
        cst_state_m[k] = cst_state_d[k];
        cst_dir_m[k] = cst_dir_q[k];
        cst_owner_part_m[k] = cst_owner_part_q[k];
        cst_owner_pid_m[k] = cst_owner_pid_q[k];
        cst_rnode_m[k] = cst_rnode_q[k];
        cst_rpart_m[k] = cst_rpart_q[k];
        cst_rep_m[k] = cst_rep_q[k];
        cst_last_reason_m[k] = cst_last_reason_q[k];
        cst_tx_nacks_m[k] = cst_tx_nacks_q[k];
        cst_tx_last_reason_m[k] = cst_tx_last_reason_q[k];
        cst_tx_last_tag_m[k] = cst_tx_last_tag_q[k];
        cst_tx_sent_m[k] = cst_tx_sent_q[k];
        cst_rxq_head_m[k] = cst_rxq_head_d[k];
        cst_rxq_count_m[k] = cst_rxq_count_d[k];
        cst_gen_m[k] = cst_gen_q[k];        cst_rgen_m[k] = cst_rgen_q[k];
        cst_tx_seq_m[k] = cst_tx_seq_q[k];  cst_rx_seq_m[k] = cst_rx_seq_q[k];
        cst_tx_lost_m[k] = cst_tx_lost_q[k];  cst_rx_lost_m[k] = cst_rx_lost_q[k];
        cst_nack_seq_m[k] = cst_nack_seq_q[k];
        ckt_key_m[k] = ckt_key_d[k];  ckt_valid_m[k] = ckt_valid_d[k];  ckt_origin_m[k] = ckt_origin_d[k];
        cst_mode_m[k] = cst_mode_q[k];
      end
    end
  `CMM_COMB_END

  // Receive slots: written only by a delivery (step 3); storage, not reset.
  `CMM_COMB(p_rxq)
    for (int k = 0; k < NEP; k++) `CMM_ACT(cst_act[k])
      for (int s = 0; s < RXQ_DEPTH; s++) begin
        rxq_len_n[k][s] = rxq_len_q[k][s];
        rxq_tag_n[k][s] = rxq_tag_q[k][s];
        if (wi_rxq_push && wi_idx == EPI'(k) && wi_rxq_slot == RXQ_IW'(s)) begin
          rxq_len_n[k][s] = wi_rxq_len;
          rxq_tag_n[k][s] = wi_rxq_tag;
        end
      end
  `CMM_COMB_END

  // Saturating counts commute: the two reject events and the detection's
  // TABLE_FAULT count in any order give the C++ result.
  `CMM_COMB(p_mid_cnt)
    for (int r = 0; r < REASON_COUNT; r++) `CMM_ACT(rej_act[r]) begin
      rej_m[r] = rej_q[r];
      if (ev_i_rej_v && ev_i_rej_r == RSN_W'(r)) rej_m[r] = sat_inc(rej_m[r]);
      if (ev_i_rej2_v && ev_i_rej2_r == RSN_W'(r)) rej_m[r] = sat_inc(rej_m[r]);
      if (ft_v && RSN_W'(r) == RSN_W'(REASON_TABLE_FAULT)) rej_m[r] = sat_inc(rej_m[r]);
    end
    for (int s = 0; s < CMM_STAT_COUNT; s++)
      stat_m[s] = ev_i_stat[s] ? sat_inc(stat_q[s]) : stat_q[s];
  `CMM_COMB_END

  `CMM_COMB(p_mid_part)
    for (int p = 0; p < NPART; p++) `CMM_ACT(part_act[p]) begin
      irq_status_m[p] = irq_status_t[p];
      if (ev_i_irq_part == PART_ID_BITS'(p)) irq_status_m[p] = irq_status_m[p] | ev_i_irq_mask;
      if (wl_v && wl_idx == PI'(p)) begin
        irq_status_m[p] = irq_status_m[p] | wl_irq_status;
        el_count_m[p] = wl_el_count;         el_lost_m[p] = wl_el_lost;
        exc_count_m[p] = wl_exc_count;       exc_first_m[p] = wl_exc_first;   exc_last_m[p] = wl_exc_last;
        alarm_count_m[p] = wl_alarm_count;   alarm_wv_m[p] = wl_alarm_wv;     alarm_fired_m[p] = wl_alarm_fired;
        alarm_win_m[p] = wl_alarm_win;       alarm_cnt_m[p] = wl_alarm_cnt;
      end else begin
        el_count_m[p] = el_count_t[p];       el_lost_m[p] = el_lost_t[p];
        exc_count_m[p] = exc_count_t[p];     exc_first_m[p] = exc_first_t[p]; exc_last_m[p] = exc_last_t[p];
        alarm_count_m[p] = alarm_count_t[p]; alarm_wv_m[p] = alarm_wv_t[p];   alarm_fired_m[p] = alarm_fired_t[p];
        alarm_win_m[p] = alarm_win_t[p];     alarm_cnt_m[p] = alarm_cnt_t[p];
      end
      for (int s = 0; s < ERRLOG_DEPTH; s++) begin
        el_m[p][s] = el_t[p][s];
        el_rep_m[p][s] = el_rep_t[p][s];
        if (wl_slot_v && wl_idx == PI'(p) && wl_slot == EL_IW'(s)) begin
          el_m[p][s] = wl_slot_w;
          el_rep_m[p][s] = wl_slot_rep;
        end
      end
      mq_count_m[p] = mq_count_q[p];
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_m[p][s] = mq_src_node_q[p][s];
        mq_src_part_m[p][s] = mq_src_part_q[p][s];
        mq_words_m[p][s] = mq_words_q[p][s];
      end
      if (ev_i_mq_v && ev_i_mq_part == PI'(p)) begin
        for (int s = 0; s < MGMTQ_DEPTH; s++)
          if (MQ_IW'((32'(mq_head_q[p]) + 32'(mq_count_q[p])) % MGMTQ_DEPTH) == MQ_IW'(s)) begin
            mq_src_node_m[p][s] = ev_i_mq_node;
            mq_src_part_m[p][s] = ev_i_mq_spart;
            mq_words_m[p][s] = ev_i_mq_words;
          end
        mq_count_m[p] = mq_count_q[p] + MQ_CW'(1);
      end
    end
  `CMM_COMB_END

  // ---- steps 2 (response pulse) and 5 (register access, sees the mid-edge state)
  `CMM_COMB(p_reg)
    ev_r_rej_v = 1'b0;   ev_r_rej_r = '0;  ev_r_flush = '0;
    ev_r_stat = '0;
    ev_r_log_v = 1'b0;   ev_r_log_w = '0;
    ev_r_eg_v = 1'b0;    ev_r_eg_op = '0;  ev_r_eg_sp = '0;  ev_r_eg_se = '0;
    ev_r_eg_sg = '0;     ev_r_eg_dg = '0;  ev_r_eg_seq = '0;
    ev_r_eg_strong = 1'b0;  ev_r_eg_tag = '0;  ev_r_mtx = 1'b0;  ev_r_ctr_v = 1'b0;
    ev_r_link_v = 1'b0;  ev_r_link_set = 1'b0;  ev_r_link_node = '0;  ev_r_link_key = '0;
    wk_stage = link_stage_q;  wk_wr = link_wr_q;  wk_status = link_status_q;
    wp_idx = reg_req_part_i[PI-1:0];
    wp_key_stage = key_stage_q[wp_idx];    wp_cmd_status = cmd_status_q[wp_idx];
    wp_key_wr = key_wr_q[wp_idx];          wp_key_pid = key_pid_q[wp_idx];
    wp_irq_status = irq_status_m[wp_idx];  wp_irq_enable = irq_enable_q[wp_idx];
    wp_mgmt_tx = mgmt_tx_q[wp_idx];        wp_mgmt_dst = mgmt_dst_q[wp_idx];
    wp_mq_head = mq_head_q[wp_idx];        wp_mq_count = mq_count_m[wp_idx];
    wp_el_head = el_head_q[wp_idx];        wp_el_count = el_count_m[wp_idx];
    wp_el_lost = el_lost_m[wp_idx];        wp_used = used_q[wp_idx];
    wp_exc_count = exc_count_m[wp_idx];    wp_exc_first = exc_first_m[wp_idx];
    wp_exc_last = exc_last_m[wp_idx];      wp_alarm_cfg = alarm_cfg_q[wp_idx];
    wp_alarm_count = alarm_count_m[wp_idx]; wp_alarm_wv = alarm_wv_m[wp_idx];
    wp_alarm_fired = alarm_fired_m[wp_idx]; wp_alarm_win = alarm_win_m[wp_idx];
    wp_alarm_cnt = alarm_cnt_m[wp_idx];
    wr_idx = reg_entry(reg_req_addr_i, reg_req_wdata_i);
    wr_state = cst_state_m[wr_idx];
    wr_dir = cst_dir_m[wr_idx];
    wr_owner_part = cst_owner_part_m[wr_idx];
    wr_owner_pid = cst_owner_pid_m[wr_idx];
    wr_rnode = cst_rnode_m[wr_idx];
    wr_rpart = cst_rpart_m[wr_idx];
    wr_rep = cst_rep_m[wr_idx];
    wr_last_reason = cst_last_reason_m[wr_idx];
    wr_tx_nacks = cst_tx_nacks_m[wr_idx];
    wr_tx_last_reason = cst_tx_last_reason_m[wr_idx];
    wr_tx_last_tag = cst_tx_last_tag_m[wr_idx];
    wr_tx_sent = cst_tx_sent_m[wr_idx];
    wr_rxq_head = cst_rxq_head_m[wr_idx];
    wr_rxq_count = cst_rxq_count_m[wr_idx];
    wr_gen = cst_gen_m[wr_idx];        wr_rgen = cst_rgen_m[wr_idx];
    wr_tx_seq = cst_tx_seq_m[wr_idx];  wr_rx_seq = cst_rx_seq_m[wr_idx];
    wr_tx_lost = cst_tx_lost_m[wr_idx];  wr_rx_lost = cst_rx_lost_m[wr_idx];
    wr_nack_seq = cst_nack_seq_m[wr_idx];
    wr_key = ckt_key_m[wr_idx];  wr_kvalid = ckt_valid_m[wr_idx];  wr_korigin = ckt_origin_m[wr_idx];
    wr_mode = cst_mode_m[wr_idx];
    rsp_valid_n = 1'b0;
    rsp_rdata_n = '0;
    rsp_status_n = RSP_OK;
    rsp_buf_n = 1'b0;
    rsp_slot_n = '0;
    reg_rd = '0;
    reg_rsp = RSP_OK;
    reg_any = 1'b0;
    key_r = (REASON_OK);
    key_exc = 1'b0;
    key_ok = 1'b0;
    kg_draw = 1'b0;
    if (reg_req_valid_i && reg_req_ready_o) reg_access();
    if (!rst_ni) begin
      rsp_valid_n = 1'b0; rsp_rdata_n = '0; rsp_status_n = RSP_OK; rsp_buf_n = 1'b0; rsp_slot_n = '0;
    end
  `CMM_COMB_END

  // ---- the register access's error-log event on the requester partition
  `CMM_COMB(p_reg_log)
    wf_irq_status = wp_irq_status;
    wf_el_count = wp_el_count;        wf_el_lost = wp_el_lost;
    wf_exc_count = wp_exc_count;      wf_exc_first = wp_exc_first;    wf_exc_last = wp_exc_last;
    wf_alarm_count = wp_alarm_count;  wf_alarm_wv = wp_alarm_wv;      wf_alarm_fired = wp_alarm_fired;
    wf_alarm_win = wp_alarm_win;      wf_alarm_cnt = wp_alarm_cnt;
    ev_r_el_v = 1'b0;  ev_r_el_slot = '0;  ev_r_el_w = '0;  ev_r_el_rep = '0;
    wf_back = el_back(wp_el_head, wp_el_count);
    wf_x = '0;
    wf_wid = '0;
    if (ev_r_log_v) log_update_r(ev_r_log_w, wp_el_head, el_m[wp_idx][wf_back], el_rep_m[wp_idx][wf_back], wp_alarm_cfg);
  `CMM_COMB_END

  // ---- next state: entry wr_idx and partition wp_idx written back, register
  // events applied; synchronous reset (storage is not cleared: it is only
  // visible below its count, and every count resets).
  `CMM_COMB(p_fin_cst)
    for (int k = 0; k < NEP; k++) `CMM_ACT(cst_act[k]) begin
      if (wr_idx == EPI'(k)) begin
        cst_state_n[k] = wr_state;
        cst_dir_n[k] = wr_dir;
        cst_owner_part_n[k] = wr_owner_part;
        cst_owner_pid_n[k] = wr_owner_pid;
        cst_rnode_n[k] = wr_rnode;
        cst_rpart_n[k] = wr_rpart;
        cst_rep_n[k] = wr_rep;
        cst_last_reason_n[k] = wr_last_reason;
        cst_tx_nacks_n[k] = wr_tx_nacks;
        cst_tx_last_reason_n[k] = wr_tx_last_reason;
        cst_tx_last_tag_n[k] = wr_tx_last_tag;
        cst_tx_sent_n[k] = wr_tx_sent;
        cst_rxq_head_n[k] = wr_rxq_head;
        cst_rxq_count_n[k] = wr_rxq_count;
        cst_gen_n[k] = wr_gen;        cst_rgen_n[k] = wr_rgen;
        cst_tx_seq_n[k] = wr_tx_seq;  cst_rx_seq_n[k] = wr_rx_seq;
        cst_tx_lost_n[k] = wr_tx_lost;  cst_rx_lost_n[k] = wr_rx_lost;
        cst_nack_seq_n[k] = wr_nack_seq;
        ckt_key_n[k] = wr_key;  ckt_valid_n[k] = wr_kvalid;  ckt_origin_n[k] = wr_korigin;
        cst_mode_n[k] = STRONG && wr_mode;
      end else begin
        cst_state_n[k] = cst_state_m[k];
        cst_dir_n[k] = cst_dir_m[k];
        cst_owner_part_n[k] = cst_owner_part_m[k];
        cst_owner_pid_n[k] = cst_owner_pid_m[k];
        cst_rnode_n[k] = cst_rnode_m[k];
        cst_rpart_n[k] = cst_rpart_m[k];
        cst_rep_n[k] = cst_rep_m[k];
        cst_last_reason_n[k] = cst_last_reason_m[k];
        cst_tx_nacks_n[k] = cst_tx_nacks_m[k];
        cst_tx_last_reason_n[k] = cst_tx_last_reason_m[k];
        cst_tx_last_tag_n[k] = cst_tx_last_tag_m[k];
        cst_tx_sent_n[k] = cst_tx_sent_m[k];
        cst_rxq_head_n[k] = cst_rxq_head_m[k];
        cst_rxq_count_n[k] = cst_rxq_count_m[k];
        cst_gen_n[k] = cst_gen_m[k];        cst_rgen_n[k] = cst_rgen_m[k];
        cst_tx_seq_n[k] = cst_tx_seq_m[k];  cst_rx_seq_n[k] = cst_rx_seq_m[k];
        cst_tx_lost_n[k] = cst_tx_lost_m[k];  cst_rx_lost_n[k] = cst_rx_lost_m[k];
        cst_nack_seq_n[k] = cst_nack_seq_m[k];
        ckt_key_n[k] = ckt_key_m[k];  ckt_valid_n[k] = ckt_valid_m[k];  ckt_origin_n[k] = ckt_origin_m[k];
        cst_mode_n[k] = STRONG && cst_mode_m[k];
      end
      if (!rst_ni) begin
        cst_mode_n[k] = 1'b0;
        cst_state_n[k] = '0;
        cst_dir_n[k] = '0;
        cst_owner_part_n[k] = '0;
        cst_owner_pid_n[k] = '0;
        cst_rnode_n[k] = '0;
        cst_rpart_n[k] = '0;
        cst_rep_n[k] = '0;
        cst_last_reason_n[k] = '0;
        cst_tx_nacks_n[k] = '0;
        cst_tx_last_reason_n[k] = '0;
        cst_tx_last_tag_n[k] = '0;
        cst_tx_sent_n[k] = '0;
        cst_rxq_head_n[k] = '0;
        cst_rxq_count_n[k] = '0;
        cst_gen_n[k] = '0;     cst_rgen_n[k] = '0;
        cst_tx_seq_n[k] = '0;  cst_rx_seq_n[k] = '0;
        cst_tx_lost_n[k] = '0; cst_rx_lost_n[k] = '0;
        cst_nack_seq_n[k] = '0;
        ckt_key_n[k] = '0;  ckt_valid_n[k] = 1'b0;  ckt_origin_n[k] = 1'b0;
      end
    end
  `CMM_COMB_END

  // Saturating counts commute: one reject plus ev_r_flush RXQ_FLUSHED counts
  // in any order give the C++ result.
  `CMM_COMB(p_fin_cnt)
    for (int r = 0; r < REASON_COUNT; r++) `CMM_ACT(rej_act[r]) begin
      rej_n[r] = rej_m[r];
      if (ev_r_rej_v && ev_r_rej_r == RSN_W'(r)) rej_n[r] = sat_inc(rej_n[r]);
      if (RSN_W'(r) == RSN_W'(REASON_RXQ_FLUSHED))
        for (int i = 0; i < RXQ_DEPTH; i++)
          if (RXQ_CW'(i) < ev_r_flush) rej_n[r] = sat_inc(rej_n[r]);
      if (!rst_ni) rej_n[r] = '0;
    end
    for (int s = 0; s < CMM_STAT_COUNT; s++) begin
      stat_n[s] = ev_r_stat[s] ? sat_inc(stat_m[s]) : stat_m[s];
      if (!rst_ni) stat_n[s] = '0;
    end
  `CMM_COMB_END

  `CMM_COMB(p_fin_part)
    for (int p = 0; p < NPART; p++) `CMM_ACT(part_act[p]) begin
      if (wp_idx == PI'(p)) begin
        key_stage_n[p] = wp_key_stage;    cmd_status_n[p] = wp_cmd_status;
        key_wr_n[p] = wp_key_wr;          key_pid_n[p] = wp_key_pid;
        irq_status_n[p] = wf_irq_status;  irq_enable_n[p] = wp_irq_enable;
        mgmt_tx_n[p] = wp_mgmt_tx;        mgmt_dst_n[p] = wp_mgmt_dst;
        mq_head_n[p] = wp_mq_head;        mq_count_n[p] = wp_mq_count;
        el_head_n[p] = wp_el_head;        el_count_n[p] = wf_el_count;
        el_lost_n[p] = wf_el_lost;        used_n[p] = wp_used;
        exc_count_n[p] = wf_exc_count;    exc_first_n[p] = wf_exc_first;   exc_last_n[p] = wf_exc_last;
        alarm_cfg_n[p] = wp_alarm_cfg;    alarm_count_n[p] = wf_alarm_count;
        alarm_wv_n[p] = wf_alarm_wv;      alarm_fired_n[p] = wf_alarm_fired;
        alarm_win_n[p] = wf_alarm_win;    alarm_cnt_n[p] = wf_alarm_cnt;
      end else begin
        key_stage_n[p] = key_stage_q[p];    cmd_status_n[p] = cmd_status_q[p];
        key_wr_n[p] = key_wr_q[p];          key_pid_n[p] = key_pid_q[p];
        irq_status_n[p] = irq_status_m[p];  irq_enable_n[p] = irq_enable_q[p];
        mgmt_tx_n[p] = mgmt_tx_q[p];        mgmt_dst_n[p] = mgmt_dst_q[p];
        mq_head_n[p] = mq_head_q[p];        mq_count_n[p] = mq_count_m[p];
        el_head_n[p] = el_head_q[p];        el_count_n[p] = el_count_m[p];
        el_lost_n[p] = el_lost_m[p];        used_n[p] = used_q[p];
        exc_count_n[p] = exc_count_m[p];    exc_first_n[p] = exc_first_m[p];   exc_last_n[p] = exc_last_m[p];
        alarm_cfg_n[p] = alarm_cfg_q[p];    alarm_count_n[p] = alarm_count_m[p];
        alarm_wv_n[p] = alarm_wv_m[p];      alarm_fired_n[p] = alarm_fired_m[p];
        alarm_win_n[p] = alarm_win_m[p];    alarm_cnt_n[p] = alarm_cnt_m[p];
      end
      for (int s = 0; s < ERRLOG_DEPTH; s++) begin
        el_n[p][s] = el_m[p][s];
        el_rep_n[p][s] = el_rep_m[p][s];
        if (ev_r_el_v && wp_idx == PI'(p) && ev_r_el_slot == EL_IW'(s)) begin
          el_n[p][s] = ev_r_el_w;
          el_rep_n[p][s] = ev_r_el_rep;
        end
      end
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_n[p][s] = mq_src_node_m[p][s];
        mq_src_part_n[p][s] = mq_src_part_m[p][s];
        mq_words_n[p][s] = mq_words_m[p][s];
      end
      if (!rst_ni) begin
        key_stage_n[p] = '0;  cmd_status_n[p] = '0;
        key_wr_n[p] = '0;     key_pid_n[p] = '0;
        irq_status_n[p] = '0; irq_enable_n[p] = '0;
        mgmt_tx_n[p] = '0;    mgmt_dst_n[p] = '0;
        mq_head_n[p] = '0;    mq_count_n[p] = '0;
        el_head_n[p] = '0;    el_count_n[p] = '0;
        el_lost_n[p] = '0;    used_n[p] = '0;
        exc_count_n[p] = '0;  exc_first_n[p] = '0;  exc_last_n[p] = '0;
        alarm_cfg_n[p] = '0;  alarm_count_n[p] = '0;
        alarm_wv_n[p] = 1'b0; alarm_fired_n[p] = 1'b0;
        alarm_win_n[p] = '0;  alarm_cnt_n[p] = '0;
      end
    end
  `CMM_COMB_END

  // ---- the egress headers of the push events. Response class: NACK or
  // CONNECT_ACK to the source of the header in S1 (ids and generations
  // swapped, key by ev_i_eg_key). Request class: to the entry's remote (DATA
  // with key, length, tag and seq of the doorbell; CONNECT with the key;
  // CLOSE with the key the entry held before this edge's CLOSE), or MGMT to
  // MGMT_DST with MGMT_TX.
  `CMM_COMB(p_eg_hdr0)
    eg_rsp_h0 = make_hdr(ev_i_eg_ack ? OP_CONNECT_ACK : OP_NACK, `CMM_H(s1_q, DST_PART), `CMM_H(s1_q, DST_EP),
                        `CMM_H(s1_q, SRC_NODE), `CMM_H(s1_q, SRC_PART), `CMM_H(s1_q, SRC_EP), cfg_node_id_i);
    `CMM_H(eg_rsp_h0, TAG) = `CMM_H(s1_q, TAG);
    `CMM_H(eg_rsp_h0, SRC_GEN) = `CMM_H(s1_q, DST_GEN);
    `CMM_H(eg_rsp_h0, DST_GEN) = `CMM_H(s1_q, SRC_GEN);
    // Echoed: the CONNECT attempt (ACK and NACK), the DATA's seq (NACK).
    if (`CMM_H(s1_q, OPCODE) == OP_DATA || `CMM_H(s1_q, OPCODE) == OP_CONNECT)
      `CMM_H(eg_rsp_h0, SEQ) = `CMM_H(s1_q, SEQ);
    if (!ev_i_eg_ack) begin
      `CMM_H(eg_rsp_h0, REASON) = ev_i_eg_r;
      `CMM_H(eg_rsp_h0, AUX) = HDR_AUX_BITS'(`CMM_H(s1_q, OPCODE));
      // A NACK of DATA names the DATA (seq above): a duplicated NACK is
      // SEQ_OLD at the sender; SEQ_GAP carries the missing count in the tag.
      if (`CMM_H(s1_q, OPCODE) == OP_DATA && ev_i_eg_r == HDR_REASON_BITS'(REASON_SEQ_GAP))
        `CMM_H(eg_rsp_h0, TAG) = ev_i_eg_seq;
    end
    if (ev_i_eg_key == KSEL_ENTRY) `CMM_H(eg_rsp_h0, KEY) = wi_key;
    else if (ev_i_eg_key == KSEL_HDR) `CMM_H(eg_rsp_h0, KEY) = `CMM_H(s1_q, KEY);
    if (ev_i_eg_strong) begin
      // Strong answer (11.9): STRONG bit; the tag (p_eg_hdr) with the key the request proved, else 0.
      `CMM_H(eg_rsp_h0, AUX) = `CMM_H(eg_rsp_h0, AUX) | AUX_STRONG;
      `CMM_H(eg_rsp_h0, KEY) = '0;
    end
    if (ev_r_eg_op == OP_MGMT) begin
      eg_req_h0 = make_hdr(OP_MGMT, ev_r_eg_sp, '0, wp_mgmt_dst[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS],
                          wp_mgmt_dst[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS], '0, cfg_node_id_i);
      `CMM_H(eg_req_h0, KEY) = wp_mgmt_tx;
    end else begin
      eg_req_h0 = make_hdr(ev_r_eg_op, ev_r_eg_sp, ev_r_eg_se, wr_rnode, wr_rpart, wr_rep, cfg_node_id_i);
      `CMM_H(eg_req_h0, SRC_GEN) = ev_r_eg_sg;
      `CMM_H(eg_req_h0, DST_GEN) = ev_r_eg_dg;
      `CMM_H(eg_req_h0, SEQ) = ev_r_eg_seq;
      // A key that is not valid is all zero (every path that clears valid zeroizes).
      `CMM_H(eg_req_h0, KEY) = (ev_r_eg_op == OP_CLOSE) ? ckt_key_m[wr_idx] : wr_key;
      if (ev_r_eg_op == OP_DATA) begin
        `CMM_H(eg_req_h0, LEN) = reg_req_wdata_i[CMM_EP_DOORBELL_LEN_LSB +: CMM_EP_DOORBELL_LEN_BITS];
        `CMM_H(eg_req_h0, TAG) = reg_req_wdata_i[CMM_EP_DOORBELL_TAG_LSB +: CMM_EP_DOORBELL_TAG_BITS];
      end
      if (ev_r_eg_strong) begin
        // Strong request (11.2): STRONG bit, no key; CONNECT: counter bits 31:16 in tag, the 16-byte wrap.
        `CMM_H(eg_req_h0, AUX) = AUX_STRONG;
        `CMM_H(eg_req_h0, KEY) = '0;
        if (ev_r_eg_op == OP_CONNECT) begin
          `CMM_H(eg_req_h0, TAG) = ev_r_eg_tag;
          `CMM_H(eg_req_h0, LEN) = LEN_W'(16);
        end
      end
    end
  `CMM_COMB_END

  // ---- the tags: response seal, CONNECT wrap, CLOSE seal (combinational MACs below)
  `CMM_COMB(p_eg_hdr)
    eg_rsp_h = eg_rsp_h0;
    if (ev_i_eg_strong && pf_v) `CMM_H(eg_rsp_h, KEY) = rs_tag;
    eg_req_h = eg_req_h0;
    eg_req_wrap = '0;
    if (ev_r_eg_strong && ev_r_eg_op == OP_CONNECT) begin
      `CMM_H(eg_req_h, KEY) = wp_t;
      eg_req_wrap = wp_c;
    end else if (ev_r_eg_strong && ev_r_eg_op == OP_CLOSE && ckt_valid_m[wr_idx]) begin
      `CMM_H(eg_req_h, KEY) = cs_tag;  // the tombstone case needs no key: all zero
    end
    // The strong DATA waiting for its tag (register port not ready meanwhile).
    if (mtx_done) begin
      eg_req_h = mtx_hdr_q;
      `CMM_H(eg_req_h, KEY) = mtx_tag;
      eg_req_wrap = '0;
    end
  `CMM_COMB_END

  // ---- step 1 (egress pop), then the pushes of step 3 (response class 1)
  // and step 5 (request class 0). Room is guaranteed by the ready outputs.
  `CMM_COMB(p_egq)
    for (int s = 0; s < EGQ_DEPTH; s++) egq_wrap_n[s] = egq_wrap_q[s];
    for (int c = 0; c < 2; c++) begin
      for (int s = 0; s < EGQ_DEPTH; s++) `CMM_ACT(egq_prev[c][s]) egq_n[c][s] = egq_q[c][s];
      egq_head_n[c] = egq_head_q[c];
      egq_count_n[c] = egq_count_q[c];
      if (eg_valid_o && eg_ready_i && eg_cls_o == 1'(c)) begin
        egq_head_n[c] = EGQ_IW'((32'(egq_head_q[c]) + 1) % EGQ_DEPTH);
        egq_count_n[c] = egq_count_q[c] - EGQ_CW'(1);
      end
      if (c == 1 ? ev_i_eg_v : (ev_r_eg_v || mtx_done)) begin
        for (int s = 0; s < EGQ_DEPTH; s++)
          if (EGQ_IW'((32'(egq_head_n[c]) + 32'(egq_count_n[c])) % EGQ_DEPTH) == EGQ_IW'(s)) begin
            egq_n[c][s] = (c == 1) ? eg_rsp_h : eg_req_h;
`ifdef CMM_ONE_PASS
            egq_now[c][s] = 1'b1;
`endif
            if (c == 0) egq_wrap_n[s] = eg_req_wrap;
          end
        egq_count_n[c] = egq_count_n[c] + EGQ_CW'(1);
      end
      if (!rst_ni) begin
        egq_head_n[c] = '0;
        egq_count_n[c] = '0;
      end
    end
    if (!STRONG)
      for (int s = 0; s < EGQ_DEPTH; s++) egq_wrap_n[s] = '0;  // no wrap words without strong mode
  `CMM_COMB_END

  // ---- step 4: ingress accept. The port is exactly the field widths: no masking needed.
  // A strong header with payload stays in S1 until its RX tag is ready (11.6).
  `CMM_COMB(p_s1)
    s1_valid_n = ((ing_valid_i && ing_ready_o) || (s1_valid_q && !s1_commit)) && rst_ni;
    s1_n = (ing_valid_i && ing_ready_o) ? ing_hdr_i : s1_q;
  `CMM_COMB_END

  // ------------------------------------------------------------------ strong mode (docs/strong-mode.md 11)
  assign s1_strong = strong_pkt(s1_q);

  // ---- link-key table: LINK_CMD SET / CLEAR, the CONNECT counter (register access)
  `CMM_COMB(p_link)
    for (int n = 0; n < NLINK; n++) begin
      link_key_n[n*KEY_BITS +: KEY_BITS] = link_key_q[n*KEY_BITS +: KEY_BITS];
      link_valid_n[n] = link_valid_q[n];
      link_ctr_n[n*32 +: 32] = link_ctr_q[n*32 +: 32];
      if (ev_r_link_v && lk_i(ev_r_link_node) == LKW'(n)) begin
        link_key_n[n*KEY_BITS +: KEY_BITS] = ev_r_link_set ? ev_r_link_key : '0;
        link_valid_n[n] = ev_r_link_set;
        link_ctr_n[n*32 +: 32] = '0;
      end
      if (ev_r_ctr_v && lk_i(wr_rnode) == LKW'(n)) link_ctr_n[n*32 +: 32] = link_ctr_q[n*32 +: 32] + 32'd1;
      if (!rst_ni || !STRONG) begin
        link_key_n[n*KEY_BITS +: KEY_BITS] = '0;  link_valid_n[n] = 1'b0;  link_ctr_n[n*32 +: 32] = '0;
      end
    end
    link_stage_n = (rst_ni && STRONG) ? wk_stage : '0;
    link_wr_n = (rst_ni && STRONG) ? wk_wr : '0;
    link_status_n = (rst_ni && STRONG) ? wk_status : '0;
  `CMM_COMB_END

  // ---- RX engine load (step 4, a strong header with payload): the entry's key
  // after this edge's ingress commit; the first 16 payload bytes are kept
  // for a CONNECT's unwrap. TX engine load (step 5, a strong doorbell).
  `CMM_COMB(p_mac)
    mrx_idx = ing_hdr_i[HDR_DST_EP_LSB +: EPI];
    mrx_load = STRONG && ing_valid_i && ing_ready_o && strong_pkt(ing_hdr_i) && `CMM_H(ing_hdr_i, LEN) != '0 &&
               `CMM_H(ing_hdr_i, LEN) <= MAX_LEN;
    mrx_load_key = (`CMM_H(ing_hdr_i, DST_EP) < EP_ID_BITS'(NEP) && ckt_valid_m[mrx_idx]) ? ckt_key_m[mrx_idx] : '0;
    mrx_key_n = mrx_key_q;
    mrx_c_n = mrx_c_q;
    mrx_got_n = mrx_got_q;
    if (mrx_ready && mac_rx_valid_i && !s1_commit) begin
      for (int i = 0; i < 16; i++)
        if (32'(i) < MB_C && 32'(mrx_got_q) + 32'(i) < 32'd16)
          mrx_c_n[(32'(mrx_got_q) + 32'(i)) * 8 +: 8] = mac_rx_data_i[i*8 +: 8];
      mrx_got_n = (32'(mrx_got_q) + MB_C >= 32'd16) ? 5'd16 : mrx_got_q + 5'(MB_C);
    end
    if (mrx_load) begin
      mrx_key_n = mrx_load_key;
      mrx_c_n = '0;
      mrx_got_n = '0;
    end
    mtx_load = STRONG && ev_r_mtx;
    mtx_hdr_n = mtx_load ? eg_req_h0 : mtx_hdr_q;
    if (!rst_ni || !STRONG) begin
      mrx_key_n = '0;  mrx_c_n = '0;  mrx_got_n = '0;  mtx_hdr_n = '0;
    end
  `CMM_COMB_END

  if (STRONG) begin : g_strong
    logic [127:0] mtx_tag_q_unused, mrx_tag_unused;
    logic mrx_done_unused, mtx_rx_ready_unused;
    // TX: the doorbell's DATA (header loaded at the doorbell, payload beats from mac_tx_*).
    cmm_mac_engine #(.B(MB_C), .L(ML_C)) u_mtx (
      .clk(clk), .rst_ni(rst_ni), .load_i(mtx_load), .key_i(wr_key), .hdr_i(eg_req_h0), .clear_i(mtx_done),
      .beat_valid_i(mac_tx_valid_i), .beat_data_i(mac_tx_data_i), .busy_o(mtx_busy), .ready_o(mtx_ready),
      .tx_done_o(mtx_done), .rx_ready_o(mtx_rx_ready_unused), .tag_o(mtx_tag), .tag_q_o(mtx_tag_q_unused));
    // RX: the strong header in S1 (payload beats from mac_rx_*); its tag is read at the commit.
    cmm_mac_engine #(.B(MB_C), .L(ML_C)) u_mrx (
      .clk(clk), .rst_ni(rst_ni), .load_i(mrx_load), .key_i(mrx_load_key), .hdr_i(ing_hdr_i), .clear_i(s1_commit),
      .beat_valid_i(mac_rx_valid_i), .beat_data_i(mac_rx_data_i), .busy_o(mrx_busy), .ready_o(mrx_ready),
      .tx_done_o(mrx_done_unused), .rx_ready_o(mrx_rdy), .tag_o(mrx_tag_unused), .tag_q_o(mrx_tag));
    // Header MAC of S1 under its entry's key (CONNECT_ACK, NACK, CLOSE checks).
    cmm_mac_hdr u_im (.key_i(ckt_key_d[s1_q[HDR_DST_EP_LSB +: EPI]]), .hdr_i(s1_q), .tag_o(im_tag));
    // Unwrap of a strong CONNECT in S1 under the link key of its source node.
    cmm_mac_keywrap u_uw (.wrap_i(1'b0), .lk_i(link_key_q[32'(lk_i(`CMM_H(s1_q, SRC_NODE))) * KEY_BITS +: KEY_BITS]), .hdr_i(s1_q),
                          .data_i(mrx_c_q), .data_o(uw_key), .tag_o(uw_tag));
    // Seal of the response: the key the request proved (DATA: the entry's; CONNECT: the unwrapped one).
    assign pf_key = pf_unwrap ? uw_key : ckt_key_d[s1_q[HDR_DST_EP_LSB +: EPI]];
    cmm_mac_hdr u_rs (.key_i(pf_key), .hdr_i(eg_rsp_h0), .tag_o(rs_tag));
    // Wrap of a CMD CONNECT under the link key of the entry's remote node; seal of a CMD CLOSE.
    cmm_mac_keywrap u_wp (.wrap_i(1'b1), .lk_i(link_key_q[32'(lk_i(wr_rnode)) * KEY_BITS +: KEY_BITS]), .hdr_i(eg_req_h0), .data_i(wr_key),
                          .data_o(wp_c), .tag_o(wp_t));
    cmm_mac_hdr u_cs (.key_i(ckt_key_m[wr_idx]), .hdr_i(eg_req_h0), .tag_o(cs_tag));
  end else begin : g_plain
    assign mtx_busy = 1'b0;  assign mtx_ready = 1'b0;  assign mtx_done = 1'b0;  assign mtx_tag = '0;
    assign mrx_busy = 1'b0;  assign mrx_ready = 1'b0;  assign mrx_rdy = 1'b0;   assign mrx_tag = '0;
    assign im_tag = '0;  assign uw_key = '0;  assign uw_tag = '0;  assign pf_key = '0;  assign rs_tag = '0;
    assign wp_c = '0;  assign wp_t = '0;  assign cs_tag = '0;
  end


  // ---- key generator, after the register access's draw: ctr + 1, READY 0,
  // the engine restarts. At most one start per edge: a draw needs READY after
  // the seed / round step (p_kg_mid), which a start there clears.
  `CMM_COMB(p_kg)
    kg_key_n = kg_key_m;      kg_ctr_n = kg_ctr_m;        kg_cnt_n = kg_cnt_m;
    kg_ready_n = kg_ready_m;  kg_seeded_n = kg_seeded_m;
    kg_start = kg_start_m;
    if (kg_draw) begin
      kg_ctr_n = kg_ctr_m + 64'd1;
      kg_ready_n = 1'b0;
      kg_cnt_n = KG_W'(KEYGEN_CYCLES);
      kg_start = 1'b1;
    end
    if (!rst_ni) begin
      kg_key_n = '0;  kg_ctr_n = '0;  kg_cnt_n = '0;  kg_ready_n = 1'b0;  kg_seeded_n = 1'b0;
      kg_start = 1'b0;
    end
  `CMM_COMB_END

  // SipHash-2-4-128(K, le64(ctr) || le64(node_id)), one round per cycle.
  cmm_siphash u_kg (
    .clk     (clk),
    .rst_ni  (rst_ni),
    .start_i (kg_start),
    .adv_i   (kg_adv),
    .step_i  (kg_step),
    .key_i   (kg_key_n),
    .m0_i    (kg_ctr_n),
    .m1_i    (64'(cfg_node_id_i)),
    .res_o   (kg_res)
  );

  // Counter preload (DV pin): replaces the next value of every statistic counter
  // and moves every sequence number back by the margin (before the parity, so
  // the stored parity covers the moved value; nack_seq moves with tx_seq).
  wire dv_pl = dv_preload_i && rst_ni;
  wire [SEQ_W-1:0] pl_seq = dv_pl ? SEQ_W'(DV_PRELOAD_MARGIN) : '0;

  // ---- fault injection (DV port): the addressed stored bit is inverted after
  // this edge's update; the parity stored is that of the written value, so the
  // flip (of a field or of the parity bit) is a mismatch at the next edge.
  `CMM_COMB(p_fault)
    for (int k = 0; k < NEP; k++) `CMM_ACT(cst_act[k]) begin
      cst_flip[k] = '0;
      ckt_flip[k] = '0;
      if (fault_valid_i && rst_ni && fault_entry_i == EP_ID_BITS'(k)) begin
        if (!fault_table_i && fault_bit_i <= 8'(CST_PB)) cst_flip[k] = (CST_PB+1)'(1) << fault_bit_i;
        if (fault_table_i && fault_bit_i <= 8'(CKT_PB)) ckt_flip[k] = (CKT_PB+1)'(1) << fault_bit_i;
      end
      cst_pk_n[k] = {cst_rx_seq_n[k] - pl_seq, cst_tx_seq_n[k] - pl_seq, cst_rgen_n[k], cst_gen_n[k], cst_rep_n[k], cst_rpart_n[k],
                     cst_rnode_n[k], cst_owner_pid_n[k], cst_owner_part_n[k], cst_dir_n[k], cst_state_n[k]};
      cst_par_n[k] = (^cst_pk_n[k]) ^ cst_mode_n[k] ^ cst_flip[k][CST_PB];
      // Bit CST_PB + 1 (101): CST_CTRL.MODE, strong cores only (11.2).
      cst_mode_flip[k] = STRONG && fault_valid_i && rst_ni && fault_entry_i == EP_ID_BITS'(k) && !fault_table_i &&
                         fault_bit_i == 8'(CST_PB + 1);
      cst_pk_n[k] = cst_pk_n[k] ^ cst_flip[k][CST_PB-1:0];
      ckt_par_n[k] = (^ckt_key_n[k]) ^ ckt_valid_n[k] ^ ckt_origin_n[k] ^ ckt_flip[k][CKT_PB];
    end
  `CMM_COMB_END

  // ------------------------------------------------------------------ flops
`ifdef CMM_ONE_PASS
  always @(`CMM_CLK_EDGE) begin : p_flops
    // Source order is dependency order (no loop between the blocks). The row
    // masks grow as the rows an edge touches become known, each before the
    // first block that writes those rows: the entry in S1 (wi_idx), a
    // detection (every partition: ALARM), the ingress events' partitions and
    // reasons, the register access's entry and partition, the fault entry.
    // Reset and the counter preload (dv_preload_i): every row.
    cst_now = {NEP{!rst_ni || dv_preload_i}} | (NEP'(1) << s1_q[HDR_DST_EP_LSB +: EPI]);
    part_now = {NPART{!rst_ni || dv_preload_i}};
    rej_now = {REASON_COUNT{!rst_ni || dv_preload_i}};
    cst_act = cst_prev | cst_now;  part_act = part_prev | part_now;  rej_act = rej_prev | rej_now;
    p_flt_t();
    cst_now = cst_now | (flt & cst_act);  // rewritten with FAULT and a fresh parity
    if (ft_v) begin
      part_now = '1;
      rej_now = rej_now | (REASON_COUNT'(1) << REASON_TABLE_FAULT);
    end
    part_act = part_prev | part_now;  rej_act = rej_prev | rej_now;
    p_flt_log_t(); p_flt_part_t(); p_kg_mid_t(); p_ing_t(); p_ing_log_t(); p_mid_cst_t(); p_rxq_t();
    if (ev_i_rej_v) rej_now = rej_now | (REASON_COUNT'(1) << ev_i_rej_r);
    if (ev_i_rej2_v) rej_now = rej_now | (REASON_COUNT'(1) << ev_i_rej2_r);
    if (ev_i_irq_mask != '0) part_now = part_now | (NPART'(1) << ev_i_irq_part);
    if (wl_v) part_now = part_now | (NPART'(1) << wl_idx);
    if (ev_i_mq_v) part_now = part_now | (NPART'(1) << ev_i_mq_part);
    part_act = part_prev | part_now;  rej_act = rej_prev | rej_now;
    p_mid_cnt_t(); p_mid_part_t(); p_reg_t(); p_reg_log_t();
    cst_now = cst_now | (NEP'(1) << wr_idx);
    part_now = part_now | (NPART'(1) << wp_idx);
    if (ev_r_rej_v) rej_now = rej_now | (REASON_COUNT'(1) << ev_r_rej_r);
    if (ev_r_flush != '0) rej_now = rej_now | (REASON_COUNT'(1) << REASON_RXQ_FLUSHED);
    cst_act = cst_prev | cst_now;  part_act = part_prev | part_now;  rej_act = rej_prev | rej_now;
    p_fin_cst_t(); p_fin_cnt_t(); p_fin_part_t();
    egq_now[0] = '0;  egq_now[1] = '0;
    p_eg_hdr0_t(); p_eg_hdr_t(); p_egq_t(); p_s1_t(); p_link_t(); p_mac_t(); p_kg_t();
    if (fault_valid_i && rst_ni) cst_now = cst_now | (NEP'(1) << fault_entry_i);
    cst_act = cst_prev | cst_now;
    p_fault_t();
    u_kg.step_t(kg_start, kg_adv, kg_step, kg_key_n, kg_ctr_n, 64'(cfg_node_id_i), rst_ni);
`else
  always_ff @(`CMM_CLK_EDGE) begin : p_flops
`endif
    for (int e = 0; e < NEP; e++) `CMM_ACT(cst_act[e]) begin
      // Protected fields with the injected fault (an SEU after the update).
      cst_state_q[e] <= cst_pk_n[e][0 +: STATE_W];
      cst_dir_q[e] <= cst_pk_n[e][CP_DIR];
      cst_owner_part_q[e] <= cst_pk_n[e][CP_OPART +: PART_ID_BITS];
      cst_owner_pid_q[e] <= cst_pk_n[e][CP_OPID +: PID_BITS];
      cst_rnode_q[e] <= cst_pk_n[e][CP_RNODE +: NODE_ID_BITS];
      cst_rpart_q[e] <= cst_pk_n[e][CP_RPART +: PART_ID_BITS];
      cst_rep_q[e] <= cst_pk_n[e][CP_REP +: EP_ID_BITS];
      cst_gen_q[e] <= cst_pk_n[e][CP_GEN +: GEN_W];
      cst_rgen_q[e] <= cst_pk_n[e][CP_RGEN +: GEN_W];
      cst_tx_seq_q[e] <= cst_pk_n[e][CP_TXSEQ +: SEQ_W];
      cst_rx_seq_q[e] <= cst_pk_n[e][CP_RXSEQ +: SEQ_W];
      cst_par_q[e] <= cst_par_n[e];
      cst_mode_q[e] <= cst_mode_n[e] ^ cst_mode_flip[e];
      cst_last_reason_q[e] <= cst_last_reason_n[e];
      cst_tx_nacks_q[e] <= dv_pl ? PL_NACKS : cst_tx_nacks_n[e];
      cst_tx_last_reason_q[e] <= cst_tx_last_reason_n[e];
      cst_tx_last_tag_q[e] <= cst_tx_last_tag_n[e]; cst_tx_sent_q[e] <= dv_pl ? PL_SENT : cst_tx_sent_n[e];
      cst_rxq_head_q[e] <= cst_rxq_head_n[e];     cst_rxq_count_q[e] <= cst_rxq_count_n[e];
      cst_tx_lost_q[e] <= dv_pl ? PL_SEQW : cst_tx_lost_n[e];
      cst_rx_lost_q[e] <= dv_pl ? PL_SEQW : cst_rx_lost_n[e];
      cst_nack_seq_q[e] <= cst_nack_seq_n[e] - pl_seq;
      for (int s = 0; s < RXQ_DEPTH; s++) begin
        rxq_len_q[e][s] <= rxq_len_n[e][s];
        rxq_tag_q[e][s] <= rxq_tag_n[e][s];
      end
      ckt_key_q[e] <= ckt_key_n[e] ^ ckt_flip[e][KEY_BITS-1:0];
      ckt_valid_q[e] <= ckt_valid_n[e] ^ ckt_flip[e][KEY_BITS];
      ckt_origin_q[e] <= ckt_origin_n[e] ^ ckt_flip[e][KEY_BITS+1];
      ckt_par_q[e] <= ckt_par_n[e];
    end
    tf_count_q <= dv_pl ? PL_TFC : tf_count_n;  tf_ep_q <= tf_ep_n;  tf_tab_q <= tf_tab_n;
    kg_key_q <= kg_key_n;      kg_ctr_q <= kg_ctr_n;  kg_cnt_q <= kg_cnt_n;
    kg_ready_q <= kg_ready_n;  kg_seeded_q <= kg_seeded_n;
    for (int p = 0; p < NPART; p++) `CMM_ACT(part_act[p]) begin
      key_stage_q[p] <= key_stage_n[p];
      cmd_status_q[p] <= dv_pl ? (cmd_status_n[p] & ~CMDC_MASK) | PL_CMDC : cmd_status_n[p];
      key_wr_q[p] <= key_wr_n[p];         key_pid_q[p] <= key_pid_n[p];
      irq_status_q[p] <= irq_status_n[p]; irq_enable_q[p] <= irq_enable_n[p];
      mgmt_tx_q[p] <= mgmt_tx_n[p];       mgmt_dst_q[p] <= mgmt_dst_n[p];
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_q[p][s] <= mq_src_node_n[p][s];
        mq_src_part_q[p][s] <= mq_src_part_n[p][s];
        mq_words_q[p][s] <= mq_words_n[p][s];
      end
      mq_head_q[p] <= mq_head_n[p];       mq_count_q[p] <= mq_count_n[p];
      for (int s = 0; s < ERRLOG_DEPTH; s++) begin
        el_q[p][s] <= el_n[p][s];
        el_rep_q[p][s] <= dv_pl ? PL_REP : el_rep_n[p][s];
      end
      el_head_q[p] <= el_head_n[p];       el_count_q[p] <= el_count_n[p];
      el_lost_q[p] <= el_lost_n[p];       used_q[p] <= used_n[p];
      exc_count_q[p] <= dv_pl ? PL_EXC : exc_count_n[p];  exc_first_q[p] <= exc_first_n[p];  exc_last_q[p] <= exc_last_n[p];
      alarm_cfg_q[p] <= alarm_cfg_n[p];   alarm_count_q[p] <= dv_pl ? PL_ALC : alarm_count_n[p];
      alarm_wv_q[p] <= alarm_wv_n[p];     alarm_fired_q[p] <= alarm_fired_n[p];
      alarm_win_q[p] <= alarm_win_n[p];   alarm_cnt_q[p] <= dv_pl ? PL_ALC : alarm_cnt_n[p];
    end
    for (int r = 0; r < REASON_COUNT; r++) `CMM_ACT(rej_act[r]) rej_q[r] <= dv_pl ? PL_WORD : rej_n[r];
    for (int s = 0; s < CMM_STAT_COUNT; s++) stat_q[s] <= dv_pl ? PL_WORD : stat_n[s];
    s1_valid_q <= s1_valid_n; s1_q <= s1_n;
    link_key_q <= link_key_n;  link_ctr_q <= link_ctr_n;  link_valid_q <= link_valid_n;
    link_stage_q <= link_stage_n;  link_wr_q <= link_wr_n;  link_status_q <= link_status_n;
    for (int s = 0; s < EGQ_DEPTH; s++) egq_wrap_q[s] <= egq_wrap_n[s];
    mrx_key_q <= mrx_key_n;  mrx_c_q <= mrx_c_n;  mrx_got_q <= mrx_got_n;  mtx_hdr_q <= mtx_hdr_n;
    for (int c = 0; c < 2; c++) begin
      for (int s = 0; s < EGQ_DEPTH; s++) `CMM_ACT(egq_prev[c][s] || egq_now[c][s]) egq_q[c][s] <= egq_n[c][s];
      egq_head_q[c] <= egq_head_n[c];
      egq_count_q[c] <= egq_count_n[c];
    end
    rsp_valid_q <= rsp_valid_n; rsp_rdata_q <= rsp_rdata_n; rsp_status_q <= rsp_status_n;
    rsp_buf_q <= rsp_buf_n;   rsp_slot_q <= rsp_slot_n;
    vd_valid_q <= vd_valid_n; vd_accept_q <= vd_accept_n;  vd_ep_q <= vd_ep_n;
    vd_slot_q <= vd_slot_n;   vd_reason_q <= vd_reason_n;
`ifdef CMM_ONE_PASS
    cst_prev = cst_now;  part_prev = part_now;  rej_prev = rej_now;
    egq_prev[0] = egq_now[0];  egq_prev[1] = egq_now[1];
`endif
  end

endmodule

`undef CMM_H
`undef CMM_COMB
`undef CMM_COMB_END
`undef CMM_ACT
