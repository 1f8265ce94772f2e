// Perfetto / Chrome trace-event JSON writer for message timelines (plain
// C++, no SystemC). Streams to a file, filters by time window and node,
// watches its output size. docs/traces.md describes what it shows.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "trace_common.h"

namespace cmm::tb {

// One event argument (JSON "args"). Never pass key material.
class TraceArg {
 public:
  enum class Kind : uint8_t { kInt, kUint, kDouble, kBool, kStr };
  TraceArg(std::string_view key, std::string_view v) : key_(key), kind_(Kind::kStr), s_(v) {}
  TraceArg(std::string_view key, const char* v) : TraceArg(key, std::string_view(v)) {}
  TraceArg(std::string_view key, const std::string& v) : TraceArg(key, std::string_view(v)) {}
  TraceArg(std::string_view key, bool v) : key_(key), kind_(Kind::kBool), u_(v) {}
  TraceArg(std::string_view key, double v) : key_(key), kind_(Kind::kDouble), d_(v) {}
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TraceArg(std::string_view key, T v) : key_(key) {
    if constexpr (std::is_signed_v<T>) {
      kind_ = Kind::kInt;
      i_ = v;
    } else {
      kind_ = Kind::kUint;
      u_ = v;
    }
  }
  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  int64_t i() const { return i_; }
  uint64_t u() const { return u_; }
  double d() const { return d_; }
  std::string_view s() const { return s_; }

 private:
  std::string_view key_;
  Kind kind_ = Kind::kInt;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  double d_ = 0;
  std::string_view s_;
};
using TraceArgs = std::initializer_list<TraceArg>;

// Chrome/Perfetto trace-event JSON ({"traceEvents":[...],"displayTimeUnit":"ns"}),
// streamed: only messages in flight are kept in memory.
//  - process = node (pid = node index + 1: pid 0 is the idle process in Perfetto),
//  - thread  = a track of a node (CMM, partition, process), tid = 1000*pid + k,
//  - message = async span per node it visits (named by begin_message's name:
//    Perfetto groups spans of equal name on a node into one track, so put
//    sequence numbers into args, not the name), its stages nested inside;
//    moving to another node ends the span there and starts one on the new
//    node, joined by a flow arrow.
// Timestamps are written in microseconds as exact decimals of the ps input.
// Not thread-safe; close() is not async-signal-safe (on Ctrl-C set a flag,
// stop the simulation, then close()).
class PerfettoTrace {
 public:
  struct Track {
    uint32_t node = 0;
    uint32_t tid = 0;
  };

  // Throws std::runtime_error when the file cannot be opened.
  explicit PerfettoTrace(const std::string& path, TraceLimits limits = {});
  // Writes to a stream owned by the caller (tests, pipes).
  explicit PerfettoTrace(std::ostream& out, TraceLimits limits = {});
  ~PerfettoTrace();  // close()
  PerfettoTrace(const PerfettoTrace&) = delete;
  PerfettoTrace& operator=(const PerfettoTrace&) = delete;

  // Process name of a node (default "node <index>"); call before its tracks.
  void set_node_name(uint32_t node, std::string_view name);
  // Thread `name` of `node`; the same (node, name) returns the same track.
  Track track(uint32_t node, std::string_view name);

  // A message: begin, any number of stages (each ends the previous one), end.
  // `id` is unique among messages in flight. Throws std::logic_error on
  // a stage/end of an unknown id or a begin of an id in flight.
  void begin_message(uint64_t id, Track track, TimePs ts, std::string_view name, TraceArgs args = {});
  void stage(uint64_t id, Track track, TimePs ts, std::string_view stage_name);
  void end_message(uint64_t id, TimePs ts, TraceArgs args = {});
  // Instant mark on the message's span (e.g. "NACK", reason in args).
  void mark(uint64_t id, TimePs ts, std::string_view name, TraceArgs args = {});
  // Arrow from message `from` at from_ts to message `to` at to_ts (e.g.
  // CONNECT -> CONNECT_ACK); both must be in flight. Dropped unless both
  // ends are visible. Stage moves between nodes draw their arrows themselves.
  void flow(uint64_t from, TimePs from_ts, uint64_t to, TimePs to_ts, std::string_view name = "flow");

  // Counter (e.g. queue depth) of a node; Perfetto shows it as "<name> value".
  void counter(uint32_t node, std::string_view name, TimePs ts, double value);
  // Instant on a thread track (e.g. a reject with its reason in args).
  void instant(Track track, TimePs ts, std::string_view name, TraceArgs args = {});
  // Complete slice on a thread track (e.g. an agent servicing an interrupt);
  // slices of one track must nest.
  void slice(Track track, TimePs begin, TimePs end, std::string_view name, TraceArgs args = {});

  // Ends spans still open (at the latest time seen, args.unfinished=true) and
  // finishes the JSON. Idempotent; events after close() are ignored.
  void close();

  bool closed() const;
  bool truncated() const;        // hit max_bytes
  uint64_t bytes() const;        // written so far (including buffered)
  uint64_t events() const;       // trace events written
  uint64_t dropped() const;      // events not written: filter, window or cap

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Exact microsecond decimal of a ps time ("0.000001" for 1 ps, "2" for 2 us).
std::string ps_to_us_string(TimePs ps);

}  // namespace cmm::tb
