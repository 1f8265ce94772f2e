// Every statistic of a cmmsim run, declared once: group, name, unit and
// description. The name is the producer's counter name and the key in
// stats.json and stats.txt (no renames on the way out); producers in other
// layers expose plain counters, report.cpp looks their declarations up here.
#pragma once
#include <string>
#include <vector>

namespace cmm::tb {

struct StatDecl {
  const char* group;  // "system", "latency", "latency_part", "node", "partition", "channel", "fabric",
                      // "load", "attack", "observed", "speed", "energy", "energy_node", "energy_router",
                      // "energy_link", "energy_param"
  const char* name;
  const char* unit;
  const char* desc;
};
const std::vector<StatDecl>& stat_decls();
// The declaration of `name` in `group`, or nullptr.
const StatDecl* find_stat(const std::string& group, const std::string& name);
// The declaration or std::logic_error (a producer emitted an undeclared name).
const StatDecl& stat_decl(const std::string& group, const std::string& name);

// Objects whose children are counts by reason code (the child's key).
struct ByReasonDecl {
  const char* parent;
  const char* unit;
  const char* desc;  // prefix; the reason name follows
};
const ByReasonDecl* find_by_reason(const std::string& parent);

}  // namespace cmm::tb
