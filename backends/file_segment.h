// FileSegment: a segment written through a user-space buffer with pwrite(2)
// and read with pread(2) (batches through io_uring). No zero-copy: read()
// fills the caller's scratch and pin() hands out a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backends/append_buffer.h"
#include "backends/posix_io.h"
#include "core/directory.h"
#include "core/segment.h"

namespace pyk {

class FileSegment final : public Segment {
 public:
  // Appends collect in an AppendBuffer and reach the file when it is full
  // or on sync(), truncate() and seal(). Larger appends bypass it.
  static constexpr std::size_t kBufferSize = AppendBuffer::kBufferSize;

  // Creates `path` (O_EXCL: IoError EEXIST if it exists) / opens it.
  static std::unique_ptr<Segment> create(const std::string& path, const std::string& name,
                                         std::uint64_t size_hint);
  static std::unique_ptr<Segment> open(const std::string& path, const std::string& name,
                                       OpenMode mode);
  // Use create() / open(); `size` is the file's current length. sync()
  // writes zeros ahead of the data up to `zero_limit` (AppendBuffer::
  // zero_ahead): the size hint of a segment created here; 0 for one opened
  // (its size hint is not known), which then grows with each sync.
  FileSegment(std::string path, std::string name, posix::Fd fd, bool writable,
              std::uint64_t size, std::uint64_t zero_limit = 0);

  // Flushes the buffer best effort (no fsync); errors are swallowed.
  ~FileSegment() override;

  // All-or-nothing: throws with size() unchanged. Bytes of a failed flush stay
  // buffered and are retried by the next flush, so ENOSPC never tears the file.
  std::uint64_t append(std::span<const std::byte> data) override;
  // Sees buffered bytes too. Never waits for an fsync.
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const override;
  // Through io_uring (one system call) when every range lies in the file
  // and this thread has a ring; one read() at a time otherwise.
  void read_many(std::span<const SegmentRead> reads) const override;
  PinnedBytes pin(std::uint64_t offset, std::size_t n) const override { return pinned_copy(offset, n); }
  bool zero_copy() const override { return false; }
  std::uint64_t size() const override { return appends_.size(); }
  // Flushes under the buffer mutex, fdatasyncs outside it, so neither readers
  // nor an appender on another thread (group commit) wait for the disk.
  void sync() override;
  void truncate(std::uint64_t new_size) override;
  void seal() override;
  void seal_unsynced() override;
  bool sealed() const override;
  const std::string& name() const override { return name_; }
  std::string describe() const override { return path_; }

 private:
  const std::string path_;
  const std::string name_;
  const posix::Fd fd_;
  const std::uint64_t zero_limit_;
  AppendBuffer appends_;
};

}  // namespace pyk
