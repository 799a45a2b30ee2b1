#include "backends/mmap_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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

}  // namespace

std::unique_ptr<Segment> MmapSegment::create(const std::string& path, const std::string& name,
                                             std::uint64_t size_hint) {
  posix::Fd fd = posix::open_file(path, O_RDWR | O_CREAT | O_EXCL);
  const std::uint64_t reserve = size_hint != 0 ? size_hint : kDefaultReserve;
  return std::make_unique<MmapSegment>(path, name, std::move(fd), true, 0, reserve);
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
                         std::uint64_t size, std::uint64_t reserve)
    : path_(std::move(path)),
      name_(std::move(name)),
      fd_(std::move(fd)),
      writable_(writable),
      allocated_(size),
      synced_(size),
      size_(size) {
  try {
    file_ = ipc::file_mapping(path_.c_str(), writable_ ? ipc::read_write : ipc::read_only);
  } catch (const ipc::interprocess_exception& e) {
    rethrow_as_io_error(e, "open for mapping", path_);
  }
  reserve = std::max(reserve, size);
  if (reserve > 0) map(writable_ ? round_up_to_page(reserve) : reserve);
}

MmapSegment::~MmapSegment() {
  if (writable_ && !sealed_.load() && allocated_ != size()) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(size())) != 0) {
      // best effort: a zero tail is harmless
    }
  }
}

void MmapSegment::map(std::uint64_t length) {
  std::shared_ptr<ipc::mapped_region> region;
  try {
    region = std::make_shared<ipc::mapped_region>(
        file_, writable_ ? ipc::read_write : ipc::read_only, 0, static_cast<std::size_t>(length));
  } catch (const ipc::interprocess_exception& e) {
    rethrow_as_io_error(e, "mmap", path_);
  }
  auto* base = static_cast<std::byte*>(region->get_address());
  {
    std::lock_guard lock(regions_mu_);
    regions_.push_back(std::move(region));
  }
  mapped_ = length;
  base_.store(base, std::memory_order_release);
}

void MmapSegment::reserve(std::uint64_t end) {
  if (end <= allocated_) return;
  // Double the mapping when it is outgrown, so remaps (and retired regions) stay few.
  const std::uint64_t new_mapped =
      end <= mapped_ ? mapped_ : round_up_to_page(std::max(end, 2 * mapped_));
  if (new_mapped != mapped_) map(new_mapped);  // first, so allocated_ <= mapped_ always holds
  const std::uint64_t target =
      std::min(new_mapped, std::max(end, allocated_ + kAllocationStep));
  posix::fallocate_fd(fd_.get(), allocated_, target - allocated_, path_);
  allocated_ = target;
}

namespace {

// Copies front to back, 16 bytes at a time, with a compiler barrier between
// steps. If the process dies mid-append (SIGKILL), the bytes in the shared
// mapping are then a prefix of `data`. memcpy gives no such order (glibc may
// store the end first): a killed writer left a batch whose header was still
// zero but whose records were complete, which recovery must reject as damage
// in the middle of the segment. No record fits in 16 bytes.
void copy_in_order(std::byte* out, const std::byte* in, std::size_t n) {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    std::memcpy(out + i, in + i, 16);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  std::memcpy(out + i, in + i, n - i);
}

}  // namespace

std::uint64_t MmapSegment::append(std::span<const std::byte> data) {
  backend::check_writable(writable_, sealed_.load(), path_);
  const std::uint64_t offset = size_.load(std::memory_order_relaxed);
  if (data.empty()) return offset;
  reserve(offset + data.size());
  copy_in_order(base_.load(std::memory_order_relaxed) + offset, data.data(), data.size());
  size_.store(offset + data.size(), std::memory_order_release);
  return offset;
}

std::span<const std::byte> MmapSegment::read(std::uint64_t offset, std::size_t n,
                                             std::span<std::byte> /*scratch*/) const {
  backend::check_range(offset, n, size(), path_);
  if (n == 0) return {};
  // Any region ever published covers what size() covered when it was loaded.
  return {base_.load(std::memory_order_acquire) + offset, n};
}

PinnedBytes MmapSegment::pin(std::uint64_t offset, std::size_t n) const {
  backend::check_range(offset, n, size(), path_);
  if (n == 0) return {};
  std::shared_ptr<const ipc::mapped_region> region;
  {
    std::lock_guard lock(regions_mu_);
    region = regions_.back();
  }
  const auto* base = static_cast<const std::byte*>(region->get_address());
  return {std::span(base + offset, n), std::move(region)};
}

void MmapSegment::sync() {
  if (!writable_) return;
  std::lock_guard lock(sync_mu_);
  // size first: any region published before it covers [0, size). A remap racing
  // with us is harmless, since old regions stay mapped and share the page cache.
  const std::uint64_t size = this->size();
  if (size <= synced_) return;
  posix::msync_range(base_.load(std::memory_order_acquire), synced_, size, path_);
  synced_ = size;
}

void MmapSegment::truncate(std::uint64_t new_size) {
  backend::check_writable(writable_, sealed_.load(), path_);
  if (new_size > size()) {
    throw InvalidArgument("cannot truncate " + path_ + " to " + std::to_string(new_size) +
                          " bytes: it holds only " + std::to_string(size()));
  }
  // Cutting the file (rather than zeroing the mapping) is cheap even for a
  // large preallocated tail; the next append fallocates zeroed blocks again.
  posix::ftruncate_fd(fd_.get(), new_size, path_);
  allocated_ = new_size;
  std::lock_guard lock(sync_mu_);
  synced_ = std::min(synced_, new_size);
  size_.store(new_size, std::memory_order_release);
}

void MmapSegment::seal() {
  if (sealed()) return;
  sync();
  // The trim need not be durable: a zero tail left by a crash reads as end of data.
  if (allocated_ != size()) {
    posix::ftruncate_fd(fd_.get(), size(), path_);
    allocated_ = size();
  }
  sealed_.store(true);
}

bool MmapSegment::sealed() const { return !writable_ || sealed_.load(); }

}  // namespace pyk
