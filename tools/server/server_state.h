// What the commands know of the server around them: its settings (CONFIG
// GET, INFO) and its counters (INFO), shared by every connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "tools/server/resp_parser.h"

namespace pyk::server {

enum class SyncMode { none, interval, always };

struct ServerSettings {
  std::string dir;
  std::string backend = "file";
  std::string bind = "127.0.0.1";
  int port = 6379;
  std::size_t max_clients = 10000;
  SyncMode sync = SyncMode::interval;
  ProtocolLimits limits;
  // A client whose pending replies pass this many bytes is disconnected
  // (Redis's client-output-buffer-limit).
  std::size_t max_output_bytes = 256u << 20;
};

// Counters, updated by every connection's thread.
struct ServerCounters {
  std::atomic<std::uint64_t> connected_clients{0};
  std::atomic<std::uint64_t> total_connections{0};
  std::atomic<std::uint64_t> rejected_connections{0};
  std::atomic<std::uint64_t> dropped_clients{0};  // protocol errors and output-limit drops
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> write_commands{0};
  std::atomic<std::uint64_t> syncs{0};  // group-commit syncs (--sync always)
  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

struct ServerState {
  ServerSettings settings;
  ServerCounters counters;
};

const char* sync_mode_name(SyncMode mode);

}  // namespace pyk::server
