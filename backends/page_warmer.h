// PageWarmer: the first read of a page of the mmap backend's mapping, made
// on a thread of its own as appends fill the page, instead of in a get.
//
// Appends reach the file through pwrite, not through the mapping, so the
// first access to each page of the mapping is the mapping's first: a page
// fault, and on a virtual machine that shadows page tables (this project's
// VM) about 1.4 µs a page even with the page table entry made ahead
// (MADV_POPULATE_READ alone did not help). A 4 KiB value spans two pages,
// and 100k x 4 KiB gets right after a fill ran at 309-339k/s against
// 703-927k/s for a second pass of the same gets (pyk-bench, 2026-12-07).
// Engines that write through their mapping (Kyoto, tkrzw, LMDB) pay this
// in their writes; the warmer pays it behind the writer, on the other
// core, touching each page once its bytes are in the file (4 KiB fills on
// mmap ran 20-40% slower for it here; README, "Fresh pages on mmap"). Any
// thread's touch makes a page warm for every thread of the process.

// Only a hint: a page not warmed yet is read as before. The thread starts
// with the first chunk to warm and ends once a sealed segment is warm, or
// when the PageWarmer is destroyed, which must happen before the mapping
// is unmapped.
//
// Thread safety: advance(), cut() and finish() come from the segment's
// writer, one at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace pyk {

class PageWarmer {
 public:
  // Pages are warmed this many bytes at a time, once the file has grown by
  // as much.
  static constexpr std::uint64_t kChunk = 256 * 1024;

  // Warms pages of the mapping whose current address `base` holds, from
  // offset `from` (the file's size when it was opened: what this process
  // appends); the addresses `base` held before stay mapped at least as long
  // as this object.
  PageWarmer(const std::atomic<const std::byte*>& base, std::uint64_t from);
  PageWarmer(const PageWarmer&) = delete;
  PageWarmer& operator=(const PageWarmer&) = delete;
  // Stops the thread once the chunk it warms, if any, is done.
  ~PageWarmer() = default;

  // The file's bytes below `end` (all of them mapped at `base`) may be warmed.
  void advance(std::uint64_t end);
  // The file holds `end` bytes and takes no more: the thread warms what is
  // left and ends.
  void finish(std::uint64_t end);
  // Before the file is cut to `end` bytes: nothing at or past `end` is
  // touched once this returns (a touch past the end of a file is SIGBUS).
  void cut(std::uint64_t end);

 private:
  void set_target(std::uint64_t end);
  void run(std::stop_token stop);

  const std::atomic<const std::byte*>& base_;
  std::uint64_t requested_ = 0;  // the writer's last target
  std::mutex mu_;
  std::condition_variable_any wake_;
  std::uint64_t target_ = 0;  // GUARDED_BY(mu_): warm below this
  std::uint64_t done_ = 0;    // GUARDED_BY(mu_): warm below this
  bool finished_ = false;     // GUARDED_BY(mu_): no more appends
  // Held while a chunk is touched, so that cut() waits for it. Taken before mu_.
  std::mutex touching_;
  std::jthread thread_;  // last: stopped and joined before the members above go
};

}  // namespace pyk
