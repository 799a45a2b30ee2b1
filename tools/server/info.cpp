#include "tools/server/info.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tools/server/arguments.h"

namespace pyk::server {

const char* sync_mode_name(SyncMode mode) {
  switch (mode) {
    case SyncMode::none: return "none";
    case SyncMode::interval: return "interval";
    case SyncMode::always: return "always";
  }
  return "?";
}

std::pair<std::uint64_t, std::uint64_t> resident_bytes() {
  std::uint64_t now = 0, peak = 0;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string name;
    std::uint64_t kib = 0;
    fields >> name >> kib;
    if (name == "VmRSS:") now = kib * 1024;
    if (name == "VmHWM:") peak = kib * 1024;
  }
  return {now, peak};
}

std::string info_text(const ServerState& server, const Store& store,
                      const std::vector<std::string>& sections) {
  auto wanted = [&](std::string_view name) {
    if (sections.empty()) return true;
    return std::any_of(sections.begin(), sections.end(), [&](const std::string& s) {
      return equals_ignoring_case(s, name) || equals_ignoring_case(s, "all") ||
             equals_ignoring_case(s, "default") || equals_ignoring_case(s, "everything");
    });
  };
  const ServerSettings& settings = server.settings;
  const ServerCounters& counters = server.counters;
  std::ostringstream out;
  if (wanted("server")) {
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - counters.started);
    out << "# Server\r\nredis_version:" << kRedisCompatibleVersion << "\r\npyk_version:"
        << kServerVersion << "\r\nredis_mode:standalone\r\nprocess_id:" << getpid()
        << "\r\ntcp_port:" << settings.port << "\r\nuptime_in_seconds:" << uptime.count()
        << "\r\n\r\n";
  }
  if (wanted("clients")) {
    out << "# Clients\r\nconnected_clients:" << counters.connected_clients
        << "\r\nmaxclients:" << settings.max_clients << "\r\n\r\n";
  }
  if (wanted("memory")) {
    const auto [rss, peak] = resident_bytes();
    out << "# Memory\r\nused_memory_rss:" << rss << "\r\nused_memory_peak_rss:" << peak
        << "\r\n\r\n";
  }
  if (wanted("persistence")) {
    out << "# Persistence\r\nsync_policy:" << sync_mode_name(settings.sync)
        << "\r\ngroup_commit_syncs:" << counters.syncs << "\r\n\r\n";
  }
  if (wanted("stats")) {
    out << "# Stats\r\ntotal_connections_received:" << counters.total_connections
        << "\r\ntotal_commands_processed:" << counters.commands
        << "\r\ntotal_write_commands_processed:" << counters.write_commands
        << "\r\nrejected_connections:" << counters.rejected_connections
        << "\r\ndropped_clients:" << counters.dropped_clients << "\r\n\r\n";
  }
  const bool keyspace = wanted("keyspace"), pyk = wanted("pyk");
  if (keyspace || pyk) {
    const Stats stats = store.stats();
    if (keyspace) {
      out << "# Keyspace\r\n";
      const std::size_t live = store.size();
      if (live > 0) out << "db0:keys=" << live << ",expires=0,avg_ttl=0\r\n";
      out << "\r\n";
    }
    if (pyk) {
      out << "# Pyk\r\nbackend:" << settings.backend << "\r\ndir:" << settings.dir
          << "\r\nkeydir_keys:" << stats.keys << "\r\nkeydir_bytes:" << stats.keydir_bytes
          << "\r\ndisk_bytes:" << stats.disk_bytes << "\r\nsegments:" << stats.segments.size()
          << "\r\nmerges:" << stats.merges << "\r\n\r\n";
    }
  }
  std::string text = out.str();
  if (text.size() >= 2) text.resize(text.size() - 2);  // no blank line after the last section
  return text;
}

std::vector<std::pair<std::string, std::string>> config_parameters(const ServerState& server) {
  const ServerSettings& s = server.settings;
  const char* appendfsync = s.sync == SyncMode::always     ? "always"
                            : s.sync == SyncMode::interval ? "everysec"
                                                           : "no";
  return {
      {"appendonly", "yes"},  // every write is in the log
      {"appendfsync", appendfsync},
      {"save", ""},
      {"databases", "1"},
      {"port", std::to_string(s.port)},
      {"bind", s.bind},
      {"dir", s.dir},
      {"maxclients", std::to_string(s.max_clients)},
      {"maxmemory", "0"},
      {"timeout", "0"},
      {"proto-max-bulk-len", std::to_string(s.limits.max_bulk)},
      {"client-query-buffer-limit", std::to_string(s.limits.max_command)},
  };
}

}  // namespace pyk::server
