#include "trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "cmm_pins.h"

namespace cmm::tb {

using Buf = fmt::memory_buffer;

// ---------------------------------------------------------------- helpers

std::string vcd_identifier(uint64_t n) {
  // Bijective base 94 over '!'..'~': every n gets a distinct, shortest code.
  std::string s;
  do {
    s.push_back(static_cast<char>(33 + n % 94));
    n /= 94;
  } while (n-- > 0);
  return s;
}

namespace {

void put(Buf& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

template <class... A>
void putf(Buf& b, fmt::format_string<A...> f, A&&... a) {
  fmt::format_to(std::back_inserter(b), f, std::forward<A>(a)...);
}

void put_ts(Buf& b, TimePs ps) {
  putf(b, "{}", ps / 1000000);
  uint64_t frac = ps % 1000000;
  if (frac == 0) return;
  char d[6];
  for (int i = 5; i >= 0; --i, frac /= 10) d[i] = static_cast<char>('0' + frac % 10);
  int n = 6;
  while (d[n - 1] == '0') --n;
  b.push_back('.');
  b.append(d, d + n);
}

void put_str(Buf& b, std::string_view s) {
  // Plain printable ASCII (almost every name) needs no escaping; anything else
  // goes through nlohmann-json, the project's one JSON escaper (invalid UTF-8
  // becomes U+FFFD instead of an invalid file).
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    b.push_back('"');
    b.append(s.data(), s.data() + s.size());
    b.push_back('"');
    return;
  }
  put(b, nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void put_double(Buf& b, double v) {
  if (std::isfinite(v))
    putf(b, "{}", v);  // shortest round-trip form, locale-independent
  else
    put(b, "null");
}

void put_arg_value(Buf& b, const TraceArg& a) {
  switch (a.kind()) {
    case TraceArg::Kind::kInt: putf(b, "{}", a.i()); break;
    case TraceArg::Kind::kUint: putf(b, "{}", a.u()); break;
    case TraceArg::Kind::kDouble: put_double(b, a.d()); break;
    case TraceArg::Kind::kBool: put(b, a.u() ? "true" : "false"); break;
    case TraceArg::Kind::kStr: put_str(b, a.s()); break;
  }
}

// Output stream with a write buffer and a byte count.
class Sink {
 public:
  explicit Sink(const std::string& path)
      : file_(std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc)), name_(path) {
    if (!*file_) throw std::runtime_error(fmt::format("cannot open trace file '{}' for writing", path));
    out_ = file_.get();
  }
  explicit Sink(std::ostream& o) : out_(&o), name_("<stream>") {}

  void append(const char* p, size_t n) {
    buf_.append(p, p + n);
    bytes_ += n;
    if (buf_.size() >= kFlushAt) flush();
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(const Buf& b) { append(b.data(), b.size()); }
  void finish() {
    flush();
    out_->flush();
    if (file_) file_->close();
  }
  uint64_t bytes() const { return bytes_; }
  const std::string& name() const { return name_; }

 private:
  static constexpr size_t kFlushAt = size_t{1} << 20;
  void flush() {
    out_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  std::unique_ptr<std::ofstream> file_;
  std::ostream* out_ = nullptr;
  std::string name_;
  Buf buf_;
  uint64_t bytes_ = 0;
};

// Window, node filter and byte budget.
class Limits {
 public:
  explicit Limits(TraceLimits l) : l_(std::move(l)) {
    all_nodes_ = l_.nodes.empty();
    for (uint32_t n : l_.nodes) {
      if (n >= node_ok_.size()) node_ok_.resize(n + 1, false);
      node_ok_[n] = true;
    }
  }
  bool node(uint32_t n) const { return all_nodes_ || (n < node_ok_.size() && node_ok_[n]); }
  bool time(TimePs t) const { return t >= l_.from_ps && t < l_.to_ps; }
  bool visible(uint32_t n, TimePs t) const { return time(t) && node(n); }
  TimePs from() const { return l_.from_ps; }
  TimePs to() const { return l_.to_ps; }
  uint64_t max_bytes() const { return l_.max_bytes; }
  // True when `total` bytes stay within the hard cap (with `reserve` left over).
  bool fits(uint64_t total, uint64_t reserve) const { return l_.max_bytes == 0 || total + reserve <= l_.max_bytes; }
  void check_warn(uint64_t bytes, const char* kind, const std::string& name) {
    if (warned_ || l_.warn_bytes == 0 || bytes <= l_.warn_bytes) return;
    warned_ = true;
    std::string msg = fmt::format(
        "warning: {} '{}' is larger than {} bytes; narrow it with a time window or a node filter{}", kind,
        name, l_.warn_bytes, l_.max_bytes ? fmt::format(" (it stops at {} bytes)", l_.max_bytes) : "");
    if (l_.on_warning)
      l_.on_warning(msg);
    else
      std::fprintf(stderr, "%s\n", msg.c_str());
  }

 private:
  TraceLimits l_;
  bool all_nodes_ = true;
  std::vector<bool> node_ok_;
  bool warned_ = false;
};

constexpr uint32_t kNone = UINT32_MAX;
// Room kept below max_bytes for the truncation marker and the footer.
constexpr uint64_t kFooterReserve = 256;

}  // namespace

std::string ps_to_us_string(TimePs ps) {
  Buf b;
  put_ts(b, ps);
  return fmt::to_string(b);
}

// ---------------------------------------------------------------- PerfettoTrace

struct PerfettoTrace::Impl {
  Sink sink;
  Limits lim;
  bool stopped = false;  // closed or truncated
  bool truncated = false;
  bool first = true;
  uint64_t events = 0, dropped = 0;
  uint64_t next_flow = 1;
  TimePs max_ts = 0;
  Buf ev;  // the event being formatted

  std::vector<std::string> node_names;
  std::vector<uint8_t> node_meta;  // process metadata written
  std::map<std::pair<uint32_t, std::string>, uint32_t, std::less<>> tracks;
  std::vector<uint32_t> tracks_per_node;
  std::map<std::string, uint32_t, std::less<>> name_index;
  std::vector<std::string> names;

  // A message in flight: its span ("segment") on the node it is on, if shown.
  struct Msg {
    uint32_t name = kNone;
    uint32_t node = 0;
    uint32_t seg_tid = 0;
    uint32_t stage = kNone;
    uint32_t stage_tid = 0;
    bool seg_open = false;
    bool stage_open = false;
  };
  std::unordered_map<uint64_t, Msg> msgs;

  Impl(Sink s, TraceLimits l) : sink(std::move(s)), lim(std::move(l)) { sink.append("{\"traceEvents\":[\n"); }

  static uint32_t pid(uint32_t node) { return node + 1; }

  const std::string& node_name(uint32_t node) {
    if (node >= node_names.size()) node_names.resize(node + 1);
    if (node_names[node].empty()) node_names[node] = fmt::format("node {}", node);
    return node_names[node];
  }

  uint32_t intern(std::string_view s) {
    auto it = name_index.find(s);
    if (it != name_index.end()) return it->second;
    uint32_t i = static_cast<uint32_t>(names.size());
    names.emplace_back(s);
    name_index.emplace(names.back(), i);
    return i;
  }

  void note(TimePs ts) { max_ts = std::max(max_ts, ts); }

  // Writes `ev` as the next array element; `force` bypasses the cap (closing events).
  bool commit(bool force = false) {
    if (stopped && !force) {
      ++dropped;
      return false;
    }
    uint64_t add = ev.size() + (first ? 0 : 2);
    if (!force && !lim.fits(sink.bytes() + add, kFooterReserve)) {
      truncate();
      ++dropped;
      return false;
    }
    if (!first) sink.append(",\n");
    first = false;
    sink.append(ev);
    ++events;
    lim.check_warn(sink.bytes(), "Perfetto trace", sink.name());
    return true;
  }

  // {"name":..,"cat":..,"ph":..,"ts":..,"pid":..[,"tid":..]  (caller closes the brace)
  void head(std::string_view name, std::string_view cat, char ph, TimePs ts, uint32_t node, uint32_t tid) {
    ev.clear();
    put(ev, "{\"name\":");
    put_str(ev, name);
    if (!cat.empty()) {
      put(ev, ",\"cat\":");
      put_str(ev, cat);
    }
    putf(ev, ",\"ph\":\"{}\",\"ts\":", ph);
    put_ts(ev, ts);
    putf(ev, ",\"pid\":{}", pid(node));
    if (tid != 0) putf(ev, ",\"tid\":{}", tid);
  }
  void id2(uint64_t id) { putf(ev, ",\"id2\":{{\"local\":\"0x{:x}\"}}", id); }
  void args(TraceArgs a, std::initializer_list<TraceArg> extra = {}) {
    if (a.size() + extra.size() == 0) return;
    put(ev, ",\"args\":{");
    bool comma = false;
    for (const auto* list : {&extra, &a}) {
      for (const TraceArg& x : *list) {
        if (comma) ev.push_back(',');
        comma = true;
        put_str(ev, x.key());
        ev.push_back(':');
        put_arg_value(ev, x);
      }
    }
    ev.push_back('}');
  }

  void process_meta(uint32_t node) {
    if (node >= node_meta.size()) node_meta.resize(node + 1, 0);
    if (node_meta[node]) return;
    node_meta[node] = 1;
    ev.clear();
    putf(ev, "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{},\"args\":{{\"name\":", pid(node));
    put_str(ev, node_name(node));
    put(ev, "}}");
    commit();
    ev.clear();
    putf(ev, "{{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":{},\"args\":{{\"sort_index\":{}}}}}",
         pid(node), node);
    commit();
  }

  // ---- message spans
  void open_segment(uint64_t id, Msg& m, PerfettoTrace::Track tr, TimePs ts, TraceArgs a, uint64_t flow_in) {
    head(names[m.name], "msg", 'b', ts, tr.node, tr.tid);
    id2(id);
    args(a, {TraceArg("msg_id", id)});
    if (flow_in) putf(ev, ",\"bind_id\":{},\"flow_in\":true", flow_in);
    ev.push_back('}');
    if (!commit()) return;
    m.seg_open = true;
    m.node = tr.node;
    m.seg_tid = tr.tid;
  }
  // On a failed write the truncation has already ended the span (forced):
  // the open flags are cleared only after a successful write.
  void close_stage(uint64_t id, Msg& m, TimePs ts, bool force) {
    if (!m.stage_open) return;
    head(names[m.stage], "msg", 'e', ts, m.node, m.stage_tid);
    id2(id);
    ev.push_back('}');
    if (commit(force)) m.stage_open = false;
  }
  void close_segment(uint64_t id, Msg& m, TimePs ts, TraceArgs a, bool force, bool unfinished = false) {
    if (!m.seg_open) return;
    close_stage(id, m, ts, force);
    if (!m.seg_open) return;
    head(names[m.name], "msg", 'e', ts, m.node, m.seg_tid);
    id2(id);
    if (unfinished)
      args(a, {TraceArg("unfinished", true)});
    else
      args(a);
    ev.push_back('}');
    if (commit(force)) m.seg_open = false;
  }
  // Instant on the message's span, optionally carrying a flow end.
  void msg_instant(uint64_t id, const Msg& m, TimePs ts, std::string_view name, TraceArgs a,
                   uint64_t flow, bool out) {
    head(name, "msg", 'n', ts, m.node, m.stage_open ? m.stage_tid : m.seg_tid);
    id2(id);
    args(a);
    if (flow) putf(ev, ",\"bind_id\":{},\"{}\":true", flow, out ? "flow_out" : "flow_in");
    ev.push_back('}');
    commit();
  }

  void close_all(bool force) {
    std::vector<uint64_t> open;
    for (const auto& [id, m] : msgs)
      if (m.seg_open) open.push_back(id);
    std::sort(open.begin(), open.end());  // deterministic order
    for (uint64_t id : open) close_segment(id, msgs[id], max_ts, {}, force, true);
  }

  void finish() {
    sink.append("\n],\n\"displayTimeUnit\":\"ns\"}\n");
    sink.finish();
  }

  void truncate() {
    if (stopped) return;
    stopped = true;
    truncated = true;
    close_all(true);
    ev.clear();
    put(ev, "{\"name\":\"trace truncated\",\"cat\":\"trace\",\"ph\":\"i\",\"s\":\"g\",\"ts\":");
    put_ts(ev, max_ts);
    putf(ev, ",\"pid\":0,\"tid\":0,\"args\":{{\"max_bytes\":{},\"reason\":\"byte cap reached\"}}}}",
         lim.max_bytes());
    commit(true);
    finish();
  }

  // Checks there is room for a pair of events that must not be split (flow
  // ends); truncates otherwise.
  bool room(size_t text) {
    if (lim.fits(sink.bytes() + 2048 + 4 * text, kFooterReserve)) return true;
    truncate();
    return false;
  }

  Msg& find(uint64_t id, const char* what) {
    auto it = msgs.find(id);
    if (it == msgs.end()) throw std::logic_error(fmt::format("PerfettoTrace::{}: message {} not in flight", what, id));
    return it->second;
  }
};

PerfettoTrace::PerfettoTrace(const std::string& path, TraceLimits limits)
    : impl_(std::make_unique<Impl>(Sink(path), std::move(limits))) {}
PerfettoTrace::PerfettoTrace(std::ostream& out, TraceLimits limits)
    : impl_(std::make_unique<Impl>(Sink(out), std::move(limits))) {}
PerfettoTrace::~PerfettoTrace() {
  try {
    close();
  } catch (...) {  // a destructor must not throw (e.g. disk full)
  }
}

void PerfettoTrace::set_node_name(uint32_t node, std::string_view name) {
  Impl& m = *impl_;
  m.node_name(node);  // grows the table
  m.node_names[node] = std::string(name);
  if (m.stopped || !m.lim.node(node)) return;
  if (node < m.node_meta.size()) m.node_meta[node] = 0;  // rename: write it again
  m.process_meta(node);
}

PerfettoTrace::Track PerfettoTrace::track(uint32_t node, std::string_view name) {
  Impl& m = *impl_;
  auto key = std::make_pair(node, std::string(name));
  auto it = m.tracks.find(key);
  if (it != m.tracks.end()) return {node, it->second};
  if (node >= m.tracks_per_node.size()) m.tracks_per_node.resize(node + 1, 0);
  uint32_t k = ++m.tracks_per_node[node];
  if (k >= 1000) throw std::logic_error("PerfettoTrace::track: at most 999 tracks per node");
  uint32_t tid = 1000 * Impl::pid(node) + k;
  m.tracks.emplace(std::move(key), tid);
  if (!m.stopped && m.lim.node(node)) {
    m.process_meta(node);
    m.ev.clear();
    putf(m.ev, "{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":", Impl::pid(node),
         tid);
    put_str(m.ev, name);
    put(m.ev, "}}");
    m.commit();
    m.ev.clear();
    putf(m.ev, "{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{},\"tid\":{},\"args\":{{\"sort_index\":{}}}}}",
         Impl::pid(node), tid, k);
    m.commit();
  }
  return {node, tid};
}

void PerfettoTrace::begin_message(uint64_t id, Track tr, TimePs ts, std::string_view name, TraceArgs args) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.note(ts);
  auto [it, fresh] = m.msgs.try_emplace(id);
  if (!fresh) throw std::logic_error(fmt::format("PerfettoTrace::begin_message: message {} already in flight", id));
  Impl::Msg& msg = it->second;
  msg.name = m.intern(name);
  msg.node = tr.node;
  if (m.lim.visible(tr.node, ts))
    m.open_segment(id, msg, tr, ts, args, 0);
  else
    ++m.dropped;
}

void PerfettoTrace::stage(uint64_t id, Track tr, TimePs ts, std::string_view stage_name) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.note(ts);
  Impl::Msg& msg = m.find(id, "stage");
  const bool vis = m.lim.visible(tr.node, ts);
  const bool moves = tr.node != msg.node;
  if (msg.seg_open && (moves || !vis)) {
    // Leave the span on the old node (or end it at the window's end); the
    // arrow only when the new span is shown too, so flow ids always pair.
    uint64_t flow = 0;
    if (moves && vis) {
      if (!m.room(m.names[msg.name].size() + m.node_name(tr.node).size())) return;
      flow = m.next_flow++;
      std::string to = "to " + m.node_name(tr.node);
      m.msg_instant(id, msg, ts, to, {}, flow, true);
    }
    m.close_segment(id, msg, ts, {}, false);
    if (vis) m.open_segment(id, msg, tr, ts, {}, flow);
  } else if (!msg.seg_open && vis) {
    m.open_segment(id, msg, tr, ts, {}, 0);
  } else {
    m.close_stage(id, msg, ts, false);
  }
  msg.node = tr.node;
  msg.stage = m.intern(stage_name);
  if (!msg.seg_open || m.stopped) {
    ++m.dropped;
    return;
  }
  m.head(stage_name, "msg", 'b', ts, tr.node, tr.tid);
  m.id2(id);
  m.ev.push_back('}');
  if (m.commit()) {
    msg.stage_open = true;
    msg.stage_tid = tr.tid;
  }
}

void PerfettoTrace::end_message(uint64_t id, TimePs ts, TraceArgs args) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.note(ts);
  Impl::Msg& msg = m.find(id, "end_message");
  // Ends are written even past the window so every begin has its end.
  if (msg.seg_open)
    m.close_segment(id, msg, ts, args, false);
  else
    ++m.dropped;
  m.msgs.erase(id);
}

void PerfettoTrace::mark(uint64_t id, TimePs ts, std::string_view name, TraceArgs args) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.note(ts);
  Impl::Msg& msg = m.find(id, "mark");
  if (msg.seg_open && m.lim.time(ts))
    m.msg_instant(id, msg, ts, name, args, 0, false);
  else
    ++m.dropped;
}

