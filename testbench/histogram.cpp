#include "histogram.h"

#include <algorithm>
#include <cmath>

namespace cmm::tb {

namespace {
unsigned log2_floor(uint64_t v) { return 63u - static_cast<unsigned>(__builtin_clzll(v)); }
}  // namespace

size_t Histogram::bucket_of(uint64_t v) {
  if (v < kExactBelow) return static_cast<size_t>(v);
  const unsigned shift = log2_floor(v) - kSubBits;
  return (size_t{shift} << kSubBits) + static_cast<size_t>(v >> shift);
}

uint64_t Histogram::bucket_low(size_t b) {
  if (b < kExactBelow) return b;
  const size_t shift = (b >> kSubBits) - 1;
  return static_cast<uint64_t>(b - (shift << kSubBits)) << shift;
}

uint64_t Histogram::bucket_width(size_t b) {
  if (b < kExactBelow) return 1;
  return uint64_t{1} << ((b >> kSubBits) - 1);
}

uint64_t Histogram::representative(size_t b) const {
  // The midpoint is within half a bucket of any value in it; clamping to the
  // exact extremes only moves it closer.
  const uint64_t mid = bucket_low(b) + (bucket_width(b) - 1) / 2;
  return std::clamp(mid, min_, max_);
}

void Histogram::add(uint64_t v, uint64_t times) {
  if (!times) return;
  const size_t b = bucket_of(v);
  if (counts_.size() <= b) counts_.resize(b + 1, 0);
  counts_[b] += times;
  sum_ += static_cast<Sum>(v) * times;
  if (keep_) samples_.insert(samples_.end(), times, v);
  // Welford, `times` equal values at once.
  const double n0 = static_cast<double>(count_), k = static_cast<double>(times);
  count_ += times;
  const double n = static_cast<double>(count_);
  const double d = static_cast<double>(v) - mean_;
  mean_ += d * k / n;
  m2_ += d * d * n0 * k / n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& o) {
  if (o.count_ == 0) return;
  if (counts_.size() < o.counts_.size()) counts_.resize(o.counts_.size(), 0);
  for (size_t b = 0; b < o.counts_.size(); ++b) counts_[b] += o.counts_[b];
  if (keep_ && o.keep_) samples_.insert(samples_.end(), o.samples_.begin(), o.samples_.end());
  else if (keep_) {
    keep_ = false;  // the other's samples are not known exactly: so neither are ours
    samples_.clear();
    samples_.shrink_to_fit();
  }
  sum_ += o.sum_;
  const double na = static_cast<double>(count_), nb = static_cast<double>(o.count_);
  count_ += o.count_;
  const double n = static_cast<double>(count_);
  const double d = o.mean_ - mean_;
  mean_ += d * nb / n;
  m2_ += o.m2_ + d * d * na * nb / n;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

double Histogram::stddev() const { return count_ ? std::sqrt(m2_ / static_cast<double>(count_)) : 0.0; }

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (keep_) return tb::percentile(samples_, p);
  const double want = std::ceil(p / 100.0 * static_cast<double>(count_));
  const uint64_t rank = want < 1 ? 1 : want >= static_cast<double>(count_) ? count_ : static_cast<uint64_t>(want);
  uint64_t seen = 0;
  for (size_t b = 0; b < counts_.size(); ++b) {
    seen += counts_[b];
    if (seen >= rank) return representative(b);
  }
  return max_;
}

std::vector<uint64_t> Histogram::pow2_bins() const {
  std::vector<uint64_t> bins;
  for (size_t b = 0; b < counts_.size(); ++b) {
    if (!counts_[b]) continue;
    const uint64_t lo = bucket_low(b);  // a bucket never straddles a power of two
    const size_t k = lo ? log2_floor(lo) : 0;
    if (bins.size() <= k) bins.resize(k + 1, 0);
    bins[k] += counts_[b];
  }
  return bins;
}

void Histogram::const_iterator::skip() {
  while (b_ < h_->counts_.size() && i_ >= h_->counts_[b_]) {
    ++b_;
    i_ = 0;
  }
}

Histogram::const_iterator& Histogram::const_iterator::operator++() {
  ++i_;
  skip();
  return *this;
}

uint64_t percentile(std::vector<uint64_t> v, double p) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  std::nth_element(v.begin(), v.begin() + static_cast<long>(rank - 1), v.end());
  return v[rank - 1];
}

}  // namespace cmm::tb
