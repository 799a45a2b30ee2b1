#include "backends/posix_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "core/error.h"

namespace pyk::posix {

namespace {

std::atomic<SyncObserver> sync_observer{nullptr};

// What a sync of `fd` is about to make durable: its size now. Asked only when
// someone listens (see set_sync_observer).
std::uint64_t size_if_observed(int fd, const std::string& path) {
  return sync_observer.load(std::memory_order_acquire) != nullptr ? file_size(fd, path) : 0;
}

void tell_observer(const std::string& path, std::uint64_t durable_bytes) {
  if (const SyncObserver observer = sync_observer.load(std::memory_order_acquire)) {
    observer(path, durable_bytes);
  }
}

}  // namespace

void set_sync_observer(SyncObserver observer) {
  sync_observer.store(observer, std::memory_order_release);
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);  // no EINTR retry: on Linux the fd is gone either way
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

int Fd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Fd open_file(const std::string& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_io_error("open", path, errno);
  return Fd(fd);
}

std::size_t pwrite_some(int fd, std::span<const std::byte> data, std::uint64_t offset,
                        const std::string& path) {
  for (;;) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n >= 0) {
      if (n == 0 && !data.empty()) throw_io_error("write", path, EIO);  // no progress
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) throw_io_error("write", path, errno);
  }
}

void append_at(int fd, std::span<const std::byte> data, std::uint64_t offset,
               const std::string& path) {
  std::size_t written = 0;
  try {
    while (written < data.size()) {
      written += pwrite_some(fd, data.subspan(written), offset + written, path);
    }
  } catch (...) {
    if (written > 0 && ::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      // best effort; the original error is the one to report
    }
    throw;
  }
}

void pread_exact(int fd, std::span<std::byte> out, std::uint64_t offset, const std::string& path) {
  while (!out.empty()) {
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("read", path, errno);
    }
    if (n == 0) throw CorruptionError("file ends before its recorded size", path, offset);
    out = out.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

std::uint64_t file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_io_error("fstat", path, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

void fdatasync_fd(int fd, const std::string& path) {
  const std::uint64_t size = size_if_observed(fd, path);
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_io_error("fdatasync", path, errno);
  tell_observer(path, size);
}

void fsync_fd(int fd, const std::string& path) {
  const std::uint64_t size = size_if_observed(fd, path);
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_io_error("fsync", path, errno);
  tell_observer(path, size);
}

void ftruncate_fd(int fd, std::uint64_t size, const std::string& path) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_io_error("ftruncate", path, errno);
}

}  // namespace pyk::posix
