// The keydir snapshot (KEYDIR, core/keydir_snapshot.h): close saves the
// keydir, the next open loads it instead of replaying hints; a snapshot that
// does not describe the store exactly, or does not check, is never used.
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <filesystem>
#include <map>

#include "core/crc32c.h"
#include "core/filename.h"
#include "tests/backend_fixtures.h"
#include "tests/fault_injection.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

namespace {

const std::string kSnapshot(filename::kKeydirSnapshot);

// Close seals (and hints) an active segment of half max_segment_size or
// more; only then does it write a snapshot (every segment hinted).
void fill_active(Store& store, std::map<std::string, std::string>& model) {
  const auto active_bytes = [&] {
    for (const SegmentStats& s : store.stats().segments)
      if (s.active) return s.bytes;
    return std::uint64_t{0};
  };
  for (int i = 0; active_bytes() < 9 * 1024; ++i) {
    const std::string key = "pad" + std::to_string(model.size()) + "." + std::to_string(i);
    store.put(key, std::string(100, 'p'));
    model[key] = std::string(100, 'p');
  }
}

// Several sealed (hinted) segments and an active one, with overwrites,
// erases and keys that expire; `model` is what the store must hold.
template <class E>
void fill(E& env, std::map<std::string, std::string>& model) {
  Store store = env.open();
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "key" + std::to_string(i % 1200);
    const std::string value = std::string(40 + i % 50, static_cast<char>('a' + i % 26));
    store.put(key, value);
    model[key] = value;
    if (i % 7 == 0) {
      store.erase("key" + std::to_string((i * 13) % 1200));
      model.erase("key" + std::to_string((i * 13) % 1200));
    }
  }
  for (int i = 0; i < 50; ++i) {
    store.put("ttl" + std::to_string(i), "expiring", std::chrono::hours(1));
    model["ttl" + std::to_string(i)] = "expiring";
  }
  fill_active(store, model);
  store.close();
}

void check_holds(const Store& store, const std::map<std::string, std::string>& model) {
  BOOST_TEST(store.size() == model.size());
  for (const auto& [key, value] : model) BOOST_TEST(store.get(key).value_or("<absent>") == value, key);
  std::vector<std::string> keys;
  for (const auto& [key, value] : model) keys.push_back(key);
  BOOST_TEST(store.keys() == keys);
  BOOST_TEST(!store.get("key1200").has_value());
  BOOST_TEST((store.ttl("ttl3").state == KeyTtl::State::expiring));
}

// `bytes` with its trailing CRC made right again: a forgery that checks.
std::string with_crc(std::string bytes) {
  const std::uint32_t crc = crc32c::value(std::as_bytes(std::span(bytes.data(), bytes.size() - 4)));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  return bytes;
}

template <class T>
T load_at(const std::string& bytes, std::size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}
template <class T>
void store_at(std::string& bytes, std::size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}

// Where the table section starts (format.h: after the header and the
// segment table), and the byte offset of slot i's position in line g.
std::size_t table_at(const std::string& snapshot) {
  return 40 + load_at<std::uint32_t>(snapshot, 12) * std::size_t{24};
}
std::size_t position_at(const std::string& snapshot, std::size_t g, std::size_t i) {
  return table_at(snapshot) + 24 + g * 64 + 16 + 4 * i;
}
// The (line, slot) of the table's used slots.
std::vector<std::pair<std::size_t, std::size_t>> used_slots(const std::string& snapshot) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto lines = load_at<std::uint64_t>(snapshot, table_at(snapshot) + 8);
  for (std::size_t g = 0; g < lines; ++g)
    for (std::size_t i = 0; i < 12; ++i)
      if (snapshot[table_at(snapshot) + 24 + g * 64 + i] != 0) out.emplace_back(g, i);
  return out;
}

template <class E>
struct SnapshotEnv : StoreEnv<E> {
  SnapshotEnv() {
    this->options.max_segment_size = 16 * 1024;
    this->options.clock = clock.fn();
  }
  FakeClock clock;
};

