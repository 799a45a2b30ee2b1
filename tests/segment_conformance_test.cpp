// One conformance suite for every storage backend ("file", "mmap", "memory",
// and the fault-injection wrapper with no fault armed, which shows that
// SegmentWrapper and DirectoryWrapper forward everything): the Segment and
// Directory contracts of core/segment.h and core/directory.h, plus a few
// backend-specific cases (memory power cut, write failures).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/mpl/list.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backends/append_buffer.h"
#include "backends/file_segment.h"
#include "backends/memory_directory.h"
#include "backends/posix_io.h"
#include "core/directory.h"
#include "core/error.h"
#include "tests/fault_injection.h"
#include "tests/temp_dir.h"

namespace pyk::test {
namespace {

constexpr std::size_t kBuf = FileSegment::kBufferSize;

// The byte every test stores at absolute offset p, so any misplaced,
// duplicated or lost byte shows up wherever it lands.
std::byte pattern_byte(std::uint64_t p) {
  return static_cast<std::byte>((p ^ (p >> 8) ^ (p >> 16) * 7 ^ (p >> 24) * 13) & 0xff);
}

std::vector<std::byte> pattern(std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = pattern_byte(offset + i);
  return bytes;
}

// Appends the pattern bytes for [size(), size() + n).
std::uint64_t append_pattern(Segment& segment, std::size_t n) {
  return segment.append(pattern(segment.size(), n));
}

// Index of the first byte that differs from the pattern, or -1.
std::int64_t first_mismatch(std::span<const std::byte> bytes, std::uint64_t offset) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != pattern_byte(offset + i)) return static_cast<std::int64_t>(i);
  }
  return -1;
}

void check_pattern(const Segment& segment, std::uint64_t offset, std::size_t n) {
  std::vector<std::byte> out(n);
  segment.read_into(offset, out);
  BOOST_CHECK_MESSAGE(first_mismatch(out, offset) == -1,
                      segment.describe() << ": wrong byte at " << offset + first_mismatch(out, offset)
                                         << " reading [" << offset << ", +" << n << ")");
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s)); }

std::string read_string(const Segment& segment, std::uint64_t offset, std::size_t n) {
  std::string s(n, '\0');
  segment.read_into(offset, std::as_writable_bytes(std::span(s)));
  return s;
}

// Runs `f`, which must throw IoError with errno `code`.
void check_io_error(const std::function<void()>& f, int code) {
  try {
    f();
    BOOST_ERROR("expected IoError " << code);
  } catch (const IoError& e) {
    BOOST_CHECK_EQUAL(e.error_code(), code);
    BOOST_CHECK(!e.path().empty());
  }
}

// A fresh store directory per test, one type per backend.
struct FileSegments {
  static constexpr const char* backend = "file";
  static constexpr bool zero_copy = false;
  static constexpr bool on_disk = true;
  TempDir tmp;
  std::shared_ptr<Directory> dir = open_directory(backend, tmp.str(), false);
  // A second Directory object on the same store.
  std::shared_ptr<Directory> again() const { return open_directory(backend, tmp.str(), false); }
  std::string path_of(const std::string& name) const { return (tmp.path() / name).string(); }
};

struct MmapSegments {
  static constexpr const char* backend = "mmap";
  static constexpr bool zero_copy = true;
  static constexpr bool on_disk = true;
  TempDir tmp;
  std::shared_ptr<Directory> dir = open_directory(backend, tmp.str(), false);
  std::shared_ptr<Directory> again() const { return open_directory(backend, tmp.str(), false); }
  std::string path_of(const std::string& name) const { return (tmp.path() / name).string(); }
};

struct MemorySegments {
  static constexpr const char* backend = "memory";
  static constexpr bool zero_copy = true;
  static constexpr bool on_disk = false;
  std::shared_ptr<MemoryDirectory> memory = std::make_shared<MemoryDirectory>("conformance");
  std::shared_ptr<Directory> dir = memory;
  std::shared_ptr<Directory> again() const { return dir; }
  std::string path_of(const std::string&) const { return {}; }
};

struct FaultInjectionSegments {
  static constexpr const char* backend = "memory";
  static constexpr bool zero_copy = true;
  static constexpr bool on_disk = false;
  std::shared_ptr<FaultInjectionDirectory> faulty =
      std::make_shared<FaultInjectionDirectory>(std::make_shared<MemoryDirectory>("conformance"));
  std::shared_ptr<Directory> dir = faulty;
  std::shared_ptr<Directory> again() const { return dir; }
  std::string path_of(const std::string&) const { return {}; }
  ~FaultInjectionSegments() { BOOST_CHECK_EQUAL(faulty->faults().injected(), 0u); }
};

using Backends =
    boost::mpl::list<FileSegments, MmapSegments, MemorySegments, FaultInjectionSegments>;
using DiskBackends = boost::mpl::list<FileSegments, MmapSegments>;

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(segment_conformance)

