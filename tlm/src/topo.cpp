#include "cmm_tlm/topo.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "cmm_tlm/noc.h"

namespace cmm::tlmshell {

Routing parse_routing(const std::string& s) {
  if (s == "minimal") return Routing::kMinimal;
  if (s == "ecmp") return Routing::kEcmp;
  if (s == "updown") return Routing::kUpDown;
  if (s == "valiant") return Routing::kValiant;
  if (s == "ugal") return Routing::kUgal;
  if (s == "adaptive") return Routing::kAdaptive;
  throw std::invalid_argument("unknown routing '" + s +
                              "': allowed values are minimal, ecmp, updown, valiant, ugal, adaptive");
}

const char* to_string(Routing r) {
  switch (r) {
    case Routing::kMinimal: return "minimal";
    case Routing::kEcmp: return "ecmp";
    case Routing::kUpDown: return "updown";
    case Routing::kValiant: return "valiant";
    case Routing::kUgal: return "ugal";
    case Routing::kAdaptive: return "adaptive";
  }
  return "?";
}

Arrangement parse_arrangement(const std::string& s) {
  if (s == "absolute" || s == "consecutive") return Arrangement::kAbsolute;
  if (s == "palmtree") return Arrangement::kPalmtree;
  throw std::invalid_argument("unknown dragonfly arrangement '" + s + "': allowed values are absolute, palmtree");
}

const char* to_string(Arrangement a) { return a == Arrangement::kAbsolute ? "absolute" : "palmtree"; }

uint32_t flow_hash(uint32_t src_router, uint32_t dst_router) {
  uint32_t h = (src_router << 16) ^ dst_router ^ 0x9E3779B9u;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

uint32_t ecmp_pick(uint32_t r, uint32_t flow, uint32_t n) {
  // Salted by the switch so consecutive levels do not pick correlated ports.
  uint32_t h = flow ^ (r * 0x9E3779B1u);
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  h ^= h >> 12;
  return n ? h % n : 0;
}

uint32_t ns_to_cycles(double ns, uint64_t period_ps) {
  const double c = std::ceil(ns * 1000.0 / static_cast<double>(period_ps) - 1e-9);
  return static_cast<uint32_t>(std::max(1.0, c));
}

uint32_t TopoGraph::port_for(uint32_t r, uint32_t d, uint32_t flow) const {
  const uint32_t op = route[static_cast<size_t>(r) * terminals + d];
  return op == kEcmpPort ? up_lo[r] + ecmp_pick(r, flow, up_n[r]) : op;
}

std::vector<uint32_t> TopoGraph::path(uint32_t s, uint32_t d, uint32_t flow, uint32_t inter,
                                      const uint8_t* ups) const {
  std::vector<uint32_t> out;
  uint32_t r = s, globals = 0;
  bool via = via_router ? this->via(s, inter)
                        : inter != kNoInter && df_a && inter != group_of(s) && inter != group_of(d);
  for (uint32_t guard = 0; guard <= 2 * routers; ++guard) {
    // Valiant phase: towards the intermediate group until the first global
    // hop (via_router: until the intermediate router).
    if (via_router && r == inter) via = false;
    const uint32_t tgt = !via ? d : via_router ? router_target(inter) : globals == 0 ? group_target(inter) : d;
    uint32_t op = route[static_cast<size_t>(r) * terminals + tgt];
    if (op == kEcmpPort) op = ups ? up_lo[r] + ups[level[r]] : up_lo[r] + ecmp_pick(r, flow, up_n[r]);
    if (op == 0) return out;
    const int32_t c = out_ch[static_cast<size_t>(r) * ports + op];
    if (c < 0) throw std::logic_error(name + ": route uses an unconnected port");
    out.push_back(static_cast<uint32_t>(c));
    globals += ch[static_cast<size_t>(c)].bump;
    r = ch[static_cast<size_t>(c)].r2;
  }
  throw std::logic_error(name + ": routing loop");
}

std::vector<std::vector<uint32_t>> TopoGraph::all_paths(uint32_t s, uint32_t d, std::vector<uint32_t>* inters) const {
  std::vector<std::vector<uint32_t>> out;
  const uint32_t flow = flow_hash(s, d);
  if (inters) inters->clear();
  auto add = [&](uint32_t inter) {
    out.push_back(path(s, d, flow, inter));
    if (inters) inters->push_back(inter);
  };
  if ((routing == Routing::kValiant || routing == Routing::kUgal) && via_router) {
    add(kNoInter);
    for (uint32_t i = terminals; i < routers; ++i)
      if (via(s, i)) add(i);
  } else if (routing == Routing::kValiant || routing == Routing::kUgal) {
    add(kNoInter);
    for (uint32_t i = 0; i < df_g; ++i)
      if (i != group_of(s) && i != group_of(d)) add(i);
  } else if (routing == Routing::kAdaptive) {
    // Every combination of up ports, one per level (k^(levels-1) paths).
    uint32_t nl = 0, k = 1;
    for (uint32_t r = terminals; r < routers; ++r)
      if (up_n[r]) {
        nl = std::max<uint32_t>(nl, level[r] + 1u);
        k = std::max<uint32_t>(k, up_n[r]);
      }
    std::vector<uint8_t> ups(std::max<uint32_t>(nl, 1), 0);
    for (;;) {
      out.push_back(path(s, d, flow, kNoInter, ups.data()));
      if (inters) inters->push_back(kNoInter);
      uint32_t i = 0;
      while (i < nl && ++ups[i] == k) ups[i++] = 0;
      if (i >= nl) break;
    }
  } else {
    add(kNoInter);
  }
  return out;
}

namespace {

[[noreturn]] void bad(const char* param, uint64_t v, const std::string& rule) {
  throw std::invalid_argument(std::string("NocConfig.") + param + " = " + std::to_string(v) + ": " + rule);
}
void range(const char* param, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) bad(param, v, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}
uint64_t ipow(uint64_t b, uint32_t e) {
  uint64_t r = 1;
  for (uint32_t i = 0; i < e; ++i) r = std::min<uint64_t>(r * b, uint64_t{1} << 40);
  return r;
}

struct Builder {
  TopoGraph g;
  std::vector<std::vector<std::pair<uint32_t, int32_t>>> used;  // unused
  void init(const std::string& name, uint32_t terminals, uint32_t switches) {
    g.name = name;
    g.terminals = terminals;
    g.routers = terminals + switches;
    g.radix.assign(g.routers, 0);
  }
  // Both directions of a link between (a, pa) and (b, pb).
  void link(uint32_t a, uint32_t pa, uint32_t b, uint32_t pb, uint32_t lat, uint32_t cpf, uint8_t bump,
            uint8_t up_ab) {
    g.ch.push_back(TopoChannel{a, pa, b, pb, lat, cpf, bump, up_ab});
    g.ch.push_back(TopoChannel{b, pb, a, pa, lat, cpf, bump, static_cast<uint8_t>(up_ab ? 0 : 0)});
    g.radix[a] = std::max(g.radix[a], pa);
    g.radix[b] = std::max(g.radix[b], pb);
  }
  void finish() {
    uint32_t mx = 1;
    for (uint32_t r : g.radix) mx = std::max(mx, r);
    g.ports = mx + 1;
    g.out_ch.assign(static_cast<size_t>(g.routers) * g.ports, -1);
    for (size_t i = 0; i < g.ch.size(); ++i) {
      const auto& c = g.ch[i];
      int32_t& slot = g.out_ch[static_cast<size_t>(c.r) * g.ports + c.p];
      if (slot >= 0) throw std::invalid_argument(g.name + ": port " + std::to_string(c.p) + " of router " +
                                                 std::to_string(c.r) + " used twice");
      slot = static_cast<int32_t>(i);
    }
    g.route.assign(static_cast<size_t>(g.routers) * g.terminals, 0);
    g.up_lo.assign(g.routers, 0);
    g.up_n.assign(g.routers, 0);
  }
  void set_route(uint32_t r, uint32_t d, uint32_t port) {
    g.route[static_cast<size_t>(r) * g.terminals + d] = static_cast<uint8_t>(port);
  }
};

uint32_t lat_of(const NocConfig& c, double ns) {
  return ns > 0 ? ns_to_cycles(ns, c.clock_period.value()) : c.link_latency_cycles;
}

// up*/down* routing on any connected graph: switch levels by BFS from the
// first switch; a channel goes up if it reaches a smaller (level, id).
// Destination d: a router that reaches d going down only does so (shortest
// such path), otherwise it takes the up channel with the shortest legal
// remainder. A packet that went down stays on down-only routes, so no path
// turns from down to up: the CDG is acyclic with one VC set.
void route_updown(TopoGraph& g) {
  const uint32_t nr = g.routers, T = g.terminals;
  constexpr uint32_t kInf = std::numeric_limits<uint32_t>::max() / 2;
  std::vector<uint32_t> lev(nr, kInf);
  std::vector<std::vector<uint32_t>> outc(nr);
  for (uint32_t i = 0; i < g.ch.size(); ++i) outc[g.ch[i].r].push_back(i);
  if (nr > T) {
    std::vector<uint32_t> q{T};
    lev[T] = 0;
    for (size_t k = 0; k < q.size(); ++k)
      for (uint32_t c : outc[q[k]]) {
        const uint32_t n = g.ch[c].r2;
        if (n >= T && lev[n] == kInf) {
          lev[n] = lev[q[k]] + 1;
          q.push_back(n);
        }
      }
  }
  uint32_t maxlev = 0;
  for (uint32_t r = T; r < nr; ++r) {
    if (lev[r] == kInf) throw std::invalid_argument(g.name + ": switch " + std::to_string(r - T) + " is not connected");
    maxlev = std::max(maxlev, lev[r]);
  }
  for (uint32_t r = 0; r < T; ++r) lev[r] = maxlev + 1;  // terminals hang below every switch
  auto above = [&](uint32_t a, uint32_t b) { return lev[a] < lev[b] || (lev[a] == lev[b] && a < b); };
  for (auto& c : g.ch) c.up = above(c.r2, c.r) ? 1 : 0;
  std::vector<uint32_t> order(nr);
  for (uint32_t i = 0; i < nr; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return above(a, b); });
  std::vector<std::vector<uint32_t>> inc(nr);
  for (uint32_t i = 0; i < g.ch.size(); ++i) inc[g.ch[i].r2].push_back(i);
  std::vector<uint32_t> down(nr), cost(nr);
  for (uint32_t d = 0; d < T; ++d) {
    std::fill(down.begin(), down.end(), kInf);
    down[d] = 0;
    std::vector<uint32_t> q{d};
    for (size_t k = 0; k < q.size(); ++k)
      for (uint32_t c : inc[q[k]]) {
        if (g.ch[c].up) continue;  // only down channels lead towards d here
        const uint32_t u = g.ch[c].r;
        if (down[u] == kInf) {
          down[u] = down[q[k]] + 1;
          q.push_back(u);
        }
      }
    for (uint32_t r : order) {  // parents first: an up channel's end is done
      cost[r] = down[r];
      if (cost[r] != kInf) continue;
      for (uint32_t c : outc[r])
        if (g.ch[c].up) cost[r] = std::min(cost[r], cost[g.ch[c].r2] + 1);
    }
    for (uint32_t r = 0; r < nr; ++r) {
      if (r == d) {
        g.route[static_cast<size_t>(r) * T + d] = 0;
        continue;
      }
      if (cost[r] >= kInf) throw std::invalid_argument(g.name + ": terminal " + std::to_string(d) + " unreachable");
      uint32_t best = 0, bc = kInf;
      for (uint32_t c : outc[r]) {
        const auto& e = g.ch[c];
        const uint32_t v = down[r] != kInf ? (e.up ? kInf : down[e.r2]) : (e.up ? cost[e.r2] : kInf);
        if (v < bc || (v == bc && e.p < best)) {
          bc = v;
          best = e.p;
        }
      }
      g.route[static_cast<size_t>(r) * T + d] = static_cast<uint8_t>(best);
    }
  }
  g.vc_sets = 1;
  for (auto& c : g.ch) c.bump = 0;
}

TopoGraph build_fat_tree(const NocConfig& c) {
  const uint32_t k = c.ft_k, n = c.ft_levels, T = c.ft_terminals ? c.ft_terminals : c.ft_k;
  const uint64_t S = ipow(k, n - 1);
  if (S > kMaxTopoRouters) bad("ft_k^(ft_levels-1)", S, "too many switches");
  const uint64_t N = T * S;
  if (N > kMaxTerminals) bad("terminals", N, "a fat-tree of at most 65536 terminals (16-bit node ids): ft_terminals * ft_k^(ft_levels-1)");
  if (T + (n > 1 ? k : 0) > kMaxRadix) bad("ft_terminals + ft_k", T + k, "leaf switch radix at most 64");
  if (n > 2 && 2 * k > kMaxRadix) bad("2*ft_k", 2 * k, "switch radix at most 64");
  Builder b;
  b.init("fat_tree", static_cast<uint32_t>(N), static_cast<uint32_t>(n * S));
  b.g.level.assign(b.g.routers, 0);
  for (uint32_t i = 0; i < n * S; ++i) b.g.level[N + i] = static_cast<uint8_t>(i / S);
  const uint32_t Nt = static_cast<uint32_t>(N), Ss = static_cast<uint32_t>(S);
  auto sw = [&](uint32_t l, uint32_t w) { return Nt + l * Ss + w; };
  auto digit = [&](uint32_t w, uint32_t i) { return static_cast<uint32_t>((w / ipow(k, i)) % k); };
  const uint32_t tl = lat_of(c, c.link_ns_terminal), sl = lat_of(c, c.link_ns_local);
  for (uint32_t t = 0; t < Nt; ++t) b.link(t, 1, sw(0, t / T), 1 + t % T, tl, 1, 0, 1);
  for (uint32_t l = 0; l + 1 < n; ++l) {
    const uint32_t upbase = l == 0 ? T + 1 : k + 1;
    for (uint32_t w = 0; w < Ss; ++w)
      for (uint32_t j = 0; j < k; ++j) {
        const uint32_t dl = digit(w, l);
        const uint32_t w2 = static_cast<uint32_t>(w + (static_cast<int64_t>(j) - dl) * static_cast<int64_t>(ipow(k, l)));
        b.link(sw(l, w), upbase + j, sw(l + 1, w2), 1 + dl, sl, 1, 0, 1);
      }
  }
  b.finish();
  TopoGraph& g = b.g;
  for (uint32_t t = 0; t < Nt; ++t)
    for (uint32_t d = 0; d < Nt; ++d) b.set_route(t, d, t == d ? 0 : 1);
  for (uint32_t l = 0; l < n; ++l)
    for (uint32_t w = 0; w < Ss; ++w) {
      const uint32_t r = sw(l, w);
      const uint32_t upbase = l == 0 ? T + 1 : k + 1;
      if (l + 1 < n) {
        g.up_lo[r] = static_cast<uint8_t>(upbase);
        g.up_n[r] = static_cast<uint8_t>(k);
      }
      for (uint32_t d = 0; d < Nt; ++d) {
        const uint32_t dl = d / T;
        bool below = true;  // w and the destination leaf agree in digits l..n-2
        for (uint32_t i = l; i + 1 < n; ++i) below = below && digit(w, i) == digit(dl, i);
        uint32_t port;
        if (below) port = l == 0 ? 1 + d % T : 1 + digit(dl, l - 1);
        else if (c.routing == Routing::kEcmp || c.routing == Routing::kAdaptive) port = kEcmpPort;
        else port = upbase + static_cast<uint32_t>((d / ipow(k, l)) % k);  // D-mod-k
        b.set_route(r, d, port);
      }
    }
  return g;
}

TopoGraph build_dragonfly(const NocConfig& c) {
  const uint32_t a = c.df_a, p = c.df_p, h = c.df_h;
  const uint32_t g = c.df_groups ? c.df_groups : a * h + 1;
  if (g > a * h + 1) bad("df_groups", g, "at most df_a*df_h+1 (one global link per pair of groups)");
  if (p + a - 1 + h > kMaxRadix) bad("df_p+df_a-1+df_h", p + a - 1 + h, "router radix at most 64");
  const uint64_t N = uint64_t{g} * a * p;
  if (N > kMaxTerminals) bad("terminals", N, "a dragonfly of at most 65536 terminals (16-bit node ids): groups * df_a * df_p");
  const bool abs = c.df_arrangement == Arrangement::kAbsolute;
  Builder b;
  const uint32_t Nt = static_cast<uint32_t>(N);
  b.init("dragonfly", Nt, g * a);
  auto rt = [&](uint32_t gi, uint32_t ri) { return Nt + gi * a + ri; };
  auto lport = [&](uint32_t ri, uint32_t rj) { return p + 1 + (rj < ri ? rj : rj - 1); };
  // Global port index (router*h + j) of group gi that reaches group gd.
  auto gport = [&](uint32_t gi, uint32_t gd) { return abs ? (gd < gi ? gd : gd - 1) : (gd + g - gi - 1) % g; };
  const uint32_t tl = lat_of(c, c.link_ns_terminal), ll = lat_of(c, c.link_ns_local),
                 gl = lat_of(c, c.link_ns_global);
  for (uint32_t t = 0; t < Nt; ++t) b.link(t, 1, Nt + t / p, 1 + t % p, tl, 1, 0, 1);
  for (uint32_t gi = 0; gi < g; ++gi)
    for (uint32_t ri = 0; ri < a; ++ri)
      for (uint32_t rj = ri + 1; rj < a; ++rj) b.link(rt(gi, ri), lport(ri, rj), rt(gi, rj), lport(rj, ri), ll, 1, 0, 0);
  for (uint32_t gi = 0; gi < g; ++gi)
    for (uint32_t gd = gi + 1; gd < g; ++gd) {
      const uint32_t k1 = gport(gi, gd), k2 = gport(gd, gi);
      b.link(rt(gi, k1 / h), p + a + k1 % h, rt(gd, k2 / h), p + a + k2 % h, gl, 1, 1, 0);
    }
  b.finish();
  for (uint32_t t = 0; t < Nt; ++t)
    for (uint32_t d = 0; d < Nt; ++d) b.set_route(t, d, t == d ? 0 : 1);
  for (uint32_t gi = 0; gi < g; ++gi)
    for (uint32_t ri = 0; ri < a; ++ri)
      for (uint32_t d = 0; d < Nt; ++d) {
        const uint32_t gd = d / (a * p), rd = (d / p) % a;
        uint32_t port;
        if (gi == gd) port = ri == rd ? 1 + d % p : lport(ri, rd);
        else {
          const uint32_t k = gport(gi, gd);
          port = k / h == ri ? p + a + k % h : lport(ri, k / h);
        }
        b.set_route(rt(gi, ri), d, port);
      }
  // Set = global links crossed so far: minimal 0 | 1, Valiant 0 | 1 | 2.
  // Via a router: 0 | 1 (global, local to the intermediate) | 2 (after it) |
  // 3 (second global): local -> local in one set would close a cycle.
  const bool nonmin = c.routing == Routing::kValiant || c.routing == Routing::kUgal;
  b.g.vc_sets = nonmin ? (c.valiant_router && !c.phase_vcs ? 4 : 3) : 2;
  b.g.via_router = nonmin && c.valiant_router;
  b.g.phase_vcs = b.g.via_router && c.phase_vcs;
  b.g.df_a = a;
  b.g.df_p = p;
  b.g.df_g = g;
  return b.g;
}

TopoGraph build_flatfly(const NocConfig& c) {
  const uint32_t k = c.fb_k, n = c.fb_n, cc = c.fb_c;
  const uint64_t R = ipow(k, n);
  const uint64_t N = R * cc;
  if (N > kMaxTerminals) bad("terminals", N, "a flattened butterfly of at most 65536 terminals: fb_c * fb_k^fb_n");
  if (cc + n * (k - 1) > kMaxRadix) bad("fb_c+fb_n*(fb_k-1)", cc + n * (k - 1), "router radix at most 64");
  Builder b;
  const uint32_t Nt = static_cast<uint32_t>(N), Rr = static_cast<uint32_t>(R);
  b.init("flatfly", Nt, Rr);
  auto digit = [&](uint32_t w, uint32_t i) { return static_cast<uint32_t>((w / ipow(k, i)) % k); };
  auto dport = [&](uint32_t i, uint32_t mine, uint32_t j) { return cc + 1 + i * (k - 1) + (j < mine ? j : j - 1); };
  const uint32_t tl = lat_of(c, c.link_ns_terminal), sl = lat_of(c, c.link_ns_local);
  for (uint32_t t = 0; t < Nt; ++t) b.link(t, 1, Nt + t / cc, 1 + t % cc, tl, 1, 0, 1);
  for (uint32_t w = 0; w < Rr; ++w)
    for (uint32_t i = 0; i < n; ++i)
      for (uint32_t j = digit(w, i) + 1; j < k; ++j) {
        const uint32_t w2 = w + (j - digit(w, i)) * static_cast<uint32_t>(ipow(k, i));
        b.link(Nt + w, dport(i, digit(w, i), j), Nt + w2, dport(i, j, digit(w, i)), sl, 1, 0, 0);
      }
  b.finish();
  for (uint32_t t = 0; t < Nt; ++t)
    for (uint32_t d = 0; d < Nt; ++d) b.set_route(t, d, t == d ? 0 : 1);
  for (uint32_t w = 0; w < Rr; ++w)
    for (uint32_t d = 0; d < Nt; ++d) {
      const uint32_t wd = d / cc;
      uint32_t port = 1 + d % cc;
      for (uint32_t i = 0; i < n; ++i)
        if (digit(w, i) != digit(wd, i)) {  // lowest differing dimension first
          port = dport(i, digit(w, i), digit(wd, i));
          break;
        }
      b.set_route(Nt + w, d, port);
    }
  return b.g;
}

}  // namespace

// ------------------------------------------------------------ topology file

namespace {
struct FileErr {
  std::string file;
  uint32_t line;
  [[noreturn]] void fail(const std::string& what, const std::string& value) const {
    throw std::invalid_argument(file + ":" + std::to_string(line) + ": " + what + " '" + value + "'");
  }
};
uint64_t parse_u(const FileErr& e, const std::string& s, const std::string& what, uint64_t lo, uint64_t hi) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used, 10);
  } catch (...) {
    e.fail(what + " is not an integer", s);
  }
  if (used != s.size() || s[0] == '-' || s[0] == '+') e.fail(what + " is not an integer", s);
  if (v < lo || v > hi) e.fail(what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", s);
  return v;
}
}  // namespace

