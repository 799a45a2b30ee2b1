// backends/io_ring: batched reads through io_uring, checked against pread,
// with its errors, and its fallback (PYK_IO_URING=0). Where this kernel or
// sandbox refuses io_uring, the cases that need a ring say so and pass.
#include "backends/io_ring.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "backends/posix_io.h"
#include "core/error.h"
#include "tests/temp_dir.h"

using namespace pyk;

namespace {

struct TestFile {
  test::TempDir dir;
  std::string path = (dir.path() / "data").string();
  std::string bytes;
  posix::Fd fd;
  explicit TestFile(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>('a' + (i * 31 + i / 251) % 26));
    std::ofstream(path, std::ios::binary) << bytes;
    fd = posix::Fd(::open(path.c_str(), O_RDONLY));
    BOOST_TEST_REQUIRE(fd.get() >= 0);
  }
};

bool have_ring() {
  if (io_ring::available()) return true;
  BOOST_TEST_MESSAGE("io_uring is not available here: nothing to check");
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_uring_reads)

// More reads than the ring's 32 entries, of every size up to 5000 bytes.
BOOST_AUTO_TEST_CASE(a_batch_reads_what_pread_reads) {
  if (!have_ring()) return;
  TestFile file(1 << 20);
  std::vector<std::string> outs;
  std::vector<SegmentRead> reads;
  for (std::uint64_t i = 0; i < 100; ++i) outs.emplace_back(i * 50, '\0');
  for (std::uint64_t i = 0; i < 100; ++i)
    reads.push_back({(i * 104729) % ((1 << 20) - 5000), std::as_writable_bytes(std::span(outs[i]))});
  BOOST_TEST(io_ring::read_batch(file.fd.get(), reads, file.path));
  for (std::size_t i = 0; i < reads.size(); ++i)
    BOOST_TEST(outs[i] == file.bytes.substr(reads[i].offset, outs[i].size()), "read " << i);
}

BOOST_AUTO_TEST_CASE(a_read_past_the_end_of_the_file_is_corruption) {
  if (!have_ring()) return;
  TestFile file(4096);
  std::string first(100, '\0'), last(100, '\0');
  const std::vector<SegmentRead> reads = {{0, std::as_writable_bytes(std::span(first))},
                                          {4050, std::as_writable_bytes(std::span(last))}};
  BOOST_CHECK_THROW(io_ring::read_batch(file.fd.get(), reads, file.path), CorruptionError);
  BOOST_TEST(first == file.bytes.substr(0, 100));  // the other read completed
}

BOOST_AUTO_TEST_CASE(a_failed_read_is_an_io_error_naming_the_file) {
  if (!have_ring()) return;
  std::string out(10, '\0');
  const std::vector<SegmentRead> reads = {{0, std::as_writable_bytes(std::span(out))}};
  try {
    io_ring::read_batch(-1, reads, "/no/such/segment");
    BOOST_ERROR("no error");
  } catch (const IoError& e) {
    BOOST_TEST(e.error_code() == EBADF);
    BOOST_TEST(std::string(e.what()).find("/no/such/segment") != std::string::npos, e.what());
  }
}

// A thread that sets up its ring with PYK_IO_URING=0 has none: read_batch
// declines and reads nothing (the file backend then reads one at a time).
BOOST_AUTO_TEST_CASE(PYK_IO_URING_0_turns_it_off_for_the_threads_that_start_after) {
  TestFile file(4096);
  ::setenv("PYK_IO_URING", "0", 1);
  bool available = true, batched = true;
  std::string out(10, '\0');
  std::thread([&] {
    available = io_ring::available();
    const std::vector<SegmentRead> reads = {{0, std::as_writable_bytes(std::span(out))}};
    batched = io_ring::read_batch(file.fd.get(), reads, file.path);
  }).join();
  ::unsetenv("PYK_IO_URING");
  BOOST_TEST(!available);
  BOOST_TEST(!batched);
  BOOST_TEST(out == std::string(10, '\0'));
}

BOOST_AUTO_TEST_SUITE_END()

// A forked child must not submit to the ring it inherited (its mappings are
// shared with the parent's): it sets up its own, and both read right while
// they read at the same time. Forks, so it is left out of ThreadSanitizer's
// run (the Jamfile's tsan-skip).
BOOST_AUTO_TEST_SUITE(io_uring_after_fork)

BOOST_AUTO_TEST_CASE(parent_and_child_each_read_through_their_own_ring) {
  if (!have_ring()) return;  // also sets up this thread's ring before the fork
  TestFile file(1 << 16);
  const auto batch_reads_right = [&](std::uint64_t seed) {
    std::vector<std::string> outs(40, std::string(100, '\0'));
    std::vector<SegmentRead> reads;
    for (std::uint64_t i = 0; i < outs.size(); ++i)
      reads.push_back({(seed + i * 7877) % ((1 << 16) - 100), std::as_writable_bytes(std::span(outs[i]))});
    if (!io_ring::read_batch(file.fd.get(), reads, file.path)) return false;
    for (std::size_t i = 0; i < reads.size(); ++i)
      if (outs[i] != file.bytes.substr(reads[i].offset, 100)) return false;
    return true;
  };
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    bool ok = true;
    for (std::uint64_t round = 0; round < 2000 && ok; ++round) ok = batch_reads_right(round);
    ::_exit(ok ? 0 : 1);
  }
  bool ok = true;
  for (std::uint64_t round = 0; round < 2000 && ok; ++round) ok = batch_reads_right(round * 3 + 1);
  int status = 0;
  BOOST_TEST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(ok, "the parent's reads");
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the child's reads, status " << status);
}

BOOST_AUTO_TEST_SUITE_END()
