// The scenario keys, each declared once: type, default, allowed values, unit,
// description, when it has an effect, and the Scenario field it binds. The
// table drives parsing (scenario_from_json), range validation
// (Scenario::validate), the effective-config dump (Scenario::to_json),
// `cmmsim --list-keys` and docs/scenario-keys.md.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmm::tb {

struct Scenario;

// The object a key belongs to; its path prefix in the JSON.
enum class KeyScope : uint8_t {
  kScenario,   // top level
  kGenerate,   // generate.
  kNode,       // nodes[].
  kPartition,  // nodes[].partitions[].
  kProcess,    // nodes[].partitions[].processes[].
  kChannel,    // channels[].
  kAttack,     // attacks[].
  kFault,      // faults[].
  kTraffic,    // traffic. (parsed by TrafficSpec::from_json; declared here for the reference)
  kEnergy,     // energy. (parsed by EnergyParams::from_json; declared here for the reference)
  kGeometry,   // geometry.
};
inline constexpr size_t kMaxFaultRules = 32;
enum class KeyType : uint8_t { kUint, kReal, kString, kEnum, kBool, kObject, kArray };

struct KeyDecl {
  KeyScope scope = KeyScope::kScenario;
  std::string name;  // within its object, e.g. "messages"; traffic: "pattern.name"
  KeyType type = KeyType::kUint;
  std::string unit;  // "" when it has none
  std::string desc;
  uint64_t umin = 0, umax = 0;             // kUint, inclusive
  double rmin = 0, rmax = 0;               // kReal, rmax inclusive
  bool rmin_open = false;                  // kReal: rmin exclusive
  std::vector<std::string> allowed;        // kEnum
  std::string applies;                     // when the key has an effect (docs); "" = always
  std::function<bool(const Scenario&)> effective;  // the same as code; null = always
  bool dump_when_effective_only = false;   // to_json() leaves it out when it has no effect
  bool required = false;                   // an object of its scope must give it
  nlohmann::json def;                      // default (from the default-constructed struct)
  // Binding to the struct of `scope` (null for kObject/kArray and kTraffic).
  std::function<void(void*, const nlohmann::json&)> store;  // value already checked
  std::function<nlohmann::json(const void*)> load;

  static KeyDecl make(KeyScope scope, std::string name, KeyType type, std::string unit, std::string desc) {
    KeyDecl d;
    d.scope = scope;
    d.name = std::move(name);
    d.type = type;
    d.unit = std::move(unit);
    d.desc = std::move(desc);
    return d;
  }
  std::string path() const;          // "channels[].messages"
  std::string type_text() const;     // "integer", "number", "string", "one of", ...
  std::string allowed_text() const;  // "0..65536", "one of cpp, rtl"
  // Throws ConfigError "<where>: key '<at>' has value <v> (allowed: ...)" unless v fits.
  void check(const nlohmann::json& v, const std::string& where, const std::string& at) const;
};

const std::vector<KeyDecl>& scenario_keys();
const KeyDecl* find_key(KeyScope scope, const std::string& name);
// By documented path ("link_latency_cycles", "channels[].messages", "generate.nodes").
const KeyDecl* find_key_path(const std::string& path);
std::vector<std::string> key_names(KeyScope scope);

// `cmmsim --list-keys`: one block per key.
std::string keys_text();
// docs/scenario-keys.md (generated; a test checks the checked-in copy).
std::string keys_markdown();
// `cmmsim --keys-json`: [{path, type, allowed, unit, default, effect, desc}] (scripts/sweep reads it).
nlohmann::json keys_json();

// A command-line value as JSON: numbers and booleans as JSON, anything else
// as a string (so "-5", "1.5" and "4294967296" reach the range checks).
nlohmann::json cli_value(const std::string& text);

}  // namespace cmm::tb
