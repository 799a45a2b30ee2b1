#include "core/group_commit.h"

#include <algorithm>
#include <exception>
#include <string>
#include <utility>

namespace pyk {

GroupCommit::GroupCommit(SyncPolicy policy, std::function<Target()> current)
    : policy_(policy), current_(std::move(current)) {}

GroupCommit::~GroupCommit() { stop_interval(); }

void GroupCommit::sync_to(std::uint64_t sequence) {
  // One thread at a time (the leader) syncs, without holding sync_mutex_.
  // Writers that arrive meanwhile wait for that sync to end: all whose writes
  // it covered return at once, and one of the others leads the next sync,
  // which covers every write appended before it starts.
  std::unique_lock sync_lock(sync_mutex_);
  while (synced_ < sequence) {
    if (syncing_) {
      sync_done_.wait(sync_lock);
      continue;
    }
    syncing_ = true;
    const std::uint64_t base = synced_;
    // (Only writers under SyncPolicy::always come back for more.)
    const std::uint64_t group = policy_ == SyncPolicy::always ? last_group_ : 0;
    const auto patience = last_sync_duration_ / 2;
    sync_lock.unlock();
    // The writers the last sync released are about to append again; give
    // them a moment (at most half a sync) so that one sync covers them all.
    // A lone writer never waits: its group is itself.
    const auto start = std::chrono::steady_clock::now();
    while (appended() - base < group && std::chrono::steady_clock::now() - start < patience) {
      std::this_thread::yield();
    }
    Target target;
    std::chrono::steady_clock::time_point sync_start;
    try {
      target = current_();
      sync_start = std::chrono::steady_clock::now();
      for (const auto& sealed : target.sealed) sealed->sync();
      if (target.segment) target.segment->sync();
    } catch (...) {
      sync_lock.lock();
      syncing_ = false;
      sync_done_.notify_all();  // a waiter retries, and gets its own error if it fails again
      throw;
    }
    const auto took = std::chrono::steady_clock::now() - sync_start;
    sync_lock.lock();
    syncing_ = false;
    last_group_ = std::max<std::uint64_t>(target.sequence - std::min(target.sequence, base), 1);
    last_sync_duration_ = std::min<std::chrono::steady_clock::duration>(took, kMaxGroupWait * 2);
    synced_ = std::max(synced_, target.sequence);
    sync_done_.notify_all();
  }
}

void GroupCommit::start_interval(std::chrono::milliseconds interval,
                                 std::function<void(std::string_view)> log) {
  log_ = std::move(log);
  interval_thread_ =
      std::jthread([this, interval](std::stop_token stop) { interval_loop(stop, interval); });
}

void GroupCommit::stop_interval() {
  if (!interval_thread_.joinable()) return;
  interval_thread_.request_stop();
  interval_wake_.notify_all();
  interval_thread_.join();
}

void GroupCommit::interval_loop(std::stop_token stop, std::chrono::milliseconds interval) {
  std::unique_lock lock(interval_mutex_);
  while (!stop.stop_requested()) {
    interval_wake_.wait_for(lock, stop, interval, [] { return false; });
    if (stop.stop_requested()) break;
    try {
      sync_all();
    } catch (const std::exception& e) {
      log_(std::string("background sync failed: ") + e.what());
    }
  }
}

}  // namespace pyk
