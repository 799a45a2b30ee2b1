#include "backends/mmap_segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backends/checks.h"
#include "core/error.h"

namespace pyk {
namespace ipc = boost::interprocess;

namespace {

std::uint64_t round_up_to_page(std::uint64_t n) {
  const std::uint64_t page = ipc::mapped_region::get_page_size();
  return (n + page - 1) / page * page;
}

[[noreturn]] void rethrow_as_io_error(const ipc::interprocess_exception& e,
                                      const std::string& operation, const std::string& path) {
  const int code = e.get_native_error();
  throw IoError(operation + " failed for " + path + ": " + e.what(), path, code != 0 ? code : EIO);
}

// What ipc::mapped_region maps: the segment's own descriptor, the file its
// size was taken from (ipc::file_mapping would open the path again).
struct DescriptorMapping {
  int fd;
  ipc::mapping_handle_t get_mapping_handle() const {
    return ipc::ipcdetail::mapping_handle_from_file_handle(fd);
  }
};

}  // namespace

std::unique_ptr<Segment> MmapSegment::create(const std::string& path, const std::string& name,
                                             std::uint64_t size_hint) {
  posix::Fd fd = posix::open_file(path, O_RDWR | O_CREAT | O_EXCL);
  const std::uint64_t reserve = size_hint != 0 ? size_hint : kDefaultReserve;
  return std::make_unique<MmapSegment>(path, name, std::move(fd), true, 0, reserve, size_hint);
}

std::unique_ptr<Segment> MmapSegment::open(const std::string& path, const std::string& name,
                                           OpenMode mode) {
  const bool writable = mode == OpenMode::append;
  posix::Fd fd = posix::open_file(path, writable ? O_RDWR : O_RDONLY);
  const std::uint64_t size = posix::file_size(fd.get(), path);
  const std::uint64_t reserve = writable ? size + kDefaultReserve : size;
  return std::make_unique<MmapSegment>(path, name, std::move(fd), writable, size, reserve);
}

MmapSegment::MmapSegment(std::string path, std::string name, posix::Fd fd, bool writable,
                         std::uint64_t size, std::uint64_t reserve, std::uint64_t zero_limit)
    : path_(std::move(path)),
      name_(std::move(name)),
      fd_(std::move(fd)),
      zero_limit_(zero_limit),
      appends_(fd_.get(), path_, size, writable),
      warmer_(base_, size) {
  reserve = std::max(reserve, size);
  // Mapping past the end of the file is fine: only pages below size() are read.
  if (reserve > 0) map(round_up_to_page(reserve));
}

void MmapSegment::map(std::uint64_t length) {
  std::shared_ptr<ipc::mapped_region> region;
  try {
    region = std::make_shared<ipc::mapped_region>(DescriptorMapping{fd_.get()}, ipc::read_only, 0,
                                                  static_cast<std::size_t>(length));
  } catch (const ipc::interprocess_exception& e) {
    rethrow_as_io_error(e, "mmap", path_);
  }
  const auto* base = static_cast<const std::byte*>(region->get_address());
  {
    std::lock_guard lock(regions_mu_);
    regions_.push_back(std::move(region));
  }
  mapped_ = length;
  base_.store(base, std::memory_order_release);
}

MmapSegment::~MmapSegment() { appends_.flush_quietly(); }

std::uint64_t MmapSegment::append(std::span<const std::byte> data) {
  backend::check_writable(appends_.writable(), appends_.sealed(), path_);
  const std::uint64_t end = appends_.size() + data.size();
  // Mapped before the bytes can reach the file, so that the mapping always
  // covers in_file(). Doubled when outgrown, so remaps (and retired regions)
  // stay few.
  if (end > mapped_) map(round_up_to_page(std::max(end, 2 * mapped_)));
  const std::uint64_t offset = appends_.append(data);
  warmer_.advance(appends_.in_file());
  return offset;
}

std::span<const std::byte> MmapSegment::read(std::uint64_t offset, std::size_t n,
                                             std::span<std::byte> scratch) const {
  if (backend::lies_within(offset, n, appends_.in_file())) {
    if (n == 0) return {};
    // Any region ever published covers what in_file() covered when it was loaded.
    return {base_.load(std::memory_order_acquire) + offset, n};
  }
  backend::check_scratch(n, scratch.size(), path_);
  const std::span<std::byte> out = scratch.first(n);
  const std::uint64_t flushed = appends_.copy_buffered(offset, out);
  if (offset < flushed) {
    const auto m = static_cast<std::size_t>(std::min<std::uint64_t>(n, flushed - offset));
    std::memcpy(out.data(), base_.load(std::memory_order_acquire) + offset, m);
  }
  return out;
}

void MmapSegment::read_many(std::span<const SegmentRead> reads) const {
  // Copies out of the file with pread rather than out of the mapping: the
  // kernel reads the page cache through its own mapping, so pages this
  // mapping has not touched cost no first touch (backends/page_warmer.h).
  const std::uint64_t in_file = appends_.in_file();
  for (const SegmentRead& r : reads) {
    if (backend::lies_within(r.offset, r.out.size(), in_file)) {
      if (!r.out.empty()) posix::pread_exact(fd_.get(), r.out, r.offset, path_);
    } else {
      read_into(r.offset, r.out);
    }
  }
}

void MmapSegment::prefetch(std::uint64_t offset, std::size_t n) const noexcept {
  if (n == 0 || !backend::lies_within(offset, n, appends_.in_file())) return;  // a hint: out of range is no error
  // A line at a time; past 16 KiB the first lines' misses are long done
  // before the reader gets there.
  constexpr std::size_t kLine = 64, kMaxBytes = 16 << 10;
  const std::byte* p = base_.load(std::memory_order_acquire) + offset;
  for (std::size_t i = 0; i < std::min(n, kMaxBytes); i += kLine) __builtin_prefetch(p + i);
}

PinnedBytes MmapSegment::pin(std::uint64_t offset, std::size_t n) const {
  if (!backend::lies_within(offset, n, appends_.in_file())) return pinned_copy(offset, n);  // checks the range
  if (n == 0) return {};
  std::shared_ptr<const ipc::mapped_region> region;
  {
    std::lock_guard lock(regions_mu_);
    region = regions_.back();
  }
  const auto* base = static_cast<const std::byte*>(region->get_address());
  return {std::span(base + offset, n), std::move(region)};
}

void MmapSegment::sync() { appends_.sync(zero_limit_); }

void MmapSegment::truncate(std::uint64_t new_size) {
  warmer_.cut(new_size);
  appends_.truncate(new_size);
}

void MmapSegment::seal() {
  appends_.seal_synced();
  if (appends_.writable()) warmer_.finish(appends_.in_file());
}

void MmapSegment::seal_unsynced() {
  appends_.seal_flushed();  // to the OS: a later sync() is then an fdatasync only
  if (appends_.writable()) warmer_.finish(appends_.in_file());
}

bool MmapSegment::sealed() const { return appends_.sealed(); }

}  // namespace pyk
