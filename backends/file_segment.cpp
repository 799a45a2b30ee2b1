#include "backends/file_segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "backends/checks.h"
#include "core/error.h"

namespace pyk {

std::unique_ptr<Segment> FileSegment::create(const std::string& path, const std::string& name,
                                             std::uint64_t /*size_hint*/) {
  posix::Fd fd = posix::open_file(path, O_RDWR | O_CREAT | O_EXCL);
  return std::make_unique<FileSegment>(path, name, std::move(fd), true, 0);
}

std::unique_ptr<Segment> FileSegment::open(const std::string& path, const std::string& name,
                                           OpenMode mode) {
  const bool writable = mode == OpenMode::append;
  posix::Fd fd = posix::open_file(path, writable ? O_RDWR : O_RDONLY);
  const std::uint64_t size = posix::file_size(fd.get(), path);
  return std::make_unique<FileSegment>(path, name, std::move(fd), writable, size);
}

FileSegment::FileSegment(std::string path, std::string name, posix::Fd fd, bool writable,
                         std::uint64_t size)
    : path_(std::move(path)),
      name_(std::move(name)),
      fd_(std::move(fd)),
      writable_(writable),
      flushed_(size),
      size_(size),
      in_file_(size) {
  if (writable_) buffer_.reserve(kBufferSize);
}

FileSegment::~FileSegment() {
  if (!writable_) return;
  std::lock_guard lock(mu_);
  try {
    flush_locked();
  } catch (...) {
    // Unsynced bytes carry no durability promise; losing them here is allowed.
  }
}

std::uint64_t FileSegment::append(std::span<const std::byte> data) {
  std::unique_lock lock(mu_);
  backend::check_writable(writable_, sealed_, path_);
  const std::uint64_t offset = flushed_ + buffer_.size();
  if (data.empty()) return offset;
  if (data.size() > kBufferSize - buffer_.size()) flush_locked();  // throws: nothing appended

  if (data.size() <= kBufferSize - buffer_.size()) {
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    size_.store(offset + data.size(), std::memory_order_release);
    return offset;
  }

  // Too big for the buffer (which is now empty): write it straight to the file.
  // No lock needed meanwhile: size() does not cover these bytes yet, a
  // concurrent sync() finds the buffer empty, and callers serialise truncate()
  // and seal() against append().
  lock.unlock();
  posix::append_at(fd_.get(), data, offset, path_);  // a partial write is taken back
  lock.lock();
  flushed_ += data.size();
  in_file_.store(flushed_, std::memory_order_release);
  size_.store(flushed_, std::memory_order_release);
  return offset;
}

void FileSegment::flush_locked() {
  std::size_t done = 0;
  auto consume = [&] {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done));
    flushed_ += done;
    in_file_.store(flushed_, std::memory_order_release);
  };
  try {
    while (done < buffer_.size()) {
      done += posix::pwrite_some(fd_.get(), std::span(buffer_).subspan(done), flushed_ + done,
                                 path_);
    }
  } catch (...) {
    consume();  // what reached the file stays there; the rest is retried next time
    throw;
  }
  consume();
}

std::span<const std::byte> FileSegment::read(std::uint64_t offset, std::size_t n,
                                             std::span<std::byte> scratch) const {
  backend::check_scratch(n, scratch.size(), path_);
  const std::span<std::byte> out = scratch.first(n);
  const std::uint64_t in_file = in_file_.load(std::memory_order_acquire);
  if (out.size() <= in_file && offset <= in_file - out.size()) {  // all in the file already
    if (!out.empty()) posix::pread_exact(fd_.get(), out, offset, path_);
    return out;
  }
  std::uint64_t flushed;
  {
    std::lock_guard lock(mu_);
    flushed = flushed_;
    backend::check_range(offset, out.size(), flushed + buffer_.size(), path_);
    const std::uint64_t end = offset + out.size();
    if (end > flushed) {
      const std::uint64_t start = std::max(offset, flushed);
      std::memcpy(out.data() + (start - offset), buffer_.data() + (start - flushed),
                  static_cast<std::size_t>(end - start));
    }
  }
  // Bytes in the file never change under a reader (append-only), so pread
  // them outside the lock; this is what keeps readers off the appender's path.
  if (offset < flushed) {
    const auto m = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), flushed - offset));
    posix::pread_exact(fd_.get(), out.first(m), offset, path_);
  }
  return out;
}

void FileSegment::sync() {
  if (!writable_) return;
  {
    std::lock_guard lock(mu_);
    flush_locked();
  }
  // Outside the lock: readers must never wait for the disk.
  posix::fdatasync_fd(fd_.get(), path_);
}

void FileSegment::truncate(std::uint64_t new_size) {
  std::lock_guard lock(mu_);
  backend::check_writable(writable_, sealed_, path_);
  const std::uint64_t size = flushed_ + buffer_.size();
  if (new_size > size) {
    throw InvalidArgument("cannot truncate " + path_ + " to " + std::to_string(new_size) +
                          " bytes: it holds only " + std::to_string(size));
  }
  if (new_size >= flushed_) {
    buffer_.resize(static_cast<std::size_t>(new_size - flushed_));  // cut only unwritten bytes
  } else {
    in_file_.store(new_size, std::memory_order_release);  // before the bytes go
    posix::ftruncate_fd(fd_.get(), new_size, path_);
    buffer_.clear();
    flushed_ = new_size;
  }
  size_.store(new_size, std::memory_order_release);
}

void FileSegment::seal() {
  if (sealed()) return;
  sync();
  std::lock_guard lock(mu_);
  sealed_ = true;
}

void FileSegment::seal_unsynced() {
  std::lock_guard lock(mu_);
  if (!writable_ || sealed_) return;
  flush_locked();  // to the OS: a later sync() is then an fdatasync only
  sealed_ = true;
}

bool FileSegment::sealed() const {
  if (!writable_) return true;
  std::lock_guard lock(mu_);
  return sealed_;
}

}  // namespace pyk
