#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <map>
#include <random>

#include "core/keydir.h"
#include "core/keydir_memory.h"

using pyk::KeyDir;
using pyk::Location;

BOOST_AUTO_TEST_SUITE(keydir)

BOOST_AUTO_TEST_CASE(put_find_erase) {
  KeyDir kd;
  BOOST_TEST(!kd.find("a").has_value());
  BOOST_TEST(!kd.put("a", {1, 2, 3, 0}).has_value());
  BOOST_TEST((kd.find("a").value() == Location{1, 2, 3, 0}));
  BOOST_TEST((kd.put("a", {4, 5, 6, 7}).value() == Location{1, 2, 3, 0}));
  BOOST_TEST((kd.find("a").value() == Location{4, 5, 6, 7}));
  BOOST_TEST(kd.size() == 1u);
  BOOST_TEST((kd.erase("a").value() == Location{4, 5, 6, 7}));
  BOOST_TEST(!kd.erase("a").has_value());
  BOOST_TEST(kd.size() == 0u);
}

BOOST_AUTO_TEST_CASE(expiry_can_be_added_and_removed) {
  KeyDir kd;
  kd.put("k", {1, 1, 1, 0});
  kd.put("k", {1, 2, 1, 99});
  BOOST_TEST(kd.find("k")->expiry == 99u);
  kd.put("k", {1, 3, 1, 0});
  BOOST_TEST(kd.find("k")->expiry == 0u);
  BOOST_TEST(kd.size() == 1u);
}

BOOST_AUTO_TEST_CASE(largest_key_and_binary_keys) {
  KeyDir kd;
  const std::string big(64 * 1024, 'k');
  const std::string binary("a\0b", 3);
  kd.put(big, {1, 1, 1, 0});
  kd.put(binary, {2, 2, 2, 0});
  kd.put("a", {3, 3, 3, 0});
  BOOST_TEST(kd.find(big)->segment == 1u);
  BOOST_TEST(kd.find(binary)->segment == 2u);
  BOOST_TEST(kd.find("a")->segment == 3u);
  std::size_t total = 0;
  kd.for_each([&](std::string_view k, const Location&) { total += k.size(); });
  BOOST_TEST(total == big.size() + 4);
}

BOOST_AUTO_TEST_CASE(matches_a_reference_map_under_random_churn) {
  // Enough churn to trigger arena compaction several times.
  KeyDir kd;
  std::map<std::string, Location> reference;
  std::mt19937 rng(7);
  for (std::uint32_t i = 0; i < 400000; ++i) {
    const std::string key = "key-" + std::to_string(rng() % 20000) + std::string(rng() % 40, 'x');
    switch (rng() % 3) {
      case 0:
      case 1: {
        const Location l{i, i * 3, i % 1000, (rng() % 2) ? i + 1ull : 0};
        kd.put(key, l);
        reference[key] = l;
        break;
      }
      default:
        BOOST_TEST(kd.erase(key).has_value() == (reference.erase(key) == 1));
    }
  }
  BOOST_TEST(kd.size() == reference.size());
  for (const auto& [k, l] : reference) BOOST_TEST((kd.find(k).value() == l));
  std::size_t visited = 0;
  kd.for_each([&](std::string_view k, const Location& l) {
    ++visited;
    BOOST_TEST((reference.at(std::string(k)) == l));
  });
  BOOST_TEST(visited == reference.size());
}

BOOST_AUTO_TEST_CASE(overwrites_do_not_grow_the_arena) {
  // put writes a fresh arena entry before it knows whether the key exists,
  // and must give it back when it does.
  KeyDir kd;
  for (std::uint32_t i = 0; i < 1000; ++i) kd.put("key-" + std::to_string(i), {1, i, 10, 0});
  const std::size_t bytes = kd.memory_bytes();
  for (std::uint32_t round = 0; round < 200; ++round) {
    for (std::uint32_t i = 0; i < 1000; ++i) kd.put("key-" + std::to_string(i), {2, round, 10, 0});
  }
  BOOST_TEST(kd.memory_bytes() == bytes);
  BOOST_TEST(kd.size() == 1000u);
  BOOST_TEST(kd.find("key-7")->offset == 199u);
}