BOOST_AUTO_TEST_CASE_TEMPLATE(empty_segment_has_size_zero_and_no_bytes, B, Backends) {
  B b;
  auto segment = b.dir->create("empty", 0);
  BOOST_CHECK_EQUAL(segment->size(), 0u);
  BOOST_CHECK(!segment->sealed());
  BOOST_CHECK_EQUAL(segment->name(), "empty");
  BOOST_CHECK(segment->describe().find("empty") != std::string::npos);
  BOOST_CHECK(segment->read(0, 0, {}).empty());  // an empty read at the end is in range
  BOOST_CHECK(segment->pin(0, 0).bytes.empty());
  std::byte one[1];
  BOOST_CHECK_THROW(segment->read(0, 1, one), InvalidArgument);
  BOOST_CHECK_THROW(segment->pin(0, 1), InvalidArgument);
  segment->sync();
  segment.reset();
  auto reopened = b.dir->open("empty", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), 0u);
  BOOST_CHECK(reopened->read(0, 0, {}).empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(append_returns_consecutive_offsets, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 0);
  std::uint64_t expected = 0;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{0},
                        std::size_t{100}, std::size_t{4096}, kBuf, std::size_t{3}}) {
    BOOST_CHECK_EQUAL(append_pattern(*segment, n), expected);
    expected += n;
    BOOST_CHECK_EQUAL(segment->size(), expected);
  }
  check_pattern(*segment, 0, static_cast<std::size_t>(expected));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(round_trip_at_write_buffer_boundaries, B, Backends) {
  B b;
  const std::vector<std::size_t> sizes = {0, 1, kBuf - 1, kBuf, kBuf + 1, 2 * kBuf + 3};
  // Each size alone, and after one byte so the append crosses the buffer's end.
  for (std::size_t lead : {std::size_t{0}, std::size_t{1}, kBuf - 2}) {
    for (std::size_t n : sizes) {
      const std::string name = "seg-" + std::to_string(lead) + "-" + std::to_string(n);
      auto segment = b.dir->create(name, 4096);
      append_pattern(*segment, lead);
      BOOST_CHECK_EQUAL(append_pattern(*segment, n), lead);
      BOOST_CHECK_EQUAL(segment->size(), lead + n);
      check_pattern(*segment, 0, lead + n);
      if (n > 2) check_pattern(*segment, lead + 1, n - 2);  // a read inside the append
      segment->sync();
      check_pattern(*segment, 0, lead + n);
    }
  }
  // All sizes back to back in one segment.
  auto segment = b.dir->create("all", 0);
  std::uint64_t offset = 0;
  for (std::size_t n : sizes) {
    BOOST_CHECK_EQUAL(append_pattern(*segment, n), offset);
    offset += n;
  }
  check_pattern(*segment, 0, static_cast<std::size_t>(offset));
  segment->sync();
  segment.reset();
  check_pattern(*b.dir->open("all", OpenMode::read_only), 0, static_cast<std::size_t>(offset));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reads_see_appends_before_sync, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 0);
  segment->append(bytes_of("hello"));
  BOOST_CHECK_EQUAL(read_string(*segment, 0, 5), "hello");
  segment->append(bytes_of(" world"));
  BOOST_CHECK_EQUAL(read_string(*segment, 0, 11), "hello world");
  BOOST_CHECK_EQUAL(read_string(*segment, 4, 3), "o w");
  append_pattern(*segment, 3 * kBuf);  // part flushed, part still buffered
  append_pattern(*segment, 10);
  check_pattern(*segment, 11, 3 * kBuf + 10);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reads_past_the_end_throw_invalid_argument, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 0);
  append_pattern(*segment, 10);
  std::vector<std::byte> out(6);
  BOOST_CHECK_THROW(segment->read(5, 6, out), InvalidArgument);
  BOOST_CHECK_THROW(segment->read(11, 0, out), InvalidArgument);
  BOOST_CHECK_THROW(segment->read(~std::uint64_t{0}, 1, out), InvalidArgument);
  BOOST_CHECK_THROW(segment->read(~std::uint64_t{0} - 1, 4, out), InvalidArgument);
  BOOST_CHECK_THROW(segment->read_into(5, out), InvalidArgument);
  BOOST_CHECK_THROW(segment->pin(8, 3), InvalidArgument);
  BOOST_CHECK_THROW(segment->pin(~std::uint64_t{0} - 1, 4), InvalidArgument);
  BOOST_CHECK(segment->read(10, 0, out).empty());
  BOOST_CHECK_EQUAL(first_mismatch(segment->read(4, 6, out), 4), -1);  // exactly up to the end
  segment->read_into(4, out);
  BOOST_CHECK_EQUAL(first_mismatch(out, 4), -1);
}

