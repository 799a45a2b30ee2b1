// Wall-clock timing for the benchmark programs (pyk-bench, pyk-bench-open,
// pyk-bench-io): a steady clock and seconds since a point of it.
#pragma once

#include <chrono>

namespace pyk::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_between(Clock::time_point begin, Clock::time_point end) {
  return std::chrono::duration<double>(end - begin).count();
}
inline double seconds_since(Clock::time_point begin) { return seconds_between(begin, Clock::now()); }

}  // namespace pyk::bench
