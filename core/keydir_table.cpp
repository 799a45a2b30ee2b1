#include "core/keydir_table.h"

#include <algorithm>

namespace pyk {

KeyDirTable::KeyDirTable(std::size_t keys) {
  // The fewest groups whose capacity_of reaches `keys`; at least one, so a
  // lookup in an empty table needs no branch of its own.
  groups_ = std::max<std::size_t>(1, (keys * 8 + kSlots * 7 - 1) / (kSlots * 7));
  const std::size_t bytes = groups_ * sizeof(Group);
  groups_ptr_ = std::unique_ptr<Group, Free>(static_cast<Group*>(keydir_memory::allocate(bytes)),
                                             Free{bytes});
  available_ = capacity_of(groups_);
}

KeyDirTable KeyDirTable::for_image(std::size_t groups) {
  KeyDirTable table;
  table.groups_ = std::max<std::size_t>(1, groups);
  const std::size_t bytes = table.groups_ * sizeof(Group);
  table.groups_ptr_ = std::unique_ptr<Group, Free>(
      static_cast<Group*>(keydir_memory::allocate(bytes, /*populate=*/true)), Free{bytes});
  table.available_ = 0;
  return table;
}

void KeyDirTable::adopt_image(std::size_t available) {
  size_ = 0;
  for (std::size_t g = 0; g < groups_; ++g) size_ += static_cast<std::size_t>(__builtin_popcount(used(groups_data()[g])));
  // capacity() is below the slot count, so this leaves a free slot per insert.
  available_ = std::min(available, capacity() > size_ ? capacity() - size_ : 0);
}

KeyDirTable::Slot KeyDirTable::insert(std::uint64_t hash, std::uint32_t position) {
  const std::uint8_t t = tag(hash);
  const std::uint32_t bit = overflow_bit(hash);
  std::uint32_t g = home(hash);
  for (;;) {  // ends: a table that is not full has a free slot
    Group& group = groups_data()[g];
    if (const unsigned free = match(group, 0); free != 0) {
      const auto i = static_cast<std::uint32_t>(__builtin_ctz(free));
      group.tags[i] = t;
      group.positions[i] = position;
      ++size_;
      --available_;
      return {g, i};
    }
    group.overflow |= bit;
    g = next(g);
  }
}

void KeyDirTable::erase(Slot slot) {
  Group& group = groups_data()[slot.group];
  group.tags[slot.index] = 0;
  --size_;
  // A slot freed in a group that overflowed does not shorten any probe
  // (lookups still pass on through it): it gives no capacity back.
  if (group.overflow == 0) ++available_;
}

}  // namespace pyk
