// Background syncing of rotated segments: under SyncPolicy::none a rotation
// seals the full segment without syncing it, and the maintenance thread
// syncs it (then hints it and lists its length in the manifest). The writer
// never waits for that fsync; Store::sync() still covers the segment; and a
// power cut before the background sync leaves a store that opens, with
// everything an earlier sync() made durable.
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "backends/memory_directory.h"
#include "core/directory_wrapper.h"
#include "core/filename.h"
#include "core/segment_wrapper.h"
#include "core/store.h"
#include "tests/fault_injection.h"
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
    return std::make_unique<Held>(target()->create(name, size_hint), gate_);
  }
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    return std::make_unique<Held>(target()->open(name, mode), gate_);
  }

 private:
  class Held final : public SegmentWrapper {
   public:
    Held(std::unique_ptr<Segment> target, std::shared_ptr<Gate> gate)
        : SegmentWrapper(std::move(target)), gate_(std::move(gate)) {}
    void sync() override {
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

}  // namespace

BOOST_AUTO_TEST_SUITE(background_sync)

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
  env.faulty->power_cut({});  // only what was synced survives
  env.faulty->faults().heal();
  auto db = env.open();
  for (int i = 0; i < late; ++i)
    BOOST_TEST(db.get("late" + std::to_string(i)).value_or("missing") == value_of(i, "late"));
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
