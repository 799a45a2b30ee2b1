// PageWarmer (backends/page_warmer.h): the mmap backend's pages, made present
// in the process's page tables behind the writer, and never touched past
// the end of a file that is being cut; and the mmap backend's copying
// reads, which leave the mapping's pages alone. Whether a page of the mapping is
// present is read from /proc/self/pagemap (bit 63), which no read of ours
// changes: Segment::read of an mmap segment returns an address, it does not
// touch it.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "backends/mmap_segment.h"
#include "backends/page_warmer.h"
#include "backends/posix_io.h"
#include "tests/temp_dir.h"

using namespace pyk;

namespace {

const std::uint64_t kPage = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));

// Whether the page holding `address` is in this process's page tables.
bool present(const std::byte* address) {
  static const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  BOOST_REQUIRE_MESSAGE(fd >= 0, "cannot open /proc/self/pagemap");
  std::uint64_t entry = 0;
  const auto at = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(address) / kPage * sizeof entry);
  BOOST_REQUIRE(::pread(fd, &entry, sizeof entry, at) == static_cast<ssize_t>(sizeof entry));
  return (entry >> 63) & 1;
}

// Pages of [base + from, base + to) that are not present.
std::size_t absent_pages(const std::byte* base, std::uint64_t from, std::uint64_t to) {
  std::size_t absent = 0;
  for (std::uint64_t at = from; at < to; at += kPage) absent += !present(base + at);
  return absent;
}

// Polls until no page of the range is absent, or 20 s pass; returns the
// pages still absent.
std::size_t wait_until_present(const std::byte* base, std::uint64_t from, std::uint64_t to) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::size_t absent;
  while ((absent = absent_pages(base, from, to)) != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return absent;
}

std::vector<std::byte> record_of(std::size_t size) { return std::vector<std::byte>(size, std::byte{'v'}); }

// Where `segment` maps its byte 0 (an address only: nothing is read).
const std::byte* mapping_of(const Segment& segment) {
  return segment.read(0, 1, {}).data();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(page_warmer)

// 4 MiB appended and sealed: every page of it becomes present without a
// read. Without the warmer none does.
BOOST_AUTO_TEST_CASE(an_mmap_segment_maps_the_pages_its_appends_wrote) {
  test::TempDir dir;
  const auto segment = MmapSegment::create(dir.str() + "/s.data", "s.data", 16u << 20);
  const auto record = record_of(4000);
  while (segment->size() < (4u << 20)) segment->append(record);
  segment->seal_unsynced();
  const std::uint64_t end = segment->size() / kPage * kPage;
  const std::byte* base = mapping_of(*segment);
  BOOST_TEST(wait_until_present(base, 0, end) == 0u);
}

// Threads of this process.
std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// The warmer's thread ends once a sealed segment is warm, also when the
// seal brings no page it had not warmed already.
BOOST_AUTO_TEST_CASE(the_thread_ends_once_a_sealed_segment_is_warm) {
  test::TempDir dir;
  const std::size_t before = thread_count();
  const auto segment = MmapSegment::create(dir.str() + "/s.data", "s.data", 16u << 20);
  const auto record = record_of(4096);
  while (segment->size() < (2u << 20)) segment->append(record);
  // Larger than the write buffer: written straight through after the
  // buffer, so that every byte is in the file and the seal adds nothing.
  segment->append(record_of(300 * 1024));
  const std::byte* base = mapping_of(*segment);
  BOOST_TEST_REQUIRE(wait_until_present(base, 0, segment->size() / kPage * kPage) == 0u);
  BOOST_TEST(thread_count() == before + 1);  // the warmer, waiting for more
  segment->seal_unsynced();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (thread_count() > before && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  BOOST_TEST(thread_count() == before);
}

// A segment opened to append to: the pages it held before are left to the
// reads (they were written by another process, or long ago); those it
// appends are warmed.
BOOST_AUTO_TEST_CASE(an_opened_segment_warms_only_what_it_appends) {
  test::TempDir dir;
  const std::string path = dir.str() + "/s.data";
  const auto record = record_of(4000);
  std::uint64_t old_size;
  {
    const auto first = MmapSegment::create(path, "s.data", 16u << 20);
    while (first->size() < (4u << 20)) first->append(record);
    first->seal_unsynced();
    old_size = first->size();
  }
  const auto segment = MmapSegment::open(path, "s.data", OpenMode::append);
  while (segment->size() < old_size + (2u << 20)) segment->append(record);
  segment->seal_unsynced();
  const std::byte* base = mapping_of(*segment);
  const std::uint64_t new_from = (old_size + kPage - 1) / kPage * kPage;
  BOOST_TEST(wait_until_present(base, new_from, segment->size() / kPage * kPage) == 0u);
  // Fault-around may map a few old pages next to the first new one; the
  // first 3 MiB are far from it.
  BOOST_TEST(absent_pages(base, 0, 3u << 20) == (3u << 20) / kPage);
}

// read_many copies, so the mmap backend copies with pread and leaves the
// mapping's pages untouched (a KEYDIR load reads 300 MB at 10M keys that
// way: a view would touch every page first).
BOOST_AUTO_TEST_CASE(mmap_read_many_leaves_the_mapping_untouched) {
  test::TempDir dir;
  const std::string path = dir.str() + "/s.data";
  const auto record = record_of(4000);
  {
    const auto writer = MmapSegment::create(path, "s.data", 16u << 20);
    while (writer->size() < (2u << 20)) writer->append(record);
    writer->seal_unsynced();
  }
  const auto segment = MmapSegment::open(path, "s.data", OpenMode::read_only);
  std::vector<std::byte> out(segment->size());
  const SegmentRead read{0, out};
  segment->read_many({&read, 1});
  BOOST_TEST((out[0] == std::byte{'v'} && out.back() == std::byte{'v'}));
  const std::uint64_t whole = segment->size() / kPage * kPage;
  BOOST_TEST(absent_pages(mapping_of(*segment), 0, whole) == whole / kPage);
}

// The writer cuts the file while the warmer is inside a chunk: cut() must
// wait for that chunk, or the warmer touches pages past the new end of the
// file and the process dies of SIGBUS.
BOOST_AUTO_TEST_CASE(a_cut_waits_for_the_chunk_under_way) {
  test::TempDir dir;
  const std::string path = dir.str() + "/f";
  posix::Fd fd = posix::open_file(path, O_RDWR | O_CREAT | O_EXCL);
  constexpr std::uint64_t kSize = 64u << 20;
  void* mapped = ::mmap(nullptr, kSize, PROT_READ, MAP_SHARED, fd.get(), 0);
  BOOST_REQUIRE(mapped != MAP_FAILED);
  std::atomic<const std::byte*> base{static_cast<const std::byte*>(mapped)};
  {
    PageWarmer warmer(base, 0);
    for (int round = 0; round < 200; ++round) {
      posix::ftruncate_fd(fd.get(), kSize, path);  // a hole: its pages read as zeros
      warmer.advance(kSize);
      std::this_thread::sleep_for(std::chrono::microseconds(50 + round % 7 * 40));
      warmer.cut(0);
      posix::ftruncate_fd(fd.get(), 0, path);
    }
  }
  ::munmap(mapped, kSize);
  BOOST_TEST(true);  // reaching here is the test: no SIGBUS
}

BOOST_AUTO_TEST_SUITE_END()
