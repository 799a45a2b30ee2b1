// pyk-server: a pyk store served over the Redis protocol (RESP2).
#include <boost/program_options.hpp>
#include <iostream>
#include <optional>

#include "core/error.h"
#include "core/store.h"
#include "tools/lib/cli.h"
#include "tools/server/info.h"
#include "tools/server/server.h"
#include "tools/server/sync_batcher.h"

namespace po = boost::program_options;
using namespace pyk::server;

namespace {

constexpr const char* kHelpTail =
    "\nCommands: PING ECHO QUIT SELECT GET SET SETNX SETEX PSETEX GETDEL MGET MSET DEL\n"
    "UNLINK EXISTS INCR INCRBY DECR DECRBY STRLEN TTL PTTL EXPIRE PEXPIRE EXPIREAT\n"
    "PEXPIREAT PERSIST KEYS SCAN DBSIZE INFO COMMAND CONFIG GET.\n"
    "\n--sync always: a write is acknowledged once it is on disk; the writes of all\n"
    "clients waiting at once share one fsync (group commit).\n"
    "\nExamples:\n"
    "  pyk-server --dir /var/lib/pyk --port 6379 --sync interval\n"
    "  redis-cli -p 6379 set greeting hello\n"
    "\nSIGINT or SIGTERM: stop accepting, answer the commands under way, close the store.\n"
    "Exit codes: 0 clean shutdown, 2 usage or I/O error, 3 store damaged, 4 store locked.\n";

SyncMode parse_sync(const std::string& name) {
  if (name == "none") return SyncMode::none;
  if (name == "interval") return SyncMode::interval;
  if (name == "always") return SyncMode::always;
  throw po::error("--sync must be none, interval or always, not '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  return pyk::tools::run_main("pyk-server", [&]() -> int {
    ServerState state;
    ServerSettings& s = state.settings;
    s.dir = ".";
    std::string sync = "interval";
    unsigned threads = std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
    std::uint64_t segment_mib = 256, sync_interval_ms = 1000, expected_keys = 0,
                  merge_dead_mib = 0;
    double merge_dead_fraction = 0;
    po::options_description desc(
        "pyk-server: a pyk store over the Redis protocol.\n\nUsage: pyk-server [options]\n\nOptions");
    desc.add_options()(
        "dir,d", po::value(&s.dir), "store directory (default: current directory)")(
        "backend,b", po::value(&s.backend), "storage backend: file, mmap or memory (default file)")(
        "port,p", po::value(&s.port), "TCP port (default 6379; 0 picks a free one)")(
        "bind", po::value(&s.bind), "address to listen on (default 127.0.0.1)")(
        "sync", po::value(&sync), "none, interval (default) or always")(
        "sync-interval-ms", po::value(&sync_interval_ms), "--sync interval: sync every N ms (default 1000)")(
        "max-clients", po::value(&s.max_clients), "clients served at once (default 10000)")(
        "threads", po::value(&threads), "event-loop threads (default: cores, at most 4)")(
        "segment-mib", po::value(&segment_mib), "datafile size before rotation, MiB (default 256)")(
        "merge-dead-fraction", po::value(&merge_dead_fraction),
        "automatic merge of segments this dead (0 < f <= 1; default off)")(
        "merge-dead-mib", po::value(&merge_dead_mib),
        "automatic merge of segments with this many dead MiB (default off)")(
        "expected-keys", po::value(&expected_keys), "size the keydir for this many keys up front")(
        "proto-max-bulk-len", po::value(&s.limits.max_bulk), "largest bulk string accepted, bytes")(
        "max-output-bytes", po::value(&s.max_output_bytes),
        "a client whose pending replies exceed this is dropped (default 256 MiB)");
    po::options_description hidden;
    hidden.add_options()("words", po::value<std::vector<std::string>>());
    po::variables_map vm;
    if (auto done = pyk::tools::parse_command_line(argc, argv, "pyk-server", desc, hidden, "words",
                                                   kHelpTail, vm)) {
      return *done;
    }
    if (vm.count("words")) throw po::error("unexpected argument '" + vm["words"].as<std::vector<std::string>>()[0] + "'");
    s.sync = parse_sync(sync);
    if (threads == 0) throw po::error("--threads must be at least 1");

    pyk::Options options;
    options.backend = s.backend;
    options.max_segment_size = segment_mib << 20;
    options.expected_keys = expected_keys;
    options.merge_dead_fraction = merge_dead_fraction;
    options.merge_dead_bytes = merge_dead_mib << 20;
    options.sync_interval = std::chrono::milliseconds(sync_interval_ms);
    // Under --sync always the server syncs (SyncBatcher), once for many clients.
    options.sync = s.sync == SyncMode::interval ? pyk::SyncPolicy::interval : pyk::SyncPolicy::none;
    s.limits.max_bulk = std::min<std::size_t>(s.limits.max_bulk, s.limits.max_command);

    raise_open_file_limit(s.max_clients + 64);
    pyk::Store store = pyk::Store::open(s.dir, options);
    {
      std::optional<SyncBatcher> batcher;
      if (s.sync == SyncMode::always) batcher.emplace(store, state.counters);
      Server server(store, state, batcher ? &*batcher : nullptr);
      std::cout << "pyk-server: listening on " << s.bind << ":" << server.port() << " (dir " << s.dir
                << ", backend " << s.backend << ", sync " << sync << ")" << std::endl;
      server.run(threads);
      // ~Server, then ~SyncBatcher: the last replies are sent, the last syncs done.
    }
    store.close();
    std::cout << "pyk-server: stopped; store closed cleanly" << std::endl;
    return pyk::tools::kOk;
  });
}
