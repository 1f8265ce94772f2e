#include "trace.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cmm::tb {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------- Perfetto

json parse(const std::string& s) {
  json j = json::parse(s);  // throws on invalid JSON
  EXPECT_TRUE(j.contains("traceEvents"));
  EXPECT_EQ(j.value("displayTimeUnit", ""), "ns");
  return j;
}

std::vector<json> events_with(const json& j, const std::string& ph) {
  std::vector<json> v;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == ph) v.push_back(e);
  return v;
}

// Async begin/end nest per (pid, id) in file order, names matching.
void expect_async_pairs(const json& j) {
  std::map<std::pair<int, std::string>, std::vector<std::string>> stacks;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "b" && e["ph"] != "e") continue;
    auto key = std::make_pair(e["pid"].get<int>(), e["id2"]["local"].get<std::string>());
    auto& st = stacks[key];
    if (e["ph"] == "b") {
      st.push_back(e["name"]);
    } else {
      ASSERT_FALSE(st.empty()) << e.dump();
      EXPECT_EQ(st.back(), e["name"]) << e.dump();
      st.pop_back();
    }
  }
  for (const auto& [k, st] : stacks) EXPECT_TRUE(st.empty()) << "pid " << k.first << " id " << k.second;
}

// Every flow id has exactly one start and one end; returns their count.
size_t expect_flows_pair(const json& j) {
  std::map<uint64_t, std::pair<int, int>> f;  // id -> (outs, ins)
  for (const auto& e : j["traceEvents"]) {
    if (!e.contains("bind_id")) continue;
    auto& p = f[e["bind_id"].get<uint64_t>()];
    if (e.value("flow_out", false)) ++p.first;
    if (e.value("flow_in", false)) ++p.second;
  }
  for (const auto& [id, p] : f) {
    EXPECT_EQ(p.first, 1) << "flow " << id;
    EXPECT_EQ(p.second, 1) << "flow " << id;
  }
  return f.size();
}

// A DATA message from node 1 (process 220b) to node 0 (process 216).
void one_message(PerfettoTrace& t, uint64_t id, TimePs t0) {
  auto snd = t.track(1, "process 220b");
  auto cmm1 = t.track(1, "CMM");
  auto cmm0 = t.track(0, "CMM");
  auto rcv = t.track(0, "process 216");
  t.begin_message(id, snd, t0, "DATA 216<-220b", {{"seq", id}, {"len", 64}});
  t.stage(id, snd, t0, "source queue");
  t.stage(id, cmm1, t0 + 3000, "egress");
  t.stage(id, cmm1, t0 + 4000, "fabric");
  t.stage(id, cmm0, t0 + 9000, "CMM pipeline");
  t.stage(id, cmm0, t0 + 11000, "receive queue");
  t.stage(id, rcv, t0 + 20000, "read");
  t.end_message(id, t0 + 25000, {{"delivered", true}});
}

std::string run_basic(TraceLimits lim = {}) {
  std::ostringstream os;
  {
    PerfettoTrace t(os, std::move(lim));
    t.set_node_name(0, "node 202");
    t.set_node_name(1, "node 204");
    one_message(t, 1, 1000);
    one_message(t, 2, 5000);
    auto cmm0 = t.track(0, "CMM");
    t.counter(0, "rxq ep3", 12000, 1);
    t.counter(0, "rxq ep3", 30000, 0);
    t.instant(cmm0, 40000, "reject", {{"reason", "KEY_MISMATCH"}, {"ep", 3}});
    t.slice(t.track(0, "agent 208d"), 41000, 45000, "service IRQ");
  }
  return os.str();
}

TEST(PerfettoTrace, ParsesWithMetadata) {
  json j = parse(run_basic());
  std::map<int, std::string> procs;
  std::set<std::string> threads;
  for (const auto& e : events_with(j, "M")) {
    if (e["name"] == "process_name") procs[e["pid"]] = e["args"]["name"];
    if (e["name"] == "thread_name") threads.insert(e["args"]["name"].get<std::string>());
  }
  EXPECT_EQ(procs, (std::map<int, std::string>{{1, "node 202"}, {2, "node 204"}}));
  EXPECT_EQ(threads, (std::set<std::string>{"process 220b", "CMM", "process 216", "agent 208d"}));
  // Thread ids are unique across processes.
  std::set<int> tids;
  for (const auto& e : events_with(j, "M"))
    if (e["name"] == "thread_name") {
      EXPECT_TRUE(tids.insert(e["tid"].get<int>()).second);
    }
  EXPECT_EQ(events_with(j, "C").size(), 2u);
  auto inst = events_with(j, "i");
  ASSERT_EQ(inst.size(), 1u);
  EXPECT_EQ(inst[0]["args"]["reason"], "KEY_MISMATCH");
  EXPECT_EQ(inst[0]["s"], "t");
  auto x = events_with(j, "X");
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(x[0]["dur"].get<double>(), 0.004);
}

