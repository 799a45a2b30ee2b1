// Promises of store.h, options.h and directory.h that no other suite
// checked: what a read-only open leaves alone, backends reading each other's
// files, pinned values across merge, merge over damage, reads that never
// wait for a sync, group commit sharing syncs, option validation, and errors
// of the destructor's close going to the logger.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/memory_directory.h"
#include "core/directory_wrapper.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/segment_wrapper.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> sorted_list(const Directory& dir) {
  std::vector<std::string> names = dir.list();
  std::sort(names.begin(), names.end());
  return names;
}

// Segments whose sync() calls `on_sync` first (to slow it down, block it or fail it).
class SyncHookDirectory : public DirectoryWrapper {
 public:
  using Hook = std::function<void(const std::string& name)>;
  SyncHookDirectory(std::shared_ptr<Directory> target, Hook on_sync)
      : DirectoryWrapper(std::move(target)), on_sync_(std::move(on_sync)) {}

  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
    return std::make_unique<HookedSegment>(DirectoryWrapper::create(name, size_hint), on_sync_);
  }
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return std::make_unique<HookedSegment>(DirectoryWrapper::open(name, mode), on_sync_);
  }

 private:
  struct HookedSegment : SegmentWrapper {
    HookedSegment(std::unique_ptr<Segment> target, const Hook& hook)
        : SegmentWrapper(std::move(target)), hook(hook) {}
    void sync() override {
      hook(name());
      SegmentWrapper::sync();
    }
    void seal() override {
      if (!sealed()) hook(name());
      SegmentWrapper::seal();
    }
    const Hook& hook;
  };
  const Hook on_sync_;
};

Options quiet_options(std::shared_ptr<Directory> directory) {
  Options o;
  o.directory = std::move(directory);
  o.logger = [](std::string_view) {};
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_promises)

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_open_removes_nothing, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int k = 0; db.stats().segments.size() < 3; ++k) db.put("k" + std::to_string(k), value_of(k, 0));
    db.close();
  }
  const auto data = ids_of(*env.directory(), filename::Kind::data);
  const auto hints = ids_of(*env.directory(), filename::Kind::hint);
  BOOST_TEST_REQUIRE(!hints.empty());
  // What a writer's open would clean up: an unfinished merge output, a torn
  // creation of the next segment, a hint whose datafile is gone.
  env.write_file(filename::temp(filename::data(data.back() + 5)), "half a merge");
  env.write_file(filename::data(data.back() + 1), std::string(10, '\0'));
  env.write_file(filename::hint(data.back() + 7), env.read_file(filename::hint(hints.front())));
  const auto before = sorted_list(*env.directory());

  Options o = env.options;
  o.read_only = true;
  {
    auto db = env.open(o);
    BOOST_TEST(db.get("k0").value() == value_of(0, 0));
  }
  BOOST_TEST(sorted_list(*env.directory()) == before, boost::test_tools::per_element());

  auto writer = env.open();  // which does remove them
  BOOST_TEST(sorted_list(*env.directory()) != before);
}

// The file and mmap backends share the on-disk format: a store written by
// one opens with the other, hints and all, and can be appended to.
BOOST_AUTO_TEST_CASE(file_and_mmap_open_each_others_stores) {
  TempDir dir;
  Options options;
  options.max_segment_size = 4096;
  options.logger = [](std::string_view) {};
  std::map<std::string, std::string> expected;
  const char* order[] = {"file", "mmap", "file", "mmap"};
  for (int step = 0; step < 4; ++step) {
    BOOST_TEST_CONTEXT("opened with " << order[step] << " at step " << step) {
      options.backend = order[step];
      auto db = Store::open(dir.str(), options);
      BOOST_TEST(contents(db) == expected);
      for (int k = 0; k < 40; ++k) {
        const std::string key = "k" + std::to_string((k * 7 + step) % 50);
        db.put(key, value_of(k, step));
        expected[key] = value_of(k, step);
      }
      db.erase("k3");
      expected.erase("k3");
      db.close();
    }
  }
  options.backend = "file";
  auto db = Store::open(dir.str(), options);
  BOOST_TEST(db.stats().segments_from_hints > 0u);
  BOOST_TEST(contents(db) == expected);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pinned_value_outlives_the_merge_that_removes_its_segment, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  db.put("pinned", value_of(1, 1));
  for (int i = 0; db.stats().segments.size() < 4; ++i) db.put("hot", value_of(i, 2));
  const std::uint32_t home = db.stats().segments.front().id;
  std::optional<Store::PinnedValue> pinned = db.get_pinned("pinned");
  BOOST_TEST_REQUIRE(pinned.has_value());
  db.put("pinned", "overwritten");  // the pinned record is now dead: merge drops it
  db.merge();
  BOOST_TEST_REQUIRE(db.stats().merges == 1u);
  const auto data = ids_of(*env.directory(), filename::Kind::data);
  BOOST_TEST_REQUIRE(std::count(data.begin(), data.end(), home) == 0);
  BOOST_TEST(pinned->value == value_of(1, 1));
  db.close();
  BOOST_TEST(pinned->value == value_of(1, 1));
}