// read_many fills every range as read_into would: ranges all in the file
// (the file backend's io_uring batch, more of them than its ring holds),
// ranges reaching into bytes still buffered, empty ones, and past the end.
BOOST_AUTO_TEST_CASE_TEMPLATE(read_many_reads_each_range_as_read_into_does, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 0);
  append_pattern(*segment, 5 * kBuf + 17);
  segment->sync();
  const auto check = [&](const std::vector<std::pair<std::uint64_t, std::size_t>>& ranges) {
    std::vector<std::vector<std::byte>> outs;
    std::vector<SegmentRead> reads;
    for (const auto& [offset, n] : ranges) outs.emplace_back(n, std::byte{0xEE});
    for (std::size_t i = 0; i < ranges.size(); ++i) reads.push_back({ranges[i].first, outs[i]});
    segment->read_many(reads);
    for (std::size_t i = 0; i < ranges.size(); ++i)
      BOOST_TEST(first_mismatch(outs[i], ranges[i].first) == -1,
                 "range " << i << " [" << ranges[i].first << ", +" << ranges[i].second << ")");
  };
  std::vector<std::pair<std::uint64_t, std::size_t>> in_file;
  for (std::uint64_t i = 0; i < 70; ++i) in_file.emplace_back((i * 7919) % (5 * kBuf), 1 + i % 300);
  in_file.emplace_back(0, 0);
  in_file.emplace_back(5 * kBuf, 17);  // exactly up to the end
  check(in_file);
  append_pattern(*segment, 100);  // buffered on file
  check({{10, 20}, {5 * kBuf + 10, 100}, {3, 4}});
  std::byte one[1];
  std::vector<SegmentRead> past_the_end = {{0, one}, {segment->size(), one}};
  BOOST_CHECK_THROW(segment->read_many(past_the_end), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(synced_data_survives_reopen, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("seg", 0);
    for (int i = 0; i < 30; ++i) append_pattern(*segment, 10'000);
    segment->sync();
  }
  {
    auto segment = b.dir->open("seg", OpenMode::read_only);
    BOOST_CHECK_EQUAL(segment->size(), 300'000u);
    check_pattern(*segment, 0, 300'000);
  }
  {
    auto segment = b.dir->open("seg", OpenMode::append);
    BOOST_CHECK(!segment->sealed());
    BOOST_CHECK_EQUAL(append_pattern(*segment, 5000), 300'000u);
    segment->sync();
  }
  auto segment = b.dir->open("seg", OpenMode::read_only);
  BOOST_CHECK_EQUAL(segment->size(), 305'000u);
  check_pattern(*segment, 0, 305'000);
}

// A file replaced by a rename while it is being opened (the manifest, a
// hint, KEYDIR, as a reader opens them beside a writer) is one file or the
// other, whole: its size and its bytes never come from two files. (The mmap
// backend opened the path a second time for its mapping: size from the old
// file, bytes from the new, which a reader beside a merging writer saw as a
// damaged manifest.)
BOOST_AUTO_TEST_CASE_TEMPLATE(an_open_racing_a_rename_over_its_name_sees_one_whole_file, B, Backends) {
  B b;
  const auto write = [&](const std::string& name, char c, std::size_t n) {
    auto file = b.dir->create(name, n);
    const std::string bytes(n, c);
    file->append(std::as_bytes(std::span(bytes)));
    file->seal();
  };
  write("x", 'a', 100);
  std::atomic<bool> done{false};
  std::thread replacer([&] {
    for (int i = 0; !done.load(); ++i) {
      const bool small = i % 2 == 0;
      write("x.tmp", small ? 'a' : 'b', small ? 100 : 3000);
      b.dir->rename("x.tmp", "x");
    }
  });
  std::string failure;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
  for (int opens = 0; failure.empty() && std::chrono::steady_clock::now() < deadline; ++opens) {
    const auto file = b.dir->open("x", OpenMode::read_only);
    const std::size_t n = static_cast<std::size_t>(file->size());
    std::string bytes(n, '\0');
    file->read_into(0, std::as_writable_bytes(std::span(bytes)));
    const std::string whole = n == 100 ? std::string(100, 'a') : std::string(3000, 'b');
    if ((n != 100 && n != 3000) || bytes != whole)
      failure = "open " + std::to_string(opens) + ": " + std::to_string(n) + " bytes, starting '" +
                bytes.substr(0, 1) + "', ending '" + bytes.substr(n - 1) + "'";
  }
  done = true;
  replacer.join();
  BOOST_TEST(failure.empty(), failure);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(truncate_then_append_overwrites_the_tail, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 4096);
  append_pattern(*segment, 1000);
  segment->sync();
  append_pattern(*segment, 500);
  segment->truncate(1200);  // inside what is still buffered for "file"
  BOOST_CHECK_EQUAL(segment->size(), 1200u);
  BOOST_CHECK_EQUAL(segment->append(bytes_of("xyz")), 1200u);
  check_pattern(*segment, 0, 1200);
  BOOST_CHECK_EQUAL(read_string(*segment, 1200, 3), "xyz");
  BOOST_CHECK_THROW(segment->truncate(1204), InvalidArgument);

  append_pattern(*segment, 3 * kBuf);
  segment->sync();
  segment->truncate(100);  // far below what reached the file
  BOOST_CHECK_EQUAL(segment->size(), 100u);
  std::byte one[1];
  BOOST_CHECK_THROW(segment->read(100, 1, one), InvalidArgument);
  append_pattern(*segment, 10);
  segment->sync();
  segment.reset();
  auto reopened = b.dir->open("seg", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), 110u);
  check_pattern(*reopened, 0, 110);
  if constexpr (B::on_disk) BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("seg")), 110u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(seal_stops_appends_and_is_idempotent, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 1 << 20);
  append_pattern(*segment, 777);
  segment->seal();
  BOOST_CHECK(segment->sealed());
  BOOST_CHECK_THROW(segment->append(bytes_of("x")), InvalidArgument);
  BOOST_CHECK_THROW(segment->truncate(10), InvalidArgument);
  segment->seal();
  segment->sync();
  BOOST_CHECK(segment->sealed());
  BOOST_CHECK_EQUAL(segment->size(), 777u);
  check_pattern(*segment, 0, 777);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(seal_unsynced_stops_appends_and_a_later_sync_still_syncs, B,
                              Backends) {
  B b;
  auto segment = b.dir->create("seg", 1 << 20);
  append_pattern(*segment, 5000);
  static std::atomic<std::uint64_t> synced_bytes;
  synced_bytes = 0;
  posix::set_sync_observer([](const std::string&, std::uint64_t n) { synced_bytes = n; });
  segment->seal_unsynced();
  BOOST_CHECK(segment->sealed());
  BOOST_CHECK_EQUAL(synced_bytes.load(), 0u);  // no fsync on the caller's path
  if constexpr (std::is_same_v<B, FaultInjectionSegments>)
    BOOST_CHECK_EQUAL(b.faulty->synced_size("seg"), 0u);  // a power cut would take it all
  BOOST_CHECK_THROW(segment->append(bytes_of("x")), InvalidArgument);
  BOOST_CHECK_THROW(segment->truncate(10), InvalidArgument);
  segment->seal_unsynced();
  segment->seal();  // already sealed: a no-op
  check_pattern(*segment, 0, 5000);
  segment->sync();  // where the sealed bytes become durable
  posix::set_sync_observer(nullptr);
  if constexpr (B::on_disk) BOOST_CHECK_EQUAL(synced_bytes.load(), 5000u);
  if constexpr (B::on_disk) BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("seg")), 5000u);
  if constexpr (std::is_same_v<B, FaultInjectionSegments>)
    BOOST_CHECK_EQUAL(b.faulty->synced_size("seg"), 5000u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reopen_after_seal_has_exact_logical_length, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("sealed", 1 << 20);  // mmap preallocates past 12345
    append_pattern(*segment, 12345);
    segment->seal();
    if constexpr (B::on_disk) {
      BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("sealed")), 12345u);
    }
  }
  {
    auto segment = b.dir->create("closed", 1 << 20);
    append_pattern(*segment, 777);
  }  // closed without seal or sync: the destructor cuts the file too
  if constexpr (B::on_disk) {
    BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("sealed")), 12345u);
    BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("closed")), 777u);
  }
  auto segment = b.dir->open("sealed", OpenMode::read_only);
  BOOST_CHECK_EQUAL(segment->size(), 12345u);
  check_pattern(*segment, 0, 12345);
  BOOST_CHECK_EQUAL(b.dir->open("closed", OpenMode::read_only)->size(), 777u);
}

