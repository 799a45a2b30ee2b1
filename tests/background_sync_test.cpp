// Background syncing of rotated segments: under SyncPolicy::none a rotation
// seals the full segment without syncing it, and the maintenance thread
// syncs it (then hints it and lists its length in the manifest). The writer
// never waits for that fsync; Store::sync() still covers the segment; and a
// power cut before the background sync leaves a store that opens, with
// everything an earlier sync() made durable.
//
// Spare segments: the maintenance thread also makes the next segments ahead
// (created, synced, listed in the manifest), so that a rotation syncs
// nothing on the writer's thread. Close removes them; a crash leaves them
// listed, and open takes the newest as its active segment and drops the rest.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "backends/memory_directory.h"
#include "core/directory_wrapper.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/manifest.h"
#include "core/segment_wrapper.h"
#include "core/store.h"
#include "tests/fault_injection.h"
#include "tests/store_helpers.h"
#include "tests/temp_dir.h"

using namespace pyk;
using namespace pyk::test;

namespace {

// Holds back syncs of one segment made by any thread but the test's own
// while `hold` is set (standing for a background sync that has not run
// yet), and notes a sync of it on the test's thread while held (a writer
// that waited for it).
class HoldingDirectory final : public DirectoryWrapper {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool hold = false;
    std::string name;
    std::thread::id test_thread = std::this_thread::get_id();
    int synced_on_test_thread_while_held = 0;
    // Every sync (of a segment or of the directory) on the test's thread.
    std::atomic<int> synced_on_test_thread{0};
    // Creating the file `held_creation` waits while set (and says so).
    std::string held_creation;
    bool creation_waiting = false;
    void release_creation() {
      {
        std::lock_guard lock(mu);
        held_creation.clear();
      }
      cv.notify_all();
    }
    void note_sync() {
      if (std::this_thread::get_id() == test_thread) ++synced_on_test_thread;
    }
    void release() {
      {
        std::lock_guard lock(mu);
        hold = false;
      }
      cv.notify_all();
    }
  };
  HoldingDirectory(std::shared_ptr<Directory> target, std::shared_ptr<Gate> gate)
      : DirectoryWrapper(std::move(target)), gate_(std::move(gate)) {}
  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
    {
      std::unique_lock lock(gate_->mu);
      if (gate_->held_creation == name) gate_->creation_waiting = true;
      // Bounded: a writer held here (a broken rotation) must fail the test, not hang it.
      gate_->cv.wait_for(lock, std::chrono::seconds(10), [&] { return gate_->held_creation != name; });
    }
    return std::make_unique<Held>(target()->create(name, size_hint), gate_);
  }
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return std::make_unique<Held>(target()->open(name, mode), gate_);
  }
  void sync() override {
    gate_->note_sync();
    DirectoryWrapper::sync();
  }

 private:
  class Held final : public SegmentWrapper {
   public:
    Held(std::unique_ptr<Segment> target, std::shared_ptr<Gate> gate)
        : SegmentWrapper(std::move(target)), gate_(std::move(gate)) {}
    void sync() override {
      gate_->note_sync();
      {
        std::unique_lock lock(gate_->mu);
        if (gate_->hold && name() == gate_->name) {
          if (std::this_thread::get_id() == gate_->test_thread) {
            ++gate_->synced_on_test_thread_while_held;
          } else {
            gate_->cv.wait(lock, [&] { return !gate_->hold; });
          }
        }
      }
      SegmentWrapper::sync();
    }
    void seal() override {
      // seal() syncs: the same rule.
      gate_->note_sync();
      {
        std::lock_guard lock(gate_->mu);
        if (gate_->hold && name() == gate_->name && std::this_thread::get_id() == gate_->test_thread)
          ++gate_->synced_on_test_thread_while_held;
      }
      SegmentWrapper::seal();
    }

   private:
    std::shared_ptr<Gate> gate_;
  };
  std::shared_ptr<Gate> gate_;
};

