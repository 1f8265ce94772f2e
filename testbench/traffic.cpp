#include "traffic.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "cmm_regs.h"
#include "cmm_seed.h"

namespace cmm::tb {

using json = nlohmann::json;

// ---- random draws ------------------------------------------------------------

double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

uint64_t uniform_below(Rng& rng, uint64_t n) {
  if (n == 0) throw std::invalid_argument("uniform_below(0)");
  // Rejection of the short last block keeps it unbiased.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

uint64_t geometric_gap(Rng& rng, double p) {
  if (!(p > 0)) throw std::invalid_argument("geometric_gap: p must be > 0");
  if (p >= 1) return 1;
  const double u = 1.0 - uniform01(rng);  // (0, 1]
  const double g = std::floor(std::log(u) / std::log1p(-p));
  constexpr double kCap = 4.0e18;  // far beyond any run; avoids overflow for tiny p
  return 1 + static_cast<uint64_t>(std::min(g, kCap));
}

double exponential(Rng& rng, double rate) { return -std::log1p(-uniform01(rng)) / rate; }

namespace {
using seed::splitmix;
constexpr uint64_t kPatternStream = 0x7A77E2000000000ull;  // apart from the terminal ids
}  // namespace

uint64_t mix_seed(uint64_t run_seed, uint64_t salt, uint64_t stream) {
  return splitmix(splitmix(splitmix(run_seed) ^ salt) ^ stream);
}

// ---- names -----------------------------------------------------------------------

namespace {
constexpr const char* kPatternNames[] = {"uniform",  "transpose", "bit_reverse", "bit_complement",
                                         "tornado",  "neighbour", "hotspot",     "incast"};
constexpr const char* kSelfNames[] = {"keep", "skip"};
constexpr const char* kInjectionNames[] = {"bernoulli", "poisson", "onoff", "periodic"};
constexpr const char* kSizeNames[] = {"fixed", "uniform", "bimodal", "list"};
constexpr const char* kLoadNames[] = {"messages_per_cycle", "bytes_per_cycle"};

template <size_t N>
std::string join(const char* const (&names)[N]) {
  std::string s;
  for (const char* n : names) s += std::string(s.empty() ? "" : ", ") + n;
  return s;
}
std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

const char* to_string(PatternKind k) { return kPatternNames[static_cast<size_t>(k)]; }
const char* to_string(SelfPolicy k) { return kSelfNames[static_cast<size_t>(k)]; }
const char* to_string(InjectionKind k) { return kInjectionNames[static_cast<size_t>(k)]; }
const char* to_string(SizeKind k) { return kSizeNames[static_cast<size_t>(k)]; }
const char* to_string(LoadUnit k) { return kLoadNames[static_cast<size_t>(k)]; }

// ---- specs -------------------------------------------------------------------------

bool PatternSpec::is_permutation() const {
  switch (kind) {
    case PatternKind::kTranspose:
    case PatternKind::kBitReverse:
    case PatternKind::kBitComplement:
    case PatternKind::kTornado:
    case PatternKind::kNeighbour:
      return true;
    default:
      return false;
  }
}

double SizeSpec::mean_bytes() const {
  switch (kind) {
    case SizeKind::kFixed:
      return bytes;
    case SizeKind::kUniform:
      return (double(min_bytes) + double(max_bytes)) / 2;
    case SizeKind::kBimodal:
      return (1 - large_prob) * small_bytes + large_prob * large_bytes;
    case SizeKind::kList: {
      double w = 0, s = 0;
      for (const auto& e : sizes) {
        w += e.weight;
        s += e.weight * e.bytes;
      }
      return w > 0 ? s / w : 0;
    }
  }
  return 0;
}

bool operator==(const PatternSpec& a, const PatternSpec& b) {
  return a.kind == b.kind && a.dims == b.dims && a.self == b.self && a.fanout == b.fanout &&
         a.hotspot_fraction == b.hotspot_fraction && a.hotspot_terminals == b.hotspot_terminals &&
         a.incast_terminals == b.incast_terminals;
}
bool operator==(const InjectionSpec& a, const InjectionSpec& b) {
  return a.kind == b.kind && a.mean_on_cycles == b.mean_on_cycles && a.mean_off_cycles == b.mean_off_cycles &&
         a.random_phase == b.random_phase;
}
bool operator==(const SizeEntry& a, const SizeEntry& b) { return a.bytes == b.bytes && a.weight == b.weight; }
bool operator==(const SizeSpec& a, const SizeSpec& b) {
  return a.kind == b.kind && a.bytes == b.bytes && a.min_bytes == b.min_bytes && a.max_bytes == b.max_bytes &&
         a.small_bytes == b.small_bytes && a.large_bytes == b.large_bytes && a.large_prob == b.large_prob &&
         a.sizes == b.sizes;
}
bool operator==(const TrafficSpec& a, const TrafficSpec& b) {
  return a.pattern == b.pattern && a.injection == b.injection && a.size == b.size &&
         a.offered_load == b.offered_load && a.load_unit == b.load_unit && a.trace_file == b.trace_file &&
         a.seed_salt == b.seed_salt;
}

double injection_rate(const TrafficSpec& s) {
  if (s.load_unit == LoadUnit::kMessages) return s.offered_load;
  const double m = s.size.mean_bytes();
  return m > 0 ? s.offered_load / m : 0;
}

double max_injection_rate(const InjectionSpec& s) {
  switch (s.kind) {
    case InjectionKind::kBernoulli:
      return 1;
    case InjectionKind::kOnOff:
      return s.mean_on_cycles / (s.mean_on_cycles + s.mean_off_cycles);
    default:
      return std::numeric_limits<double>::infinity();
  }
}

// ---- JSON ----------------------------------------------------------------------------

namespace {

// Keys each kind uses (the first is the kind selector).
std::vector<std::string> pattern_keys(PatternKind k) {
  switch (k) {
    case PatternKind::kUniform:
      return {"name", "fanout"};
    case PatternKind::kTranspose:
    case PatternKind::kBitReverse:
    case PatternKind::kBitComplement:
      return {"name", "self"};
    case PatternKind::kTornado:
    case PatternKind::kNeighbour:
      return {"name", "dims", "self"};
    case PatternKind::kHotspot:
      return {"name", "hotspot_fraction", "hotspot_terminals", "fanout"};
    case PatternKind::kIncast:
      return {"name", "incast_terminals"};
  }
  return {};
}
const std::vector<std::string> kAllPatternKeys = {"name",   "dims",           "self", "fanout", "hotspot_fraction",
                                                  "hotspot_terminals", "incast_terminals"};

std::vector<std::string> injection_keys(InjectionKind k) {
  switch (k) {
    case InjectionKind::kOnOff:
      return {"process", "mean_on_cycles", "mean_off_cycles"};
    case InjectionKind::kPeriodic:
      return {"process", "random_phase"};
    default:
      return {"process"};
  }
}
const std::vector<std::string> kAllInjectionKeys = {"process", "mean_on_cycles", "mean_off_cycles", "random_phase"};

std::vector<std::string> size_keys(SizeKind k) {
  switch (k) {
    case SizeKind::kFixed:
      return {"dist", "bytes"};
    case SizeKind::kUniform:
      return {"dist", "min_bytes", "max_bytes"};
    case SizeKind::kBimodal:
      return {"dist", "small_bytes", "large_bytes", "large_prob"};
    case SizeKind::kList:
      return {"dist", "sizes"};
  }
  return {};
}
const std::vector<std::string> kAllSizeKeys = {"dist",        "bytes",       "min_bytes",  "max_bytes",
                                               "small_bytes", "large_bytes", "large_prob", "sizes"};

const std::vector<std::string> kTopKeys = {"pattern",   "injection",  "size",     "offered_load",
                                           "load_unit", "trace_file", "seed_salt"};

void need_object(const json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where + ": expected an object, got " + j.dump());
}

// Unknown keys and keys the chosen kind does not use are both refused: a
// silently ignored key is a wrong experiment.
void check_keys(const json& j, const std::vector<std::string>& used, const std::vector<std::string>& all,
                const std::string& what, const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(used.begin(), used.end(), k) != used.end()) continue;
    if (std::find(all.begin(), all.end(), k) != all.end())
      throw ConfigError(where + ": key '" + k + "' is not used by " + what + " (allowed: " + join(used) + ")");
    throw ConfigError(where + ": unknown key '" + k + "' (allowed: " + join(used) + ")");
  }
}

[[noreturn]] void wrong_type(const json& j, const char* key, const char* expected, const std::string& where) {
  throw ConfigError(where + ": key '" + key + "' has value " + j.at(key).dump() + " of the wrong type (expected " +
                    expected + ")");
}

template <typename E, size_t N>
void get_enum(const json& j, const char* key, E& out, const char* const (&names)[N], const std::string& where) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  if (v.is_string()) {
    for (size_t i = 0; i < N; ++i) {
      if (v.get<std::string>() == names[i]) {
        out = static_cast<E>(i);
        return;
      }
    }
  }
  throw ConfigError(where + ": key '" + key + "' has value " + v.dump() + " (allowed: " + join(names) + ")");
}

