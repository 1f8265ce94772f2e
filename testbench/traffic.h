// Synthetic traffic for architects: destination patterns, injection processes,
// message sizes, trace replay, and their JSON configuration. Plain C++ (no
// SystemC) so that it is unit-tested alone; the system drives one
// TerminalSource per sender process (docs/traffic.md).
//
// Units: time in cycles of the CMM clock; sizes in bytes (1..regs::kMaxMsgBytes);
// rates and offered loads per terminal per cycle.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config_error.h"

namespace cmm::tb {

// Every random draw of this library comes from a caller- or terminal-owned
// engine; the distributions below are our own (not std::*_distribution, whose
// output differs between standard libraries), so a seed gives the same traffic
// everywhere.
using Rng = std::mt19937_64;
double uniform01(Rng& rng);                     // [0, 1)
uint64_t uniform_below(Rng& rng, uint64_t n);   // [0, n), unbiased; n > 0
uint64_t geometric_gap(Rng& rng, double p);     // trials up to and including the first success: >= 1, mean 1/p
double exponential(Rng& rng, double rate);      // mean 1/rate
// Seed of one random stream of a run: (run seed, TrafficSpec::seed_salt, stream).
uint64_t mix_seed(uint64_t run_seed, uint64_t salt, uint64_t stream);

// ---- configuration -------------------------------------------------------

enum class PatternKind : uint8_t {
  kUniform,        // a random other terminal
  kTranspose,      // k x k: (x, y) -> (y, x)
  kBitReverse,     // reverse the log2(N) bits of the id
  kBitComplement,  // invert the log2(N) bits of the id
  kTornado,        // per dimension: c -> (c + ceil(k/2) - 1) mod k
  kNeighbour,      // 1-D: i -> i+1 mod N; 2-D: (x, y) -> (x+1 mod k, y)
  kHotspot,        // hotspot_fraction to hotspot_terminals, the rest uniform
  kIncast,         // everyone to incast_terminals (many-to-one)
};
enum class SelfPolicy : uint8_t {
  kKeep,  // a permutation's fixed point sends to itself (loopback through its own CMM), as BookSim does
  kSkip,  // a fixed point sends nothing (its terminal is inactive)
};
enum class InjectionKind : uint8_t { kBernoulli, kPoisson, kOnOff, kPeriodic };
enum class SizeKind : uint8_t { kFixed, kUniform, kBimodal, kList };
enum class LoadUnit : uint8_t {
  kMessages,  // messages per cycle per terminal
  kBytes,     // payload bytes per cycle per terminal
};

const char* to_string(PatternKind);
const char* to_string(SelfPolicy);
const char* to_string(InjectionKind);
const char* to_string(SizeKind);
const char* to_string(LoadUnit);

struct PatternSpec {
  PatternKind kind = PatternKind::kUniform;
  uint32_t dims = 1;                          // tornado, neighbour: 1 = ring of N, 2 = k x k with N = k*k
  SelfPolicy self = SelfPolicy::kKeep;        // transpose, bit_reverse, bit_complement, tornado, neighbour
  uint32_t fanout = 0;                        // uniform, hotspot: destinations per source, 0 = all N-1
  double hotspot_fraction = 0.1;              // hotspot: share of each source's messages sent to the hotspots
  std::vector<uint32_t> hotspot_terminals{0};  // hotspot
  std::vector<uint32_t> incast_terminals{0};   // incast: the receivers; they send nothing
  bool is_permutation() const;
};

struct InjectionSpec {
  InjectionKind kind = InjectionKind::kBernoulli;
  double mean_on_cycles = 100;   // onoff: mean burst length (geometric, >= 1)
  double mean_off_cycles = 900;  // onoff: mean silence length (geometric, >= 1)
  bool random_phase = true;      // periodic: first message at a random point of the first period
};

struct SizeEntry {
  uint32_t bytes = 0;
  double weight = 0;  // relative, > 0
};
struct SizeSpec {
  SizeKind kind = SizeKind::kUniform;
  uint32_t bytes = 64;                        // fixed
  uint32_t min_bytes = 64, max_bytes = 256;   // uniform, inclusive
  uint32_t small_bytes = 64, large_bytes = 1024;
  double large_prob = 0.1;                    // bimodal: P(large_bytes)
  std::vector<SizeEntry> sizes;               // list
  double mean_bytes() const;                  // expects a valid spec
};

// The traffic of a run. With trace_file set, the trace replaces pattern,
// injection, size and offered load.
struct TrafficSpec {
  PatternSpec pattern;
  InjectionSpec injection;
  SizeSpec size;
  double offered_load = 0.01;  // per terminal per cycle, in load_unit
  LoadUnit load_unit = LoadUnit::kMessages;
  std::string trace_file;      // replay this trace instead (relative paths: as given, i.e. to the cwd)
  uint64_t seed_salt = 0;      // mixed with the run seed: another traffic sample, same system

