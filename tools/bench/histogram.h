// Latency histogram: log-linear buckets (16 per power of two, so a reported
// percentile is within ~6% of the true value), cheap to record and to merge
// across threads.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace pyk::bench {

class Histogram {
 public:
  void record(std::uint64_t nanos) {
    ++counts_[bucket(nanos)];
    ++count_;
    if (nanos > max_) max_ = nanos;
  }
  void merge(const Histogram& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    if (other.max_ > max_) max_ = other.max_;
  }
  std::uint64_t count() const { return count_; }
  // The value below which a fraction `q` (0..1) of the samples lie, in ns
  // (the upper edge of its bucket, capped at the largest sample).
  double percentile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const double upper = static_cast<double>(upper_edge(i));
        return upper < static_cast<double>(max_) ? upper : static_cast<double>(max_);
      }
    }
    return static_cast<double>(max_);
  }

 private:
  static constexpr unsigned kSubBits = 4;  // 16 sub-buckets per power of two
  static constexpr std::size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

  static std::size_t bucket(std::uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<std::size_t>(v);
    const unsigned top = 63 - static_cast<unsigned>(std::countl_zero(v));  // >= kSubBits
    const unsigned shift = top - kSubBits;
    const std::uint64_t sub = (v >> shift) & ((1u << kSubBits) - 1);
    return ((shift + 1) << kSubBits) + sub;
  }
  static std::uint64_t upper_edge(std::size_t b) {
    if (b < (1u << kSubBits)) return b;
    const unsigned shift = static_cast<unsigned>(b >> kSubBits) - 1;
    const std::uint64_t sub = b & ((1u << kSubBits) - 1);
    return (((1ull << kSubBits) + sub + 1) << shift) - 1;
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace pyk::bench