void PerfettoTrace::flow(uint64_t from, TimePs from_ts, uint64_t to, TimePs to_ts, std::string_view name) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.note(std::max(from_ts, to_ts));
  Impl::Msg& a = m.find(from, "flow");
  Impl::Msg& b = m.find(to, "flow");
  if (!a.seg_open || !b.seg_open || !m.lim.time(from_ts) || !m.lim.time(to_ts)) {
    m.dropped += 2;
    return;
  }
  if (!m.room(name.size())) return;
  uint64_t f = m.next_flow++;
  m.msg_instant(from, a, from_ts, name, {}, f, true);
  m.msg_instant(to, b, to_ts, name, {}, f, false);
}

void PerfettoTrace::counter(uint32_t node, std::string_view name, TimePs ts, double value) {
  Impl& m = *impl_;
  if (m.stopped || !m.lim.visible(node, ts)) {
    ++m.dropped;
    return;
  }
  m.note(ts);
  m.process_meta(node);
  m.head(name, "", 'C', ts, node, 0);
  put(m.ev, ",\"args\":{\"value\":");
  put_double(m.ev, value);
  put(m.ev, "}}");
  m.commit();
}

void PerfettoTrace::instant(Track tr, TimePs ts, std::string_view name, TraceArgs args) {
  Impl& m = *impl_;
  if (m.stopped || !m.lim.visible(tr.node, ts)) {
    ++m.dropped;
    return;
  }
  m.note(ts);
  m.head(name, "event", 'i', ts, tr.node, tr.tid);
  put(m.ev, ",\"s\":\"t\"");
  m.args(args);
  m.ev.push_back('}');
  m.commit();
}