TEST(PerfettoTrace, MessageSpansPairAndCrossNodesWithArrows) {
  json j = parse(run_basic());
  expect_async_pairs(j);
  // One node change per message: one arrow each, from node 204 to node 202.
  EXPECT_EQ(expect_flows_pair(j), 2u);
  for (const auto& e : j["traceEvents"]) {
    if (e.value("flow_out", false)) {
      EXPECT_EQ(e["pid"], 2);
    }
    if (e.value("flow_in", false)) {
      EXPECT_EQ(e["pid"], 1);
      EXPECT_EQ(e["ph"], "b");
      EXPECT_EQ(e["name"], "DATA 216<-220b");
    }
  }
  // Stages of message 1 in order, on the nodes they happened on.
  std::vector<std::pair<int, std::string>> st;
  for (const auto& e : events_with(j, "b"))
    if (e["id2"]["local"] == "0x1" && e["name"] != "DATA 216<-220b") st.emplace_back(e["pid"], e["name"]);
  EXPECT_EQ(st, (std::vector<std::pair<int, std::string>>{{2, "source queue"},
                                                           {2, "egress"},
                                                           {2, "fabric"},
                                                           {1, "CMM pipeline"},
                                                           {1, "receive queue"},
                                                           {1, "read"}}));
  // Begin args survive; end args land on the end event.
  for (const auto& e : events_with(j, "b"))
    if (e["name"] == "DATA 216<-220b" && e["pid"] == 2 && e["id2"]["local"] == "0x2") {
      EXPECT_EQ(e["args"]["seq"], 2);
      EXPECT_EQ(e["args"]["len"], 64);
      EXPECT_EQ(e["args"]["msg_id"], 2);
    }
}

TEST(PerfettoTrace, TimestampsAreExactMicroseconds) {
  EXPECT_EQ(ps_to_us_string(0), "0");
  EXPECT_EQ(ps_to_us_string(1), "0.000001");
  EXPECT_EQ(ps_to_us_string(10), "0.00001");
  EXPECT_EQ(ps_to_us_string(1000), "0.001");
  EXPECT_EQ(ps_to_us_string(1500000), "1.5");
  EXPECT_EQ(ps_to_us_string(2000000), "2");
  EXPECT_EQ(ps_to_us_string(1234567890123), "1234567.890123");
  EXPECT_EQ(ps_to_us_string(18446744073709551615ull), "18446744073709.551615");

  std::ostringstream os;
  {
    PerfettoTrace t(os);
    auto tr = t.track(0, "CMM");
    t.instant(tr, 1, "one ps");
    t.counter(0, "q", 999999, 2.5);
  }
  EXPECT_NE(os.str().find("\"ts\":0.000001,"), std::string::npos);
  EXPECT_NE(os.str().find("\"ts\":0.999999,"), std::string::npos);
  json j = parse(os.str());
  EXPECT_EQ(events_with(j, "C")[0]["args"]["value"], 2.5);
}

