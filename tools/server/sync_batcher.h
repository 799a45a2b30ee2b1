// SyncBatcher: group commit for --sync always. Connections run their
// commands without syncing, then ask for a sync before their replies go
// out; one thread syncs the store once for every request that arrived while
// the previous sync ran, so N clients writing at once cost about one fsync
// per round, not N.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/store.h"
#include "tools/server/server_state.h"

namespace pyk::server {

class SyncBatcher {
 public:
  SyncBatcher(Store& store, ServerCounters& counters);
  // Serves the requests still waiting, then stops.
  ~SyncBatcher();

  // Calls done(true) on the batcher's thread once a Store::sync() that began
  // after this call has returned: every write made before the call is then
  // durable. done(false) if that sync failed (the error is logged); the
  // reply must then not be sent.
  void after_sync(std::function<void(bool durable)> done);

 private:
  void loop(std::stop_token stop);

  Store& store_;
  ServerCounters& counters_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::vector<std::function<void(bool)>> waiting_;  // guarded by mutex_
  std::jthread thread_;
};

}  // namespace pyk::server
