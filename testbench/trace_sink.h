// Internal to the trace writers (perfetto_trace.cpp, vcd_writer.cpp): the
// buffered output stream with a byte count, and the window / node filter /
// byte budget both apply.
#pragma once
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "trace_common.h"

namespace cmm::tb::trace_detail {

using Buf = fmt::memory_buffer;

inline void put(Buf& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

template <class... A>
void putf(Buf& b, fmt::format_string<A...> f, A&&... a) {
  fmt::format_to(std::back_inserter(b), f, std::forward<A>(a)...);
}

// Output stream with a write buffer and a byte count.
class Sink {
 public:
  explicit Sink(const std::string& path)
      : file_(std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc)), name_(path) {
    if (!*file_) throw std::runtime_error(fmt::format("cannot open trace file '{}' for writing", path));
    out_ = file_.get();
  }
  explicit Sink(std::ostream& o) : out_(&o), name_("<stream>") {}

  void append(const char* p, size_t n) {
    buf_.append(p, p + n);
    bytes_ += n;
    if (buf_.size() >= kFlushAt) flush();
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(const Buf& b) { append(b.data(), b.size()); }
  void finish() {
    flush();
    out_->flush();
    if (file_) file_->close();
  }
  uint64_t bytes() const { return bytes_; }
  const std::string& name() const { return name_; }

 private:
  static constexpr size_t kFlushAt = size_t{1} << 20;
  void flush() {
    out_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  std::unique_ptr<std::ofstream> file_;
  std::ostream* out_ = nullptr;
  std::string name_;
  Buf buf_;
  uint64_t bytes_ = 0;
};

// Window, node filter and byte budget.
class Limits {
 public:
  explicit Limits(TraceLimits l) : l_(std::move(l)) {
    all_nodes_ = l_.nodes.empty();
    for (uint32_t n : l_.nodes) {
      if (n >= node_ok_.size()) node_ok_.resize(n + 1, false);
      node_ok_[n] = true;
    }
  }
  bool node(uint32_t n) const { return all_nodes_ || (n < node_ok_.size() && node_ok_[n]); }
  bool time(TimePs t) const { return t >= l_.from_ps && t < l_.to_ps; }
  bool visible(uint32_t n, TimePs t) const { return time(t) && node(n); }
  TimePs from() const { return l_.from_ps; }
  TimePs to() const { return l_.to_ps; }
  uint64_t max_bytes() const { return l_.max_bytes; }
  // True when `total` bytes stay within the hard cap (with `reserve` left over).
  bool fits(uint64_t total, uint64_t reserve) const { return l_.max_bytes == 0 || total + reserve <= l_.max_bytes; }
  void check_warn(uint64_t bytes, const char* kind, const std::string& name) {
    if (warned_ || l_.warn_bytes == 0 || bytes <= l_.warn_bytes) return;
    warned_ = true;
    std::string msg = fmt::format(
        "warning: {} '{}' is larger than {} bytes; narrow it with a time window or a node filter{}", kind,
        name, l_.warn_bytes, l_.max_bytes ? fmt::format(" (it stops at {} bytes)", l_.max_bytes) : "");
    if (l_.on_warning)
      l_.on_warning(msg);
    else
      std::fprintf(stderr, "%s\n", msg.c_str());
  }

 private:
  TraceLimits l_;
  bool all_nodes_ = true;
  std::vector<bool> node_ok_;
  bool warned_ = false;
};

constexpr uint32_t kNone = UINT32_MAX;
// Room kept below max_bytes for the truncation marker and the footer.
constexpr uint64_t kFooterReserve = 256;

}  // namespace cmm::tb::trace_detail
