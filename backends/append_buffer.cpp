#include "backends/append_buffer.h"

#include <algorithm>
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
  lock.unlock();
  posix::append_at(fd_, data, offset, path_);  // a partial write is taken back
  lock.lock();
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
  }
  size_.store(new_size, std::memory_order_release);
}

void AppendBuffer::seal() {
  std::lock_guard lock(mu_);
  sealed_ = true;
}

void AppendBuffer::seal_flushed() {
  std::lock_guard lock(mu_);
  if (!writable_ || sealed_) return;
  flush_locked();
  sealed_ = true;
}

bool AppendBuffer::sealed() const {
  if (!writable_) return true;
  std::lock_guard lock(mu_);
  return sealed_;
}

}  // namespace pyk