TopoGraph read_topology_file(const std::string& path, uint64_t period_ps, uint32_t flit_bytes) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path + ":0: cannot open topology file '" + path + "'");
  FileErr e{path, 0};
  int64_t nsw = -1, nterm = -1;
  struct L {
    bool at, bt;
    uint32_t a, b, lat, cpf, line;
  };
  std::vector<L> links;
  std::string text;
  while (std::getline(in, text)) {
    ++e.line;
    const auto hash = text.find('#');
    if (hash != std::string::npos) text.resize(hash);
    std::istringstream ls(text);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    if (tok.empty()) continue;
    if (tok[0] == "switches" || tok[0] == "terminals") {
      if (tok.size() != 2) e.fail("expected '" + tok[0] + " <count>'", text);
      if (tok[0] == "switches") {
        if (nsw >= 0) e.fail("switches given twice", tok[1]);
        nsw = static_cast<int64_t>(parse_u(e, tok[1], "switch count", 1, kMaxTopoRouters));
      } else {
        if (nterm >= 0) e.fail("terminals given twice", tok[1]);
        nterm = static_cast<int64_t>(parse_u(e, tok[1], "terminal count", 1, kMaxTerminals));
      }
      continue;
    }
    if (tok[0] != "link") e.fail("unknown keyword (expected switches, terminals or link)", tok[0]);
    if (nsw < 0 || nterm < 0) e.fail("link before the switches and terminals counts", tok[0]);
    if (tok.size() < 3) e.fail("expected 'link <end> <end> [latency_ns=X] [latency_cycles=N] [width=B]'", text);
    L l{false, false, 0, 0, 1, 1, e.line};
    auto end = [&](const std::string& s, bool& term, uint32_t& id) {
      if (s.size() < 2 || (s[0] != 's' && s[0] != 't')) e.fail("link end must be s<switch> or t<terminal>", s);
      term = s[0] == 't';
      id = static_cast<uint32_t>(parse_u(e, s.substr(1), term ? "terminal id" : "switch id", 0,
                                         static_cast<uint64_t>(term ? nterm : nsw) - 1));
    };
    end(tok[1], l.at, l.a);
    end(tok[2], l.bt, l.b);
    bool lat_given = false;
    for (size_t i = 3; i < tok.size(); ++i) {
      const auto eq = tok[i].find('=');
      if (eq == std::string::npos) e.fail("expected key=value", tok[i]);
      const std::string k = tok[i].substr(0, eq), v = tok[i].substr(eq + 1);
      if (k == "latency_ns") {
        double ns = 0;
        size_t used = 0;
        try {
          ns = std::stod(v, &used);
        } catch (...) {
          e.fail("latency_ns is not a number", v);
        }
        if (used != v.size() || !(ns > 0) || ns > 1e7) e.fail("latency_ns must be a number in (0, 1e7]", v);
        l.lat = ns_to_cycles(ns, period_ps);
        if (l.lat > 65536) e.fail("latency_ns is more than 65536 cycles at the fabric clock", v);
        lat_given = true;
      } else if (k == "latency_cycles") {
        l.lat = static_cast<uint32_t>(parse_u(e, v, "latency_cycles", 1, 65536));
        lat_given = true;
      } else if (k == "width") {
        const uint32_t w = static_cast<uint32_t>(parse_u(e, v, "width (bytes per cycle)", 1, 4096));
        l.cpf = (flit_bytes + w - 1) / w;
      } else {
        e.fail("unknown link attribute (latency_ns, latency_cycles, width)", k);
      }
    }
    (void)lat_given;
    if (l.at && l.bt) e.fail("a link joins two terminals", tok[1] + " " + tok[2]);
    if (!l.at && !l.bt && l.a == l.b) e.fail("a switch linked to itself", tok[1]);
    if (l.bt) {  // terminal first
      std::swap(l.a, l.b);
      std::swap(l.at, l.bt);
    }
    links.push_back(l);
  }
  if (nsw < 0) e.fail("missing 'switches <count>'", "");
  if (nterm < 0) e.fail("missing 'terminals <count>'", "");
  const uint32_t T = static_cast<uint32_t>(nterm), S = static_cast<uint32_t>(nsw);
  Builder b;
  b.init(path, T, S);
  std::vector<uint32_t> next_port(T + S, 1);
  std::vector<uint32_t> term_line(T, 0);
  for (const L& l : links) {
    e.line = l.line;
    if (l.at) {
      if (term_line[l.a]) e.fail("terminal attached twice (first on line " + std::to_string(term_line[l.a]) + ")",
                                 "t" + std::to_string(l.a));
      term_line[l.a] = l.line;
    }
    const uint32_t ra = l.at ? l.a : T + l.a, rb = T + l.b;
    const uint32_t pa = next_port[ra]++, pb = next_port[rb]++;
    if (pb > kMaxRadix) e.fail("switch radix above 64", "s" + std::to_string(l.b));
    if (pa > kMaxRadix) e.fail("switch radix above 64", "s" + std::to_string(l.a));
    b.link(ra, pa, rb, pb, l.lat, l.cpf, 0, 0);
  }
  for (uint32_t t = 0; t < T; ++t)
    if (!term_line[t]) {
      e.line = 0;
      e.fail("terminal has no link", "t" + std::to_string(t));
    }
  b.finish();
  route_updown(b.g);
  return b.g;
}

