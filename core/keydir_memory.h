// Memory for the keydir's two big structures, its arena chunks and its hash
// table, mapped straight from the OS instead of taken from malloc:
//  - a lookup touches a random table slot and a random arena entry; in
//    2 MiB pages (MADV_HUGEPAGE, 2 MiB aligned) neither costs a TLB miss,
//    where 4 KiB pages miss on nearly every lookup;
//  - freed memory goes back to the OS at once (glibc's heap keeps the
//    1 MiB blocks of a closed store's keydir, and the next open's RSS adds
//    to it).
// Small requests (an empty or tiny table) still come from operator new,
// and small regions keep 4 KiB pages (a huge page is zeroed whole at its
// first touch: a tiny store would pay 2 MiB for a few keys).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>

namespace pyk::keydir_memory {

// Bytes from which a request is mapped rather than allocated.
inline constexpr std::size_t kMapFrom = 256 * 1024;

// Huge pages for requests of kHugeFrom bytes or more (the table).
inline constexpr std::size_t kHugeFrom = 4u << 20;

// Zeroed memory, 64-byte aligned (a cache line). Throws std::bad_alloc.
// `populate`: the pages are faulted in up front, in one call, for memory
// about to be filled whole (a snapshot's chunk); such a region of 2 MiB or
// more is given huge pages too, since it is zeroed whole either way.
void* allocate(std::size_t bytes, bool populate = false);
void deallocate(void* p, std::size_t bytes) noexcept;

// Asks the kernel to back the whole 2 MiB pages of `bytes` at `p` (a region
// from allocate, already filled) with huge pages now (MADV_COLLAPSE, Linux
// 6.1): an arena chunk, filled 4 KiB page by page by puts. A get then finds
// its arena entry without a TLB miss, where huge pages at fault time cost
// puts (direct compaction on the write path). Synchronous: one 2 MiB copy,
// more when the kernel must compact to find a free huge page (so a reopen,
// which loads every chunk at once, does not ask: it took 1M reopens from
// 21-24 ms to 24-88 ms). Only a hint: true if the kernel did it;
// false where it lacks MADV_COLLAPSE or has no free huge page, and the pages
// stay as they are.
bool collapse(void* p, std::size_t bytes) noexcept;

// For a big std::vector that is sized once and then written whole, such as
// for_each's 8 bytes per live key: allocate(bytes, populate = true), so its
// pages are faulted in by one call, in huge pages from 2 MiB, rather than
// one fault per 4 KiB page at first touch (then random writes into it miss
// the TLB too). resize() leaves new elements default-initialized (they are
// about to be written) instead of writing zeros. Trivial types only.
template <class T>
struct PopulatedAllocator {
  static_assert(std::is_trivial_v<T>);
  using value_type = T;
  PopulatedAllocator() = default;
  template <class U>
  PopulatedAllocator(const PopulatedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(keydir_memory::allocate(n * sizeof(T), true)); }
  void deallocate(T* p, std::size_t n) noexcept { keydir_memory::deallocate(p, n * sizeof(T)); }
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  friend bool operator==(const PopulatedAllocator&, const PopulatedAllocator&) { return true; }
};

}  // namespace pyk::keydir_memory
