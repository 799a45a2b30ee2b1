// Hint files: written for sealed segments, used at open, and ignored (with a
// report) when missing, stale or damaged.
#include <boost/test/unit_test.hpp>

#include "backends/memory_directory.h"
#include "core/crc32c.h"
#include "core/directory_wrapper.h"
#include "core/segment_wrapper.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

namespace {

// The hint files are under test: open must replay them, not load the
// keydir snapshot that stands in for them (tests/keydir_snapshot_test.cpp).
template <class B>
struct HintEnv : StoreEnv<B> {
  HintEnv() { this->options.keydir_snapshot = false; }
};

// Fills several small segments: overwrites, an erase, a batch, then closes
// cleanly. Returns the number of datafiles, all of them hinted by then.
template <class B>
std::size_t fill(StoreEnv<B>& env) {
  env.options.max_segment_size = 4096;
  auto db = env.open();
  for (int round = 0; round < 3; ++round)
    for (int k = 0; k < 40; ++k) db.put("key" + std::to_string(k), value_of(k, round));
  db.erase("key7");
  WriteBatch batch;
  batch.put("batched", "b");
  batch.erase("key8");
  db.write(batch);
  while (db.stats().segments.back().bytes < 2048) db.put("pad", value_of(0, 0));
  db.close();  // drains the hint writer, and hints the newest segment (over half full)
  return ids_of(*env.directory(), filename::Kind::data).size();
}

// fill(env) (`files` gets its result), then the contents as that close left them.
template <class B>
std::map<std::string, std::string> fill_and_read(StoreEnv<B>& env, std::size_t& files) {
  files = fill(env);
  auto db = env.open();
  return contents(db);
}

// Rewrites the end entry of a hint so it claims another datafile size.
template <class B>
void make_stale(const StoreEnv<B>& env, std::uint32_t id) {
  std::string bytes = env.read_file(filename::hint(id));
  auto* end = reinterpret_cast<std::byte*>(bytes.data() + bytes.size() - format::kHintEndSize);
  format::store_le<std::uint64_t>(end + 8, format::load_le<std::uint64_t>(end + 8) + 1);  // data_size
  format::store_le<std::uint32_t>(
      end, crc32c::value(std::span<const std::byte>(end + 4, format::kHintEndSize - 4)));
  env.write_file(filename::hint(id), bytes);
}

// The entries for `key` in segment `id`'s hint file, which must load.
template <class B>
int hint_entries_for(const StoreEnv<B>& env, std::uint32_t id, std::string_view key) {
  std::string problem;
  const auto size = env.read_file(filename::data(id)).size();
  const auto loaded = hint::HintFile::load(*env.directory(), id, size, problem);
  BOOST_TEST_REQUIRE(loaded.has_value(), problem);
  int n = 0;
  loaded->for_each([&](const format::HintEntry& e) { n += e.key == key; });
  return n;
}

std::size_t count(const std::string& log, const std::string& what) {
  std::size_t n = 0;
  for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hint_files)

// An expiry read from a hint file is the one in the record: a key loaded
// from hints still expires on time, and its neighbour without a TTL does not.
BOOST_AUTO_TEST_CASE_TEMPLATE(expiry_survives_loading_from_hints, B, AllBackends) {
  HintEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int k = 0; k < 30; ++k) {
      db.put("ttl" + std::to_string(k), value_of(k, 0), std::chrono::minutes(10));
      db.put("kept" + std::to_string(k), value_of(k, 0));
    }
    while (db.stats().segments.back().bytes < 2048) db.put("pad", value_of(0, 0));
    db.close();  // every segment hinted
  }
  const std::size_t segments = ids_of(*env.directory(), filename::Kind::data).size();
  BOOST_TEST_REQUIRE(ids_of(*env.directory(), filename::Kind::hint).size() == segments);
  {
    auto db = env.open();
    BOOST_TEST(db.stats().segments_from_hints == segments);
    BOOST_TEST(db.get("ttl3").has_value());
  }
  clock.advance(std::chrono::minutes(11));
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == segments);
  for (int k = 0; k < 30; ++k) {
    BOOST_TEST(!db.get("ttl" + std::to_string(k)).has_value(), "ttl" << k << " outlived its TTL");
    BOOST_TEST(db.get("kept" + std::to_string(k)).has_value());
  }
}

