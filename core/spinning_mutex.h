// cpu_relax() and SpinningMutex: waiting for a lock held for well under a
// microsecond without going to sleep. Private to core/.
//
// A std::mutex that is taken sleeps in the kernel (a futex wait, then a
// wake-up syscall from the holder); on this path that costs tens of
// microseconds where the holder needed one. put holds write_mutex_ only for
// one append and one keydir update, so a second writer spins briefly first.
#pragma once

#include <mutex>

namespace pyk {

// Tells the CPU this is a spin-wait loop (lets the other hyperthread run,
// saves power, avoids a memory-order flush on leaving the loop).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A std::mutex that spins (try_lock with pauses) before it blocks.
class SpinningMutex {
 public:
  void lock() {
    for (int spins = 0; spins < kSpins; ++spins) {
      if (mutex_.try_lock()) return;
      cpu_relax();
    }
    mutex_.lock();
  }
  bool try_lock() { return mutex_.try_lock(); }
  void unlock() { mutex_.unlock(); }

 private:
  static constexpr int kSpins = 512;
  std::mutex mutex_;
};

}  // namespace pyk
