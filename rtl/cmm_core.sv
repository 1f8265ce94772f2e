// CMM core, synthesizable SystemVerilog. Same ports and cycle behaviour as
// cmm::CmmCore (hw/src/cmm_core.{h,cpp}); the contract is docs/core-interface.md.
//
// Structure (see docs/rtl.md):
//   * state registers (*_q), written only by the single flop process p_flops;
//   * combinational next-state logic that gives the result of applying, in
//     this order, exactly like CmmCore::step():
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
//     next state is the power-up state while rst_ni is low).

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
  // ---- Combinational intermediates (see "next state" below and docs/rtl.md).
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
  logic [KEY_BITS-1:0]                          ckt_key_m [NEP];
  logic [NEP-1:0]                               ckt_valid_m, ckt_origin_m;
  word_t                                        rej_m [REASON_COUNT];
  word_t                                        stat_m [CMM_STAT_COUNT];
  logic [IRQ_BITS-1:0]                          irq_status_m [NPART];
  word_t                                        el_m [NPART][ERRLOG_DEPTH];
  logic [EL_CW-1:0]                             el_count_m [NPART];
  logic [CMM_ERRLOG_STATUS_LOST_BITS-1:0]       el_lost_m [NPART];
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
  // Events of the ingress commit (p_ing), applied to the tables by p_mid_*.
  logic                  ev_i_rej_v;                  // one reject count
  rsn_t                  ev_i_rej_r;
  logic                  ev_i_stat_v;                 // one STAT count
  logic [STAT_IW-1:0]    ev_i_stat_i;
  logic [PART_ID_BITS-1:0] ev_i_irq_part;             // IRQ causes raised (one partition)
  logic [IRQ_BITS-1:0]   ev_i_irq_mask;
  logic                  ev_i_log_v;                  // one error-log entry (+ IRQ ERR)
  logic [PART_ID_BITS-1:0] ev_i_log_part;
  word_t                 ev_i_log_w;
  logic                  ev_i_eg_v;                   // one response-class egress header:
  logic                  ev_i_eg_ack;                 //   CONNECT_ACK, else NACK with reason ev_i_eg_r
  logic [HDR_REASON_BITS-1:0] ev_i_eg_r;
  logic                  ev_i_mq_v;                   // one management message received
  logic [PI-1:0]         ev_i_mq_part;
  logic [NODE_ID_BITS-1:0] ev_i_mq_node;
  logic [PART_ID_BITS-1:0] ev_i_mq_spart;
  logic [KEY_BITS-1:0]   ev_i_mq_words;
  // Events of the register access (p_reg), applied by p_fin_*.
  logic                  ev_r_rej_v;                  // one reject count
  rsn_t                  ev_r_rej_r;
  logic [RXQ_CW-1:0]     ev_r_flush;                  // RXQ_FLUSHED counts of one CLOSE/FREE
  logic                  ev_r_stat_v;                 // one STAT count
  logic [STAT_IW-1:0]    ev_r_stat_i;
  logic                  ev_r_el_v;                   // one error-log word stored (partition wp_idx)
  logic [EL_IW-1:0]      ev_r_el_slot;
  word_t                 ev_r_el_w;
  logic                  ev_r_eg_v;                   // one request-class egress header:
  opc_t                  ev_r_eg_op;                  //   opcode, source partition and endpoint
  logic [PART_ID_BITS-1:0] ev_r_eg_sp;
  logic [EP_ID_BITS-1:0] ev_r_eg_se;
  hdr_v                  eg_rsp_h, eg_req_h;          // the headers of those events (p_eg_hdr)

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

  // An error-log word.
  function automatic word_t log_word(rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode, logic from_fabric,
                                     logic exception, logic [NODE_ID_BITS-1:0] src_node);
    word_t w;
    w = '0;
    w[CMM_ERRLOG_HEAD_REASON_LSB +: CMM_ERRLOG_HEAD_REASON_BITS] = r;
    w[CMM_ERRLOG_HEAD_EP_LSB +: CMM_ERRLOG_HEAD_EP_BITS] = ep;
    w[CMM_ERRLOG_HEAD_OPCODE_LSB +: CMM_ERRLOG_HEAD_OPCODE_BITS] = opcode;
    w[CMM_ERRLOG_HEAD_FROM_FABRIC_LSB] = from_fabric;
    w[CMM_ERRLOG_HEAD_EXCEPTION_LSB] = exception;
    w[CMM_ERRLOG_HEAD_SRC_NODE_LSB +: CMM_ERRLOG_HEAD_SRC_NODE_BITS] = src_node;
    log_word = w;
  endfunction

  // Side effects on the node-wide counters, the error logs, IRQ_STATUS, the
  // management queues and the egress queues are not written where they
  // happen: the step's tasks record them as *events* (at most one of each
  // kind per step; docs/rtl.md), and small processes with constant indices
  // apply them (p_mid_*: ingress events; p_fin_*: register-access events).
  // The one CST/CKT entry a step touches is a working copy (wi_* / wr_*), and
  // so is the requester partition's bank in the register access (wp_*).

  // ---- ingress-side effects (p_ing)
  task automatic count_reject_i(reason_e r);
    ev_i_rej_v = 1'b1;
    ev_i_rej_r = RSN_W'(r);
  endtask

  task automatic bump_stat_i(logic [STAT_IW-1:0] i);
    ev_i_stat_v = 1'b1;
    ev_i_stat_i = i;
  endtask

  task automatic raise_i(logic [PART_ID_BITS-1:0] part, logic [IRQ_BITS-1:0] cause);
    ev_i_irq_part = part;   // a part >= NPART matches no partition: no IRQ
    ev_i_irq_mask = cause;
  endtask

  // Room is guaranteed by ing_ready_o. The header is built by p_eg_hdr.
  task automatic push_ack();
    ev_i_eg_v = 1'b1;
    ev_i_eg_ack = 1'b1;
  endtask

  task automatic log_error_i(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                             logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    ev_i_log_v = 1'b1;      // a part >= NPART matches no partition: no log, no IRQ
    ev_i_log_part = part;
    ev_i_log_w = log_word(r, ep, opcode, from_fabric, exception, src_node);
  endtask

  // Count, then answer the source with NACK (never answer a response).
  task automatic nack(reason_e r);
    count_reject_i(r);
    if (`CMM_H(s1_q, OPCODE) != OP_NACK && `CMM_H(s1_q, OPCODE) != OP_CONNECT_ACK) begin
      ev_i_eg_v = 1'b1;     // header built by p_eg_hdr
      ev_i_eg_ack = 1'b0;
      ev_i_eg_r = HDR_REASON_BITS'(r);
      bump_stat_i(STAT_NACK_SENT);
    end
  endtask

  task automatic zeroize_i();
    wi_key = '0;
    wi_kvalid = 1'b0;
    wi_korigin = 1'b0;
  endtask

  // ---- register-side effects (p_reg)
  task automatic count_reject_r(reason_e r);
    ev_r_rej_v = 1'b1;
    ev_r_rej_r = RSN_W'(r);
  endtask

  task automatic bump_stat_r(logic [STAT_IW-1:0] i);
    ev_r_stat_v = 1'b1;
    ev_r_stat_i = i;
  endtask

  // Room is guaranteed by reg_req_ready_o. The header is built by p_eg_hdr
  // from the entry/partition copies, which the step does not change after
  // the push in any field the header carries.
  task automatic push_req(opc_t op, logic [PART_ID_BITS-1:0] sp, logic [EP_ID_BITS-1:0] se);
    ev_r_eg_v = 1'b1;
    ev_r_eg_op = op;
    ev_r_eg_sp = sp;
    ev_r_eg_se = se;
  endtask

  // The register side logs only into the requester's partition (wp_*).
  task automatic log_error_r(logic [PART_ID_BITS-1:0] part, rsn_t r, logic [EP_ID_BITS-1:0] ep, opc_t opcode,
                             logic from_fabric, logic exception, logic [NODE_ID_BITS-1:0] src_node);
    if (part < PART_ID_BITS'(NPART)) begin
      if (wp_el_count == EL_CW'(ERRLOG_DEPTH)) begin
        if (wp_el_lost != '1) wp_el_lost = wp_el_lost + 1'b1;
      end else begin
        ev_r_el_v = 1'b1;
        ev_r_el_slot = EL_IW'((32'(wp_el_head) + 32'(wp_el_count)) % ERRLOG_DEPTH);
        ev_r_el_w = log_word(r, ep, opcode, from_fabric, exception, src_node);
        wp_el_count = wp_el_count + EL_CW'(1);
      end
      wp_irq_status = wp_irq_status | IRQM_ERR;
    end
  endtask

  task automatic zeroize_r();
    wr_key = '0;
    wr_kvalid = 1'b0;
    wr_korigin = 1'b0;
  endtask

  // Discards the receive queue, one RXQ_FLUSHED count per message; returns whether any.
  task automatic flush_rxq(output logic any);
    any = wr_rxq_count != '0;
    ev_r_flush = wr_rxq_count;
    wr_rxq_count = '0;
    wr_rxq_head = '0;
  endtask

  // Every field of an entry to its power-up value (receive slots need no
  // clearing: only slots below rxq_count are visible).
  task automatic reset_entry();
    wr_state = '0;          wr_dir = '0;
    wr_owner_part = '0;     wr_owner_pid = '0;
    wr_rnode = '0;          wr_rpart = '0;          wr_rep = '0;
    wr_last_reason = '0;    wr_tx_nacks = '0;
    wr_tx_last_reason = '0; wr_tx_last_tag = '0;    wr_tx_sent = '0;
    wr_rxq_head = '0;       wr_rxq_count = '0;
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
    r = REASON_OK;
    tell = 1'b0;
    slot = '0;
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, LEN) == '0 || `CMM_H(s1_q, LEN) > MAX_LEN) r = REASON_BAD_LEN;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      tell = 1'b1;
      if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (wi_dir != DIR_RECV) r = REASON_WRONG_DIR;
      else if (wi_state != STATE_OPEN) r = REASON_NOT_OPEN;
      else if (!wi_kvalid) r = REASON_NO_KEY;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
      else if (`CMM_H(s1_q, KEY) != wi_key) r = REASON_BAD_KEY;  // full-width compare: constant time
      else if (wi_rxq_count >= RXQ_CW'(RXQ_DEPTH)) begin
        r = REASON_RXQ_FULL;   // the sender is told by NACK
        tell = 1'b0;
      end
    end
    vd_valid_n = 1'b1;
    vd_ep_n = `CMM_H(s1_q, DST_EP);
    vd_reason_n = RSN_W'(r);
    if (r != REASON_OK) begin
      vd_accept_n = 1'b0;
      vd_slot_n = '0;
      nack(r);
      if (tell) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                          `CMM_H(s1_q, SRC_NODE));
    end else begin
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
    end
  endtask

  task automatic ingress_connect();
    reason_e r;
    logic logit, exc;
    r = REASON_OK;
    logit = 1'b0;
    exc = 1'b0;
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (wi_dir == DIR_RECV) begin
        // I6: a remote CONNECT must not change a key the local agent set.
        if (wi_kvalid) begin
          r = REASON_KEY_LOCKED;
          exc = 1'b1;
        end else r = REASON_WRONG_DIR;
      end
      else if (wi_kvalid) r = REASON_KEY_PRESENT;  // I3: only while the entry holds no key
      else if (wi_state != STATE_AUTHORIZED) r = REASON_NOT_OPEN;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(r);
      if (logit) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, exc,
                           `CMM_H(s1_q, SRC_NODE));
    end else begin
      wi_key = `CMM_H(s1_q, KEY);
      wi_kvalid = 1'b1;
      wi_korigin = ORIGIN_REMOTE;
      wi_state = STATE_OPEN;
      wi_last_reason = '0;
      raise_i(wi_owner_part, IRQM_CONN);
      bump_stat_i(STAT_CONNECT_ACCEPTED);
      push_ack();
    end
  endtask

  task automatic ingress_connect_ack();
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i || `CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP) ||
        wi_state != STATE_CONNECTING || wi_dir != DIR_RECV ||
        `CMM_H(s1_q, DST_PART) != wi_owner_part || `CMM_H(s1_q, SRC_NODE) != wi_rnode ||
        `CMM_H(s1_q, SRC_PART) != wi_rpart || `CMM_H(s1_q, SRC_EP) != wi_rep) begin
      count_reject_i(REASON_STRAY_RESPONSE);
    end else begin
      wi_state = STATE_OPEN;
      wi_last_reason = '0;
      raise_i(wi_owner_part, IRQM_CONN);
    end
  endtask

  task automatic ingress_nack();
    logic owned, done;
    rsn_t why;
    owned = `CMM_H(s1_q, DST_NODE) == cfg_node_id_i && `CMM_H(s1_q, DST_EP) < EP_ID_BITS'(NEP) &&
            wi_state != STATE_FREE && wi_owner_part == `CMM_H(s1_q, DST_PART);
    why = (`CMM_H(s1_q, REASON) < RSN_W'(REASON_COUNT)) ? `CMM_H(s1_q, REASON) : RSN_W'(REASON_BAD_OPCODE);
    done = 1'b0;
    if (`CMM_H(s1_q, AUX) == HDR_AUX_BITS'(OPCODE_DATA)) begin
      if (owned && wi_dir == DIR_SEND) begin
        wi_tx_last_reason = `CMM_H(s1_q, REASON);
        wi_tx_last_tag = `CMM_H(s1_q, TAG);
        wi_last_reason = `CMM_H(s1_q, REASON);
        if (wi_tx_nacks != '1) wi_tx_nacks = wi_tx_nacks + 1'b1;
        raise_i(wi_owner_part, IRQM_TXNACK);
        done = 1'b1;
      end
    end else if (`CMM_H(s1_q, AUX) == HDR_AUX_BITS'(OPCODE_CONNECT)) begin
      if (owned && wi_state == STATE_CONNECTING && wi_dir == DIR_RECV) begin
        zeroize_i();
        wi_state = STATE_AUTHORIZED;
        wi_last_reason = `CMM_H(s1_q, REASON);
        raise_i(wi_owner_part, IRQM_CONN);
        log_error_i(wi_owner_part, why, `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0, `CMM_H(s1_q, SRC_NODE));
        done = 1'b1;
      end
    end else if (`CMM_H(s1_q, AUX) == HDR_AUX_BITS'(OPCODE_CLOSE) || `CMM_H(s1_q, AUX) == HDR_AUX_BITS'(OPCODE_MGMT)) begin
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
    logic logit;
    r = REASON_OK;
    logit = 1'b0;
    if (`CMM_H(s1_q, DST_NODE) != cfg_node_id_i) r = REASON_MISROUTED;
    else if (`CMM_H(s1_q, DST_EP) >= EP_ID_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wi_state == STATE_FREE) r = REASON_NOT_OPEN;
    else begin
      logit = 1'b1;
      if (`CMM_H(s1_q, DST_PART) != wi_owner_part) r = REASON_DST_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_NODE) != wi_rnode) r = REASON_SRC_NODE_MISMATCH;
      else if (`CMM_H(s1_q, SRC_PART) != wi_rpart) r = REASON_SRC_PART_MISMATCH;
      else if (`CMM_H(s1_q, SRC_EP) != wi_rep) r = REASON_SRC_EP_MISMATCH;
    end
    if (r != REASON_OK) begin
      nack(r);
      if (logit) log_error_i(wi_owner_part, RSN_W'(r), `CMM_H(s1_q, DST_EP), `CMM_H(s1_q, OPCODE), 1'b1, 1'b0,
                           `CMM_H(s1_q, SRC_NODE));
    end else if (wi_state == STATE_CONNECTING || wi_state == STATE_OPEN) begin
      // Crossing closes and closes of never-connected entries are harmless no-ops.
      zeroize_i();
      wi_state = STATE_CLOSED;  // queued messages stay readable
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
  task automatic doorbell(logic [EPI-1:0] e, word_t wd, inout logic [RSP_W-1:0] rsp);
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
      rsp = RSP_REJECT;
    end else begin
      // Egress key attach: key and source ids come from the CMM, never software (I4).
      push_req(OP_DATA, wr_owner_part, EP_ID_BITS'(e));  // header: p_eg_hdr
      wr_tx_sent = wr_tx_sent + 1'b1;  // wraps, like the C++ counter
      bump_stat_r(STAT_DATA_SENT);
    end
  endtask

  // Stores the staged key into a receive entry (SET_KEY, CONNECT); I6 on a send entry.
  task automatic store_local_key(logic allow_existing,
                                 inout reason_e r, inout logic exc, output logic ok);
    ok = 1'b0;
    if (wr_dir == DIR_SEND) begin
      if (wr_kvalid) begin
        r = REASON_KEY_LOCKED;  // key set by a remote CONNECT
        exc = 1'b1;
      end else r = REASON_WRONG_DIR;
    end else if (wr_state != STATE_AUTHORIZED) begin
      r = REASON_NOT_OPEN;
    end else if (wr_kvalid) begin
      if (allow_existing) ok = 1'b1;
      else r = REASON_KEY_PRESENT;
    end else begin
      wr_key = wp_key_stage;
      wr_kvalid = 1'b1;
      wr_korigin = ORIGIN_LOCAL;
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
    part = PART_ID_BITS'(p);
    op = wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS];
    ep = wd[CMM_CMD_EP_LSB +: CMM_CMD_EP_BITS];
    e = ep[EPI-1:0];
    r = REASON_OK;
    exc = 1'b0;
    ok = 1'b0;
    found = 1'b0;
    any = 1'b0;
    // need_owned(): operand in range and owned by the requester's partition (I5).
    owned = 1'b0;
    if (ep >= CMM_CMD_EP_BITS'(NEP)) r = REASON_BAD_EP;
    else if (wr_state == STATE_FREE || wr_owner_part != part) r = REASON_DENIED;
    else owned = 1'b1;

    unique case (op)
      CMM_CMD_OP_BITS'(CMD_NOP): r = REASON_OK;
      CMM_CMD_OP_BITS'(CMD_ALLOC): begin
        r = REASON_OK;
        if (wp_used >= USED_W'(cfg_quota_i[p*QUO_W +: QUO_W])) r = REASON_QUOTA_EXCEEDED;
        else begin
          for (int i = 0; i < NEP; i++)
            if (!found && cst_state_m[i] == STATE_FREE) begin
              found = 1'b1;
              e = EPI'(i);
            end
          if (!found) r = REASON_NO_FREE_EP;
          else begin
            reset_entry();
            wr_state = STATE_ALLOCATED;
            wr_owner_part = part;
            wp_used = wp_used + 1'b1;
            ep = CMM_CMD_EP_BITS'(e);
          end
        end
      end
      CMM_CMD_OP_BITS'(CMD_AUTHORIZE):
        if (owned) begin
          if (wr_state != STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else wr_state = STATE_AUTHORIZED;
        end
      CMM_CMD_OP_BITS'(CMD_SET_KEY):
        if (owned) store_local_key(1'b0, r, exc, ok);
      CMM_CMD_OP_BITS'(CMD_CONNECT):
        if (owned) begin
          store_local_key(1'b1, r, exc, ok);
          if (ok) begin
            push_req(OP_CONNECT, part, ep);
            wr_state = STATE_CONNECTING;
            bump_stat_r(STAT_CONNECT_SENT);
          end
        end
      CMM_CMD_OP_BITS'(CMD_CLOSE):
        if (owned) begin
          if (wr_state == STATE_ALLOCATED) r = REASON_NOT_OPEN;
          else begin
            if (wr_state == STATE_CONNECTING || wr_state == STATE_OPEN) begin
              push_req(OP_CLOSE, part, ep);
              bump_stat_r(STAT_CLOSE_SENT);
            end
            zeroize_r();
            flush_rxq(any);
            if (any) log_error_r(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
            wr_state = STATE_ALLOCATED;
          end
        end
      CMM_CMD_OP_BITS'(CMD_FREE):
        if (owned) begin
          if (wr_state != STATE_ALLOCATED && wr_state != STATE_CLOSED) r = REASON_NOT_OPEN;
          else begin
            flush_rxq(any);
            if (any) log_error_r(part, RSN_W'(REASON_RXQ_FLUSHED), ep, '0, 1'b0, 1'b0, cfg_node_id_i);
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
      default: r = REASON_BAD_CMD;
    endcase

    wp_key_stage = '0;  // a staged key never outlives one command
    cnt = wp_cmd_status[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] + 1'b1;
    st = '0;
    st[CMM_CMD_STATUS_REASON_LSB +: CMM_CMD_STATUS_REASON_BITS] = CMM_CMD_STATUS_REASON_BITS'(r);
    st[CMM_CMD_STATUS_EP_LSB +: CMM_CMD_STATUS_EP_BITS] = ep;
    st[CMM_CMD_STATUS_COUNT_LSB +: CMM_CMD_STATUS_COUNT_BITS] = cnt;
    wp_cmd_status = st;
    if (r != REASON_OK) begin
      count_reject_r(r);
      rsp = RSP_REJECT;
      if (exc || r == REASON_DENIED) log_error_r(part, RSN_W'(r), ep, '0, 1'b0, exc, cfg_node_id_i);
    end
  endtask

  task automatic decerr(logic [PART_ID_BITS-1:0] part, inout logic [RSP_W-1:0] rsp);
    count_reject_r(REASON_BAD_ADDR);
    log_error_r(part, RSN_W'(REASON_BAD_ADDR), '0, '0, 1'b0, 1'b0, cfg_node_id_i);
    rsp = RSP_DECERR;
  endtask

  task automatic denied(logic [PART_ID_BITS-1:0] part, logic [EPI-1:0] e, inout logic [RSP_W-1:0] rsp);
    count_reject_r(REASON_DENIED);
    log_error_r(part, RSN_W'(REASON_DENIED), EP_ID_BITS'(e), '0, 1'b0, 1'b0, cfg_node_id_i);
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
      count_reject_r(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (!wr) begin
      // The read mux has no CKT input and KEY staging is write-only: I1 by construction.
      if (a == CMM_PART_INFO_OFFSET) begin
        rd[CMM_PART_INFO_PART_LSB +: CMM_PART_INFO_PART_BITS] = part;
        rd[CMM_PART_INFO_QUOTA_LSB +: CMM_PART_INFO_QUOTA_BITS] = cfg_quota_i[p*QUO_W +: QUO_W];
        rd[CMM_PART_INFO_USED_LSB +: CMM_PART_INFO_USED_BITS] = wp_used;
      end else if (a == CMM_CMD_STATUS_OFFSET) begin
        rd = wp_cmd_status;
      end else if (a == CMM_IRQ_STATUS_OFFSET) begin
        rd = DW'(wp_irq_status);
      end else if (a == CMM_IRQ_ENABLE_OFFSET) begin
        rd = DW'(wp_irq_enable);
      end else if (is_mtx) begin
        rd = wp_mgmt_tx[i*DW +: DW];
      end else if (a == CMM_MGMT_DST_OFFSET) begin
        rd = wp_mgmt_dst;
      end else if (a == CMM_MGMT_RX_STATUS_OFFSET) begin
        rd[CMM_MGMT_RX_STATUS_COUNT_LSB +: CMM_MGMT_RX_STATUS_COUNT_BITS] =
            CMM_MGMT_RX_STATUS_COUNT_BITS'(wp_mq_count);
        if (wp_mq_count != '0) begin
          rd[CMM_MGMT_RX_STATUS_SRC_NODE_LSB +: CMM_MGMT_RX_STATUS_SRC_NODE_BITS] = mq_src_node_m[p][wp_mq_head];
          rd[CMM_MGMT_RX_STATUS_SRC_PART_LSB +: CMM_MGMT_RX_STATUS_SRC_PART_BITS] = mq_src_part_m[p][wp_mq_head];
        end
      end else if (is_mrx) begin
        if (wp_mq_count != '0) rd = mq_words_m[p][wp_mq_head][i*DW +: DW];
      end else if (a == CMM_ERRLOG_STATUS_OFFSET) begin
        rd[CMM_ERRLOG_STATUS_COUNT_LSB +: CMM_ERRLOG_STATUS_COUNT_BITS] = CMM_ERRLOG_STATUS_COUNT_BITS'(wp_el_count);
        rd[CMM_ERRLOG_STATUS_LOST_LSB +: CMM_ERRLOG_STATUS_LOST_BITS] = wp_el_lost;
      end else if (a == CMM_ERRLOG_HEAD_OFFSET) begin
        if (wp_el_count != '0) rd = el_m[p][wp_el_head];
      end else if (is_rej) begin
        if (i < REASON_COUNT) rd = rej_m[i];
      end else if (is_stat) begin
        rd = stat_m[i];
      end
      // KEY and CMD read as 0.
    end else begin
      if (is_key) wp_key_stage[i*DW +: DW] = wd;
      else if (a == CMM_CMD_OFFSET) command(p, wd, rsp);
      else if (a == CMM_IRQ_STATUS_OFFSET) wp_irq_status = wp_irq_status & ~wd[IRQ_BITS-1:0];
      else if (a == CMM_IRQ_ENABLE_OFFSET) wp_irq_enable = wd[CMM_IRQ_ENABLE_BITS_LSB +: CMM_IRQ_ENABLE_BITS_BITS];
      else if (a == CMM_MGMT_DST_OFFSET) begin
        wp_mgmt_dst = '0;
        wp_mgmt_dst[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS] = wd[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS];
        wp_mgmt_dst[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS] = wd[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS];
      end else wp_mgmt_tx[i*DW +: DW] = wd;
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
    if (!kernel || wr_state == STATE_FREE || wr_owner_part != part) denied(part, e, rsp);
    else if (!wr) begin
      if (off == CMM_CST_CTRL_OFFSET) begin
        rd[CMM_CST_CTRL_DIR_LSB +: CMM_CST_CTRL_DIR_BITS] = wr_dir;
        rd[CMM_CST_CTRL_STATE_LSB +: CMM_CST_CTRL_STATE_BITS] = wr_state;
        rd[CMM_CST_CTRL_KEY_VALID_LSB +: CMM_CST_CTRL_KEY_VALID_BITS] = wr_kvalid;   // valid bit only, never key bits
        rd[CMM_CST_CTRL_KEY_ORIGIN_LSB +: CMM_CST_CTRL_KEY_ORIGIN_BITS] = wr_korigin;
        rd[CMM_CST_CTRL_OWNER_PART_LSB +: CMM_CST_CTRL_OWNER_PART_BITS] = wr_owner_part;
      end else if (off == CMM_CST_OWNER_OFFSET) begin
        rd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS] = wr_owner_pid;
      end else if (off == CMM_CST_REMOTE_OFFSET) begin
        rd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS] = wr_rnode;
        rd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS] = wr_rpart;
        rd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS] = wr_rep;
      end else begin
        rd[CMM_CST_STATUS_RXQ_COUNT_LSB +: CMM_CST_STATUS_RXQ_COUNT_BITS] =
            CMM_CST_STATUS_RXQ_COUNT_BITS'(wr_rxq_count);
        rd[CMM_CST_STATUS_LAST_REASON_LSB +: CMM_CST_STATUS_LAST_REASON_BITS] = wr_last_reason;
        rd[CMM_CST_STATUS_TX_NACKS_LSB +: CMM_CST_STATUS_TX_NACKS_BITS] = wr_tx_nacks;
      end
    end else if (off == CMM_CST_STATUS_OFFSET) begin
      count_reject_r(REASON_READ_ONLY);
      rsp = RSP_REJECT;
    end else if (wr_state != STATE_ALLOCATED) begin
      count_reject_r(REASON_NOT_OPEN);
      rsp = RSP_REJECT;
    end else if (off == CMM_CST_CTRL_OFFSET) begin
      wr_dir = wd[CMM_CST_CTRL_DIR_LSB];
    end else if (off == CMM_CST_OWNER_OFFSET) begin
      wr_owner_pid = wd[CMM_CST_OWNER_PID_LSB +: CMM_CST_OWNER_PID_BITS];
    end else begin
      if (rp >= CMM_CST_REMOTE_PART_BITS'(NPART) || re >= CMM_CST_REMOTE_EP_BITS'(NEP)) begin
        count_reject_r(REASON_BAD_FIELD);
        rsp = RSP_REJECT;
      end else begin
        wr_rnode = wd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS];
        wr_rpart = rp;
        wr_rep = re;
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
    else if (wr_state == STATE_FREE || wr_owner_part != part ||
             (!kernel && reg_req_pid_i != wr_owner_pid))
      denied(part, e, rsp);
    else if (in_tx) begin
      if (!wr) decerr(part, rsp);
      else rsp_buf_n = 1'b1;
    end else if (in_rx) begin
      if (wr) decerr(part, rsp);
      else if (wr_rxq_count == '0) begin
        count_reject_r(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        rsp_buf_n = 1'b1;
        rsp_slot_n = SLOT_W'(wr_rxq_head);
      end
    end else if (wr != is_cmd) begin
      if (wr) begin
        count_reject_r(REASON_READ_ONLY);
        rsp = RSP_REJECT;
      end
      // Command registers read as 0.
    end else if (off == CMM_EP_DOORBELL_OFFSET) begin
      doorbell(e, wd, rsp);
    end else if (off == CMM_EP_RX_POP_OFFSET) begin
      if (wr_rxq_count == '0) begin
        count_reject_r(REASON_RXQ_EMPTY);
        rsp = RSP_REJECT;
      end else begin
        wr_rxq_head = RXQ_IW'((32'(wr_rxq_head) + 1) % RXQ_DEPTH);
        wr_rxq_count = wr_rxq_count - RXQ_CW'(1);
      end
    end else if (off == CMM_EP_TX_STATUS_OFFSET) begin
      rd[CMM_EP_TX_STATUS_LAST_REASON_LSB +: CMM_EP_TX_STATUS_LAST_REASON_BITS] = wr_tx_last_reason;
      rd[CMM_EP_TX_STATUS_NACKS_LSB +: CMM_EP_TX_STATUS_NACKS_BITS] =
          (wr_tx_nacks > CMM_CST_STATUS_TX_NACKS_BITS'({CMM_EP_TX_STATUS_NACKS_BITS{1'b1}}))
              ? '1 : wr_tx_nacks[CMM_EP_TX_STATUS_NACKS_BITS-1:0];  // saturates
      rd[CMM_EP_TX_STATUS_LAST_TAG_LSB +: CMM_EP_TX_STATUS_LAST_TAG_BITS] = wr_tx_last_tag;
    end else if (off == CMM_EP_TX_SENT_OFFSET) begin
      rd[CMM_EP_TX_SENT_COUNT_LSB +: CMM_EP_TX_SENT_COUNT_BITS] = wr_tx_sent;
    end else if (off == CMM_EP_RX_STATUS_OFFSET) begin
      rd[CMM_EP_RX_STATUS_COUNT_LSB +: CMM_EP_RX_STATUS_COUNT_BITS] =
          CMM_EP_RX_STATUS_COUNT_BITS'(wr_rxq_count);
      rd[CMM_EP_RX_STATUS_SLOT_LSB +: CMM_EP_RX_STATUS_SLOT_BITS] = CMM_EP_RX_STATUS_SLOT_BITS'(wr_rxq_head);
      if (wr_rxq_count != '0)
        rd[CMM_EP_RX_STATUS_LEN_LSB +: CMM_EP_RX_STATUS_LEN_BITS] = rxq_len_n[e][wr_rxq_head];
    end else if (off == CMM_EP_RX_TAG_OFFSET) begin
      if (wr_rxq_count != '0)
        rd[CMM_EP_RX_TAG_TAG_LSB +: CMM_EP_RX_TAG_TAG_BITS] = rxq_tag_n[e][wr_rxq_head];
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
      count_reject_r(REASON_DENIED);
      rsp = RSP_DENIED;
    end else if (a == CMM_ID_OFFSET || a == CMM_NODE_ID_OFFSET || a == CMM_GEOMETRY_OFFSET) begin
      // Global registers readable by anyone.
      if (wr) begin
        count_reject_r(REASON_READ_ONLY);
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
  // Processes in dependency order (no combinational loop between them):
  //   p_ing      steps 2-3: verdict pulse clear, ingress commit of S1 on the
  //              working copy wi_* of its entry -> ingress events
  //   p_mid_*    mid-edge state (*_m): tables with the ingress commit applied
  //   p_reg      steps 2, 5: response pulse, register access on the working
  //              copies wr_* (entry) and wp_* (requester partition), reading
  //              the mid-edge state -> register events
  //   p_fin_*    next state (*_n): mid-edge state with the register access
  //              applied; synchronous reset (the power-up state)
  //   p_egq      step 1 (egress pop) and the pushes of steps 3 and 5
  //   p_s1       step 4 (ingress accept)
  // Same result as the steps applied one after the other, like CmmCore::step().

  // ---- steps 2 (verdict pulse) and 3 (ingress commit)
  always_comb begin : p_ing
    ev_i_rej_v = 1'b0;   ev_i_rej_r = '0;
    ev_i_stat_v = 1'b0;  ev_i_stat_i = '0;
    ev_i_irq_part = '0;  ev_i_irq_mask = '0;
    ev_i_log_v = 1'b0;   ev_i_log_part = '0;  ev_i_log_w = '0;
    ev_i_eg_v = 1'b0;    ev_i_eg_ack = 1'b0;  ev_i_eg_r = '0;
    ev_i_mq_v = 1'b0;    ev_i_mq_part = '0;  ev_i_mq_node = '0;  ev_i_mq_spart = '0;  ev_i_mq_words = '0;
    wi_idx = s1_q[HDR_DST_EP_LSB +: EPI];
    wi_state = cst_state_q[wi_idx];
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
    wi_rxq_head = cst_rxq_head_q[wi_idx];
    wi_rxq_count = cst_rxq_count_q[wi_idx];
    wi_key = ckt_key_q[wi_idx];  wi_kvalid = ckt_valid_q[wi_idx];  wi_korigin = ckt_origin_q[wi_idx];
    wi_rxq_push = 1'b0;  wi_rxq_slot = '0;  wi_rxq_len = '0;  wi_rxq_tag = '0;
    vd_valid_n = 1'b0;
    vd_accept_n = vd_accept_q;  vd_ep_n = vd_ep_q;  vd_slot_n = vd_slot_q;  vd_reason_n = vd_reason_q;
    if (s1_valid_q) ingress();
    if (!rst_ni) begin
      vd_valid_n = 1'b0;  vd_accept_n = 1'b0;  vd_ep_n = '0;  vd_slot_n = '0;  vd_reason_n = '0;
    end
  end

  // ---- mid-edge state: the entry wi_idx written back, ingress events applied
  always_comb begin : p_mid_cst
    for (int k = 0; k < NEP; k++) begin
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
        ckt_key_m[k] = wi_key;  ckt_valid_m[k] = wi_kvalid;  ckt_origin_m[k] = wi_korigin;
      end else begin
        cst_state_m[k] = cst_state_q[k];
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
        cst_rxq_head_m[k] = cst_rxq_head_q[k];
        cst_rxq_count_m[k] = cst_rxq_count_q[k];
        ckt_key_m[k] = ckt_key_q[k];  ckt_valid_m[k] = ckt_valid_q[k];  ckt_origin_m[k] = ckt_origin_q[k];
      end
    end
  end

  // Receive slots: written only by a delivery (step 3); storage, not reset.
  always_comb begin : p_rxq
    for (int k = 0; k < NEP; k++)
      for (int s = 0; s < RXQ_DEPTH; s++) begin
        rxq_len_n[k][s] = rxq_len_q[k][s];
        rxq_tag_n[k][s] = rxq_tag_q[k][s];
        if (wi_rxq_push && wi_idx == EPI'(k) && wi_rxq_slot == RXQ_IW'(s)) begin
          rxq_len_n[k][s] = wi_rxq_len;
          rxq_tag_n[k][s] = wi_rxq_tag;
        end
      end
  end

  always_comb begin : p_mid_cnt
    for (int r = 0; r < REASON_COUNT; r++)
      rej_m[r] = (ev_i_rej_v && ev_i_rej_r == RSN_W'(r)) ? sat_inc(rej_q[r]) : rej_q[r];
    for (int s = 0; s < CMM_STAT_COUNT; s++)
      stat_m[s] = (ev_i_stat_v && ev_i_stat_i == STAT_IW'(s)) ? sat_inc(stat_q[s]) : stat_q[s];
  end

  always_comb begin : p_mid_part
    for (int p = 0; p < NPART; p++) begin
      irq_status_m[p] = irq_status_q[p];
      if (ev_i_irq_part == PART_ID_BITS'(p)) irq_status_m[p] = irq_status_m[p] | ev_i_irq_mask;
      el_count_m[p] = el_count_q[p];
      el_lost_m[p] = el_lost_q[p];
      for (int s = 0; s < ERRLOG_DEPTH; s++) el_m[p][s] = el_q[p][s];
      if (ev_i_log_v && ev_i_log_part == PART_ID_BITS'(p)) begin
        if (el_count_q[p] == EL_CW'(ERRLOG_DEPTH)) begin
          if (el_lost_q[p] != '1) el_lost_m[p] = el_lost_q[p] + 1'b1;
        end else begin
          for (int s = 0; s < ERRLOG_DEPTH; s++)
            if (EL_IW'((32'(el_head_q[p]) + 32'(el_count_q[p])) % ERRLOG_DEPTH) == EL_IW'(s)) el_m[p][s] = ev_i_log_w;
          el_count_m[p] = el_count_q[p] + EL_CW'(1);
        end
        irq_status_m[p] = irq_status_m[p] | IRQM_ERR;
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
  end

  // ---- steps 2 (response pulse) and 5 (register access, sees the mid-edge state)
  always_comb begin : p_reg
    ev_r_rej_v = 1'b0;   ev_r_rej_r = '0;  ev_r_flush = '0;
    ev_r_stat_v = 1'b0;  ev_r_stat_i = '0;
    ev_r_el_v = 1'b0;    ev_r_el_slot = '0;  ev_r_el_w = '0;
    ev_r_eg_v = 1'b0;    ev_r_eg_op = '0;  ev_r_eg_sp = '0;  ev_r_eg_se = '0;
    wp_idx = reg_req_part_i[PI-1:0];
    wp_key_stage = key_stage_q[wp_idx];    wp_cmd_status = cmd_status_q[wp_idx];
    wp_irq_status = irq_status_m[wp_idx];  wp_irq_enable = irq_enable_q[wp_idx];
    wp_mgmt_tx = mgmt_tx_q[wp_idx];        wp_mgmt_dst = mgmt_dst_q[wp_idx];
    wp_mq_head = mq_head_q[wp_idx];        wp_mq_count = mq_count_m[wp_idx];
    wp_el_head = el_head_q[wp_idx];        wp_el_count = el_count_m[wp_idx];
    wp_el_lost = el_lost_m[wp_idx];        wp_used = used_q[wp_idx];
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
    wr_key = ckt_key_m[wr_idx];  wr_kvalid = ckt_valid_m[wr_idx];  wr_korigin = ckt_origin_m[wr_idx];
    rsp_valid_n = 1'b0;
    rsp_rdata_n = '0;
    rsp_status_n = RSP_OK;
    rsp_buf_n = 1'b0;
    rsp_slot_n = '0;
    if (reg_req_valid_i && reg_req_ready_o) reg_access();
    if (!rst_ni) begin
      rsp_valid_n = 1'b0; rsp_rdata_n = '0; rsp_status_n = RSP_OK; rsp_buf_n = 1'b0; rsp_slot_n = '0;
    end
  end

  // ---- next state: entry wr_idx and partition wp_idx written back, register
  // events applied; synchronous reset (storage is not cleared: it is only
  // visible below its count, and every count resets).
  always_comb begin : p_fin_cst
    for (int k = 0; k < NEP; k++) begin
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
        ckt_key_n[k] = wr_key;  ckt_valid_n[k] = wr_kvalid;  ckt_origin_n[k] = wr_korigin;
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
        ckt_key_n[k] = ckt_key_m[k];  ckt_valid_n[k] = ckt_valid_m[k];  ckt_origin_n[k] = ckt_origin_m[k];
      end
      if (!rst_ni) begin
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
        ckt_key_n[k] = '0;  ckt_valid_n[k] = 1'b0;  ckt_origin_n[k] = 1'b0;
      end
    end
  end

  // Saturating counts commute: one reject plus ev_r_flush RXQ_FLUSHED counts
  // in any order give the C++ result.
  always_comb begin : p_fin_cnt
    for (int r = 0; r < REASON_COUNT; r++) begin
      rej_n[r] = rej_m[r];
      if (ev_r_rej_v && ev_r_rej_r == RSN_W'(r)) rej_n[r] = sat_inc(rej_n[r]);
      if (RSN_W'(r) == RSN_W'(REASON_RXQ_FLUSHED))
        for (int i = 0; i < RXQ_DEPTH; i++)
          if (RXQ_CW'(i) < ev_r_flush) rej_n[r] = sat_inc(rej_n[r]);
      if (!rst_ni) rej_n[r] = '0;
    end
    for (int s = 0; s < CMM_STAT_COUNT; s++) begin
      stat_n[s] = (ev_r_stat_v && ev_r_stat_i == STAT_IW'(s)) ? sat_inc(stat_m[s]) : stat_m[s];
      if (!rst_ni) stat_n[s] = '0;
    end
  end

  always_comb begin : p_fin_part
    for (int p = 0; p < NPART; p++) begin
      if (wp_idx == PI'(p)) begin
        key_stage_n[p] = wp_key_stage;    cmd_status_n[p] = wp_cmd_status;
        irq_status_n[p] = wp_irq_status;  irq_enable_n[p] = wp_irq_enable;
        mgmt_tx_n[p] = wp_mgmt_tx;        mgmt_dst_n[p] = wp_mgmt_dst;
        mq_head_n[p] = wp_mq_head;        mq_count_n[p] = wp_mq_count;
        el_head_n[p] = wp_el_head;        el_count_n[p] = wp_el_count;
        el_lost_n[p] = wp_el_lost;        used_n[p] = wp_used;
      end else begin
        key_stage_n[p] = key_stage_q[p];    cmd_status_n[p] = cmd_status_q[p];
        irq_status_n[p] = irq_status_m[p];  irq_enable_n[p] = irq_enable_q[p];
        mgmt_tx_n[p] = mgmt_tx_q[p];        mgmt_dst_n[p] = mgmt_dst_q[p];
        mq_head_n[p] = mq_head_q[p];        mq_count_n[p] = mq_count_m[p];
        el_head_n[p] = el_head_q[p];        el_count_n[p] = el_count_m[p];
        el_lost_n[p] = el_lost_m[p];        used_n[p] = used_q[p];
      end
      for (int s = 0; s < ERRLOG_DEPTH; s++)
        el_n[p][s] = (ev_r_el_v && wp_idx == PI'(p) && ev_r_el_slot == EL_IW'(s)) ? ev_r_el_w : el_m[p][s];
      for (int s = 0; s < MGMTQ_DEPTH; s++) begin
        mq_src_node_n[p][s] = mq_src_node_m[p][s];
        mq_src_part_n[p][s] = mq_src_part_m[p][s];
        mq_words_n[p][s] = mq_words_m[p][s];
      end
      if (!rst_ni) begin
        key_stage_n[p] = '0;  cmd_status_n[p] = '0;
        irq_status_n[p] = '0; irq_enable_n[p] = '0;
        mgmt_tx_n[p] = '0;    mgmt_dst_n[p] = '0;
        mq_head_n[p] = '0;    mq_count_n[p] = '0;
        el_head_n[p] = '0;    el_count_n[p] = '0;
        el_lost_n[p] = '0;    used_n[p] = '0;
      end
    end
  end

  // ---- the egress headers of the push events. Response class: NACK or
  // CONNECT_ACK to the source of the header in S1. Request class: to the
  // entry's remote (DATA with key, length and tag of the doorbell; CONNECT
  // with the key; CLOSE), or MGMT to MGMT_DST with MGMT_TX.
  always_comb begin : p_eg_hdr
    eg_rsp_h = make_hdr(ev_i_eg_ack ? OP_CONNECT_ACK : OP_NACK, `CMM_H(s1_q, DST_PART), `CMM_H(s1_q, DST_EP),
                        `CMM_H(s1_q, SRC_NODE), `CMM_H(s1_q, SRC_PART), `CMM_H(s1_q, SRC_EP), cfg_node_id_i);
    `CMM_H(eg_rsp_h, TAG) = `CMM_H(s1_q, TAG);
    if (!ev_i_eg_ack) begin
      `CMM_H(eg_rsp_h, REASON) = ev_i_eg_r;
      `CMM_H(eg_rsp_h, AUX) = HDR_AUX_BITS'(`CMM_H(s1_q, OPCODE));
    end
    if (ev_r_eg_op == OP_MGMT) begin
      eg_req_h = make_hdr(OP_MGMT, ev_r_eg_sp, '0, wp_mgmt_dst[CMM_MGMT_DST_NODE_LSB +: CMM_MGMT_DST_NODE_BITS],
                          wp_mgmt_dst[CMM_MGMT_DST_PART_LSB +: CMM_MGMT_DST_PART_BITS], '0, cfg_node_id_i);
      `CMM_H(eg_req_h, KEY) = wp_mgmt_tx;
    end else begin
      eg_req_h = make_hdr(ev_r_eg_op, ev_r_eg_sp, ev_r_eg_se, wr_rnode, wr_rpart, wr_rep, cfg_node_id_i);
      if (ev_r_eg_op != OP_CLOSE) `CMM_H(eg_req_h, KEY) = wr_key;
      if (ev_r_eg_op == OP_DATA) begin
        `CMM_H(eg_req_h, LEN) = reg_req_wdata_i[CMM_EP_DOORBELL_LEN_LSB +: CMM_EP_DOORBELL_LEN_BITS];
        `CMM_H(eg_req_h, TAG) = reg_req_wdata_i[CMM_EP_DOORBELL_TAG_LSB +: CMM_EP_DOORBELL_TAG_BITS];
      end
    end
  end

  // ---- step 1 (egress pop), then the pushes of step 3 (response class 1)
  // and step 5 (request class 0). Room is guaranteed by the ready outputs.
  always_comb begin : p_egq
    for (int c = 0; c < 2; c++) begin
      for (int s = 0; s < EGQ_DEPTH; s++) egq_n[c][s] = egq_q[c][s];
      egq_head_n[c] = egq_head_q[c];
      egq_count_n[c] = egq_count_q[c];
      if (eg_valid_o && eg_ready_i && eg_cls_o == 1'(c)) begin
        egq_head_n[c] = EGQ_IW'((32'(egq_head_q[c]) + 1) % EGQ_DEPTH);
        egq_count_n[c] = egq_count_q[c] - EGQ_CW'(1);
      end
      if (c == 1 ? ev_i_eg_v : ev_r_eg_v) begin
        for (int s = 0; s < EGQ_DEPTH; s++)
          if (EGQ_IW'((32'(egq_head_n[c]) + 32'(egq_count_n[c])) % EGQ_DEPTH) == EGQ_IW'(s))
            egq_n[c][s] = (c == 1) ? eg_rsp_h : eg_req_h;
        egq_count_n[c] = egq_count_n[c] + EGQ_CW'(1);
      end
      if (!rst_ni) begin
        egq_head_n[c] = '0;
        egq_count_n[c] = '0;
      end
    end
  end

  // ---- step 4: ingress accept. The port is exactly the field widths: no masking needed.
  always_comb begin : p_s1
    s1_valid_n = ing_valid_i && ing_ready_o && rst_ni;
    s1_n = (ing_valid_i && ing_ready_o) ? ing_hdr_i : s1_q;
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
