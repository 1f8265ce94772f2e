#include "vcd_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmm_pins.h"
#include "trace_sink.h"

namespace cmm::tb {

using namespace trace_detail;

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
