// The in-memory backend's files and segments.
//
// MemoryFile holds the bytes of one file in fixed-size chunks that are never
// moved, nor freed while a view or a pinned view may use them. Power cuts are
// simulated by the fault-injection wrapper (tests/fault_injection.h), over
// this backend as over real files.
// MemorySegment is one open handle on a MemoryFile; several handles (and the
// directory entry) may share a file.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/segment.h"

namespace pyk {

// Thread-safe: every member may be called from any thread.
class MemoryFile {
 public:
  static constexpr std::size_t kChunkSize = 64 * 1024;

  // `label` names the file in error messages.
  explicit MemoryFile(std::string label) : label_(std::move(label)) {}

  std::uint64_t append(std::span<const std::byte> data);
  // Segment::read(): a view when the range lies in one chunk, else a copy
  // into `scratch`.
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const;
  // Zero-copy pin of a range in one chunk; empty (no keep_alive) if the range
  // spans chunks or is empty.
  PinnedBytes pin_in_chunk(std::uint64_t offset, std::size_t n) const;
  std::uint64_t size() const;
  // Pinned views of the cut part keep their bytes: a chunk that is cut in the
  // middle is replaced by a copy instead of being written over later (and
  // kept, for the views of its bytes below the cut).
  void truncate(std::uint64_t new_size);

  const std::string& label() const { return label_; }

 private:
  void truncate_locked(std::uint64_t new_size);
  // Gives chunk `c` a fresh copy of its first `bytes` bytes and retires the
  // old one, so views into it stay valid while it is written over.
  void replace_chunk_locked(std::size_t c, std::size_t bytes);

  const std::string label_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<std::byte[]>> chunks_;  // GUARDED_BY(mu_)
  // GUARDED_BY(mu_). Chunks replaced by replace_chunk_locked(): read() views
  // hold no reference, so they live as long as the file (truncates are rare).
  std::vector<std::shared_ptr<std::byte[]>> retired_;
  // Written under mu_; size() reads it without the lock (the store asks for
  // it on every append).
  std::atomic<std::uint64_t> size_{0};
};

class MemorySegment final : public Segment {
 public:
  MemorySegment(std::shared_ptr<MemoryFile> file, std::string name, bool writable);

  std::uint64_t append(std::span<const std::byte> data) override;
  std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                  std::span<std::byte> scratch) const override {
    return file_->read(offset, n, scratch);
  }
  PinnedBytes pin(std::uint64_t offset, std::size_t n) const override;
  bool zero_copy() const override { return true; }
  std::uint64_t size() const override { return file_->size(); }
  // A no-op: RAM holds nothing more durably once synced.
  void sync() override;
  void truncate(std::uint64_t new_size) override;
  void seal() override;
  void seal_unsynced() override;
  bool sealed() const override { return !writable_ || sealed_.load(); }
  const std::string& name() const override { return name_; }
  std::string describe() const override { return file_->label(); }

 private:
  const std::shared_ptr<MemoryFile> file_;
  const std::string name_;
  const bool writable_;
  std::atomic<bool> sealed_{false};
};

}  // namespace pyk
