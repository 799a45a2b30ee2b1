#include "core/rate_limiter.h"

#include <algorithm>

namespace pyk {

RateLimiter::RateLimiter(std::uint64_t bytes_per_second)
    : rate_(bytes_per_second), available_(Clock::now()) {}

bool RateLimiter::request(std::uint64_t bytes) {
  std::unique_lock lock(mu_);
  if (cancelled_) return false;
  if (rate_ == 0) return true;
  const auto now = Clock::now();
  // Unused time accrues as credit, but no more than a burst's worth.
  const auto burst = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(100));
  available_ = std::max(available_, now - burst);
  const auto start = available_;
  available_ += std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  // Pay as you go: wait until what earlier requests took is paid off.
  if (start > now) {
    const bool cancelled = wake_.wait_until(lock, start, [&] { return cancelled_; });
    waited_ += std::min(Clock::now(), start) - now;
    if (cancelled) return false;
  }
  return true;
}

void RateLimiter::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  wake_.notify_all();
}

void RateLimiter::reset() {
  std::lock_guard lock(mu_);
  cancelled_ = false;
  available_ = Clock::now();
}

RateLimiter::Clock::duration RateLimiter::waited() const {
  std::lock_guard lock(mu_);
  return waited_;
}

}  // namespace pyk
