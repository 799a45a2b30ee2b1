#include "backends/file_segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "backends/checks.h"
#include "backends/io_ring.h"
#include "core/error.h"

namespace pyk {

std::unique_ptr<Segment> FileSegment::create(const std::string& path, const std::string& name,
                                             std::uint64_t size_hint) {
  posix::Fd fd = posix::open_file(path, O_RDWR | O_CREAT | O_EXCL);
  return std::make_unique<FileSegment>(path, name, std::move(fd), true, 0, size_hint);
}

std::unique_ptr<Segment> FileSegment::open(const std::string& path, const std::string& name,
                                           OpenMode mode) {
  const bool writable = mode == OpenMode::append;
  posix::Fd fd = posix::open_file(path, writable ? O_RDWR : O_RDONLY);
  const std::uint64_t size = posix::file_size(fd.get(), path);
  return std::make_unique<FileSegment>(path, name, std::move(fd), writable, size);
}

FileSegment::FileSegment(std::string path, std::string name, posix::Fd fd, bool writable,
                         std::uint64_t size, std::uint64_t zero_limit)
    : path_(std::move(path)),
      name_(std::move(name)),
      fd_(std::move(fd)),
      zero_limit_(zero_limit),
      appends_(fd_.get(), path_, size, writable) {}

FileSegment::~FileSegment() { appends_.flush_quietly(); }

std::uint64_t FileSegment::append(std::span<const std::byte> data) { return appends_.append(data); }

std::span<const std::byte> FileSegment::read(std::uint64_t offset, std::size_t n,
                                             std::span<std::byte> scratch) const {
  backend::check_scratch(n, scratch.size(), path_);
  const std::span<std::byte> out = scratch.first(n);
  const std::uint64_t in_file = appends_.in_file();
  if (backend::lies_within(offset, out.size(), in_file)) {  // all in the file already
    if (!out.empty()) posix::pread_exact(fd_.get(), out, offset, path_);
    return out;
  }
  const std::uint64_t flushed = appends_.copy_buffered(offset, out);
  // Bytes in the file never change under a reader (append-only), so pread
  // them outside the lock; this is what keeps readers off the appender's path.
  if (offset < flushed) {
    const auto m = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), flushed - offset));
    posix::pread_exact(fd_.get(), out.first(m), offset, path_);
  }
  return out;
}

void FileSegment::read_many(std::span<const SegmentRead> reads) const {
  const std::uint64_t in_file = appends_.in_file();
  const bool all_in_file = std::all_of(reads.begin(), reads.end(), [&](const SegmentRead& r) {
    return backend::lies_within(r.offset, r.out.size(), in_file);
  });
  if (reads.size() > 1 && all_in_file && io_ring::read_batch(fd_.get(), reads, path_)) return;
  Segment::read_many(reads);
}

void FileSegment::sync() { appends_.sync(zero_limit_); }

void FileSegment::truncate(std::uint64_t new_size) { appends_.truncate(new_size); }

void FileSegment::seal() { appends_.seal_synced(); }

void FileSegment::seal_unsynced() {
  appends_.seal_flushed();  // to the OS: a later sync() is then an fdatasync only
}

bool FileSegment::sealed() const { return appends_.sealed(); }

}  // namespace pyk
