// Segment: one append-only file of a store (a datafile, a hint file, ...).
// The engine reaches storage only through Segment and Directory (directory.h);
// backends/ implements both for buffered files, memory-mapped files and RAM.
// This header states the contract every backend keeps;
// tests/segment_conformance_test.cpp checks it against each of them.
//
// Thread safety: read(), pin(), size(), sealed(), zero_copy(), name() and
// describe() may be called from any number of threads at once, also while one
// thread appends. append(), truncate() and seal() come from one writer at a
// time (the caller serialises them); sync() may run on another thread
// concurrently with that writer and with readers (group commit).
//
// Bounds: a range [offset, offset + n) must lie inside [0, size()); otherwise
// the call throws InvalidArgument (also when offset + n overflows). An empty
// range at size() is inside.
//
// Durability: appended bytes are readable at once but durable only after
// sync() or seal(). Destroying a Segment never throws and syncs nothing; a
// backend that preallocates cuts the file back, so after seal() or
// destruction the stored length is exactly size().
//
// Lifetime: a Segment stays readable after its file is removed from or
// renamed in its Directory; the bytes go when the last Segment on them (and
// the last PinnedBytes) is destroyed.
//
// Beside a writer: a segment opened read-only while another handle (maybe in
// another process) appends to the file has the bytes the file held then —
// never space reserved past them — and every one of them stays readable
// whatever the writer does short of truncate(). Only a new handle sees later
// appends (the in-memory backend's handles share one file and see them at once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

namespace pyk {

// Bytes of a segment that stay valid while the view is held, even if the
// segment grows, is remapped, sealed, destroyed or removed from its
// directory. Only truncate() below their end may take them (see truncate()).
struct PinnedBytes {
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> keep_alive;  // owns whatever `bytes` points into
};

// One range for Segment::read_many: out.size() bytes at `offset`, into `out`.
struct SegmentRead {
  std::uint64_t offset;
  std::span<std::byte> out;
};

class Segment {
 public:
  virtual ~Segment() = default;
  Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Appends `data` at the logical end and returns the offset it starts at.
  // The bytes are readable at once through read(), but durable only after sync().
  // All or nothing: if it throws (IoError), size() is unchanged.
  // REQUIRES: one writer. Throws InvalidArgument if sealed or opened read-only.
  virtual std::uint64_t append(std::span<const std::byte> data) = 0;

  // The n bytes at [offset, offset + n) (cf. leveldb's RandomAccessFile::Read).
  // Where the backend can (zero_copy()), the result points into the segment's
  // own memory: valid while this Segment object lives and no truncate() cuts
  // below its end, with no reference count taken. Otherwise the bytes are
  // copied into `scratch` and the result is scratch.first(n).
  // REQUIRES: scratch.size() >= n (a zero-copy backend may still need it, e.g.
  // for a range that is not contiguous in its memory).
  virtual std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                          std::span<std::byte> scratch) const = 0;

  // Copies out.size() bytes at `offset` into `out`, through read().
  void read_into(std::uint64_t offset, std::span<std::byte> out) const {
    const std::span<const std::byte> bytes = read(offset, out.size(), out);
    if (!bytes.empty() && bytes.data() != out.data()) {
      std::memcpy(out.data(), bytes.data(), bytes.size());
    }
  }

  // Fills each read's `out` with the out.size() bytes at its offset, as
  // read_into() would, for many ranges at once (Store::get_many reads its
  // batch's records of one segment with it). The default reads them one by
  // one through read(), so a wrapper needs no override; the file backend
  // submits them to io_uring in one system call.
  virtual void read_many(std::span<const SegmentRead> reads) const {
    for (const SegmentRead& r : reads) read_into(r.offset, r.out);
  }

  // The n bytes at `offset`, held by a keep_alive (see PinnedBytes). Always
  // succeeds: zero-copy where the backend can, an owned copy otherwise
  // (pinned_copy()). keep_alive is null only when n == 0.
  virtual PinnedBytes pin(std::uint64_t offset, std::size_t n) const = 0;

  // A hint that [offset, offset + n) will be read soon (Store::get_many
  // issues it for a whole batch before reading any record, so the cache
  // misses overlap; core/record_read.h says how much of a record to ask
  // for). Never throws, checks nothing, may do nothing (the default); a
  // zero-copy backend prefetches its memory, the first 16 KiB at most.
  virtual void prefetch(std::uint64_t /*offset*/, std::size_t /*n*/) const noexcept {}

  // True if read() and pin() hand out the segment's own memory instead of
  // copies, wherever the range is contiguous there (cf. tkrzw's IsMemoryMapping).
  virtual bool zero_copy() const = 0;

  // Logical size in bytes: everything appended, synced or not.
  virtual std::uint64_t size() const = 0;

  // Makes every byte appended before the call durable (flush buffers, then
  // fsync/msync). Readers never wait for the fsync itself. A no-op on a
  // segment opened read-only; on one sealed by seal_unsynced() it syncs.
  virtual void sync() = 0;

  // Cuts the segment to `new_size` bytes (used to drop a torn tail); appends
  // continue from there. Views of bytes below new_size stay valid.
  // REQUIRES: no reader still uses bytes at or past new_size, through a view
  // from read() or a PinnedBytes (a mapped backend returns those pages to the
  // file system). Throws InvalidArgument if new_size > size(), or if sealed
  // or opened read-only.
  virtual void truncate(std::uint64_t new_size) = 0;

  // Ends appends for good: syncs, trims any preallocated space, and makes the
  // segment read-only. Sealing twice is a no-op.
  virtual void seal() = 0;
  // seal() but for the sync: the bytes reach the OS, not the disk, until a
  // later sync() (which may run on another thread: a rotation leaves the
  // sync to the background). A no-op if already sealed.
  virtual void seal_unsynced() = 0;
  // A segment opened read-only counts as sealed: it can never be appended to.
  virtual bool sealed() const = 0;

  // Name inside its directory, and a description (full path) for messages.
  virtual const std::string& name() const = 0;
  virtual std::string describe() const = 0;

 protected:
  // pin() for a backend (or a range) without zero-copy: an owned copy.
  PinnedBytes pinned_copy(std::uint64_t offset, std::size_t n) const {
    if (n == 0) {
      read(offset, 0, {});  // the bounds check
      return {};
    }
    auto copy = std::make_shared_for_overwrite<std::byte[]>(n);
    const std::span<std::byte> bytes(copy.get(), n);
    read_into(offset, bytes);
    return {bytes, std::move(copy)};
  }
};

}  // namespace pyk
