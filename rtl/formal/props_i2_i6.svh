// I2 and I6 on one core (included into the generated formal_top, instance
// dut; core ports by name). A shadow model built only from the ports:
//  * register requests accepted at an edge answer in the next cycle; the
//    shadow applies a request when its response is OK;
//  * a header accepted at an edge sits in S1 and commits at the next edge;
//    c_* holds the header that committed at the last edge (same edge order
//    as the core: the commit happens before that edge's register access).
// I2: a verdict that accepts names the committed DATA's entry, the DATA is
//     for this node, its source ids are the entry's CST_REMOTE ids, its source
//     generation the entry's CST_GEN.REMOTE, and its key
//     is one the local agent installed there (SET_KEY/CONNECT with the staged
//     words) since the entry was last closed, freed or rewritten (a HWKEY
//     install takes the generator's key, unknown to the shadow: that entry's
//     key is not checked, its ids and generation still are).
// Fault-injection pins: tied to 0 by default, free with scripts/formal --free-faults: a flipped table bit must
// never lead to a wrong delivery (the entry fails closed first).
// I6: while a CST_CTRL read shows a valid key, the next read of that entry
//     shows the same origin unless something that can zeroize the key came
//     in between (local CLOSE/FREE, any CLOSE or NACK header for the entry).
// Compile with -DCHECK_I2 or -DCHECK_I6 (one property per run: smaller cones);
// -DCOVER_I2 / -DCOVER_I6 turn reachability of the checked events into a
// failing assertion (vacuity check: scripts/formal cover_i2 cover_i6).

  localparam int NCAND = 3;  // installed keys remembered per entry (more: the entry is not checked)

  // ---- register request in flight (answered in the next cycle)
  wire reg_fire = reg_req_valid_i && reg_req_ready_o;
  reg p_v = 1'b0;
  reg p_wr;
  reg [CMM_ADDR_BITS-1:0] p_addr;
  reg [31:0] p_wd;
  reg [PART_ID_BITS-1:0] p_part;
  reg p_kernel;
  always @(posedge clk) begin
    p_v <= reg_fire && rst_ni;
    p_wr <= reg_req_write_i;
    p_addr <= reg_req_addr_i;
    p_wd <= reg_req_wdata_i;
    p_part <= reg_req_part_i;
    p_kernel <= reg_req_priv_i == PRIV_KERNEL;
  end
  wire rsp_ok = p_v && reg_rsp_valid_o && reg_rsp_status_o == RSP_OK;
  wire [CMM_ADDR_BITS-1:0] key_off = p_addr - CMM_KEY_OFFSET;
  wire ok_key_wr = rsp_ok && p_wr && p_addr >= CMM_KEY_OFFSET &&
                   p_addr < CMM_KEY_OFFSET + CMM_KEY_COUNT * CMM_KEY_STRIDE;
  wire ok_cmd = rsp_ok && p_wr && p_addr == CMM_CMD_OFFSET;
  wire [CMM_CMD_OP_BITS-1:0] cmd_op = p_wd[CMM_CMD_OP_LSB +: CMM_CMD_OP_BITS];
  wire [CMM_CMD_EP_BITS-1:0] cmd_ep = p_wd[CMM_CMD_EP_LSB +: CMM_CMD_EP_BITS];
  wire ok_install = ok_cmd && (cmd_op == CMD_SET_KEY || cmd_op == CMD_CONNECT);
  wire ok_zeroize = ok_cmd && (cmd_op == CMD_CLOSE || cmd_op == CMD_FREE);
  wire in_cst = p_addr >= CMM_CST_BASE && p_addr < CMM_CST_BASE + NUM_ENDPOINTS * CMM_CST_STRIDE;
  wire [CMM_ADDR_BITS-1:0] cst_rel = p_addr - CMM_CST_BASE;
  wire [CMM_ADDR_BITS-1:0] cst_ep = cst_rel / CMM_CST_STRIDE;
  wire [CMM_ADDR_BITS-1:0] cst_off = cst_rel % CMM_CST_STRIDE;
  wire ok_cst_wr = rsp_ok && p_wr && in_cst;  // only while ALLOCATED: no key then
  // Kernel reads only: the owner process's read-only view masks KEY_ORIGIN (docs/security.md 1.13).
  wire ok_ctrl_rd = rsp_ok && !p_wr && p_kernel && in_cst && cst_off == CMM_CST_CTRL_OFFSET;
  wire rd_key_valid = reg_rsp_rdata_o[CMM_CST_CTRL_KEY_VALID_LSB];
  wire rd_key_origin = reg_rsp_rdata_o[CMM_CST_CTRL_KEY_ORIGIN_LSB];

  // ---- ingress: S1, then the commit stage
  wire ing_fire = ing_valid_i && ing_ready_o;
  reg s1_v = 1'b0, c_v = 1'b0;
  reg [HDR_BITS-1:0] s1_h, c_h;
  always @(posedge clk) begin
    s1_v <= ing_fire && rst_ni;
    s1_h <= ing_hdr_i;
    c_v <= s1_v && rst_ni;
    c_h <= s1_h;
  end
  wire [HDR_OPCODE_BITS-1:0] c_op = c_h[HDR_OPCODE_LSB +: HDR_OPCODE_BITS];
  wire [HDR_DST_EP_BITS-1:0] c_ep = c_h[HDR_DST_EP_LSB +: HDR_DST_EP_BITS];
  wire [127:0] c_key = c_h[HDR_KEY_LSB +: 128];
  wire c_zeroizer = c_v && (c_op == OPCODE_CLOSE || c_op == OPCODE_NACK);

