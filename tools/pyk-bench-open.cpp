// pyk-bench-open: open time from the keydir snapshot, with and without hint files, and merge
// throughput, on a store of N keys (16-byte zero-padded decimal keys,
// 100-byte values). Prints numbers; it is not a test.
//
//   pyk-bench-open --backend mmap --keys 10000000 --dir /tmp/pyk-bench
//
// Page cache: the files are read warm (just written); run with a dropped
// cache (echo 3 > /proc/sys/vm/drop_caches, as root) for cold numbers.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/filename.h"
#include "core/store.h"
#include "tools/bench/stopwatch.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

using pyk::bench::Clock;
using pyk::bench::seconds_since;

std::string key_of(std::uint64_t i) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llu", static_cast<unsigned long long>(i));
  return std::string(buf, 16);
}

pyk::Options options_for(const std::string& backend, std::uint64_t segment_size) {
  pyk::Options o;
  o.backend = backend;
  o.max_segment_size = segment_size;
  o.logger = [](std::string_view) {};  // "no hint file" per segment is expected here
  return o;
}

// Writes keys 0..n-1 `rounds` times (the last round wins), then closes,
// which waits for the hint files of sealed segments.
void build(const std::string& dir, const pyk::Options& o, std::uint64_t n, int rounds) {
  fs::remove_all(dir);
  const auto start = Clock::now();
  auto db = pyk::Store::open(dir, o);
  std::string value(100, 'v');
  for (int round = 0; round < rounds; ++round) {
    for (std::uint64_t i = 0; i < n; ++i) {
      std::snprintf(value.data(), value.size(), "%d-%llu", round, static_cast<unsigned long long>(i));
      value.back() = 'v';  // snprintf's terminator
      db.put(key_of(i), value);
    }
  }
  const double wrote = seconds_since(start);
  db.close();
  std::cout << "  build: " << n * rounds << " puts in " << wrote << " s ("
            << n * rounds / wrote / 1e6 << " M puts/s), close (hints) "
            << seconds_since(start) - wrote << " s\n";
}

std::uint64_t remove_hints(const std::string& dir) {
  std::uint64_t removed = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (pyk::filename::parse(entry.path().filename().string()).kind == pyk::filename::Kind::hint) {
      fs::remove(entry.path());
      ++removed;
    }
  }
  return removed;
}

void time_open(const std::string& dir, const pyk::Options& o, const char* label) {
  const auto start = Clock::now();
  auto db = pyk::Store::open(dir, o);
  const double took = seconds_since(start);
  const auto stats = db.stats();
  std::cout << "  open " << label << ": " << took << " s, " << stats.keys << " keys, "
            << stats.segments.size() << " segments (" << stats.segments_from_hints
            << " from hints), " << stats.keys_from_snapshot << " keys from KEYDIR, keydir " << stats.keydir_bytes / (1 << 20) << " MiB\n";
  db.close();  // rewrites missing hints, not timed
}

void bench_open(const std::string& dir, const pyk::Options& o, std::uint64_t n) {
  std::cout << "open: " << n << " keys, backend " << o.backend << "\n";
  build(dir, o, n, 1);
  time_open(dir, o, "from KEYDIR  ");  // the keydir snapshot the close wrote
  pyk::Options hints_only = o;
  hints_only.keydir_snapshot = false;
  time_open(dir, hints_only, "with hints   ");
  std::cout << "  removed " << remove_hints(dir) << " hint files\n";
  time_open(dir, hints_only, "without hints");
  time_open(dir, hints_only, "with hints   ");  // the ones rewritten by the previous close
}

void bench_merge(const std::string& dir, const pyk::Options& o, std::uint64_t n) {
  constexpr int kRounds = 5;  // each key written 5 times: 80% of the data is dead
  std::cout << "merge: " << n << " keys written " << kRounds << " times, backend " << o.backend
            << "\n";
  build(dir, o, n, kRounds);
  auto db = pyk::Store::open(dir, o);
  const auto before = db.stats();
  std::uint64_t live_bytes = 0;
  for (const auto& s : before.segments)
    if (!s.active) live_bytes += s.live_bytes;
  const auto start = Clock::now();
  db.merge();
  const double took = seconds_since(start);
  const auto after = db.stats();
  std::cout << "  merge: " << took << " s, " << live_bytes / 1e6 << " MB live -> "
            << live_bytes / 1e6 / took << " MB/s of live data\n"
            << "  disk: " << before.disk_bytes / 1e6 << " MB before, " << after.disk_bytes / 1e6
            << " MB after (" << before.segments.size() << " -> " << after.segments.size()
            << " segments)\n";
  db.close();
}

}  // namespace

int main(int argc, char** argv) {
  std::string backend, dir, mode;
  bool keep = false;
  std::uint64_t keys = 0, segment_mb = 0;
  po::options_description desc("pyk-bench-open options");
  desc.add_options()("help,h", "this help")(
      "backend", po::value(&backend)->default_value("file"), "file or mmap")(
      "keys", po::value(&keys)->default_value(1000000), "number of keys")(
      "dir", po::value(&dir)->default_value("/tmp/pyk-bench-open"), "store directory (erased)")(
      "mode", po::value(&mode)->default_value("all"),
      "open, merge, all, or reopen (time opening the store already in --dir; for profiling)")(
      "keep", po::bool_switch(&keep), "leave the store in --dir")(
      "segment-mb", po::value(&segment_mb)->default_value(256), "max segment size in MiB");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    const pyk::Options o = options_for(backend, segment_mb << 20);
    if (mode == "open" || mode == "all") bench_open(dir, o, keys);
    if (mode == "merge" || mode == "all") bench_merge(dir, o, keys);
    if (mode == "reopen") time_open(dir, o, "existing store");
    if (!keep && mode != "reopen") fs::remove_all(dir);
    return 0;
  } catch (const po::error& e) {
    std::cerr << "pyk-bench-open: " << e.what() << "\n" << desc << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pyk-bench-open: " << e.what() << "\n";
    return 1;
  }
}