// store.h: merge throws CorruptionError on a damaged sealed segment, and
// nothing is lost: the old segments stay, every other key still reads.
BOOST_AUTO_TEST_CASE_TEMPLATE(merge_over_a_damaged_sealed_segment_keeps_everything, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    for (int k = 0; k < 40; ++k) {
      db.put("k" + std::to_string(k), value_of(k, 0));
      db.put("hot", value_of(k, 1));  // dead bytes in every segment: all are merged
    }
    for (int i = 40; i < 60; ++i) db.put("hot", value_of(i, 1));
    db.close();  // hinted: the next open does not read the datafiles
  }
  const std::uint32_t first = ids_of(*env.directory(), filename::Kind::data).front();
  const std::string damaged = value_of(2, 0);
  const auto at = env.read_file(filename::data(first)).find(damaged);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  env.flip_byte(filename::data(first), at + 10);

  auto db = env.open();
  const auto files = ids_of(*env.directory(), filename::Kind::data);
  BOOST_CHECK_THROW(db.merge(), CorruptionError);
  BOOST_TEST(db.stats().merges == 0u);
  BOOST_TEST(ids_of(*env.directory(), filename::Kind::data) == files);
  for (int k = 0; k < 40; ++k) {
    if (k != 2) BOOST_TEST(db.get("k" + std::to_string(k)).value() == value_of(k, 0));
  }
  BOOST_TEST(db.get("hot").value() == value_of(59, 1));
  db.put("after", "failed merge");
  db.close();
  auto reopened = env.open();
  BOOST_TEST(reopened.get("k3").value() == value_of(3, 0));
  BOOST_TEST(reopened.get("after").value() == "failed merge");
}

// store.h: "a get never waits for an fsync". A put under SyncPolicy::always
// is held inside its sync; gets (of that key too) return meanwhile.
BOOST_AUTO_TEST_CASE(get_never_waits_for_a_sync) {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, in_sync = false;
  auto directory = std::make_shared<SyncHookDirectory>(
      std::make_shared<MemoryDirectory>(), [&](const std::string&) {
        std::unique_lock lock(mu);
        if (!hold) return;
        in_sync = true;
        cv.notify_all();
        cv.wait_for(lock, 20s, [&] { return !hold; });  // bounded: a bug fails, never hangs
        in_sync = false;
      });
  Options options = quiet_options(directory);
  options.sync = SyncPolicy::always;
  auto db = Store::open("no-wait", options);
  db.put("old", "value");
  {
    std::lock_guard lock(mu);
    hold = true;
  }
  std::jthread writer([&] { db.put("new", "value"); });
  {
    std::unique_lock lock(mu);
    BOOST_TEST_REQUIRE(cv.wait_for(lock, 20s, [&] { return in_sync; }));
  }
  BOOST_TEST(db.get("old").value() == "value");
  BOOST_TEST(db.get("new").value() == "value");  // visible once appended, before durable
  BOOST_TEST(db.contains("new"));
  BOOST_TEST(db.size() == 2u);
  bool still_in_sync;
  {
    std::lock_guard lock(mu);
    still_in_sync = in_sync;
    hold = false;
  }
  cv.notify_all();
  BOOST_TEST(still_in_sync, "the reads had to wait for the sync to end");
}