// A hint is trusted without rereading its datafile, so damage behind it
// shows only when the value is read: the read checks the record's CRC.
BOOST_AUTO_TEST_CASE_TEMPLATE(damaged_value_behind_a_hint_fails_its_read, B, AllBackends) {
  HintEnv<B> env;
  fill(env);
  const std::string wanted = value_of(39, 2);
  bool flipped = false;
  for (const std::uint32_t id : ids_of(*env.directory(), filename::Kind::data)) {
    const auto at = env.read_file(filename::data(id)).find(wanted);
    if (at == std::string::npos) continue;
    env.flip_byte(filename::data(id), at + wanted.size() / 2);
    flipped = true;
  }
  BOOST_TEST_REQUIRE(flipped);
  auto db = env.open();
  BOOST_TEST_REQUIRE(db.stats().segments_from_hints > 0u);
  BOOST_CHECK_THROW(db.get("key39"), CorruptionError);
  BOOST_CHECK_THROW(db.get_pinned("key39"), CorruptionError);
  const std::vector<std::string_view> batch{"key38", "key39"};
  BOOST_CHECK_THROW(db.get_many(batch), CorruptionError);
  BOOST_TEST(db.get("key38").value() == value_of(38, 2));  // its neighbours read fine
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sealed_segments_get_hints_in_the_background, B, AllBackends) {
  HintEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  for (int k = 0; db.stats().segments.size() < 4; ++k) db.put("key" + std::to_string(k), value_of(k, 0));
  // The first three were sealed by rotation; their hints come from the worker.
  const std::vector<std::uint32_t> hinted = segment_ids(db.stats(), sealed);
  BOOST_TEST_REQUIRE(hinted.size() == 3u);
  BOOST_TEST_REQUIRE(wait_until([&] { return ids_of(*env.directory(), filename::Kind::hint) == hinted; }));
  db.close();  // the active segment is small: scanned at open, not hinted
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::hint) == hinted, boost::test_tools::per_element());
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::temp).empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(clean_close_hints_a_big_active_segment_and_seals_it, B, AllBackends) {
  HintEnv<B> env;
  const std::size_t files = fill(env);  // its last segment is over half full
  {
    auto db = env.open();
    BOOST_TEST(db.stats().segments_from_hints == files);
    // Sealed by its hint: appends go to a new segment, which the first
    // write starts.
    BOOST_TEST(db.stats().segments.size() == files);
    const std::uint32_t sealed = db.stats().segments.back().id;
    db.put("late", "write");
    BOOST_TEST(db.stats().segments.size() == files + 1);
    BOOST_TEST(db.stats().segments.back().id > sealed);
  }
  auto db = env.open();
  BOOST_TEST(db.get("late").value() == "write");
  BOOST_TEST(db.get("key3").value() == value_of(3, 2));
}

// A segment synced on every write keeps the zeros written ahead of its data
// when it is sealed; its hint describes the file with them, so it is not
// stale at the next open.
BOOST_AUTO_TEST_CASE_TEMPLATE(segment_with_zeros_after_its_data_reopens_from_its_hint, B,
                              DiskBackends) {
  HintEnv<B> env;
  env.options.max_segment_size = 8 << 20;
  env.options.sync = SyncPolicy::always;
  {
    auto db = env.open();
    for (int k = 0; k < 100; ++k) db.put("key" + std::to_string(k), value_of(k, 0));
    db.seal_active();  // sealed, then hinted in the background (close waits for it)
  }
  const std::string data = env.read_file(filename::data(1));
  BOOST_TEST_REQUIRE(data.size() > 100 * 100u + (512u << 10));
  BOOST_TEST(data.back() == '\0');
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints >= 1u);
  BOOST_TEST(env.log.find("stale") == std::string::npos, env.log);
  for (int k = 0; k < 100; ++k)
    BOOST_TEST(db.get("key" + std::to_string(k)).value_or("missing") == value_of(k, 0));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(small_active_segment_is_scanned_and_appended_to, B, AllBackends) {
  HintEnv<B> env;
  { auto db = env.open(); db.put("a", "1"); }
  BOOST_TEST(!env.directory()->exists(filename::hint(1)));
  auto db = env.open();
  BOOST_TEST(db.stats().segments.size() == 1u);
  BOOST_TEST(db.stats().segments_from_hints == 0u);
  BOOST_TEST(env.log.find("hint") == std::string::npos, env.log);  // a missing one is normal here
}