// Puts `bytes` in place of KEYDIR and opens the store read-only: open must
// not use it, log why (`reason` is part of the line), and hold the model.
template <class E>
void check_ignored(SnapshotEnv<E>& env, const std::map<std::string, std::string>& model,
                   const std::string& bytes, const std::string& reason) {
  env.write_file(kSnapshot, bytes);
  env.log.clear();
  Options read_only = env.options;
  read_only.read_only = true;
  Store store = env.open(read_only);
  BOOST_TEST(store.stats().keys_from_snapshot == 0u);
  BOOST_TEST(env.log.find("KEYDIR not used") != std::string::npos, env.log);
  BOOST_TEST(env.log.find(reason) != std::string::npos, env.log);
  check_holds(store, model);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(keydir_snapshot)

BOOST_AUTO_TEST_CASE_TEMPLATE(open_after_a_clean_close_loads_the_snapshot_and_matches_a_replay, E,
                              AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  BOOST_TEST_REQUIRE(env.directory()->exists(kSnapshot));
  // The same files, read twice without changing them: replaying the hints,
  // then from the snapshot.
  Options read_only = env.options;
  read_only.read_only = true;
  Options replay = read_only;
  replay.keydir_snapshot = false;
  Stats replayed;
  {
    Store store = env.open(replay);
    replayed = store.stats();
    BOOST_TEST(replayed.keys_from_snapshot == 0u);
    BOOST_TEST(replayed.segments_from_hints > 2u);
    check_holds(store, model);
  }
  {
    Store store = env.open(read_only);
    const Stats loaded = store.stats();
    BOOST_TEST(loaded.keys_from_snapshot == model.size());
    BOOST_TEST(loaded.segments_from_hints == 0u);  // no hint was read
    check_same_segment_stats(loaded, replayed);
    check_holds(store, model);
  }
  BOOST_TEST(env.directory()->exists(kSnapshot));  // a read-only store leaves it
  {
    Store store = env.open();
    BOOST_TEST(store.stats().keys_from_snapshot == model.size());
    check_holds(store, model);
    store.put("after", "reopen");
    model["after"] = "reopen";
  }
  Options off = env.options;
  off.keydir_snapshot = false;
  {
    Store store = env.open(off);
    BOOST_TEST(store.stats().keys_from_snapshot == 0u);
    check_holds(store, model);
  }
  BOOST_TEST(!env.directory()->exists(kSnapshot));  // keydir_snapshot = false writes none
  Store store = env.open();
  BOOST_TEST(store.stats().keys_from_snapshot == 0u);
  check_holds(store, model);
}

// Puts back a snapshot saved before the store changed: every way the store
// can differ from it makes open replay the hints instead.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_stale_snapshot_is_never_used, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string old_snapshot = env.read_file(kSnapshot);
  const auto reopen_with_old_snapshot = [&](const char* what) {
    BOOST_TEST_CONTEXT(what) {
      env.write_file(kSnapshot, old_snapshot);
      env.log.clear();
      Store store = env.open();
      BOOST_TEST(store.stats().keys_from_snapshot == 0u);
      BOOST_TEST(env.log.find("KEYDIR not used") != std::string::npos, env.log);
      check_holds(store, model);
    }
  };
  {  // written to: a newer segment, another manifest
    Store store = env.open();
    store.put("key5", "newer");
    model["key5"] = "newer";
    fill_active(store, model);
  }
  BOOST_TEST_REQUIRE(env.read_file(kSnapshot) != old_snapshot);
  reopen_with_old_snapshot("after writes");
  {  // merged: other segments
    Store store = env.open();
    store.erase("key6");
    model.erase("key6");
    store.seal_active();
    store.merge();
    fill_active(store, model);
  }
  reopen_with_old_snapshot("after a merge");
}

