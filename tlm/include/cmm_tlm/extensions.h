// TLM-2.0 payload extensions and the fabric packet of the CMM system.
//  * RequesterId: side-band requester id of a register access (stamped by
//    hardware: partition by the NodeBus port, privilege/pid by the CPU context).
//  * RegResponse: the exact core response status (OK/DENIED/DECERR/REJECT),
//    which the TLM response status alone cannot carry.
//  * LinkExt: carries a Packet or a credit return on the fabric links.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <systemc>
#include <tlm>

#include "cmm_pins.h"
#include "cmm_regs.h"

namespace cmm::tlmshell {

class RequesterId : public ::tlm::tlm_extension<RequesterId> {
 public:
  uint8_t part = 0;                                        // set by the NodeBus port, never by software
  regs::Priv priv = regs::Priv::kUser;                     // set by the CPU hardware context
  uint16_t pid = 0;                                        // set by the CPU hardware context
  bool fw = false;  // FIRMWARE: set by the NodeBus, only on its board-management port (strong-mode.md 11.3)

  ::tlm::tlm_extension_base* clone() const override { return new RequesterId(*this); }
  void copy_from(const ::tlm::tlm_extension_base& e) override {
    const auto& o = static_cast<const RequesterId&>(e);
    part = o.part;
    priv = o.priv;
    pid = o.pid;
    fw = o.fw;
  }
};

// Filled by the CmmTlm target when it completes a register transaction.
class RegResponse : public ::tlm::tlm_extension<RegResponse> {
 public:
  regs::Rsp status = regs::Rsp::kOk;  // the core's reg_rsp_status (DECERR for shell-level errors)
  bool shell_error = false;           // refused by the TLM shell before reaching the core
  bool buf = false;                   // payload window access served by the packet buffer

  ::tlm::tlm_extension_base* clone() const override { return new RegResponse(*this); }
  void copy_from(const ::tlm::tlm_extension_base& e) override {
    const auto& o = static_cast<const RegResponse&>(e);
    status = o.status;
    shell_error = o.shell_error;
    buf = o.buf;
  }
};

// Bytes a header occupies on a link (kHdrBits rounded up to bytes).
inline constexpr uint32_t kHeaderBytes = (regs::kHdrBits + 7) / 8;

// One fabric packet: header + class + payload bytes (DATA only) + CRC-32C.
// Fixed size, never allocated per message: senders and receivers own pools
// of these and copy on delivery.
struct Packet {
  Header hdr{};
  uint8_t cls = 0;           // 0 request class, 1 response class
  uint16_t payload_len = 0;  // bytes valid in payload (a rogue sender may claim more: never trusted)
  uint64_t id = 0;           // trace id (sender node << 48 | sequence)
  uint32_t crc = 0;          // CRC-32C over packed header bytes + payload (set by the sending shell)
  std::array<uint8_t, regs::kMaxMsgBytes> payload{};

