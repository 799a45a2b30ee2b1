#include "backends/mmap_segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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
      size_(size) {
  try {
    file_ = ipc::file_mapping(path_.c_str(), ipc::read_only);
  } catch (const ipc::interprocess_exception& e) {
    rethrow_as_io_error(e, "open for mapping", path_);
  }
  reserve = std::max(reserve, size);
  // Mapping past the end of the file is fine: only pages below size() are read.
  if (reserve > 0) map(round_up_to_page(reserve));
}

void MmapSegment::map(std::uint64_t length) {
  std::shared_ptr<ipc::mapped_region> region;
  try {
    region = std::make_shared<ipc::mapped_region>(file_, ipc::read_only, 0,
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

std::uint64_t MmapSegment::append(std::span<const std::byte> data) {
  backend::check_writable(writable_, sealed_.load(), path_);
  const std::uint64_t offset = size_.load(std::memory_order_relaxed);
  if (data.empty()) return offset;
  const std::uint64_t end = offset + data.size();
  // Double the mapping when it is outgrown, so remaps (and retired regions) stay few.
  if (end > mapped_) map(round_up_to_page(std::max(end, 2 * mapped_)));
  // pwrite copies front to back, so a writer killed mid-append leaves a
  // prefix of `data` (a torn tail), never its end without its start.
  posix::append_at(fd_.get(), data, offset, path_);
  size_.store(end, std::memory_order_release);
  return offset;
}

std::span<const std::byte> MmapSegment::read(std::uint64_t offset, std::size_t n,
                                             std::span<std::byte> /*scratch*/) const {
  backend::check_range(offset, n, size(), path_);
  if (n == 0) return {};
  // Any region ever published covers what size() covered when it was loaded.
  return {base_.load(std::memory_order_acquire) + offset, n};
}

void MmapSegment::prefetch(std::uint64_t offset, std::size_t n) const noexcept {
  if (n == 0 || offset > size() || n > size() - offset) return;  // a hint: out of range is no error
  // The first lines only: the record's header and key and the start of its
  // value; the hardware prefetcher follows on from there.
  constexpr std::size_t kLine = 64, kLines = 4;
  const std::byte* p = base_.load(std::memory_order_acquire) + offset;
  for (std::size_t i = 0; i < std::min(n, kLine * kLines); i += kLine) __builtin_prefetch(p + i);
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
  posix::fdatasync_fd(fd_.get(), path_);
}

void MmapSegment::truncate(std::uint64_t new_size) {
  backend::check_writable(writable_, sealed_.load(), path_);
  if (new_size > size()) {
    throw InvalidArgument("cannot truncate " + path_ + " to " + std::to_string(new_size) +
                          " bytes: it holds only " + std::to_string(size()));
  }
  posix::ftruncate_fd(fd_.get(), new_size, path_);
  size_.store(new_size, std::memory_order_release);
}

void MmapSegment::seal() {
  if (sealed()) return;
  sync();
  sealed_.store(true);
}

void MmapSegment::seal_unsynced() {
  if (sealed()) return;
  sealed_.store(true);  // appends went through pwrite: the file is already its logical length
}

bool MmapSegment::sealed() const { return !writable_ || sealed_.load(); }

}  // namespace pyk
