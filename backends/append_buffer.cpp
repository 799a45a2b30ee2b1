#include "backends/append_buffer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backends/checks.h"
#include "backends/posix_io.h"
#include "core/error.h"

namespace pyk {

AppendBuffer::AppendBuffer(int fd, std::string path, std::uint64_t size, bool writable)
    : fd_(fd), path_(std::move(path)), writable_(writable), flushed_(size), size_(size), in_file_(size) {
  if (writable_) buffer_.reserve(kBufferSize);
}

std::uint64_t AppendBuffer::append(std::span<const std::byte> data) {
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
  // concurrent flush() finds the buffer empty, and callers serialise
  // truncate() and the seals against append().
  unbuffered_append_ = true;
  const bool into_zeros = zeroed_end_ > offset;
  lock.unlock();
  try {
    if (into_zeros) {
      // Into zeros: nothing to take back if it fails part-way (the next
      // append covers the stray bytes; after a crash they are a torn tail).
      for (std::size_t done = 0; done < data.size();)
        done += posix::pwrite_some(fd_, data.subspan(done), offset + done, path_);
    } else {
      posix::append_at(fd_, data, offset, path_);  // a partial write is taken back
    }
  } catch (...) {
    lock.lock();
    unbuffered_append_ = false;
    throw;
  }
  lock.lock();
  unbuffered_append_ = false;
  flushed_ += data.size();
  in_file_.store(flushed_, std::memory_order_release);
  size_.store(flushed_, std::memory_order_release);
  return offset;
}

void AppendBuffer::flush_locked() {
  std::size_t done = 0;
  auto consume = [&] {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(done));
    flushed_ += done;
    in_file_.store(flushed_, std::memory_order_release);
  };
  try {
    while (done < buffer_.size()) {
      done += posix::pwrite_some(fd_, std::span(buffer_).subspan(done), flushed_ + done, path_);
    }
  } catch (...) {
    consume();  // what reached the file stays there; the rest is retried next time
    throw;
  }
  consume();
}

std::uint64_t AppendBuffer::copy_buffered(std::uint64_t offset, std::span<std::byte> out) const {
  std::lock_guard lock(mu_);
  backend::check_range(offset, out.size(), flushed_ + buffer_.size(), path_);
  const std::uint64_t end = offset + out.size();
  if (end > flushed_) {
    const std::uint64_t start = std::max(offset, flushed_);
    std::memcpy(out.data() + (start - offset), buffer_.data() + (start - flushed_),
                static_cast<std::size_t>(end - start));
  }
  return flushed_;
}

void AppendBuffer::flush() {
  if (!writable_) return;
  std::lock_guard lock(mu_);
  flush_locked();
}

void AppendBuffer::flush_quietly() noexcept {
  try {
    flush();
  } catch (...) {  // unsynced bytes carry no durability promise; losing them here is allowed
  }
}

void AppendBuffer::truncate(std::uint64_t new_size) {
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
    posix::ftruncate_fd(fd_, new_size, path_);
    buffer_.clear();
    flushed_ = new_size;
    zeroed_end_ = 0;  // cut with the rest
  }
  size_.store(new_size, std::memory_order_release);
}

void AppendBuffer::zero_ahead(std::uint64_t limit) {
  static const std::vector<std::byte> zeros(64 * 1024);
  std::lock_guard lock(mu_);
  if (!writable_ || sealed_ || zeroing_stopped_ || unbuffered_append_) return;
  if (++zero_ahead_calls_ < 2) return;  // a file synced once (a new segment's header) gains nothing
  // From the end of what is in the file or already zero: never over data.
  const std::uint64_t from = std::max(zeroed_end_, flushed_);
  if (from >= flushed_ + kZeroChunk / 2 || flushed_ + kZeroChunk > limit) return;
  const std::uint64_t to = flushed_ + kZeroChunk;
  std::uint64_t at = from;
  try {
    while (at < to) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - at));
      at += posix::pwrite_some(fd_, std::span(zeros).first(n), at, path_);
    }
  } catch (const IoError& e) {
    if (at > from) posix::ftruncate_fd(fd_, from, path_);  // not over data: from >= flushed_
    if (e.error_code() != ENOSPC && e.error_code() != EDQUOT) throw;
    zeroing_stopped_ = true;
    return;
  }
  zeroed_end_ = to;
}

void AppendBuffer::sync(std::uint64_t zero_limit) {
  if (!writable_) return;
  flush();
  zero_ahead(zero_limit);
  posix::fdatasync_fd(fd_, path_);
}

void AppendBuffer::seal_synced() {
  if (sealed()) return;
  flush();
  posix::fdatasync_fd(fd_, path_);
  seal();
}

void AppendBuffer::seal_locked() {
  sealed_.store(true, std::memory_order_release);
  if (zeroed_end_ > flushed_ && buffer_.empty()) {
    // The zeros stay (cutting them could pull bytes from under a reader in
    // another process, which maps or reads the file by its size).
    flushed_ = zeroed_end_;
    in_file_.store(flushed_, std::memory_order_release);
    size_.store(flushed_, std::memory_order_release);
  }
}

void AppendBuffer::seal() {
  std::lock_guard lock(mu_);
  seal_locked();
}

void AppendBuffer::seal_flushed() {
  std::lock_guard lock(mu_);
  if (!writable_ || sealed_) return;
  flush_locked();
  seal_locked();
}

bool AppendBuffer::sealed() const {
  return !writable_ || sealed_.load(std::memory_order_acquire);
}

}  // namespace pyk