bool is_switched(const NocConfig& c) {
  return c.topology == Topology::kFatTree || c.topology == Topology::kDragonfly ||
         c.topology == Topology::kFlatFly || c.topology == Topology::kFile;
}

TopoGraph build_topology(const NocConfig& c) {
  TopoGraph g;
  switch (c.topology) {
    case Topology::kFatTree:
      range("ft_k", c.ft_k, 1, 64);
      range("ft_levels", c.ft_levels, 1, 8);
      range("ft_terminals", c.ft_terminals, 0, 64);
      g = build_fat_tree(c);
      break;
    case Topology::kDragonfly:
      range("df_a", c.df_a, 1, 64);
      range("df_p", c.df_p, 1, 64);
      range("df_h", c.df_h, 1, 64);
      range("df_groups", c.df_groups, 0, 4097);
      if (c.df_groups == 1) bad("df_groups", 1, "at least 2 (0: df_a*df_h+1)");
      g = build_dragonfly(c);
      break;
    case Topology::kFlatFly:
      range("fb_k", c.fb_k, 2, 64);
      range("fb_n", c.fb_n, 1, 8);
      range("fb_c", c.fb_c, 1, 64);
      g = build_flatfly(c);
      break;
    case Topology::kFile:
      if (c.topo_file.empty()) throw std::invalid_argument("NocConfig.topo_file = '': a file topology needs a file");
      g = read_topology_file(c.topo_file, c.clock_period.value(), c.link_width_bytes);
      break;
    default: throw std::invalid_argument("build_topology: not a switched topology");
  }
  if (c.routing == Routing::kEcmp && c.topology != Topology::kFatTree)
    throw std::invalid_argument(std::string("NocConfig.routing = ecmp: only on fat_tree (topology ") +
                                to_string(c.topology) + ")");
  if ((c.routing == Routing::kValiant || c.routing == Routing::kUgal) && c.topology != Topology::kDragonfly)
    throw std::invalid_argument(std::string("NocConfig.routing = ") + to_string(c.routing) +
                                ": only on dragonfly (topology " + to_string(c.topology) + ")");
  if (c.routing == Routing::kAdaptive && c.topology != Topology::kFatTree)
    throw std::invalid_argument(std::string("NocConfig.routing = adaptive: only on fat_tree (topology ") +
                                to_string(c.topology) + "); dragonfly: ugal");
  if (c.routing == Routing::kUpDown) route_updown(g);
  g.routing = c.routing;
  return g;
}

