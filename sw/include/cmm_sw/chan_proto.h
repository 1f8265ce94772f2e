// Channel id-exchange protocol between kernel agents (DESIGN step 1, patent
// 502/503), carried in the 4 x 32-bit payload of MGMT messages.
//
// The source node and partition of a MGMT message are NOT in the payload: the
// sending CMM stamps them into the header and the receiving CMM shows them in
// MGMT_RX_STATUS.SRC_NODE/SRC_PART (I4). Agents use only those stamped ids to
// learn who the peer is; payload fields never name a node or partition.
//
// Word 0 (all messages)
//   [7:0]   PROTO   0xC2 (channel protocol, version 2); other values: not ours
//   [15:8]  TYPE    1 CHAN_REQ, 2 CHAN_INFO, 3 CHAN_REFUSE, 4 CHAN_CANCEL
//   [31:16] REQ_ID  chosen by the receiver-side agent, echoed in the answer
//
// CHAN_REQ     receiver-side agent -> sender-side agent
//   word 1  [7:0]  RECV_EP     the receive endpoint allocated for the channel
//           [15:8] RECV_GEN    its generation (CST_GEN.LOCAL after ALLOC)
//           [31:16] RECV_PID   the receiving process (informational, policy)
//   word 2  [15:0] SEND_PID    the process on the sender's partition that will send
//           [23:16] MODE       requested channel mode (regs::Mode: 0 PLAIN, 1 STRONG;
//                              docs/strong-mode.md 2; > 1: not decoded)
//           [31:24] 0
//   word 3  0
// CHAN_INFO    sender-side agent -> receiver-side agent (request granted)
//   word 1  [7:0]  SEND_EP     the send endpoint, AUTHORIZED, remote = the
//                              requester's stamped node/partition + RECV_EP,
//                              CST_GEN.REMOTE = RECV_GEN
//           [15:8] SEND_GEN    its generation (CST_GEN.LOCAL after ALLOC)
//           [31:16] SEND_PID   echo of the request
//   word 2  [7:0]  MODE        the mode the sender's entry was given (echo of the
//                              request's MODE; the receiver cancels on a difference)
//           [31:8] 0
//   word 3  0
// CHAN_REFUSE  sender-side agent -> receiver-side agent (request refused)
//   word 1  [7:0]  REASON      regs::Reason (QUOTA_EXCEEDED, NO_FREE_EP,
//                              DENIED by policy or limit, BAD_FIELD for a malformed request)
//           [15:8] AGENT_REASON  AgentReason of the refusing agent (0 = none)
//           [31:16] SEND_PID   echo of the request
//   words 2, 3  0
// CHAN_CANCEL  receiver-side agent -> sender-side agent (request withdrawn:
//              cancel_request(), the request failed or expired after CHAN_INFO,
//              or a CHAN_INFO arrived for a request the receiver no longer knows)
//   word 1  [7:0]  REASON      why (OK for an explicit cancel)
//           [15:8] AGENT_REASON  AgentReason (e.g. CONNECT_TIMEOUT), 0 = none
//           [31:16] SEND_PID   echo of the request
//   words 2, 3  0
//   The sender-side agent releases the send endpoint it granted for
//   (stamped node, stamped partition, REQ_ID) if no CONNECT has opened it yet;
//   otherwise it ignores the message. It never answers a CHAN_CANCEL.
// Reserved bits are sent as 0; a message with non-zero reserved bits, an
// unknown TYPE or an out-of-range REASON/AGENT_REASON is not decoded (the agent
// reports it as kMgmtOther).
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "cmm_regs.h"