template <typename T>
void get_uint(const json& j, const char* key, T& out, const std::string& where) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  // Parsed text gives unsigned numbers, JSON built in C++ signed ones: take both.
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)
    throw ConfigError(where + ": key '" + key + "' has value " + v.dump() + " (allowed: 0.." +
                      std::to_string(std::numeric_limits<T>::max()) + ")");
  if (!v.is_number_integer()) wrong_type(j, key, "an unsigned integer", where);
  const uint64_t x = v.get<uint64_t>();
  if (x > std::numeric_limits<T>::max())
    throw ConfigError(where + ": key '" + key + "' has value " + v.dump() + " (allowed: 0.." +
                      std::to_string(std::numeric_limits<T>::max()) + ")");
  out = static_cast<T>(x);
}

void get_double(const json& j, const char* key, double& out, const std::string& where) {
  if (!j.contains(key)) return;
  if (!j.at(key).is_number()) wrong_type(j, key, "a number", where);
  out = j.at(key).get<double>();
}

void get_bool(const json& j, const char* key, bool& out, const std::string& where) {
  if (!j.contains(key)) return;
  if (!j.at(key).is_boolean()) wrong_type(j, key, "true or false", where);
  out = j.at(key).get<bool>();
}

void get_terminals(const json& j, const char* key, std::vector<uint32_t>& out, const std::string& where) {
  if (!j.contains(key)) return;
  const json& v = j.at(key);
  if (!v.is_array()) wrong_type(j, key, "an array of terminal ids", where);
  out.clear();
  for (const auto& e : v) {
    if (!e.is_number_unsigned() || e.get<uint64_t>() > std::numeric_limits<uint32_t>::max())
      throw ConfigError(where + ": key '" + key + "' has element " + e.dump() +
                        " (expected a terminal id, an unsigned integer)");
    out.push_back(e.get<uint32_t>());
  }
}

