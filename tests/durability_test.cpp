// What each SyncPolicy promises, checked on the real file and mmap backends
// against the syncs that reached the OS (tests/sync_recorder.h): under
// `always` every acknowledged write is durable when its call returns, under
// `interval` within the interval, under `none` after sync(); new segments and
// renamed files are made durable in the directory too, and merge removes its
// inputs only once everything that replaces them is durable. (Many writers
// sharing syncs: concurrency_test.cpp durable_writers_in_parallel.)
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "core/directory_wrapper.h"
#include "core/error.h"
#include "core/store.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"
#include "tests/sync_recorder.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

namespace {

template <class Backend>
struct Recorded {
  Options options(SyncPolicy policy) {
    Options o;
    o.directory = recorder.open(Backend::name, dir.str());
    o.sync = policy;
    o.max_segment_size = 4096;  // rotate every few writes: new segments are covered too
    o.logger = [](std::string_view) {};
    // Merges only where a test asks: the recorder holds every file to the
    // promise, and a background merge's unfinished output is not a write.
    o.merge_dead_fraction = 0;
    o.merge_dead_bytes = 0;
    return o;
  }
  TempDir dir;
  SyncRecorder recorder;  // after dir: destroyed before it, once the store is gone
};

// Under `always`: the write this thread just made, and every new segment, is durable.
void check_acknowledged(const SyncRecorder& recorder, const std::string& what) {
  const SyncRecorder::Append last = SyncRecorder::last_append_of_this_thread();
  BOOST_TEST_REQUIRE(!last.path.empty());
  BOOST_TEST(recorder.durable(last.path) >= last.end,
             what << ": returned with " << last.path << " synced to "
                  << recorder.durable(last.path) << " of " << last.end << " bytes");
  const std::string missing = recorder.not_durable();
  BOOST_TEST(missing.empty(), what << ": returned while not durable:\n" << missing);
}

std::string value(int i) { return "value-" + std::to_string(i) + std::string(150, 'v'); }

// Sealed segments holding live records (which a merge copies into an
// output) and overwritten ones (which make it merge).
void fill_for_merge(Store& db) {
  for (int i = 0; i < 40; ++i) db.put("k" + std::to_string(i), value(i));
  for (int i = 0; i < 80; ++i) db.put("hot" + std::to_string(i % 5), value(i));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(durability)

BOOST_AUTO_TEST_CASE_TEMPLATE(always_syncs_every_write_before_it_returns, Backend, DiskBackends) {
  Recorded<Backend> r;
  Store db = Store::open(r.dir.str(), r.options(SyncPolicy::always));
  for (int i = 0; i < 60; ++i) {  // about three segments
    const std::string key = "k" + std::to_string(i % 20);
    switch (i % 4) {
      case 0:
        db.put(key, value(i));
        check_acknowledged(r.recorder, "put " + key);
        break;
      case 1:
        db.put(key, value(i), std::chrono::hours(1));
        check_acknowledged(r.recorder, "put with ttl " + key);
        break;
      case 2: {
        WriteBatch batch;
        batch.put(key, value(i));
        batch.erase("k" + std::to_string((i + 7) % 20));
        db.write(batch);
        check_acknowledged(r.recorder, "batch at " + key);
        break;
      }
      case 3:
        if (db.erase("k" + std::to_string((i + 3) % 20))) {
          check_acknowledged(r.recorder, "erase");
        }
        WriteBatch erases;  // a batch of erases only
        erases.erase("k" + std::to_string((i + 11) % 20));
        erases.erase("missing");
        db.write(erases);
        check_acknowledged(r.recorder, "erase-only batch");
        break;
    }
  }
  BOOST_TEST(db.stats().segments.size() >= 3u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(interval_syncs_every_write_within_the_interval, Backend,
                              DiskBackends) {
  Recorded<Backend> r;
  Options options = r.options(SyncPolicy::interval);
  options.sync_interval = 20ms;
  options.max_segment_size = 1 << 20;  // no rotation: only the interval thread syncs
  Store db = Store::open(r.dir.str(), options);
  struct Acked {
    SyncRecorder::Append append;
    SyncRecorder::Clock::time_point returned;
  };
  std::vector<Acked> acked;
  for (int i = 0; i < 12; ++i) {
    db.put("k" + std::to_string(i), value(i));
    acked.push_back({SyncRecorder::last_append_of_this_thread(), SyncRecorder::Clock::now()});
    std::this_thread::sleep_for(7ms);
  }
  // Slack for a busy machine; a backend that never syncs fails at any slack.
  const auto allowed = options.sync_interval + 1500ms;
  std::this_thread::sleep_for(options.sync_interval + 100ms);
  for (const Acked& a : acked) {
    std::optional<SyncRecorder::Clock::time_point> since;
    BOOST_TEST(wait_until([&] { return (since = r.recorder.durable_since(a.append.path, a.append.end)).has_value(); }));
    if (!since) return;
    const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(*since - a.returned);
    BOOST_TEST(late <= allowed, "a write became durable " << late.count() << " ms after it returned");
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(none_makes_every_write_durable_at_sync, Backend, DiskBackends) {
  Recorded<Backend> r;
  Store db = Store::open(r.dir.str(), r.options(SyncPolicy::none));
  for (int i = 0; i < 40; ++i) db.put("k" + std::to_string(i), value(i));
  WriteBatch batch;
  batch.erase("k1");
  batch.put("k2", "two", std::chrono::hours(1));
  db.write(batch);
  db.erase("k3");
  db.sync();
  const std::string missing = r.recorder.not_durable();
  BOOST_TEST(missing.empty(), "after sync():\n" << missing);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_removes_inputs_only_once_their_replacement_is_durable, Backend,
                              DiskBackends) {
  Recorded<Backend> r;
  Store db = Store::open(r.dir.str(), r.options(SyncPolicy::none));
  fill_for_merge(db);
  db.erase("k0");
  db.merge();
  BOOST_TEST_REQUIRE(db.stats().merges == 1u);
  db.put("after", "merge");
  const std::string early = r.recorder.early_removals();
  BOOST_TEST(early.empty(), early);
}

// The same when no hint file can be written (whose directory sync would
// otherwise cover the output's rename as well).
BOOST_AUTO_TEST_CASE_TEMPLATE(merge_without_hint_files_removes_inputs_only_once_output_is_durable,
                              Backend, DiskBackends) {
  struct NoHints : DirectoryWrapper {
    using DirectoryWrapper::DirectoryWrapper;
    std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
      if (name.ends_with(".hint.tmp")) throw IoError("no hints here", name, ENOSPC);
      return DirectoryWrapper::create(name, size_hint);
    }
  };
  Recorded<Backend> r;
  Options options = r.options(SyncPolicy::none);
  options.directory = std::make_shared<NoHints>(options.directory);
  Store db = Store::open(r.dir.str(), options);
  fill_for_merge(db);
  db.merge();
  BOOST_TEST_REQUIRE(db.stats().merges == 1u);
  const std::string early = r.recorder.early_removals();
  BOOST_TEST(early.empty(), early);
}

// Every datafile and every name; a hint's bytes are left to the OS (a torn
// one is rejected: crash/hint_torn_by_a_power_cut_after_close_...).
BOOST_AUTO_TEST_CASE_TEMPLATE(close_leaves_every_datafile_and_name_durable, Backend, DiskBackends) {
  Recorded<Backend> r;
  {
    Store db = Store::open(r.dir.str(), r.options(SyncPolicy::none));
    for (int i = 0; i < 60; ++i) db.put("k" + std::to_string(i % 25), value(i));
    db.merge();
    db.put("last", "write");
    db.close();
  }
  const std::string missing = r.recorder.not_durable(/*hint_names=*/true);
  BOOST_TEST(missing.empty(), "after close():\n" << missing);
}

BOOST_AUTO_TEST_SUITE_END()