namespace cmm::sw {

using MgmtWords = std::array<uint32_t, regs::kMgmtWords>;

// Why a kernel agent refused, dropped, expired or gave up on something. The
// hardware reason codes (regs::Reason) say what the CMM did; these say what
// the agent decided. Counted in AgentStats; carried in CHAN_REFUSE/CHAN_CANCEL.
enum class AgentReason : uint8_t {
  kNone = 0,
  kWrongSource,     // channel-protocol message whose stamped source is not the expected peer
  kUnknownRequest,  // REQ_ID matches no request or grant of that peer
  kNotPending,      // answer for a request that no longer waits for one (duplicate, late)
  kPeerLimit,       // the peer already holds the allowed number of outstanding requests/grants
  kRequestExpired,  // our CHAN_REQ got no answer in time
  kGrantExpired,    // a granted send endpoint saw no CONNECT in time: released
  kConnectTimeout,  // CONNECT unanswered after the bounded re-sends: entry CLOSEd
  kPolicy,          // the accept policy refused the request
  kMalformed,       // channel-protocol id with a bad layout (or a bad endpoint number)
  kMgmtNacked,      // a MGMT message of ours was NACKed (node-authenticated only: a hint)
  kCount
};
std::string_view to_string(AgentReason r);

namespace chan_proto {

inline constexpr uint32_t kProtoV2 = 0xC2u;
inline constexpr uint32_t kProto = kProtoV2;

inline constexpr uint32_t kW0ProtoLsb = 0, kW0ProtoMask = 0xFFu;
inline constexpr uint32_t kW0TypeLsb = 8, kW0TypeMask = 0xFFu;
inline constexpr uint32_t kW0ReqIdLsb = 16, kW0ReqIdMask = 0xFFFFu;
inline constexpr uint32_t kW1EpLsb = 0, kW1EpMask = 0xFFu;         // RECV_EP / SEND_EP / REASON
inline constexpr uint32_t kW1GenLsb = 8, kW1GenMask = 0xFFu;       // RECV_GEN / SEND_GEN / AGENT_REASON
inline constexpr uint32_t kW1PidLsb = 16, kW1PidMask = 0xFFFFu;    // RECV_PID / SEND_PID
inline constexpr uint32_t kW2PidLsb = 0, kW2PidMask = 0xFFFFu;     // SEND_PID of CHAN_REQ
inline constexpr uint32_t kW2ModeLsb = 16, kW2ModeMask = 0xFFu;    // MODE of CHAN_REQ
inline constexpr uint32_t kW2InfoModeLsb = 0, kW2InfoModeMask = 0xFFu;  // MODE of CHAN_INFO
// RECV_EP / SEND_EP bits 15:8 (16-bit endpoint ids); 0 below 256, so those messages are unchanged.
inline constexpr uint32_t kW3EpHiLsb = 0, kW3EpHiMask = 0xFFu;

enum class Type : uint8_t { kNone = 0, kChanReq = 1, kChanInfo = 2, kChanRefuse = 3, kChanCancel = 4 };

// Decoded form of any of the messages; fields unused by a type are 0.
struct Msg {
  Type type = Type::kNone;
  uint16_t req_id = 0;
  uint16_t ep = 0;         // CHAN_REQ: RECV_EP; CHAN_INFO: SEND_EP
  uint8_t gen = 0;         // CHAN_REQ: RECV_GEN; CHAN_INFO: SEND_GEN
  uint16_t recv_pid = 0;   // CHAN_REQ
  uint16_t send_pid = 0;   // all
  regs::Reason reason = regs::Reason::kOk;  // CHAN_REFUSE, CHAN_CANCEL
  AgentReason agent_reason = AgentReason::kNone;  // CHAN_REFUSE, CHAN_CANCEL
  uint8_t mode = 0;  // CHAN_REQ, CHAN_INFO: regs::Mode of the channel

  bool operator==(const Msg& o) const {
    return type == o.type && req_id == o.req_id && ep == o.ep && gen == o.gen && recv_pid == o.recv_pid &&
           send_pid == o.send_pid && reason == o.reason && agent_reason == o.agent_reason && mode == o.mode;
  }
};

MgmtWords encode(const Msg& m);
// False when the words are not a well-formed channel-protocol message.
[[nodiscard]] bool decode(const MgmtWords& w, Msg& out);
// True when word 0 carries our protocol id (decodable or not).
inline bool is_ours(const MgmtWords& w) { return regs::field_get(w[0], kW0ProtoLsb, kW0ProtoMask) == kProto; }

inline Msg chan_req(uint16_t req_id, uint16_t recv_ep, uint16_t recv_pid, uint16_t send_pid, uint8_t recv_gen = 0,
                    uint8_t mode = 0) {
  Msg m;
  m.mode = mode;
  m.type = Type::kChanReq;
  m.req_id = req_id;
  m.ep = recv_ep;
  m.gen = recv_gen;
  m.recv_pid = recv_pid;
  m.send_pid = send_pid;
  return m;
}
inline Msg chan_info(uint16_t req_id, uint16_t send_ep, uint16_t send_pid, uint8_t send_gen = 0, uint8_t mode = 0) {
  Msg m;
  m.mode = mode;
  m.type = Type::kChanInfo;
  m.req_id = req_id;
  m.ep = send_ep;
  m.gen = send_gen;
  m.send_pid = send_pid;
  return m;
}
inline Msg chan_refuse(uint16_t req_id, regs::Reason why, uint16_t send_pid,
                       AgentReason agent_why = AgentReason::kNone) {
  Msg m;
  m.type = Type::kChanRefuse;
  m.req_id = req_id;
  m.reason = why;
  m.agent_reason = agent_why;
  m.send_pid = send_pid;
  return m;
}

inline Msg chan_cancel(uint16_t req_id, regs::Reason why, uint16_t send_pid,
                       AgentReason agent_why = AgentReason::kNone) {
  Msg m = chan_refuse(req_id, why, send_pid, agent_why);
  m.type = Type::kChanCancel;
  return m;
}

}  // namespace chan_proto
}  // namespace cmm::sw