BOOST_AUTO_TEST_CASE_TEMPLATE(open_replays_hints_instead_of_scanning, B, AllBackends) {
  HintEnv<B> env;
  const std::size_t files = fill(env);
  std::map<std::string, std::string> scanned;
  {
    // Reference contents from a scan of every datafile.
    for (auto id : ids_of(*env.directory(), filename::Kind::hint))
      env.directory()->remove(filename::hint(id));
    auto db = env.open();
    BOOST_TEST(db.stats().segments_from_hints == 0u);
    scanned = contents(db);
  }  // close writes the hints again
  // The newest segment had lost its hint, so that open started a segment
  // after it, which close sealed (empty) with a hint of its own.
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files + 1);
  BOOST_TEST(contents(db) == scanned);
  BOOST_TEST(!db.get("key7").has_value());
  BOOST_TEST(!db.get("key8").has_value());
  BOOST_TEST(db.get("batched").value() == "b");
  BOOST_TEST(db.get("key3").value() == value_of(3, 2));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_from_hints_equal_stats_from_scan, B, AllBackends) {
  HintEnv<B> env;
  fill(env);
  Stats from_hints;
  {
    auto db = env.open();
    from_hints = db.stats();
  }
  for (auto id : ids_of(*env.directory(), filename::Kind::hint))
    env.directory()->remove(filename::hint(id));
  auto db = env.open();
  Stats scanned = db.stats();
  // Without its hint the newest segment is no longer sealed for good, so
  // this open started a fresh (empty) segment after it.
  BOOST_TEST_REQUIRE(scanned.segments.size() == from_hints.segments.size() + 1);
  BOOST_TEST(scanned.segments.back().live_keys == 0u);
  scanned.segments.pop_back();
  BOOST_TEST(scanned.segments_from_hints == 0u);
  BOOST_TEST(from_hints.segments_from_hints > 0u);
  BOOST_TEST(from_hints.keys == scanned.keys);
  check_same_segment_stats(from_hints, scanned);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(damaged_hint_is_reported_and_datafile_scanned, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  // The last byte of the first entry (its key's).
  const std::string bytes = env.read_file(filename::hint(1));
  format::HintEntry first;
  std::size_t size = 0;
  BOOST_TEST_REQUIRE(format::decode_hint_entry(format::as_bytes(bytes).subspan(format::kFileHeaderSize),
                                               first, size) == nullptr);
  env.flip_byte(filename::hint(1), format::kFileHeaderSize + size - 1);
  env.log.clear();
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files - 1);
  BOOST_TEST(count(env.log, "checksum mismatch; scanning the datafile") == 1u, env.log);
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hint_damaged_near_its_end_leaves_no_entry_applied, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  // Rewrite segment 1's hint with a well-formed first entry for a key the
  // datafile never held, then damage its last entry (before the end entry).
  // Applied entry by entry, "ghost" would survive the fallback scan.
  const std::uint64_t data_size = env.read_file(filename::data(1)).size();
  std::string problem;
  const auto loaded = hint::HintFile::load(*env.directory(), 1, data_size, problem);
  BOOST_TEST_REQUIRE(loaded.has_value(), problem);
  const auto header = format::encode_file_header(format::kHintMagic, 1);
  std::string bytes(reinterpret_cast<const char*>(header.data()), header.size());
  std::uint64_t entries = 0;
  loaded->for_each([&](const format::HintEntry& e) {
    if (entries++ == 0 && e.type == format::HintType::value) {
      format::HintEntry ghost = e;
      ghost.key = "ghost";
      format::encode_hint_entry(bytes, ghost);
      ++entries;
    }
    format::encode_hint_entry(bytes, e);
  });
  BOOST_TEST_REQUIRE(entries == loaded->entry_count() + 1);
  format::HintEntry end;
  end.type = format::HintType::end;
  end.offset = data_size;
  end.count = entries;
  format::encode_hint_entry(bytes, end);
  env.write_file(filename::hint(1), bytes);
  {
    auto db = env.open();  // the forged hint is good as it stands
    BOOST_TEST(db.contains("ghost"));
  }
  env.write_file(filename::hint(1), bytes);  // that open may not keep it; restore
  env.flip_byte(filename::hint(1), bytes.size() - format::kHintEndSize - 1);
  env.log.clear();
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files - 1);
  BOOST_TEST(count(env.log, "0000000001.hint ignored") == 1u, env.log);
  BOOST_TEST(!db.contains("ghost"));
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(truncated_hint_is_reported_and_datafile_scanned, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  const std::string name = filename::hint(ids_of(*env.directory(), filename::Kind::hint).at(1));
  env.truncate_file(name, env.read_file(name).size() - 1);
  env.log.clear();
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files - 1);
  BOOST_TEST(count(env.log, name + " ignored") == 1u, env.log);
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stale_hint_is_reported_and_datafile_scanned, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  make_stale(env, 1);
  env.log.clear();
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files - 1);
  BOOST_TEST(count(env.log, "stale") == 1u, env.log);
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(missing_hint_is_reported_scanned_and_rewritten, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  env.directory()->remove(filename::hint(1));
  env.log.clear();
  {
    auto db = env.open();
    BOOST_TEST(db.stats().segments_from_hints == files - 1);
    BOOST_TEST(count(env.log, "no hint file") == 1u, env.log);
    BOOST_TEST(contents(db) == before);
  }  // the background writer restores the missing hint
  BOOST_TEST(env.directory()->exists(filename::hint(1)));
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hint_of_a_sealed_tombstone_keeps_an_older_value_deleted, B,
                              AllBackends) {
  HintEnv<B> env;
  env.options.max_segment_size = 4096;
  std::uint32_t second = 0;
  {
    auto db = env.open();
    db.put("doomed", "old value in segment 1");
    for (int k = 0; db.stats().segments.size() < 2; ++k) db.put("fill" + std::to_string(k), value_of(k, 0));
    BOOST_TEST(db.erase("doomed"));  // tombstone in the second segment
    second = db.stats().segments.back().id;
    for (int k = 0; db.stats().segments.size() < 3; ++k) db.put("more" + std::to_string(k), value_of(k, 1));
  }
  // The second segment's hint must carry the tombstone, or replay from hints
  // would leave segment 1's value live.
  std::string problem;
  auto loaded = pyk::hint::HintFile::load(*env.directory(), second,
                                          env.read_file(filename::data(second)).size(), problem);
  BOOST_TEST_REQUIRE(loaded.has_value(), problem);
  int tombstones = 0;
  loaded->for_each([&](const format::HintEntry& e) {
    tombstones += e.type == format::HintType::tombstone && e.key == "doomed";
  });
  BOOST_TEST(tombstones == 1);
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints >= 2u);
  BOOST_TEST(!db.get("doomed").has_value());
}

