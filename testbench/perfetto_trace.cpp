#include "perfetto_trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "trace_sink.h"

namespace cmm::tb {

using namespace trace_detail;

namespace {

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

}  // namespace cmm::tb
