// Merge: drops dead data, keeps every live key at its newest value (also
// while other threads write, and after a crash in the middle), and never
// brings a deleted key back.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <thread>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

namespace {

std::uint32_t active_id(const Store& db) {
  for (const auto& s : db.stats().segments)
    if (s.active) return s.id;
  return 0;
}

// Writes until the active segment changes (a rotation sealed the old one).
void write_until_rotation(Store& db, const std::string& prefix, int version = 0) {
  const std::uint32_t start = active_id(db);
  for (int k = 0; active_id(db) == start; ++k) db.put(prefix + std::to_string(k), value_of(k, version));
}

// Segment 1 full of live keys "key0".. in a store opened by `open` and
// then closed, so that no merge check its rotation queued is still to run;
// reopened, 7 keys in 10 are erased within the active segment: segment 1
// ends past a 60% trigger with no rotation since. Returns the reopened
// store and the key count.
template <class Open>
std::pair<Store, int> erase_most_of_segment_1(Open&& open) {
  {
    auto db = open();
    write_until_rotation(db, "key");
  }
  auto db = open();
  const std::uint32_t active = active_id(db);
  int keys = 0;
  while (db.get("key" + std::to_string(keys))) ++keys;
  for (int k = 0; k < keys; ++k)
    if (k % 10 < 7) BOOST_TEST_REQUIRE(db.erase("key" + std::to_string(k)));
  BOOST_TEST_REQUIRE(active_id(db) == active);  // no rotation since
  return {std::move(db), keys};
}

// Keys 0..39 written `rounds` times over small segments, some erased.
void churn(Store& db, int rounds) {
  for (int round = 0; round < rounds; ++round)
    for (int k = 0; k < 40; ++k) db.put("key" + std::to_string(k), value_of(k, round));
  for (int k = 0; k < 40; k += 5) db.erase("key" + std::to_string(k));
}

// A merge is writing an output: a datafile under its temporary name.
bool merge_output_exists(const Directory& directory) {
  for (const std::string& name : directory.list()) {
    const std::string_view suffix = ".tmp";
    if (name.ends_with(suffix) &&
        filename::parse(name.substr(0, name.size() - suffix.size())).kind == filename::Kind::data)
      return true;
  }
  return false;
}

void check_stats_consistent(const Stats& stats) {
  std::uint64_t live = 0;
  for (const auto& s : stats.segments) {
    live += s.live_keys;
    BOOST_TEST(s.live_bytes + s.dead_bytes + format::kFileHeaderSize == s.bytes,
               "segment " << s.id);
  }
  BOOST_TEST(live == stats.keys);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(merge)

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_drops_dead_data_and_keeps_contents, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  std::map<std::string, std::string> before;
  std::uint64_t disk_before = 0;
  {
    auto db = env.open();
    churn(db, 6);
    before = contents(db);
    disk_before = db.stats().disk_bytes;
    db.merge();
    const Stats after = db.stats();
    BOOST_TEST(after.merges == 1u);
    BOOST_TEST(after.disk_bytes * 3 < disk_before, after.disk_bytes << " vs " << disk_before);
    BOOST_TEST(contents(db) == before);
    check_stats_consistent(after);
    // Every sealed segment now is a merge output with its hint; the old files are gone.
    for (const std::uint32_t id : ids_with_records(*env.directory()))
      BOOST_TEST(std::count_if(after.segments.begin(), after.segments.end(),
                               [&](const SegmentStats& s) { return s.id == id; }) == 1, id);
    for (const auto& s : after.segments)
      if (!s.active) BOOST_TEST(env.directory()->exists(filename::hint(s.id)), s.id);
  }
  auto db = env.open();
  BOOST_TEST(contents(db) == before);
  BOOST_TEST(db.stats().disk_bytes * 3 < disk_before);
  BOOST_TEST(db.stats().segments_from_hints > 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_after_merge_equal_stats_after_reopen, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  Stats merged;
  {
    auto db = env.open();
    churn(db, 4);
    db.merge();
    churn(db, 1);  // and keep writing on top
    merged = db.stats();
    check_stats_consistent(merged);
  }
  auto db = env.open();
  const Stats reopened = db.stats();
  check_stats_consistent(reopened);
  check_same_segment_stats(merged, reopened);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_with_nothing_to_do_changes_nothing, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  db.merge();  // empty store
  db.put("a", "1");
  db.merge();  // only the active segment
  write_until_rotation(db, "live");  // sealed, but all of it live
  const auto files = ids_with_records(*env.directory());  // not the spares made meanwhile
  db.merge();
  BOOST_TEST(db.stats().merges == 0u);
  BOOST_TEST(ids_with_records(*env.directory()) == files, boost::test_tools::per_element());
  BOOST_TEST(db.get("a").value() == "1");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(deleted_key_stays_deleted_after_merge_and_reopen, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    db.put("doomed", "old");
    write_until_rotation(db, "a");
    BOOST_TEST(db.erase("doomed"));
    write_until_rotation(db, "b");
    db.merge();  // every older segment is merged: the tombstone and the value both go
    BOOST_TEST(!db.get("doomed").has_value());
  }
  auto db = env.open();
  BOOST_TEST(!db.get("doomed").has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(tombstone_survives_a_merge_that_leaves_its_older_value, B,
                              AllBackends) {
  // Segment 1: the value, among live keys (not fragmented, not merged).
  // Segment 2: the tombstone, among garbage (merged by the trigger).
  // Dropping the tombstone would bring the value back at the next open.
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  env.options.merge_dead_fraction = 0.6;
  {
    auto db = env.open();
    db.put("doomed", "old");
    write_until_rotation(db, "live");
    BOOST_TEST(db.erase("doomed"));
    const std::uint32_t second = active_id(db);
    for (int i = 0; active_id(db) == second; ++i) db.put("churn", value_of(i, i));
    BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges == 1; }));
    BOOST_TEST(env.directory()->exists(filename::data(1)));  // left alone
    BOOST_TEST(!env.directory()->exists(filename::data(second)));  // merged away
    BOOST_TEST(!db.get("doomed").has_value());
  }
  auto db = env.open();
  BOOST_TEST(!db.get("doomed").has_value());
  BOOST_TEST(db.get("live0").value() == value_of(0, 0));
}

// A key that has not expired yet is copied with its expiry: after the merge
// and a reopen (from the output's hint, then by scanning it) it still expires.
BOOST_AUTO_TEST_CASE_TEMPLATE(merge_copies_a_pending_expiry, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int k = 0; k < 20; ++k) db.put("ttl" + std::to_string(k), value_of(k, 0), 10min);
    db.put("forever", "yes");
    write_until_rotation(db, "pad", 0);
    for (int k = 0; k < 60; ++k) db.erase("pad" + std::to_string(k));  // something to merge
    write_until_rotation(db, "tail", 0);
    db.merge();
    BOOST_TEST_REQUIRE(db.stats().merges == 1u);
    BOOST_TEST(db.get("ttl3").has_value());
  }
  clock.advance(11min);
  for (const bool with_hints : {true, false}) {
    BOOST_TEST_CONTEXT("hints " << with_hints) {
      if (!with_hints) {
        for (const auto id : ids_of(*env.directory(), filename::Kind::hint))
          env.directory()->remove(filename::hint(id));
      }
      auto db = env.open();
      for (int k = 0; k < 20; ++k) BOOST_TEST(!db.get("ttl" + std::to_string(k)).has_value());
      BOOST_TEST(db.get("forever").value() == "yes");
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(expired_keys_are_dropped_by_merge, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  env.options.max_segment_size = 4096;
  std::uint64_t disk_before = 0;
  {
    auto db = env.open();
    for (int k = 0; k < 30; ++k) db.put("ttl" + std::to_string(k), value_of(k, 0), 10s);
    db.put("forever", "yes");
    write_until_rotation(db, "pad", 0);
    for (int k = 0; k < 60; ++k) db.erase("pad" + std::to_string(k));
    write_until_rotation(db, "tail", 0);
    clock.advance(20s);
    disk_before = db.stats().disk_bytes;
    const auto keys_before = db.stats().keys;
    db.merge();
    BOOST_TEST(db.stats().keys == keys_before - 30);  // gone from the keydir too
    BOOST_TEST(db.stats().disk_bytes < disk_before);
    check_stats_consistent(db.stats());
  }
  auto db = env.open();
  BOOST_TEST(!db.get("ttl3").has_value());
  BOOST_TEST(db.get("forever").value() == "yes");
  BOOST_TEST(db.size() == db.stats().keys);  // nothing expired is left to count
}

BOOST_AUTO_TEST_CASE_TEMPLATE(writers_and_readers_during_merge_keep_newest_values, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 8192;
  constexpr int kKeys = 50, kWrites = 6000;
  std::map<std::string, std::optional<std::string>> expected;  // written by the writer only
  std::atomic<bool> done{false};
  std::atomic<int> bad_reads{0};
  // What overlapped: merges completed and reader rounds run while the writer
  // wrote. It keeps writing until there are enough (or time runs out).
  constexpr std::uint64_t kMergesNeeded = 3;
  constexpr int kReadsNeeded = 50;
  std::uint64_t merges_while_writing = 0;  // written by the writer only
  std::atomic<int> reads_while_writing{0};
  {
    auto db = env.open();
    std::thread writer([&] {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (int i = 0; i < kWrites || ((merges_while_writing < kMergesNeeded ||
                                       reads_while_writing < kReadsNeeded) &&
                                      std::chrono::steady_clock::now() < give_up);
           ++i) {
        if (i % 100 == 0) merges_while_writing = db.stats().merges;
        const std::string key = "k" + std::to_string(i % kKeys);
        if (i % 7 == 0) {
          db.erase(key);
          expected[key].reset();
        } else {
          db.put(key, "v" + std::to_string(i));
          expected[key] = "v" + std::to_string(i);
        }
      }
      done = true;
    });
    std::thread reader([&] {
      while (!done) {
        for (int k = 0; k < kKeys; ++k) {
          const auto v = db.get("k" + std::to_string(k));
          if (v && (v->size() < 2 || (*v)[0] != 'v')) ++bad_reads;
        }
        if (!done) ++reads_while_writing;
      }
    });
    while (!done) db.merge();
    writer.join();
    reader.join();
    db.merge();
    BOOST_TEST(merges_while_writing >= kMergesNeeded);
    BOOST_TEST(reads_while_writing >= kReadsNeeded);
    BOOST_TEST(bad_reads == 0);
    for (const auto& [key, value] : expected) BOOST_CHECK_MESSAGE(db.get(key) == value, key);
    check_stats_consistent(db.stats());
  }
  auto db = env.open();
  for (const auto& [key, value] : expected) BOOST_CHECK_MESSAGE(db.get(key) == value, key);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(old_segments_left_beside_merge_output_replay_to_newest_values, B,
                              AllBackends) {
  // A crash after the merge output is durable but before its inputs are
  // removed leaves both. Recreate that directory and open it.
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  env.options.merge_input_dead_fraction = 0;  // the merge takes every sealed segment
  env.options.merge_input_dead_bytes = 0;
  std::map<std::string, std::string> old_files;
  std::map<std::string, std::string> expected;
  {
    auto db = env.open();
    churn(db, 4);
    for (const auto& s : db.stats().segments)
      if (!s.active) {
        old_files[filename::data(s.id)] = env.read_file(filename::data(s.id));
        if (env.directory()->exists(filename::hint(s.id)))  // written in the background
          old_files[filename::hint(s.id)] = env.read_file(filename::hint(s.id));
      }
    db.merge();
    // Written after the merge began: must beat the merged copies at replay.
    db.put("key1", "after merge");
    db.erase("key2");
    db.put("key0", "back again");  // erased by churn, now live
    expected = contents(db);
  }
  for (const auto& [name, bytes] : old_files) {
    BOOST_TEST_REQUIRE(!env.directory()->exists(name), name);
    env.write_file(name, bytes);
  }
  {
    auto db = env.open();
    BOOST_TEST(contents(db) == expected);
    BOOST_TEST(db.get("key1").value() == "after merge");
    db.merge();  // merging that state again keeps it
    BOOST_TEST(contents(db) == expected);
  }
  auto db = env.open();
  BOOST_TEST(contents(db) == expected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(dead_fraction_trigger_merges_in_the_background, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  env.options.merge_dead_fraction = 0.5;
  std::map<std::string, std::string> expected;
  {
    auto db = env.open();
    for (int round = 0; round < 30; ++round)
      for (int k = 0; k < 10; ++k) db.put("key" + std::to_string(k), value_of(k, round));
    BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges > 0; }));
    expected = contents(db);
  }
  auto db = env.open();
  BOOST_TEST(contents(db) == expected);
}

// The timed check (merge_check_interval) merges a store whose writes no
// longer seal segments.
BOOST_AUTO_TEST_CASE_TEMPLATE(timed_check_merges_a_store_whose_writes_stopped_rotating, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 64 * 1024;
  env.options.merge_dead_fraction = 0.6;
  env.options.merge_check_interval = 50ms;
  auto [store, keys] = erase_most_of_segment_1([&] { return env.open(); });
  Store& db = store;  // a lambda below captures it (clang 14 cannot capture a structured binding)
  const std::uint32_t first = db.stats().segments.front().id;
  BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges > 0; }), env.log);
  for (const auto& s : db.stats().segments) BOOST_TEST(s.id != first);
  for (int k = 0; k < keys; ++k) {
    const auto got = db.get("key" + std::to_string(k));
    if (k % 10 < 7) BOOST_TEST(!got);
    else BOOST_TEST(got.value_or("") == value_of(k, 0));
  }
}