BOOST_AUTO_TEST_CASE(hint_check_rejects_every_single_byte_flip) {
  // The decoder used at open, over a real hint image: no flipped byte passes.
  auto dir = std::make_shared<MemoryDirectory>();
  Options options;
  options.directory = dir;
  options.max_segment_size = 4096;
  options.logger = [](std::string_view) {};
  {
    auto db = Store::open("mem", options);
    for (int k = 0; k < 60; ++k) db.put("k" + std::to_string(k), value_of(k, 0));
  }
  auto file = dir->open(filename::hint(1), OpenMode::read_only);
  std::string bytes(file->size(), '\0');
  file->read_into(0, std::as_writable_bytes(std::span(bytes)));
  const auto data_size = dir->open(filename::data(1), OpenMode::read_only)->size();
  std::uint64_t n = 0;
  BOOST_TEST_REQUIRE(pyk::hint::check(format::as_bytes(bytes), 1, data_size, n) == nullptr);
  BOOST_TEST(n > 0u);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x01;
    BOOST_TEST_CONTEXT("byte " << i) {
      BOOST_TEST(pyk::hint::check(format::as_bytes(bad), 1, data_size, n) != nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(hint_entries_round_trip_compactly_and_say_how_long_they_are) {
  const std::string big_key(format::kMaxKeySize, 'k');
  std::vector<format::HintEntry> entries;
  entries.push_back({format::HintType::value, 148, 100u << 20, 0, 0, "0123456789abcdef"});
  entries.push_back({format::HintType::value, 1u << 30, UINT32_MAX, 1'700'000'000'000'000, 0, "k"});
  entries.push_back({format::HintType::tombstone, format::kRecordHeaderSize + 3, 40, 0, 0, "abc"});
  entries.push_back({format::HintType::value, UINT32_MAX, 1ull << 40, 0, 0, big_key});
  entries.push_back({format::HintType::end, 0, 123456789, 0, 4, {}});
  for (const format::HintEntry& e : entries) {
    std::string bytes;
    format::encode_hint_entry(bytes, e);
    BOOST_TEST_CONTEXT("entry of type " << int(e.type) << " with a " << e.key.size() << "-byte key") {
      format::HintEntry got;
      std::size_t size = 0;
      BOOST_TEST_REQUIRE(format::decode_hint_entry(format::as_bytes(bytes), got, size) == nullptr);
      BOOST_TEST(size == bytes.size());
      BOOST_TEST((got.type == e.type));
      BOOST_TEST(got.record_size == e.record_size);
      BOOST_TEST(got.offset == e.offset);
      BOOST_TEST(got.expiry == e.expiry);
      BOOST_TEST(got.count == e.count);
      BOOST_TEST(got.key == e.key);
      // Cut anywhere, it asks for more: its length once the header is in
      // (what HintCursor reads next), 0 before.
      for (std::size_t cut = 0; cut < bytes.size(); cut += cut < 64 ? 1 : 4093) {
        const char* reason = format::decode_hint_entry(format::as_bytes(bytes).first(cut), got, size);
        BOOST_TEST_REQUIRE(reason != nullptr);
        if (cut >= 5) {
          BOOST_TEST(reason == format::kHintEntryRunsPastEnd, "cut at " << cut << ": " << reason);
          BOOST_TEST((size == 0 || size == bytes.size()), "cut at " << cut);
        }
      }
    }
  }
  // Version 1 took 40 + 16 bytes for a 16-byte key: now 4 + 1 + 1 + 2 + 4 + 16.
  std::string first;
  format::encode_hint_entry(first, entries[0]);
  BOOST_TEST(first.size() == 28u);
  std::string end;
  format::encode_hint_entry(end, entries.back());
  BOOST_TEST(end.size() == format::kHintEndSize);
}

BOOST_AUTO_TEST_CASE(hint_entries_cut_by_the_read_window_anywhere_are_read_whole) {
  // HintCursor reads 1 MiB windows from just past the file header: the entry
  // that straddles the first window's end is cut there after `cut` bytes,
  // inside its header or its key, and must be read whole all the same.
  constexpr std::uint64_t kWindowEnd = format::kFileHeaderSize + (1u << 20);
  constexpr std::uint64_t kDataSize = 1ull << 40;  // 5-byte offset varints: long headers
  for (std::uint64_t cut = 1; cut <= 40; ++cut) {
    BOOST_TEST_CONTEXT("an entry cut after " << cut << " bytes") {
      const auto header = format::encode_file_header(format::kHintMagic, 1);
      std::string bytes(reinterpret_cast<const char*>(header.data()), header.size());
      std::uint64_t count = 0, offset = 1ull << 33;
      const auto add = [&](std::size_t key_size) {
        format::HintEntry e{format::HintType::value,
                            static_cast<std::uint32_t>(format::kRecordHeaderSize + key_size), offset, 0, 0,
                            {}};
        const std::string key(key_size, static_cast<char>('a' + count % 26));
        e.key = key;
        format::encode_hint_entry(bytes, e);
        offset += e.record_size;
        ++count;
      };
      const auto size_of = [&](std::size_t key_size) {
        std::string probe;
        const std::string key(key_size, 'k');
        format::encode_hint_entry(probe, {format::HintType::value,
                                          static_cast<std::uint32_t>(format::kRecordHeaderSize + key_size),
                                          offset, 0, 0, key});
        return probe.size();
      };
      while (kWindowEnd - cut - bytes.size() > 70000) add(60000);
      // One entry that ends exactly `cut` bytes before the window's end.
      const std::size_t rest = kWindowEnd - cut - bytes.size();
      std::size_t key_size = rest;
      while (size_of(key_size) > rest) --key_size;
      BOOST_TEST_REQUIRE(size_of(key_size) == rest);
      add(key_size);
      for (int i = 0; i < 3; ++i) add(40);  // the first of these is cut
      format::encode_hint_entry(bytes, {format::HintType::end, 0, kDataSize, 0, count, {}});

      auto dir = std::make_shared<MemoryDirectory>();
      dir->create(filename::hint(1), 0)->append(format::as_bytes(bytes));
      std::string problem;
      const auto loaded = hint::HintFile::load(*dir, 1, kDataSize, problem);
      BOOST_TEST_REQUIRE(loaded.has_value(), problem);
      std::uint64_t seen = 0;
      loaded->for_each([&](const format::HintEntry& e) {
        BOOST_TEST(e.key.size() == e.record_size - format::kRecordHeaderSize);
        ++seen;
      });
      BOOST_TEST(seen == count);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(version_1_hint_is_ignored_scanned_past_and_rewritten, B, AllBackends) {
  HintEnv<B> env;
  std::size_t files = 0;
  const auto before = fill_and_read(env, files);
  // Segment 1's hint as version 1 would head it (the header checks, then its version).
  std::string bytes = env.read_file(filename::hint(1));
  auto* header = reinterpret_cast<std::byte*>(bytes.data());
  BOOST_TEST_REQUIRE(format::load_le<std::uint32_t>(header + 8) == format::kHintFormatVersion);
  format::store_le<std::uint32_t>(header + 8, 1);
  format::store_le<std::uint32_t>(header + 28, crc32c::value(std::span<const std::byte>(header, 28)));
  env.write_file(filename::hint(1), bytes);
  env.log.clear();
  {
    auto db = env.open();
    BOOST_TEST(db.stats().segments_from_hints == files - 1);
    BOOST_TEST(count(env.log, "0000000001.hint ignored: unsupported format version") == 1u, env.log);
    BOOST_TEST(contents(db) == before);
  }  // the background writer writes it anew
  const std::string rewritten = env.read_file(filename::hint(1));
  BOOST_TEST(format::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(rewritten.data()) + 8) ==
             format::kHintFormatVersion);
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == files);
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hint_of_a_datafile_with_a_zero_tail_is_not_stale, B, AllBackends) {
  // Found by fuzzing pyk-fsck --repair: zeros past the last record (a power
  // cut's zeroed range, older preallocation) made every rebuilt hint stale.
  HintEnv<B> env;
  fill(env);
  std::string bytes = env.read_file(filename::data(1));
  bytes.append(300, '\0');
  env.write_file(filename::data(1), bytes);
  auto segment = env.directory()->open(filename::data(1), OpenMode::read_only);
  env.directory()->remove(filename::hint(1));
  hint::write(*env.directory(), 1, *segment);
  std::string problem;
  BOOST_TEST(hint::HintFile::load(*env.directory(), 1, bytes.size(), problem).has_value(), problem);
}


namespace {

// Remembers the largest read() or pin() made on the segments it opens.
class LargestReadDirectory final : public DirectoryWrapper {
 public:
  using DirectoryWrapper::DirectoryWrapper;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return std::make_unique<Recorder>(target()->open(name, mode), largest);
  }
  std::shared_ptr<std::size_t> largest = std::make_shared<std::size_t>(0);

 private:
  class Recorder final : public SegmentWrapper {
   public:
    Recorder(std::unique_ptr<Segment> target, std::shared_ptr<std::size_t> largest)
        : SegmentWrapper(std::move(target)), largest_(std::move(largest)) {}
    std::span<const std::byte> read(std::uint64_t offset, std::size_t n,
                                    std::span<std::byte> scratch) const override {
      *largest_ = std::max(*largest_, n);
      return SegmentWrapper::read(offset, n, scratch);
    }
    PinnedBytes pin(std::uint64_t offset, std::size_t n) const override {
      *largest_ = std::max(*largest_, n);
      return SegmentWrapper::pin(offset, n);
    }

   private:
    std::shared_ptr<std::size_t> largest_;
  };
};

}  // namespace

BOOST_AUTO_TEST_CASE(hint_lists_every_record_and_is_read_in_windows_not_whole) {
  auto memory = std::make_shared<MemoryDirectory>();
  // 120,000 records of 30 keys: a hint of several MiB.
  {
    auto data = memory->create(filename::data(1), 0);
    data->append(format::encode_file_header(format::kDataMagic, 1));
    std::string records;
    for (int i = 0; i < 120000; ++i) {
      format::encode_record(records, i % 997 == 0 ? format::RecordType::tombstone : format::RecordType::value,
                            "key-with-some-length-" + std::to_string(i % 30),
                            i % 997 == 0 ? std::string() : std::string(20, 'v'), 1000 + i, 0);
    }
    data->append(format::as_bytes(records));
    data->seal();
  }
  const auto data = memory->open(filename::data(1), OpenMode::read_only);
  hint::write(*memory, 1, *data);
  const std::uint64_t hint_size = memory->open(filename::hint(1), OpenMode::read_only)->size();
  BOOST_TEST_REQUIRE(hint_size > 3u << 20);

  LargestReadDirectory reading(memory);
  std::string problem;
  const auto loaded = hint::HintFile::load(reading, 1, data->size(), problem);
  BOOST_TEST_REQUIRE(loaded.has_value(), problem);
  BOOST_TEST(loaded->entry_count() == 120000u);  // every record, in file order
  std::uint64_t seen = 0, last_offset = 0;
  loaded->for_each([&](const format::HintEntry& e) {
    BOOST_CHECK(e.offset > last_offset);
    last_offset = e.offset;
    ++seen;
  });
  BOOST_TEST(seen == 120000u);
  // A window of about 1 MiB, never the whole file (a whole segment's hint
  // held in memory was most of pyk's peak RSS).
  BOOST_TEST(*reading.largest <= (1u << 20) + format::kHintMaxHeaderSize + format::kMaxKeySize);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(hint_leaves_out_values_replaced_in_their_segment_but_not_beyond, B,
                              AllBackends) {
  HintEnv<B> env;
  env.options.max_segment_size = 4096;
  auto entries_of_k = [&] { return hint_entries_for(env, 1, "k"); };
  std::uint32_t second = 0;  // the segment after 1 (a spare's id, or one the rotation made)
  {
    auto db = env.open();
    db.put("k", "v1");
    db.put("k", "v2");  // replaces v1 in the same segment: v1 needs no hint entry
    for (int i = 0; db.stats().segments.size() < 2; ++i) db.put("filler" + std::to_string(i), "x");
    second = db.stats().segments.back().id;
    BOOST_TEST_REQUIRE(wait_until([&] { return env.directory()->exists(filename::hint(1)); }));
    BOOST_TEST(entries_of_k() == 1);
    db.put("k", "v3");  // the second segment, which a power cut may still take away
  }
  // Hinted again now that the keydir points at v3, in segment 2.
  env.directory()->remove(filename::hint(1));
  std::string segment_one, hint_one, header_two;
  {
    auto db = env.open();
    BOOST_TEST_REQUIRE(wait_until([&] { return env.directory()->exists(filename::hint(1)); }));
    segment_one = env.read_file(filename::data(1));
    hint_one = env.read_file(filename::hint(1));
    header_two = env.read_file(filename::data(second)).substr(0, format::kFileHeaderSize);
  }
  BOOST_TEST(entries_of_k() == 2);  // v1 and v2: only v3 replaces them, and not for sure
  // The power cut: segment 2 lost everything after its header (never
  // synced), segment 1 and its hint are as they were. v2 must be back, which
  // it would not be had the hint left out what v3 replaced.
  for (const auto& name : env.directory()->list()) env.directory()->remove(name);
  env.write_file(filename::data(1), segment_one);
  env.write_file(filename::hint(1), hint_one);
  env.write_file(filename::data(second), header_two);
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == 1u);
  BOOST_TEST(db.get("k").value() == "v2");
}

// The hint close writes for the active segment lists every record, values
// replaced in the segment too: close does not wait for a keydir lookup per
// record (the keydir snapshot written next is what the next open loads).
// Replaying it still gives the newest value.
BOOST_AUTO_TEST_CASE_TEMPLATE(close_hint_lists_replaced_values_and_replays_to_the_newest, B,
                              AllBackends) {
  HintEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    db.put("k", "v1");
    db.put("k", "v2");
    while (db.stats().segments.back().bytes < 2048) db.put("pad", "x");  // hinted at close
    BOOST_TEST_REQUIRE(db.stats().segments.size() == 1u);
  }
  BOOST_TEST(hint_entries_for(env, 1, "k") == 2);
  auto db = env.open();
  BOOST_TEST(db.stats().segments_from_hints == 1u);
  BOOST_TEST(db.get("k").value() == "v2");
  BOOST_TEST(db.get("pad").value() == "x");
}

BOOST_AUTO_TEST_SUITE_END()
