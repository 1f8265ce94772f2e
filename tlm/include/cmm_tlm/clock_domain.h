// One clock, one dispatcher (DESIGN.md): per clock domain a single SC_METHOD
// evaluates the clock edges of the components that asked for one, in the
// order they were attached, and only those. A component that has nothing in
// flight asks for no edge and costs nothing; an edge at which no component
// has work schedules no SystemC event. This replaces one timed event per
// active component per cycle with one per evaluated cycle.
#pragma once
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <systemc>

namespace cmm::tlmshell {

// A component stepped by a ClockDomain.
class Clocked {
 public:
  virtual ~Clocked() = default;
  // The rising edge that ends cycle `cycle` - 1 (time cycle * period).
  virtual void clock_edge(uint64_t cycle) = 0;
};

struct ClockStats {
  uint64_t edges = 0;            // cycles at which at least one component was evaluated
  uint64_t component_edges = 0;  // clock_edge() calls
  uint64_t wakes = 0;            // wake_at() calls that scheduled an edge
};

class ClockDomain : public sc_core::sc_module {
 public:
  static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  SC_HAS_PROCESS(ClockDomain);
  ClockDomain(sc_core::sc_module_name name, const sc_core::sc_time& period);

  // Components are evaluated in attach order within an edge (deterministic).
  uint32_t attach(Clocked& c);
  // Evaluate component `id` at the edge of `cycle`. Edges are strictly in the
  // future: a cycle at or before the current time means the next edge. A
  // component asks again at every edge it needs (the earliest request wins;
  // after its edge it has none until it asks).
  void wake_at(uint32_t id, uint64_t cycle) {
    const uint64_t lo = floor_cycle() + 1;
    if (cycle < lo) cycle = lo;
    // An edge already due (also one at the current time that the dispatcher
    // has not evaluated yet: a request made before it runs must not
    // overwrite it with a later one) wins.
    if (next_[id] <= cycle && next_[id] + 1 >= lo) return;
    next_[id] = cycle;
    ++stats_.wakes;
    // Most requests are for the next few cycles: a bit map per cycle for
    // the next kSlots cycles (a calendar), the heap for the rest.
    const uint32_t s = static_cast<uint32_t>(cycle & (kSlots - 1));
    if (cycle < lo + kSlots && (cycle == slot_cycle_[s] || !slot_any_[s])) {
      slot_cycle_[s] = cycle;
      slot_any_[s] = true;
      bits_[s * words_ + (id >> 6)] |= uint64_t{1} << (id & 63);
    } else {
      push(cycle, id);
    }
    if (!dispatching_ && cycle < armed_) arm(cycle);
  }
  // The next edge strictly after time t.
  uint64_t cycle_after(const sc_core::sc_time& t) const { return t.value() / period_ticks_ + 1; }
  // Cycles elapsed at the current time (an edge time counts as its cycle).
  uint64_t floor_cycle() const { return sc_core::sc_time_stamp().value() / period_ticks_; }
  const sc_core::sc_time& period() const { return period_; }
  const ClockStats& stats() const { return stats_; }

 private:
  void dispatch();
  void push(uint64_t cycle, uint32_t id);
  void arm(uint64_t cycle);

  sc_core::sc_time period_;
  uint64_t period_ticks_ = 1;
  std::vector<Clocked*> comps_;
  std::vector<uint64_t> next_;                        // [id] requested edge, kNever: none
  std::vector<std::pair<uint64_t, uint32_t>> heap_;   // min-heap on (cycle, id); stale entries skipped
  static constexpr uint32_t kSlots = 8;               // calendar: cycles ahead held in bit maps (power of 2)
  uint32_t words_ = 0;                                // 64-bit words per bit map
  std::vector<uint64_t> bits_;                        // [slot * words_ + id / 64]: requests for slot_cycle_[slot]
  std::vector<uint64_t> due_;                         // [id / 64]: the edge being evaluated
  uint64_t slot_cycle_[kSlots] = {};
  bool slot_any_[kSlots] = {};
  uint64_t armed_ = kNever;                           // cycle the event is notified for
  bool dispatching_ = false;
  sc_core::sc_event ev_;
  ClockStats stats_;
};

}  // namespace cmm::tlmshell
