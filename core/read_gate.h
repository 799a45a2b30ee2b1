// ReadGate: the hot read path (get, get_into, get_pinned, get_many) without
// a write to any cache line that other readers write too. Private to core/.
//
// Before, every get took state_mutex_ shared and copied a shared_ptr to its
// segment: four atomic read-modify-writes on two lines all readers share,
// which bounce between cores and cap multi-threaded reads. Here a reader
// counts itself in a slot of its own (threads are spread over kSlots
// cache-line sized slots; only threads beyond kSlots share one):
//
//  - lookup(): the keydir and the segment table may be read while a writer
//    cannot change them. A writer holds state_mutex_ exclusively (which
//    keeps out the readers of the slow path, who lock it shared) and then
//    closes the gate: it raises a flag and waits until no slot counts a
//    lookup (of the slots a lookup has ever used: a store touched by two
//    threads costs a put two lines, not kSlots). A reader that sees the
//    flag spins briefly for it to drop, then falls back to state_mutex_
//    shared.
//    Lookups hold no lock, do no I/O and never block, so the wait is short.
//  - Reading: segments found by a lookup stay alive (readable through a raw
//    pointer) until the Reading ends, with no reference count: a segment
//    removed from the store (merge, refresh, close) is destroyed only after
//    wait_for_reads(), which waits for every Reading begun before it.
//    Readings count in one of two phases per slot; wait_for_reads() flips
//    the phase and waits for the old one to drain, so a steady stream of new
//    readers cannot hold it off.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/spinning_mutex.h"

namespace pyk {

class ReadGate {
  // One per thread (up to kSlots threads): lookups under way, and Readings
  // under way in each phase.
  struct alignas(64) Slot {
    std::atomic<std::uint32_t> lookups{0};
    std::array<std::atomic<std::uint32_t>, 2> reads{};
  };

 public:
  static constexpr std::size_t kSlots = 32;

  // The keydir and segments may be read inside fn (see above). Returns fn().
  // REQUIRES: fn does no I/O, takes no lock and does not block.
  template <class Fn>
  auto lookup(std::shared_mutex& state_mutex, Fn&& fn) const {
    const std::size_t index = my_index();
    Slot& slot = slots_[index];
    // Listed before its first count, so that close() waits on it (the
    // seq_cst order puts this before the count, the count before a writer's
    // flag, and the flag before close() reads the list). One load of a line
    // that is written once per slot.
    const std::uint32_t bit = std::uint32_t{1} << index;
    if ((used_slots_.load(std::memory_order_seq_cst) & bit) == 0)
      used_slots_.fetch_or(bit, std::memory_order_seq_cst);
    for (int attempt = 0;; ++attempt) {
      slot.lookups.fetch_add(1, std::memory_order_seq_cst);
      if (!writer_.load(std::memory_order_seq_cst)) {
        struct Leave {
          Slot& slot;
          ~Leave() { slot.lookups.fetch_sub(1, std::memory_order_release); }
        } leave{slot};
        return fn();
      }
      slot.lookups.fetch_sub(1, std::memory_order_release);
      if (attempt == kSpinAttempts) break;
      // A put holds the gate closed for one keydir update, well under a
      // microsecond: waiting for it spinning costs far less than sleeping in
      // state_mutex (a futex wait and a wake-up for every write a read meets).
      for (int spins = 0; spins < kSpinsPerAttempt && writer_.load(std::memory_order_relaxed); ++spins)
        cpu_relax();
    }
    std::shared_lock state_lock(state_mutex);  // a long writer (merge, refresh): wait for it
    return fn();
  }

  // Keeps every segment found by lookups made while it lives readable.
  class Reading {
   public:
    explicit Reading(const ReadGate& gate) : slot_(gate.slots_[my_index()]) {
      // Counted in the phase that is current after counting: a phase read
      // just before a flip could otherwise be one that the next
      // wait_for_reads (flipping back to it) does not wait for.
      for (;;) {
        phase_ = gate.phase_.load(std::memory_order_seq_cst);
        slot_.reads[phase_].fetch_add(1, std::memory_order_seq_cst);
        if (gate.phase_.load(std::memory_order_seq_cst) == phase_) break;
        slot_.reads[phase_].fetch_sub(1, std::memory_order_release);
      }
    }
    ~Reading() { slot_.reads[phase_].fetch_sub(1, std::memory_order_release); }
    Reading(const Reading&) = delete;
    Reading& operator=(const Reading&) = delete;

   private:
    Slot& slot_;
    unsigned phase_;
  };

  // A writer's side: the keydir and segments are its alone between close()
  // and open(). REQUIRES: state_mutex_ held exclusively throughout.
  void close() {
    writer_.store(true, std::memory_order_seq_cst);
    // Only the slots lookups have used: a put closes the gate, and looking
    // at all kSlots lines was ~240 instructions of its ~1500.
    for (std::uint32_t used = used_slots_.load(std::memory_order_seq_cst); used != 0; used &= used - 1)
      wait_until_zero(slots_[static_cast<std::size_t>(std::countr_zero(used))].lookups);
  }
  // Release is enough: a reader that sees the flag down sees the changes
  // made behind it. (A seq_cst store is a locked instruction on x86: one
  // more per put.)
  void open() { writer_.store(false, std::memory_order_release); }

  // Returns once every Reading that began before the call has ended: a
  // segment removed from the store before the call may then be destroyed.
  // REQUIRES: state_mutex_ not held (a Reading may be waiting for it).
  void wait_for_reads() const {
    std::lock_guard lock(phase_mutex_);  // one phase flip at a time
    const unsigned old = phase_.load(std::memory_order_relaxed);
    phase_.store(old ^ 1, std::memory_order_seq_cst);
    for (const Slot& slot : slots_) wait_until_zero(slot.reads[old]);
  }

 private:
  // How long lookup() spins on a closed gate before it sleeps in state_mutex.
  static constexpr int kSpinAttempts = 4;
  static constexpr int kSpinsPerAttempt = 256;
  // How long a writer closing the gate spins for lookups to end before it yields.
  static constexpr int kSpinsBeforeYield = 256;
  static void wait_until_zero(const std::atomic<std::uint32_t>& count) {
    // A lookup takes well under a microsecond, a hint writer's batch of 64 a
    // few: spin that long (a yield is a syscall, and on a busy core it gives
    // the core away), then yield, as the reader may be descheduled.
    for (int spins = 0; count.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kSpinsBeforeYield) {
        cpu_relax();
      } else {
        std::this_thread::yield();
      }
    }
  }
  // This thread's slot, the same in every gate.
  static std::size_t my_index() {
    static std::atomic<std::size_t> next_thread{0};
    thread_local const std::size_t index = next_thread.fetch_add(1) % kSlots;
    return index;
  }

  mutable std::array<Slot, kSlots> slots_{};
  // Bit i: slots_[i] has counted a lookup (set once, never cleared).
  static_assert(kSlots <= 32);
  mutable std::atomic<std::uint32_t> used_slots_{0};
  std::atomic<bool> writer_{false};
  mutable std::atomic<unsigned> phase_{0};
  mutable std::mutex phase_mutex_;
};

}  // namespace pyk
