// A progress bar on stderr, drawn only when stdout is a terminal (so piped
// or redirected runs stay clean). Safe to tick from several threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace pyk::bench {

class Progress {
 public:
  // `label` names the work; `total` is the number of ticks expected.
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  // Adds `n` done; redraws at most every 1/100 of the total.
  void tick(std::uint64_t n = 1) {
    if (!enabled_) return;
    const std::uint64_t done = done_.fetch_add(n, std::memory_order_relaxed) + n;
    if (done >= next_draw_.load(std::memory_order_relaxed)) draw(done);
  }

 private:
  void draw(std::uint64_t done);
  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::uint64_t> next_draw_{0};
};

}  // namespace pyk::bench