// A segment synced again and again (SyncPolicy::always) gets zeros ahead of
// its data, so that its fdatasyncs do not grow the file; size() is the data
// until the seal, then the file's size, which is what a reopen sees, and
// the zeros read as the end of data.
BOOST_AUTO_TEST_CASE_TEMPLATE(repeated_syncs_write_zeros_ahead_that_the_seal_keeps, B, DiskBackends) {
  B b;
  constexpr std::uint64_t kHint = 8u << 20;
  std::uint64_t written = 100;
  {
    auto segment = b.dir->create("synced", kHint);
    append_pattern(*segment, 100);
    segment->sync();  // the first sync (a new segment's header): no zeros yet
    BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("synced")), 100u);
    for (int i = 0; i < 50; ++i) {
      append_pattern(*segment, 150);
      written += 150;
      segment->sync();
      BOOST_CHECK_EQUAL(segment->size(), written);
    }
    const std::uint64_t on_disk = std::filesystem::file_size(b.path_of("synced"));
    BOOST_CHECK_GE(on_disk, written + AppendBuffer::kZeroChunk / 2);
    BOOST_CHECK_LE(on_disk, written + AppendBuffer::kZeroChunk);
    // The zeros do not block reads or appends, and the data stays whole.
    std::vector<std::byte> scratch(static_cast<std::size_t>(on_disk - written));
    BOOST_CHECK_THROW(segment->read(written, scratch.size(), scratch), InvalidArgument);
    segment->seal();
    BOOST_CHECK_EQUAL(segment->size(), on_disk);
    const auto tail = segment->read(written, scratch.size(), scratch);
    BOOST_CHECK(std::all_of(tail.begin(), tail.end(), [](std::byte x) { return x == std::byte{0}; }));
  }
  auto reopened = b.dir->open("synced", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), std::filesystem::file_size(b.path_of("synced")));
  check_pattern(*reopened, 0, written);
  // Never past the size hint: a small segment gets no zeros.
  auto small = b.dir->create("small", 64 * 1024);
  for (int i = 0; i < 10; ++i) {
    append_pattern(*small, 150);
    small->sync();
  }
  BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("small")), 1500u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_segment_rejects_writes, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("seg", 0);
    append_pattern(*segment, 100);
    segment->sync();
  }
  auto segment = b.dir->open("seg", OpenMode::read_only);
  BOOST_CHECK(segment->sealed());
  BOOST_CHECK_THROW(segment->append(bytes_of("x")), InvalidArgument);
  BOOST_CHECK_THROW(segment->truncate(10), InvalidArgument);
  segment->sync();
  segment->seal();
  BOOST_CHECK_EQUAL(segment->size(), 100u);
  check_pattern(*segment, 0, 100);
}