std::string num(double v) { return json(v).dump(); }

[[noreturn]] void bad_value(const std::string& where, const char* key, const std::string& value,
                            const std::string& allowed) {
  throw ConfigError(where + ": key '" + key + "' has value " + value + " (allowed: " + allowed + ")");
}

void check_bytes(const std::string& where, const char* key, uint32_t b) {
  if (b < 1 || b > regs::kMaxMsgBytes) bad_value(where, key, std::to_string(b), fmt::format("1..{}", regs::kMaxMsgBytes));
}

void check_terminal_list(const std::string& where, const char* key, const std::vector<uint32_t>& v,
                         uint32_t terminals) {
  if (v.empty()) bad_value(where, key, "[]", "a non-empty list of terminal ids");
  std::set<uint32_t> seen;
  for (uint32_t t : v) {
    if (!seen.insert(t).second) bad_value(where, key, json(v).dump(), "distinct terminal ids; " + std::to_string(t) + " repeats");
    if (terminals && t >= terminals)
      bad_value(where, key, json(v).dump(), fmt::format("terminal ids 0..{} ({} terminals)", terminals - 1, terminals));
  }
}

// Value checks of the fields the chosen kinds use; terminals = 0: not known yet.
void check_spec(const TrafficSpec& s, const std::string& where, uint32_t terminals) {
  if (!s.trace_file.empty()) return;  // the trace is checked when loaded
  const std::string wp = where + ".pattern", wi = where + ".injection", ws = where + ".size";
  const PatternSpec& p = s.pattern;
  if (p.kind == PatternKind::kTornado || p.kind == PatternKind::kNeighbour) {
    if (p.dims < 1 || p.dims > 2) bad_value(wp, "dims", std::to_string(p.dims), "1, 2");
  }
  if (p.kind == PatternKind::kHotspot) {
    if (!(p.hotspot_fraction >= 0 && p.hotspot_fraction <= 1))
      bad_value(wp, "hotspot_fraction", num(p.hotspot_fraction), "0..1");
    check_terminal_list(wp, "hotspot_terminals", p.hotspot_terminals, terminals);
  }
  if (p.kind == PatternKind::kIncast) {
    check_terminal_list(wp, "incast_terminals", p.incast_terminals, terminals);
    if (terminals && p.incast_terminals.size() >= terminals)
      bad_value(wp, "incast_terminals", json(p.incast_terminals).dump(),
                "a proper subset of the terminals (someone must send)");
  }
  if ((p.kind == PatternKind::kUniform || p.kind == PatternKind::kHotspot) && terminals) {
    if (terminals < 2)
      throw ConfigError(wp + ": pattern '" + to_string(p.kind) + "' needs at least 2 terminals, got " +
                        std::to_string(terminals));
    if (p.fanout > terminals - 1)
      bad_value(wp, "fanout", std::to_string(p.fanout), fmt::format("0..{} (0 = all other terminals)", terminals - 1));
  }
  if (p.is_permutation() && terminals) (void)permutation(p, terminals);  // throws if N does not fit

  const InjectionSpec& i = s.injection;
  if (i.kind == InjectionKind::kOnOff) {
    if (!(i.mean_on_cycles >= 1 && std::isfinite(i.mean_on_cycles)))
      bad_value(wi, "mean_on_cycles", num(i.mean_on_cycles), ">= 1 (cycles)");
    if (!(i.mean_off_cycles >= 1 && std::isfinite(i.mean_off_cycles)))
      bad_value(wi, "mean_off_cycles", num(i.mean_off_cycles), ">= 1 (cycles)");
  }

  const SizeSpec& z = s.size;
  switch (z.kind) {
    case SizeKind::kFixed:
      check_bytes(ws, "bytes", z.bytes);
      break;
    case SizeKind::kUniform:
      check_bytes(ws, "min_bytes", z.min_bytes);
      check_bytes(ws, "max_bytes", z.max_bytes);
      if (z.max_bytes < z.min_bytes)
        bad_value(ws, "max_bytes", std::to_string(z.max_bytes),
                  fmt::format("{}..{} (>= min_bytes)", z.min_bytes, regs::kMaxMsgBytes));
      break;
    case SizeKind::kBimodal:
      check_bytes(ws, "small_bytes", z.small_bytes);
      check_bytes(ws, "large_bytes", z.large_bytes);
      if (!(z.large_prob >= 0 && z.large_prob <= 1)) bad_value(ws, "large_prob", num(z.large_prob), "0..1");
      break;
    case SizeKind::kList:
      if (z.sizes.empty()) bad_value(ws, "sizes", "[]", "a non-empty list of {\"bytes\", \"weight\"}");
      for (size_t k = 0; k < z.sizes.size(); ++k) {
        const std::string we = fmt::format("{}.sizes[{}]", ws, k);
        check_bytes(we, "bytes", z.sizes[k].bytes);
        if (!(z.sizes[k].weight > 0 && std::isfinite(z.sizes[k].weight)))
          bad_value(we, "weight", num(z.sizes[k].weight), "> 0");
      }
      break;
  }

  if (!(s.offered_load > 0 && std::isfinite(s.offered_load)))
    bad_value(where, "offered_load", num(s.offered_load), std::string("> 0 (") + to_string(s.load_unit) + " per terminal)");
  const double rate = injection_rate(s), max = max_injection_rate(i);
  if (rate > max * (1 + 1e-12))
    throw ConfigError(fmt::format(
        "{}: key 'offered_load' has value {} ({} per terminal) = {} messages/cycle/terminal (allowed: up to {} "
        "messages/cycle/terminal for process '{}'{})",
        where, num(s.offered_load), to_string(s.load_unit), rate, max, to_string(i.kind),
        i.kind == InjectionKind::kOnOff ? ": at most one message per cycle while on" : ""));
}

}  // namespace

