// The backends every engine test runs against, and a per-test environment:
// a fresh store location plus byte-editing helpers that damage files through
// the same Directory interface the engine uses (so they work in RAM too).
#pragma once

#include <atomic>
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

#include "core/directory.h"
#include "core/options.h"
#include "core/store.h"
#include "tests/temp_dir.h"

namespace pyk::test {

struct FileBackend { static constexpr const char* name = "file"; };
struct MmapBackend { static constexpr const char* name = "mmap"; };
struct MemoryBackend { static constexpr const char* name = "memory"; };
using AllBackends = boost::mpl::list<FileBackend, MmapBackend, MemoryBackend>;
using DiskBackends = boost::mpl::list<FileBackend, MmapBackend>;  // real files (fsync, kill)

// A clock the test moves by hand.
// Atomic: the store's maintenance thread reads it too.
struct FakeClock {
  using time_point = std::chrono::system_clock::time_point;
  std::shared_ptr<std::atomic<time_point::rep>> now =
      std::make_shared<std::atomic<time_point::rep>>(
          time_point(std::chrono::sys_days{std::chrono::year{2026} / 1 / 1})
              .time_since_epoch()
              .count());
  std::function<time_point()> fn() const {
    return [now = now] { return time_point(time_point::duration(now->load())); };
  }
  void advance(std::chrono::microseconds d) const {
    *now += std::chrono::duration_cast<time_point::duration>(d).count();
  }
};

// Both stats describe the same segments with the same live and dead figures
// (e.g. loaded from hints vs scanned, or after merge vs after reopen).
inline void check_same_segment_stats(const Stats& a, const Stats& b) {
  BOOST_TEST_REQUIRE(a.segments.size() == b.segments.size());
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    BOOST_TEST_CONTEXT("segment " << a.segments[i].id) {
      BOOST_TEST(a.segments[i].id == b.segments[i].id);
      BOOST_TEST(a.segments[i].live_keys == b.segments[i].live_keys);
      BOOST_TEST(a.segments[i].live_bytes == b.segments[i].live_bytes);
      BOOST_TEST(a.segments[i].dead_bytes == b.segments[i].dead_bytes);
    }
  }
}

template <class Backend>
class StoreEnv {
 public:
  StoreEnv() {
    options.backend = Backend::name;
    options.logger = [this](std::string_view m) { log += std::string(m) + "\n"; };
    // No automatic merge unless a test asks for one: tests count files and merges.
    options.merge_dead_fraction = 0;
    options.merge_dead_bytes = 0;
  }

  Store open() const { return Store::open(dir.str(), options); }
  Store open(Options custom) const {
    custom.backend = Backend::name;
    return Store::open(dir.str(), std::move(custom));
  }

  std::shared_ptr<Directory> directory() const {
    return open_directory(Backend::name, dir.str(), true);
  }

  std::string read_file(const std::string& name) const {
    auto segment = directory()->open(name, OpenMode::read_only);
    std::string bytes(segment->size(), '\0');
    segment->read_into(0, std::as_writable_bytes(std::span(bytes)));
    return bytes;
  }
  void write_file(const std::string& name, const std::string& bytes) const {
    auto d = directory();
    d->remove(name);
    auto segment = d->create(name, bytes.size() + 1);
    segment->append(std::as_bytes(std::span(bytes)));
    segment->seal();
  }
  void truncate_file(const std::string& name, std::size_t size) const {
    write_file(name, read_file(name).substr(0, size));
  }
  void flip_byte(const std::string& name, std::size_t offset) const {
    std::string bytes = read_file(name);
    bytes.at(offset) = static_cast<char>(bytes.at(offset) ^ 0x5A);
    write_file(name, bytes);
  }

  TempDir dir;
  Options options;
  std::string log;
};

}  // namespace pyk::test
