#include "tools/server/sync_batcher.h"

#include <iostream>

namespace pyk::server {

SyncBatcher::SyncBatcher(Store& store, ServerCounters& counters)
    : store_(store), counters_(counters), thread_([this](std::stop_token stop) { loop(stop); }) {}

SyncBatcher::~SyncBatcher() {
  thread_.request_stop();
  thread_.join();
}

void SyncBatcher::after_sync(std::function<void(bool)> done) {
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(std::move(done));
  }
  wake_.notify_one();
}

void SyncBatcher::loop(std::stop_token stop) {
  std::vector<std::function<void(bool)>> round;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      if (!wake_.wait(lock, stop, [&] { return !waiting_.empty(); })) return;  // stopped, none waiting
      round.swap(waiting_);
    }
    bool durable = true;
    try {
      store_.sync();
      ++counters_.syncs;
    } catch (const std::exception& e) {
      std::cerr << "pyk-server: sync failed, " << round.size()
                << " clients get no reply: " << e.what() << '\n';
      durable = false;
    }
    for (auto& done : round) done(durable);
    round.clear();
  }
}

}  // namespace pyk::server
