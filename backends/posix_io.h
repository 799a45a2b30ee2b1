// Small POSIX helpers shared by the file and mmap backends: an owning file
// descriptor and syscall wrappers that retry EINTR and report failures as
// IoError (pyk::throw_io_error) naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace pyk::posix {

// Owns one open file descriptor; closes it on destruction (errors ignored:
// anything that must be durable was fsynced before).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  int release() noexcept;

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC added.
Fd open_file(const std::string& path, int flags, unsigned mode = 0644);

// One pwrite(2) call (EINTR retried); returns the bytes written, which may be
// fewer than data.size(). Throws IoError if nothing could be written.
std::size_t pwrite_some(int fd, std::span<const std::byte> data, std::uint64_t offset,
                        const std::string& path);

// Writes all of `data` at `offset` (the file's end). If that fails part-way,
// cuts the file back to `offset` (best effort: if the cut fails too, the
// next write at `offset` covers the stray bytes, and after a crash they are a
// torn tail that recovery cuts) and rethrows.
void append_at(int fd, std::span<const std::byte> data, std::uint64_t offset,
               const std::string& path);

// Fills `out` from `offset`. Throws CorruptionError if the file ends first
// (it was cut behind our back).
void pread_exact(int fd, std::span<std::byte> out, std::uint64_t offset, const std::string& path);

std::uint64_t file_size(int fd, const std::string& path);
void fdatasync_fd(int fd, const std::string& path);
void fsync_fd(int fd, const std::string& path);
void ftruncate_fd(int fd, std::uint64_t size, const std::string& path);

// Test hook. A wrapper above a Segment cannot tell a sync() that reached the
// disk from one that did nothing, so tests/sync_recorder.h listens here: the
// observer is told of every successful fdatasync_fd and fsync_fd,
// with the path and how many bytes of the file it made durable (for
// fdatasync_fd/fsync_fd, the file size when the call began). Not thread-safe
// to change while syncs run; null (the default) costs one atomic load per sync.
using SyncObserver = void (*)(const std::string& path, std::uint64_t durable_bytes);
void set_sync_observer(SyncObserver observer);

}  // namespace pyk::posix
