// CMM core, synthesizable SystemVerilog. Same ports and cycle behaviour as
// cmm::CmmCore (hw/src/cmm_core.{h,cpp}); the contract is docs/core-interface.md.
//
// Structure (see docs/rtl.md):
//   * state registers (*_q), written only by the single flop process p_flops;
//   * one combinational next-state process p_next that applies, in this order,
//     exactly like CmmCore::step():
//       1. egress pop            (eg_valid_o && eg_ready_i)
//       2. clear the one-cycle response / verdict pulses
//       3. ingress commit (S2)   of the header held in S1
//       4. ingress accept (S1)   (ing_valid_i && ing_ready_o)
//       5. register access       (reg_req_valid_i && reg_req_ready_o), which
//                                sees the effects of step 3
//     Steps are written as blocking updates on the *_n copies, so the "as if
//     sequential" order of the contract is the order of the statements;
//   * outputs: continuous functions of the state registers only (no input to
//     output path), like CmmCore::compute_outputs().
//   * synchronous active-low reset, applied in p_next (the next state is the
//     power-up state while rst_ni is low).
//
// Every offset, field position and width comes from cmm_pkg (generated from
// hw/data/cmm.toml). The CKT key array has no path to the register read mux
// (invariant I1 by construction): rdata is built from CST, counters, logs and
// the per-partition bank only; KEY staging is write-only.
//
// Language subset: also read by Debian's yosys 0.23, which has no package
// import, no struct members inside tasks/functions or on array elements, no
// type casts and no `return`. Hence: the package names come in through the
// generated alias file cmm_pkg_import.svh, tables are one array per field,
// and headers are vectors sliced with the package's HDR_<FIELD>_LSB/_BITS.