// group_commit.h: writers that arrive while a sync runs share the next one.
BOOST_AUTO_TEST_CASE(group_commit_shares_syncs_between_writers) {
  std::atomic<int> syncs{0};
  auto directory = std::make_shared<SyncHookDirectory>(
      std::make_shared<MemoryDirectory>(), [&](const std::string& name) {
        if (filename::parse(name).kind != filename::Kind::data) return;
        ++syncs;
        std::this_thread::sleep_for(2ms);  // a disk's fsync
      });
  Options options = quiet_options(directory);
  options.sync = SyncPolicy::always;
  auto db = Store::open("shared", options);
  const int before = syncs.load();
  constexpr int kThreads = 8, kPuts = 25;
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kPuts; ++i) db.put("t" + std::to_string(t) + "-" + std::to_string(i), "v");
      });
    }
  }
  const int used = syncs.load() - before;
  BOOST_TEST(db.size() == std::size_t{kThreads * kPuts});
  BOOST_TEST(used * 2 <= kThreads * kPuts,
             used << " syncs for " << kThreads * kPuts << " puts: group commit shared too few");
}

// options.h: each bad option is refused by open before anything is created.
BOOST_AUTO_TEST_CASE_TEMPLATE(bad_options_are_refused_before_anything_is_written, B, AllBackends) {
  std::vector<std::pair<std::string, std::function<void(Options&)>>> bad = {
      {"max_key_size 0", [](Options& o) { o.max_key_size = 0; }},
      {"max_key_size too big", [](Options& o) { o.max_key_size = format::kMaxKeySize + 1; }},
      {"max_value_size too big", [](Options& o) { o.max_value_size = format::kMaxValueSize + 1; }},
      {"max_segment_size too small", [](Options& o) { o.max_segment_size = 4095; }},
      {"max_segment_size too big", [](Options& o) { o.max_segment_size = (2ull << 30) + 1; }},
      {"merge_dead_fraction negative", [](Options& o) { o.merge_dead_fraction = -0.1; }},
      {"merge_dead_fraction above 1", [](Options& o) { o.merge_dead_fraction = 1.5; }},
      {"merge_dead_fraction NaN", [](Options& o) { o.merge_dead_fraction = std::nan(""); }},
      {"merge_check_interval negative", [](Options& o) { o.merge_check_interval = -1ms; }},
      {"spare_segments above 16", [](Options& o) { o.spare_segments = 17; }},
      {"sync_interval 0", [](Options& o) {
         o.sync = SyncPolicy::interval;
         o.sync_interval = 0ms;
       }},
      {"sync_interval negative", [](Options& o) {
         o.sync = SyncPolicy::interval;
         o.sync_interval = -5ms;
       }},
  };
  for (const auto& [what, spoil] : bad) {
    BOOST_TEST_CONTEXT(what) {
      StoreEnv<B> env;
      const std::string path = env.dir.str() + "/new-store";
      Options o = env.options;
      spoil(o);
      BOOST_CHECK_THROW(Store::open(path, o), InvalidArgument);
      if (std::string(B::name) != "memory") {
        BOOST_TEST(!std::filesystem::exists(path), "the directory was created");
      } else {
        BOOST_TEST(open_directory(B::name, path, true)->list().empty());
      }
    }
  }
  // The edges are fine.
  StoreEnv<B> env;
  Options o = env.options;
  o.max_segment_size = 4096;
  o.max_key_size = format::kMaxKeySize;
  o.merge_dead_fraction = 1;
  o.sync = SyncPolicy::interval;
  o.sync_interval = 1ms;
  BOOST_CHECK_NO_THROW(env.open(o));
}

// store.h: the destructor closes, and reports a failing close to the logger
// instead of throwing.
BOOST_AUTO_TEST_CASE(destructor_logs_the_error_of_its_close) {
  std::atomic<bool> fail{false};
  auto directory = std::make_shared<SyncHookDirectory>(
      std::make_shared<MemoryDirectory>(), [&](const std::string&) {
        if (fail) throw IoError("sync refused by the test", "memory", EIO);
      });
  std::string log;
  Options options;
  options.directory = directory;
  options.logger = [&](std::string_view m) { log += std::string(m) + "\n"; };
  {
    auto db = Store::open("closing", options);
    db.put("k", "v");
    fail = true;
  }  // ~Store: sealing the active segment fails
  BOOST_TEST(log.find("error while closing") != std::string::npos, log);
  BOOST_TEST(log.find("sync refused by the test") != std::string::npos, log);
}

BOOST_AUTO_TEST_SUITE_END()