TEST(PerfettoTrace, WindowDropsEventsOutside) {
  TraceLimits lim;
  lim.from_ps = 10000;
  lim.to_ps = 20000;
  std::ostringstream os;
  PerfettoTrace t(os, lim);
  auto c = t.track(0, "CMM");
  t.counter(0, "q", 9999, 1);   // before
  t.counter(0, "q", 10000, 2);  // in
  t.counter(0, "q", 19999, 3);  // in
  t.counter(0, "q", 20000, 4);  // after
  t.instant(c, 5000, "early");
  t.instant(c, 25000, "late");
  // Begun before the window: shown from its first stage inside it.
  t.begin_message(7, c, 5000, "m");
  t.stage(7, c, 6000, "egress");
  t.stage(7, c, 15000, "fabric");
  // Ends after the window: the end is still written, so spans close.
  t.end_message(7, 30000);
  // Entirely outside.
  t.begin_message(8, c, 21000, "m");
  t.end_message(8, 22000);
  t.close();
  json j = parse(os.str());
  std::vector<double> q;
  for (const auto& e : events_with(j, "C")) q.push_back(e["args"]["value"]);
  EXPECT_EQ(q, (std::vector<double>{2, 3}));
  EXPECT_TRUE(events_with(j, "i").empty());
  expect_async_pairs(j);
  auto b = events_with(j, "b");
  ASSERT_EQ(b.size(), 2u);  // span + "fabric"
  EXPECT_EQ(b[0]["ts"].get<double>(), 0.015);
  EXPECT_EQ(b[1]["name"], "fabric");
  auto e = events_with(j, "e");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1]["ts"].get<double>(), 0.03);
  EXPECT_GT(t.dropped(), 0u);
}

TEST(PerfettoTrace, NodeFilterDropsOtherNodes) {
  TraceLimits lim;
  lim.nodes = {0};
  std::ostringstream os;
  {
    PerfettoTrace t(os, lim);
    t.set_node_name(1, "node 204");
    one_message(t, 1, 1000);
    t.counter(1, "q", 100, 1);
    t.instant(t.track(1, "CMM"), 100, "x");
  }
  json j = parse(os.str());
  for (const auto& e : j["traceEvents"]) EXPECT_EQ(e["pid"], 1) << e.dump();
  expect_async_pairs(j);
  EXPECT_EQ(expect_flows_pair(j), 0u);  // no arrow from a node not shown
  // The message appears on node 0 from its arrival.
  auto b = events_with(j, "b");
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0]["ts"].get<double>(), 0.01);
}

TEST(PerfettoTrace, ContractViolationsThrow) {
  std::ostringstream os;
  PerfettoTrace t(os);
  auto a = t.track(0, "CMM");
  EXPECT_THROW(t.stage(1, a, 0, "x"), std::logic_error);
  t.begin_message(1, a, 0, "m");
  EXPECT_THROW(t.begin_message(1, a, 0, "m"), std::logic_error);
  EXPECT_THROW(t.flow(1, 0, 2, 0), std::logic_error);
  t.end_message(1, 5);
  EXPECT_THROW(t.end_message(1, 5), std::logic_error);
}

TEST(PerfettoTrace, FlowsAndMarksPair) {
  std::ostringstream os;
  {
    PerfettoTrace t(os);
    auto a = t.track(0, "CMM");
    auto b = t.track(1, "CMM");
    t.begin_message(1, a, 100, "CONNECT");
    t.begin_message(2, b, 500, "CONNECT_ACK");
    t.flow(1, 400, 2, 500, "ack");
    t.mark(2, 600, "key stored", {{"ep", 4}});
    t.end_message(1, 700);
    t.end_message(2, 900);
  }
  json j = parse(os.str());
  expect_async_pairs(j);
  EXPECT_EQ(expect_flows_pair(j), 1u);
  auto n = events_with(j, "n");
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[2]["name"], "key stored");
  EXPECT_EQ(n[2]["args"]["ep"], 4);
}

TEST(PerfettoTrace, CloseEndsOpenSpansAndIsIdempotent) {
  std::ostringstream os;
  PerfettoTrace t(os);
  auto a = t.track(0, "CMM");
  t.begin_message(3, a, 100, "m");
  t.stage(3, a, 200, "egress");
  t.begin_message(1, a, 150, "m");
  t.counter(0, "q", 900, 1);
  t.close();
  t.close();
  t.counter(0, "q", 1000, 2);  // ignored
  json j = parse(os.str());
  expect_async_pairs(j);
  auto e = events_with(j, "e");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0]["id2"]["local"], "0x1");  // sorted by id: deterministic
  for (const auto& x : e) EXPECT_EQ(x["ts"].get<double>(), 0.0009);
  EXPECT_EQ(e[2]["args"]["unfinished"], true);
  EXPECT_EQ(events_with(j, "C").size(), 1u);
}