BOOST_AUTO_TEST_CASE(overwrites_do_not_grow_a_full_table) {
  // A table sized for its keys (expected_keys, a reopen) may be full once
  // they are all in; an overwrite takes no slot, so it must not grow it.
  KeyDir kd;
  kd.reserve(5000);
  std::uint32_t keys = 0;
  for (; !kd.table().full(); ++keys) kd.put("key-" + std::to_string(keys), {1, keys, 10, 0});
  BOOST_TEST_REQUIRE(keys >= 5000u);
  const std::size_t bytes = kd.memory_bytes();
  for (std::uint32_t i = 0; i < keys; ++i) kd.put("key-" + std::to_string(i), {2, i, 10, 0});
  BOOST_TEST(kd.memory_bytes() == bytes);
  BOOST_TEST(kd.find("key-0")->segment == 2u);
  kd.put("one-more", {2, 0, 10, 0});  // a new key still grows it
  BOOST_TEST(kd.memory_bytes() > bytes);
  BOOST_TEST(kd.size() == keys + 1);
}

BOOST_AUTO_TEST_CASE(overwrite_at_a_chunk_boundary) {
  // Fill the first 1 MiB chunk exactly (32-byte entries), so the fresh entry
  // of the next put opens a new chunk; an overwrite then gives it back and
  // the next new key must land there, intact.
  KeyDir kd;
  const auto key = [](std::uint32_t i) {
    std::string k = std::to_string(i);
    return std::string(16 - k.size(), '0') + k;
  };
  const std::uint32_t per_chunk = (1u << 20) / 32;
  for (std::uint32_t i = 0; i < per_chunk; ++i) kd.put(key(i), {1, i, 1, 0});
  BOOST_TEST((kd.put(key(5), {2, 5, 1, 0}).value() == Location{1, 5, 1, 0}));
  BOOST_TEST(!kd.put(key(per_chunk), {3, 3, 3, 0}).has_value());
  BOOST_TEST((kd.find(key(per_chunk)).value() == Location{3, 3, 3, 0}));
  BOOST_TEST((kd.find(key(5)).value() == Location{2, 5, 1, 0}));
  BOOST_TEST((kd.find(key(per_chunk - 1)).value() == Location{1, per_chunk - 1, 1, 0}));
  BOOST_TEST(kd.size() == per_chunk + 1);
}