// A read-only store maps or reads a segment its writer is still appending to
// (even in another process). Bytes past what was written must not count:
// preallocated space that the writer later trims would take its pages away.
BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_open_beside_a_writer_sees_written_bytes_only, B, Backends) {
  B b;
  auto writer = b.dir->create("seg", 1 << 20);
  append_pattern(*writer, 1000);
  writer->sync();
  auto reader = b.again()->open("seg", OpenMode::read_only);
  if constexpr (B::on_disk) BOOST_CHECK_EQUAL(reader->size(), 1000u);
  append_pattern(*writer, 500);
  writer->seal();
  check_pattern(*reader, 0, 1000);
  std::vector<std::byte> last(1);
  BOOST_CHECK_NO_THROW(reader->read_into(reader->size() - 1, last));
  BOOST_CHECK_EQUAL(b.again()->open("seg", OpenMode::read_only)->size(), 1500u);
  if constexpr (B::on_disk) {
    BOOST_CHECK_EQUAL(std::filesystem::file_size(b.path_of("seg")), 1500u);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(large_appends_of_several_mib_round_trip, B, Backends) {
  B b;
  auto segment = b.dir->create("big", 0);
  BOOST_CHECK_EQUAL(append_pattern(*segment, 3 << 20), 0u);
  BOOST_CHECK_EQUAL(append_pattern(*segment, (5 << 20) + 7), std::uint64_t{3} << 20);
  const std::size_t total = (8 << 20) + 7;
  check_pattern(*segment, 0, total);
  segment->sync();
  segment.reset();
  auto reopened = b.dir->open("big", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), total);
  check_pattern(*reopened, 0, total);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(growth_past_a_small_size_hint_keeps_data, B, Backends) {
  B b;
  auto segment = b.dir->create("grow", 4096);  // mmap has to remap many times
  std::size_t total = 0;
  for (std::size_t n = 1; total < 600'000; n = n * 3 % 9973 + 500) {
    BOOST_CHECK_EQUAL(append_pattern(*segment, n), total);
    total += n;
    check_pattern(*segment, total - n, n);
  }
  check_pattern(*segment, 0, total);
  segment->seal();
  segment.reset();
  auto reopened = b.dir->open("grow", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), total);
  check_pattern(*reopened, 0, total);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(zero_copy_backends_return_views_others_fill_scratch, B, Backends) {
  B b;
  auto segment = b.dir->create("view", 4096);
  // A zero-copy backend that silently starts copying would still pass every
  // other test; this one pins down which backends hand out their own memory.
  BOOST_CHECK_EQUAL(segment->zero_copy(), B::zero_copy);
  append_pattern(*segment, 3000);
  segment->sync();  // out of the mmap backend's write buffer, into the file
  std::vector<std::byte> scratch(2000, std::byte{0xAA});
  const auto view = segment->read(100, 2000, scratch);
  BOOST_REQUIRE_EQUAL(view.size(), 2000u);
  BOOST_CHECK_EQUAL(first_mismatch(view, 100), -1);
  if constexpr (B::zero_copy) {
    BOOST_CHECK(view.data() != scratch.data());
    BOOST_CHECK(scratch[0] == std::byte{0xAA});  // untouched
  } else {
    BOOST_CHECK(view.data() == scratch.data());
  }
  // Bytes appended since, still in a write buffer, read back all the same,
  // also in a range that starts in the file.
  append_pattern(*segment, 1000);
  std::vector<std::byte> across(1500);
  BOOST_CHECK_EQUAL(first_mismatch(segment->read(2500, 1500, across), 2500), -1);
  BOOST_CHECK_EQUAL(first_mismatch(segment->pin(2900, 200).bytes, 2900), -1);
  // A scratch may be larger than n; only its first n bytes are used.
  std::vector<std::byte> big(5000);
  BOOST_CHECK_EQUAL(first_mismatch(segment->read(7, 10, big), 7), -1);
  BOOST_CHECK_EQUAL(segment->read(7, 10, big).size(), 10u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(views_survive_growth_and_seal_while_the_segment_lives, B, Backends) {
  B b;
  auto segment = b.dir->create("view", 4096);
  append_pattern(*segment, 3000);
  std::vector<std::byte> scratch(2000);
  const auto view = segment->read(100, 2000, scratch);
  append_pattern(*segment, 3 << 20);  // forces remaps / new chunks: old memory must stay
  BOOST_CHECK_EQUAL(first_mismatch(view, 100), -1);
  std::vector<std::byte> wide_scratch(200'000);
  const auto wide = segment->read(60'000, 200'000, wide_scratch);  // across chunks and remaps
  BOOST_REQUIRE_EQUAL(wide.size(), 200'000u);
  BOOST_CHECK_EQUAL(first_mismatch(wide, 60'000), -1);
  segment->seal();
  BOOST_CHECK_EQUAL(first_mismatch(view, 100), -1);
  BOOST_CHECK_EQUAL(first_mismatch(wide, 60'000), -1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(truncate_keeps_views_below_the_cut_valid, B, Backends) {
  B b;
  auto segment = b.dir->create("seg", 4096);
  append_pattern(*segment, 3000);
  std::vector<std::byte> scratch(1000);
  const auto view = segment->read(100, 1000, scratch);
  segment->truncate(1500);  // above the view: a torn tail cut while readers run
  segment->append(std::vector<std::byte>(5000, std::byte{0xEE}));  // over the cut bytes
  BOOST_CHECK_EQUAL(first_mismatch(view, 100), -1);
  check_pattern(*segment, 0, 1500);
  BOOST_CHECK_EQUAL(read_string(*segment, 1500, 1), "\xEE");

  const PinnedBytes pinned = segment->pin(200, 800);  // the same for a pinned view
  segment->truncate(1200);
  segment->append(std::vector<std::byte>(5000, std::byte{0xDD}));
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 200), -1);
  BOOST_CHECK_EQUAL(first_mismatch(view, 100), -1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pinned_range_stays_valid_after_growth_and_destruction, B, Backends) {
  B b;
  auto segment = b.dir->create("pin", 4096);
  append_pattern(*segment, 3000);
  PinnedBytes pinned = segment->pin(100, 2000);  // always succeeds: a copy where no zero-copy
  BOOST_REQUIRE_EQUAL(pinned.bytes.size(), 2000u);
  BOOST_CHECK(pinned.keep_alive);
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 100), -1);

  append_pattern(*segment, 3 << 20);  // forces remaps / new chunks
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 100), -1);
  // A range across memory chunks and mmap growth steps.
  PinnedBytes wide = segment->pin(60'000, 200'000);
  BOOST_REQUIRE_EQUAL(wide.bytes.size(), 200'000u);
  BOOST_CHECK(wide.keep_alive);
  BOOST_CHECK_EQUAL(first_mismatch(wide.bytes, 60'000), -1);

  segment->seal();
  b.dir->remove("pin");
  segment.reset();  // the views own what they point into
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 100), -1);
  BOOST_CHECK_EQUAL(first_mismatch(wide.bytes, 60'000), -1);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(concurrent_readers_see_every_appended_byte, B, Backends) {
  B b;
  auto segment = b.dir->create("shared", 4096);
  const std::uint64_t target = 6 << 20;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<long> reads{0};

  auto reader = [&](unsigned seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::byte> out;
    for (long i = 0; !done.load() || i < 50; ++i) {
      const std::uint64_t size = segment->size();
      if (size == 0) continue;
      const std::uint64_t offset = rng() % size;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size - offset, rng() % 70'000));
      out.resize(n);
      const auto bytes = segment->read(offset, n, out);
      if (bytes.size() != n || first_mismatch(bytes, offset) != -1) ++wrong;
      if (i % 4 == 0) {
        PinnedBytes pinned = segment->pin(offset, n);
        if (pinned.bytes.size() != n || first_mismatch(pinned.bytes, offset) != -1) ++wrong;
      }
      ++reads;
    }
  };
  // Group commit: sync() runs while the writer keeps appending.
  auto syncer = [&] {
    while (!done.load()) {
      segment->sync();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  };
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < 3; ++r) threads.emplace_back(reader, r + 1);
  threads.emplace_back(syncer);

  const std::size_t sizes[] = {1, 17, 4096, kBuf - 1, kBuf + 5, 100'000, 3};
  std::uint64_t expected = 0;
  bool offsets_ok = true;
  for (std::size_t i = 0; expected < target; ++i) {
    const std::size_t n = sizes[i % std::size(sizes)];
    offsets_ok &= append_pattern(*segment, n) == expected;
    expected += n;
  }
  done.store(true);
  for (auto& t : threads) t.join();

  BOOST_CHECK(offsets_ok);
  BOOST_CHECK_EQUAL(wrong.load(), 0);
  BOOST_CHECK_GT(reads.load(), 0);
  check_pattern(*segment, 0, static_cast<std::size_t>(expected));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(directory_lists_regular_files_by_name, B, Backends) {
  B b;
  BOOST_CHECK(b.dir->list().empty());
  b.dir->create("a", 0)->append(bytes_of("1"));
  b.dir->create("b.hint", 0);
  if constexpr (B::on_disk) std::filesystem::create_directory(b.tmp.path() / "subdir");
  BOOST_CHECK(sorted(b.dir->list()) == (std::vector<std::string>{"a", "b.hint"}));
  BOOST_CHECK(b.dir->exists("a"));
  BOOST_CHECK(!b.dir->exists("c"));
  BOOST_CHECK_EQUAL(b.dir->backend(), B::backend);
  BOOST_CHECK(!b.dir->describe().empty());
  BOOST_CHECK_THROW(b.dir->create("../escape", 0), InvalidArgument);
  BOOST_CHECK_THROW(b.dir->open("", OpenMode::read_only), InvalidArgument);
  b.dir->sync();
}

BOOST_AUTO_TEST_CASE_TEMPLATE(create_of_existing_file_fails_with_eexist, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("seg", 0);
    segment->append(bytes_of("keep"));
    segment->sync();
  }
  check_io_error([&] { b.dir->create("seg", 0); }, EEXIST);
  BOOST_CHECK_EQUAL(read_string(*b.dir->open("seg", OpenMode::read_only), 0, 4), "keep");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(open_of_missing_file_fails_with_enoent, B, Backends) {
  B b;
  check_io_error([&] { b.dir->open("missing", OpenMode::read_only); }, ENOENT);
  check_io_error([&] { b.dir->open("missing", OpenMode::append); }, ENOENT);
  BOOST_CHECK(!b.dir->exists("missing"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(remove_drops_the_name_but_open_segments_stay_readable, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("gone", 0);
    append_pattern(*segment, 5000);
    segment->sync();
  }
  auto open = b.dir->open("gone", OpenMode::read_only);
  std::vector<std::byte> scratch(5000);
  const auto view = open->read(0, 5000, scratch);
  const PinnedBytes pinned = open->pin(10, 4000);
  BOOST_CHECK(b.dir->remove("gone"));
  BOOST_CHECK_EQUAL(first_mismatch(view, 0), -1);
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 10), -1);
  BOOST_CHECK(!b.dir->exists("gone"));
  BOOST_CHECK(b.dir->list().empty());
  check_pattern(*open, 0, 5000);
  BOOST_CHECK(!b.dir->remove("gone"));  // not there: false, not an error
  BOOST_CHECK(!b.dir->remove("never"));
  BOOST_CHECK_THROW(b.dir->remove("../gone"), InvalidArgument);
  b.dir->create("gone", 0);  // the name is free again
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rename_replaces_the_target, B, Backends) {
  B b;
  {
    auto next = b.dir->create("next.tmp", 0);
    next->append(bytes_of("new"));
    next->sync();
    auto current = b.dir->create("current", 0);
    current->append(bytes_of("old contents"));
    current->sync();
  }
  b.dir->rename("next.tmp", "current");
  b.dir->sync();
  BOOST_CHECK(!b.dir->exists("next.tmp"));
  BOOST_CHECK(sorted(b.dir->list()) == std::vector<std::string>{"current"});
  auto current = b.dir->open("current", OpenMode::read_only);
  BOOST_CHECK_EQUAL(current->size(), 3u);
  BOOST_CHECK_EQUAL(read_string(*current, 0, 3), "new");
  check_io_error([&] { b.dir->rename("next.tmp", "other"); }, ENOENT);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(renamed_file_stays_readable_through_open_segments, B, Backends) {
  B b;
  {
    auto segment = b.dir->create("a.tmp", 0);
    append_pattern(*segment, 3000);
    segment->sync();
  }
  auto open = b.dir->open("a.tmp", OpenMode::read_only);
  b.dir->rename("a.tmp", "a");
  check_pattern(*open, 0, 3000);
  check_pattern(*b.dir->open("a", OpenMode::read_only), 0, 3000);
  check_io_error([&] { b.dir->open("a.tmp", OpenMode::read_only); }, ENOENT);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(every_call_rejects_a_name_that_is_not_one_component, B, Backends) {
  B b;
  b.dir->create("ok", 0)->sync();
  const std::vector<std::string> bad_names = {"", ".", "..", "a/b", "../ok", std::string("a\0b", 3)};
  for (const std::string& bad : bad_names) {
    BOOST_TEST_CONTEXT("name '" << bad << "'") {
      BOOST_CHECK_THROW(b.dir->exists(bad), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->create(bad, 0), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->open(bad, OpenMode::read_only), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->remove(bad), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->rename("ok", bad), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->rename(bad, "ok"), InvalidArgument);
      BOOST_CHECK_THROW(b.dir->lock(bad), InvalidArgument);
    }
  }
  BOOST_CHECK(sorted(b.dir->list()) == std::vector<std::string>{"ok"});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(remove_of_something_it_cannot_remove_throws, B, DiskBackends) {
  B b;
  std::filesystem::create_directory(b.tmp.path() / "subdir");
  BOOST_CHECK_THROW(b.dir->remove("subdir"), IoError);  // EISDIR: not "was not there"
  BOOST_CHECK(std::filesystem::is_directory(b.tmp.path() / "subdir"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(lock_outlives_its_directory_and_shows_in_list, B, Backends) {
  B b;
  std::unique_ptr<DirectoryLock> lock = b.again()->lock("LOCK");  // that Directory is gone
  BOOST_CHECK(sorted(b.dir->list()) == std::vector<std::string>{"LOCK"});
  BOOST_CHECK_THROW(b.dir->lock("LOCK"), LockError);
  lock.reset();
  BOOST_CHECK(b.dir->lock("LOCK"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(second_lock_in_one_process_fails_until_released, B, Backends) {
  B b;
  auto lock = b.dir->lock("LOCK");
  BOOST_CHECK(b.dir->exists("LOCK"));
  BOOST_CHECK_THROW(b.dir->lock("LOCK"), LockError);
  BOOST_CHECK_THROW(b.again()->lock("LOCK"), LockError);  // another Directory object
  try {
    b.dir->lock("LOCK");
  } catch (const LockError& e) {
    BOOST_CHECK(std::string(e.what()).find("holds the store") != std::string::npos);
    BOOST_CHECK(!e.path().empty());
  }
  auto other = b.dir->lock("OTHER");  // a different lock file is independent
  lock.reset();
  auto again = b.again()->lock("LOCK");
  BOOST_CHECK(again);
  BOOST_CHECK_THROW(b.dir->lock("LOCK"), LockError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backend_registry)

BOOST_AUTO_TEST_CASE(unknown_backend_is_invalid_argument_naming_the_valid_ones) {
  BOOST_CHECK(backend_names() == (std::vector<std::string>{"file", "mmap", "memory"}));
  TempDir tmp;
  try {
    open_directory("rocks", tmp.str(), true);
    BOOST_ERROR("expected InvalidArgument");
  } catch (const InvalidArgument& e) {
    const std::string message = e.what();
    for (const char* name : {"rocks", "\"file\"", "\"mmap\"", "\"memory\""}) {
      BOOST_CHECK_MESSAGE(message.find(name) != std::string::npos, message << " lacks " << name);
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_directory_without_create_fails_with_enoent) {
  TempDir tmp;
  const std::string missing = (tmp.path() / "no" / "store").string();
  for (const char* backend : {"file", "mmap", "memory"}) {
    try {
      open_directory(backend, missing, false);
      BOOST_ERROR(backend << ": expected IoError");
    } catch (const IoError& e) {
      BOOST_CHECK_EQUAL(e.error_code(), ENOENT);
      BOOST_CHECK_EQUAL(e.path(), missing);
    }
  }
  BOOST_CHECK(!std::filesystem::exists(tmp.path() / "no"));
}

BOOST_AUTO_TEST_CASE(path_that_is_a_file_fails_with_enotdir) {
  TempDir tmp;
  const std::string file = (tmp.path() / "plain").string();
  { std::ofstream(file) << "x"; }
  for (const char* backend : {"file", "mmap"}) {
    for (bool create : {false, true}) {
      check_io_error([&] { open_directory(backend, file, create); }, ENOTDIR);
    }
  }
}

BOOST_AUTO_TEST_CASE(create_makes_missing_parent_directories) {
  TempDir tmp;
  for (const char* backend : {"file", "mmap"}) {
    const std::filesystem::path path = tmp.path() / backend / "a" / "b";
    auto dir = open_directory(backend, path.string(), true);
    BOOST_CHECK(std::filesystem::is_directory(path));
    BOOST_CHECK_EQUAL(dir->backend(), backend);
    dir->create("seg", 0)->sync();
    BOOST_CHECK(std::filesystem::exists(path / "seg"));
  }
}

BOOST_AUTO_TEST_CASE(memory_backend_by_name_returns_the_same_directory) {
  TempDir tmp;  // only for a path string no other test uses
  const std::string path = tmp.str() + "/memory-store";
  auto first = open_directory("memory", path, true);
  auto second = open_directory("memory", path, false);
  BOOST_CHECK_EQUAL(first.get(), second.get());
  BOOST_CHECK_EQUAL(first->backend(), "memory");
  {
    auto segment = first->create("seg", 0);
    segment->append(bytes_of("shared"));
    segment->sync();
  }
  BOOST_CHECK_EQUAL(read_string(*second->open("seg", OpenMode::read_only), 0, 6), "shared");
  auto other = open_directory("memory", path + "-other", true);
  BOOST_CHECK(other.get() != first.get());
  BOOST_CHECK(!other->exists("seg"));
  BOOST_CHECK(!std::filesystem::exists(path));  // nothing on disk
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backend_specific)

// The fault-injection wrapper's power cut, over every backend: files go back
// to what sync() or seal() made durable (tests/crash_test.cpp has the rest).
BOOST_AUTO_TEST_CASE_TEMPLATE(power_cut_cuts_files_back_to_synced_length, B, Backends) {
  B b;
  FaultInjectionDirectory dir(b.dir);
  const std::size_t synced_c = MemoryFile::kChunkSize + 10;
  {
    auto a = dir.create("a", 0);
    append_pattern(*a, 100);
    a->sync();
    append_pattern(*a, 50);
    auto never_synced = dir.create("b", 0);
    append_pattern(*never_synced, 70);
    auto chunked = dir.create("c", 0);
    append_pattern(*chunked, synced_c);
    chunked->seal();  // seal syncs too
    auto sealed_then_more = dir.open("c", OpenMode::append);
    append_pattern(*sealed_then_more, MemoryFile::kChunkSize);
    BOOST_CHECK_EQUAL(dir.synced_size("a"), 100u);
    BOOST_CHECK_EQUAL(dir.synced_size("b"), 0u);
  }
  dir.sync();
  dir.power_cut({});
  BOOST_CHECK_EQUAL(dir.open("a", OpenMode::read_only)->size(), 100u);
  check_pattern(*dir.open("a", OpenMode::read_only), 0, 100);
  BOOST_CHECK(dir.exists("b"));
  BOOST_CHECK_EQUAL(dir.open("b", OpenMode::read_only)->size(), 0u);
  BOOST_CHECK_EQUAL(dir.open("c", OpenMode::read_only)->size(), synced_c);
  check_pattern(*dir.open("c", OpenMode::read_only), 0, synced_c);
  auto a = dir.open("a", OpenMode::append);
  BOOST_CHECK_EQUAL(append_pattern(*a, 30), 100u);  // writing resumes at the cut
  a.reset();
  dir.power_cut({});
  BOOST_CHECK_EQUAL(dir.open("a", OpenMode::read_only)->size(), 100u);
}

BOOST_AUTO_TEST_CASE(memory_pinned_view_survives_truncate_and_overwrite) {
  MemoryDirectory dir;
  auto segment = dir.create("seg", 0);
  append_pattern(*segment, 1000);
  PinnedBytes pinned = segment->pin(400, 500);
  BOOST_REQUIRE_EQUAL(pinned.bytes.size(), 500u);
  segment->truncate(450);
  segment->append(std::vector<std::byte>(600, std::byte{0xEE}));
  BOOST_CHECK_EQUAL(first_mismatch(pinned.bytes, 400), -1);
  BOOST_CHECK_EQUAL(read_string(*segment, 450, 1), "\xEE");
}

namespace {

// Lowers RLIMIT_FSIZE so writes past `limit` fail with EFBIG (short writes up
// to it), our stand-in for a full disk. Restores everything on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    BOOST_REQUIRE_EQUAL(::getrlimit(RLIMIT_FSIZE, &saved_), 0);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us
    set(limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }
  void set(rlim_t limit) {
    rlimit lowered = saved_;
    lowered.rlim_cur = limit;
    BOOST_REQUIRE_EQUAL(::setrlimit(RLIMIT_FSIZE, &lowered), 0);
  }
  void lift() { BOOST_REQUIRE_EQUAL(::setrlimit(RLIMIT_FSIZE, &saved_), 0); }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

}  // namespace

// Both disk backends write through an AppendBuffer.
BOOST_DATA_TEST_CASE(flush_failure_keeps_unwritten_bytes_and_retries,
                     boost::unit_test::data::make({"file", "mmap"}), backend) {
  TempDir tmp;
  auto dir = open_directory(backend, tmp.str(), false);
  auto segment = dir->create("seg", 0);
  const std::string path = (tmp.path() / "seg").string();
  append_pattern(*segment, 100'000);  // still in the write buffer
  {
    FileSizeLimit limit(50'000);
    check_io_error([&] { segment->sync(); }, EFBIG);  // a short write, then EFBIG
    BOOST_CHECK_EQUAL(segment->size(), 100'000u);
    check_pattern(*segment, 0, 100'000);  // half from the file, half from the buffer
    // Flushing to make room fails as well: all or nothing.
    check_io_error([&] { append_pattern(*segment, kBuf); }, EFBIG);
    BOOST_CHECK_EQUAL(segment->size(), 100'000u);

    limit.lift();
    segment->sync();  // the retry writes the rest
    BOOST_CHECK_EQUAL(std::filesystem::file_size(path), 100'000u);

    // An append too big for the buffer goes straight to the file; a short
    // write of it is taken back.
    limit.set(101'000);
    check_io_error([&] { append_pattern(*segment, 3 * kBuf); }, EFBIG);
    BOOST_CHECK_EQUAL(segment->size(), 100'000u);
    BOOST_CHECK_EQUAL(std::filesystem::file_size(path), 100'000u);
  }
  append_pattern(*segment, 3 * kBuf);
  segment->seal();
  segment.reset();
  auto reopened = dir->open("seg", OpenMode::read_only);
  BOOST_CHECK_EQUAL(reopened->size(), 100'000u + 3 * kBuf);
  check_pattern(*reopened, 0, 100'000 + 3 * kBuf);
}

BOOST_AUTO_TEST_CASE(posix_lock_excludes_another_process) {
  TempDir tmp;
  auto dir = open_directory("file", tmp.str(), false);
  auto lock = dir->lock("LOCK");
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // The child holds no lock of its own, so only the fcntl lock can stop it.
    int code = 1;
    try {
      open_directory("file", tmp.str(), false)->lock("LOCK");
    } catch (const LockError& e) {
      code = std::string(e.what()).find("another process") != std::string::npos ? 0 : 2;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
  BOOST_CHECK(WIFEXITED(status));
  BOOST_CHECK_EQUAL(WEXITSTATUS(status), 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace pyk::test