void PerfettoTrace::slice(Track tr, TimePs begin, TimePs end, std::string_view name, TraceArgs args) {
  Impl& m = *impl_;
  if (m.stopped || !m.lim.visible(tr.node, begin)) {
    ++m.dropped;
    return;
  }
  m.note(std::max(begin, end));
  m.head(name, "slice", 'X', begin, tr.node, tr.tid);
  put(m.ev, ",\"dur\":");
  put_ts(m.ev, end > begin ? end - begin : 0);
  m.args(args);
  m.ev.push_back('}');
  m.commit();
}

void PerfettoTrace::close() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.close_all(true);
  m.stopped = true;
  m.finish();
}

bool PerfettoTrace::closed() const { return impl_->stopped; }
bool PerfettoTrace::truncated() const { return impl_->truncated; }
uint64_t PerfettoTrace::bytes() const { return impl_->sink.bytes(); }
uint64_t PerfettoTrace::events() const { return impl_->events; }
uint64_t PerfettoTrace::dropped() const { return impl_->dropped; }

// ---------------------------------------------------------------- VcdWriter

namespace {

// One pin field: its wire name, declared width (docs/core-interface.md) and value.
struct SigDef {
  const char* name;
  uint32_t width;
  uint64_t (*get)(const PinsIn&, const PinsOut&);
  int key;  // 0: not a key; 1: ingress header key; 2: egress header key
};

template <auto F>
uint64_t in_f(const PinsIn& i, const PinsOut&) { return static_cast<uint64_t>(i.*F); }
template <auto F>
uint64_t out_f(const PinsIn&, const PinsOut& o) { return static_cast<uint64_t>(o.*F); }
template <auto F>
uint64_t ing_f(const PinsIn& i, const PinsOut&) { return static_cast<uint64_t>(i.ing_hdr.*F); }
template <auto F>
uint64_t eg_f(const PinsIn&, const PinsOut& o) { return static_cast<uint64_t>(o.eg_hdr.*F); }

using namespace regs;
static_assert(kKeyBits == 128 && kKeyWords == 4, "key wires assume 4 x 32 bits");

// Two markers first (not pins), then the pins in PinsIn / PinsOut order.
const SigDef kSigs[] = {
    {"cycle", 64, nullptr, 0},
    {"clk_edge", 1, nullptr, 0},
    // PinsIn
    {"reg_req_valid", 1, &in_f<&PinsIn::reg_req_valid>, 0},
    {"reg_req_write", 1, &in_f<&PinsIn::reg_req_write>, 0},
    {"reg_req_addr", kAddrBits, &in_f<&PinsIn::reg_req_addr>, 0},
    {"reg_req_wdata", 32, &in_f<&PinsIn::reg_req_wdata>, 0},
    {"reg_req_part", kPartIdBits, &in_f<&PinsIn::reg_req_part>, 0},
    {"reg_req_priv", 1, &in_f<&PinsIn::reg_req_priv>, 0},
    {"reg_req_pid", kPidBits, &in_f<&PinsIn::reg_req_pid>, 0},
    {"ing_valid", 1, &in_f<&PinsIn::ing_valid>, 0},
    {"ing_hdr_opcode", kHdrOpcodeBits, &ing_f<&Header::opcode>, 0},
    {"ing_hdr_src_node", kHdrSrcNodeBits, &ing_f<&Header::src_node>, 0},
    {"ing_hdr_src_part", kHdrSrcPartBits, &ing_f<&Header::src_part>, 0},
    {"ing_hdr_src_ep", kHdrSrcEpBits, &ing_f<&Header::src_ep>, 0},
    {"ing_hdr_dst_node", kHdrDstNodeBits, &ing_f<&Header::dst_node>, 0},
    {"ing_hdr_dst_part", kHdrDstPartBits, &ing_f<&Header::dst_part>, 0},
    {"ing_hdr_dst_ep", kHdrDstEpBits, &ing_f<&Header::dst_ep>, 0},
    {"ing_hdr_len", kHdrLenBits, &ing_f<&Header::len>, 0},
    {"ing_hdr_tag", kHdrTagBits, &ing_f<&Header::tag>, 0},
    {"ing_hdr_reason", kHdrReasonBits, &ing_f<&Header::reason>, 0},
    {"ing_hdr_aux", kHdrAuxBits, &ing_f<&Header::aux>, 0},
    {"ing_hdr_key", kHdrKeyBits, nullptr, 1},
    {"eg_ready", 1, &in_f<&PinsIn::eg_ready>, 0},
    // PinsOut
    {"reg_req_ready", 1, &out_f<&PinsOut::reg_req_ready>, 0},
    {"reg_rsp_valid", 1, &out_f<&PinsOut::reg_rsp_valid>, 0},
    {"reg_rsp_rdata", 32, &out_f<&PinsOut::reg_rsp_rdata>, 0},
    {"reg_rsp_status", 2, &out_f<&PinsOut::reg_rsp_status>, 0},
    {"reg_rsp_buf", 1, &out_f<&PinsOut::reg_rsp_buf>, 0},
    {"reg_rsp_buf_slot", 4, &out_f<&PinsOut::reg_rsp_buf_slot>, 0},
    {"ing_ready", 1, &out_f<&PinsOut::ing_ready>, 0},
    {"eg_valid", 1, &out_f<&PinsOut::eg_valid>, 0},
    {"eg_cls", 1, &out_f<&PinsOut::eg_cls>, 0},
    {"eg_hdr_opcode", kHdrOpcodeBits, &eg_f<&Header::opcode>, 0},
    {"eg_hdr_src_node", kHdrSrcNodeBits, &eg_f<&Header::src_node>, 0},
    {"eg_hdr_src_part", kHdrSrcPartBits, &eg_f<&Header::src_part>, 0},
    {"eg_hdr_src_ep", kHdrSrcEpBits, &eg_f<&Header::src_ep>, 0},
    {"eg_hdr_dst_node", kHdrDstNodeBits, &eg_f<&Header::dst_node>, 0},
    {"eg_hdr_dst_part", kHdrDstPartBits, &eg_f<&Header::dst_part>, 0},
    {"eg_hdr_dst_ep", kHdrDstEpBits, &eg_f<&Header::dst_ep>, 0},
    {"eg_hdr_len", kHdrLenBits, &eg_f<&Header::len>, 0},
    {"eg_hdr_tag", kHdrTagBits, &eg_f<&Header::tag>, 0},
    {"eg_hdr_reason", kHdrReasonBits, &eg_f<&Header::reason>, 0},
    {"eg_hdr_aux", kHdrAuxBits, &eg_f<&Header::aux>, 0},
    {"eg_hdr_key", kHdrKeyBits, nullptr, 2},
    {"vd_valid", 1, &out_f<&PinsOut::vd_valid>, 0},
    {"vd_accept", 1, &out_f<&PinsOut::vd_accept>, 0},
    {"vd_ep", kEpIdBits, &out_f<&PinsOut::vd_ep>, 0},
    {"vd_slot", 4, &out_f<&PinsOut::vd_slot>, 0},
    {"vd_reason", 8, &out_f<&PinsOut::vd_reason>, 0},
    {"irq", kNumPartitions, &out_f<&PinsOut::irq>, 0},
};
static_assert(kNumPartitions <= 32, "irq is a 32-bit field");

uint64_t mask64(uint32_t w) { return w >= 64 ? ~uint64_t{0} : ((uint64_t{1} << w) - 1); }

void key_words(const Key& k, uint64_t v[2]) {
  // Word 0 is the least significant (Header::pack puts key[w] at bit 32w).
  v[0] = uint64_t{k[0]} | (uint64_t{k[1]} << 32);
  v[1] = uint64_t{k[2]} | (uint64_t{k[3]} << 32);
}

void put_bin(Buf& b, uint64_t hi, uint64_t lo) {
  int top = hi ? 64 + (63 - __builtin_clzll(hi)) : (lo ? 63 - __builtin_clzll(lo) : 0);
  b.push_back('b');
  for (int i = top; i >= 0; --i) {
    uint64_t w = i >= 64 ? hi : lo;
    b.push_back(((w >> (i & 63)) & 1) ? '1' : '0');
  }
}

std::string scope_name(std::string_view label) {
  std::string s = "node";
  for (char c : label) s.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_');
  return s;
}

}  // namespace

