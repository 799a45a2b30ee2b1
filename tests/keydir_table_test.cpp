// KeyDirTable with hashes chosen by the test: every key of a test can share
// one home group and one tag, which forces the probing, overflow and
// wrap-around paths that real hashes reach only at random.
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <set>

#include "core/keydir_table.h"

using pyk::KeyDirTable;

namespace {

// A hash whose home group is the one `top` scales to, with tag `tag` and
// overflow class `cls`.
std::uint64_t make_hash(std::uint32_t top, std::uint8_t tag, unsigned cls = 0) {
  return std::uint64_t{top} << 32 | std::uint64_t{cls} << 8 | tag;
}

// Positions stand for keys: position p holds key p.
KeyDirTable::Slot find(const KeyDirTable& table, std::uint64_t hash, std::uint32_t key) {
  return table.find(hash, [&](std::uint32_t position) { return position == key; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keydir_table)

BOOST_AUTO_TEST_CASE(holds_what_it_was_sized_for_then_is_full) {
  KeyDirTable table(1000);
  BOOST_TEST(table.capacity() >= 1000u);
  BOOST_TEST(table.capacity() < 1000u + 12);  // the fewest groups that hold them
  for (std::uint32_t i = 0; !table.full(); ++i) table.insert(std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i);
  BOOST_TEST(table.size() == table.capacity());
  for (std::uint32_t i = 0; i < table.size(); ++i) BOOST_TEST(bool(find(table, std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i)));
  BOOST_TEST(table.memory_bytes() == 96u * 64);  // 1000 keys / 10.5 a group, rounded up
}

BOOST_AUTO_TEST_CASE(keys_sharing_a_group_and_a_tag_overflow_into_the_next_groups) {
  KeyDirTable table(1000);
  const std::uint64_t hash = make_hash(0x80000000u, 7);
  for (std::uint32_t key = 0; key < 100; ++key) table.insert(hash, key);  // 9 groups' worth
  for (std::uint32_t key = 0; key < 100; ++key) BOOST_TEST(bool(find(table, hash, key)));
  BOOST_TEST(!find(table, hash, 100));
  // Erasing keys of the first groups breaks no probe for those behind them.
  for (std::uint32_t key = 0; key < 30; ++key) table.erase(find(table, hash, key));
  for (std::uint32_t key = 30; key < 100; ++key) BOOST_TEST(bool(find(table, hash, key)));
  for (std::uint32_t key = 0; key < 30; ++key) BOOST_TEST(!find(table, hash, key));
  // The freed slots near home are reused.
  const KeyDirTable::Slot reused = table.insert(hash, 500);
  BOOST_TEST(reused.group == find(table, hash, 30).group - 2);
  BOOST_TEST(table.size() == 71u);
}

BOOST_AUTO_TEST_CASE(a_probe_from_the_last_group_wraps_to_the_first) {
  KeyDirTable table(100);
  const std::uint64_t last = make_hash(0xffffffffu, 9);
  for (std::uint32_t key = 0; key < 30; ++key) table.insert(last, key);
  std::set<std::uint32_t> groups;
  for (std::uint32_t key = 0; key < 30; ++key) {
    const KeyDirTable::Slot slot = find(table, last, key);
    BOOST_TEST_REQUIRE(bool(slot));
    BOOST_TEST(table.position(slot) == key);
    groups.insert(slot.group);
  }
  BOOST_TEST(groups.size() == 3u);
  BOOST_TEST(groups.count(0) == 1u);  // wrapped
}

BOOST_AUTO_TEST_CASE(a_miss_stops_at_the_first_group_its_class_never_overflowed) {
  // Class 1 overflows the home group; class 2's lookup then stops there
  // and never compares a key in the next group, class 1's does.
  KeyDirTable table(100);
  for (std::uint32_t key = 0; key < 13; ++key) table.insert(make_hash(0, 5, 1), key);
  int compared = 0;
  const auto count = [&](std::uint32_t) { ++compared; return false; };
  table.find(make_hash(0, 5, 2), count);
  BOOST_TEST(compared == 12);
  compared = 0;
  table.find(make_hash(0, 5, 1), count);
  BOOST_TEST(compared == 13);
}

BOOST_AUTO_TEST_CASE(erasing_from_an_overflowed_group_gives_no_capacity_back) {
  // Such a slot does not shorten any probe: a table worn by erasures must
  // end full() so that its owner rebuilds it, with fresh overflow bits.
  KeyDirTable table(24);
  const std::uint64_t hash = make_hash(0, 3);
  const std::size_t capacity = table.capacity();
  for (std::uint32_t key = 0; key < 13; ++key) table.insert(hash, key);
  table.erase(find(table, hash, 0));  // in the home group, which overflowed
  BOOST_TEST(table.size() == 12u);
  for (std::uint32_t key = 100; table.size() < capacity - 1; ++key) table.insert(make_hash(0, 4), key);
  BOOST_TEST(table.full());
}

BOOST_AUTO_TEST_CASE(a_tag_match_of_another_key_is_passed_over) {
  KeyDirTable table(100);
  const std::uint64_t hash = make_hash(0x40000000u, 200);
  table.insert(hash, 1);
  table.insert(hash, 2);
  const KeyDirTable::Slot slot = find(table, hash, 2);
  BOOST_TEST_REQUIRE(bool(slot));
  BOOST_TEST(table.position(slot) == 2u);
  table.set_position(slot, 3);
  BOOST_TEST(bool(find(table, hash, 3)));
  BOOST_TEST(!find(table, hash, 2));
}

// The keydir snapshot saves a table's lines and reloads them as they were.
BOOST_AUTO_TEST_CASE(a_table_copied_from_its_image_holds_the_same_keys) {
  KeyDirTable table(1000);
  for (std::uint32_t i = 0; i < 700; ++i) table.insert(std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i);
  for (std::uint32_t i = 0; i < 700; i += 3) table.erase(find(table, std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i));
  KeyDirTable copy = KeyDirTable::for_image(table.groups());
  BOOST_TEST_REQUIRE(copy.writable_image().size() == table.image().size());
  std::memcpy(copy.writable_image().data(), table.image().data(), table.image().size());
  copy.adopt_image(table.available());
  BOOST_TEST(copy.size() == table.size());
  BOOST_TEST(copy.available() == table.available());
  for (std::uint32_t i = 0; i < 700; ++i)
    BOOST_TEST(bool(find(copy, std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i)) == (i % 3 != 0), i);
  std::set<std::uint32_t> positions;
  copy.for_each_position([&](std::uint32_t p) { positions.insert(p); });
  BOOST_TEST(positions.size() == copy.size());
}

// Whatever an image claims, the inserts left never exceed the free slots
// (an insert into a table with none would probe forever).
BOOST_AUTO_TEST_CASE(an_image_claiming_more_room_than_it_has_is_held_to_its_free_slots) {
  KeyDirTable table(20);  // two groups: 24 slots, 21 of them usable
  for (std::uint32_t i = 0; i < 20; ++i) table.insert(std::uint64_t{i} * 0x9e3779b97f4a7c15ull, i);
  KeyDirTable copy = KeyDirTable::for_image(table.groups());
  std::memcpy(copy.writable_image().data(), table.image().data(), table.image().size());
  copy.adopt_image(SIZE_MAX);
  BOOST_TEST(copy.size() == 20u);
  BOOST_TEST(copy.available() == 1u);  // capacity 21, not the 4 free slots
  copy.insert(make_hash(0, 7), 99);
  BOOST_TEST(copy.full());
  // Bytes that are no table at all: every slot in use, room claimed anyway.
  KeyDirTable garbage = KeyDirTable::for_image(2);
  std::memset(garbage.writable_image().data(), 0xff, garbage.writable_image().size());
  garbage.adopt_image(1000);
  BOOST_TEST(garbage.size() == 24u);
  BOOST_TEST(garbage.full());
}

BOOST_AUTO_TEST_SUITE_END()
