// GroupCommit: makes appended records durable with as few fsyncs as
// possible. Writers that need durability call sync_to(); one of them (the
// leader) syncs the active segment without holding any lock while the others
// wait, and every writer whose append that sync covered returns when it ends.
// Under SyncPolicy::interval a background thread syncs every interval.
//
// Thread-safe. Locking: sync_mutex_ is never held across I/O nor while the
// store's write mutex is taken (current() takes it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string_view>
#include <thread>
#include <vector>

#include "core/options.h"
#include "core/segment.h"

namespace pyk {

class GroupCommit {
 public:
  // What a sync covers: the segment taking appends (null once the store is
  // closed: sealing synced it) and the appends made so far, read together;
  // and segments a rotation sealed without syncing (Segment::seal_unsynced)
  // that are not yet known durable, oldest first. Those are synced first, so
  // that what is durable is always a prefix of the log.
  struct Target {
    std::shared_ptr<Segment> segment;
    std::uint64_t sequence = 0;
    std::vector<std::shared_ptr<Segment>> sealed;
  };
  // `current` returns the Target under the store's write mutex.
  GroupCommit(SyncPolicy policy, std::function<Target()> current);
  ~GroupCommit();  // stops the interval thread
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Counts one append and returns its sequence number.
  // REQUIRES: appends are serialised (the store's write mutex is held).
  std::uint64_t count_append() {
    const std::uint64_t next = appended_.load(std::memory_order_relaxed) + 1;
    appended_.store(next, std::memory_order_relaxed);
    return next;
  }
  std::uint64_t appended() const { return appended_.load(std::memory_order_relaxed); }

  // Returns once every append up to `sequence` is durable. Throws the sync's IoError.
  void sync_to(std::uint64_t sequence);
  // Makes every append so far durable.
  void sync_all() { sync_to(current_().sequence); }

  // Starts the background thread that syncs every `interval`; its failures go to `log`.
  void start_interval(std::chrono::milliseconds interval,
                      std::function<void(std::string_view)> log);
  void stop_interval();

 private:
  void interval_loop(std::stop_token stop, std::chrono::milliseconds interval);

  static constexpr std::chrono::microseconds kMaxGroupWait{500};
  const SyncPolicy policy_;
  const std::function<Target()> current_;
  std::function<void(std::string_view)> log_;

  // Written under the store's write mutex; the sync leader polls it without.
  std::atomic<std::uint64_t> appended_{0};

  std::mutex sync_mutex_;
  std::condition_variable sync_done_;  // a sync ended (syncing_ went false)
  bool syncing_ = false;               // a leader is syncing; guarded by sync_mutex_
  std::uint64_t synced_ = 0;           // durable up to here; guarded by sync_mutex_
  // The last sync: how many appends it covered and how long it took (a
  // leader waits for as many writers, for at most half as long). Guarded by sync_mutex_.
  std::uint64_t last_group_ = 1;
  std::chrono::steady_clock::duration last_sync_duration_{};

  std::mutex interval_mutex_;
  std::condition_variable_any interval_wake_;
  std::jthread interval_thread_;
};

}  // namespace pyk