`ifdef CHECK_I2
  // Every accepted register request answers in the next cycle (the shadow relies on it).
  always @* if (!in_reset) assert (p_v == reg_rsp_valid_o);

  // ---- key staging per partition (words written since the last OK command)
  reg [NUM_PARTITIONS*128-1:0] stage_w;
  reg [NUM_PARTITIONS*4-1:0] stage_m;
  always @(posedge clk) begin
    if (!rst_ni) begin
      stage_w <= 0;
      stage_m <= 0;
    end else if (ok_key_wr && p_part < NUM_PARTITIONS) begin
      stage_w[128 * p_part + 32 * key_off[3:2] +: 32] <= p_wd;
      stage_m[4 * p_part + key_off[3:2]] <= 1'b1;
    end else if (ok_cmd && p_part < NUM_PARTITIONS) begin
      stage_w[128 * p_part +: 128] <= 128'd0;
      stage_m[4 * p_part +: 4] <= 4'd0;
    end
  end
  wire [127:0] st_w = p_part < NUM_PARTITIONS ? stage_w[128 * p_part +: 128] : 128'd0;
  wire [3:0] st_m = p_part < NUM_PARTITIONS ? stage_m[4 * p_part +: 4] : 4'd0;

  // ---- per entry: remote ids and the keys installed since the last zeroize
  wire [CMM_CST_REMOTE_NODE_BITS-1:0] wr_rnode = p_wd[CMM_CST_REMOTE_NODE_LSB +: CMM_CST_REMOTE_NODE_BITS];
  wire [CMM_CST_REMOTE_PART_BITS-1:0] wr_rpart = p_wd[CMM_CST_REMOTE_PART_LSB +: CMM_CST_REMOTE_PART_BITS];
  wire [CMM_CST_REMOTE_EP_BITS-1:0] wr_rep = p_wd[CMM_CST_REMOTE_EP_LSB +: CMM_CST_REMOTE_EP_BITS];
  genvar ge;
  generate for (ge = 0; ge < NUM_ENDPOINTS; ge = ge + 1) begin : ent
    reg [CMM_CST_REMOTE_NODE_BITS-1:0] rnode;
    reg [CMM_CST_REMOTE_PART_BITS-1:0] rpart;
    reg [CMM_CST_REMOTE_EP_BITS-1:0] rep;
    reg [CMM_CST_GEN_REMOTE_BITS-1:0] rgen;
    reg [127:0] k0, k1, k2;
    reg [1:0] n;
    reg ovf;
    wire clear = ok_zeroize && cmd_ep == ge || ok_cst_wr && cst_ep == ge;
    always @(posedge clk) begin
      if (!rst_ni || ok_cmd && cmd_op == CMD_FREE && cmd_ep == ge) begin
        rnode <= 0;  // ALLOC hands a freed entry out with zero remote ids and generation
        rpart <= 0;
        rep <= 0;
        rgen <= 0;
      end else if (ok_cst_wr && cst_ep == ge && cst_off == CMM_CST_REMOTE_OFFSET) begin
        rnode <= wr_rnode;
        rpart <= wr_rpart;
        rep <= wr_rep;
      end else if (ok_cst_wr && cst_ep == ge && cst_off == CMM_CST_GEN_OFFSET) begin
        rgen <= p_wd[CMM_CST_GEN_REMOTE_LSB +: CMM_CST_GEN_REMOTE_BITS];
      end
      if (!rst_ni || clear) begin
        n <= 2'd0;
        ovf <= 1'b0;
      end else if (ok_install && cmd_ep == ge && p_wd[CMM_CMD_HWKEY_LSB]) begin
        ovf <= 1'b1;  // a hardware key (or the stored one): secret from the shadow, the key is not checked
      end else if (ok_install && cmd_ep == ge && st_m != 4'd0) begin
        if (n == 2'd0) k0 <= st_w;
        if (n == 2'd1) k1 <= st_w;
        if (n == 2'd2) k2 <= st_w;
        if (n == NCAND) ovf <= 1'b1;
        else n <= n + 2'd1;
      end
    end
    wire key_ok = ovf || (n > 0 && c_key == k0) || (n > 1 && c_key == k1) || (n > 2 && c_key == k2);
    always @* if (!in_reset && vd_valid_o && vd_accept_o && c_ep == ge) begin
      assert (c_h[HDR_SRC_NODE_LSB +: HDR_SRC_NODE_BITS] == rnode);
      assert (c_h[HDR_SRC_PART_LSB +: HDR_SRC_PART_BITS] == rpart);
      assert (c_h[HDR_SRC_EP_LSB +: HDR_SRC_EP_BITS] == rep);
      assert (c_h[HDR_SRC_GEN_LSB +: HDR_SRC_GEN_BITS] == rgen);
      assert (key_ok);
    end
  end endgenerate
  always @* if (!in_reset && vd_valid_o) begin
    assert (c_v && c_op == OPCODE_DATA);  // one verdict per committed DATA
    assert (vd_ep_o == c_ep);
  end
  always @* if (!in_reset && vd_valid_o && vd_accept_o) begin
    assert (c_ep < NUM_ENDPOINTS);
    assert (c_h[HDR_DST_NODE_LSB +: HDR_DST_NODE_BITS] == cfg_node_id_i);
  end
`endif