TrafficSpec TrafficSpec::from_json(const json& j, const std::string& where) {
  TrafficSpec s;
  need_object(j, where);
  check_keys(j, kTopKeys, kTopKeys, "", where);
  if (j.contains("trace_file")) {
    if (!j.at("trace_file").is_string()) wrong_type(j, "trace_file", "a file path", where);
    s.trace_file = j.at("trace_file").get<std::string>();
    if (s.trace_file.empty()) bad_value(where, "trace_file", "\"\"", "a file path");
    for (const char* k : {"pattern", "injection", "size", "offered_load", "load_unit"})
      if (j.contains(k))
        throw ConfigError(where + ": key '" + k +
                          "' cannot be combined with 'trace_file' (the trace gives destinations, cycles and sizes)");
  }
  get_uint(j, "seed_salt", s.seed_salt, where);
  get_double(j, "offered_load", s.offered_load, where);
  get_enum(j, "load_unit", s.load_unit, kLoadNames, where);

  if (j.contains("pattern")) {
    const json& jp = j.at("pattern");
    const std::string w = where + ".pattern";
    need_object(jp, w);
    PatternSpec& p = s.pattern;
    get_enum(jp, "name", p.kind, kPatternNames, w);
    check_keys(jp, pattern_keys(p.kind), kAllPatternKeys, std::string("pattern '") + to_string(p.kind) + "'", w);
    get_uint(jp, "dims", p.dims, w);
    get_enum(jp, "self", p.self, kSelfNames, w);
    get_uint(jp, "fanout", p.fanout, w);
    get_double(jp, "hotspot_fraction", p.hotspot_fraction, w);
    get_terminals(jp, "hotspot_terminals", p.hotspot_terminals, w);
    get_terminals(jp, "incast_terminals", p.incast_terminals, w);
  }
  if (j.contains("injection")) {
    const json& ji = j.at("injection");
    const std::string w = where + ".injection";
    need_object(ji, w);
    InjectionSpec& i = s.injection;
    get_enum(ji, "process", i.kind, kInjectionNames, w);
    check_keys(ji, injection_keys(i.kind), kAllInjectionKeys, std::string("process '") + to_string(i.kind) + "'", w);
    get_double(ji, "mean_on_cycles", i.mean_on_cycles, w);
    get_double(ji, "mean_off_cycles", i.mean_off_cycles, w);
    get_bool(ji, "random_phase", i.random_phase, w);
  }
  if (j.contains("size")) {
    const json& jz = j.at("size");
    const std::string w = where + ".size";
    need_object(jz, w);
    SizeSpec& z = s.size;
    get_enum(jz, "dist", z.kind, kSizeNames, w);
    check_keys(jz, size_keys(z.kind), kAllSizeKeys, std::string("dist '") + to_string(z.kind) + "'", w);
    get_uint(jz, "bytes", z.bytes, w);
    get_uint(jz, "min_bytes", z.min_bytes, w);
    get_uint(jz, "max_bytes", z.max_bytes, w);
    get_uint(jz, "small_bytes", z.small_bytes, w);
    get_uint(jz, "large_bytes", z.large_bytes, w);
    get_double(jz, "large_prob", z.large_prob, w);
    if (jz.contains("sizes")) {
      if (!jz.at("sizes").is_array()) wrong_type(jz, "sizes", "an array of {\"bytes\", \"weight\"}", w);
      z.sizes.clear();
      size_t k = 0;
      for (const auto& je : jz.at("sizes")) {
        const std::string we = fmt::format("{}.sizes[{}]", w, k++);
        need_object(je, we);
        check_keys(je, {"bytes", "weight"}, {}, "", we);
        if (!je.contains("bytes") || !je.contains("weight"))
          throw ConfigError(we + ": needs both 'bytes' and 'weight', got " + je.dump());
        SizeEntry e;
        get_uint(je, "bytes", e.bytes, we);
        get_double(je, "weight", e.weight, we);
        z.sizes.push_back(e);
      }
    }
  }
  check_spec(s, where, 0);
  return s;
}