// The same files under another manifest generation (or with another size
// recorded for a segment): a snapshot whose checksum is right, but which
// describes another store, is stale. And one whose key count is absurd.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_snapshot_of_another_generation_or_size_is_stale, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string good = env.read_file(kSnapshot);
  const auto patched = [&](std::size_t at) {
    std::string bytes = good;
    bytes[at] ^= 0x01;
    return with_crc(bytes);
  };
  for (const auto& [what, at] : {std::pair{"generation", 16}, std::pair{"a segment's size", 40 + 16}}) {
    BOOST_TEST_CONTEXT(what) { check_ignored(env, model, patched(at), "(stale)"); }
  }
  // One of another format version (an older pyk's, say) says so.
  std::string older = good;
  store_at<std::uint32_t>(older, 8, 2);
  check_ignored(env, model, with_crc(older), "it has format version 2, this pyk reads 3");
  // A key count no file of that size could hold is refused before the table
  // is sized for it (found by keydir_snapshot_fuzz: 2^31 keys ran it out of memory).
  check_ignored(env, model, patched(24 + 3), "claims more keys than it can hold");
  // One key more or fewer than it holds: the table, sized by the count, may
  // fill up before the last chunk is indexed.
  check_ignored(env, model, patched(24), "");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_damaged_or_torn_snapshot_is_ignored, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string good = env.read_file(kSnapshot);
  BOOST_TEST_REQUIRE(good.size() > 1000u);
  struct Damage {
    const char* what;
    std::string bytes;
    const char* reason;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x20;  // inside an arena chunk
  std::string header_flipped = good;
  header_flipped[30] ^= 0x01;  // the key count
  const std::vector<Damage> damages = {
      {"a flipped byte", flipped, "checksum"},
      {"a flipped key count", header_flipped, ""},
      {"cut short", good.substr(0, good.size() / 3), ""},
      {"one byte short", good.substr(0, good.size() - 1), ""},
      {"zeroed", std::string(good.size(), '\0'), ""},
      {"empty", "", ""},
  };
  for (const Damage& d : damages) {
    BOOST_TEST_CONTEXT(d.what) { check_ignored(env, model, d.bytes, d.reason); }
  }
  env.write_file(kSnapshot, good);  // and the good one is used again
  Store store = env.open();
  BOOST_TEST(store.stats().keys_from_snapshot == model.size());
  check_holds(store, model);
}

// Opened and closed without a write: no segment is started, the snapshot
// is kept as it is, and every open loads it.
BOOST_AUTO_TEST_CASE_TEMPLATE(open_and_close_without_writes_keep_the_store_as_it_is, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string snapshot = env.read_file(kSnapshot);
  const auto files = env.directory()->list();
  for (int round = 0; round < 3; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      Store store = env.open();
      BOOST_TEST(store.stats().keys_from_snapshot == model.size());
      check_holds(store, model);
      store.close();
      BOOST_TEST(env.directory()->list() == files);
      BOOST_TEST(env.read_file(kSnapshot) == snapshot);
    }
  }
  {  // the first write starts a segment, and close saves a fresh snapshot
    Store store = env.open();
    store.put("key9", "new");
    model["key9"] = "new";
    fill_active(store, model);
  }
  BOOST_TEST(env.read_file(kSnapshot) != snapshot);
  Store store = env.open();
  BOOST_TEST(store.stats().keys_from_snapshot == model.size());
  check_holds(store, model);
}