template <const char* Backend>
struct Env {
  TempDir dir;
  std::shared_ptr<Directory> storage =
      std::string_view(Backend) == "memory"
          ? std::shared_ptr<Directory>(std::make_shared<MemoryDirectory>("background-sync"))
          : open_directory(Backend, dir.str(), true);
  std::shared_ptr<FaultInjectionDirectory> faulty = std::make_shared<FaultInjectionDirectory>(storage);
  std::shared_ptr<HoldingDirectory::Gate> gate = std::make_shared<HoldingDirectory::Gate>();
  Options options;
  std::shared_ptr<std::mutex> log_mu = std::make_shared<std::mutex>();
  std::shared_ptr<std::string> log = std::make_shared<std::string>();

  Env() {
    options.directory = std::make_shared<HoldingDirectory>(faulty, gate);
    options.max_segment_size = 4096;
    options.sync = SyncPolicy::none;
    // The background sync alone (an automatic merge would sync its inputs).
    options.merge_dead_fraction = 0;
    options.merge_dead_bytes = 0;
    options.logger = [mu = log_mu, log = log](std::string_view m) {
      std::lock_guard lock(*mu);
      *log += std::string(m) + "\n";
    };
    gate->name = filename::data(1);
  }
  Store open() const { return Store::open(dir.str(), options); }
};

constexpr char kMemory[] = "memory";
constexpr char kFile[] = "file";
constexpr char kMmap[] = "mmap";
using Backends = boost::mpl::list<Env<kMemory>, Env<kFile>, Env<kMmap>>;

std::string value_of(int i, const char* round) { return std::string(round) + "-" + std::to_string(i) + std::string(60, 'v'); }

// Puts keys until segment 1 is sealed; returns how many.
int fill_until_rotation(Store& db, const char* round) {
  int i = 0;
  while (db.stats().segments.size() < 2) {
    db.put("late" + std::to_string(i), value_of(i, round));
    ++i;
  }
  return i;
}

// The power goes (only what was synced survives), then the store opens
// again: it holds the first `late` keys fill_until_rotation wrote.
template <class E>
Store open_after_power_cut(E& env, int late) {
  env.faulty->power_cut({});
  env.faulty->faults().heal();
  Store db = env.open();
  for (int i = 0; i < late; ++i)
    BOOST_TEST(db.get("late" + std::to_string(i)).value_or("missing") == value_of(i, "late"));
  return db;
}

// Puts keys until the writer holds its spares (asked for at half a segment).
void fill_until_spares_are_ready(Store& db, const char* round) {
  for (int i = 0; db.stats().spare_segments < Options{}.spare_segments; ++i) {
    if (i < 20) db.put("half" + std::to_string(i), value_of(i, round));
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));
    BOOST_TEST_REQUIRE(i < 20000, "no spares after 20 s");
  }
}