// The default, as Bitcask's merge_check_interval; 0 leaves only the rotations' checks.
BOOST_AUTO_TEST_CASE_TEMPLATE(timed_check_defaults_to_three_minutes_and_0_turns_it_off, B,
                              AllBackends) {
  BOOST_TEST(Options{}.merge_check_interval == std::chrono::minutes(3));
  StoreEnv<B> env;
  env.options.max_segment_size = 64 * 1024;
  env.options.merge_dead_fraction = 0.6;
  env.options.merge_check_interval = 0ms;
  auto [db, keys] = erase_most_of_segment_1([&] { return env.open(); });
  std::this_thread::sleep_for(300ms);  // six intervals of the test above
  BOOST_TEST(db.stats().merges == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(automatic_merge_is_throttled_and_close_stops_it_keeping_every_input,
                              B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4u << 20;
  env.options.merge_dead_fraction = 0.2;
  env.options.merge_rate_bytes_per_second = 1000;  // its second 1 MiB chunk would wait 17 minutes
  const std::string value(1000, 'v');
  std::map<std::string, std::string> expected;
  auto db = env.open();
  // Segment 1: 4000 keys; a quarter of them overwritten in segment 2, whose
  // rotation starts the automatic merge of segment 1 (3 MB live: the first
  // 1 MiB chunk goes in the burst, the second waits).
  for (int k = 0; k < 4000; ++k) db.put("key" + std::to_string(k), value + std::to_string(k));
  for (int k = 0; db.stats().segments.size() < 3; ++k)
    db.put("key" + std::to_string(k % 1000), value + "new" + std::to_string(k));
  // The merge's output, not the hint of segment 1 (written first, also
  // under a temporary name): closing while only the hint was written
  // would leave the merge unstarted, with nothing to stop.
  BOOST_TEST_REQUIRE(wait_until([&] { return merge_output_exists(*env.directory()); }));
  expected = contents(db);
  const auto start = std::chrono::steady_clock::now();
  db.close();  // must not wait for the throttled merge
  BOOST_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  BOOST_TEST(env.log.find("automatic merge stopped: the store is closing") != std::string::npos, env.log);
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::temp).empty());  // its unfinished output went
  auto again = env.open();
  BOOST_TEST(again.stats().merges == 0u);
  BOOST_TEST(contents(again) == expected);
}

