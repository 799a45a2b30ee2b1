// Read-only stores beside a live writer, in other processes: a forked writer
// puts, erases, rotates (tiny segments) and merges nonstop while forked
// readers open, read, iterate and refresh. Every value a reader sees must be
// a whole value of its key, and no reader may fail or die.
//   suite readers; PYK_READER_SECONDS=N runs each backend N seconds (default 2)
#include <boost/test/unit_test.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/backend_fixtures.h"

using namespace pyk;
using namespace pyk::test;

namespace {

using Clock = std::chrono::steady_clock;

// A value that says whose it is and how long it is, so a reader can tell a
// whole value of `key` from a torn, stale-offset or foreign one.
std::string value_for(const std::string& key, std::uint64_t version, std::size_t filler) {
  const char fill = static_cast<char>('a' + (version + key.size()) % 26);
  return key + "#" + std::to_string(version) + "#" + std::string(filler, fill) + "#" +
         std::to_string(filler);
}

bool whole_value_of(std::string_view key, std::string_view value) {
  if (!value.starts_with(key) || value.size() <= key.size() || value[key.size()] != '#')
    return false;
  const std::string_view rest = value.substr(key.size() + 1);
  const std::size_t a = rest.find('#');
  const std::size_t z = rest.rfind('#');
  if (a == std::string_view::npos || z == a) return false;
  std::uint64_t version = 0;
  try {
    version = std::stoull(std::string(rest.substr(0, a)));
    const std::string_view filler = rest.substr(a + 1, z - a - 1);
    if (std::to_string(filler.size()) != rest.substr(z + 1)) return false;
    return value == value_for(std::string(key), version, filler.size());
  } catch (const std::exception&) {
    return false;
  }
}

Options store_options(const char* backend) {
  Options options;
  options.backend = backend;
  options.max_segment_size = 16 * 1024;  // rotates every few dozen writes
  options.logger = [](std::string_view) {};
  return options;
}

[[noreturn]] void run_writer(const std::string& path, const char* backend, Clock::time_point until) {
  int code = 0;
  try {
    Store db = Store::open(path, store_options(backend));
    std::mt19937_64 rng(7);
    for (std::uint64_t n = 0; Clock::now() < until; ++n) {
      const std::string key = "k" + std::to_string(rng() % 400);
      if (rng() % 8 == 0) {
        db.erase(key);
      } else {
        db.put(key, value_for(key, n, rng() % 700));
      }
      if (n % 1500 == 1499) db.merge();
    }
    db.close();
  } catch (const std::exception& e) {
    std::cerr << "writer: " << e.what() << "\n";
    code = 3;
  }
  ::_exit(code);
}

struct ReaderCounts {
  std::uint64_t opens = 0, reads = 0, iterations = 0, refreshes = 0, failures = 0;
};

// Counts go back to the parent through `fd`; the exit code says whether it failed.
[[noreturn]] void run_reader(const std::string& path, const char* backend, Clock::time_point until,
                             int seed, int fd) {
  ReaderCounts counts;
  std::mt19937_64 rng(seed);
  Options options = store_options(backend);
  options.read_only = true;
  auto check = [&](std::string_view key, std::string_view value) {
    ++counts.reads;
    if (!whole_value_of(key, value)) {
      ++counts.failures;
      std::cerr << "reader " << seed << ": key " << key << " holds a bad value of "
                << value.size() << " bytes: " << value.substr(0, 40) << "\n";
    }
  };
  while (Clock::now() < until) {
    try {
      Store db = Store::open(path, options);
      ++counts.opens;
      for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 200; ++i) {
          const std::string key = "k" + std::to_string(rng() % 400);
          if (const auto value = db.get(key)) check(key, *value);
        }
        if (rng() % 3 == 0) {
          db.for_each(check);
          ++counts.iterations;
        }
        db.refresh();
        ++counts.refreshes;
      }
      db.close();
    } catch (const std::exception& e) {
      ++counts.failures;
      std::cerr << "reader " << seed << ": " << e.what() << "\n";
    }
  }
  const bool sent = ::write(fd, &counts, sizeof counts) == sizeof counts;
  ::_exit(counts.failures == 0 && sent ? 0 : 3);
}

template <class Backend>
void readers_beside_writer() {
  const char* text = std::getenv("PYK_READER_SECONDS");
  const int seconds = text && *text ? std::atoi(text) : 2;
  constexpr int kReaders = 3;
  TempDir dir;
  Store::open(dir.str(), store_options(Backend::name)).close();  // readers find a store
  const auto until = Clock::now() + std::chrono::seconds(seconds);

  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  std::vector<pid_t> children;
  const pid_t writer = ::fork();
  BOOST_TEST_REQUIRE(writer >= 0);
  if (writer == 0) run_writer(dir.str(), Backend::name, until);
  children.push_back(writer);
  for (int r = 0; r < kReaders; ++r) {
    const pid_t reader = ::fork();
    BOOST_TEST_REQUIRE(reader >= 0);
    if (reader == 0) run_reader(dir.str(), Backend::name, until, r + 1, fds[1]);
    children.push_back(reader);
  }
  ::close(fds[1]);

  for (std::size_t i = 0; i < children.size(); ++i) {
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(children[i], &status, 0) == children[i]);
    const std::string who = i == 0 ? "writer" : "reader " + std::to_string(i);
    BOOST_TEST(!WIFSIGNALED(status), who << " killed by signal " << WTERMSIG(status));
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), who << " failed, status " << status);
  }
  ReaderCounts total, one;
  int reported = 0;
  while (::read(fds[0], &one, sizeof one) == sizeof one) {
    ++reported;
    total.opens += one.opens;
    total.reads += one.reads;
    total.iterations += one.iterations;
    total.refreshes += one.refreshes;
    total.failures += one.failures;
  }
  ::close(fds[0]);
  BOOST_TEST(reported == kReaders);
  BOOST_TEST(total.failures == 0u);
  BOOST_TEST(total.opens > 0u);
  std::cout << "readers (" << Backend::name << "): " << seconds << " s, " << kReaders
            << " readers: " << total.opens << " read-only opens, " << total.reads
            << " values read, " << total.iterations << " iterations, " << total.refreshes
            << " refreshes, " << total.failures << " failures\n";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(readers)

BOOST_AUTO_TEST_CASE(read_only_stores_beside_a_merging_writer_file) {
  readers_beside_writer<FileBackend>();
}
BOOST_AUTO_TEST_CASE(read_only_stores_beside_a_merging_writer_mmap) {
  readers_beside_writer<MmapBackend>();
}

BOOST_AUTO_TEST_SUITE_END()