struct VcdWriter::Impl {
  Sink sink;
  Limits lim;
  VcdOptions opt;
  std::vector<const SigDef*> sigs;  // declared per node, in this order
  bool header_done = false, stopped = false, truncated = false;
  bool time_written = false, window_started = false;
  TimePs cur_time = 0, last_sample = 0;
  bool any_sample = false;
  Buf chunk;

  struct Node {
    uint32_t node = 0;
    std::string label;
    std::vector<std::string> ids;  // per signal
    std::vector<uint64_t> last;    // 2 words per signal
    std::vector<uint64_t> cur;
    bool dumped = false;           // `last` holds written values
    bool edge_level = false;
    uint64_t edges = 0, cycle = 0;
    bool stashed = false;          // pins seen before the window, not yet written
    PinsIn st_in;
    PinsOut st_out;
  };
  std::vector<Node> nodes;
  std::vector<int32_t> index;  // node -> position in `nodes`, -1 if none

  Impl(Sink s, VcdOptions o) : sink(std::move(s)), lim(o.limits), opt(std::move(o)) {
    for (const SigDef& d : kSigs)
      if (d.key == 0 || opt.include_keys) sigs.push_back(&d);
  }

  Node* find(uint32_t n) {
    if (n >= index.size() || index[n] < 0) return nullptr;
    return &nodes[static_cast<size_t>(index[n])];
  }

