// KeyDirTable: the keydir's hash table, from a key's 64-bit hash to the arena
// position of its entry (core/keydir.h). It holds hashes' slices and
// positions, never keys: callers pass the hash and a predicate that says
// whether the entry at a position holds their key.
//
// Open addressing over groups of one cache line: 12 one-byte tags (a slice
// of the hash, 0 = free slot), a 32-bit overflow word and 12 four-byte
// positions. A lookup reads one line per group it probes and compares keys
// only where a tag matches (another key's slot matches 1 time in 255). Tags and
// positions share the line, where boost::unordered_flat_set keeps them in two
// arrays: one cache miss per lookup instead of two. Callers that know many
// hashes ahead (rebuilds, snapshot loads, get_many) prefetch their groups.
//
// The hash's high 32 bits pick the home group (scaled to any group count);
// groups are probed linearly from there. An insert that passes a full group
// sets that group's overflow bit for the key's class (5 bits of the hash),
// so a lookup stops at the first group whose bit for its class is clear.
// Erasing leaves the bits set (only a rebuild clears them), as in boost's
// flat tables; erasing from a group that overflowed gives no capacity back,
// so a table worn by erasures reports full() and its owner rebuilds it.
//
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/keydir_memory.h"

namespace pyk {

class KeyDirTable {
 public:
  // A slot: its group and its index in the group.
  struct Slot {
    std::uint32_t group = kNone;
    std::uint32_t index = 0;
    explicit operator bool() const { return group != kNone; }
  };

  // A table with room for `keys` keys before it is full().
  explicit KeyDirTable(std::size_t keys = 0);
  KeyDirTable(KeyDirTable&&) noexcept = default;
  KeyDirTable& operator=(KeyDirTable&&) noexcept = default;

  std::size_t size() const { return size_; }
  // No room for one more key: the owner rebuilds the table before inserting.
  bool full() const { return available_ == 0; }
  // Keys a table of this size holds before it is full.
  std::size_t capacity() const { return capacity_of(groups_); }
  std::size_t memory_bytes() const { return groups_ * sizeof(Group); }

  std::uint32_t position(Slot slot) const { return groups_data()[slot.group].positions[slot.index]; }
  void set_position(Slot slot, std::uint32_t position) {
    groups_data()[slot.group].positions[slot.index] = position;
  }

  // Brings the home group of `hash` toward the cache.
  void prefetch(std::uint64_t hash) const { __builtin_prefetch(&groups_data()[home(hash)]); }

  // The position in the first slot of the home group whose tag matches
  // `hash`, if any: the entry a lookup of a batch prefetches before it
  // compares keys (core/keydir.h find_many).
  std::optional<std::uint32_t> first_candidate(std::uint64_t hash) const {
    const Group& group = groups_data()[home(hash)];
    const unsigned m = match(group, tag(hash));
    if (m == 0) return std::nullopt;
    return group.positions[__builtin_ctz(m)];
  }

  // The slot whose position `holds_key(position)` accepts, among those whose
  // tag matches `hash`; an empty Slot if none does.
  template <class HoldsKey>
  Slot find(std::uint64_t hash, HoldsKey&& holds_key) const {
    const std::uint8_t t = tag(hash);
    const std::uint32_t bit = overflow_bit(hash);
    std::uint32_t g = home(hash);
    for (std::size_t probed = 0; probed < groups_; ++probed) {
      const Group& group = groups_data()[g];
      for (unsigned m = match(group, t); m != 0; m &= m - 1) {
        const auto i = static_cast<std::uint32_t>(__builtin_ctz(m));
        if (holds_key(group.positions[i])) return {g, i};
      }
      if ((group.overflow & bit) == 0) break;
      g = next(g);
    }
    return {};
  }

  // Stores `position` under `hash`. REQUIRES: !full(), and no slot holds the
  // same key (find failed, or the caller knows the keys are distinct).
  Slot insert(std::uint64_t hash, std::uint32_t position);

  void erase(Slot slot);

  // The table's lines as they lie in memory, and what image() leaves out:
  // the keydir snapshot saves them, so that open copies the table back
  // instead of inserting every key again (core/keydir_snapshot.h).
  std::span<const std::byte> image() const {
    return {reinterpret_cast<const std::byte*>(groups_data()), memory_bytes()};
  }
  std::size_t groups() const { return groups_; }
  std::size_t available() const { return available_; }
  // A table of `groups` lines (at least one) whose bytes the caller fills
  // from an image (writable_image()), then takes over with adopt_image().
  // Its memory is faulted in up front. Throws std::bad_alloc.
  static KeyDirTable for_image(std::size_t groups);
  std::span<std::byte> writable_image() {
    return {reinterpret_cast<std::byte*>(groups_data()), memory_bytes()};
  }
  // Counts the keys of the image just filled in. The inserts left before
  // full() become `available` (what image() saved) or fewer: never more
  // than the free slots, so that whatever the bytes were, an insert finds one.
  void adopt_image(std::size_t available);
  // fn(position) for every used slot, in table order.
  template <class Fn>
  void for_each_position(Fn&& fn) const {
    const Group* groups = groups_data();
    for (std::size_t g = 0; g < groups_; ++g)
      for (unsigned m = used(groups[g]); m != 0; m &= m - 1) fn(groups[g].positions[__builtin_ctz(m)]);
  }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  static constexpr unsigned kSlots = 12;
  struct alignas(64) Group {
    std::uint8_t tags[kSlots];
    std::uint32_t overflow;  // bit c: a key of class c passed this group full
    std::uint32_t positions[kSlots];
  };
  static_assert(sizeof(Group) == 64);
  struct Free {
    std::size_t bytes;
    void operator()(Group* p) const noexcept { keydir_memory::deallocate(p, bytes); }
  };

  // At most 7 of every 8 slots used: probes stay short.
  static std::size_t capacity_of(std::size_t groups) { return groups * kSlots * 7 / 8; }
  static std::uint8_t tag(std::uint64_t hash) {
    const auto t = static_cast<std::uint8_t>(hash);
    return t == 0 ? 1 : t;
  }
  static std::uint32_t overflow_bit(std::uint64_t hash) { return 1u << ((hash >> 8) & 31); }
  std::uint32_t home(std::uint64_t hash) const {
    return static_cast<std::uint32_t>(((hash >> 32) * groups_) >> 32);
  }
  std::uint32_t next(std::uint32_t g) const { return g + 1 == groups_ ? 0 : g + 1; }
  // Bit i set where slot i holds a key.
  static unsigned used(const Group& group) { return ~match(group, 0) & ((1u << kSlots) - 1); }
  // Bit i set where tags[i] == t.
  static unsigned match(const Group& group, std::uint8_t t) {
#if defined(__SSE2__)
    const __m128i tags = _mm_load_si128(reinterpret_cast<const __m128i*>(&group));
    const auto bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(tags, _mm_set1_epi8(static_cast<char>(t)))));
    return bits & ((1u << kSlots) - 1);
#else
    unsigned bits = 0;
    for (unsigned i = 0; i < kSlots; ++i) bits |= unsigned{group.tags[i] == t} << i;
    return bits;
#endif
  }
  Group* groups_data() const { return groups_ptr_.get(); }

  std::size_t groups_ = 0;
  std::size_t size_ = 0;
  std::size_t available_ = 0;  // inserts left before full()
  std::unique_ptr<Group, Free> groups_ptr_;
};

}  // namespace pyk
