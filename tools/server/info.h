// INFO's text and CONFIG GET's parameters, from the server's state and the store.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/store.h"
#include "tools/server/server_state.h"

namespace pyk::server {

inline constexpr const char* kServerVersion = "pyk-server 0.1";
// What INFO reports as redis_version: the Redis whose commands we follow
// (clients check it before using newer options such as SET GET).
inline constexpr const char* kRedisCompatibleVersion = "7.0.0";

// The INFO reply for `sections` (empty, "default", "all" or "everything":
// every section; otherwise the named ones, in any case): server, clients,
// memory, persistence, stats, keyspace, pyk.
std::string info_text(const ServerState& server, const Store& store,
                      const std::vector<std::string>& sections);

// Every parameter CONFIG GET knows, with its value (redis-benchmark asks for
// "save" and "appendonly").
std::vector<std::pair<std::string, std::string>> config_parameters(const ServerState& server);

// The process's resident set size now and at its peak, in bytes (Linux /proc).
std::pair<std::uint64_t, std::uint64_t> resident_bytes();

}  // namespace pyk::server