json TrafficSpec::to_json() const {
  json j;
  if (!trace_file.empty()) {
    j["trace_file"] = trace_file;
    j["seed_salt"] = seed_salt;
    return j;
  }
  json jp;
  jp["name"] = to_string(pattern.kind);
  for (const auto& k : pattern_keys(pattern.kind)) {
    if (k == "dims") jp[k] = pattern.dims;
    if (k == "self") jp[k] = to_string(pattern.self);
    if (k == "fanout") jp[k] = pattern.fanout;
    if (k == "hotspot_fraction") jp[k] = pattern.hotspot_fraction;
    if (k == "hotspot_terminals") jp[k] = pattern.hotspot_terminals;
    if (k == "incast_terminals") jp[k] = pattern.incast_terminals;
  }
  json ji;
  ji["process"] = to_string(injection.kind);
  for (const auto& k : injection_keys(injection.kind)) {
    if (k == "mean_on_cycles") ji[k] = injection.mean_on_cycles;
    if (k == "mean_off_cycles") ji[k] = injection.mean_off_cycles;
    if (k == "random_phase") ji[k] = injection.random_phase;
  }
  json jz;
  jz["dist"] = to_string(size.kind);
  for (const auto& k : size_keys(size.kind)) {
    if (k == "bytes") jz[k] = size.bytes;
    if (k == "min_bytes") jz[k] = size.min_bytes;
    if (k == "max_bytes") jz[k] = size.max_bytes;
    if (k == "small_bytes") jz[k] = size.small_bytes;
    if (k == "large_bytes") jz[k] = size.large_bytes;
    if (k == "large_prob") jz[k] = size.large_prob;
    if (k == "sizes") {
      jz[k] = json::array();
      for (const auto& e : size.sizes) jz[k].push_back({{"bytes", e.bytes}, {"weight", e.weight}});
    }
  }
  j["pattern"] = jp;
  j["injection"] = ji;
  j["size"] = jz;
  j["offered_load"] = offered_load;
  j["load_unit"] = to_string(load_unit);
  j["seed_salt"] = seed_salt;
  return j;
}

void TrafficSpec::validate(uint32_t terminals) const {
  if (terminals == 0) throw ConfigError("traffic: needs at least 1 terminal, got 0");
  check_spec(*this, "traffic", terminals);
}

std::string TrafficSpec::summary() const {
  if (!trace_file.empty()) return "trace " + trace_file;
  std::string pat = to_string(pattern.kind);
  if (pattern.kind == PatternKind::kHotspot)
    pat += fmt::format(" {} to {}", num(pattern.hotspot_fraction), json(pattern.hotspot_terminals).dump());
  if (pattern.kind == PatternKind::kIncast) pat += " to " + json(pattern.incast_terminals).dump();
  if ((pattern.kind == PatternKind::kTornado || pattern.kind == PatternKind::kNeighbour) && pattern.dims == 2)
    pat += " 2-D";
  if (pattern.fanout && (pattern.kind == PatternKind::kUniform || pattern.kind == PatternKind::kHotspot))
    pat += fmt::format(" fanout {}", pattern.fanout);
  std::string sz;
  switch (size.kind) {
    case SizeKind::kFixed:
      sz = fmt::format("fixed {} B", size.bytes);
      break;
    case SizeKind::kUniform:
      sz = fmt::format("uniform {}..{} B", size.min_bytes, size.max_bytes);
      break;
    case SizeKind::kBimodal:
      sz = fmt::format("bimodal {} B / {} B (p {})", size.small_bytes, size.large_bytes, num(size.large_prob));
      break;
    case SizeKind::kList:
      sz = fmt::format("list of {}", size.sizes.size());
      break;
  }
  std::string inj = to_string(injection.kind);
  if (injection.kind == InjectionKind::kOnOff)
    inj += fmt::format(" (on {} / off {} cycles)", num(injection.mean_on_cycles), num(injection.mean_off_cycles));
  return fmt::format("{}, {}, {} msg/cycle/terminal, sizes {} (mean {:.1f} B)", pat, inj, injection_rate(*this), sz,
                     size.mean_bytes());
}

// ---- patterns ------------------------------------------------------------------------

namespace {
uint32_t isqrt(uint32_t n) {
  auto k = static_cast<uint32_t>(std::sqrt(double(n)));
  while (uint64_t(k) * k > n) --k;
  while (uint64_t(k + 1) * (k + 1) <= n) ++k;
  return k;
}
uint32_t square_side(const PatternSpec& s, uint32_t n) {
  const uint32_t k = isqrt(n);
  if (k * k != n)
    throw ConfigError(fmt::format("traffic.pattern: pattern '{}'{} needs a square number of terminals (k x k), got {}",
                                  to_string(s.kind), s.kind == PatternKind::kTranspose ? "" : " with dims 2", n));
  return k;
}
uint32_t log2_exact(const PatternSpec& s, uint32_t n) {
  if (n == 0 || (n & (n - 1)))
    throw ConfigError(fmt::format("traffic.pattern: pattern '{}' needs a power-of-two number of terminals, got {}",
                                  to_string(s.kind), n));
  uint32_t lg = 0;
  while ((1u << lg) < n) ++lg;
  return lg;
}
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
}  // namespace

std::vector<uint32_t> permutation(const PatternSpec& s, uint32_t n) {
  if (!s.is_permutation())
    throw ConfigError(fmt::format("traffic.pattern: pattern '{}' is not a permutation", to_string(s.kind)));
  if (n == 0) throw ConfigError("traffic: needs at least 1 terminal, got 0");
  std::vector<uint32_t> perm(n);
  switch (s.kind) {
    case PatternKind::kTranspose: {
      const uint32_t k = square_side(s, n);
      for (uint32_t i = 0; i < n; ++i) perm[i] = (i % k) * k + i / k;  // (x, y) -> (y, x), i = y*k + x
      break;
    }
    case PatternKind::kBitReverse: {
      const uint32_t lg = log2_exact(s, n);
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t d = 0;
        for (uint32_t b = 0; b < lg; ++b) d |= ((i >> b) & 1u) << (lg - 1 - b);
        perm[i] = d;
      }
      break;
    }
    case PatternKind::kBitComplement: {
      (void)log2_exact(s, n);
      for (uint32_t i = 0; i < n; ++i) perm[i] = ~i & (n - 1);
      break;
    }
    case PatternKind::kTornado:
    case PatternKind::kNeighbour: {
      if (s.dims < 1 || s.dims > 2) bad_value("traffic.pattern", "dims", std::to_string(s.dims), "1, 2");
      const uint32_t k = s.dims == 1 ? n : square_side(s, n);
      const uint32_t shift = s.kind == PatternKind::kTornado ? (k + 1) / 2 - 1 : 1;  // ceil(k/2) - 1
      for (uint32_t i = 0; i < n; ++i) {
        if (s.dims == 1) {
          perm[i] = (i + shift) % k;
        } else {
          const uint32_t x = i % k, y = i / k;
          const uint32_t ny = s.kind == PatternKind::kTornado ? (y + shift) % k : y;  // neighbour: +x only
          perm[i] = ny * k + (x + shift) % k;
        }
      }
      break;
    }
    default:
      break;
  }
  return perm;
}

