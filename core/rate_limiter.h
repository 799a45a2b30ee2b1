// RateLimiter: holds a background job (merge) to a byte rate, so that its
// reads and writes leave the disk and the CPU to the writers (cf. RocksDB's
// GenericRateLimiter, HaloDB's compaction rate). A token bucket: tokens
// accrue at `bytes_per_second` up to a burst of a tenth of a second's
// worth; a request takes its bytes, waiting while the bucket is in debt.
//
// Thread-safe. cancel() wakes every waiter for good (the store is closing).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pyk {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // 0 = unlimited: request() never waits.
  explicit RateLimiter(std::uint64_t bytes_per_second);

  // Takes `bytes`, first waiting as long as the rate requires. False (at
  // once, nothing taken) once cancelled.
  bool request(std::uint64_t bytes);
  void cancel();
  // Undoes cancel().
  void reset();

  std::uint64_t rate() const { return rate_; }
  // Total time request() spent waiting (tests and stats).
  Clock::duration waited() const;

 private:
  const std::uint64_t rate_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool cancelled_ = false;       // guarded by mu_
  Clock::time_point available_;  // guarded by mu_: when what was taken is paid off
  Clock::duration waited_{};     // guarded by mu_
};

}  // namespace pyk
