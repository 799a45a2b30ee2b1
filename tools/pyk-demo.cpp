// pyk-demo: a tour of the engine on one backend. Writes, reads, overwrites,
// deletes, sets a key with a TTL, closes, reopens, and shows what survived.
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/store.h"

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

void show(const pyk::Store& db, const std::string& key) {
  const auto value = db.get(key);
  std::cout << "  get(" << key << ") = " << (value ? '"' + *value + '"' : "(none)") << '\n';
}

int run(const std::string& backend, const std::string& dir) {
  // The store's clock runs `skew` ahead of real time, so the demo can show a
  // TTL expiring without waiting for it.
  auto skew = std::make_shared<std::chrono::seconds>(0);
  pyk::Options options;
  options.backend = backend;
  options.clock = [skew] { return std::chrono::system_clock::now() + *skew; };

  std::cout << "opening " << dir << " with the " << backend << " backend\n";
  {
    auto db = pyk::Store::open(dir, options);
    db.put("language", "C++20");
    db.put("engine", "bitcask");
    db.put("greeting", "hello");
    show(db, "greeting");
    db.put("greeting", "hello again");
    std::cout << "overwrote greeting\n";
    show(db, "greeting");
    db.erase("engine");
    std::cout << "erased engine\n";
    show(db, "engine");
    db.put("session", "expires soon", 30s);
    std::cout << "put session with a 30 s TTL\n";
    show(db, "session");
    db.close();
    std::cout << "closed\n";
  }
  *skew = 31s;
  std::cout << "31 seconds later (store clock moved ahead), reopening\n";
  auto db = pyk::Store::open(dir, options);
  for (const char* key : {"language", "greeting", "engine", "session"}) show(db, key);
  std::cout << "live keys: " << db.size() << '\n';
  const auto stats = db.stats();
  std::cout << "stats: keys in keydir " << stats.keys << ", disk bytes " << stats.disk_bytes
            << ", keydir bytes " << stats.keydir_bytes << ", segments " << stats.segments.size()
            << ", torn tails dropped " << stats.torn_tails_dropped << '\n';
  for (const auto& s : stats.segments) {
    std::cout << "  segment " << s.id << (s.active ? " (active)" : "") << ": " << s.bytes
              << " bytes, " << s.live_keys << " live keys, " << s.live_bytes << " live bytes, "
              << s.dead_bytes << " dead bytes\n";
  }
  db.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description desc("pyk-demo: a tour of the pyk storage engine\n\nOptions");
  std::string backend;
  std::string dir;
  desc.add_options()("help,h", "show this help")(
      "backend,b", po::value(&backend)->default_value("file"), "file, mmap or memory")(
      "dir,d", po::value(&dir), "store directory (default: a new temporary directory)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\nExample:\n  pyk-demo --backend mmap\n";
      return 0;
    }
    const bool temporary = dir.empty();
    if (temporary) {
      dir = (std::filesystem::temp_directory_path() /
             ("pyk-demo-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
                .string();
    }
    const int status = run(backend, dir);
    if (temporary) std::filesystem::remove_all(dir);
    std::cout << "demo finished\n";
    return status;
  } catch (const po::error& e) {
    std::cerr << "pyk-demo: " << e.what() << "\n" << desc;
    return 2;
  } catch (const pyk::Error& e) {
    std::cerr << "pyk-demo: " << e.what() << '\n';
    return 1;
  }
}