  static constexpr uint32_t kCapacity = regs::kMaxMsgBytes;
  // Payload bytes actually present: the claimed length clamped to the capacity.
  uint32_t carried() const { return payload_len < kCapacity ? payload_len : kCapacity; }
  uint32_t wire_bytes() const { return kHeaderBytes + carried(); }
  // Copies at most kCapacity payload bytes whatever payload_len claims.
  void copy_from(const Packet& o) {
    hdr = o.hdr;
    cls = o.cls;
    id = o.id;
    crc = o.crc;
    payload_len = static_cast<uint16_t>(o.carried());
    std::memcpy(payload.data(), o.payload.data(), payload_len);
  }
};

// Lengths are never trusted (docs/security.md 1.8): true when the header's
// len equals the carried payload length and neither exceeds max_msg_bytes
// (non-DATA packets carry no payload, so their len must be 0 too).
inline bool length_ok(const Packet& p) {
  const uint32_t len = p.hdr.len & ((1u << regs::kHdrLenBits) - 1u);
  return p.payload_len <= Packet::kCapacity && len == p.payload_len;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final XOR
// 0xFFFFFFFF): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const uint8_t* data, size_t n);
// Continues a running CRC (`state` = un-inverted register, start 0xFFFFFFFF).
uint32_t crc32c_update(uint32_t state, const uint8_t* data, size_t n);
// CRC of a packet: the kHeaderBytes bytes of Header::pack() (little-endian
// words, field 0 at bit 0), then the carried payload bytes.
uint32_t packet_crc(const Packet& p);
inline void seal(Packet& p) { p.crc = packet_crc(p); }
inline bool crc_ok(const Packet& p) { return p.crc == packet_crc(p); }

// Packets dropped by a fabric port or a shell, by reason (docs/security.md 1.8).
struct DropCount {
  uint64_t bad_len = 0;      // BAD_LEN: len / payload length disagree or exceed max_msg_bytes
  uint64_t src_spoofed = 0;  // SRC_SPOOFED: src_node is not the node attached to the port
  uint64_t hol_timeout = 0;  // HOL_TIMEOUT: head-of-queue lifetime exceeded (credits withheld)
  uint64_t bad_crc = 0;      // BAD_CRC: CRC-32C mismatch (receiving shell)

  uint64_t total() const { return bad_len + src_spoofed + hol_timeout + bad_crc; }
  // Count by reason code (other reasons: 0 / ignored).
  uint64_t of(regs::Reason r) const {
    switch (r) {
      case regs::Reason::kBadLen: return bad_len;
      case regs::Reason::kSrcSpoofed: return src_spoofed;
      case regs::Reason::kHolTimeout: return hol_timeout;
      case regs::Reason::kBadCrc: return bad_crc;
      default: return 0;
    }
  }
  void add(regs::Reason r) {
    switch (r) {
      case regs::Reason::kBadLen: ++bad_len; break;
      case regs::Reason::kSrcSpoofed: ++src_spoofed; break;
      case regs::Reason::kHolTimeout: ++hol_timeout; break;
      case regs::Reason::kBadCrc: ++bad_crc; break;
      default: break;
    }
  }
};

// Fabric link protocol (see docs/tlm.md): BEGIN_REQ on the forward path
// carries a Packet (the receiver copies it and returns TLM_COMPLETED; the
// packet arrives at sc_time_stamp() + delay); BEGIN_RESP on the backward path
// carries `credits` credits of class `cls` back to the sender.
class LinkExt : public ::tlm::tlm_extension<LinkExt> {
 public:
  enum Kind : uint8_t { kPacket = 0, kCredit = 1 };
  Kind kind = kPacket;
  Packet* pkt = nullptr;
  uint8_t cls = 0;
  uint16_t credits = 0;

  ::tlm::tlm_extension_base* clone() const override { return new LinkExt(*this); }
  void copy_from(const ::tlm::tlm_extension_base& e) override {
    const auto& o = static_cast<const LinkExt&>(e);
    kind = o.kind;
    pkt = o.pkt;
    cls = o.cls;
    credits = o.credits;
  }
};

// Small fixed-capacity ring buffer (storage allocated once).
template <typename T>
class Ring {
 public:
  explicit Ring(size_t cap = 0) : e_(cap) {}
  void reset(size_t cap) { e_.assign(cap, T{}); head_ = count_ = 0; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == e_.size(); }
  size_t size() const { return count_; }
  size_t capacity() const { return e_.size(); }
  T& front() { return e_[head_]; }
  const T& front() const { return e_[head_]; }
  T& at(size_t i) { return e_[wrap(head_ + i)]; }
  void push(const T& v) { e_[wrap(head_ + count_)] = v; ++count_; }
  // Appends the slot as it is (its old contents) and returns it: for large
  // elements the caller fills only what it uses, without a copy.
  T& push_slot() {
    T& s = e_[wrap(head_ + count_)];
    ++count_;
    return s;
  }
  void pop() {
    head_ = wrap(head_ + 1);
    --count_;
  }

 private:
  // Indices below twice the capacity (head_ < cap, offsets <= cap): no division.
  size_t wrap(size_t i) const { return i >= e_.size() ? i - e_.size() : i; }
  std::vector<T> e_;
  size_t head_ = 0, count_ = 0;
};

inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace cmm::tlmshell