// The segments the manifest lists as open-ended.
std::vector<std::uint32_t> open_ended_in_manifest(Directory& directory) {
  std::string problem;
  const auto manifest = manifest::read(directory, problem);
  BOOST_TEST_REQUIRE(manifest.has_value(), problem);
  std::vector<std::uint32_t> ids;
  for (const ManifestEntry& e : manifest->segments)
    if (e.open_ended()) ids.push_back(e.id);
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(background_sync)

BOOST_AUTO_TEST_CASE_TEMPLATE(rotation_into_a_spare_syncs_nothing_on_the_writers_thread, E, Backends) {
  E env;
  auto db = env.open();
  fill_until_spares_are_ready(db, "half");
  // Segment 1 active; 2 and 3 made ahead, listed open-ended, header only.
  BOOST_TEST(open_ended_in_manifest(*env.storage) == (std::vector<std::uint32_t>{1, 2, 3}),
             boost::test_tools::per_element());
  for (const std::uint32_t id : {2u, 3u})
    BOOST_TEST(env.storage->open(filename::data(id), OpenMode::read_only)->size() ==
               format::kFileHeaderSize);
  env.gate->synced_on_test_thread = 0;
  fill_until_rotation(db, "late");
  BOOST_TEST(env.gate->synced_on_test_thread == 0);
  BOOST_TEST(segment_ids(db.stats()) == (std::vector<std::uint32_t>{1, 2}), boost::test_tools::per_element());
}

// A spare still being made when the writer runs out of them: the rotation
// starts a segment of its own, with a higher id, and the late spare is
// dropped; taking it later would append after a newer segment, and replay
// (in id order) would let older values win.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_spare_a_rotation_overtook_is_dropped, E, Backends) {
  E env;
  {
    auto db = env.open();
    fill_until_spares_are_ready(db, "half");  // 2 and 3
    {
      std::lock_guard lock(env.gate->mu);
      env.gate->held_creation = filename::data(4);  // the next spare
    }
    int round = 0;
    auto put_one = [&](const char* prefix) {
      db.put(prefix + std::to_string(round % 7), value_of(round, prefix));
      ++round;
    };
    while (db.stats().segments.size() < 2) put_one("key");  // into 2: the maintenance thread starts on 4
    BOOST_TEST_REQUIRE(wait_until([&] {
      std::lock_guard lock(env.gate->mu);
      return env.gate->creation_waiting;
    }));
    while (db.stats().segments.size() < 4) put_one("key");  // into 3, then one of its own: 5
    BOOST_TEST(segment_ids(db.stats()) == (std::vector<std::uint32_t>{1, 2, 3, 5}), boost::test_tools::per_element());
    db.put("x", "old");
    env.gate->release_creation();
    // The late spare is made, refused, unlisted and removed; then two new ones.
    BOOST_TEST_REQUIRE(wait_until([&] { return db.stats().spare_segments == env.options.spare_segments; }));
    BOOST_TEST(!env.storage->exists(filename::data(4)));
    std::string problem;
    BOOST_TEST(manifest::read(*env.storage, problem)->find(4) == nullptr);
    while (db.stats().segments.size() < 5) put_one("pad");
    BOOST_TEST(db.stats().segments.back().id > 5u);
    db.put("x", "new");
  }
  auto db = env.open();
  BOOST_TEST(db.get("x").value_or("missing") == "new");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(close_removes_the_spares_and_unlists_them, E, Backends) {
  E env;
  std::map<std::string, std::string> before;
  {
    auto db = env.open();
    fill_until_spares_are_ready(db, "half");
    before = contents(db);
  }
  BOOST_TEST(!env.storage->exists(filename::data(2)));
  BOOST_TEST(!env.storage->exists(filename::data(3)));
  std::string problem;
  const auto manifest = manifest::read(*env.storage, problem);
  BOOST_TEST_REQUIRE(manifest.has_value());
  BOOST_TEST(manifest->find(2) == nullptr);
  BOOST_TEST(manifest->find(3) == nullptr);
  auto db = env.open();
  BOOST_TEST((contents(db) == before));
  BOOST_TEST(db.stats().spare_segments == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(power_cut_after_a_rotation_into_a_spare_keeps_what_sync_made_durable,
                              E, Backends) {
  E env;
  int late = 0;
  {
    auto db = env.open();
    fill_until_spares_are_ready(db, "half");
    {
      std::lock_guard lock(env.gate->mu);
      env.gate->hold = true;  // segment 1's background sync, and the manifest rewrite after it
    }
    late = fill_until_rotation(db, "late");  // now in spare 2, listed as made
    db.sync();
    env.faulty->faults().crash_at(0);
    env.gate->release();
  }
  auto db = open_after_power_cut(env, late);
  // The newest spare listed before the power cut (3, or one made after the
  // rotation) is the active segment now, the others are gone.
  const Stats stats = db.stats();
  BOOST_TEST_REQUIRE(stats.segments.size() == 3u);
  BOOST_TEST(stats.segments[0].id == 1u);
  BOOST_TEST(stats.segments[1].id == 2u);
  BOOST_TEST(stats.segments[2].id >= 3u);
  BOOST_TEST(stats.segments[2].active);
  db.put("after", "x");
  BOOST_TEST(db.stats().segments.back().live_keys == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(power_cut_with_unused_spares_drops_all_but_the_newest, E, Backends) {
  E env;
  std::map<std::string, std::string> before;
  {
    auto db = env.open();
    fill_until_spares_are_ready(db, "half");
    db.sync();
    before = contents(db);
    env.faulty->faults().crash_at(0);
  }
  env.faulty->power_cut({});
  env.faulty->faults().heal();
  auto db = env.open();
  BOOST_TEST((contents(db) == before));
  // 2 held nothing and is gone, from the manifest too; 3 is the active segment.
  BOOST_TEST(segment_ids(db.stats()) == (std::vector<std::uint32_t>{1, 3}), boost::test_tools::per_element());
  BOOST_TEST(!env.storage->exists(filename::data(2)));
  std::string problem;
  BOOST_TEST(manifest::read(*env.storage, problem)->find(2) == nullptr);
  db.put("after", "x");
  BOOST_TEST(db.stats().segments.back().id == 3u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(power_cut_before_a_rotated_segment_is_synced_keeps_what_sync_made_durable,
                              E, Backends) {
  E env;
  {
    auto db = env.open();
    for (int i = 0; i < 10; ++i) db.put("early" + std::to_string(i), value_of(i, "early"));
    db.sync();
    {
      std::lock_guard lock(env.gate->mu);
      env.gate->hold = true;
    }
    fill_until_rotation(db, "late");
    // The rotation is done and its segment not synced: the power goes now.
    env.faulty->faults().crash_at(0);
    BOOST_TEST(env.gate->synced_on_test_thread_while_held == 0);  // the writer never waited
    env.gate->release();
  }  // closing fails quietly: every mutation is refused after the crash
  // The rotated segment keeps part of what was not synced, its last sector garbled.
  env.faulty->power_cut({.keep_bytes = [](std::uint64_t synced, std::uint64_t size) {
                           return synced + (size - synced) / 2;
                         },
                         .scramble = 7});
  env.faulty->faults().heal();
  auto db = env.open();  // a torn tail in a segment sealed but never synced: cut, not refused
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(db.get("early" + std::to_string(i)).value_or("missing") == value_of(i, "early"));
  for (int i = 0; i < 200; ++i) {  // the unsynced ones: gone or whole
    const auto got = db.get("late" + std::to_string(i));
    BOOST_TEST((!got || *got == value_of(i, "late")), "late" << i);
  }
  db.put("after", "x");  // and it takes writes again
  BOOST_TEST(db.get("after").value() == "x");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sync_covers_a_rotated_segment_the_background_has_not_synced, E,
                              Backends) {
  E env;
  int late = 0;
  {
    auto db = env.open();
    {
      std::lock_guard lock(env.gate->mu);
      env.gate->hold = true;
    }
    late = fill_until_rotation(db, "late");
    db.sync();  // on the test thread, so not held back: it must sync segment 1 itself
    env.faulty->faults().crash_at(0);
    env.gate->release();
  }
  auto db = open_after_power_cut(env, late);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rotated_segment_is_synced_and_hinted_in_the_background, E, Backends) {
  E env;
  auto db = env.open();
  fill_until_rotation(db, "late");
  const std::string hint = filename::hint(1);
  for (int i = 0; i < 500 && !env.storage->exists(hint); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST_REQUIRE(env.storage->exists(hint));
  // A hint is written only once its datafile is durable.
  BOOST_TEST(env.faulty->synced_size(filename::data(1)) ==
             env.storage->open(filename::data(1), OpenMode::read_only)->size());
}

BOOST_AUTO_TEST_SUITE_END()
