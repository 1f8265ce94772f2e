// MAC of a header-only packet (11.4), combinational: ACK, NACK, CLOSE, and
// DATA with len = 0.
module cmm_mac_hdr
(
  input  logic [127:0]   key_i,
  input  logic [cmm_pkg::HDR_BITS-1:0] hdr_i,
  output logic [127:0]   tag_o
);
  assign tag_o = cmm_mac_pkg::mac_hdr(key_i, cmm_mac_pkg::hdr_bytes(hdr_i));
endmodule
