// The engine suite, run against every backend.
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/log_reader.h"
#include "backends/memory_directory.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"
#include "tests/sync_recorder.h"
#include "tests/fault_injection.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(store)

BOOST_AUTO_TEST_CASE_TEMPLATE(get_of_missing_key_is_nullopt, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  BOOST_TEST(!db.get("missing").has_value());
  BOOST_TEST(!db.contains("missing"));
  BOOST_TEST(db.size() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(put_get_overwrite_erase, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("a", "1");
  BOOST_TEST(db.get("a").value() == "1");
  db.put("a", "22");
  BOOST_TEST(db.get("a").value() == "22");
  BOOST_TEST(db.size() == 1u);
  BOOST_TEST(db.erase("a"));
  BOOST_TEST(!db.get("a").has_value());
  BOOST_TEST(!db.erase("a"));
  BOOST_TEST(!db.erase("never-there"));
  BOOST_TEST(db.size() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(persistence_across_reopen, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    for (int i = 0; i < 100; ++i) db.put("key" + std::to_string(i), "value" + std::to_string(i));
    db.put("key7", "overwritten");
    db.close();
  }
  auto db = env.open();
  BOOST_TEST(db.size() == 100u);
  BOOST_TEST(db.get("key7").value() == "overwritten");
  BOOST_TEST(db.get("key99").value() == "value99");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(delete_then_reopen_stays_deleted, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    db.put("gone", "x");
    db.put("kept", "y");
    BOOST_TEST(db.erase("gone"));
  }  // destructor closes
  auto db = env.open();
  BOOST_TEST(!db.get("gone").has_value());
  BOOST_TEST(db.get("kept").value() == "y");
  BOOST_TEST(db.size() == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(binary_keys_and_values_with_zero_bytes, B, AllBackends) {
  StoreEnv<B> env;
  const std::string key("k\0e\0y", 5);
  const std::string value("\0\1\2\0\xff", 5);
  {
    auto db = env.open();
    db.put(key, value);
    db.put("empty", "");
    BOOST_TEST(db.get(key).value() == value);
    BOOST_TEST(!db.get(std::string("k\0e", 3)).has_value());
  }
  auto db = env.open();
  BOOST_TEST(db.get(key).value() == value);
  BOOST_TEST(db.get("empty").has_value());
  BOOST_TEST(db.get("empty").value().empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(size_limits_are_enforced, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_key_size = 8;
  env.options.max_value_size = 16;
  auto db = env.open();
  BOOST_CHECK_THROW(db.put("", "v"), InvalidArgument);
  BOOST_CHECK_THROW(db.put("123456789", "v"), InvalidArgument);
  BOOST_CHECK_THROW(db.put("k", std::string(17, 'v')), InvalidArgument);
  db.put("12345678", std::string(16, 'v'));  // exactly at the limits
  BOOST_TEST(db.size() == 1u);
  BOOST_CHECK_THROW(db.erase(""), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_options_are_rejected, B, AllBackends) {
  StoreEnv<B> env;
  Options o = env.options;
  o.max_key_size = format::kMaxKeySize + 1;
  BOOST_CHECK_THROW(env.open(o), InvalidArgument);
  o = env.options;
  o.max_segment_size = 10;
  BOOST_CHECK_THROW(env.open(o), InvalidArgument);
  o = env.options;
  o.backend = "floppy";
  BOOST_CHECK_THROW(Store::open(env.dir.str(), o), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(ttl_expires_with_the_clock, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  {
    auto db = env.open();
    db.put("session", "token", 30s);
    db.put("forever", "x");
    BOOST_CHECK_THROW(db.put("bad", "x", 0s), InvalidArgument);
    BOOST_TEST(db.get("session").value() == "token");
    BOOST_TEST(db.size() == 2u);
    clock.advance(29s);
    BOOST_TEST(db.contains("session"));
    clock.advance(1s);
    BOOST_TEST(!db.get("session").has_value());
    BOOST_TEST(!db.contains("session"));
    BOOST_TEST(db.size() == 1u);
    BOOST_TEST(db.keys() == std::vector<std::string>{"forever"});
    int seen = 0;
    db.for_each([&](std::string_view k, std::string_view) { seen += k == "session"; });
    BOOST_TEST(seen == 0);
    BOOST_TEST(!db.erase("session"));
  }
  auto db = env.open();  // still expired after reopen
  BOOST_TEST(!db.get("session").has_value());
  BOOST_TEST(db.size() == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(overwrite_without_ttl_clears_expiry, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  auto db = env.open();
  db.put("k", "short-lived", 1s);
  db.put("k", "permanent");
  clock.advance(1h);
  BOOST_TEST(db.get("k").value() == "permanent");
  BOOST_TEST(db.size() == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(keys_with_prefix_are_sorted, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  for (const char* k : {"user:3", "user:1", "order:9", "user:2"}) db.put(k, "v");
  BOOST_TEST(db.keys("user:") == (std::vector<std::string>{"user:1", "user:2", "user:3"}));
  BOOST_TEST(db.keys().size() == 4u);
  BOOST_TEST(db.keys("none").empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_visits_every_live_key_once, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 50; ++i) {
    db.put("k" + std::to_string(i), "old");
    expected["k" + std::to_string(i)] = "v" + std::to_string(i);
  }
  for (auto& [k, v] : expected) db.put(k, v);
  db.erase("k0");
  expected.erase("k0");
  std::map<std::string, std::string> seen;
  db.for_each([&](std::string_view k, std::string_view v) {
    BOOST_TEST(seen.emplace(std::string(k), std::string(v)).second);
  });
  BOOST_TEST(seen == expected);
}

// for_each reads in file order whatever order the keydir holds the keys
// in: overwritten in a shuffled order across several segments, the newest
// records come out as they lie in the files (grouped by segment and 1 MiB
// region of it, each region sorted by offset). Small segments (one region
// each, many segments) and big ones (many regions each, records of varied
// sizes, some straddling a region's end).
BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_reads_in_file_order, B, AllBackends) {
  for (const std::size_t segment_size : {std::size_t{64} << 10, std::size_t{3} << 20}) {
    BOOST_TEST_CONTEXT("segments of " << segment_size << " bytes") {
      StoreEnv<B> env;
      env.options.max_segment_size = segment_size;
      auto db = env.open();
      const bool small = segment_size < (1 << 20);
      const int keys = small ? 3000 : 60000;
      for (int i = 0; i < keys; ++i) db.put("k" + std::to_string(i), "first");
      std::vector<int> order(keys);
      for (int i = 0; i < keys; ++i) order[i] = i;
      std::mt19937 rng(7);
      std::shuffle(order.begin(), order.end(), rng);
      const auto value_of = [](int i) { return "second " + std::to_string(i) + std::string(i % 97, 'v'); };
      for (const int i : order) db.put("k" + std::to_string(i), value_of(i));
      BOOST_TEST(db.stats().segments.size() > (small ? 3u : 2u));
      std::vector<int> seen;
      db.for_each([&](std::string_view k, std::string_view v) {
        const int i = std::stoi(std::string(k.substr(1)));
        seen.push_back(i);
        BOOST_TEST(v == value_of(i));
      });
      BOOST_TEST(seen == order, boost::test_tools::per_element());
    }
  }
}

// for_each reads runs of neighbouring records in one go (up to 1 MiB, across
// gaps of up to 64 KiB of dead records): values larger than a window, gaps
// wider than the limit, runs cut by a segment end, all must come out whole.
BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_across_gaps_big_values_and_segments, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4 << 20;
  auto db = env.open();
  std::map<std::string, std::string> expected;
  auto value_of = [](int i, std::size_t size) {
    std::string v(size, char('a' + i % 26));
    v.front() = char(i);
    return v;
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 300; ++i) {
      const std::size_t size = i % 50 == 7 ? (1 << 20) + 3 : i % 13 == 0 ? 70000 : 10 + i;
      const std::string key = "k" + std::to_string(i);
      if (round == 2 && i % 3 != 0) continue;  // leaves live records of round 1 among dead ones
      expected[key] = value_of(i + round, size);
      db.put(key, expected[key]);
    }
  }
  BOOST_TEST(db.stats().segments.size() > 1u);
  std::map<std::string, std::string> seen;
  db.for_each([&](std::string_view k, std::string_view v) {
    BOOST_TEST(seen.emplace(std::string(k), std::string(v)).second);
  });
  BOOST_TEST(seen.size() == expected.size());
  BOOST_TEST((seen == expected));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rotation_across_many_segments, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  const std::string value(300, 'v');
  {
    auto db = env.open();
    for (int i = 0; i < 200; ++i) db.put("key" + std::to_string(i % 120), value + std::to_string(i));
    const auto stats = db.stats();
    BOOST_TEST(stats.segments.size() > 10u);
    for (const auto& s : stats.segments) BOOST_TEST(s.bytes <= 4096u);
    BOOST_TEST(stats.segments.back().active);
  }
  auto db = env.open();
  BOOST_TEST(db.size() == 120u);
  for (int i = 80; i < 200; ++i) {
    BOOST_TEST(db.get("key" + std::to_string(i % 120)).value() == value + std::to_string(i));
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(record_larger_than_a_segment_gets_its_own, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  const std::string big(10000, 'b');
  {
    auto db = env.open();
    db.put("small", "s");
    db.put("big", big);
    db.put("after", "a");
  }
  auto db = env.open();
  BOOST_TEST(db.get("big").value() == big);
  BOOST_TEST(db.get("after").value() == "a");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_track_live_and_dead_bytes, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("a", "1");
  db.put("a", "2");
  db.put("b", "3");
  db.erase("b");
  const auto stats = db.stats();
  BOOST_TEST(stats.keys == 1u);
  BOOST_REQUIRE(stats.segments.size() == 1u);
  const auto& s = stats.segments[0];
  const std::uint64_t record = format::kRecordHeaderSize + 2;  // 1-byte key, 1-byte value
  BOOST_TEST(s.live_keys == 1u);
  BOOST_TEST(s.live_bytes == record);
  BOOST_TEST(s.dead_bytes == 2 * record + (format::kRecordHeaderSize + 1));
  BOOST_TEST(s.bytes == format::kFileHeaderSize + s.live_bytes + s.dead_bytes);
  BOOST_TEST(stats.keydir_bytes > 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(expected_keys_sizes_the_keydir_up_front, B, AllBackends) {
  StoreEnv<B> env;
  const std::uint64_t plain = env.open().stats().keydir_bytes;
  Options options = env.options;
  options.expected_keys = 100000;
  auto db = env.open(options);
  const std::uint64_t sized = db.stats().keydir_bytes;
  BOOST_TEST(sized >= plain + 100000 * sizeof(std::uint32_t));  // table slots, no arena yet
  for (int i = 0; i < 1000; ++i) db.put("k" + std::to_string(i), std::to_string(i));
  BOOST_TEST(db.stats().keydir_bytes == sized + (2u << 20));  // one 2 MiB arena chunk, no growth
  BOOST_TEST(db.get("k999").value() == "999");
  db.close();
  BOOST_TEST(env.open().get("k0").value() == "0");  // the hint is not needed to reopen
}

BOOST_AUTO_TEST_CASE_TEMPLATE(second_writer_is_refused_and_readers_are_not, B, AllBackends) {
  StoreEnv<B> env;
  auto writer = env.open();
  writer.put("k", "v");
  writer.sync();
  BOOST_CHECK_THROW(env.open(), LockError);
  Options ro = env.options;
  ro.read_only = true;
  auto reader = env.open(ro);
  BOOST_TEST(reader.get("k").value() == "v");
  BOOST_CHECK_THROW(reader.put("k", "w"), InvalidArgument);
  writer.close();
  auto again = env.open();  // the lock is released on close
  BOOST_TEST(again.get("k").value() == "v");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(closed_store_refuses_calls, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.close();
  db.close();  // twice is fine
  BOOST_CHECK_THROW(db.get("k"), InvalidArgument);
  BOOST_CHECK_THROW(db.put("k", "v"), InvalidArgument);
}

// Without sync() or close(): the background thread alone must make the writes
// durable. Checked by cutting the power on the memory backend.
BOOST_AUTO_TEST_CASE(interval_sync_makes_writes_durable_without_close) {
  auto memory = std::make_shared<FaultInjectionDirectory>(std::make_shared<MemoryDirectory>());
  Options options;
  options.directory = memory;
  options.sync = SyncPolicy::interval;
  options.sync_interval = 5ms;
  auto db = Store::open("interval", options);
  for (int i = 0; i < 20; ++i) db.put("k" + std::to_string(i), "v");
  const std::string name = filename::data(1);
  const std::uint64_t written = memory->open(name, OpenMode::read_only)->size();
  for (int wait = 0; wait < 400 && memory->synced_size(name) < written; ++wait) {
    std::this_thread::sleep_for(5ms);
  }
  memory->faults().crash_at(0);  // the power goes while the store is still open
  memory->power_cut({});
  memory->faults().heal();
  Options reader = options;
  reader.read_only = true;
  BOOST_TEST(Store::open("interval", reader).size() == 20u);
}

// Each policy makes the writes durable by when it promises (seen in the
// syncs that reached the OS; without a sync() call), and they are there
// after reopening. tests/durability_test.cpp checks the promises write by write.
BOOST_AUTO_TEST_CASE_TEMPLATE(sync_policies_keep_data, B, DiskBackends) {
  for (auto policy : {SyncPolicy::always, SyncPolicy::interval}) {
    BOOST_TEST_CONTEXT("policy " << static_cast<int>(policy)) {
      TempDir dir;
      SyncRecorder recorder;
      Options options;
      options.directory = recorder.open(B::name, dir.str());
      options.sync = policy;
      options.sync_interval = 5ms;
      {
        auto db = Store::open(dir.str(), options);
        for (int i = 0; i < 20; ++i) db.put("k" + std::to_string(i), "v");
        if (policy == SyncPolicy::always) {
          BOOST_TEST(recorder.not_durable() == "");
        } else {
          BOOST_TEST(wait_until([&] { return recorder.not_durable().empty(); }),
                     recorder.not_durable());
        }
      }
      options.directory.reset();
      options.backend = B::name;
      BOOST_TEST(Store::open(dir.str(), options).size() == 20u);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torn_tail_at_every_byte_of_last_record, B, AllBackends) {
  const std::string name = filename::data(1);
  std::string full;
  std::size_t last_start = 0;
  {
    StoreEnv<B> env;
    auto db = env.open();
    db.put("first", "value-1");
    db.put("second", "value-2");
    db.close();
    full = env.read_file(name);
    last_start = full.size() - (format::kRecordHeaderSize + 6 + 7);
  }
  for (std::size_t cut = last_start; cut < full.size(); ++cut) {
    StoreEnv<B> env;
    env.write_file(name, full.substr(0, cut));
    auto db = env.open();
    BOOST_TEST(db.get("first").value() == "value-1");
    BOOST_TEST(!db.get("second").has_value());
    // A tail that happens to be all zero bytes (possible when the cut leaves
    // only a few CRC bytes) reads as unwritten space, not as a torn record.
    const std::string tail = full.substr(last_start, cut - last_start);
    const bool torn = tail.find_first_not_of('\0') != std::string::npos;
    const auto stats = db.stats();
    BOOST_TEST(stats.torn_tails_dropped == (torn ? 1u : 0u));
    BOOST_TEST(stats.torn_bytes_dropped == (torn ? cut - last_start : 0u));
    // The store keeps working after the cut, and the cut is durable.
    db.put("third", "value-3");
    db.close();
    auto again = env.open();
    BOOST_TEST(again.get("third").value() == "value-3");
    BOOST_TEST(again.stats().torn_tails_dropped == 0u);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(checksum_mismatch_in_last_record_is_cut_and_reported, B,
                              AllBackends) {
  StoreEnv<B> env;
  const std::string name = filename::data(1);
  {
    auto db = env.open();
    db.put("first", "value-1");
    db.put("second", "value-2");
  }
  env.flip_byte(name, env.read_file(name).size() - 1);
  auto db = env.open();
  BOOST_TEST(db.get("first").value() == "value-1");
  BOOST_TEST(!db.get("second").has_value());
  BOOST_TEST(db.stats().torn_tails_dropped == 1u);
  BOOST_TEST(env.log.find("torn tail") != std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torn_tail_mode_refuses_damage_before_valid_records, B, AllBackends) {
  StoreEnv<B> env;
  env.options.recovery = RecoveryMode::torn_tail;  // point_in_time: tests/recovery_mode_test.cpp
  const std::string name = filename::data(1);
  {
    auto db = env.open();
    db.put("first", "value-1");
    db.put("second", "value-2");
  }
  const std::size_t value_byte = format::kFileHeaderSize + format::kRecordHeaderSize + 5 + 2;
  env.flip_byte(name, value_byte);
  try {
    env.open();
    BOOST_FAIL("opened a store with a damaged record in the middle");
  } catch (const CorruptionError& e) {
    BOOST_TEST(e.offset() == format::kFileHeaderSize);
    BOOST_TEST(e.file().find(name) != std::string::npos);
  }
  // Read-only opens are just as strict, and nothing was cut.
  Options ro = env.options;
  ro.read_only = true;
  BOOST_CHECK_THROW(env.open(ro), CorruptionError);
  env.flip_byte(name, value_byte);  // undo: the data is all still there
  BOOST_TEST(env.open().get("second").value() == "value-2");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(damage_in_a_sealed_segment_is_an_error, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int i = 0; i < 40; ++i) db.put("k" + std::to_string(i), std::string(200, 'x'));
  }
  const std::string first = filename::data(1);
  env.truncate_file(first, env.read_file(first).size() - 3);  // torn, but not the newest file
  BOOST_CHECK_THROW(env.open(), CorruptionError);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(wrong_magic_is_an_error, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    db.put("k", "v");
  }
  env.flip_byte(filename::data(1), 0);
  Options torn_tail = env.options;
  torn_tail.recovery = RecoveryMode::torn_tail;
  BOOST_CHECK_THROW(env.open(torn_tail), CorruptionError);
  // point_in_time: damage at offset 0 of the newest segment sets the whole file aside.
  const std::string damaged = env.read_file(filename::data(1));
  auto db = env.open();
  BOOST_TEST(db.size() == 0u);
  BOOST_TEST(db.stats().bytes_set_aside == damaged.size());
  auto quarantine = open_directory(B::name, env.dir.str() + "/quarantine", false);
  BOOST_TEST(quarantine->exists(filename::data(1) + ".0-" + std::to_string(damaged.size())));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torn_segment_creation_is_removed, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    db.put("k", "v");
  }
  env.write_file(filename::data(2), std::string(10, '\0'));  // crash while creating segment 2
  auto db = env.open();
  BOOST_TEST(db.get("k").value() == "v");
  db.put("k2", "v2");
  db.close();
  BOOST_TEST(env.open().get("k2").value() == "v2");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(zero_filled_tail_reads_as_end_of_data, B, AllBackends) {
  StoreEnv<B> env;
  const std::string name = filename::data(1);
  {
    auto db = env.open();
    db.put("k", "v");
  }
  env.write_file(name, env.read_file(name) + std::string(1000, '\0'));
  auto db = env.open();
  BOOST_TEST(db.get("k").value() == "v");
  BOOST_TEST(db.stats().torn_tails_dropped == 0u);
  db.put("k2", "v2");
  db.close();
  auto again = env.open();
  BOOST_TEST(again.get("k2").value() == "v2");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(missing_directory_without_create_is_an_io_error, B, AllBackends) {
  StoreEnv<B> env;
  Options o = env.options;
  o.create_if_missing = false;
  BOOST_CHECK_THROW(Store::open(env.dir.str() + "/does-not-exist", o), IoError);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(several_stores_open_at_once, B, AllBackends) {
  StoreEnv<B> a, b;
  auto db1 = a.open();
  auto db2 = b.open();
  db1.put("k", "one");
  db2.put("k", "two");
  BOOST_TEST(db1.get("k").value() == "one");
  BOOST_TEST(db2.get("k").value() == "two");
}

// A put's record carries its write time: Options::clock's when one is set,
// else the system clock's to its tick (the kernel's coarse clock, which may
// lag the exact one by a tick; nothing but the tools reads it).
BOOST_AUTO_TEST_CASE_TEMPLATE(a_put_record_carries_its_write_time, B, AllBackends) {
  StoreEnv<B> env;
  const auto micros = [](std::chrono::system_clock::time_point t) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
  };
  const std::uint64_t before = micros(std::chrono::system_clock::now());
  env.open().put("system", "v");
  const std::uint64_t after = micros(std::chrono::system_clock::now());
  FakeClock clock;
  env.options.clock = clock.fn();
  env.open().put("fake", "v");

  std::map<std::string, std::uint64_t> written;
  const auto directory = env.directory();
  for (const std::string& name : directory->list()) {
    if (filename::parse(name).kind != filename::Kind::data) continue;
    const auto segment = directory->open(name, OpenMode::read_only);
    LogReader reader(*segment, LogReader::Mode::strict);
    while (reader.next())
      for (const Record& r : reader.unit().records) written[std::string(r.key)] = r.header.timestamp;
  }
  BOOST_TEST_REQUIRE(written.size() == 2u);
  BOOST_TEST(written.at("fake") == micros(clock.fn()()));
  BOOST_TEST(written.at("system") <= after);
  BOOST_TEST(written.at("system") + 20'000 >= before);  // a tick is 1-10 ms
}

BOOST_AUTO_TEST_SUITE_END()