Pattern::Pattern(const PatternSpec& spec, uint32_t terminals, uint64_t seed) : spec_(spec), n_(terminals) {
  TrafficSpec whole;
  whole.pattern = spec;
  whole.validate(terminals);  // the pattern's N checks, with the default (valid) rest
  if (spec.is_permutation()) {
    perm_ = permutation(spec, n_);
    if (spec.self == SelfPolicy::kSkip)
      for (uint32_t i = 0; i < n_; ++i)
        if (perm_[i] == i) perm_[i] = kNone;
    return;
  }
  if (spec.kind == PatternKind::kIncast) {
    is_hot_.assign(n_, 0);
    for (uint32_t t : spec.incast_terminals) is_hot_[t] = 1;
    hot_.assign(n_, {});
    for (uint32_t i = 0; i < n_; ++i)
      if (!is_hot_[i]) hot_[i] = spec.incast_terminals;
    return;
  }
  // uniform, hotspot
  if (spec.fanout) {
    // F rounds of a random permutation without fixed points or repeats: every
    // terminal gets exactly F destinations AND is the destination of exactly F
    // (balanced endpoint use on the receive side too).
    Rng rng(seed);
    subset_.assign(n_, {});
    std::vector<uint32_t> perm(n_);
    auto conflict = [&](uint32_t i) {
      return perm[i] == i || std::find(subset_[i].begin(), subset_[i].end(), perm[i]) != subset_[i].end();
    };
    for (uint32_t f = 0; f < spec.fanout; ++f) {
      for (uint32_t i = 0; i < n_; ++i) perm[i] = i;
      for (uint32_t i = n_ - 1; i > 0; --i) std::swap(perm[i], perm[uniform_below(rng, i + 1)]);
      for (uint32_t round = 0; round < 64 * n_; ++round) {
        uint32_t i = 0;
        while (i < n_ && !conflict(i)) ++i;
        if (i == n_) break;
        std::swap(perm[i], perm[uniform_below(rng, n_)]);
      }
      for (uint32_t i = 0; i < n_; ++i) {
        if (conflict(i)) {  // not repaired (tiny N, large F): any unused other terminal
          for (uint32_t j = 0; j < n_; ++j)
            if (j != i && std::find(subset_[i].begin(), subset_[i].end(), j) == subset_[i].end()) {
              perm[i] = j;
              break;
            }
        }
        subset_[i].push_back(perm[i]);
      }
    }
    for (auto& v : subset_) std::sort(v.begin(), v.end());
  }
  if (spec.kind == PatternKind::kHotspot) {
    is_hot_.assign(n_, 0);
    for (uint32_t t : spec.hotspot_terminals) is_hot_[t] = 1;
    hot_.assign(n_, {});
    for (uint32_t i = 0; i < n_; ++i)
      for (uint32_t t : spec.hotspot_terminals)
        if (t != i) hot_[i].push_back(t);
  }
}

bool Pattern::active(uint32_t src) const {
  if (src >= n_) return false;
  if (!perm_.empty()) return perm_[src] != kNone;
  if (spec_.kind == PatternKind::kIncast) return !is_hot_[src];
  return true;
}

uint32_t Pattern::dest(uint32_t src, Rng& rng) const {
  if (!perm_.empty()) return perm_[src];
  if (spec_.kind == PatternKind::kIncast) {
    const auto& h = hot_[src];
    return h.size() == 1 ? h[0] : h[uniform_below(rng, h.size())];
  }
  if (spec_.kind == PatternKind::kHotspot) {
    // Always draw, so the stream does not depend on whether src is a hotspot.
    const bool to_hot = uniform01(rng) < spec_.hotspot_fraction;
    const auto& h = hot_[src];
    if (to_hot && !h.empty()) return h.size() == 1 ? h[0] : h[uniform_below(rng, h.size())];
  }
  if (!subset_.empty()) return subset_[src][uniform_below(rng, subset_[src].size())];
  const auto d = static_cast<uint32_t>(uniform_below(rng, n_ - 1));
  return d >= src ? d + 1 : d;  // skip self
}

std::vector<TerminalPair> Pattern::pairs() const {
  std::vector<TerminalPair> out;
  for (uint32_t i = 0; i < n_; ++i) {
    if (!active(i)) continue;
    if (!perm_.empty()) {
      out.emplace_back(i, perm_[i]);
    } else if (spec_.kind == PatternKind::kIncast) {
      for (uint32_t t : hot_[i]) out.emplace_back(i, t);
    } else {
      std::vector<uint32_t> d;
      if (!subset_.empty()) {
        d = subset_[i];
      } else {
        for (uint32_t j = 0; j < n_; ++j)
          if (j != i) d.push_back(j);
      }
      if (spec_.kind == PatternKind::kHotspot && spec_.hotspot_fraction > 0) d.insert(d.end(), hot_[i].begin(), hot_[i].end());
      std::sort(d.begin(), d.end());
      d.erase(std::unique(d.begin(), d.end()), d.end());
      for (uint32_t j : d) out.emplace_back(i, j);
    }
  }
  return out;
}

