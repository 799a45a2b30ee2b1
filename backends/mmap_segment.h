// MmapSegment: a segment read through a shared memory mapping (a
// Boost.Interprocess mapped_region of the segment's own descriptor) and
// appended to through a user-space buffer with pwrite
// (backends/append_buffer.h, as the file backend): one pwrite per append
// cost 4x the file backend's fill rate.
// Bytes still in the buffer are read from there (a copy into the caller's
// scratch); everything in the file is read from the mapping, copy-free.
//
// Why appends do not go through the mapping: a store through a mapping into
// a page the file system cannot back (a full disk) arrives as SIGBUS, so the
// file would have to be preallocated ahead of the data and trimmed when
// sealed. Another process mapping the file between the two (a read-only
// store) then holds pages past the trimmed end and dies of SIGBUS when it
// touches them, and a store on a full disk cannot even open for writing.
// With pwrite the file is never longer than the data, but for zeros that
// sync() writes ahead of it (AppendBuffer::zero_ahead: real bytes, never
// trimmed): a full disk is an IoError(ENOSPC) from append() or the flush
// that sync() does, and every page a reader maps stays backed. The page cache is shared, so the
// mapping sees each flushed append at once; a PageWarmer (backends/page_warmer.h)
// makes the mapping's first access to those pages, so that gets do not.
#pragma once

#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/append_buffer.h"
#include "backends/page_warmer.h"
#include "backends/posix_io.h"
#include "core/directory.h"
#include "core/segment.h"

namespace pyk {

class MmapSegment final : public Segment {
 public:
  // Address space mapped ahead of the data when no size hint is given;
  // mapping is cheap, so reserving generously makes remaps rare.
  static constexpr std::uint64_t kDefaultReserve = 64ull << 20;

  // create() maps `size_hint` bytes (kDefaultReserve if 0) up front.
  static std::unique_ptr<Segment> create(const std::string& path, const std::string& name,
                                         std::uint64_t size_hint);
  // read_only maps the file's current length; append maps it plus kDefaultReserve.
  static std::unique_ptr<Segment> open(const std::string& path, const std::string& name,
                                       OpenMode mode);
  // Use create() / open(). Maps `reserve` bytes (at least `size`, the file
  // length). sync() writes zeros ahead of the data up to `zero_limit`, as
  // FileSegment's does (0 for an opened segment).
  MmapSegment(std::string path, std::string name, posix::Fd fd, bool writable,
              std::uint64_t size, std::uint64_t reserve, std::uint64_t zero_limit = 0);

  // Flushes the buffer best effort (no fsync); errors are swallowed.
  ~MmapSegment() override;
  // All-or-nothing (AppendBuffer::append).
  std::uint64_t append(std::span<const std::byte> data) override;
  // A view into the mapping for bytes in the file: every region stays
  // mapped until the segment is destroyed, so the address is good that
  // long. A range reaching into the buffer is copied into `scratch`.
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const override;
  // Copies with pread what lies in the file (no touch of the mapping's
  // pages), the rest as read() does.
  void read_many(std::span<const SegmentRead> reads) const override;
  // For bytes in the file, the view keeps its mapping alive, so it survives
  // growth, remaps, seal and destruction of the segment; a range reaching
  // into the buffer is an owned copy.
  PinnedBytes pin(std::uint64_t offset, std::size_t n) const override;
  void prefetch(std::uint64_t offset, std::size_t n) const noexcept override;
  bool zero_copy() const override { return true; }
  std::uint64_t size() const override { return appends_.size(); }
  // Flushes the buffer, then fdatasyncs outside its lock; may run during append().
  void sync() override;
  // Cuts the file itself: the pages past new_size leave the mapping's backing.
  void truncate(std::uint64_t new_size) override;
  void seal() override;
  void seal_unsynced() override;
  bool sealed() const override;
  const std::string& name() const override { return name_; }
  std::string describe() const override { return path_; }

 private:
  // Writer or constructor. Maps [0, length) and makes it the current region;
  // older regions stay mapped until destruction, since readers may still use them.
  void map(std::uint64_t length);

  const std::string path_;
  const std::string name_;
  // For pwrite, ftruncate, fdatasync and every mapping. (A file_mapping
  // opened by path was a second open: a rename over the name in between gave
  // the size of one file and the bytes of another.)
  const posix::Fd fd_;
  const std::uint64_t zero_limit_;
  AppendBuffer appends_;  // also says whether the segment is writable

  mutable std::mutex regions_mu_;
  // GUARDED_BY(regions_mu_). Newest last; it covers every byte of the segment.
  std::vector<std::shared_ptr<boost::interprocess::mapped_region>> regions_;
  std::atomic<const std::byte*> base_{nullptr};  // address of the newest region

  std::uint64_t mapped_ = 0;  // length of the newest region; touched by the writer only
  // Touches the pages appends flush, behind the writer (the writer's
  // calls only); destroyed first, while every region is still mapped.
  PageWarmer warmer_;

};

}  // namespace pyk
