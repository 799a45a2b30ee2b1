// Server: the Boost.Asio side of pyk-server. Accepts TCP clients on the
// configured address and gives each a Session; several threads run the
// event loop, each connection on its own strand. Under --sync always a
// connection's replies to writes wait for the SyncBatcher (group commit).
// SIGINT and SIGTERM stop it cleanly: no new clients, every command already
// running finishes and its reply is sent, then run() returns.
#pragma once

#include <cstdint>
#include <memory>

#include "core/store.h"
#include "tools/server/server_state.h"
#include "tools/server/sync_batcher.h"

namespace pyk::server {

class Server {
 public:
  // Listens on settings.bind:settings.port (0: any free port, see port()).
  // `batcher` is required under SyncMode::always, ignored otherwise.
  // Throws IoError if the address cannot be bound.
  Server(Store& store, ServerState& state, SyncBatcher* batcher);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;
  // Serves on `threads` threads (this one included) until stop() or a signal.
  void run(unsigned threads);
  // Thread-safe; returns at once, run() returns once the clients are gone.
  void stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Raises the soft limit on open files towards `wanted` (at most the hard
// limit), so that many clients can connect; returns the limit now in force.
std::uint64_t raise_open_file_limit(std::uint64_t wanted);

}  // namespace pyk::server