// ---- injection ------------------------------------------------------------------------

namespace {
// ceil, forgiving the rounding error of a time meant to fall on a cycle boundary.
uint64_t arrival_cycle(double t) {
  const double slack = 1e-9 * std::max(1.0, t * 1e-3);
  return static_cast<uint64_t>(std::max(0.0, std::ceil(t - slack)));
}
}  // namespace

Injection::Injection(const InjectionSpec& spec, double rate) : spec_(spec), rate_(rate) {
  if (!(rate > 0 && std::isfinite(rate)))
    throw ConfigError(fmt::format("traffic: injection rate {} messages/cycle (allowed: > 0)", rate));
  if (rate > max_injection_rate(spec) * (1 + 1e-12))
    throw ConfigError(fmt::format("traffic: injection rate {} messages/cycle is above what process '{}' can inject ({})",
                                  rate, to_string(spec.kind), max_injection_rate(spec)));
  if (spec.kind == InjectionKind::kOnOff) {
    if (!(spec.mean_on_cycles >= 1 && spec.mean_off_cycles >= 1))
      throw ConfigError("traffic.injection: mean_on_cycles and mean_off_cycles must be >= 1");
    p_on_ = std::min(1.0, rate * (spec.mean_on_cycles + spec.mean_off_cycles) / spec.mean_on_cycles);
  }
}

uint64_t Injection::next_gap(Rng& rng) {
  switch (spec_.kind) {
    case InjectionKind::kBernoulli:
      return geometric_gap(rng, rate_);
    case InjectionKind::kPoisson:
    case InjectionKind::kPeriodic: {
      // Keep the exact arrival time; a message goes out at the first cycle
      // boundary at or after it, so rounding never drifts the mean rate.
      double t;
      if (spec_.kind == InjectionKind::kPoisson) {
        t = t_ + exponential(rng, rate_);
      } else {
        // From the count, not by summing periods: no accumulated error.
        if (!started_) phase_ = spec_.random_phase ? (1.0 - uniform01(rng)) / rate_ : 1.0 / rate_;  // (0, period]
        t = phase_ + static_cast<double>(count_++) / rate_;
      }
      started_ = true;
      const uint64_t c = arrival_cycle(t);
      const uint64_t gap = c - cycle_;
      cycle_ = c;
      t_ = t;
      return gap;
    }
    case InjectionKind::kOnOff: {
      const double on = spec_.mean_on_cycles, off = spec_.mean_off_cycles;
      if (!started_) {  // start in the stationary state
        started_ = true;
        on_ = uniform01(rng) < on / (on + off);
        left_ = geometric_gap(rng, 1.0 / (on_ ? on : off));
      }
      // Whole on/off periods are skipped in O(1) each: no per-cycle loop.
      uint64_t elapsed = 0;
      for (;;) {
        if (on_) {
          const uint64_t g = geometric_gap(rng, p_on_);
          if (g <= left_) {
            left_ -= g;
            return elapsed + g;
          }
          elapsed += left_;
          on_ = false;
          left_ = geometric_gap(rng, 1.0 / off);
        } else {
          elapsed += left_;
          on_ = true;
          left_ = geometric_gap(rng, 1.0 / on);
        }
      }
    }
  }
  return 1;
}

// ---- sizes ---------------------------------------------------------------------------------

SizeDist::SizeDist(const SizeSpec& spec) : spec_(spec), mean_(spec.mean_bytes()) {
  if (spec.kind == SizeKind::kList) {
    if (spec.sizes.empty()) throw ConfigError("traffic.size: key 'sizes' is empty");
    double c = 0;
    for (const auto& e : spec.sizes) cum_.push_back(c += e.weight);
  }
}

uint32_t SizeDist::draw(Rng& rng) const {
  switch (spec_.kind) {
    case SizeKind::kFixed:
      return spec_.bytes;
    case SizeKind::kUniform:
      return spec_.min_bytes + static_cast<uint32_t>(uniform_below(rng, spec_.max_bytes - spec_.min_bytes + 1ull));
    case SizeKind::kBimodal:
      return uniform01(rng) < spec_.large_prob ? spec_.large_bytes : spec_.small_bytes;
    case SizeKind::kList: {
      const double u = uniform01(rng) * cum_.back();
      const size_t k = std::upper_bound(cum_.begin(), cum_.end(), u) - cum_.begin();
      return spec_.sizes[std::min(k, cum_.size() - 1)].bytes;
    }
  }
  return spec_.bytes;
}

// ---- traces -------------------------------------------------------------------------------------

namespace {
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
}  // namespace

TrafficTrace TrafficTrace::load(const std::string& path, uint32_t terminals) {
  std::ifstream in(path);
  if (!in) throw ConfigError("trace file '" + path + "': cannot open (" + std::strerror(errno) + ")");
  return parse(in, path, terminals);
}