`ifdef COVER_I2
  // Reachability (scripts/formal cover_i2, expected to FAIL): an accepted delivery.
  always @* if (!in_reset) assert (!(vd_valid_o && vd_accept_o));
`endif

`ifdef CHECK_I6
`define I6_SHADOW
`endif
`ifdef COVER_I6
`define I6_SHADOW
`endif
`ifdef I6_SHADOW
  genvar ge;
  generate for (ge = 0; ge < NUM_ENDPOINTS; ge = ge + 1) begin : ent
    reg seen_v = 1'b0;
    reg seen_o;
    wire seen_now = seen_v && !(c_zeroizer && c_ep == ge);  // the commit precedes the read of this edge
    wire rd_here = ok_ctrl_rd && cst_ep == ge;
    always @* if (!in_reset && rd_here && seen_now && rd_key_valid) assert (rd_key_origin == seen_o);
`ifdef COVER_I6
    // Reachability (scripts/formal cover_i6, expected to FAIL): the check above compares two reads of a valid key.
    always @* if (!in_reset) assert (!(rd_here && seen_now && rd_key_valid));
`endif
    always @(posedge clk) begin
      if (!rst_ni || ok_zeroize && cmd_ep == ge) begin
        seen_v <= 1'b0;
      end else if (rd_here) begin
        seen_v <= rd_key_valid;
        seen_o <= rd_key_origin;
      end else begin
        seen_v <= seen_now;
      end
    end
  end endgenerate
`endif
