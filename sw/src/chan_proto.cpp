#include "cmm_sw/chan_proto.h"

namespace cmm::sw {

std::string_view to_string(AgentReason r) {
  switch (r) {
    case AgentReason::kNone: return "NONE";
    case AgentReason::kWrongSource: return "WRONG_SOURCE";
    case AgentReason::kUnknownRequest: return "UNKNOWN_REQUEST";
    case AgentReason::kNotPending: return "NOT_PENDING";
    case AgentReason::kPeerLimit: return "PEER_LIMIT";
    case AgentReason::kRequestExpired: return "REQUEST_EXPIRED";
    case AgentReason::kGrantExpired: return "GRANT_EXPIRED";
    case AgentReason::kConnectTimeout: return "CONNECT_TIMEOUT";
    case AgentReason::kPolicy: return "POLICY";
    case AgentReason::kMalformed: return "MALFORMED";
    case AgentReason::kMgmtNacked: return "MGMT_NACKED";
    case AgentReason::kCount: break;
  }
  return "?";
}

namespace chan_proto {

namespace {
constexpr uint32_t put(uint32_t w, uint32_t lsb, uint32_t mask, uint32_t v) { return regs::field_set(w, lsb, mask, v); }
constexpr uint32_t get(uint32_t w, uint32_t lsb, uint32_t mask) { return regs::field_get(w, lsb, mask); }
}  // namespace

MgmtWords encode(const Msg& m) {
  MgmtWords w{};
  w[0] = put(w[0], kW0ProtoLsb, kW0ProtoMask, kProto);
  w[0] = put(w[0], kW0TypeLsb, kW0TypeMask, static_cast<uint32_t>(m.type));
  w[0] = put(w[0], kW0ReqIdLsb, kW0ReqIdMask, m.req_id);
  switch (m.type) {
    case Type::kChanReq:
      w[1] = put(w[1], kW1EpLsb, kW1EpMask, m.ep);
      w[3] = put(w[3], kW3EpHiLsb, kW3EpHiMask, m.ep >> 8);
      w[1] = put(w[1], kW1GenLsb, kW1GenMask, m.gen);
      w[1] = put(w[1], kW1PidLsb, kW1PidMask, m.recv_pid);
      w[2] = put(w[2], kW2PidLsb, kW2PidMask, m.send_pid);
      w[2] = put(w[2], kW2ModeLsb, kW2ModeMask, m.mode);
      break;
    case Type::kChanInfo:
      w[1] = put(w[1], kW1EpLsb, kW1EpMask, m.ep);
      w[3] = put(w[3], kW3EpHiLsb, kW3EpHiMask, m.ep >> 8);
      w[1] = put(w[1], kW1GenLsb, kW1GenMask, m.gen);
      w[1] = put(w[1], kW1PidLsb, kW1PidMask, m.send_pid);
      w[2] = put(w[2], kW2InfoModeLsb, kW2InfoModeMask, m.mode);
      break;
    case Type::kChanRefuse:
    case Type::kChanCancel:
      w[1] = put(w[1], kW1EpLsb, kW1EpMask, static_cast<uint32_t>(m.reason));
      w[1] = put(w[1], kW1GenLsb, kW1GenMask, static_cast<uint32_t>(m.agent_reason));
      w[1] = put(w[1], kW1PidLsb, kW1PidMask, m.send_pid);
      break;
    case Type::kNone:
      break;
  }
  return w;
}

bool decode(const MgmtWords& w, Msg& out) {
  if (!is_ours(w)) return false;
  const uint32_t type = get(w[0], kW0TypeLsb, kW0TypeMask);
  const uint32_t hi = get(w[3], kW3EpHiLsb, kW3EpHiMask);
  if ((w[3] & ~(kW3EpHiMask << kW3EpHiLsb)) != 0) return false;
  Msg m;
  m.req_id = static_cast<uint16_t>(get(w[0], kW0ReqIdLsb, kW0ReqIdMask));
  const uint32_t lo = get(w[1], kW1EpLsb, kW1EpMask);
  const uint32_t mid = get(w[1], kW1GenLsb, kW1GenMask);
  const uint32_t pid = get(w[1], kW1PidLsb, kW1PidMask);
  switch (static_cast<Type>(type)) {
    case Type::kChanReq:
      if ((w[2] & ~(kW2PidMask << kW2PidLsb | kW2ModeMask << kW2ModeLsb)) != 0) return false;
      if (get(w[2], kW2ModeLsb, kW2ModeMask) >= regs::kModeCount) return false;
      m.type = Type::kChanReq;
      m.mode = static_cast<uint8_t>(get(w[2], kW2ModeLsb, kW2ModeMask));
      m.ep = static_cast<uint16_t>(lo | hi << 8);
      m.gen = static_cast<uint8_t>(mid);
      m.recv_pid = static_cast<uint16_t>(pid);
      m.send_pid = static_cast<uint16_t>(get(w[2], kW2PidLsb, kW2PidMask));
      break;
    case Type::kChanInfo:
      if ((w[2] & ~(kW2InfoModeMask << kW2InfoModeLsb)) != 0) return false;
      if (get(w[2], kW2InfoModeLsb, kW2InfoModeMask) >= regs::kModeCount) return false;
      m.type = Type::kChanInfo;
      m.mode = static_cast<uint8_t>(get(w[2], kW2InfoModeLsb, kW2InfoModeMask));
      m.ep = static_cast<uint16_t>(lo | hi << 8);
      m.gen = static_cast<uint8_t>(mid);
      m.send_pid = static_cast<uint16_t>(pid);
      break;
    case Type::kChanRefuse:
    case Type::kChanCancel:
      if (w[2] != 0 || hi != 0 || lo >= regs::kReasonCount || mid >= static_cast<uint32_t>(AgentReason::kCount)) return false;
      m.type = static_cast<Type>(type);
      m.reason = static_cast<regs::Reason>(lo);
      m.agent_reason = static_cast<AgentReason>(mid);
      m.send_pid = static_cast<uint16_t>(pid);
      break;
    default:
      return false;
  }
  out = m;
  return true;
}

}  // namespace chan_proto
}  // namespace cmm::sw