// A snapshot that checks (its CRC recomputed) but points one key at
// another key's record: get, get_pinned and get_many refuse with a
// CorruptionError rather than serve the other key's value.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_key_pointed_at_another_keys_record_is_refused, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  {
    Store store = env.open();
    store.put("swap-one", "value of one");
    store.put("swap-two", "value of two");
    model["swap-one"] = "value of one";
    model["swap-two"] = "value of two";
    fill_active(store, model);
  }
  std::string bytes = env.read_file(kSnapshot);
  // Arena entries: head byte, key, u32 offset, segment varint (1 byte
  // here), size varint (1-2 bytes for these records, the same for both).
  const std::size_t one = bytes.find("swap-one"), two = bytes.find("swap-two");
  BOOST_TEST_REQUIRE((one != std::string::npos && two != std::string::npos));
  for (std::size_t i = 8; i < 8 + 5; ++i) std::swap(bytes[one + i], bytes[two + i]);
  env.write_file(kSnapshot, with_crc(bytes));
  Store store = env.open();
  BOOST_TEST_REQUIRE(store.stats().keys_from_snapshot == model.size());
  BOOST_CHECK_THROW(store.get("swap-one"), CorruptionError);
  BOOST_CHECK_THROW(store.get_pinned("swap-two"), CorruptionError);
  const std::vector<std::string_view> keys{"swap-two"};
  BOOST_CHECK_THROW(store.get_many(keys), CorruptionError);
  BOOST_TEST(store.get("pad" + std::to_string(2) + ".0").has_value());  // the others still read
}

// A small active segment stays open at close and is scanned at the next
// open (each record checked): no snapshot then, which would skip that scan.
BOOST_AUTO_TEST_CASE_TEMPLATE(no_snapshot_while_a_segment_stays_active, E, AllBackends) {
  SnapshotEnv<E> env;
  {
    Store store = env.open();
    store.put("a", "1");
  }
  BOOST_TEST(!env.directory()->exists(kSnapshot));
  std::map<std::string, std::string> model;
  fill(env, model);
  BOOST_TEST(env.directory()->exists(kSnapshot));
  {
    Store store = env.open();
    store.put("b", "2");  // into the fresh active segment open started
  }
  BOOST_TEST(!env.directory()->exists(kSnapshot));
}

// Close writes KEYDIR beside the last hint, for the manifest it writes next.
// If the hint or that manifest fails, no KEYDIR is published (the manifest
// on disk is not the one it describes), and nothing is left half-done.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_close_whose_hint_or_manifest_fails_leaves_no_snapshot, E, AllBackends) {
  // Close renames the active segment's hint into place, then MANIFEST.
  for (const auto& [nth_rename, failure] : {std::pair{0, "writing hint file of segment"},
                                            std::pair{1, "writing the manifest at close failed"}}) {
    BOOST_TEST_CONTEXT(failure) {
      SnapshotEnv<E> env;
      std::map<std::string, std::string> model;
      fill(env, model);
      BOOST_TEST_REQUIRE(env.directory()->exists(kSnapshot));
      auto faulty = std::make_shared<FaultInjectionDirectory>(env.directory());
      Options options = env.options;
      options.directory = faulty;
      {
        Store store = Store::open(env.dir.str(), options);
        fill_active(store, model);  // its first put starts a segment: another manifest
        // Past half a segment the writer has spares made, each listed by a
        // manifest rename: those come first.
        BOOST_TEST_REQUIRE(wait_until([&] { return store.stats().spare_segments == options.spare_segments; }));
        faulty->faults().fail(FaultOp::rename, nth_rename);
        store.close();
      }
      BOOST_TEST(faulty->faults().injected() == 1u);
      BOOST_TEST(env.log.find(failure) != std::string::npos, env.log);
      BOOST_TEST(!env.directory()->exists(kSnapshot));
      BOOST_TEST(!env.directory()->exists(filename::temp(kSnapshot)));
      Store store = env.open();
      BOOST_TEST(store.stats().keys_from_snapshot == 0u);
      check_holds(store, model);
    }
  }
}

// A crash (no close) after a writer wrote: its first write started a
// segment (another manifest), so the snapshot left on disk is stale and what
// the writer appended is replayed, not hidden.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_writer_that_crashes_is_not_hidden_by_the_snapshot, E, DiskBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  {
    Store store = env.open();
    store.put("key7", "written, then a crash");
    store.sync();
    // The files as a crash leaves them: copy them aside while the store is open.
    std::filesystem::copy(env.dir.str(), env.dir.str() + ".crashed",
                          std::filesystem::copy_options::recursive);
  }
  model["key7"] = "written, then a crash";
  StoreEnv<E> crashed;
  crashed.options = env.options;
  std::filesystem::remove_all(crashed.dir.str());
  std::filesystem::rename(env.dir.str() + ".crashed", crashed.dir.str());
  std::filesystem::remove(crashed.dir.str() + "/LOCK");
  Store store = crashed.open();
  BOOST_TEST(store.stats().keys_from_snapshot == 0u);
  check_holds(store, model);
}