TrafficTrace TrafficTrace::parse(std::istream& in, const std::string& name, uint32_t terminals) {
  if (terminals == 0) throw ConfigError(name + ": needs at least 1 terminal, got 0");
  TrafficTrace t;
  t.by_src_.resize(terminals);
  std::string raw;
  uint32_t line = 0;
  static const char* kField[] = {"cycle", "source", "destination", "size"};
  while (std::getline(in, raw)) {
    ++line;
    const std::string text = trim(raw.substr(0, raw.find('#')));
    if (text.empty()) continue;
    std::vector<std::string> tok;
    for (size_t p = 0; p < text.size();) {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
      size_t q = p;
      while (q < text.size() && !std::isspace(static_cast<unsigned char>(text[q]))) ++q;
      if (q > p) tok.push_back(text.substr(p, q - p));
      p = q;
    }
    const std::string at = fmt::format("{}:{}: ", name, line);
    if (tok.size() != 4)
      throw ConfigError(fmt::format("{}{} fields in '{}' (expected 4: cycle source destination size)", at, tok.size(), text));
    uint64_t v[4];
    for (int f = 0; f < 4; ++f) {
      const char* b = tok[f].data();
      const char* e = b + tok[f].size();
      const auto r = std::from_chars(b, e, v[f]);
      if (r.ec != std::errc() || r.ptr != e)
        throw ConfigError(fmt::format("{}bad {} '{}' in '{}' (expected an unsigned integer{})", at, kField[f], tok[f],
                                      text, r.ec == std::errc::result_out_of_range ? " below 2^64" : ""));
    }
    for (int f = 1; f <= 2; ++f)
      if (v[f] >= terminals)
        throw ConfigError(fmt::format("{}bad {} '{}' in '{}' (expected a terminal id 0..{})", at, kField[f], tok[f],
                                      text, terminals - 1));
    if (v[3] < 1 || v[3] > regs::kMaxMsgBytes)
      throw ConfigError(fmt::format("{}bad size '{}' in '{}' (expected 1..{} bytes)", at, tok[3], text, regs::kMaxMsgBytes));
    auto& recs = t.by_src_[v[1]];
    if (!recs.empty() && v[0] < recs.back().cycle)
      throw ConfigError(fmt::format(
          "{}cycle '{}' in '{}' is before the previous message of source {} (cycle {}, line {}) (expected "
          "non-decreasing cycles per source)",
          at, tok[0], text, v[1], recs.back().cycle, recs.back().line));
    recs.push_back({v[0], static_cast<uint32_t>(v[2]), static_cast<uint32_t>(v[3]), line});
  }
  if (in.bad()) throw ConfigError(name + ": read error");
  if (t.messages() == 0)
    throw ConfigError(name + ": no messages (expected lines 'cycle source destination size')");
  return t;
}

std::vector<TerminalPair> TrafficTrace::pairs() const {
  std::vector<TerminalPair> out;
  for (uint32_t s = 0; s < by_src_.size(); ++s) {
    std::vector<uint32_t> d;
    for (const auto& r : by_src_[s]) d.push_back(r.dst);
    std::sort(d.begin(), d.end());
    d.erase(std::unique(d.begin(), d.end()), d.end());
    for (uint32_t x : d) out.emplace_back(s, x);
  }
  return out;
}

size_t TrafficTrace::messages() const {
  size_t n = 0;
  for (const auto& v : by_src_) n += v.size();
  return n;
}

// ---- sources ---------------------------------------------------------------------------------------

std::optional<Message> TerminalSource::next() {
  Message m;
  m.src = src_;
  if (trace_) {
    const auto& recs = trace_->source(src_);
    if (pos_ >= recs.size()) return std::nullopt;
    const TraceRecord& r = recs[pos_++];
    m.cycle = r.cycle;
    m.gap = r.cycle - cycle_;
    m.dst = r.dst;
    m.bytes = r.bytes;
    cycle_ = r.cycle;
    return m;
  }
  if (!pattern_ || !pattern_->active(src_)) return std::nullopt;
  m.gap = inj_->next_gap(rng_);
  m.cycle = cycle_ += m.gap;
  m.dst = pattern_->dest(src_, rng_);
  m.bytes = size_->draw(rng_);
  return m;
}

Traffic::Traffic(const TrafficSpec& spec, uint32_t terminals, uint64_t run_seed)
    : spec_(spec), n_(terminals), seed_(run_seed) {
  spec_.validate(terminals);
  if (!spec_.trace_file.empty()) {
    trace_ = std::make_shared<const TrafficTrace>(TrafficTrace::load(spec_.trace_file, terminals));
    return;
  }
  rate_ = injection_rate(spec_);
  pattern_ = std::make_shared<const Pattern>(spec_.pattern, terminals, mix_seed(run_seed, spec_.seed_salt, kPatternStream));
}

bool Traffic::active(uint32_t src) const {
  if (src >= n_) return false;
  return trace_ ? !trace_->source(src).empty() : pattern_->active(src);
}

std::vector<TerminalPair> Traffic::channel_pairs() const { return trace_ ? trace_->pairs() : pattern_->pairs(); }

TerminalSource Traffic::source(uint32_t src) const {
  if (src >= n_) throw std::out_of_range(fmt::format("traffic: terminal {} of {}", src, n_));
  TerminalSource s(src);
  if (trace_) {
    s.trace_ = trace_;
    return s;
  }
  s.pattern_ = pattern_;
  s.inj_.emplace(spec_.injection, rate_);
  s.size_.emplace(spec_.size);
  s.rng_.seed(mix_seed(seed_, spec_.seed_salt, src));
  return s;
}

}  // namespace cmm::tb