TEST(PerfettoTrace, EscapesStrings) {
  std::ostringstream os;
  {
    PerfettoTrace t(os);
    t.set_node_name(0, "n\"0\\");
    t.instant(t.track(0, "tab\there"), 0, "line\nbreak\x01", {{"s", "q\"uote"}, {"neg", -5}, {"d", 0.1}});
  }
  json j = parse(os.str());
  auto i = events_with(j, "i");
  ASSERT_EQ(i.size(), 1u);
  EXPECT_EQ(i[0]["name"], "line\nbreak\x01");
  EXPECT_EQ(i[0]["args"]["s"], "q\"uote");
  EXPECT_EQ(i[0]["args"]["neg"], -5);
  EXPECT_EQ(i[0]["args"]["d"], 0.1);
}

TEST(PerfettoTrace, SizeWarningFiresOnce) {
  TraceLimits lim;
  lim.warn_bytes = 2000;
  std::vector<std::string> warnings;
  lim.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  std::ostringstream os;
  PerfettoTrace t(os, lim);
  for (uint64_t i = 0; i < 100; ++i) one_message(t, i, i * 100000);
  t.close();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("2000"), std::string::npos);
  EXPECT_FALSE(t.truncated());
}

TEST(PerfettoTrace, HardCapTruncatesToValidJson) {
  TraceLimits lim;
  lim.max_bytes = 6000;
  lim.on_warning = [](const std::string&) {};
  std::ostringstream os;
  PerfettoTrace t(os, lim);
  auto a = t.track(0, "CMM");
  t.begin_message(1000, a, 0, "long");  // still open at truncation
  t.stage(1000, a, 0, "waiting");
  for (uint64_t i = 0; i < 200; ++i) one_message(t, i, i * 100000);
  EXPECT_TRUE(t.truncated());
  EXPECT_TRUE(t.closed());
  t.close();
  const std::string s = os.str();
  EXPECT_LE(s.size(), 6000u + 1024u);  // closing events of open spans may pass the cap
  json j = parse(s);
  expect_async_pairs(j);
  expect_flows_pair(j);
  const json& last = j["traceEvents"].back();
  EXPECT_EQ(last["name"], "trace truncated");
  EXPECT_EQ(last["s"], "g");
  EXPECT_EQ(last["args"]["max_bytes"], 6000);
}

TEST(PerfettoTrace, AnyCapKeepsSpansAndFlowsPaired) {
  for (uint64_t cap = 1500; cap < 12000; cap += 97) {
    TraceLimits lim;
    lim.max_bytes = cap;
    std::ostringstream os;
    {
      PerfettoTrace t(os, lim);
      for (uint64_t i = 0; i < 20; ++i) one_message(t, i, i * 3000);  // overlapping messages
    }
    json j = parse(os.str());
    expect_async_pairs(j);
    expect_flows_pair(j);
    EXPECT_LE(os.str().size(), cap + 2048) << cap;
  }
}

// Names are user data (scenario names, process names): every byte is escaped
// so the file stays valid JSON; invalid UTF-8 becomes U+FFFD.
TEST(PerfettoTrace, EscapesEveryNameIntoValidJson) {
  const std::string nasty = std::string("q\"b\\s\n\t\x01") + "\xff\xfe" + "end";
  std::ostringstream os;
  {
    PerfettoTrace t(os);
    t.set_node_name(0, nasty);
    auto tr = t.track(0, nasty);
    t.instant(tr, 1, nasty);
  }
  json j = parse(os.str());  // fails on an unescaped byte
  bool found = false;
  for (const auto& e : j["traceEvents"])
    if (e.value("ph", "") == "i") {
      found = true;
      EXPECT_EQ(e["name"].get<std::string>(), std::string("q\"b\\s\n\t\x01") + "\xef\xbf\xbd\xef\xbf\xbd" + "end");
    }
  EXPECT_TRUE(found);
}

TEST(PerfettoTrace, SameInputSameBytes) {
  std::string a = run_basic(), b = run_basic();
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
}

TEST(PerfettoTrace, WritesFileAndClosesInDestructor) {
  std::string path = ::testing::TempDir() + "cmm_trace_test.json";
  {
    PerfettoTrace t(path);
    one_message(t, 1, 0);
  }
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  json j = parse(ss.str());
  expect_async_pairs(j);
  std::remove(path.c_str());
  EXPECT_THROW(PerfettoTrace("/nonexistent-dir/x.json"), std::runtime_error);
}