// The table's lines are saved and loaded as they were (no key inserted
// again), and every position in them is checked against the arena: one
// that is not a live entry's start, or one held twice, is never used, even
// in a snapshot that checks.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_saved_table_that_does_not_match_its_entries_is_never_used, E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string good = env.read_file(kSnapshot);
  const auto slots = used_slots(good);
  BOOST_TEST_REQUIRE(slots.size() == model.size());  // saved: one slot per key
  const std::size_t first = position_at(good, slots[0].first, slots[0].second);
  const std::size_t second = position_at(good, slots[1].first, slots[1].second);
  const auto forged = [&](std::size_t at, std::uint32_t position) {
    std::string bytes = good;
    store_at<std::uint32_t>(bytes, at, position);
    return with_crc(bytes);
  };
  const std::uint32_t held = load_at<std::uint32_t>(good, first);
  check_ignored(env, model, forged(first, held + 1), "its table does not match its entries");
  check_ignored(env, model, forged(first, load_at<std::uint32_t>(good, second)),
                "its table does not match its entries");
  check_ignored(env, model, forged(first, 0xfffffff0u), "its table does not match its entries");
  // A slot emptied: one key fewer than the header and the arena say.
  std::string emptied = good;
  emptied[table_at(good) + 24 + slots[0].first * 64 + slots[0].second] = 0;
  check_ignored(env, model, with_crc(emptied), "another number of keys");
}

// A forged count of inserts left cannot make a put probe forever: it is
// held to the table's free slots, and the table grows when they run out
// (without that, the put that takes the last free slot's successor hangs).
BOOST_TEST_DECORATOR(*boost::unit_test::timeout(120))
BOOST_AUTO_TEST_CASE_TEMPLATE(a_saved_table_claiming_room_it_lacks_still_takes_puts,
                              E, AllBackends) {
  SnapshotEnv<E> env;
  std::map<std::string, std::string> model;
  fill(env, model);
  std::string bytes = env.read_file(kSnapshot);
  store_at<std::uint64_t>(bytes, table_at(bytes) + 16, UINT64_MAX);
  env.write_file(kSnapshot, with_crc(bytes));
  const std::size_t slots = load_at<std::uint64_t>(bytes, table_at(bytes) + 8) * 12;
  Store store = env.open();
  BOOST_TEST_REQUIRE(store.stats().keys_from_snapshot == model.size());
  const std::size_t more = slots - model.size() + 10;  // past every slot the table has
  for (std::size_t i = 0; i < more; ++i) store.put("more" + std::to_string(i), "v");
  BOOST_TEST(store.size() == model.size() + more);
  BOOST_TEST(store.get("more" + std::to_string(more - 1)).value_or("") == "v");
}

// A table sized far ahead of its keys (expected_keys) is larger than the
// arena: it is not saved, and open indexes the arena's entries instead.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_table_sized_far_ahead_of_its_keys_is_not_saved, E, AllBackends) {
  SnapshotEnv<E> env;
  env.options.expected_keys = 1'000'000;  // a 6 MB table, for a few thousand keys
  std::map<std::string, std::string> model;
  fill(env, model);
  const std::string snapshot = env.read_file(kSnapshot);
  BOOST_TEST(load_at<std::uint64_t>(snapshot, table_at(snapshot) + 8) == 0u);  // no lines
  BOOST_TEST(snapshot.size() < (1u << 20));
  Store store = env.open();
  BOOST_TEST(store.stats().keys_from_snapshot == model.size());
  check_holds(store, model);
}

BOOST_AUTO_TEST_SUITE_END()