  // Schema: docs/traffic.md. Unknown keys, keys the chosen kind does not use,
  // wrong types and bad values throw ConfigError naming `where`, the key, the
  // value and what is allowed. Checks that need the terminal count are in validate().
  static TrafficSpec from_json(const nlohmann::json& j, const std::string& where = "traffic");
  nlohmann::json to_json() const;  // only the keys the chosen kinds use
  // Throws ConfigError if the spec cannot run on `terminals` terminals
  // (e.g. transpose on a non-square count, a hotspot id >= terminals, a
  // Bernoulli rate > 1).
  void validate(uint32_t terminals) const;
  std::string summary() const;  // one line for reports
};
bool operator==(const PatternSpec&, const PatternSpec&);
bool operator==(const InjectionSpec&, const InjectionSpec&);
bool operator==(const SizeEntry&, const SizeEntry&);
bool operator==(const SizeSpec&, const SizeSpec&);
bool operator==(const TrafficSpec&, const TrafficSpec&);

// Offered load -> injection rate in messages per cycle per terminal:
// load (messages) or load / size.mean_bytes() (bytes). Not validated.
double injection_rate(const TrafficSpec& spec);
// The largest injection rate (messages/cycle) the process can produce:
// bernoulli 1, onoff on/(on+off) (one message per cycle while on),
// poisson and periodic unbounded (+inf; several messages may share a cycle).
double max_injection_rate(const InjectionSpec& spec);

// ---- destination patterns --------------------------------------------------

using TerminalPair = std::pair<uint32_t, uint32_t>;  // (source, destination)

// The permutation map of a permutation pattern (transpose, bit_reverse,
// bit_complement, tornado, neighbour) before the self policy: perm[src] = dst.
// Throws ConfigError if the pattern is not a permutation or N does not fit.
std::vector<uint32_t> permutation(const PatternSpec& spec, uint32_t terminals);

class Pattern {
 public:
  // `seed` draws the fanout subsets (uniform, hotspot with fanout > 0).
  Pattern(const PatternSpec& spec, uint32_t terminals, uint64_t seed);
  uint32_t terminals() const { return n_; }
  // False: `src` never sends (incast receivers, skipped fixed points).
  bool active(uint32_t src) const;
  // A destination for the next message of `src`; `src` must be active.
  // Permutations draw nothing from rng.
  uint32_t dest(uint32_t src, Rng& rng) const;
  // Every (src, dst) that dest() can return, sorted: the channels to open at
  // start. uniform/hotspot: N*(N-1) unless fanout bounds it to N*fanout (+ hotspots).
  std::vector<TerminalPair> pairs() const;

 private:
  PatternSpec spec_;
  uint32_t n_;
  std::vector<uint32_t> perm_;                  // permutations; kNone = inactive
  std::vector<std::vector<uint32_t>> subset_;   // fanout > 0: per source, sorted
  std::vector<std::vector<uint32_t>> hot_;      // hotspot/incast: per source, targets other than itself
  std::vector<uint8_t> is_hot_;                 // hotspot: membership
};

// ---- injection and sizes -----------------------------------------------------

// Per-terminal arrival process. next_gap() returns the cycles from the
// previous message (or from the start of traffic, for the first) to the next
// one; 0 means the same cycle (Poisson and periodic above 1 message/cycle).
// Cost is O(1) per message, independent of the gap length.
class Injection {
 public:
  Injection(const InjectionSpec& spec, double rate);  // rate: messages/cycle, > 0
  uint64_t next_gap(Rng& rng);
  double rate() const { return rate_; }

