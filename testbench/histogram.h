// Streaming histogram of non-negative integer samples (latencies in cycles):
// memory bounded by the value range, not by the number of samples.
//
// Log-linear buckets (HdrHistogram-style): every value below 2^(kSubBits+1)
// has its own bucket; above, each power of two [2^e, 2^(e+1)) is split into
// 2^kSubBits equal buckets. A percentile reports its bucket's midpoint
// (clamped to [min, max]), so it is within kRelError = 2^-(kSubBits+1) of the
// exact nearest-rank percentile: |reported - exact| <= kRelError * exact.
// count, min, max and the sum are exact, the mean one double rounding from
// exact, the standard deviation exact up to double rounding. Optionally the exact samples are kept too (short runs), and then
// percentiles are exact.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

namespace cmm::tb {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 8;
  static constexpr double kRelError = 1.0 / double(uint64_t{2} << kSubBits);  // 1/512
  static constexpr uint64_t kExactBelow = uint64_t{2} << kSubBits;           // 512: one bucket per value

  Histogram() = default;
  explicit Histogram(bool keep_samples) : keep_(keep_samples) {}

  // Keep every sample as well (exact percentiles); only before the first add.
  void keep_samples(bool on = true) { keep_ = on; }
  bool exact() const { return keep_; }

  void add(uint64_t v, uint64_t times = 1);
  void push_back(uint64_t v) { add(v); }  // a sample set, like the vector it replaces
  // Adds other's samples (exact samples only if both keep them).
  void merge(const Histogram& other);

  uint64_t size() const { return count_; }
  uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  double stddev() const;  // population standard deviation
  // Nearest-rank percentile, p in [0, 100]; 0 for an empty set. Within
  // rel_error() of the exact one (exact when samples are kept).
  uint64_t percentile(double p) const;
  double rel_error() const { return keep_ ? 0.0 : kRelError; }
  // Samples per power-of-two bin [2^k, 2^(k+1)) (0 counts in bin 0), exact.
  std::vector<uint64_t> pow2_bins() const;
  const std::vector<uint64_t>& samples() const { return samples_; }  // empty unless exact()
  size_t buckets() const { return counts_.size(); }  // memory: 8 B each

  // Bucket geometry (exposed for tests).
  static size_t bucket_of(uint64_t v);
  static uint64_t bucket_low(size_t b);
  static uint64_t bucket_width(size_t b);

  // Iterates the samples as the histogram knows them, in ascending order:
  // each bucket's representative (midpoint clamped to [min, max]) as many
  // times as the bucket counts; samples() has the exact ones when kept.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = uint64_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const uint64_t*;
    using reference = uint64_t;
    const_iterator() = default;
    uint64_t operator*() const { return h_->representative(b_); }
    const_iterator& operator++();
    const_iterator operator++(int) {
      const_iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const const_iterator& o) const { return b_ == o.b_ && i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return !(*this == o); }

   private:
    friend class Histogram;
    const_iterator(const Histogram* h, size_t b) : h_(h), b_(b) { skip(); }
    void skip();
    const Histogram* h_ = nullptr;
    size_t b_ = 0;     // bucket
    uint64_t i_ = 0;   // sample within the bucket
  };
  const_iterator begin() const { return const_iterator(this, 0); }
  const_iterator end() const { return const_iterator(this, counts_.size()); }

 private:
  uint64_t representative(size_t b) const;
  std::vector<uint64_t> counts_;  // by bucket, grown to the largest bucket used
  std::vector<uint64_t> samples_;
  bool keep_ = false;
  __extension__ typedef unsigned __int128 Sum;  // no overflow: 2^64 samples of 2^64
  uint64_t count_ = 0, min_ = UINT64_MAX, max_ = 0;
  Sum sum_ = 0;               // exact: the mean is one rounding from exact
  double mean_ = 0, m2_ = 0;  // Welford, for the standard deviation
};

// Exact nearest-rank percentile of a sample set; 0 for an empty set.
uint64_t percentile(std::vector<uint64_t> v, double p);

}  // namespace cmm::tb