  void header() {
    header_done = true;
    std::sort(nodes.begin(), nodes.end(), [](const Node& a, const Node& b) { return a.node < b.node; });
    for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i].node] = static_cast<int32_t>(i);
    Buf& h = chunk;
    h.clear();
    put(h, "$version cmm testbench VcdWriter $end\n");
    put(h, "$comment CMM core pins per node. Idle-skipped cycles are not sampled: values hold across them; "
           "cycle and clk_edge mark the sampled edges. ");
    put(h, opt.include_keys ? "Key fields INCLUDED: this file contains channel keys."
                            : "Key fields omitted (include_keys=false).");
    put(h, " $end\n$timescale 1 ps $end\n");
    uint64_t n = 0;
    for (Node& nd : nodes) {
      putf(h, "$scope module {} $end\n$scope module cmm $end\n", scope_name(nd.label));
      nd.ids.clear();
      for (const SigDef* d : sigs) {
        nd.ids.push_back(vcd_identifier(n++));
        if (d->width == 1)
          putf(h, "$var wire 1 {} {} $end\n", nd.ids.back(), d->name);
        else
          putf(h, "$var wire {} {} {} [{}:0] $end\n", d->width, nd.ids.back(), d->name, d->width - 1);
      }
      nd.last.assign(2 * sigs.size(), 0);
      nd.cur.assign(2 * sigs.size(), 0);
      put(h, "$upscope $end\n$upscope $end\n");
    }
    put(h, "$enddefinitions $end\n");
    sink.append(h);
  }

  // x (unknown) for every signal of a node not sampled yet.
  void unknown(const Node& nd) {
    for (size_t i = 0; i < sigs.size(); ++i) {
      if (sigs[i]->width == 1)
        putf(chunk, "x{}\n", nd.ids[i]);
      else
        putf(chunk, "bx {}\n", nd.ids[i]);
    }
  }

  // Opens $dumpvars at t0 (appended to `chunk`): the caller adds the known
  // values, every other node starts unknown.
  void begin_dumpvars(TimePs t0) {
    putf(chunk, "#{}\n$dumpvars\n", t0);
    time_written = true;
    cur_time = t0;
  }

  void values(Node& nd, const PinsIn& in, const PinsOut& out) {
    uint64_t* v = nd.cur.data();
    for (size_t i = 0; i < sigs.size(); ++i, v += 2) {
      const SigDef& d = *sigs[i];
      v[1] = 0;
      if (d.get) {
        v[0] = d.get(in, out) & mask64(d.width);
      } else if (d.key == 1) {
        key_words(in.ing_hdr.key, v);
      } else if (d.key == 2) {
        key_words(out.eg_hdr.key, v);
      } else if (i == 0) {
        v[0] = nd.cycle;
      } else {
        v[0] = nd.edge_level;
      }
    }
  }

  // Appends the changes of `nd` at time t to `chunk`.
  void changes(Node& nd, TimePs t) {
    const uint64_t* c = nd.cur.data();
    uint64_t* l = nd.last.data();
    for (size_t i = 0; i < sigs.size(); ++i, c += 2, l += 2) {
      if (nd.dumped && c[0] == l[0] && c[1] == l[1]) continue;
      if (!time_written || t != cur_time) {
        putf(chunk, "#{}\n", t);
        time_written = true;
        cur_time = t;
      }
      if (sigs[i]->width == 1) {
        chunk.push_back(c[0] ? '1' : '0');
      } else {
        put_bin(chunk, c[1], c[0]);
        chunk.push_back(' ');
      }
      put(chunk, nd.ids[i]);
      chunk.push_back('\n');
      l[0] = c[0];
      l[1] = c[1];
    }
    nd.dumped = true;
  }

  void emit() {
    if (chunk.size() == 0) return;
    if (!lim.fits(sink.bytes() + chunk.size(), kFooterReserve)) {
      stopped = truncated = true;
      sink.append(fmt::format("$comment truncated: max_bytes {} reached $end\n", lim.max_bytes()));
      sink.finish();
      return;
    }
    sink.append(chunk);
    lim.check_warn(sink.bytes(), "VCD", sink.name());
  }

  void edge(Node& nd, TimePs t, bool clk_edge) {
    if (!clk_edge) return;
    ++nd.edges;
    nd.edge_level = !nd.edge_level;
    nd.cycle = opt.clock_period_ps ? t / opt.clock_period_ps : nd.edges;
  }
};

