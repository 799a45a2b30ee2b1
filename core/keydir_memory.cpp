#include "core/keydir_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>

namespace pyk::keydir_memory {
namespace {

constexpr std::size_t kHugePage = 2u << 20;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kLine = 64;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

void* allocate(std::size_t bytes, bool populate) {
  if (bytes < kMapFrom) {
    void* p = ::operator new(bytes, std::align_val_t{kLine});
    std::memset(p, 0, bytes);
    return p;
  }
  const std::size_t length = round_up(bytes, kPage);
  // Over-map by a huge page, then trim to a 2 MiB aligned start: the kernel
  // backs a region with huge pages only where it is aligned.
  const std::size_t mapped = length + kHugePage;
  void* raw = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) ::munmap(raw, aligned - start);
  const std::uintptr_t end = start + mapped, used_end = aligned + length;
  if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
#ifdef MADV_HUGEPAGE
  // Only a hint: where huge pages are off, 4 KiB pages serve as before. A
  // region filled whole at once (populate) gains nothing from 4 KiB pages:
  // every page is zeroed anyway, and each 4 KiB page costs a fault and TLB
  // misses of its own (on a VM with shadow paging, a 2 MiB chunk loaded
  // from KEYDIR took 4 ms to copy in and checksum, in a huge page 0.2 ms).
  if (bytes >= kHugeFrom || (populate && length >= kHugePage))
    (void)::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  if (populate) (void)::madvise(reinterpret_cast<void*>(aligned), length, MADV_POPULATE_WRITE);
#endif
  return reinterpret_cast<void*>(aligned);
}

void deallocate(void* p, std::size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kMapFrom) {
    ::operator delete(p, std::align_val_t{kLine});
    return;
  }
  ::munmap(p, round_up(bytes, kPage));
}

bool collapse(void* p, std::size_t bytes) noexcept {
#ifndef MADV_COLLAPSE
  constexpr int MADV_COLLAPSE = 25;  // older headers lack it; older kernels answer EINVAL
#endif
  if (bytes < kHugePage) return false;
  return ::madvise(p, bytes / kHugePage * kHugePage, MADV_COLLAPSE) == 0;
}

}  // namespace pyk::keydir_memory
