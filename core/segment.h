// Segment: one append-only file of a store (a datafile, a hint file, ...).
// The engine reaches storage only through Segment and Directory (directory.h);
// backends/ implements both for buffered files, memory-mapped files and RAM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace pyk {

// Bytes of a segment that stay valid while the view is held, even if the
// segment grows, is remapped, sealed, or removed from its directory.
struct PinnedBytes {
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> keep_alive;  // owns whatever `bytes` points into
};

class Segment {
 public:
  virtual ~Segment() = default;
  Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Appends `data` at the logical end and returns the offset it starts at.
  // The bytes are readable at once through read(), but durable only after sync().
  // REQUIRES: not sealed, opened writable. Not safe against concurrent append().
  virtual std::uint64_t append(std::span<const std::byte> data) = 0;

  // Copies out.size() bytes starting at `offset` into `out`.
  // Throws InvalidArgument if [offset, offset + out.size()) is past size().
  // Safe to call from many threads, also while one thread appends.
  virtual void read(std::uint64_t offset, std::span<std::byte> out) const = 0;

  // Zero-copy access where the backend can give it (mmap, memory); nullptr-span
  // (empty PinnedBytes with keep_alive == nullptr) where it cannot (file).
  // Same bounds rule and thread safety as read().
  virtual PinnedBytes pin(std::uint64_t offset, std::size_t length) const = 0;

  // Zero-copy access for the length of a call: bytes that stay valid while
  // this Segment object lives (and no truncate() cuts below their end), with
  // no ownership taken, so cheaper than pin(). Empty where the backend
  // cannot give it (the default). Where given: same bounds rule and thread
  // safety as read().
  virtual std::span<const std::byte> view([[maybe_unused]] std::uint64_t offset,
                                          [[maybe_unused]] std::size_t length) const {
    return {};
  }

  // Logical size in bytes: everything appended, synced or not.
  virtual std::uint64_t size() const = 0;

  // Makes every byte appended before the call durable (flush buffers, then
  // fsync/msync). Safe to call concurrently with read() AND with append() from
  // another thread (group commit syncs while other writers keep appending);
  // readers never wait for the fsync itself.
  virtual void sync() = 0;

  // Cuts the segment to `new_size` bytes (used to drop a torn tail).
  // REQUIRES: new_size <= size(); writable.
  virtual void truncate(std::uint64_t new_size) = 0;

  // Ends appends for good: syncs, trims any preallocated space, and makes the
  // segment read-only. Sealing twice is a no-op.
  virtual void seal() = 0;
  virtual bool sealed() const = 0;

  // Name inside its directory, and a description (full path) for messages.
  virtual const std::string& name() const = 0;
  virtual std::string describe() const = 0;
};

}  // namespace pyk