VcdWriter::VcdWriter(const std::string& path, VcdOptions opt)
    : impl_(std::make_unique<Impl>(Sink(path), std::move(opt))) {}
VcdWriter::VcdWriter(std::ostream& out, VcdOptions opt)
    : impl_(std::make_unique<Impl>(Sink(out), std::move(opt))) {}
VcdWriter::~VcdWriter() {
  try {
    close();
  } catch (...) {  // a destructor must not throw
  }
}

void VcdWriter::add_node(uint32_t node, std::string_view label) {
  Impl& m = *impl_;
  if (m.header_done) throw std::logic_error("VcdWriter::add_node after the first sample");
  if (!m.lim.node(node)) return;
  if (m.find(node)) throw std::logic_error(fmt::format("VcdWriter::add_node: node {} added twice", node));
  if (node >= m.index.size()) m.index.resize(node + 1, -1);
  m.index[node] = static_cast<int32_t>(m.nodes.size());
  Impl::Node nd;
  nd.node = node;
  nd.label = label.empty() ? std::to_string(node) : std::string(label);
  m.nodes.push_back(std::move(nd));
}

void VcdWriter::sample(uint32_t node, TimePs t, const PinsIn& in, const PinsOut& out, bool clk_edge) {
  Impl& m = *impl_;
  if (m.stopped || !m.lim.node(node)) return;
  if (m.any_sample && t < m.last_sample)
    throw std::logic_error(fmt::format("VcdWriter::sample: time {} ps before {} ps", t, m.last_sample));
  m.any_sample = true;
  m.last_sample = t;
  if (!m.header_done) m.header();
  Impl::Node* nd = m.find(node);
  if (!nd) throw std::logic_error(fmt::format("VcdWriter::sample: node {} not added", node));
  m.edge(*nd, t, clk_edge);
  if (t >= m.lim.to()) return;
  if (t < m.lim.from()) {  // keep the latest pins: they hold at the window start
    nd->stashed = true;
    nd->st_in = in;
    nd->st_out = out;
    return;
  }
  m.chunk.clear();
  if (!m.window_started) {
    // Initial values at the window start: pins held from before it, or this
    // sample if it is at that time; x for nodes not sampled yet.
    m.window_started = true;
    const TimePs t0 = m.lim.from() > 0 ? m.lim.from() : t;
    m.begin_dumpvars(t0);
    for (Impl::Node& o : m.nodes) {
      if (&o == nd && t == t0) {
        m.values(o, in, out);
        m.changes(o, t0);
      } else if (o.stashed) {
        m.values(o, o.st_in, o.st_out);
        m.changes(o, t0);
      } else {
        m.unknown(o);
      }
      o.stashed = false;
    }
    put(m.chunk, "$end\n");
    if (t == t0) {
      m.emit();
      return;
    }
  }
  m.values(*nd, in, out);
  m.changes(*nd, t);
  m.emit();
}

void VcdWriter::close() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (!m.header_done) m.header();
  if (!m.window_started) {
    m.window_started = true;
    m.chunk.clear();
    m.begin_dumpvars(m.lim.from());
    for (const Impl::Node& o : m.nodes) m.unknown(o);
    put(m.chunk, "$end\n");
    m.emit();
  }
  if (!m.truncated) m.sink.finish();
}

bool VcdWriter::closed() const { return impl_->stopped; }
bool VcdWriter::truncated() const { return impl_->truncated; }
uint64_t VcdWriter::bytes() const { return impl_->sink.bytes(); }

}  // namespace cmm::tb
