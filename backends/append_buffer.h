// AppendBuffer: the appends of a segment file, collected in user space and
// written with pwrite a buffer at a time (when it is full, and on flush(),
// truncate() and seal): one syscall per 256 KiB instead of one per record.
// The file and mmap backends keep their appends in one, and read what it
// has not flushed from it; only how they read the file itself differs.
//
// Thread safety: append(), truncate() and the seals come from one writer at
// a time (Segment's contract); flush() may run beside them (group commit's
// sync), and copy_buffered() and the getters from any thread. in_file() is
// published after the bytes reached the file, so a reader of a range below
// it needs no lock and never waits for an appender's write(2).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace pyk {

class AppendBuffer {
 public:
  // Appends collect up to this many bytes; larger ones bypass the buffer.
  static constexpr std::size_t kBufferSize = 256 * 1024;

  // For the file `fd` (`path` in messages) of `size` bytes; a read-only one
  // (`writable` false) takes no appends and buffers nothing.
  AppendBuffer(int fd, std::string path, std::uint64_t size, bool writable);

  // The offset `data` starts at. All-or-nothing: throws (IoError,
  // InvalidArgument if read-only or sealed) with size() unchanged; bytes of
  // a failed flush stay buffered and are retried by the next one, so ENOSPC
  // never tears the file.
  std::uint64_t append(std::span<const std::byte> data);
  // Logical size: the file's bytes and the buffered ones.
  std::uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // Bytes that reached the file.
  std::uint64_t in_file() const { return in_file_.load(std::memory_order_acquire); }
  bool writable() const { return writable_; }

  // Copies the buffered part of [offset, offset + out.size()) into its place
  // in `out` and returns how many bytes were in the file meanwhile: the
  // caller reads [offset, that) from the file itself (bytes there never
  // change under a reader). Throws InvalidArgument past size().
  std::uint64_t copy_buffered(std::uint64_t offset, std::span<std::byte> out) const;

  // Writes the buffer out (no fsync). Throws IoError, keeping what it could not write.
  void flush();
  // Cuts to `new_size` bytes: buffered ones dropped, the file truncated if
  // it is longer. Throws InvalidArgument past size(), or if read-only or sealed.
  void truncate(std::uint64_t new_size);
  // Writes zeros past the data, so that fdatasyncs while appends fill them
  // do not grow the file (a sync that grows it also commits the inode's
  // size: on ext4 a 150-byte durable write then takes 1.3-1.6x as long).
  // From its second call on (the first sync of a new segment covers its
  // header only), once the data is within half a chunk of the zeroed end, zeroes up to a
  // chunk past the data, and only whole chunks that end within `limit` (the
  // segment's size hint). Zeros read as the end of data (format.h). After
  // ENOSPC or EDQUOT it cuts them back and zeroes no more in this file: the
  // appends need the space. Throws IoError otherwise. No-op once sealed.
  static constexpr std::uint64_t kZeroChunk = 1 << 20;
  void zero_ahead(std::uint64_t limit);
  // Segment::sync() for the file: flush(), zero_ahead(zero_limit), then
  // fdatasync outside the lock (readers never wait for the disk). No-op if read-only.
  void sync(std::uint64_t zero_limit);
  // Segment::seal(): flush(), fdatasync, seal() (no zeros ahead of appends
  // that will not come). No-op if sealed already.
  void seal_synced();
  // Takes no more appends; seal_flushed() writes the buffer out first. If
  // zero_ahead() ran, size() becomes the file's size, zeros included: what
  // the file shows once it is reopened.
  void seal();
  void seal_flushed();
  bool sealed() const;
  // flush() for a destructor: a failure is dropped (unsynced bytes carry no
  // durability promise).
  void flush_quietly() noexcept;

 private:
  // REQUIRES: mu_ held.
  void flush_locked();
  void seal_locked();

  const int fd_;
  const std::string path_;
  const bool writable_;
  mutable std::mutex mu_;
  std::uint64_t flushed_;          // GUARDED_BY(mu_): bytes in the file; buffer_ starts here
  std::vector<std::byte> buffer_;  // GUARDED_BY(mu_)
  // Written under mu_; sealed() reads it without the lock (a writer asks
  // before every append: a lock round trip each time was 3-7% of a put).
  std::atomic<bool> sealed_{false};
  // zero_ahead(): the end of the zeros written (0: none), whether a large
  // append is being written outside the lock (no zeros meanwhile: they could
  // land on its bytes), and whether the disk had no room for zeros.
  std::uint64_t zeroed_end_ = 0;     // GUARDED_BY(mu_)
  bool unbuffered_append_ = false;   // GUARDED_BY(mu_)
  bool zeroing_stopped_ = false;     // GUARDED_BY(mu_)
  int zero_ahead_calls_ = 0;         // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> size_;     // flushed_ + buffer_.size(), written under mu_
  std::atomic<std::uint64_t> in_file_;  // flushed_, published once the bytes are in the file
};

}  // namespace pyk
