// Elaboration room: builds the system of a scenario. Fabric (system_fabric.h),
// fault interposers, then per node its CMM, node bus and partitions (kernel
// agent, contexts), the traces, the channels with their user-process threads,
// the agents' threads and the attackers; binds every socket.
#include "system_impl.h"

#include <cstring>
#include <stdexcept>

#include <sodium.h>

#include "cmm_strong_keys.h"
#include "config_error.h"
#include "rtl_core.h"

namespace cmm::tb {

namespace {

// Seed of a node's hardware key generator (docs/security.md 1.10), from the
// run seed with libsodium's KDF like the agents' keys (sw/src/key_gen.cpp)
// but its own domain and context: master = BLAKE2b-256(domain || seed),
// entropy = KDF(16 bytes, id = node << 32 | boot, "CMMENTRP", master).
// Same seed, same entropy: runs reproduce.
Key node_entropy(uint64_t seed, uint16_t node, uint32_t boot) {
  static constexpr char kDomain[] = "cmm/testbench/keygen-entropy/v1";
  static constexpr char kContext[9] = "CMMENTRP";
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  uint8_t in[sizeof kDomain - 1 + 8];
  std::memcpy(in, kDomain, sizeof kDomain - 1);
  for (int i = 0; i < 8; ++i) in[sizeof kDomain - 1 + i] = static_cast<uint8_t>(seed >> (8 * i));
  uint8_t master[crypto_kdf_KEYBYTES];
  crypto_generichash(master, sizeof master, in, sizeof in, nullptr, 0);
  uint8_t raw[regs::kKeyWords * 4];
  crypto_kdf_derive_from_key(raw, sizeof raw, (uint64_t{node} << 32) | boot, kContext, master);
  Key k{};
  for (uint32_t w = 0; w < regs::kKeyWords; ++w)
    k[w] = uint32_t{raw[4 * w]} | uint32_t{raw[4 * w + 1]} << 8 | uint32_t{raw[4 * w + 2]} << 16 |
           uint32_t{raw[4 * w + 3]} << 24;
  sodium_memzero(master, sizeof master);
  sodium_memzero(raw, sizeof raw);
  return k;
}

}  // namespace

System::System(sc_module_name name, const Scenario& s, const RunOptions& opt)
    : sc_module(name), scen_(s), opt_(opt), period_(sc_time(1000.0 / s.clock_ghz, SC_PS)),
      poll_rx_(s.rx_wakeup == "poll"), sb_(opt.seed) {
  clock_ = std::make_unique<tlmshell::ClockDomain>("clock", period_);
  if (opt.exact_latency) done_.keep_exact_latency();
  // Fabric: one port per node, then one per rogue node.
  uint32_t rogues = 0;
  for (const auto& a : s.attacks) rogues += is_rogue_attack(a.kind) ? 1 : 0;
  const uint32_t ports = static_cast<uint32_t>(s.nodes.size()) + rogues;
  fabric_ = std::make_unique<SystemFabric>(s, ports, period_, clock_.get());
  fabric_->set_fault_hook(&drop_watch_);
  // Fault injection: an interposer on each node's two links, only when a
  // rule is configured (otherwise the links are bound directly, as always).
  if (!opt_.faults && !s.faults.empty()) {
    // The scenario's fault keys (tests may set RunOptions::faults instead).
    RunOptions::Faults f;
    for (const auto& r : s.faults) f.rules.push_back({r.kind, r.rate, r.link});
    f.packets = s.fault_packets;
    f.reorder_window = s.fault_reorder_window;
    f.delay_cycles = s.fault_delay_cycles;
    f.stall_cycles = s.fault_stall_cycles;
    opt_.faults = f;
  }
  if (opt_.faults && !opt_.faults->rules.empty()) {
    const RunOptions::Faults& F = *opt_.faults;
    tlmshell::FaultConfig fc;
    fc.seed = opt.seed;
    fc.clock_period = period_;
    fc.reorder_window = F.reorder_window;
    fc.delay_cycles = F.delay_cycles;
    fc.stall_cycles = F.stall_cycles;
    if (F.packets == "data") fc.packets = tlmshell::FaultPackets::kData;
    else if (F.packets != "all")
      throw ConfigError("fault_packets: '" + F.packets + "': allowed values are all, data");
    for (size_t i = 0; i < F.rules.size(); ++i) {
      const auto& R = F.rules[i];
      tlmshell::FaultRule fr;
      try {
        fr.kind = tlmshell::parse_fault_kind(R.kind);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(fmt::format("faults[{}].kind: {}", i, e.what()));
      }
      fr.rate = R.rate;
      // Links: node n's injection link is 2n, its ejection link 2n + 1.
      std::vector<int> links;
      if (R.link == "all" || R.link.empty()) {
        links.push_back(-1);
      } else {
        const auto dot = R.link.rfind('.');
        const std::string dir = dot == std::string::npos ? "" : R.link.substr(dot + 1);
        const bool has_dir = dir == "in" || dir == "out";
        const std::string name = has_dir ? R.link.substr(0, dot) : R.link;
        int n = -1;
        for (size_t k = 0; k < s.nodes.size(); ++k)
          if (s.nodes[k].name == name) n = static_cast<int>(k);
        if (n < 0)
          throw ConfigError(fmt::format("faults[{}].link: '{}': allowed values are all, <node>, <node>.in, <node>.out "
                                        "with a node of the scenario", i, R.link));
        if (!has_dir || dir == "in") links.push_back(2 * n);
        if (!has_dir || dir == "out") links.push_back(2 * n + 1);
      }
      for (int l : links) {
        fr.link = l;
        fc.rules.push_back(fr);
      }
    }
    try {
      fc.validate();
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    faults_ = std::make_unique<tlmshell::FaultInjector>(fc);
    faults_->set_observer(&fault_watch_);
    // Faults hit the scenario's own packets only: a rogue node's (its own id)
    // are judged by the attack accounting and pass untouched.
    faults_->set_filter([this](const tlmshell::Packet& p) { return node_by_id_[p.hdr.src_node] >= 0; });
    fault_settle_ = fault_settle_cycles();
  }
  rogue_by_port_.assign(fabric_->num_ports(), nullptr);
  for (uint32_t i = 0; i < (1u << regs::kNodeIdBits); ++i) fabric_->route(static_cast<uint16_t>(i), -1);
  fabric_->terminate_unused(ports);

  // Nodes.
  node_by_id_.fill(-1);
  for (size_t n = 0; n < s.nodes.size(); ++n) {
    node_by_id_[s.nodes[n].id] = static_cast<int32_t>(n);
    const NodeSpec& N = s.nodes[n];
    auto node = std::make_unique<Node>();
    node->idx = n;
    node->spec = &N;
    node->rx_chan.assign(s.geometry.num_endpoints, -1);
    node->tx_chan.assign(s.geometry.num_endpoints, -1);
    node->early.resize(s.geometry.num_endpoints);
    tlmshell::CmmTlmConfig cc;
    cc.clock_period = period_;
    cc.clock = clock_.get();
    cc.entropy = node_entropy(opt.seed, N.id, 0);  // boot 0: the system never resets a CMM
    cc.straps.node_id = N.id;
    cc.core_params.geo = s.geometry;  // run time (DESIGN.md); validate() kept rtl nodes at the default
    cc.core_params.mac_latency_cycles = s.mac_latency_cycles;
    cc.core_params.mac_bytes_per_cycle = s.mac_bytes_per_cycle;
    // Reliable delivery (docs/strong-mode.md 6): strong channels only.
    cc.core_params.reliable = s.security_mode == "strong" && s.reliable;
    cc.core_params.tx_window = s.tx_window;
    cc.core_params.retx_max = s.retx_max;
    cc.core_params.retx_timeout_cycles = s.retx_timeout_cycles;
    // Rekey without drain (docs/strong-mode.md 7): every strong run (the RTL has none: its factory ignores it).
    cc.core_params.rekey = s.security_mode == "strong";
    for (size_t p = 0; p < N.partitions.size(); ++p) cc.straps.quota[p] = N.partitions[p].quota;
    if (s.core_of(N) == "rtl") {
      cc.core_factory = rtl_core_factory(s.geometry);
      if (!cc.core_factory)
        throw ConfigError("node " + N.name + ": core 'rtl' needs the Verilated RTL of this table geometry, but this "
                          "build has none (Verilator was not found when it was configured, or the geometry is "
                          "neither the default one nor CMM_RTL_GEOMETRY2)");
    }
    const std::string nn = "node" + N.name;
    node->cmm = std::make_unique<CmmTlm>((nn + "_cmm").c_str(), cc);
    const bool strong = s.security_mode == "strong";
    node->bus = std::make_unique<NodeBus>((nn + "_bus").c_str(), static_cast<uint32_t>(N.partitions.size()),
                                          period_ * static_cast<double>(s.bus_latency_cycles), strong);
    if (strong) {
      node->bmc = std::make_unique<PartitionBusIf>((nn + "_bmc").c_str());
      node->bmc->isock.bind(*node->bus->mgmt_tsock);
      node->fw = node->bmc->make_context(regs::Priv::kUser, 0);  // the bus stamps FIRMWARE
    } else {
      node->provisioned = true;
    }
    node->bus->cmm_isock.bind(node->cmm->reg_tsock);
    if (faults_) {
      faults_->interpose(static_cast<uint32_t>(n), node->cmm->eg_isock, fabric_->in(static_cast<uint32_t>(n)),
                         fabric_->out(static_cast<uint32_t>(n)), node->cmm->ing_tsock);
      link_names_.push_back(N.name + ".in");
      link_names_.push_back(N.name + ".out");
    } else {
      node->cmm->eg_isock.bind(fabric_->in(static_cast<uint32_t>(n)));
      fabric_->out(static_cast<uint32_t>(n)).bind(node->cmm->ing_tsock);
    }
    fabric_->route(N.id, static_cast<int>(n));
    node->mon = std::make_unique<DeliveryMonitor>(*this, n);
    node->cmm->set_observer(node->mon.get());
    for (size_t p = 0; p < N.partitions.size(); ++p) {
      auto part = std::make_unique<Part>();
      part->node = node.get();
      part->idx = p;
      part->biu = std::make_unique<PartitionBusIf>((nn + "_part" + N.partitions[p].name + "_biu").c_str());
      part->biu->isock.bind(*node->bus->part_tsock[p]);
      part->kctx = part->biu->make_context(regs::Priv::kKernel, 0);
      part->stat_ctx = part->biu->make_context(regs::Priv::kKernel, 0);
      // Keys: the driver's per-partition KDF from the run seed (it binds
      // node, partition and boot itself).
      sw::AgentConfig ac;
      ac.alarm_thresh = static_cast<uint16_t>(s.alarm_thresh);
      ac.alarm_window_log2 = static_cast<uint8_t>(s.alarm_window_log2);
      ac.key_source = s.key_source == "hardware" ? sw::KeySource::kHardware : sw::KeySource::kSoftware;
      ac.mgmt_batch = s.geometry.mgmtq_depth;
      // A larger table means a longer connect storm (more requests per agent
      // queue behind each other): the set-up deadlines grow with it.
      const uint64_t scale = std::max<uint64_t>(1, s.geometry.num_endpoints / regs::kNumEndpoints);
      ac.request_timeout *= scale;
      ac.grant_timeout *= scale;
      if (scale > 1) {  // more re-sends, the back-off capped at its default's last step
        ac.mgmt_backoff_doublings = static_cast<uint8_t>(ac.mgmt_tries - 1);
        ac.mgmt_timeout = ac.request_timeout / scale / 8;  // lost CHAN_REQs re-sent as soon as by default
        ac.mgmt_tries = static_cast<uint8_t>(std::min<uint64_t>(255, ac.mgmt_tries * scale));
      }
      part->agent = std::make_unique<KernelAgent>(*part->kctx, opt.seed, ac);
      part->agent->set_clock([this] { return cycle(); });
      // The OS policy: grant only the channels of the scenario (what a real
      // system configures), so a rogue's CHAN_REQ takes no endpoint.
      Part* pp = part.get();
      part->agent->set_accept_policy([this, pp](const sw::IncomingRequest& rq) {
        for (const auto& ch : chans_) {
          const ChanRt& c = *ch;
          if (c.s.node == pp->node->idx && c.s.part == pp->idx && scen_.nodes[c.r.node].id == rq.src_node &&
              c.r.part == rq.src_part && pid_of(c.r) == rq.recv_pid && pid_of(c.s) == rq.send_pid)
            return true;
        }
        return false;
      });
      node->parts.push_back(std::move(part));
    }
    nodes_.push_back(std::move(node));
  }

  // Traces: node index = pid; window and node filter from the options.
  traces_ = std::make_unique<SystemTraces>(s, opt, period_.value());

  // Channels: one sender and one receiver thread each, on their own hardware
  // contexts (same pid as the owning process).
  std::vector<const ChannelSpec*> specs;
  for (const auto& c : s.channels) specs.push_back(&c);
  std::vector<std::pair<uint32_t, uint32_t>> pairs;
  if (s.traffic) {
    terms_ = s.terminals();
    traffic_.emplace(*s.traffic, static_cast<uint32_t>(terms_.size()), opt.seed);
    auto name = [&](uint32_t t) {
      const Location& l = terms_[t];
      return s.nodes[l.node].partitions[l.part].processes[l.proc].name;
    };
    // Every pair the pattern needs gets a channel; each takes one endpoint in
    // the receiver's and one in the sender's partition.
    std::map<std::pair<size_t, size_t>, uint32_t> need;
    for (const auto& [src, dst] : traffic_->channel_pairs()) {
      ChannelSpec cs;
      cs.receiver = name(dst);
      cs.sender = name(src);
      cs.messages = 0;
      gen_specs_.push_back(cs);
      specs.push_back(&gen_specs_.back());
      pairs.emplace_back(src, dst);
      ++need[{terms_[dst].node, terms_[dst].part}];
      ++need[{terms_[src].node, terms_[src].part}];
    }
    for (const auto& [np, n] : need) {
      const auto& P = s.nodes[np.first].partitions[np.second];
      if (n > P.quota)
        throw ConfigError(fmt::format("traffic: pattern {} on {} terminals needs {} endpoints in partition {} of node "
                                      "{}, its quota is {} (the CMM has {} in all, geometry.num_endpoints): use "
                                      "geometry.num_endpoints, traffic.pattern.fanout, fewer processes, or a "
                                      "permutation",
                                      to_string(s.traffic->pattern.kind), terms_.size(), n, P.name,
                                      s.nodes[np.first].name, P.quota, s.geometry.num_endpoints));
    }
  }
  for (size_t c = 0; c < specs.size(); ++c) {
    auto ch = std::make_unique<ChanRt>();
    ch->idx = static_cast<uint32_t>(c);
    ch->spec = specs[c];
    if (c >= s.channels.size()) {
      ch->open_ended = true;
      std::tie(ch->src_term, ch->dst_term) = pairs[c - s.channels.size()];
    }
    ch->r = s.locate(ch->spec->receiver);
    ch->s = s.locate(ch->spec->sender);
    ch->label = ch->spec->receiver + " <- " + ch->spec->sender;
    if (!ch->open_ended) ch->times.resize(ch->spec->messages);
    ch->times.on_done = [this, c = ch.get()](uint32_t, const ChanRt::Times& t) { account(*c, t); };
    ch->times.finished = [this, i = ch->idx](uint32_t seq) { return sb_.finished(i, seq); };
    sb_.add_channel(ch->idx, ch->label, ch->spec->messages);
    chans_.push_back(std::move(ch));
  }
  for (auto& ch : chans_) {
    ChanRt& c = *ch;
    user_ctx_.push_back(part_of(c.s).biu->make_context(regs::Priv::kUser, pid_of(c.s)));
    CpuBusIf& sctx = *user_ctx_.back();
    user_ctx_.push_back(part_of(c.r).biu->make_context(regs::Priv::kUser, pid_of(c.r)));
    CpuBusIf& rctx = *user_ctx_.back();
    if (!c.open_ended)
      sc_spawn([this, &c, &sctx] { sender_thread(c, sctx), park(); }, sc_gen_unique_name("sender"));
    else pair_chan_[{c.src_term, c.dst_term}] = &c;
    sc_spawn([this, &c, &rctx] { receiver_thread(c, rctx), park(); }, sc_gen_unique_name("receiver"));
  }
  term_chan_.assign(terms_.size(), {});
  for (const auto& [pr, c] : pair_chan_) {
    if (pr.first >= term_chan_.size()) term_chan_.resize(pr.first + 1);
    term_chan_[pr.first].emplace_back(pr.second, c);
  }
  if (traffic_)
    for (uint32_t t = 0; t < terms_.size(); ++t) {
      if (!traffic_->active(t)) continue;
      user_ctx_.push_back(part_of(terms_[t]).biu->make_context(regs::Priv::kUser, pid_of(terms_[t])));
      CpuBusIf& ctx = *user_ctx_.back();
      sc_spawn([this, t, &ctx] { source_thread(t, ctx), park(); }, sc_gen_unique_name("source"));
    }
  for (auto& node : nodes_)
    for (auto& part : node->parts) {
      Part& p = *part;
      sc_spawn([this, &p] { agent_thread(p); }, sc_gen_unique_name("agent"));
    }
  // Attackers.
  uint32_t port = static_cast<uint32_t>(s.nodes.size());
  for (const auto& A : s.attacks) {
    auto a = std::make_unique<AttackRt>();
    a->spec = &A;
    const ChanRt& c = *chans_[A.channel];
    if (is_rogue_attack(A.kind)) {
      a->rogue = std::make_unique<RogueNode>(sc_gen_unique_name("rogue_node"));
      a->rogue->isock.bind(fabric_->in(port));
      fabric_->out(port).bind(a->rogue->tsock);
      fabric_->route(A.rogue_node_id, static_cast<int>(port));
      a->rogue->withhold = A.kind == "credit_withholder";
      a->port = port;
      rogue_by_id_[A.rogue_node_id] = a.get();
      rogue_by_port_.at(port) = a.get();
      ++port;
      if (A.kind == "rogue_node_spoofed" || A.kind == "key_predictor") a->expect = regs::Reason::kSrcSpoofed;
      else if (A.kind == "rogue_all_kinds") a->expect = regs::Reason::kOk;  // one reason per packet kind
      else a->expect = regs::Reason::kSrcNodeMismatch;
      a->target = A.kind == "rogue_all_kinds" ? "send and receive entries of " + c.label : "receive entry of " + c.label;
    } else {
      const Location at = s.locate(A.attacker);
      Part& ap = part_of(at);
      a->expect = regs::Reason::kDenied;
      const bool on_sender = at.node == c.s.node;
      a->target = std::string(on_sender ? "send" : "receive") + " entry of " + c.label;
      if (A.kind == "steal_endpoint") {
        a->ctx = ap.biu->make_context(regs::Priv::kUser, pid_of(at));
      } else {
        // A second kernel context of the partition (not its agent's: no
        // interference with the partition's own interrupt service).
        a->ctx = ap.biu->make_context(regs::Priv::kKernel, 0);
        a->kernel = true;
      }
    }
    AttackRt& ar = *a;
    attacks_.push_back(std::move(a));
    sc_spawn([this, &ar] { attack_thread(ar); }, sc_gen_unique_name("attacker"));
  }
  for (const auto& c : s.channels) expected_messages_ += c.messages;
  sc_spawn([this] { control_thread(); }, "control");
  sc_spawn([this] { monitor_thread(); }, "monitor");
  if (s.stats_interval_cycles) sc_spawn([this] { sampler_thread(); }, "sampler");
}

}  // namespace cmm::tb
