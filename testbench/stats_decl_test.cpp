// Statistic declarations (stats_decl.cpp) and the flat stats.txt.
#include "stats_decl.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "report.h"

namespace cmm::tb {
namespace {

TEST(StatDecls, EveryStatisticHasOneDeclarationWithUnitAndDescription) {
  std::set<std::string> seen;
  for (const auto& d : stat_decls()) {
    EXPECT_TRUE(seen.insert(std::string(d.group) + "." + d.name).second) << d.group << "." << d.name;
    EXPECT_NE(std::string(d.unit), "") << d.name;
    EXPECT_NE(std::string(d.desc), "") << d.name;
  }
  EXPECT_THROW(stat_decl("node", "no_such_counter"), std::logic_error);
}

// The producer's counter name is the stats.json key: RunResult's
// connect_storm_cycles is not renamed on the way out.
TEST(StatDecls, StatsJsonUsesTheProducersNames) {
  RunResult r;
  r.connect_storm_cycles = 1234;
  r.messages_refused_at_source = 3;
  const nlohmann::json j = stats_json(r);
  EXPECT_EQ(j["system"]["connect_storm_cycles"]["value"], 1234);
  EXPECT_EQ(j["system"]["connect_storm_cycles"]["unit"], "cycles");
  EXPECT_FALSE(j["system"].contains("connect_storm"));
  // CmmTlm::Stats::reg_stall_cycles is "reg_stall_cycles", not the old "stall_cycles.register_port".
  EXPECT_NE(find_stat("node", "reg_stall_cycles"), nullptr);
  EXPECT_EQ(find_stat("node", "register_port"), nullptr);
  EXPECT_EQ(find_stat("node", "core_steps"), nullptr);
  r.per_node = {{{"node", "202"}, {"reg_stall_cycles", 7}, {"partitions", {{{"partition", "208a"}, {"alarms", 2}}}}}};
  EXPECT_TRUE(undeclared_stats(r).empty());
  r.per_node[0]["made_up"] = 1;
  EXPECT_EQ(undeclared_stats(r), std::vector<std::string>{"node.made_up"});
}

TEST(StatsTxt, OneGreppableLinePerStatisticWithDescriptionAndUnit) {
  RunResult r;
  r.scenario = "fig2";
  r.seed = 7;
  r.messages_delivered = 650;
  r.rejects_by_reason["BAD_KEY"] = 3;
  r.latency_cycles.add(100);
  r.per_node = {{{"node", "202"},
                 {"data_sent", 412},
                 {"rejects", {{"SRC_NODE_MISMATCH", 5}}},
                 {"partitions", {{{"partition", "208d"}, {"errors_logged", 2}}}}}};
  r.per_channel = {{{"channel", "216 <- 220b"}, {"sent", 9}}};
  Provenance p{"0.1.0", "abc123", "SystemC 2.3.4", "GCC 12", "not in this build", 7};
  const std::string t = stats_txt(stats_json(r, &p));
  EXPECT_NE(t.find("\nsystem.messages_delivered 650 # messages read intact by their receiver (messages)\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("\nnodes.202.data_sent 412 # DATA packets sent (payload attached) by this CMM (packets)\n"),
            std::string::npos);
  EXPECT_NE(t.find("\nnodes.202.partitions.208d.errors_logged 2 # "), std::string::npos);
  EXPECT_NE(t.find("\nnodes.202.rejects.SRC_NODE_MISMATCH 5 # rejected with reason SRC_NODE_MISMATCH (packets)\n"),
            std::string::npos);
  EXPECT_NE(t.find("\nsystem.rejects.BAD_KEY 3 # "), std::string::npos);
  EXPECT_NE(t.find("\nchannels.0.sent 9 # "), std::string::npos);
  EXPECT_NE(t.find("\nlatency.histogram.64_128 1 # "), std::string::npos);
  EXPECT_NE(t.find("# git: abc123\n"), std::string::npos);
  EXPECT_NE(t.find("# seed: 7\n"), std::string::npos);
  // Every non-comment line is "name value # description (unit)".
  size_t pos = 0, lines = 0;
  while (pos < t.size()) {
    const size_t end = t.find('\n', pos);
    const std::string line = t.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    ++lines;
    const size_t sp = line.find(' '), hash = line.find(" # ");
    EXPECT_TRUE(sp != std::string::npos && hash != std::string::npos && sp < hash && line.back() == ')') << line;
    EXPECT_EQ(line.substr(0, sp).find_first_of(" \t"), std::string::npos) << line;
  }
  EXPECT_GT(lines, 20u);
}

}  // namespace
}  // namespace cmm::tb