// ---------------------------------------------------------------- VCD

struct Var {
  std::string name;
  int width;
};
struct Vcd {
  std::vector<std::string> header;        // lines up to $enddefinitions
  std::map<std::string, Var> vars;        // id -> var
  std::vector<std::string> order;         // ids in declaration order
  std::vector<std::string> scopes;        // "$scope module x $end" names
  std::vector<std::pair<uint64_t, std::vector<std::string>>> steps;  // #t -> value lines
};

Vcd parse_vcd(const std::string& s) {
  Vcd v;
  std::istringstream in(s);
  std::string line;
  bool defs = true, in_dumpvars = false;
  while (std::getline(in, line)) {
    if (defs) {
      v.header.push_back(line);
      std::istringstream ls(line);
      std::string tok;
      ls >> tok;
      if (tok == "$var") {
        std::string type, id, name;
        int w;
        ls >> type >> w >> id >> name;
        EXPECT_EQ(type, "wire");
        EXPECT_TRUE(v.vars.emplace(id, Var{name, w}).second) << "duplicate id " << id;
        v.order.push_back(id);
      } else if (tok == "$scope") {
        std::string kind, name;
        ls >> kind >> name;
        v.scopes.push_back(name);
      } else if (tok == "$enddefinitions") {
        defs = false;
      }
      continue;
    }
    if (line.empty()) continue;
    if (line[0] == '#') {
      v.steps.push_back({std::stoull(line.substr(1)), {}});
    } else if (line == "$dumpvars") {
      in_dumpvars = true;
    } else if (line == "$end") {
      in_dumpvars = false;
    } else if (!in_dumpvars || (line[0] != 'x' && line.rfind("bx ", 0) != 0)) {
      EXPECT_FALSE(v.steps.empty()) << line;
      if (!v.steps.empty()) v.steps.back().second.push_back(line);
    }
  }
  return v;
}

// Value line -> (id, bits).
std::pair<std::string, std::string> split_value(const std::string& l) {
  if (l[0] == 'b') {
    auto sp = l.find(' ');
    return {l.substr(sp + 1), l.substr(1, sp - 1)};
  }
  return {l.substr(1), l.substr(0, 1)};
}

std::string id_of(const Vcd& v, const std::string& name, size_t nth = 0) {
  for (const auto& id : v.order)
    if (v.vars.at(id).name == name && nth-- == 0) return id;
  return "";
}

PinsIn some_in() {
  PinsIn in;
  in.reg_req_valid = true;
  in.reg_req_addr = 0xFFFFFFFF;  // wider than the 20-bit wire: masked
  in.ing_valid = true;
  in.ing_hdr.opcode = 1;
  in.ing_hdr.len = 64;
  in.ing_hdr.key = {0xDEADBEEF, 0x01234567, 0x89ABCDEF, 0xCAFEF00D};
  return in;
}

std::string vcd_text(VcdOptions opt, const std::function<void(VcdWriter&)>& body) {
  std::ostringstream os;
  {
    VcdWriter w(os, std::move(opt));
    body(w);
  }
  return os.str();
}

TEST(VcdWriter, IdentifiersAreLegalAndUnique) {
  EXPECT_EQ(vcd_identifier(0), "!");
  EXPECT_EQ(vcd_identifier(93), "~");
  EXPECT_EQ(vcd_identifier(94), "!!");
  std::set<std::string> seen;
  for (uint64_t n = 0; n < 20000; ++n) {
    std::string id = vcd_identifier(n);
    for (char c : id) ASSERT_TRUE(c >= 33 && c <= 126);
    ASSERT_TRUE(seen.insert(id).second) << n;
  }
}

