#include "cmm_tlm/clock_domain.h"

#include <algorithm>
#include <functional>

namespace cmm::tlmshell {

using namespace sc_core;

namespace {
// Min-heap on (cycle, id): within one cycle components pop in attach order.
constexpr auto kLater = std::greater<std::pair<uint64_t, uint32_t>>();
}  // namespace

ClockDomain::ClockDomain(sc_module_name name, const sc_time& period) : sc_module(name), period_(period) {
  period_ticks_ = period.value();
  if (period_ticks_ == 0) SC_REPORT_FATAL("cmm/clock", "clock period below the time resolution");
  SC_METHOD(dispatch);
  sensitive << ev_;
  dont_initialize();
}

uint32_t ClockDomain::attach(Clocked& c) {
  comps_.push_back(&c);
  next_.push_back(kNever);
  const auto words = static_cast<uint32_t>((comps_.size() + 63) / 64);
  if (words != words_) {  // re-lay the calendar's bit maps, keeping requests already made
    std::vector<uint64_t> b(static_cast<size_t>(kSlots) * words, 0);
    for (uint32_t k = 0; k < kSlots; ++k)
      for (uint32_t w = 0; w < words_; ++w) b[static_cast<size_t>(k) * words + w] = bits_[static_cast<size_t>(k) * words_ + w];
    bits_.swap(b);
    words_ = words;
    due_.assign(words_, 0);
  }
  return static_cast<uint32_t>(comps_.size() - 1);
}

void ClockDomain::push(uint64_t cycle, uint32_t id) {
  heap_.emplace_back(cycle, id);
  std::push_heap(heap_.begin(), heap_.end(), kLater);
}

void ClockDomain::arm(uint64_t cycle) {
  armed_ = cycle;
  ev_.notify(sc_time::from_value(cycle * period_ticks_ - sc_time_stamp().value()));
}

void ClockDomain::dispatch() {
  const uint64_t t = floor_cycle();
  armed_ = kNever;
  // Collect every component due now before evaluating any: a component that
  // wakes another one for the next edge must not cancel that one's edge now.
  const size_t nw = words_;
  bool any = false;
  const uint32_t ts = static_cast<uint32_t>(t & (kSlots - 1));
  uint64_t* slot = &bits_[static_cast<size_t>(ts) * nw];
  if (slot_any_[ts] && slot_cycle_[ts] <= t) {
    for (size_t w = 0; w < nw; ++w) {
      due_[w] = slot[w];
      slot[w] = 0;
    }
    slot_any_[ts] = false;
    any = true;
  } else {
    for (size_t w = 0; w < nw; ++w) due_[w] = 0;
  }
  while (!heap_.empty() && heap_.front().first <= t) {
    const uint32_t id = heap_.front().second;
    std::pop_heap(heap_.begin(), heap_.end(), kLater);
    heap_.pop_back();
    due_[id >> 6] |= uint64_t{1} << (id & 63);
    any = true;
  }
  if (!any) return;
  bool stepped = false;
  for (size_t w = 0; w < nw; ++w)
    for (uint64_t m = due_[w]; m; m &= m - 1) {
      const auto id = static_cast<uint32_t>(w * 64 + static_cast<uint32_t>(__builtin_ctzll(m)));
      if (next_[id] > t) {
        due_[w] &= ~(uint64_t{1} << (id & 63));  // superseded by an earlier request, or stale
        continue;
      }
      next_[id] = kNever;
      stepped = true;
    }
  if (stepped) ++stats_.edges;
  dispatching_ = true;
  for (size_t w = 0; w < nw; ++w)
    for (uint64_t m = due_[w]; m; m &= m - 1) {
      ++stats_.component_edges;
      comps_[w * 64 + static_cast<uint32_t>(__builtin_ctzll(m))]->clock_edge(t);
    }
  dispatching_ = false;
  while (!heap_.empty() && next_[heap_.front().second] != heap_.front().first) {
    std::pop_heap(heap_.begin(), heap_.end(), kLater);
    heap_.pop_back();
  }
  uint64_t next = heap_.empty() ? kNever : heap_.front().first;
  for (uint32_t k = 0; k < kSlots; ++k)
    if (slot_any_[k]) next = std::min(next, slot_cycle_[k]);
  if (next != kNever) arm(next);
}

}  // namespace cmm::tlmshell
