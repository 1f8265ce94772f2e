// Streaming payload MAC engine (11.6), one per direction. load_i (takes
// precedence over everything) starts a MAC under key_i over the header bytes
// of hdr_i followed by len_i payload bytes (1..MAX_MSG_BYTES), absorbed as
// beats of B bytes: ready_o while beats remain; a beat transfers at an edge
// with beat_valid_i && ready_o. At the last beat's edge the countdown is set
// to L; it decrements at each later edge while above 0. clear_i unloads (the
// core asserts it with the edge that uses the tag).
//   tx_done_o: this edge finishes a TX computation (the last beat with L = 0,
//              or the countdown reaching 0): the core pushes the DATA now.
//   rx_ready_o: all beats absorbed and countdown 0 at the start of this edge
//              (the RX header commits now).
//   tag_o:     the tag over the state after this edge's beat (valid with
//              tx_done_o or rx_ready_o).
module cmm_mac_engine #(
  parameter int unsigned B = 16,  // bytes per beat, 1..16
  parameter int unsigned L = 4    // cycles after the last beat, 0..255
) (
  input  logic                          clk,
  input  logic                          rst_ni,     // synchronous, active low
  input  logic                          load_i,
  input  logic [127:0]                  key_i,
  input  logic [cmm_pkg::HDR_BITS-1:0]  hdr_i,
  input  logic                          clear_i,
  input  logic                          beat_valid_i,
  input  logic [127:0]                  beat_data_i,
  output logic                          busy_o,
  output logic                          ready_o,
  output logic                          tx_done_o,
  output logic                          rx_ready_o,
  output logic [127:0]                  tag_o,
  output logic [127:0]                  tag_q_o     // tag over the stored state (= tag_o at an edge without a beat)
);

  localparam int LW = 11;  // len and byte counts (MAX_MSG_BYTES = 1024)
  localparam int HW = cmm_pkg::HDR_LEN_BITS;
  localparam logic [4:0] B5 = B[4:0];
  localparam logic [7:0] L8 = L[7:0];

  logic          busy_q, busy_n;
  cmm_mac_pkg::sip_t v_q, v_n;
  logic [55:0]   pb_q, pb_n;   // bytes of the open block (pn_q of them)
  logic [2:0]    pn_q, pn_n;
  logic [LW-1:0] left_q, left_n;  // payload bytes still to absorb
  logic [LW-1:0] beats_q, beats_n;
  logic [LW-1:0] len_q, len_n;
  logic [7:0]    cd_q, cd_n;

  logic          fire;
  logic [LW-1:0] bw;             // B, widened
  logic [LW-1:0] take;           // bytes of this beat that are payload
  logic [127:0]  lane;
  logic [183:0]  cat;
  logic [4:0]    tot;
  logic [55:0]   tail;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [HW-1:0] hlen, hbeats;  // the core loads only 1 <= len <= MAX_MSG_BYTES
  /* verilator lint_on UNUSEDSIGNAL */

  always_comb begin : p_next
    busy_n = busy_q;  v_n = v_q;  pb_n = pb_q;  pn_n = pn_q;
    left_n = left_q;  beats_n = beats_q;  len_n = len_q;  cd_n = cd_q;
    fire = busy_q && beats_q != '0 && beat_valid_i;
    bw = {{(LW-5){1'b0}}, B5};
    take = (left_q < bw) ? left_q : bw;
    lane = beat_data_i & ~({128{1'b1}} << (8 * take));  // lanes beyond the payload are ignored
    cat = ({56'd0, lane} << (8 * pn_q)) | {128'd0, pb_q};
    tot = {2'b0, pn_q} + take[4:0];
    tx_done_o = 1'b0;
    if (busy_q) begin
      if (beats_q != '0) begin
        if (fire) begin
          // 0, 1 or 2 blocks complete (at most 7 + 16 bytes).
          if (tot >= 5'd8) v_n = cmm_mac_pkg::sip_block(v_q, cat[63:0]);
          if (tot >= 5'd16) v_n = cmm_mac_pkg::sip_block(v_n, cat[127:64]);
          pb_n = (tot >= 5'd16) ? cat[183:128] : (tot >= 5'd8) ? cat[119:64] : cat[55:0];
          pn_n = tot[2:0];
          left_n = left_q - take;
          beats_n = beats_q - 1'b1;
          if (beats_q == 11'd1) begin
            cd_n = L8;
            tx_done_o = L8 == 8'd0;
          end
        end
      end else if (cd_q != '0) begin
        cd_n = cd_q - 1'b1;
        tx_done_o = cd_q == 8'd1;
      end
    end
    // Tag over the state after this edge's beat: the length block
    // ((32 + len) mod 256 in the top byte) with the open block's bytes.
    tail = pb_n & ~({56{1'b1}} << (8 * pn_n));
    tag_o = cmm_mac_pkg::sip_final(cmm_mac_pkg::sip_block(v_n, {len_q[7:0] + 8'd32, tail}));
    if (clear_i) busy_n = 1'b0;
    hlen = hdr_i[cmm_pkg::HDR_LEN_LSB +: HW];
    hbeats = (hlen + {{(HW-5){1'b0}}, B5} - 1'b1) / {{(HW-5){1'b0}}, B5};
    if (load_i) begin
      busy_n = 1'b1;
      v_n = cmm_mac_pkg::sip_absorb_hdr(cmm_mac_pkg::sip_init(key_i), cmm_mac_pkg::hdr_bytes(hdr_i));
      pb_n = '0;
      pn_n = '0;
      len_n = hlen[LW-1:0];
      left_n = hlen[LW-1:0];
      beats_n = hbeats[LW-1:0];
      cd_n = '0;
    end
    if (!rst_ni) begin
      busy_n = 1'b0;  v_n = '0;  pb_n = '0;  pn_n = '0;
      left_n = '0;  beats_n = '0;  len_n = '0;  cd_n = '0;
    end
  end

  always_ff @(posedge clk) begin : p_flops
    busy_q <= busy_n;  v_q <= v_n;  pb_q <= pb_n;  pn_q <= pn_n;
    left_q <= left_n;  beats_q <= beats_n;  len_q <= len_n;  cd_q <= cd_n;
  end

  // State-only outputs (no input-to-output path): the core's ingress stage
  // reads them before it computes this edge's load (no combinational loop).
  assign rx_ready_o = busy_q && beats_q == '0 && cd_q == '0;
  assign tag_q_o = cmm_mac_pkg::sip_final(cmm_mac_pkg::sip_block(v_q,
                     {len_q[7:0] + 8'd32, pb_q & ~({56{1'b1}} << (8 * pn_q))}));
  assign busy_o = busy_q;
  assign ready_o = busy_q && beats_q != '0;

endmodule