TEST(VcdWriter, HeaderScopesAndWidths) {
  std::string s = vcd_text({}, [](VcdWriter& w) {
    w.add_node(1, "204");
    w.add_node(0, "202");
    w.sample(0, 1000, some_in(), PinsOut{});
  });
  Vcd v = parse_vcd(s);
  EXPECT_NE(s.find("$timescale 1 ps $end"), std::string::npos);
  EXPECT_EQ(v.scopes, (std::vector<std::string>{"node202", "cmm", "node204", "cmm"}));  // sorted by node
  std::map<std::string, int> w;
  for (const auto& [id, var] : v.vars) {
    for (char c : id) EXPECT_TRUE(c >= 33 && c <= 126);
    w[var.name] = var.width;
  }
  EXPECT_EQ(v.vars.size() % 2, 0u);  // two nodes, same signals
  EXPECT_EQ(w["cycle"], 64);
  EXPECT_EQ(w["clk_edge"], 1);
  EXPECT_EQ(w["reg_req_addr"], 20);
  EXPECT_EQ(w["reg_req_part"], 4);
  EXPECT_EQ(w["reg_req_pid"], 16);
  EXPECT_EQ(w["reg_rsp_status"], 2);
  EXPECT_EQ(w["ing_hdr_opcode"], 4);
  EXPECT_EQ(w["ing_hdr_src_node"], 16);
  EXPECT_EQ(w["eg_hdr_len"], 16);
  EXPECT_EQ(w["vd_reason"], 8);
  EXPECT_EQ(w["irq"], 8);
  EXPECT_EQ(w.count("ing_hdr_key"), 0u);  // keys omitted by default
  EXPECT_EQ(w.count("eg_hdr_key"), 0u);
  // Every value fits its declared width.
  for (const auto& [t, lines] : v.steps)
    for (const auto& l : lines) {
      auto [id, bits] = split_value(l);
      ASSERT_TRUE(v.vars.count(id)) << l;
      EXPECT_LE(static_cast<int>(bits.size()), v.vars[id].width) << l;
    }
  // The 32-bit address is masked to 20 bits.
  std::string addr = id_of(v, "reg_req_addr");
  bool found = false;
  for (const auto& l : v.steps[0].second)
    if (split_value(l).first == addr) {
      EXPECT_EQ(split_value(l).second, std::string(20, '1'));
      found = true;
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(s.find("$date"), std::string::npos);  // deterministic
}

TEST(VcdWriter, OnlyChangesAreWritten) {
  std::ostringstream os;
  VcdWriter w(os);
  w.add_node(0);
  PinsIn in = some_in();
  PinsOut out;
  w.sample(0, 1000, in, out, false);
  uint64_t after_first = w.bytes();
  w.sample(0, 2000, in, out, false);  // nothing changed
  EXPECT_EQ(w.bytes(), after_first);
  out.vd_valid = true;
  w.sample(0, 3000, in, out, false);
  w.close();
  Vcd v = parse_vcd(os.str());
  ASSERT_EQ(v.steps.size(), 2u);
  EXPECT_EQ(v.steps[1].first, 3000u);
  EXPECT_EQ(v.steps[1].second, (std::vector<std::string>{"1" + id_of(v, "vd_valid")}));
}

TEST(VcdWriter, ClockEdgeMarkers) {
  std::ostringstream os;
  VcdWriter w(os);
  w.add_node(0);
  PinsIn in;
  PinsOut out;
  w.sample(0, 1000, in, out, true);
  w.sample(0, 2000, in, out, true);
  w.sample(0, 9000, in, out, true);  // cycles 3..8 skipped as idle
  w.close();
  Vcd v = parse_vcd(os.str());
  std::string cyc = id_of(v, "cycle"), clk = id_of(v, "clk_edge");
  std::vector<std::string> cycles, edges;
  for (const auto& [t, lines] : v.steps)
    for (const auto& l : lines) {
      auto [id, bits] = split_value(l);
      if (id == cyc) cycles.push_back(bits);
      if (id == clk) edges.push_back(bits);
    }
  EXPECT_EQ(cycles, (std::vector<std::string>{"1", "10", "1001"}));
  EXPECT_EQ(edges, (std::vector<std::string>{"1", "0", "1"}));
}

TEST(VcdWriter, KeysOnlyWhenOptedIn) {
  auto body = [](VcdWriter& w) {
    w.add_node(0);
    PinsOut out;
    out.eg_valid = true;
    out.eg_hdr.opcode = 1;
    out.eg_hdr.key = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
    w.sample(0, 1000, some_in(), out);
  };
  // 0xDEADBEEF in binary: must not appear anywhere by default.
  const std::string beef = "11011110101011011011111011101111";
  std::string off = vcd_text({}, body);
  EXPECT_EQ(off.find(beef), std::string::npos);
  EXPECT_EQ(off.find("hdr_key"), std::string::npos);

  VcdOptions on;
  on.include_keys = true;
  std::string s = vcd_text(on, body);
  Vcd v = parse_vcd(s);
  std::string ik = id_of(v, "ing_hdr_key"), ek = id_of(v, "eg_hdr_key");
  ASSERT_FALSE(ik.empty());
  EXPECT_EQ(v.vars[ik].width, 128);
  std::map<std::string, std::string> val;
  for (const auto& l : v.steps[0].second) val[split_value(l).first] = split_value(l).second;
  // key[3] is the most significant word.
  EXPECT_EQ(val[ik], "11001010111111101111000000001101" "10001001101010111100110111101111"
                     "00000001001000110100010101100111" + beef);
  EXPECT_EQ(val[ek].size(), 127u);  // 0x4444... has a leading 0 bit
  EXPECT_NE(s.find("contains channel keys"), std::string::npos);
}

TEST(VcdWriter, WindowHoldsValuesAtItsStart) {
  VcdOptions opt;
  opt.limits.from_ps = 5000;
  opt.limits.to_ps = 8000;
  std::string s = vcd_text(opt, [](VcdWriter& w) {
    w.add_node(0);
    w.add_node(1);
    PinsIn in;
    PinsOut out;
    out.irq = 4;
    w.sample(0, 1000, in, out);  // before: held, shown at 5000
    w.sample(1, 2000, in, out);
    out.irq = 5;
    w.sample(0, 6000, in, out);  // inside
    out.irq = 6;
    w.sample(0, 8000, in, out);  // after: dropped
  });
  Vcd v = parse_vcd(s);
  std::vector<uint64_t> times;
  for (const auto& st : v.steps) times.push_back(st.first);
  EXPECT_EQ(times, (std::vector<uint64_t>{5000, 6000}));
  std::string irq0 = id_of(v, "irq", 0), irq1 = id_of(v, "irq", 1);
  std::map<std::string, std::string> at5000;
  for (const auto& l : v.steps[0].second) at5000[split_value(l).first] = split_value(l).second;
  EXPECT_EQ(at5000[irq0], "100");
  EXPECT_EQ(at5000[irq1], "100");
  EXPECT_EQ(v.steps[1].second.back(), "b101 " + irq0);
  EXPECT_EQ(s.find("b110 " + irq0 + "\n"), std::string::npos);
}

TEST(VcdWriter, NodeFilterAndContract) {
  VcdOptions opt;
  opt.limits.nodes = {1};
  std::ostringstream os;
  VcdWriter w(os, opt);
  w.add_node(0);
  w.add_node(1);
  w.sample(0, 1000, PinsIn{}, PinsOut{});  // filtered: ignored
  w.sample(1, 1000, PinsIn{}, PinsOut{});
  EXPECT_THROW(w.sample(1, 500, PinsIn{}, PinsOut{}), std::logic_error);
  EXPECT_THROW(w.add_node(2), std::logic_error);  // after the first sample
  w.close();
  Vcd v = parse_vcd(os.str());
  EXPECT_EQ(v.scopes, (std::vector<std::string>{"node1", "cmm"}));
}

TEST(VcdWriter, SizeWarningAndCap) {
  VcdOptions opt;
  opt.limits.warn_bytes = 3000;
  opt.limits.max_bytes = 6000;
  int warnings = 0;
  opt.limits.on_warning = [&](const std::string&) { ++warnings; };
  std::ostringstream os;
  VcdWriter w(os, opt);
  w.add_node(0);
  PinsIn in;
  for (uint32_t i = 0; i < 1000; ++i) {
    in.reg_req_wdata = i * 2654435761u;
    w.sample(0, 1000ull * i, in, PinsOut{});
  }
  EXPECT_EQ(warnings, 1);
  EXPECT_TRUE(w.truncated());
  EXPECT_LE(os.str().size(), 6000u);
  EXPECT_NE(os.str().find("$comment truncated"), std::string::npos);
}

// A tiny dump, byte for byte: guards the file format against accidental change.
TEST(VcdWriter, GoldenTinyDump) {
  std::string s = vcd_text({}, [](VcdWriter& w) {
    w.add_node(3, "202");
    PinsIn in;
    PinsOut out;
    out.ing_ready = true;
    w.sample(3, 1000, in, out);
    in.ing_valid = true;
    in.ing_hdr.opcode = 2;
    in.ing_hdr.key = {1, 2, 3, 4};
    w.sample(3, 2000, in, out);
  });
  // Reviewed by hand: header, widths, ids '!'.., initial values inside
  // $dumpvars, then only the changes (cycle 2, clk_edge toggles, ing_valid,
  // opcode CONNECT); no key wire.
  const std::string expected = R"GOLDEN($version cmm testbench VcdWriter $end
$comment CMM core pins per node. Idle-skipped cycles are not sampled: values hold across them; cycle and clk_edge mark the sampled edges. Key fields omitted (include_keys=false). $end
$timescale 1 ps $end
$scope module node202 $end
$scope module cmm $end
$var wire 64 ! cycle [63:0] $end
$var wire 1 " clk_edge $end
$var wire 1 # reg_req_valid $end
$var wire 1 $ reg_req_write $end
$var wire 20 % reg_req_addr [19:0] $end
$var wire 32 & reg_req_wdata [31:0] $end
$var wire 4 ' reg_req_part [3:0] $end
$var wire 1 ( reg_req_priv $end
$var wire 16 ) reg_req_pid [15:0] $end
$var wire 1 * ing_valid $end
$var wire 4 + ing_hdr_opcode [3:0] $end
$var wire 16 , ing_hdr_src_node [15:0] $end
$var wire 4 - ing_hdr_src_part [3:0] $end
$var wire 16 . ing_hdr_src_ep [15:0] $end
$var wire 16 / ing_hdr_dst_node [15:0] $end
$var wire 4 0 ing_hdr_dst_part [3:0] $end
$var wire 16 1 ing_hdr_dst_ep [15:0] $end
$var wire 16 2 ing_hdr_len [15:0] $end
$var wire 16 3 ing_hdr_tag [15:0] $end
$var wire 8 4 ing_hdr_reason [7:0] $end
$var wire 8 5 ing_hdr_aux [7:0] $end
$var wire 1 6 eg_ready $end
$var wire 1 7 reg_req_ready $end
$var wire 1 8 reg_rsp_valid $end
$var wire 32 9 reg_rsp_rdata [31:0] $end
$var wire 2 : reg_rsp_status [1:0] $end
$var wire 1 ; reg_rsp_buf $end
$var wire 4 < reg_rsp_buf_slot [3:0] $end
$var wire 1 = ing_ready $end
$var wire 1 > eg_valid $end
$var wire 1 ? eg_cls $end
$var wire 4 @ eg_hdr_opcode [3:0] $end
$var wire 16 A eg_hdr_src_node [15:0] $end
$var wire 4 B eg_hdr_src_part [3:0] $end
$var wire 16 C eg_hdr_src_ep [15:0] $end
$var wire 16 D eg_hdr_dst_node [15:0] $end
$var wire 4 E eg_hdr_dst_part [3:0] $end
$var wire 16 F eg_hdr_dst_ep [15:0] $end
$var wire 16 G eg_hdr_len [15:0] $end
$var wire 16 H eg_hdr_tag [15:0] $end
$var wire 8 I eg_hdr_reason [7:0] $end
$var wire 8 J eg_hdr_aux [7:0] $end
$var wire 1 K vd_valid $end
$var wire 1 L vd_accept $end
$var wire 16 M vd_ep [15:0] $end
$var wire 4 N vd_slot [3:0] $end
$var wire 8 O vd_reason [7:0] $end
$var wire 8 P irq [7:0] $end
$upscope $end
$upscope $end
$enddefinitions $end
#1000
$dumpvars
b1 !
1"
0#
0$
b0 %
b0 &
b0 '
0(
b0 )
0*
b0 +
b0 ,
b0 -
b0 .
b0 /
b0 0
b0 1
b0 2
b0 3
b0 4
b0 5
06
07
08
b0 9
b0 :
0;
b0 <
1=
0>
0?
b0 @
b0 A
b0 B
b0 C
b0 D
b0 E
b0 F
b0 G
b0 H
b0 I
b0 J
0K
0L
b0 M
b0 N
b0 O
b0 P
$end
#2000
b10 !
0"
1*
b10 +
)GOLDEN";
  EXPECT_EQ(s, expected);
}

}  // namespace
}  // namespace cmm::tb
