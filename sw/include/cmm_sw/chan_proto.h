// Channel id-exchange protocol between kernel agents (DESIGN step 1, patent
// 502/503), carried in the 4 x 32-bit payload of MGMT messages.
//
// The source node and partition of a MGMT message are NOT in the payload: the
// sending CMM stamps them into the header and the receiving CMM shows them in
// MGMT_RX_STATUS.SRC_NODE/SRC_PART (I4). Agents use only those stamped ids to
// learn who the peer is; payload fields never name a node or partition.
//
// Word 0 (all messages)
//   [7:0]   PROTO   0xC1 (channel protocol, version 1); other values: not ours
//   [15:8]  TYPE    1 CHAN_REQ, 2 CHAN_INFO, 3 CHAN_REFUSE, 4 CHAN_CANCEL
//   [31:16] REQ_ID  chosen by the receiver-side agent, echoed in the answer
//
// CHAN_REQ     receiver-side agent -> sender-side agent
//   word 1  [7:0]  RECV_EP     the receive endpoint allocated for the channel
//           [15:8] 0
//           [31:16] RECV_PID   the receiving process (informational, policy)
//   word 2  [15:0] SEND_PID    the process on the sender's partition that will send
//           [31:16] 0
//   word 3  0
// CHAN_INFO    sender-side agent -> receiver-side agent (request granted)
//   word 1  [7:0]  SEND_EP     the send endpoint, AUTHORIZED, remote = the
//                              requester's stamped node/partition + RECV_EP
//           [15:8] 0
//           [31:16] SEND_PID   echo of the request
//   words 2, 3  0
// CHAN_REFUSE  sender-side agent -> receiver-side agent (request refused)
//   word 1  [7:0]  REASON      regs::Reason (QUOTA_EXCEEDED, NO_FREE_EP,
//                              DENIED by policy, BAD_FIELD for a malformed request)
//           [15:8] 0
//           [31:16] SEND_PID   echo of the request
//   words 2, 3  0
// CHAN_CANCEL  receiver-side agent -> sender-side agent (request withdrawn:
//              cancel_request(), the request failed after CHAN_INFO, or a
//              CHAN_INFO arrived for a request the receiver no longer knows)
//   word 1  [7:0]  REASON      why (OK for an explicit cancel)
//           [15:8] 0
//           [31:16] SEND_PID   echo of the request
//   words 2, 3  0
//   The sender-side agent releases the send endpoint it granted for
//   (stamped node, stamped partition, REQ_ID) if no CONNECT has opened it yet;
//   otherwise it ignores the message. It never answers a CHAN_CANCEL.
// Reserved bits are sent as 0; a message with non-zero reserved bits or an
// unknown TYPE is not decoded (the agent reports it as kMgmtOther).
#pragma once
#include <array>
#include <cstdint>

#include "cmm_regs.h"

namespace cmm::sw {

using MgmtWords = std::array<uint32_t, regs::kMgmtWords>;

namespace chan_proto {

inline constexpr uint32_t kProtoV1 = 0xC1u;

inline constexpr uint32_t kW0ProtoLsb = 0, kW0ProtoMask = 0xFFu;
inline constexpr uint32_t kW0TypeLsb = 8, kW0TypeMask = 0xFFu;
inline constexpr uint32_t kW0ReqIdLsb = 16, kW0ReqIdMask = 0xFFFFu;
inline constexpr uint32_t kW1EpLsb = 0, kW1EpMask = 0xFFu;         // RECV_EP / SEND_EP / REASON
inline constexpr uint32_t kW1PidLsb = 16, kW1PidMask = 0xFFFFu;    // RECV_PID / SEND_PID
inline constexpr uint32_t kW2PidLsb = 0, kW2PidMask = 0xFFFFu;     // SEND_PID of CHAN_REQ

enum class Type : uint8_t { kNone = 0, kChanReq = 1, kChanInfo = 2, kChanRefuse = 3, kChanCancel = 4 };

// Decoded form of any of the three messages; fields unused by a type are 0.
struct Msg {
  Type type = Type::kNone;
  uint16_t req_id = 0;
  uint8_t ep = 0;          // CHAN_REQ: RECV_EP; CHAN_INFO: SEND_EP
  uint16_t recv_pid = 0;   // CHAN_REQ
  uint16_t send_pid = 0;   // all
  regs::Reason reason = regs::Reason::kOk;  // CHAN_REFUSE, CHAN_CANCEL

  bool operator==(const Msg& o) const {
    return type == o.type && req_id == o.req_id && ep == o.ep && recv_pid == o.recv_pid &&
           send_pid == o.send_pid && reason == o.reason;
  }
};

MgmtWords encode(const Msg& m);
// False when the words are not a well-formed channel-protocol message.
[[nodiscard]] bool decode(const MgmtWords& w, Msg& out);

inline Msg chan_req(uint16_t req_id, uint8_t recv_ep, uint16_t recv_pid, uint16_t send_pid) {
  Msg m;
  m.type = Type::kChanReq;
  m.req_id = req_id;
  m.ep = recv_ep;
  m.recv_pid = recv_pid;
  m.send_pid = send_pid;
  return m;
}
inline Msg chan_info(uint16_t req_id, uint8_t send_ep, uint16_t send_pid) {
  Msg m;
  m.type = Type::kChanInfo;
  m.req_id = req_id;
  m.ep = send_ep;
  m.send_pid = send_pid;
  return m;
}
inline Msg chan_refuse(uint16_t req_id, regs::Reason why, uint16_t send_pid) {
  Msg m;
  m.type = Type::kChanRefuse;
  m.req_id = req_id;
  m.reason = why;
  m.send_pid = send_pid;
  return m;
}

inline Msg chan_cancel(uint16_t req_id, regs::Reason why, uint16_t send_pid) {
  Msg m = chan_refuse(req_id, why, send_pid);
  m.type = Type::kChanCancel;
  return m;
}

}  // namespace chan_proto
}  // namespace cmm::sw
