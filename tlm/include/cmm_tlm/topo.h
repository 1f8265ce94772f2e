// Switched server fabrics for the Noc (docs/fabric.md "Switched fabrics"):
// k-ary n-tree fat-tree, dragonfly, flattened butterfly and a topology read
// from a file, each compiled into one graph of routers, channels and a
// routing table that the Noc's router models run unchanged. Terminals (CMM
// nodes) are routers 0..terminals-1: a network adapter with the NI on port 0
// and one link (port 1) to its leaf switch; switches follow.
// Also the channel-dependency-graph (CDG) deadlock check.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace cmm::tlmshell {

struct NocConfig;

// Routing on a switched fabric.
//  kMinimal: the topology's own deterministic routing: fat-tree D-mod-k
//            (up port = (dst / k^level) mod k, then down), dragonfly minimal
//            (local, global, local), flattened butterfly dimension order,
//            file: up*/down* (the only one defined on any graph).
//  kEcmp:    fat-tree: the up port is a hash of the flow (src, dst) and the
//            switch; down as kMinimal.
//  kUpDown:  up*/down* on a BFS spanning tree from switch 0 (any topology).
//  kValiant: dragonfly: to a random intermediate group, then minimal.
//  kUgal:    dragonfly UGAL-L: at the source router, minimal or Valiant by
//            the local queue estimates of the two first outputs.
//  kAdaptive: fat-tree: each up hop takes the least-loaded up port.
// The adaptive ones keep flows in order by flowlets: a packet follows its
// flow's current path while an earlier packet of the flow is in flight.
enum class Routing : uint8_t { kMinimal = 0, kEcmp = 1, kUpDown = 2, kValiant = 3, kUgal = 4, kAdaptive = 5 };
// "minimal", "ecmp", "updown", "valiant", "ugal", "adaptive"
Routing parse_routing(const std::string& s);
const char* to_string(Routing r);

// Dragonfly global-link arrangement: kAbsolute ("consecutive"): global port
// k of group i (k = router*h + j) goes to group k < i ? k : k + 1;
// kPalmtree: to group (i + k + 1) mod g.
enum class Arrangement : uint8_t { kAbsolute = 0, kPalmtree = 1 };
Arrangement parse_arrangement(const std::string& s);  // "absolute" ("consecutive"), "palmtree"
const char* to_string(Arrangement a);

inline constexpr uint32_t kMaxRadix = 64;        // network ports of a switch
inline constexpr uint8_t kEcmpPort = 255;        // route table: up port by flow hash
inline constexpr uint32_t kMaxTopoRouters = 16384;
inline constexpr uint32_t kMaxTerminals = 65536;  // 16-bit node ids (hw/data/cmm.toml node_id_bits)

struct TopoChannel {     // one direction of a link: output (r, p) -> input (r2, p2)
  uint32_t r = 0, p = 0, r2 = 0, p2 = 0;
  uint32_t latency_cycles = 1;
  uint32_t cycles_per_flit = 1;  // ceil(flit bytes / link width bytes)
  uint8_t bump = 0;              // crossing it moves a packet to the next VC set
  uint8_t up = 0;                // towards the root (up*/down*, fat-tree up links)
};

struct TopoGraph {
  std::string name;
  uint32_t terminals = 0, routers = 0, ports = 0;  // ports: per router, port 0 included
  std::vector<uint32_t> radix;                     // [router]: network ports in use
  std::vector<TopoChannel> ch;
  std::vector<int32_t> out_ch;   // [router*ports + port]: channel index, -1 none
  std::vector<uint8_t> route;    // [router*terminals + dst]: output port (0 eject, kEcmpPort)
  std::vector<uint8_t> up_lo, up_n;  // [router]: up ports [lo, lo+n) for kEcmpPort
  uint32_t vc_sets = 1;          // VC sets per class the routing needs (dragonfly minimal: 2, valiant/ugal: 3, 4 via a router)
  bool via_router = false;       // dragonfly valiant/ugal: the intermediate is a router (NocConfig::valiant_router)
  bool phase_vcs = false;        // with via_router: BookSim2's VC per phase (NocConfig::phase_vcs)
  Routing routing = Routing::kMinimal;
  uint32_t df_a = 0, df_p = 0, df_g = 0;  // dragonfly shape (intermediate groups)
  std::vector<uint8_t> level;    // [router]: fat-tree switch level (flowlet path memory)