 private:
  InjectionSpec spec_;
  double rate_;
  double p_on_ = 0;      // onoff: per-cycle injection probability while on
  double t_ = 0;         // poisson: exact arrival time of the last message
  double phase_ = 0;     // periodic: arrival time of the first message
  uint64_t count_ = 0;   // periodic: messages so far
  uint64_t cycle_ = 0;   // poisson, periodic: cycle of the last message
  bool started_ = false;
  bool on_ = false;      // onoff state
  uint64_t left_ = 0;    // onoff: cycles left in the current on/off period
};

class SizeDist {
 public:
  explicit SizeDist(const SizeSpec& spec);  // spec validated by TrafficSpec
  uint32_t draw(Rng& rng) const;
  double mean() const { return mean_; }

 private:
  SizeSpec spec_;
  std::vector<double> cum_;  // list: cumulative weights
  double mean_;
};

// ---- trace replay --------------------------------------------------------------

struct TraceRecord {
  uint64_t cycle = 0;
  uint32_t dst = 0;
  uint32_t bytes = 0;
  uint32_t line = 0;  // in the trace file, for messages about it
};

// A trace file: one message per line, `cycle source destination size`
// (docs/traffic.md). Parse errors throw ConfigError "file:line: ...".
class TrafficTrace {
 public:
  static TrafficTrace load(const std::string& path, uint32_t terminals);
  static TrafficTrace parse(std::istream& in, const std::string& name, uint32_t terminals);
  uint32_t terminals() const { return static_cast<uint32_t>(by_src_.size()); }
  const std::vector<TraceRecord>& source(uint32_t src) const { return by_src_.at(src); }
  std::vector<TerminalPair> pairs() const;  // distinct (src, dst), sorted
  size_t messages() const;

 private:
  std::vector<std::vector<TraceRecord>> by_src_;
};

// ---- what the system drives -------------------------------------------------------

struct Message {
  uint64_t cycle = 0;  // ideal injection cycle, counted from the start of traffic
  uint64_t gap = 0;    // cycle - the previous message's cycle (the first: cycle)
  uint32_t src = 0, dst = 0;
  uint32_t bytes = 0;
};

// The message stream of one sender terminal. Synthetic streams never end;
// trace streams end with the trace; an inactive terminal's stream is empty.
// Owns its random engine; next() does not allocate.
class TerminalSource {
 public:
  std::optional<Message> next();
  uint32_t terminal() const { return src_; }

 private:
  friend class Traffic;
  explicit TerminalSource(uint32_t src) : src_(src) {}
  uint32_t src_;
  std::shared_ptr<const Pattern> pattern_;
  std::shared_ptr<const TrafficTrace> trace_;
  std::optional<Injection> inj_;
  std::optional<SizeDist> size_;
  Rng rng_;
  uint64_t cycle_ = 0;
  size_t pos_ = 0;  // trace
};

// A run's traffic over `terminals` terminals: validates the spec (and loads
// the trace), builds the pattern once, hands out one source per terminal.
class Traffic {
 public:
  Traffic(const TrafficSpec& spec, uint32_t terminals, uint64_t run_seed);
  uint32_t terminals() const { return n_; }
  bool active(uint32_t src) const;                 // does `src` send anything?
  std::vector<TerminalPair> channel_pairs() const;  // every (src, dst) to open at start
  TerminalSource source(uint32_t src) const;        // a fresh stream; same seed, same messages
  double rate() const { return rate_; }              // messages/cycle/terminal; 0 for a trace
  const TrafficSpec& spec() const { return spec_; }

 private:
  TrafficSpec spec_;
  uint32_t n_;
  uint64_t seed_;
  double rate_ = 0;
  std::shared_ptr<const Pattern> pattern_;
  std::shared_ptr<const TrafficTrace> trace_;
};

}  // namespace cmm::tb
