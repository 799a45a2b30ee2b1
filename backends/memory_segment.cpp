#include "backends/memory_segment.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "backends/checks.h"
#include "core/error.h"

namespace pyk {

std::uint64_t MemoryFile::append(std::span<const std::byte> data) {
  std::lock_guard lock(mu_);
  const std::uint64_t offset = size_;
  while (!data.empty()) {
    const std::size_t in_chunk = static_cast<std::size_t>(size_ % kChunkSize);
    if (in_chunk == 0 && size_ / kChunkSize == chunks_.size()) {
      // Not zeroed: nothing reads past size_, and zeroing doubled the bytes written.
      chunks_.push_back(std::make_shared_for_overwrite<std::byte[]>(kChunkSize));
    }
    const std::size_t n = std::min(data.size(), kChunkSize - in_chunk);
    // Bytes at or past size_ are in no pinned view, so writing them in place is safe.
    std::memcpy(chunks_[size_ / kChunkSize].get() + in_chunk, data.data(), n);
    size_ += n;
    data = data.subspan(n);
  }
  return offset;
}

std::span<const std::byte> MemoryFile::read(std::uint64_t offset, std::size_t n,
                                            std::span<std::byte> scratch) const {
  std::lock_guard lock(mu_);
  backend::check_range(offset, n, size_, label_);
  if (n == 0) return {};
  const std::size_t in_chunk = static_cast<std::size_t>(offset % kChunkSize);
  if (in_chunk + n <= kChunkSize) {
    // Stays valid: the chunk is never freed while the file has bytes in it (or retired).
    return {chunks_[offset / kChunkSize].get() + in_chunk, n};
  }
  backend::check_scratch(n, scratch.size(), label_);
  std::span<std::byte> out = scratch.first(n);
  while (!out.empty()) {
    const std::size_t at = static_cast<std::size_t>(offset % kChunkSize);
    const std::size_t m = std::min(out.size(), kChunkSize - at);
    std::memcpy(out.data(), chunks_[offset / kChunkSize].get() + at, m);
    offset += m;
    out = out.subspan(m);
  }
  return scratch.first(n);
}

PinnedBytes MemoryFile::pin_in_chunk(std::uint64_t offset, std::size_t n) const {
  std::lock_guard lock(mu_);
  backend::check_range(offset, n, size_, label_);
  const std::size_t in_chunk = static_cast<std::size_t>(offset % kChunkSize);
  if (n == 0 || in_chunk + n > kChunkSize) return {};
  const std::shared_ptr<std::byte[]>& chunk = chunks_[offset / kChunkSize];
  return {std::span<const std::byte>(chunk.get() + in_chunk, n), chunk};
}

std::uint64_t MemoryFile::size() const { return size_.load(std::memory_order_acquire); }

void MemoryFile::truncate(std::uint64_t new_size) {
  std::lock_guard lock(mu_);
  if (new_size > size_) {
    throw InvalidArgument("cannot truncate " + label_ + " to " + std::to_string(new_size) +
                          " bytes: it holds only " + std::to_string(size_));
  }
  truncate_locked(new_size);
}

void MemoryFile::truncate_locked(std::uint64_t new_size) {
  const std::size_t keep_chunks = static_cast<std::size_t>((new_size + kChunkSize - 1) / kChunkSize);
  chunks_.resize(keep_chunks);
  const std::size_t tail = static_cast<std::size_t>(new_size % kChunkSize);
  // Later appends would overwrite bytes a pinned view may still show.
  if (tail != 0 && new_size < size_) replace_chunk_locked(keep_chunks - 1, tail);
  size_ = new_size;
}

void MemoryFile::replace_chunk_locked(std::size_t c, std::size_t bytes) {
  auto fresh = std::make_shared_for_overwrite<std::byte[]>(kChunkSize);
  std::memcpy(fresh.get(), chunks_[c].get(), bytes);
  retired_.push_back(std::exchange(chunks_[c], std::move(fresh)));
}

MemorySegment::MemorySegment(std::shared_ptr<MemoryFile> file, std::string name, bool writable)
    : file_(std::move(file)), name_(std::move(name)), writable_(writable) {}

std::uint64_t MemorySegment::append(std::span<const std::byte> data) {
  backend::check_writable(writable_, sealed_.load(), file_->label());
  return file_->append(data);
}

PinnedBytes MemorySegment::pin(std::uint64_t offset, std::size_t n) const {
  PinnedBytes pinned = file_->pin_in_chunk(offset, n);
  if (pinned.keep_alive || n == 0) return pinned;
  // Spans chunks. A concurrent truncate below offset + n makes the copy's
  // read() throw, as it should.
  return pinned_copy(offset, n);
}

void MemorySegment::sync() {}  // RAM: nothing to make durable (power cuts: tests/fault_injection.h)

void MemorySegment::truncate(std::uint64_t new_size) {
  backend::check_writable(writable_, sealed_.load(), file_->label());
  file_->truncate(new_size);
}

void MemorySegment::seal_unsynced() { sealed_.store(true); }

void MemorySegment::seal() {
  if (sealed()) return;
  sync();
  sealed_.store(true);
}

}  // namespace pyk