// ------------------------------------------------------------ CDG

CdgResult check_cdg(const TopoGraph& g, bool ignore_bumps) {
  const uint32_t sets = ignore_bumps ? 1 : std::max<uint32_t>(1, g.vc_sets);
  const uint32_t nvtx = static_cast<uint32_t>(g.ch.size()) * sets;
  std::vector<uint64_t> edges;
  for (uint32_t s = 0; s < g.terminals; ++s)
    for (uint32_t d = 0; d < g.terminals; ++d) {
      if (s == d) continue;
      std::vector<uint32_t> inters;
      const auto paths = g.all_paths(s, d, &inters);
      for (size_t k = 0; k < paths.size(); ++k) {
        const auto& p = paths[k];
        uint32_t lvl = 0;
        int64_t prev = -1;
        for (uint32_t c : p) {
          const uint32_t r = g.ch[c].r;
          const bool fresh = r >= g.terminals && prev >= 0 && g.ch[static_cast<uint32_t>(prev) / sets].r < g.terminals;
          if (!ignore_bumps) lvl = g.next_set(lvl, r, c, inters[k], fresh, d);
          const uint32_t v = c * sets + lvl;
          if (prev >= 0) edges.push_back((static_cast<uint64_t>(prev) << 32) | v);
          prev = v;
        }
      }
    }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  CdgResult res;
  res.vertices = nvtx;
  res.edges = edges.size();
  std::vector<uint32_t> first(nvtx + 1, 0);
  for (uint64_t e : edges) ++first[(e >> 32) + 1];
  for (uint32_t i = 0; i < nvtx; ++i) first[i + 1] += first[i];
  // Iterative DFS: 0 white, 1 on the stack, 2 done.
  std::vector<uint8_t> color(nvtx, 0);
  std::vector<uint32_t> parent(nvtx, 0), it(nvtx, 0);
  for (uint32_t root = 0; root < nvtx && res.acyclic; ++root) {
    if (color[root]) continue;
    std::vector<uint32_t> st{root};
    color[root] = 1;
    it[root] = first[root];
    while (!st.empty() && res.acyclic) {
      const uint32_t u = st.back();
      if (it[u] == first[u + 1]) {
        color[u] = 2;
        st.pop_back();
        continue;
      }
      const uint32_t w = static_cast<uint32_t>(edges[it[u]++] & 0xFFFFFFFFu);
      if (color[w] == 0) {
        color[w] = 1;
        parent[w] = u;
        it[w] = first[w];
        st.push_back(w);
      } else if (color[w] == 1) {
        res.acyclic = false;
        for (uint32_t x = u;; x = parent[x]) {
          res.cycle.push_back(x / sets);
          if (x == w) break;
        }
        std::reverse(res.cycle.begin(), res.cycle.end());
      }
    }
  }
  return res;
}

}  // namespace cmm::tlmshell