BOOST_AUTO_TEST_CASE(keys_of_every_length_up_to_40_stay_distinct) {
  // The hash reads short keys in overlapping words; keys that differ in any
  // one byte, or only in length, must still be told apart.
  KeyDir kd;
  std::uint32_t n = 0;
  for (std::size_t length = 1; length <= 40; ++length) {
    const std::string base(length, 'a');
    kd.put(base, {1, n++, 0, 0});
    kd.put(std::string(length, '\0'), {1, n++, 0, 0});
    for (std::size_t i = 0; i < length; ++i) {
      std::string k = base;
      k[i] = 'b';
      kd.put(k, {1, n++, 0, 0});
    }
  }
  BOOST_TEST(kd.size() == n);
  BOOST_TEST(kd.find(std::string(3, 'a')).has_value());
  BOOST_TEST(!kd.find(std::string(41, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(for_each_runs_in_put_order_and_a_moved_entry_comes_last) {
  KeyDir kd;
  for (std::uint32_t i = 0; i < 50000; ++i) kd.put("key" + std::to_string(i), {1, i, 10, 0});
  kd.put("key7", {1, 7, 11, 0});       // same entry size: updated in place
  kd.put("key3", {1, 3, 10, 99});      // gains an expiry: a fresh entry at the end
  kd.erase("key5");
  std::vector<std::string> order;
  kd.for_each([&](std::string_view k, const Location&) { order.emplace_back(k); });
  BOOST_TEST_REQUIRE(order.size() == 49999u);
  BOOST_TEST(order[0] == "key0");
  BOOST_TEST(order[3] == "key4");  // key3 moved, key5 gone
  BOOST_TEST(order[5] == "key7");
  BOOST_TEST(order.back() == "key3");
  for (std::size_t i = 6; i + 1 < order.size(); ++i) BOOST_TEST_REQUIRE(order[i] == "key" + std::to_string(i + 2));
}

BOOST_AUTO_TEST_CASE(clear_then_refill_walks_and_iterates_only_the_new_entries) {
  // Over several arena chunks both times, with different key lengths, so
  // the chunks end at different places.
  KeyDir kd;
  for (std::uint32_t i = 0; i < 100000; ++i) kd.put("old-key-" + std::to_string(i), {1, i, 10, 0});
  const std::uint64_t old_cursor = kd.walk(0, 10, 10, [](std::string_view, const Location&) {});
  kd.clear();
  for (std::uint32_t i = 0; i < 70000; ++i) {
    kd.put("k" + std::to_string(i) + std::string(i % 13, 'y'), {2, i, 10, 0});
  }
  std::size_t seen = 0;
  kd.for_each([&](std::string_view k, const Location& l) {
    seen += k.starts_with("k") && l.segment == 2;
  });
  BOOST_TEST(seen == 70000u);
  std::set<std::string> walked;
  std::uint64_t cursor = 0;
  do {
    cursor = kd.walk(cursor, 1000, 4000, [&](std::string_view k, const Location&) { walked.emplace(k); });
  } while (cursor != 0);
  BOOST_TEST(walked.size() == 70000u);
  // A cursor from before clear() starts over instead of landing in the new arena.
  std::size_t from_old = 0;
  kd.walk(old_cursor, 5, 5, [&](std::string_view k, const Location&) { from_old += k == "k0"; });
  BOOST_TEST(from_old == 1u);
}

BOOST_AUTO_TEST_CASE(packed_entries_round_trip_at_every_field_boundary) {
  // Key sizes around the one-byte limit (63), segment ids and record sizes
  // around each varint length, with and without expiry; overwrites that
  // change the entry's length move it, the rest update in place.
  KeyDir kd;
  std::map<std::string, Location> reference;
  const std::uint32_t sizes[] = {0, 1, 127, 128, 16383, 16384, 2097151, 2097152, UINT32_MAX};
  std::uint32_t n = 0;
  for (const std::size_t key_size : {1u, 2u, 62u, 63u, 64u, 65u, 300u, 65535u, 65536u}) {
    for (const std::uint32_t size : sizes) {
      for (const std::uint64_t expiry : {std::uint64_t{0}, UINT64_MAX}) {
        const std::string key = std::string(key_size, 'k') + std::to_string(n++ % 10);
        const Location l{sizes[n % std::size(sizes)], UINT32_MAX - n, size, expiry};
        kd.put(key.substr(0, key_size), l);
        reference[key.substr(0, key_size)] = l;
      }
    }
  }
  for (const auto& [k, l] : reference) BOOST_TEST((kd.find(k).value() == l));
  for (auto& [k, l] : reference) {  // every size again: some move, some stay
    l.size = sizes[(l.offset * 7) % std::size(sizes)];
    l.segment = sizes[(l.offset * 5) % std::size(sizes)];
    BOOST_TEST(kd.put(k, l).has_value());
  }
  BOOST_TEST(kd.size() == reference.size());
  std::size_t visited = 0;
  kd.for_each([&](std::string_view k, const Location& l) {
    ++visited;
    BOOST_TEST((reference.at(std::string(k)) == l));
  });
  BOOST_TEST(visited == reference.size());
}

BOOST_AUTO_TEST_CASE(a_forged_cursor_reports_only_entries_the_table_holds) {
  KeyDir kd;
  for (std::uint32_t i = 0; i < 20000; ++i) kd.put("key-" + std::to_string(i), {1, i, i % 300, 0});
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    std::uint64_t cursor = rng();
    if (round % 2 == 0) cursor = (cursor & 0xfffff) | (std::uint64_t{1} << 32);  // the current generation
    kd.walk(cursor, 50, 50, [&](std::string_view k, const Location& l) {
      const auto found = kd.find(k);
      BOOST_TEST_REQUIRE(found.has_value());
      BOOST_TEST_REQUIRE((*found == l));
    });
  }
}

// The arena and the table are mapped from the OS (core/keydir_memory.h):
// a destroyed keydir gives its memory back at once, where glibc's heap kept
// it (a reopened store's RSS then added to the closed one's).
BOOST_AUTO_TEST_CASE(a_destroyed_keydir_gives_its_memory_back) {
  const auto resident = [] {
    std::ifstream statm("/proc/self/statm");
    std::size_t total = 0, pages = 0;
    statm >> total >> pages;
    return pages * 4096;
  };
  const std::size_t before = resident();
  std::size_t during = 0;
  {
    KeyDir kd;
    kd.reserve(400000);
    char key[17];
    for (std::uint32_t i = 0; i < 400000; ++i) {
      std::snprintf(key, sizeof key, "%016u", i);
      kd.put(key, {1, 32 + i * 100, 100, 0});
    }
    BOOST_TEST(kd.find("0000000000399999")->offset == 32u + 399999u * 100);
    during = resident();
  }
  const std::size_t after = resident();
  BOOST_TEST_REQUIRE(during > before + (8u << 20));  // ~11 MB arena, ~2.5 MB table
  BOOST_TEST(after < before + (during - before) / 4, "after " << after << ", before " << before
                                                               << ", during " << during);
}

namespace {

// The process's anonymous memory in huge pages, in kB (smaps_rollup).
std::size_t anon_huge_kb() {
  std::ifstream rollup("/proc/self/smaps_rollup");
  std::string word;
  while (rollup >> word)
    if (word == "AnonHugePages:") {
      std::size_t kb = 0;
      rollup >> kb;
      return kb;
    }
  return 0;
}

// True if this kernel collapses a filled 2 MiB region into a huge page.
bool kernel_collapses() {
  const std::size_t bytes = KeyDir::kChunkSize;
  void* p = pyk::keydir_memory::allocate(bytes);
  std::memset(p, 1, bytes);
  const bool done = pyk::keydir_memory::collapse(p, bytes);
  pyk::keydir_memory::deallocate(p, bytes);
  return done;
}

}  // namespace

// The arena's chunks fill 4 KiB page by page; each one filled is collapsed
// into a huge page (core/keydir_memory.h), so gets find their entries
// without a TLB miss. The table stays under keydir_memory::kHugeFrom here,
// so only the arena can account for the huge pages.
BOOST_AUTO_TEST_CASE(filled_arena_chunks_are_collapsed_into_huge_pages) {
  if (!kernel_collapses()) {
    BOOST_TEST_MESSAGE("this kernel does not collapse (no MADV_COLLAPSE, or no free huge page): nothing to check");
    return;
  }
  const std::size_t before = anon_huge_kb();
  KeyDir kd;
  for (std::uint32_t i = 0; i < 200000; ++i) {
    char key[65];
    std::snprintf(key, sizeof key, "%064u", i);
    kd.put(key, {1, 32 + i, 100, 0});
  }
  BOOST_TEST_REQUIRE(kd.chunk_count() >= 5u);  // 64-byte keys: about 16 MB
  BOOST_TEST(kd.find(std::string(60, '0') + "1234")->offset == 32u + 1234u);
  const std::size_t full_chunks_kb = (kd.chunk_count() - 1) * (KeyDir::kChunkSize >> 10);
  // Most, not all: a huge page can be missing at the moment of one collapse.
  const std::size_t after = anon_huge_kb();
  BOOST_TEST(after >= before + full_chunks_kb / 2,
             "huge pages went from " << before << " to " << after << " kB for "
                                     << kd.chunk_count() << " chunks");
}

// A chunk filled whole at once (loading KEYDIR) is faulted in as huge pages
// from the start: its 4 KiB pages would each cost a fault and TLB misses
// of their own (on a VM with shadow paging, 4 ms per chunk to copy in and
// checksum instead of 0.2 ms).
BOOST_AUTO_TEST_CASE(chunks_filled_whole_are_faulted_in_as_huge_pages) {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(thp, modes);
  if (modes.find("[never]") != std::string::npos || modes.empty()) {
    BOOST_TEST_MESSAGE("transparent huge pages are off here: nothing to check");
    return;
  }
  const std::size_t before = anon_huge_kb();
  std::vector<KeyDir::Chunk> chunks;
  for (int i = 0; i < 4; ++i) chunks.push_back(KeyDir::new_filled_chunk());
  const std::size_t after = anon_huge_kb();
  // Most, not all: a huge page can be missing at the moment of one fault.
  BOOST_TEST(after >= before + 2 * (KeyDir::kChunkSize >> 10),
             "huge pages went from " << before << " to " << after << " kB for 4 chunks");
}

// find_many answers as find does, key by key, across its windows of 16:
// present and absent keys, a key asked twice, keys that share a tag.
BOOST_AUTO_TEST_CASE(find_many_answers_as_find_does) {
  KeyDir kd;
  for (std::uint32_t i = 0; i < 5000; i += 2) kd.put("key-" + std::to_string(i), {i % 7, i, 40 + i % 300, i % 3 == 0 ? i + 1ull : 0});
  std::vector<std::string> owned;
  for (std::uint32_t i = 0; i < 5000; i += 3) owned.push_back("key-" + std::to_string(i));
  owned.push_back("key-4");
  owned.push_back("");
  std::vector<std::string_view> keys(owned.begin(), owned.end());
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{17}, keys.size()}) {
    std::vector<std::optional<Location>> out(n, Location{9, 9, 9, 9});
    kd.find_many(std::span(keys).first(n), out);
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST((out[i] == kd.find(keys[i])), keys[i]);
  }
}

// Fresh keys put and erased, round after round, about 1,500 live at a
// time: erasing from groups that overflowed wears the table out
// (core/keydir_table.h), and each rebuild must size it for the keys it
// holds, not for the room it had.
BOOST_AUTO_TEST_CASE(churn_through_fresh_keys_keeps_the_table_small) {
  KeyDir kd;
  const auto key = [](std::uint32_t i) { return "key-" + std::to_string(i); };
  std::size_t largest_table = 0;
  for (std::uint32_t round = 1; round < 1000; ++round) {
    for (std::uint32_t i = 0; i < 1000; ++i) kd.put(key(round * 1000 + i), {1, i, 10, 0});
    for (std::uint32_t i = 0; i < 1000; ++i) BOOST_TEST_REQUIRE(kd.erase(key((round - 1) * 1000 + i)).has_value() == (round > 1));
    largest_table = std::max(largest_table, kd.memory_bytes() - kd.chunk_count() * (2u << 20));
  }
  BOOST_TEST(kd.size() == 1000u);
  BOOST_TEST(kd.find(key(999 * 1000 + 7))->offset == 7u);
  BOOST_TEST(!kd.find(key(998 * 1000 + 7)).has_value());
  // 2,000 keys at most: a table for 4,000 (grown 2x) is 24 KiB.
  BOOST_TEST(largest_table <= 32u << 10, "largest table " << largest_table);
}

BOOST_AUTO_TEST_SUITE_END()