// Header field f of header vector v.
`define CMM_H(v, f) v[HDR_``f``_LSB +: HDR_``f``_BITS]

module cmm_core (
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
  output logic                                                 eg_cls_o,
  output logic [cmm_pkg::HDR_BITS-1:0]                         eg_hdr_o,
  // delivery verdicts
  output logic                                                 vd_valid_o,
  output logic                                                 vd_accept_o,
  output logic [cmm_pkg::EP_ID_BITS-1:0]                       vd_ep_o,
  output logic [cmm_pkg::CMM_EP_RX_STATUS_SLOT_BITS-1:0]       vd_slot_o,
  output logic [cmm_pkg::CMM_ERRLOG_HEAD_REASON_BITS-1:0]      vd_reason_o,
  // interrupts
  output logic [cmm_pkg::NUM_PARTITIONS-1:0]                   irq_o
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
  localparam int USED_W = CMM_PART_INFO_USED_BITS;
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
  // Node-wide event counters (STAT index), as in CmmCore.
  localparam int STAT_IW = $clog2(CMM_STAT_COUNT);
  localparam logic [STAT_IW-1:0] STAT_DATA_SENT = 0, STAT_DATA_DELIVERED = 1, STAT_CONNECT_SENT = 2,
                                 STAT_CONNECT_ACCEPTED = 3, STAT_CLOSE_SENT = 4, STAT_MGMT_SENT = 5,
                                 STAT_MGMT_RECEIVED = 6, STAT_NACK_SENT = 7;
  // Interrupt cause masks (IRQ_STATUS bit positions from the package).
  localparam logic [IRQ_BITS-1:0] IRQM_ERR = IRQ_BITS'(1) << IRQ_ERR, IRQM_MGMT = IRQ_BITS'(1) << IRQ_MGMT,
                                  IRQM_CONN = IRQ_BITS'(1) << IRQ_CONN, IRQM_TXNACK = IRQ_BITS'(1) << IRQ_TXNACK,
                                  IRQM_RX = IRQ_BITS'(1) << IRQ_RX;

  // Sized constants (avoid width-mismatched compares).
  localparam logic [LEN_W-1:0] MAX_LEN = LEN_W'(MAX_MSG_BYTES);
  localparam logic [OPC_W-1:0] OP_DATA = OPC_W'(OPCODE_DATA);
  localparam logic [OPC_W-1:0] OP_CONNECT = OPC_W'(OPCODE_CONNECT);
  localparam logic [OPC_W-1:0] OP_CONNECT_ACK = OPC_W'(OPCODE_CONNECT_ACK);
  localparam logic [OPC_W-1:0] OP_NACK = OPC_W'(OPCODE_NACK);
  localparam logic [OPC_W-1:0] OP_CLOSE = OPC_W'(OPCODE_CLOSE);
  localparam logic [OPC_W-1:0] OP_MGMT = OPC_W'(OPCODE_MGMT);

  typedef logic [RSN_W-1:0]    rsn_t;
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
  // Receive slots: length and tag (storage, not reset).
  logic [LEN_W-1:0]      rxq_len_q [NEP][RXQ_DEPTH], rxq_len_n [NEP][RXQ_DEPTH];
  logic [TAG_W-1:0]      rxq_tag_q [NEP][RXQ_DEPTH], rxq_tag_n [NEP][RXQ_DEPTH];
  // Channel key table: written by commands and CONNECT, read only by the
  // ingress comparator and the egress key attach. No register read path.
  logic [KEY_BITS-1:0]   ckt_key_q [NEP], ckt_key_n [NEP];
  logic [NEP-1:0]        ckt_valid_q, ckt_valid_n;
  logic [NEP-1:0]        ckt_origin_q, ckt_origin_n;
  // Per-partition bank.
  logic [KEY_BITS-1:0]   key_stage_q [NPART], key_stage_n [NPART];
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
  logic [USED_W-1:0]     used_q [NPART], used_n [NPART];
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

  // ------------------------------------------------------------------ outputs (state only)
  logic eg_show_rsp;
  assign eg_show_rsp      = egq_count_q[1] != '0;
  assign reg_req_ready_o  = egq_count_q[0] != EGQ_CW'(EGQ_DEPTH);
  assign ing_ready_o      = (EGQ_CW'(EGQ_DEPTH) - egq_count_q[1]) >= (EGQ_CW'(1) + EGQ_CW'(s1_valid_q));
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
  function automatic word_t sat_inc(word_t x);
    sat_inc = (x == '1) ? x : x + DW'(1);
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

  task automatic count_reject(reason_e r);
    rej_n[r] = sat_inc(rej_n[r]);
  endtask

  task automatic bump_stat(logic [STAT_IW-1:0] i);
    stat_n[i] = sat_inc(stat_n[i]);
  endtask

  task automatic raise(logic [PART_ID_BITS-1:0] part, logic [IRQ_BITS-1:0] cause);
    if (part < PART_ID_BITS'(NPART)) irq_status_n[part[PI-1:0]] = irq_status_n[part[PI-1:0]] | cause;
  endtask

  task automatic push_egq(logic cls, hdr_v h);
    // Room is guaranteed by reg_req_ready_o (class 0) and ing_ready_o (class 1).
    egq_n[cls][EGQ_IW'((32'(egq_head_n[cls]) + 32'(egq_count_n[cls])) % EGQ_DEPTH)] = h;
    egq_count_n[cls] = egq_count_n[cls] + EGQ_CW'(1);
  endtask

  task automatic log_error(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                           logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    word_t w;
    logic [PI-1:0] p;
    w = '0;
    p = part[PI-1:0];
    if (part < PART_ID_BITS'(NPART)) begin
      w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS] = r;
      w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS] = ep;
      w[CMM_ERRLOG_HEAD_OPCODE_LSB +: CMM_ERRLOG_HEAD_OPCODE_BITS] = opcode;
      w[CMM_ERRLOG_HEAD_FROM_FABRIC_LSB] = from_fabric;
      w[CMM_ERRLOG_HEAD_EXCEPTION_LSB] = exception;
      w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS] = src_node;
      if (el_count_n[p] == EL_CW'(ERRLOG_DEPTH)) begin
        if (el_lost_n[p] != '1) el_lost_n[p] = el_lost_n[p] + 1'b1;
      end else begin
        el_n[p][EL_IW'((32'(el_head_n[p]) + 32'(el_count_n[p])) % ERRLOG_DEPTH)] = w;
        el_count_n[p] = el_count_n[p] + EL_CW'(1);
      end
      raise(part, IRQM_ERR);
    end
  endtask

  // Count, then answer the source with NACK (never answer a response).
  task automatic nack(hdr_v h, reason_e r);
    hdr_v n;
    n = '0;
    count_reject(r);
    if (`CMM_H(h, OPCODE) != OP_NACK && `CMM_H(h, OPCODE) != OP_CONNECT_ACK) begin
      n = make_hdr(OP_NACK, `CMM_H(h, DST_PART), `CMM_H(h, DST_EP), `CMM_H(h, SRC_NODE), `CMM_H(h, SRC_PART),
                   `CMM_H(h, SRC_EP), cfg_node_id_i);
      `CMM_H(n, REASON) = HDR_REASON_BITS'(r);
      `CMM_H(n, AUX) = HDR_AUX_BITS'(`CMM_H(h, OPCODE));
      `CMM_H(n, TAG) = `CMM_H(h, TAG);
      push_egq(1'b1, n);
      bump_stat(STAT_NACK_SENT);
    end
  endtask

  task automatic zeroize(logic [EPI-1:0] ep);
    ckt_key_n[ep] = '0;
    ckt_valid_n[ep] = 1'b0;
    ckt_origin_n[ep] = 1'b0;
  endtask

  // Discards the receive queue, one RXQ_FLUSHED count per message; returns whether any.
  task automatic flush_rxq(logic [EPI-1:0] ep, output logic any);
    any = cst_rxq_count_n[ep] != '0;
    for (int i = 0; i < RXQ_DEPTH; i++)
      if (RXQ_CW'(i) < cst_rxq_count_n[ep]) count_reject(REASON_RXQ_FLUSHED);
    cst_rxq_count_n[ep] = '0;
    cst_rxq_head_n[ep] = '0;
  endtask

  // Every field of an entry to its power-up value (receive slots need no
  // clearing: only slots below rxq_count are visible).
  task automatic reset_entry(logic [EPI-1:0] ep);
    cst_state_n[ep] = '0;          cst_dir_n[ep] = '0;
    cst_owner_part_n[ep] = '0;     cst_owner_pid_n[ep] = '0;
    cst_rnode_n[ep] = '0;          cst_rpart_n[ep] = '0;          cst_rep_n[ep] = '0;
    cst_last_reason_n[ep] = '0;    cst_tx_nacks_n[ep] = '0;
    cst_tx_last_reason_n[ep] = '0; cst_tx_last_tag_n[ep] = '0;    cst_tx_sent_n[ep] = '0;
    cst_rxq_head_n[ep] = '0;       cst_rxq_count_n[ep] = '0;
    zeroize(ep);
  endtask

  // ------------------------------------------------------------------ ingress commit (S2)
  task automatic ingress_data(hdr_v h);
    reason_e r;
    logic tell;
    logic [EPI-1:0] e;
    logic [RXQ_IW-1:0] slot;
    e = h[HDR_DST_EP_LSB +: EPI];
    r = REASON_OK;
    tell = 1'b0;
    slot = '0;
    if (`CMM_H(h, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(h, LEN) == '0 || `CMM_H(h, LEN) > MAX_LEN) r = REASON_BAD_LEN;
    else if (`CMM_H(h, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (cst_state_n[e] == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      tell = 1'b1;
      if (`CMM_H(h, DST_PART) != cst_owner_part_n[e]) r = REASON_DST_PART_MISMATCH;
      else if (cst_dir_n[e] != DIR_RECV) r = REASON_WRONG_DIR;
      else if (cst_state_n[e] != STATE_OPEN) r = REASON_NOT_OPEN;
      else if (!ckt_valid_n[e]) r = REASON_NO_KEY;
      else if (`CMM_H(h, SRC_NODE) != cst_rnode_n[e]) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(h, SRC_PART) != cst_rpart_n[e]) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(h, SRC_EP) != cst_rep_n[e]) r = REASON_SRC_EP_MISMATCH;
      else if (`CMM_H(h, KEY) != ckt_key_n[e]) r = REASON_BAD_KEY;  // full-width compare: constant time
      else if (cst_rxq_count_n[e] >= RXQ_CW'(RXQ_DEPTH)) begin
        r = REASON_RXQ_FULL;   // the sender is told by NACK
        tell = 1'b0;
      end
    end
    vd_valid_n = 1'b1;
    vd_ep_n = `CMM_H(h, DST_EP);
    vd_reason_n = RSN_W'(r);
    if (r != REASON_OK) begin
      vd_accept_n = 1'b0;
      vd_slot_n = '0;
      nack(h, r);
      if (tell) log_error(cst_owner_part_n[e], RSN_W'(r), `CMM_H(h, DST_EP), `CMM_H(h, OPCODE), 1'b1, 1'b0,
                          `CMM_H(h, SRC_NODE));
    end else begin
      slot = RXQ_IW'((32'(cst_rxq_head_n[e]) + 32'(cst_rxq_count_n[e])) % RXQ_DEPTH);
      rxq_len_n[e][slot] = `CMM_H(h, LEN);
      rxq_tag_n[e][slot] = `CMM_H(h, TAG);
      cst_rxq_count_n[e] = cst_rxq_count_n[e] + RXQ_CW'(1);
      vd_accept_n = 1'b1;
      vd_slot_n = SLOT_W'(slot);
      raise(cst_owner_part_n[e], IRQM_RX);
      bump_stat(STAT_DATA_DELIVERED);
    end
  endtask

  task automatic ingress_connect(hdr_v h);
    reason_e r;
    logic logit, exc;
    logic [EPI-1:0] e;
    hdr_v a;
    e = h[HDR_DST_EP_LSB +: EPI];
    r = REASON_OK;
    logit = 1'b0;
    exc = 1'b0;
    a = '0;
    if (`CMM_H(h, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(h, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (cst_state_n[e] == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (`CMM_H(h, DST_PART) != cst_owner_part_n[e]) r = REASON_DST_PART_MISMATCH;
      else if (cst_dir_n[e] == DIR_RECV) begin
        // I6: a remote CONNECT must not change a key the local agent set.
        if (ckt_valid_n[e]) begin
          r = REASON_KEY_LOCKED;
          exc = 1'b1;
        end else r = REASON_WRONG_DIR;
      end
      else if (ckt_valid_n[e]) r = REASON_KEY_PRESENT;  // I3: only while the entry holds no key
      else if (cst_state_n[e] != STATE_AUTHORIZED) r = REASON_NOT_OPEN;
      else if (`CMM_H(h, SRC_NODE) != cst_rnode_n[e]) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(h, SRC_PART) != cst_rpart_n[e]) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(h, SRC_EP) != cst_rep_n[e]) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(h, r);
      if (logit) log_error(cst_owner_part_n[e], RSN_W'(r), `CMM_H(h, DST_EP), `CMM_H(h, OPCODE), 1'b1, exc,
                           `CMM_H(h, SRC_NODE));
    end else begin
      ckt_key_n[e] = `CMM_H(h, KEY);
      ckt_valid_n[e] = 1'b1;
      ckt_origin_n[e] = ORIGIN_REMOTE;
      cst_state_n[e] = STATE_OPEN;
      cst_last_reason_n[e] = '0;
      raise(cst_owner_part_n[e], IRQM_CONN);
      bump_stat(STAT_CONNECT_ACCEPTED);
      a = make_hdr(OP_CONNECT_ACK, `CMM_H(h, DST_PART), `CMM_H(h, DST_EP), `CMM_H(h, SRC_NODE),
                   `CMM_H(h, SRC_PART), `CMM_H(h, SRC_EP), cfg_node_id_i);
      `CMM_H(a, TAG) = `CMM_H(h, TAG);
      push_egq(1'b1, a);
    end
  endtask

  task automatic ingress_connect_ack(hdr_v h);
    logic [EPI-1:0] e;
    e = h[HDR_DST_EP_LSB +: EPI];
    if (`CMM_H(h, DST_NODE) != cfg_node_id_i || `CMM_H(h, DST_EP) >= EP_ID_BITS'(NEP) ||
        cst_state_n[e] != STATE_CONNECTING || cst_dir_n[e] != DIR_RECV ||
        `CMM_H(h, DST_PART) != cst_owner_part_n[e] || `CMM_H(h, SRC_NODE) != cst_rnode_n[e] ||
        `CMM_H(h, SRC_PART) != cst_rpart_n[e] || `CMM_H(h, SRC_EP) != cst_rep_n[e]) begin
      count_reject(REASON_STRAY_RESPONSE);
    end else begin
      cst_state_n[e] = STATE_OPEN;
      cst_last_reason_n[e] = '0;
      raise(cst_owner_part_n[e], IRQM_CONN);
    end
  endtask

  task automatic ingress_nack(hdr_v h);
    logic [EPI-1:0] e;
    logic owned, done;
    rsn_t why;
    e = h[HDR_DST_EP_LSB +: EPI];
    owned = `CMM_H(h, DST_NODE) == cfg_node_id_i && `CMM_H(h, DST_EP) < EP_ID_BITS'(NEP) &&
            cst_state_n[e] != STATE_FREE && cst_owner_part_n[e] == `CMM_H(h, DST_PART);
    why = (`CMM_H(h, REASON) < RSN_W'(REASON_COUNT)) ? `CMM_H(h, REASON) : RSN_W'(REASON_BAD_OPCODE);
    done = 1'b0;
    if (`CMM_H(h, AUX) == HDR_AUX_BITS'(OPCODE_DATA)) begin
      if (owned && cst_dir_n[e] == DIR_SEND) begin
        cst_tx_last_reason_n[e] = `CMM_H(h, REASON);
        cst_tx_last_tag_n[e] = `CMM_H(h, TAG);
        cst_last_reason_n[e] = `CMM_H(h, REASON);
        if (cst_tx_nacks_n[e] != '1) cst_tx_nacks_n[e] = cst_tx_nacks_n[e] + 1'b1;
        raise(cst_owner_part_n[e], IRQM_TXNACK);
        done = 1'b1;
      end
    end else if (`CMM_H(h, AUX) == HDR_AUX_BITS'(OPCODE_CONNECT)) begin
      if (owned && cst_state_n[e] == STATE_CONNECTING && cst_dir_n[e] == DIR_RECV) begin
        zeroize(e);
        cst_state_n[e] = STATE_AUTHORIZED;
        cst_last_reason_n[e] = `CMM_H(h, REASON);
        raise(cst_owner_part_n[e], IRQM_CONN);
        log_error(cst_owner_part_n[e], why, `CMM_H(h, DST_EP), `CMM_H(h, OPCODE), 1'b1, 1'b0, `CMM_H(h, SRC_NODE));
        done = 1'b1;
      end
    end else if (`CMM_H(h, AUX) == HDR_AUX_BITS'(OPCODE_CLOSE) || `CMM_H(h, AUX) == HDR_AUX_BITS'(OPCODE_MGMT)) begin
      if (`CMM_H(h, DST_NODE) == cfg_node_id_i && `CMM_H(h, DST_PART) < PART_ID_BITS'(NPART)) begin
        log_error(`CMM_H(h, DST_PART), why, `CMM_H(h, DST_EP), h[HDR_AUX_LSB +: OPC_W], 1'b1, 1'b0,
                  `CMM_H(h, SRC_NODE));
        done = 1'b1;
      end
    end
    if (!done) count_reject(REASON_STRAY_RESPONSE);
  endtask

  task automatic ingress_close(hdr_v h);
    reason_e r;
    logic logit;
    logic [EPI-1:0] e;
    e = h[HDR_DST_EP_LSB +: EPI];
    r = REASON_OK;
    logit = 1'b0;
    if (`CMM_H(h, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(h, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (cst_state_n[e] == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (`CMM_H(h, DST_PART) != cst_owner_part_n[e]) r = REASON_DST_PART_MISMATCH;
      else if (`CMM_H(h, SRC_NODE) != cst_rnode_n[e]) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(h, SRC_PART) != cst_rpart_n[e]) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(h, SRC_EP) != cst_rep_n[e]) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(h, r);
      if (logit) log_error(cst_owner_part_n[e], RSN_W'(r), `CMM_H(h, DST_EP), `CMM_H(h, OPCODE), 1'b1, 1'b0,
                           `CMM_H(h, SRC_NODE));
    end else if (cst_state_n[e] == STATE_CONNECTING || cst_state_n[e] == STATE_OPEN) begin
      // Crossing closes and closes of never-connected entries are harmless no-ops.
      zeroize(e);
      cst_state_n[e] = STATE_CLOSED;  // queued messages stay readable
      raise(cst_owner_part_n[e], IRQM_CONN);
    end
  endtask

  task automatic ingress_mgmt(hdr_v h);
    logic [PI-1:0] p;
    logic [MQ_IW-1:0] slot;
    p = h[HDR_DST_PART_LSB +: PI];
    slot = MQ_IW'((32'(mq_head_n[p]) + 32'(mq_count_n[p])) % MGMTQ_DEPTH);
    if (`CMM_H(h, DST_NODE) != cfg_node_id_i) nack(h, REASON_MISROUTED);
    else if (`CMM_H(h, DST_PART) >= PART_ID_BITS'(NPART)) nack(h, REASON_BAD_PART);
    else if (mq_count_n[p] == MQ_CW'(MGMTQ_DEPTH)) nack(h, REASON_MGMTQ_FULL);
    else begin
      mq_src_node_n[p][slot] = `CMM_H(h, SRC_NODE);
      mq_src_part_n[p][slot] = `CMM_H(h, SRC_PART);
      mq_words_n[p][slot] = `CMM_H(h, KEY);
      mq_count_n[p] = mq_count_n[p] + MQ_CW'(1);
      raise(`CMM_H(h, DST_PART), IRQM_MGMT);
      bump_stat(STAT_MGMT_RECEIVED);
    end
  endtask

  task automatic ingress(hdr_v h);
    unique case (`CMM_H(h, OPCODE))
      OP_DATA:        ingress_data(h);
      OP_CONNECT:     ingress_connect(h);
      OP_CONNECT_ACK: ingress_connect_ack(h);
      OP_NACK:        ingress_nack(h);
      OP_CLOSE:       ingress_close(h);
      OP_MGMT:        ingress_mgmt(h);
      default:        nack(h, REASON_BAD_OPCODE);
    endcase
  endtask

  // ------------------------------------------------------------------ register side
  task automatic doorbell(logic [EPI-1:0] e, word_t wd, inout logic [RSP_W-1:0] rsp);
    reason_e r;
    logic [LEN_W-1:0] len;
    hdr_v h;
    len = wd[CMM_EP_DOORBELL_LEN_LSB +: CMM_EP_DOORBELL_LEN_BITS];
    r = REASON_OK;
    h = '0;
    if (cst_dir_n[e] != DIR_SEND) r = REASON_WRONG_DIR;
    else if (cst_state_n[e] != STATE_OPEN) r = REASON_NOT_OPEN;
    else if (!ckt_valid_n[e]) r = REASON_NO_KEY;
    else if (len == '0 || len > MAX_LEN) r = REASON_BAD_LEN;
    if (r != REASON_OK) begin
      cst_tx_last_reason_n[e] = RSN_W'(r);
      count_reject(r);
      rsp = RSP_REJECT;
    end else begin
      // Egress key attach: key and source ids come from the CMM, never software (I4).
      h = make_hdr(OP_DATA, cst_owner_part_n[e], EP_ID_BITS'(e), cst_rnode_n[e], cst_rpart_n[e], cst_rep_n[e],
                   cfg_node_id_i);
      `CMM_H(h, LEN) = len;
      `CMM_H(h, TAG) = wd[CMM_EP_DOORBELL_TAG_LSB +: CMM_EP_DOORBELL_TAG_BITS];
      `CMM_H(h, KEY) = ckt_key_n[e];
      push_egq(1'b0, h);
      cst_tx_sent_n[e] = cst_tx_sent_n[e] + 1'b1;  // wraps, like the C++ counter
      bump_stat(STAT_DATA_SENT);
    end
  endtask

  // Stores the staged key into a receive entry (SET_KEY, CONNECT); I6 on a send entry.
  task automatic store_local_key(logic [PI-1:0] p, logic [EPI-1:0] e, logic allow_existing,
                                 inout reason_e r, inout logic exc, output logic ok);
    ok = 1'b0;
    if (cst_dir_n[e] == DIR_SEND) begin
      if (ckt_valid_n[e]) begin
        r = REASON_KEY_LOCKED;  // key set by a remote CONNECT
        exc = 1'b1;
      end else r = REASON_WRONG_DIR;
    end else if (cst_state_n[e] != STATE_AUTHORIZED) begin
      r = REASON_NOT_OPEN;
    end else if (ckt_valid_n[e]) begin
      if (allow_existing) ok = 1'b1;
      else r = REASON_KEY_PRESENT;
    end else begin
      ckt_key_n[e] = key_stage_n[p];
      ckt_valid_n[e] = 1'b1;
      ckt_origin_n[e] = ORIGIN_LOCAL;
      ok = 1'b1;
    end
  endtask

  task automatic command(logic [PI-1:0] p, word_t wd, inout logic [RSP_W-1:0] rsp);
    logic [CMM_CMD_OP_BITS-1:0] op;
    logic [CMM_CMD_EP_BITS-1:0] ep;
    logic [EPI-1:0] e;
    logic [PART_ID_BITS-1:0] part;
    reason_e r;
    logic exc, owned, ok, found, any;
    logic [CMM_CMD_STATUS_COUNT_BITS-1:0] cnt;
    word_t st;
    hdr_v h;
    part = PART_ID_BITS'(p);
    op = wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS];
    ep = wd[CMM_CMD_EP_LSB +: CMM_CMD_EP_BITS];
    e = ep[EPI-1:0];
    r = REASON_OK;
    exc = 1'b0;
    ok = 1'b0;
    found = 1'b0;
    any = 1'b0;
    h = '0;
    // need_owned(): operand in range and owned by the requester's partition (I5).
    owned = 1'b0;
    if (ep >= CMM_CMD_EP_BITS'(NEP)) r = REASON_BAD_EP;
    else if (cst_state_n[e] == STATE_FREE || cst_owner_part_n[e] != part) r = REASON_DENIED;
    else owned = 1'b1;

    unique case (op)
      CMM_CMD_OP_BITS'(CMD_NOP): r = REASON_OK;
      CMM_CMD_OP_BITS'(CMD_ALLOC): begin
        r = REASON_OK;
        if (used_n[p] >= USED_W'(cfg_quota_i[p*QUO_W +: QUO_W])) r = REASON_QUOTA_EXCEEDED;
        else begin
          for (int i = 0; i < NEP; i++)
            if (!found && cst_state_n[i] == STATE_FREE) begin
              found = 1'b1;
              e = EPI'(i);
            end
          if (!found) r = REASON_NO_FREE_EP;
          else begin
            reset_entry(e);
            cst_state_n[e] = STATE_ALLOCATED;
            cst_owner_part_n[e] = part;
            used_n[p] = used_n[p] + 1'b1;
            ep = CMM_CMD_EP_BITS'(e);
          end
        end
      end
      CMM_CMD_OP_BITS'(CMD_AUTHORIZE):
        if (owned) begin
          if (cst_state_n[e] != STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else cst_state_n[e] = STATE_AUTHORIZED;
        end
      CMM_CMD_OP_BITS'(CMD_SET_KEY):
        if (owned) store_local_key(p, e, 1'b0, r, exc, ok);
      CMM_CMD_OP_BITS'(CMD_CONNECT):
        if (owned) begin
          store_local_key(p, e, 1'b1, r, exc, ok);
          if (ok) begin
            h = make_hdr(OP_CONNECT, part, ep, cst_rnode_n[e], cst_rpart_n[e], cst_rep_n[e], cfg_node_id_i);
            `CMM_H(h, KEY) = ckt_key_n[e];
            push_egq(1'b0, h);
            cst_state_n[e] = STATE_CONNECTING;
            bump_stat(STAT_CONNECT_SENT);
          end
        end
      CMM_CMD_OP_BITS'(CMD_CLOSE):
        if (owned) begin
          if (cst_state_n[e] == STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else begin
            if (cst_state_n[e] == STATE_CONNECTING || cst_state_n[e] == STATE_OPEN) begin
              push_egq(1'b0, make_hdr(OP_CLOSE, part, ep, cst_rnode_n[e], cst_rpart_n[e], cst_rep_n[e],
                                      cfg_node_id_i));
              bump_stat(STAT_CLOSE_SENT);
            end
            zeroize(e);
            flush_rxq(e, any);
            if (any) log_error(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            cst_state_n[e] = STATE_ALLOCATED;
          end
        end
      CMM_CMD_OP_BITS'(CMD_FREE):
        if (owned) begin
          if (cst_state_n[e] != STATE_ALLOCATED && cst_state_n[e] != STATE_CLOSED) r = REASON_NOT_OPEN;
          else begin
            flush_rxq(e, any);
            if (any) log_error(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            reset_entry(e);
            used_n[p] = used_n[p] - 1'b1;
          end
        end
      CMM_CMD_OP_BITS'(CMD_MGMT_SEND): begin
        r = REASON_OK;
        h = make_hdr(OP_MGMT, part, '0,
                     mgmt_dst_n[p][CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS],
                     mgmt_dst_n[p][CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS], '0, cfg_node_id_i);
        `CMM_H(h, KEY) = mgmt_tx_n[p];
        push_egq(1'b0, h);
        bump_stat(STAT_MGMT_SENT);
      end
      CMM_CMD_OP_BITS'(CMD_MGMT_POP): begin
        r = REASON_OK;
        if (mq_count_n[p] == '0) r = REASON_RXQ_EMPTY;
        else begin
          mq_head_n[p] = MQ_IW'((32'(mq_head_n[p]) + 1) % MGMTQ_DEPTH);
          mq_count_n[p] = mq_count_n[p] - MQ_CW'(1);
        end
      end
      CMM_CMD_OP_BITS'(CMD_ERRLOG_POP): begin
        r = REASON_OK;
        if (el_count_n[p] == '0) r = REASON_RXQ_EMPTY;
        else begin
          el_head_n[p] = EL_IW'((32'(el_head_n[p]) + 1) % ERRLOG_DEPTH);
          el_count_n[p] = el_count_n[p] - EL_CW'(1);
        end
      end
      default: r = REASON_BAD_CMD;
    endcase

    key_stage_n[p] = '0;  // a staged key never outlives one command
    cnt = cmd_status_n[p][CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] + 1'b1;
    st = '0;
    st[CMM_CMD_STATUS_REASON_LSB +: CMM_CMD_STATUS_REASON_BITS] = CMM_CMD_STATUS_REASON_BITS'(r);
    st[CMM_CMD_STATUS_EP_LSB +: CMM_CMD_STATUS_EP_BITS] = ep;
    st[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] = cnt;
    cmd_status_n[p] = st;
    if (r != REASON_OK) begin
      count_reject(r);
      rsp = RSP_REJECT;
      if (exc || r == REASON_DENIED) log_error(part, RSN_W'(r), ep, '0, 1'b0, exc, cfg_node_id_i);
    end
  endtask

  task automatic decerr(logic [PART_ID_BITS-1:0] part, inout logic [RSP_W-1:0] rsp);
    count_reject(REASON_BAD_ADDR);
    log_error(part, RSN_W'(REASON_BAD_ADDR), '0, '0, 1'b0, 1'b0, cfg_node_id_i);
    rsp = RSP_DECERR;
  endtask

  task automatic denied(logic [PART_ID_BITS-1:0] part, logic [EPI-1:0] e, inout logic [RSP_W-1:0] rsp);
    count_reject(REASON_DENIED);
    log_error(part, RSN_W'(REASON_DENIED), EP_ID_BITS'(e), '0, 1'b0, 1'b0, cfg_node_id_i);
    rsp = RSP_DENIED;
  endtask

  // Is a within register array [off, off + count*stride)?
  function automatic logic in_array(logic [CMM_ADDR_BITS-1:0] a, logic [CMM_ADDR_BITS-1:0] off, int count,
                                    int stride);
    in_array = a >= off && a < off + CMM_ADDR_BITS'(count * stride);
  endfunction

  // Kernel bank (banked by requester partition) and node-wide counters.
  task automatic kernel_bank(logic [CMM_ADDR_BITS-1:0] a, logic [PI-1:0] p, logic kernel, logic wr,
                             word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic known, ro, is_key, is_mtx, is_mrx, is_rej, is_stat;
    int i;
    logic [PART_ID_BITS-1:0] part;
    part = PART_ID_BITS'(p);
    is_key  = in_array(a, CMM_KEY_OFFSET, CMM_KEY_COUNT, CMM_KEY_STRIDE);
    is_mtx  = in_array(a, CMM_MGMT_TX_OFFSET, CMM_MGMT_TX_COUNT, CMM_MGMT_TX_STRIDE);
    is_mrx  = in_array(a, CMM_MGMT_RX_OFFSET, CMM_MGMT_RX_COUNT, CMM_MGMT_RX_STRIDE);
    is_rej  = in_array(a, CMM_REJECT_COUNT_OFFSET, CMM_REJECT_COUNT_COUNT, CMM_REJECT_COUNT_STRIDE);
    is_stat = in_array(a, CMM_STAT_OFFSET, CMM_STAT_COUNT, CMM_STAT_STRIDE);
    ro = a == CMM_PART_INFO_OFFSET || a == CMM_CMD_STATUS_OFFSET || a == CMM_MGMT_RX_STATUS_OFFSET ||
         is_mrx || a == CMM_ERRLOG_STATUS_OFFSET || a == CMM_ERRLOG_HEAD_OFFSET || is_rej || is_stat;
    known = ro || is_key || is_mtx || a == CMM_CMD_OFFSET || a == CMM_IRQ_STATUS_OFFSET ||
            a == CMM_IRQ_ENABLE_OFFSET || a == CMM_MGMT_DST_OFFSET;
    i = 0;
    if (is_key) i = (32'(a) - 32'(CMM_KEY_OFFSET)) / CMM_KEY_STRIDE;
    if (is_mtx) i = (32'(a) - 32'(CMM_MGMT_TX_OFFSET)) / CMM_MGMT_TX_STRIDE;
    if (is_mrx) i = (32'(a) - 32'(CMM_MGMT_RX_OFFSET)) / CMM_MGMT_RX_STRIDE;
    if (is_rej) i = (32'(a) - 32'(CMM_REJECT_COUNT_OFFSET)) / CMM_REJECT_COUNT_STRIDE;
    if (is_stat) i = (32'(a) - 32'(CMM_STAT_OFFSET)) / CMM_STAT_STRIDE;

    if (!known) decerr(part, rsp);
    else if (!kernel) denied(part, '0, rsp);
    else if (wr && ro) begin
      count_reject(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (!wr) begin
      // The read mux has no CKT input and KEY staging is write-only: I1 by construction.
      if (a == CMM_PART_INFO_OFFSET) begin
        rd[CMM_PART_INFO_PART_LSB +: CMM_PART_INFO_PART_BITS] = part;
        rd[CMM_PART_INFO_QUOTA_LSB +: CMM_PART_INFO_QUOTA_BITS] = cfg_quota_i[p*QUO_W +: QUO_W];
        rd[CMM_PART_INFO_USED_LSB +: CMM_PART_INFO_USED_BITS] = used_n[p];
      end else if (a == CMM_CMD_STATUS_OFFSET) begin
        rd = cmd_status_n[p];
      end else if (a == CMM_IRQ_STATUS_OFFSET) begin
        rd = DW'(irq_status_n[p]);
      end else if (a == CMM_IRQ_ENABLE_OFFSET) begin
        rd = DW'(irq_enable_n[p]);
      end else if (is_mtx) begin
        rd = mgmt_tx_n[p][i*DW +: DW];
      end else if (a == CMM_MGMT_DST_OFFSET) begin
        rd = mgmt_dst_n[p];
      end else if (a == CMM_MGMT_RX_STATUS_OFFSET) begin
        rd[CMM_MGMT_RX_STATUS_COUNT_LSB +: CMM_MGMT_RX_STATUS_COUNT_BITS] =
            CMM_MGMT_RX_STATUS_COUNT_BITS'(mq_count_n[p]);
        if (mq_count_n[p] != '0) begin
          rd[CMM_MGMT_RX_STATUS_SRC_NODE_LSB +: CMM_MGMT_RX_STATUS_SRC_NODE_BITS] = mq_src_node_n[p][mq_head_n[p]];
          rd[CMM_MGMT_RX_STATUS_SRC_PART_LSB +: CMM_MGMT_RX_STATUS_SRC_PART_BITS] = mq_src_part_n[p][mq_head_n[p]];
        end
      end else if (is_mrx) begin
        if (mq_count_n[p] != '0) rd = mq_words_n[p][mq_head_n[p]][i*DW +: DW];
      end else if (a == CMM_ERRLOG_STATUS_OFFSET) begin
        rd[CMM_ERRLOG_STATUS_COUNT_LSB +: CMM_ERRLOG_STATUS_COUNT_BITS] = CMM_ERRLOG_STATUS_COUNT_BITS'(el_count_n[p]);
        rd[CMM_ERRLOG_STATUS_LOST_LSB +: CMM_ERRLOG_STATUS_LOST_BITS] = el_lost_n[p];
      end else if (a == CMM_ERRLOG_HEAD_OFFSET) begin
        if (el_count_n[p] != '0) rd = el_n[p][el_head_n[p]];
      end else if (is_rej) begin
        if (i < REASON_COUNT) rd = rej_n[i];
      end else if (is_stat) begin
        rd = stat_n[i];
      end
      // KEY and CMD read as 0.
    end else begin
      if (is_key) key_stage_n[p][i*DW +: DW] = wd;
      else if (a == CMM_CMD_OFFSET) command(p, wd, rsp);
      else if (a == CMM_IRQ_STATUS_OFFSET) irq_status_n[p] = irq_status_n[p] & ~wd[IRQ_BITS-1:0];
      else if (a == CMM_IRQ_ENABLE_OFFSET) irq_enable_n[p] = wd[CMM_IRQ_ENABLE_BITS_LSB +: CMM_IRQ_ENABLE_BITS_BITS];
      else if (a == CMM_MGMT_DST_OFFSET) begin
        mgmt_dst_n[p] = '0;
        mgmt_dst_n[p][CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS] = wd[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS];
        mgmt_dst_n[p][CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS] = wd[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS];
      end else mgmt_tx_n[p][i*DW +: DW] = wd;
    end
  endtask

  // CST window: kernel agent of the owning partition only (I5).
  task automatic cst_window(logic [CMM_ADDR_BITS-1:0] a, logic [PART_ID_BITS-1:0] part, logic kernel,
                            logic wr, word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic [EPI-1:0] e;
    int off;
    logic [CMM_CST_REMOTE_PART_BITS-1:0] rp;
    logic [CMM_CST_REMOTE_EP_BITS-1:0] re;
    e = EPI'((32'(a) - 32'(CMM_CST_BASE)) / CMM_CST_STRIDE);
    off = (32'(a) - 32'(CMM_CST_BASE)) % CMM_CST_STRIDE;
    rp = wd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS];
    re = wd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS];
    if (!kernel || cst_state_n[e] == STATE_FREE || cst_owner_part_n[e] != part) denied(part, e, rsp);
    else if (!wr) begin
      if (off == CMM_CST_CTRL_OFFSET) begin
        rd[CMM_CST_CTRL_DIR_LSB +: CMM_CST_CTRL_DIR_BITS] = cst_dir_n[e];
        rd[CMM_CST_CTRL_STATE_LSB +: CMM_CST_CTRL_STATE_BITS] = cst_state_n[e];
        rd[CMM_CST_CTRL_KEY_VALID_LSB +: CMM_CST_CTRL_KEY_VALID_BITS] = ckt_valid_n[e];   // valid bit only, never key bits
        rd[CMM_CST_CTRL_KEY_ORIGIN_LSB +: CMM_CST_CTRL_KEY_ORIGIN_BITS] = ckt_origin_n[e];
        rd[CMM_CST_CTRL_OWNER_PART_LSB +: CMM_CST_CTRL_OWNER_PART_BITS] = cst_owner_part_n[e];
      end else if (off == CMM_CST_OWNER_OFFSET) begin
        rd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS] = cst_owner_pid_n[e];
      end else if (off == CMM_CST_REMOTE_OFFSET) begin
        rd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS] = cst_rnode_n[e];
        rd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS] = cst_rpart_n[e];
        rd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS] = cst_rep_n[e];
      end else begin
        rd[CMM_CST_STATUS_RXQ_COUNT_LSB +: CMM_CST_STATUS_RXQ_COUNT_BITS] =
            CMM_CST_STATUS_RXQ_COUNT_BITS'(cst_rxq_count_n[e]);
        rd[CMM_CST_STATUS_LAST_REASON_LSB +: CMM_CST_STATUS_LAST_REASON_BITS] = cst_last_reason_n[e];
        rd[CMM_CST_STATUS_TX_NACKS_LSB +: CMM_CST_STATUS_TX_NACKS_BITS] = cst_tx_nacks_n[e];
      end
    end else if (off == CMM_CST_STATUS_OFFSET) begin
      count_reject(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (cst_state_n[e] != STATE_ALLOCATED) begin
      count_reject(REASON_NOT_OPEN);
      rsp = RSP_REJECT;
    end else if (off == CMM_CST_CTRL_OFFSET) begin
      cst_dir_n[e] = wd[CMM_CST_CTRL_DIR_LSB];
    end else if (off == CMM_CST_OWNER_OFFSET) begin
      cst_owner_pid_n[e] = wd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS];
    end else begin
      if (rp >= CMM_CST_REMOTE_PART_BITS'(NPART) || re >= CMM_CST_REMOTE_EP_BITS'(NEP)) begin
        count_reject(REASON_BAD_FIELD);
        rsp = RSP_REJECT;
      end else begin
        cst_rnode_n[e] = wd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS];
        cst_rpart_n[e] = rp;
        cst_rep_n[e] = re;
      end
    end
  endtask

  // Endpoint pages: the owning process, or the kernel agent of its partition (I5).
  task automatic ep_page(logic [CMM_ADDR_BITS-1:0] a, logic [PART_ID_BITS-1:0] part, logic kernel,
                         logic wr, word_t wd, inout word_t rd, inout logic [RSP_W-1:0] rsp);
    logic [EPI-1:0] e;
    int off;
    logic in_tx, in_rx, known, is_cmd;
    e = EPI'((32'(a) - 32'(CMM_EP_BASE)) / CMM_EP_STRIDE);
    off = (32'(a) - 32'(CMM_EP_BASE)) % CMM_EP_STRIDE;
    in_tx = off >= CMM_TX_BUF_OFFSET && off < CMM_TX_BUF_OFFSET + CMM_TX_BUF_BYTES;
    in_rx = off >= CMM_RX_BUF_OFFSET && off < CMM_RX_BUF_OFFSET + CMM_RX_BUF_BYTES;
    is_cmd = off == CMM_EP_DOORBELL_OFFSET || off == CMM_EP_RX_POP_OFFSET;
    known = in_tx || in_rx || is_cmd || off == CMM_EP_TX_STATUS_OFFSET || off == CMM_EP_TX_SENT_OFFSET ||
            off == CMM_EP_RX_STATUS_OFFSET || off == CMM_EP_RX_TAG_OFFSET;
    if (!known) decerr(part, rsp);
    else if (cst_state_n[e] == STATE_FREE || cst_owner_part_n[e] != part ||
             (!kernel && reg_req_pid_i != cst_owner_pid_n[e]))
      denied(part, e, rsp);
    else if (in_tx) begin
      if (!wr) decerr(part, rsp);
      else rsp_buf_n = 1'b1;
    end else if (in_rx) begin
      if (wr) decerr(part, rsp);
      else if (cst_rxq_count_n[e] == '0) begin
        count_reject(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        rsp_buf_n = 1'b1;
        rsp_slot_n = SLOT_W'(cst_rxq_head_n[e]);
      end
    end else if (wr != is_cmd) begin
      if (wr) begin
        count_reject(REASON_READ_ONLY);
        rsp = RSP_REJECT;
      end
      // Command registers read as 0.
    end else if (off == CMM_EP_DOORBELL_OFFSET) begin
      doorbell(e, wd, rsp);
    end else if (off == CMM_EP_RX_POP_OFFSET) begin
      if (cst_rxq_count_n[e] == '0) begin
        count_reject(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        cst_rxq_head_n[e] = RXQ_IW'((32'(cst_rxq_head_n[e]) + 1) % RXQ_DEPTH);
        cst_rxq_count_n[e] = cst_rxq_count_n[e] - RXQ_CW'(1);
      end
    end else if (off == CMM_EP_TX_STATUS_OFFSET) begin
      rd[CMM_EP_TX_STATUS_LAST_REASON_LSB +: CMM_EP_TX_STATUS_LAST_REASON_BITS] = cst_tx_last_reason_n[e];
      rd[CMM_EP_TX_STATUS_NACKS_LSB +: CMM_EP_TX_STATUS_NACKS_BITS] =
          (cst_tx_nacks_n[e] > CMM_CST_STATUS_TX_NACKS_BITS'({CMM_EP_TX_STATUS_NACKS_BITS{1'b1}}))
              ? '1 : cst_tx_nacks_n[e][CMM_EP_TX_STATUS_NACKS_BITS-1:0];  // saturates
      rd[CMM_EP_TX_STATUS_LAST_TAG_LSB +: CMM_EP_TX_STATUS_LAST_TAG_BITS] = cst_tx_last_tag_n[e];
    end else if (off == CMM_EP_TX_SENT_OFFSET) begin
      rd[CMM_EP_TX_SENT_COUNT_LSB +: CMM_EP_TX_SENT_COUNT_BITS] = cst_tx_sent_n[e];
    end else if (off == CMM_EP_RX_STATUS_OFFSET) begin
      rd[CMM_EP_RX_STATUS_COUNT_LSB +: CMM_EP_RX_STATUS_COUNT_BITS] =
          CMM_EP_RX_STATUS_COUNT_BITS'(cst_rxq_count_n[e]);
      rd[CMM_EP_RX_STATUS_SLOT_LSB +: CMM_EP_RX_STATUS_SLOT_BITS] = CMM_EP_RX_STATUS_SLOT_BITS'(cst_rxq_head_n[e]);
      if (cst_rxq_count_n[e] != '0)
        rd[CMM_EP_RX_STATUS_LEN_LSB +: CMM_EP_RX_STATUS_LEN_BITS] = rxq_len_n[e][cst_rxq_head_n[e]];
    end else if (off == CMM_EP_RX_TAG_OFFSET) begin
      if (cst_rxq_count_n[e] != '0)
        rd[CMM_EP_RX_TAG_TAG_LSB +: CMM_EP_RX_TAG_TAG_BITS] = rxq_tag_n[e][cst_rxq_head_n[e]];
    end
  endtask

  // One register access (decode, I5 check, execute); sets the response pulse.
  task automatic reg_access();
    logic [CMM_ADDR_BITS-1:0] a;
    logic [PART_ID_BITS-1:0] part;
    logic [PI-1:0] p;
    logic kernel, wr;
    word_t wd, rd;
    logic [RSP_W-1:0] rsp;
    a = reg_req_addr_i;
    part = reg_req_part_i;
    p = part[PI-1:0];
    kernel = reg_req_priv_i == PRIV_KERNEL;
    wr = reg_req_write_i;
    wd = reg_req_wdata_i;
    rd = '0;
    rsp = RSP_OK;

    if (a[1:0] != 2'b00) begin
      decerr(part, rsp);
    end else if (part >= PART_ID_BITS'(NPART)) begin
      count_reject(REASON_DENIED);
      rsp = RSP_DENIED;
    end else if (a == CMM_ID_OFFSET || a == CMM_NODE_ID_OFFSET || a == CMM_GEOMETRY_OFFSET) begin
      // Global registers readable by anyone.
      if (wr) begin
        count_reject(REASON_READ_ONLY);
        rsp = RSP_REJECT;
      end else if (a == CMM_ID_OFFSET) begin
        rd = CMM_MAGIC;
      end else if (a == CMM_NODE_ID_OFFSET) begin
        rd[CMM_NODE_ID_NODE_LSB +: CMM_NODE_ID_NODE_BITS] = cfg_node_id_i;
      end else begin
        rd[CMM_GEOMETRY_NUM_EP_LSB +: CMM_GEOMETRY_NUM_EP_BITS] = CMM_GEOMETRY_NUM_EP_BITS'(NEP);
        rd[CMM_GEOMETRY_NUM_PART_LSB +: CMM_GEOMETRY_NUM_PART_BITS] = CMM_GEOMETRY_NUM_PART_BITS'(NPART);
        rd[CMM_GEOMETRY_RXQ_DEPTH_LSB +: CMM_GEOMETRY_RXQ_DEPTH_BITS] = CMM_GEOMETRY_RXQ_DEPTH_BITS'(RXQ_DEPTH);
        rd[CMM_GEOMETRY_KEY_WORDS_LSB +: CMM_GEOMETRY_KEY_WORDS_BITS] = CMM_GEOMETRY_KEY_WORDS_BITS'(KEY_WORDS);
      end
    end else if (a < CMM_CST_BASE) begin
      kernel_bank(a, p, kernel, wr, wd, rd, rsp);
    end else if (a < CMM_CST_BASE + CMM_ADDR_BITS'(NEP * CMM_CST_STRIDE)) begin
      cst_window(a, part, kernel, wr, wd, rd, rsp);
    end else if (a >= CMM_EP_BASE && a < CMM_EP_BASE + CMM_ADDR_BITS'(NEP * CMM_EP_STRIDE)) begin
      ep_page(a, part, kernel, wr, wd, rd, rsp);
    end else begin
      decerr(part, rsp);
    end
    rsp_valid_n = 1'b1;
    rsp_rdata_n = (rsp == RSP_OK) ? rd : '0;
    rsp_status_n = rsp;
  endtask

  // ------------------------------------------------------------------ next state
  always_comb begin : p_next
    // Default: hold (element by element: yosys 0.23 has no whole-array copy).
    for (int e = 0; e < NEP; e++) begin
      cst_state_n[e] = cst_state_q[e];           cst_dir_n[e] = cst_dir_q[e];
      cst_owner_part_n[e] = cst_owner_part_q[e]; cst_owner_pid_n[e] = cst_owner_pid_q[e];
      cst_rnode_n[e] = cst_rnode_q[e];           cst_rpart_n[e] = cst_rpart_q[e];
      cst_rep_n[e] = cst_rep_q[e];               cst_last_reason_n[e] = cst_last_reason_q[e];
      cst_tx_nacks_n[e] = cst_tx_nacks_q[e];     cst_tx_last_reason_n[e] = cst_tx_last_reason_q[e];
      cst_tx_last_tag_n[e] = cst_tx_last_tag_q[e]; cst_tx_sent_n[e] = cst_tx_sent_q[e];
      cst_rxq_head_n[e] = cst_rxq_head_q[e];     cst_rxq_count_n[e] = cst_rxq_count_q[e];
      for (int s = 0; s < RXQ_DEPTH; s++) begin
        rxq_len_n[e][s] = rxq_len_q[e][s];
        rxq_tag_n[e][s] = rxq_tag_q[e][s];
      end
      ckt_key_n[e] = ckt_key_q[e];
    end
    ckt_valid_n = ckt_valid_q;   ckt_origin_n = ckt_origin_q;
    for (int p = 0; p < NPART; p++) begin
      key_stage_n[p] = key_stage_q[p];   cmd_status_n[p] = cmd_status_q[p];
      irq_status_n[p] = irq_status_q[p]; irq_enable_n[p] = irq_enable_q[p];
      mgmt_tx_n[p] = mgmt_tx_q[p];       mgmt_dst_n[p] = mgmt_dst_q[p];
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_n[p][s] = mq_src_node_q[p][s];
        mq_src_part_n[p][s] = mq_src_part_q[p][s];
        mq_words_n[p][s] = mq_words_q[p][s];
      end
      mq_head_n[p] = mq_head_q[p];       mq_count_n[p] = mq_count_q[p];
      for (int s = 0; s < ERRLOG_DEPTH; s++) el_n[p][s] = el_q[p][s];
      el_head_n[p] = el_head_q[p];       el_count_n[p] = el_count_q[p];
      el_lost_n[p] = el_lost_q[p];       used_n[p] = used_q[p];
    end
    for (int r = 0; r < REASON_COUNT; r++) rej_n[r] = rej_q[r];
    for (int s = 0; s < CMM_STAT_COUNT; s++) stat_n[s] = stat_q[s];
    s1_valid_n = s1_valid_q; s1_n = s1_q;
    for (int c = 0; c < 2; c++) begin
      for (int s = 0; s < EGQ_DEPTH; s++) egq_n[c][s] = egq_q[c][s];
      egq_head_n[c] = egq_head_q[c];
      egq_count_n[c] = egq_count_q[c];
    end
    vd_accept_n = vd_accept_q; vd_ep_n = vd_ep_q; vd_slot_n = vd_slot_q; vd_reason_n = vd_reason_q;

    // 1. Egress pop.
    if (eg_valid_o && eg_ready_i) begin
      egq_head_n[eg_cls_o] = EGQ_IW'((32'(egq_head_q[eg_cls_o]) + 1) % EGQ_DEPTH);
      egq_count_n[eg_cls_o] = egq_count_q[eg_cls_o] - EGQ_CW'(1);
    end
    // 2. One-cycle pulses clear.
    rsp_valid_n = 1'b0;
    rsp_rdata_n = '0;
    rsp_status_n = RSP_OK;
    rsp_buf_n = 1'b0;
    rsp_slot_n = '0;
    vd_valid_n = 1'b0;
    // 3. Ingress commit (S2): verify against the tables as they are now.
    if (s1_valid_q) ingress(s1_q);
    // 4. Ingress accept (S1). The port is exactly the field widths: no masking needed.
    s1_valid_n = ing_valid_i && ing_ready_o;
    if (ing_valid_i && ing_ready_o) s1_n = ing_hdr_i;
    // 5. Register access: sees the effects of step 3.
    if (reg_req_valid_i && reg_req_ready_o) reg_access();

    // Synchronous reset: the next state is the power-up state. Queue/slot
    // storage (rxq, mq, el, egq, s1) is not cleared: it is only visible below
    // its count, and every count resets.
    if (!rst_ni) begin
      for (int e = 0; e < NEP; e++) begin
        cst_state_n[e] = '0;          cst_dir_n[e] = '0;
        cst_owner_part_n[e] = '0;     cst_owner_pid_n[e] = '0;
        cst_rnode_n[e] = '0;          cst_rpart_n[e] = '0;          cst_rep_n[e] = '0;
        cst_last_reason_n[e] = '0;    cst_tx_nacks_n[e] = '0;
        cst_tx_last_reason_n[e] = '0; cst_tx_last_tag_n[e] = '0;    cst_tx_sent_n[e] = '0;
        cst_rxq_head_n[e] = '0;       cst_rxq_count_n[e] = '0;
        ckt_key_n[e] = '0;
      end
      ckt_valid_n = '0;
      ckt_origin_n = '0;
      for (int p = 0; p < NPART; p++) begin
        key_stage_n[p] = '0;  cmd_status_n[p] = '0;
        irq_status_n[p] = '0; irq_enable_n[p] = '0;
        mgmt_tx_n[p] = '0;    mgmt_dst_n[p] = '0;
        mq_head_n[p] = '0;    mq_count_n[p] = '0;
        el_head_n[p] = '0;    el_count_n[p] = '0;
        el_lost_n[p] = '0;    used_n[p] = '0;
      end
      for (int r = 0; r < REASON_COUNT; r++) rej_n[r] = '0;
      for (int s = 0; s < CMM_STAT_COUNT; s++) stat_n[s] = '0;
      s1_valid_n = 1'b0;
      for (int c = 0; c < 2; c++) begin
        egq_head_n[c] = '0;
        egq_count_n[c] = '0;
      end
      rsp_valid_n = 1'b0; rsp_rdata_n = '0; rsp_status_n = RSP_OK; rsp_buf_n = 1'b0; rsp_slot_n = '0;
      vd_valid_n = 1'b0;  vd_accept_n = 1'b0; vd_ep_n = '0; vd_slot_n = '0; vd_reason_n = '0;
    end
  end

  // ------------------------------------------------------------------ flops
  always_ff @(posedge clk) begin : p_flops
    for (int e = 0; e < NEP; e++) begin
      cst_state_q[e] <= cst_state_n[e];           cst_dir_q[e] <= cst_dir_n[e];
      cst_owner_part_q[e] <= cst_owner_part_n[e]; cst_owner_pid_q[e] <= cst_owner_pid_n[e];
      cst_rnode_q[e] <= cst_rnode_n[e];           cst_rpart_q[e] <= cst_rpart_n[e];
      cst_rep_q[e] <= cst_rep_n[e];               cst_last_reason_q[e] <= cst_last_reason_n[e];
      cst_tx_nacks_q[e] <= cst_tx_nacks_n[e];     cst_tx_last_reason_q[e] <= cst_tx_last_reason_n[e];
      cst_tx_last_tag_q[e] <= cst_tx_last_tag_n[e]; cst_tx_sent_q[e] <= cst_tx_sent_n[e];
      cst_rxq_head_q[e] <= cst_rxq_head_n[e];     cst_rxq_count_q[e] <= cst_rxq_count_n[e];
      for (int s = 0; s < RXQ_DEPTH; s++) begin
        rxq_len_q[e][s] <= rxq_len_n[e][s];
        rxq_tag_q[e][s] <= rxq_tag_n[e][s];
      end
      ckt_key_q[e] <= ckt_key_n[e];
    end
    ckt_valid_q <= ckt_valid_n;  ckt_origin_q <= ckt_origin_n;
    for (int p = 0; p < NPART; p++) begin
      key_stage_q[p] <= key_stage_n[p];   cmd_status_q[p] <= cmd_status_n[p];
      irq_status_q[p] <= irq_status_n[p]; irq_enable_q[p] <= irq_enable_n[p];
      mgmt_tx_q[p] <= mgmt_tx_n[p];       mgmt_dst_q[p] <= mgmt_dst_n[p];
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_q[p][s] <= mq_src_node_n[p][s];
        mq_src_part_q[p][s] <= mq_src_part_n[p][s];
        mq_words_q[p][s] <= mq_words_n[p][s];
      end
      mq_head_q[p] <= mq_head_n[p];       mq_count_q[p] <= mq_count_n[p];
      for (int s = 0; s < ERRLOG_DEPTH; s++) el_q[p][s] <= el_n[p][s];
      el_head_q[p] <= el_head_n[p];       el_count_q[p] <= el_count_n[p];
      el_lost_q[p] <= el_lost_n[p];       used_q[p] <= used_n[p];
    end
    for (int r = 0; r < REASON_COUNT; r++) rej_q[r] <= rej_n[r];
    for (int s = 0; s < CMM_STAT_COUNT; s++) stat_q[s] <= stat_n[s];
    s1_valid_q <= s1_valid_n; s1_q <= s1_n;
    for (int c = 0; c < 2; c++) begin
      for (int s = 0; s < EGQ_DEPTH; s++) egq_q[c][s] <= egq_n[c][s];
      egq_head_q[c] <= egq_head_n[c];
      egq_count_q[c] <= egq_count_n[c];
    end
    rsp_valid_q <= rsp_valid_n; rsp_rdata_q <= rsp_rdata_n; rsp_status_q <= rsp_status_n;
    rsp_buf_q <= rsp_buf_n;   rsp_slot_q <= rsp_slot_n;
    vd_valid_q <= vd_valid_n; vd_accept_q <= vd_accept_n;  vd_ep_q <= vd_ep_n;
    vd_slot_q <= vd_slot_n;   vd_reason_q <= vd_reason_n;
  end

endmodule

`undef CMM_H
