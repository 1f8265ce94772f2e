// The energy model (energy.cpp): exact scaling with the counted events and
// the simulated time (static power), each parameter on its own component,
// and refused bad parameters.
#include "energy.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "config_error.h"
#include "scenario_keys.h"

namespace cmm::tb {
namespace {

// Two nodes, one router, one link of each length class.
EnergyEvents sample_events() {
  EnergyEvents e;
  e.nodes = {"202", "204"};
  e.cmm = {{7, 3, 11, 1000, 64}, {5, 2, 13, 700, 0}};
  e.routers = {{"r0", 40, 38, 38, 38, 5, 1280}};
  e.links = {{"202.in", 0, 0.5, 4096}, {"r0.p1", -1, 5.0, 2048}, {"204.out", 1, 100.0, 1024}};
  e.cycles = 5000;
  e.clock_ghz = 1.0;
  return e;
}

EnergyEvents doubled(EnergyEvents e) {
  for (auto& c : e.cmm) {
    c.table_lookups *= 2;
    c.key_compares *= 2;
    c.register_accesses *= 2;
    c.buffer_bytes *= 2;
    c.mac_bytes *= 2;
  }
  for (auto& r : e.routers) {
    r.buf_writes *= 2;
    r.buf_reads *= 2;
    r.crossbar_flits *= 2;
    r.alloc_flits *= 2;
  }
  for (auto& l : e.links) l.bits *= 2;
  e.cycles *= 2;  // twice the events in twice the time: static energy doubles too
  return e;
}

EnergyParams zero_params() {
  EnergyParams p;
  for (auto* f : {&p.link_onchip_pj_per_bit, &p.link_board_pj_per_bit, &p.link_cable_pj_per_bit,
                  &p.buffer_write_pj, &p.buffer_read_pj, &p.crossbar_pj, &p.alloc_pj, &p.table_lookup_pj,
                  &p.key_compare_pj, &p.register_access_pj, &p.packet_buffer_pj_per_byte, &p.mac_pj_per_byte,
                  &p.cmm_static_mw, &p.buffer_static_mw_per_byte, &p.crossbar_static_mw_per_port,
                  &p.alloc_static_mw, &p.link_onchip_static_mw, &p.link_board_static_mw, &p.link_cable_static_mw})
    *f = 0;
  return p;
}

TEST(Energy, IsCountTimesEnergyPerEvent) {
  const EnergyParams p;
  const EnergyReport r = compute_energy(p, sample_events());
  EXPECT_EQ(r.cmm[0].table_lookup, 7 * p.table_lookup_pj);
  EXPECT_EQ(r.cmm[0].mac, 64 * p.mac_pj_per_byte);
  EXPECT_EQ(r.cmm[1].packet_buffer, 700 * p.packet_buffer_pj_per_byte);
  EXPECT_EQ(r.routers[0].buffer_write, 40 * p.buffer_write_pj);
  EXPECT_EQ(r.links[0].cls, LinkClass::kOnChip);
  EXPECT_EQ(r.links[1].cls, LinkClass::kBoard);
  EXPECT_EQ(r.links[2].cls, LinkClass::kCable);
  EXPECT_EQ(r.links[2].energy, 1024 * p.link_cable_pj_per_bit + p.link_cable_static_mw * 5000);
  // Per node: its CMM and its own links; totals are the sums of components.
  EXPECT_EQ(r.node_total[0], r.cmm[0].total() + r.links[0].energy);
  EXPECT_EQ(r.node_total[1], r.cmm[1].total() + r.links[2].energy);
  EXPECT_DOUBLE_EQ(r.total, r.cmm[0].total() + r.cmm[1].total() + r.routers[0].total() + r.links[0].energy +
                                r.links[1].energy + r.links[2].energy);
  EXPECT_DOUBLE_EQ(r.average_power_mw, r.total / 5000.0);  // pJ per ns = mW
}

TEST(Energy, DoubleTheEventsDoubleTheEnergyExactly) {
  const EnergyParams p;
  const EnergyReport a = compute_energy(p, sample_events()), b = compute_energy(p, doubled(sample_events()));
  EXPECT_EQ(b.total, 2 * a.total);
  EXPECT_EQ(b.cmm_total, 2 * a.cmm_total);
  EXPECT_EQ(b.router_total, 2 * a.router_total);
  EXPECT_EQ(b.link_total, 2 * a.link_total);
  for (size_t n = 0; n < a.node_total.size(); ++n) EXPECT_EQ(b.node_total[n], 2 * a.node_total[n]);
  for (size_t i = 0; i < a.links.size(); ++i) EXPECT_EQ(b.links[i].energy, 2 * a.links[i].energy);
}

// energy = events x energy per event + static power x time, exactly, per
// component; with the events fixed, more time adds exactly the static power x
// the extra time. Non-zero static power on every class so each term counts.
TEST(Energy, IsEventsTimesEnergyPlusStaticPowerTimesTimeExactly) {
  EnergyParams p;
  p.link_board_static_mw = 40.0;
  p.link_cable_static_mw = 1750.0;
  const EnergyEvents e = sample_events();
  const double ns = 5000.0;
  const EnergyReport r = compute_energy(p, e);
  EXPECT_EQ(r.cmm[0].static_energy, p.cmm_static_mw * ns);
  EXPECT_EQ(r.cmm[0].total(), 7 * p.table_lookup_pj + 3 * p.key_compare_pj + 11 * p.register_access_pj +
                                  1000 * p.packet_buffer_pj_per_byte + 64 * p.mac_pj_per_byte + p.cmm_static_mw * ns);
  EXPECT_EQ(r.routers[0].total(),
            40 * p.buffer_write_pj + 38 * p.buffer_read_pj + 38 * p.crossbar_pj + 38 * p.alloc_pj +
                (1280 * p.buffer_static_mw_per_byte + 5 * p.crossbar_static_mw_per_port + p.alloc_static_mw) * ns);
  EXPECT_EQ(r.links[0].energy, 4096 * p.link_onchip_pj_per_bit + p.link_onchip_static_mw * ns);
  EXPECT_EQ(r.links[1].energy, 2048 * p.link_board_pj_per_bit + p.link_board_static_mw * ns);
  EXPECT_EQ(r.links[2].energy, 1024 * p.link_cable_pj_per_bit + p.link_cable_static_mw * ns);
  const double static_mw = 2 * p.cmm_static_mw + 1280 * p.buffer_static_mw_per_byte +
                           5 * p.crossbar_static_mw_per_port + p.alloc_static_mw + p.link_onchip_static_mw +
                           p.link_board_static_mw + p.link_cable_static_mw;
  EXPECT_DOUBLE_EQ(r.static_total, static_mw * ns);
  EXPECT_DOUBLE_EQ(r.static_power_mw, static_mw);
  EXPECT_DOUBLE_EQ(r.average_power_mw, r.total / ns);
  EnergyEvents longer = e;
  longer.cycles = 3 * e.cycles;  // same events, three times the time
  const EnergyReport l = compute_energy(p, longer);
  EXPECT_DOUBLE_EQ(l.total - r.total, 2 * static_mw * ns);
  EXPECT_EQ(l.routers[0].dynamic(), r.routers[0].dynamic());
  EXPECT_EQ(l.cmm[1].static_energy, 3 * r.cmm[1].static_energy);
  // The statistics object carries the static parts, and its by_kind sums to the total.
  const nlohmann::json j = energy_json(p, e, r);
  EXPECT_EQ(j["static_pj"].get<double>(), r.static_total);
  EXPECT_EQ(j["routers"][0]["static_pj"].get<double>(), r.routers[0].static_energy);
  EXPECT_EQ(j["links"][2]["static_pj"].get<double>(), p.link_cable_static_mw * ns);
  double kinds = 0;
  for (const auto& [k, v] : j["by_kind"].items()) kinds += v.get<double>();
  EXPECT_DOUBLE_EQ(kinds, r.total);
}

TEST(Energy, ZeroParametersGiveZeroEnergy) {
  const EnergyReport r = compute_energy(zero_params(), sample_events());
  EXPECT_EQ(r.total, 0.0);
  EXPECT_EQ(r.average_power_mw, 0.0);
}

// Each parameter alone (all others 0) gives exactly its events times itself,
// and nothing anywhere else.
TEST(Energy, EachParameterAffectsOnlyItsOwnComponent) {
  const EnergyEvents e = sample_events();
  struct Case {
    double EnergyParams::*field;
    double expect_per_unit;  // events it multiplies, whole run
  };
  const Case cases[] = {
      {&EnergyParams::table_lookup_pj, 12},       {&EnergyParams::key_compare_pj, 5},
      {&EnergyParams::register_access_pj, 24},    {&EnergyParams::packet_buffer_pj_per_byte, 1700},
      {&EnergyParams::mac_pj_per_byte, 64},       {&EnergyParams::buffer_write_pj, 40},
      {&EnergyParams::buffer_read_pj, 38},        {&EnergyParams::crossbar_pj, 38},
      {&EnergyParams::alloc_pj, 38},              {&EnergyParams::link_onchip_pj_per_bit, 4096},
      {&EnergyParams::link_board_pj_per_bit, 2048}, {&EnergyParams::link_cable_pj_per_bit, 1024},
      // Static power x 5000 ns, times the components it applies to.
      {&EnergyParams::cmm_static_mw, 2 * 5000.0},  {&EnergyParams::buffer_static_mw_per_byte, 1280 * 5000.0},
      {&EnergyParams::crossbar_static_mw_per_port, 5 * 5000.0}, {&EnergyParams::alloc_static_mw, 5000.0},
      {&EnergyParams::link_onchip_static_mw, 5000.0}, {&EnergyParams::link_board_static_mw, 5000.0},
      {&EnergyParams::link_cable_static_mw, 5000.0},
  };
  for (const Case& c : cases) {
    EnergyParams p = zero_params();
    p.*c.field = 3.0;
    const EnergyReport r = compute_energy(p, e);
    EXPECT_EQ(r.total, 3.0 * c.expect_per_unit);
    const bool cmm = c.field == &EnergyParams::table_lookup_pj || c.field == &EnergyParams::key_compare_pj ||
                     c.field == &EnergyParams::cmm_static_mw ||
                     c.field == &EnergyParams::register_access_pj ||
                     c.field == &EnergyParams::packet_buffer_pj_per_byte || c.field == &EnergyParams::mac_pj_per_byte;
    const bool router = c.field == &EnergyParams::buffer_write_pj || c.field == &EnergyParams::buffer_read_pj ||
                        c.field == &EnergyParams::crossbar_pj || c.field == &EnergyParams::alloc_pj ||
                        c.field == &EnergyParams::buffer_static_mw_per_byte ||
                        c.field == &EnergyParams::crossbar_static_mw_per_port ||
                        c.field == &EnergyParams::alloc_static_mw;
    EXPECT_EQ(r.cmm_total, cmm ? r.total : 0.0);
    EXPECT_EQ(r.router_total, router ? r.total : 0.0);
    EXPECT_EQ(r.link_total, !cmm && !router ? r.total : 0.0);
  }
}

TEST(Energy, StatsObjectCarriesTotalsAndComponents) {
  const EnergyParams p;
  const EnergyEvents e = sample_events();
  const nlohmann::json j = energy_json(p, e, compute_energy(p, e));
  double sum = 0;
  for (const auto& n : j["nodes"]) sum += n["cmm_pj"].get<double>();
  for (const auto& r : j["routers"]) sum += r["total_pj"].get<double>();
  for (const auto& l : j["links"]) sum += l["total_pj"].get<double>();
  EXPECT_DOUBLE_EQ(sum, j["total_pj"].get<double>());
  EXPECT_EQ(j["links"][2]["class"], "cable");
  EXPECT_EQ(j["nodes"][1]["node"], "204");
  EXPECT_EQ(j["params"]["crossbar_pj"], p.crossbar_pj);
}

// A bad parameter names the source and the key.
void expect_refused(const nlohmann::json& j, const std::string& what) {
  try {
    (void)EnergyParams::from_json(j, "my.json");
    ADD_FAILURE() << "accepted " << j.dump();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(EnergyParams, BadValuesAreRefusedNamingSourceAndKey) {
  expect_refused({{"crossbar_pj", -1.0}},
                 "my.json: key 'energy.crossbar_pj' has value -1.0 (allowed: a number >= 0, pJ/flit)");
  expect_refused({{"mac_pj_per_byte", std::numeric_limits<double>::quiet_NaN()}},
                 "my.json: key 'energy.mac_pj_per_byte' has value");
  expect_refused({{"link_cable_pj_per_bit", "35"}}, "my.json: key 'energy.link_cable_pj_per_bit' has value \"35\"");
  expect_refused({{"xbar_pj", 1.0}}, "my.json: unknown key 'energy.xbar_pj' (allowed: profile, link_onchip_pj_per_bit");
  expect_refused({{"onchip_max_ns", 5.0}, {"board_max_ns", 2.0}}, "my.json: key 'energy.board_max_ns' has value 2");
  expect_refused(nlohmann::json::array(), "my.json: 'energy' must be an object");
  expect_refused({{"profile", "/nonexistent/energy.json"}}, "my.json: key 'energy.profile': cannot open");
}

TEST(EnergyParams, ProfileFileThenOverrides) {
  const std::string path = testing::TempDir() + "energy_profile_test.json";
  {
    std::ofstream f(path);
    f << R"({"crossbar_pj": 2.5, "table_lookup_pj": 7})";
  }
  const EnergyParams p = EnergyParams::from_json({{"profile", path}, {"table_lookup_pj", 9.0}}, "my.json");
  EXPECT_EQ(p.crossbar_pj, 2.5);
  EXPECT_EQ(p.table_lookup_pj, 9.0);  // the key beside the profile wins
  EXPECT_EQ(p.profile, path);
  EXPECT_FALSE(p == EnergyParams{});
  {
    std::ofstream f(path);
    f << R"({"crossbar_pj": -2})";
  }
  try {
    (void)EnergyParams::from_json({{"profile", path}}, "my.json");
    ADD_FAILURE();
  } catch (const ConfigError& e) {  // the profile file is the source
    EXPECT_NE(std::string(e.what()).find(path + ": key 'energy.crossbar_pj' has value -2"), std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(EnergyParams, DefaultsRoundTripAndEveryKeyIsDeclared) {
  const EnergyParams d;
  EXPECT_TRUE(EnergyParams::from_json(d.to_json(), "x") == d);
  const auto decls = energy_key_decls(KeyScope{});
  EXPECT_EQ(decls.size(), d.to_json().size() + 1);  // + profile
  for (const auto& k : decls) {
    EXPECT_FALSE(k.desc.empty()) << k.name;
    if (k.name != "profile") {
      EXPECT_TRUE(d.to_json().contains(k.name)) << k.name;
    }
  }
}

}  // namespace
}  // namespace cmm::tb