  // Dragonfly: group of a router (terminal adapters: their switch's group).
  uint32_t group_of(uint32_t r) const {
    return r < terminals ? r / (df_a * df_p) : (r - terminals) / df_a;
  }
  // Dragonfly: the terminal the routing aims at to reach group `grp`.
  uint32_t group_target(uint32_t grp) const { return grp * df_a * df_p; }
  // Dragonfly: the terminal the routing aims at to reach switch router `r`.
  uint32_t router_target(uint32_t r) const { return (r - terminals) * df_p; }
  // VC set of a packet leaving router `r` over channel c, from input set
  // `lvl`: one up across a bump (global) link; via_router: at least 2 once
  // it leaves its intermediate router `inter` (the phase after it).
  // fresh: the packet entered switch r from its terminal; d: its destination
  // terminal (phase_vcs only).
  uint32_t next_set(uint32_t lvl, uint32_t r, uint32_t c, uint32_t inter, bool fresh = false, uint32_t d = 0) const {
    if (phase_vcs) {  // BookSim2: phase 0 | 1 | 2
      if (fresh) lvl = group_of(r) == group_of(d) ? 2 : inter != kNoInter && group_of(inter) != group_of(r) ? 0 : 1;
      if (lvl == 0 && r == inter) lvl = 1;
      return lvl == 1 && ch[c].bump ? 2 : lvl;
    }
    if (via_router && inter == r && lvl < 2) lvl = 2;
    return std::min<uint32_t>(lvl + ch[c].bump, vc_sets - 1);
  }

  // Output port at router r for a packet of flow `flow` to terminal d.
  uint32_t port_for(uint32_t r, uint32_t d, uint32_t flow) const;
  // Channels of the path s -> d (terminal indices), in order: the minimal
  // (or ECMP) path; valiant/ugal through intermediate group `inter`
  // (via_router: intermediate switch router; kNoInter: minimal); adaptive:
  // up port `ups[level]` at each up hop (null: the ECMP pick).
  std::vector<uint32_t> path(uint32_t s, uint32_t d, uint32_t flow, uint32_t inter = kNoInter,
                             const uint8_t* ups = nullptr) const;
  // Every path the routing allows from s to d (the union for adaptive
  // routing; one path for deterministic routing).
  // inters (if given): the intermediate of each path (kNoInter: none).
  std::vector<std::vector<uint32_t>> all_paths(uint32_t s, uint32_t d, std::vector<uint32_t>* inters = nullptr) const;
  // via_router: whether intermediate router `inter` makes s -> d nonminimal
  // (its group is not the source's).
  bool via(uint32_t s, uint32_t inter) const {
    if (inter == kNoInter || !df_a) return false;
    return via_router ? group_of(inter) != group_of(s) : true;
  }
  static constexpr uint32_t kNoInter = 0xFFFFu;
};

// The flow hash the Noc gives a packet of (src router, dst router).
uint32_t flow_hash(uint32_t src_router, uint32_t dst_router);
// ECMP: the up port chosen at router r for flow `flow`.
uint32_t ecmp_pick(uint32_t r, uint32_t flow, uint32_t n);

bool is_switched(const NocConfig& c);
// Builds the graph of a switched topology (cfg.topology fat_tree, dragonfly,
// flatfly, file). Throws std::invalid_argument naming the parameter, or for
// a file "<file>:<line>: <what> '<value>'".
TopoGraph build_topology(const NocConfig& c);
// Parses a topology file (format in docs/fabric.md); the latencies in ns are
// converted with period_ps and widths against flit_bytes.
TopoGraph read_topology_file(const std::string& path, uint64_t period_ps, uint32_t flit_bytes);
// Cycles of a link of `ns` nanoseconds at the fabric clock: ceil, at least 1.
uint32_t ns_to_cycles(double ns, uint64_t period_ps);

// Channel dependency graph of the routing over every (src, dst) pair and
// every path the routing allows (adaptive: the union), one vertex per
// (channel, VC set). ignore_bumps: every channel in set 0 (to
// show that the VC sets are needed).
struct CdgResult {
  bool acyclic = true;
  uint64_t vertices = 0, edges = 0;
  std::vector<uint32_t> cycle;  // channel indices of one cycle when cyclic
};
CdgResult check_cdg(const TopoGraph& g, bool ignore_bumps = false);

}  // namespace cmm::tlmshell