// An automatic merge goes a group of inputs at a time (about one output
// segment of live data each), so close stops only the group in progress:
// the groups merged before it are kept, their inputs gone. Each output is
// paced, its last chunk too: outputs here are smaller than a 1 MiB chunk.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_keeps_the_groups_an_automatic_merge_finished, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 64 * 1024;
  env.options.merge_dead_fraction = 0;  // set up with no merge, then reopened with one
  env.options.merge_dead_bytes = 0;
  const std::string value(1000, 'v');
  const auto fill_until_segments = [&](Store& db, const std::string& prefix, std::size_t segments) {
    int k = 0;
    while (db.stats().segments.size() < segments) db.put(prefix + std::to_string(k++), value + prefix);
    return k;
  };
  std::uint32_t first = 0, second = 0;
  {
    auto db = env.open();
    const int a_keys = fill_until_segments(db, "a", 2);  // segment 1: ~60 keys of ~1 KB
    const int b_keys = fill_until_segments(db, "b", 3);  // segment 2
    first = db.stats().segments[0].id, second = db.stats().segments[1].id;
    // Both segments 40% dead: ~38 KB live each, together more than one output.
    for (int k = 0; k < a_keys; ++k)
      if (k % 5 < 2) db.put("a" + std::to_string(k), value + "new");
    for (int k = 0; k < b_keys; ++k)
      if (k % 5 < 2) db.put("b" + std::to_string(k), value + "new");
    BOOST_TEST_REQUIRE(db.stats().segments.size() == 3u);
  }
  env.options.merge_dead_fraction = 0.3;
  env.options.merge_input_dead_fraction = 0.3;
  // The first output goes at once (nothing owed yet); the second then waits ~38 s.
  env.options.merge_rate_bytes_per_second = 1000;
  auto db = env.open();
  db.put("c", value);  // a reopened store starts a segment at its first put
  write_until_rotation(db, "c");  // which starts the automatic merge
  const auto holds = [&](std::uint32_t id) {
    const auto segments = db.stats().segments;
    return std::any_of(segments.begin(), segments.end(), [&](const SegmentStats& s) { return s.id == id; });
  };
  BOOST_TEST_REQUIRE(wait_until([&] { return !holds(first); }), env.log);  // the first group's merge
  BOOST_TEST_REQUIRE(wait_until([&] { return merge_output_exists(*env.directory()); }),
                     env.log);  // the second's, throttled
  const auto expected = contents(db);
  db.close();
  BOOST_TEST(env.log.find("automatic merge stopped: the store is closing") != std::string::npos, env.log);
  const auto data = ids_of(*env.directory(), filename::Kind::data);
  BOOST_TEST(std::count(data.begin(), data.end(), first) == 0);
  BOOST_TEST(std::count(data.begin(), data.end(), second) == 1);  // the group in progress keeps its input
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::temp).empty());
  auto again = env.open();
  BOOST_TEST(contents(again) == expected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(dead_bytes_trigger_merges_in_the_background, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  env.options.merge_dead_bytes = 2000;
  auto db = env.open();
  for (int round = 0; round < 30; ++round)
    for (int k = 0; k < 10; ++k) db.put("key" + std::to_string(k), value_of(k, round));
  BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges > 0; }));
  BOOST_TEST(db.get("key3").value() == value_of(3, 29));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(automatic_merge_is_on_by_default_with_bitcask_thresholds, B,
                              AllBackends) {
  const Options defaults;
  BOOST_TEST(defaults.merge_dead_fraction == 0.6);
  BOOST_TEST(defaults.merge_dead_bytes == 512ull << 20);
  StoreEnv<B> env;
  env.options.merge_dead_fraction = defaults.merge_dead_fraction;
  env.options.merge_dead_bytes = defaults.merge_dead_bytes;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  churn(db, 8);  // sealed segments full of dead bytes
  BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().merges > 0; }), env.log);
  for (int k = 0; k < 40; ++k) {
    const auto got = db.get("key" + std::to_string(k));
    if (k % 5 == 0) BOOST_TEST(!got);
    else BOOST_TEST(got.value_or("") == value_of(k, 7));
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_of_a_read_only_store_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  { auto db = env.open(); db.put("a", "1"); }
  Options o = env.options;
  o.read_only = true;
  auto db = env.open(o);
  BOOST_CHECK_THROW(db.merge(), InvalidArgument);
}

BOOST_AUTO_TEST_SUITE_END()
