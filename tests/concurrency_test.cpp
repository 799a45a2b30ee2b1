// Many threads on one store. Also run under ThreadSanitizer by tests/run.sh.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "backends/memory_directory.h"
#include "tests/fault_injection.h"
#include "tests/backend_fixtures.h"
#include "tests/sync_recorder.h"

using namespace pyk;
using namespace pyk::test;

BOOST_AUTO_TEST_SUITE(concurrency)

namespace {
// Runs fn on a thread; an exception becomes a test failure instead of terminate().
struct Worker {
  std::jthread thread;
  template <class Fn>
  explicit Worker(Fn fn)
      : thread([fn = std::move(fn)]() mutable {
          try {
            fn();
          } catch (const std::exception& e) {
            std::lock_guard lock(errors_mutex);
            errors.push_back(e.what());
          }
        }) {}
  static inline std::mutex errors_mutex;
  static inline std::vector<std::string> errors;
};
void check_no_worker_errors() {
  std::lock_guard lock(Worker::errors_mutex);
  for (const auto& e : Worker::errors) BOOST_ERROR("worker thread threw: " << e);
  Worker::errors.clear();
}

std::string key_of(int thread, int i) { return "t" + std::to_string(thread) + ":" + std::to_string(i); }
std::string value_of(int thread, int i, int version) {
  return "v" + std::to_string(version) + "-" + key_of(thread, i) + std::string(version % 50, '#');
}
}  // namespace

// Each thread owns a key range and checks its own model after every step,
// while rotation happens underneath (tiny segments).
BOOST_AUTO_TEST_CASE_TEMPLATE(mixed_operations_on_per_thread_key_ranges, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 16 * 1024;
  auto db = env.open();
  constexpr int kThreads = 4, kKeys = 50, kOps = 1500;
  std::atomic<int> mismatches{0};
  std::vector<std::map<int, std::string>> models(kThreads);
  std::vector<std::unique_ptr<Worker>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(std::make_unique<Worker>([&, t] {
      std::mt19937 rng(t);
      auto& model = models[t];
      for (int op = 0; op < kOps; ++op) {
        const int i = static_cast<int>(rng() % kKeys);
        switch (rng() % 4) {
          case 0:
          case 1:
            db.put(key_of(t, i), value_of(t, i, op));
            model[i] = value_of(t, i, op);
            break;
          case 2: {
            const bool was_there = model.erase(i) == 1;
            if (db.erase(key_of(t, i)) != was_there) ++mismatches;
            break;
          }
          default: {
            const auto got = db.get(key_of(t, i));
            const auto it = model.find(i);
            if (got.has_value() != (it != model.end()) || (got && *got != it->second)) ++mismatches;
          }
        }
      }
    }));
  }
  threads.clear();  // join
  check_no_worker_errors();
  BOOST_TEST(mismatches.load() == 0);
  std::size_t expected = 0;
  for (const auto& m : models) expected += m.size();
  BOOST_TEST(db.size() == expected);
  BOOST_TEST(db.stats().segments.size() > 2u);
  db.close();
  auto reopened = env.open();
  for (int t = 0; t < kThreads; ++t) {
    for (const auto& [i, v] : models[t]) BOOST_TEST(reopened.get(key_of(t, i)).value() == v);
  }
  BOOST_TEST(reopened.size() == expected);
}

// Readers never see a torn or foreign value while writers overwrite and
// iterate; batches are seen whole.
BOOST_AUTO_TEST_CASE_TEMPLATE(readers_see_whole_values_and_whole_batches, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 8 * 1024;
  auto db = env.open();
  WriteBatch first;
  first.put("left", "0");
  first.put("right", "0");
  db.write(first);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  // Reader rounds that ran while the writer wrote: the check means nothing
  // if the writer finished first, so it keeps writing until there are enough.
  constexpr int kOverlap = 50;
  std::atomic<int> overlapping_reads{0};
  Worker writer([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int version = 1;
         version <= 800 ||
         (overlapping_reads < kOverlap && std::chrono::steady_clock::now() < give_up);
         ++version) {
      WriteBatch batch;
      batch.put("left", std::to_string(version));
      batch.put("right", std::to_string(version));
      db.write(batch);
      db.put("filler" + std::to_string(version % 7), std::string(100, char('a' + version % 26)));
    }
    done = true;
  });
  std::vector<std::unique_ptr<Worker>> readers;
  for (int r = 0; r < 2; ++r) {
    readers.push_back(std::make_unique<Worker>([&] {
      while (!done) {
        // A batch is atomic for single gets in order: right is never older than left.
        const int left = std::stoi(db.get("left").value());
        const int right = std::stoi(db.get("right").value());
        if (right < left) ++bad;
        for (int f = 0; f < 7; ++f) {
          if (auto v = db.get("filler" + std::to_string(f))) {
            if (v->size() != 100 || v->find_first_not_of((*v)[0]) != std::string::npos) ++bad;
          }
        }
        db.for_each([&](std::string_view k, std::string_view v) {
          if (k.starts_with("filler") && v.size() != 100) ++bad;
        });
        if (!done) ++overlapping_reads;
      }
    }));
  }
  writer.thread.join();
  readers.clear();
  check_no_worker_errors();
  BOOST_TEST(bad.load() == 0);
  BOOST_TEST(overlapping_reads.load() >= kOverlap, "readers overlapped the writer only "
                                                       << overlapping_reads.load() << " times");
}

// Group commit: many threads writing with SyncPolicy::always all get their
// writes durable, and sync calls are shared (fewer syncs than writes is not
// asserted: timing dependent; correctness is).
// Every put of four writers under SyncPolicy::always is durable (synced to
// the OS) when it returns, before any close.
BOOST_AUTO_TEST_CASE_TEMPLATE(durable_writers_in_parallel, B, DiskBackends) {
  TempDir dir;
  SyncRecorder recorder;
  Options options;
  options.directory = recorder.open(B::name, dir.str());
  options.sync = SyncPolicy::always;
  options.max_segment_size = 16 * 1024;
  auto db = Store::open(dir.str(), options);
  std::atomic<int> early{0};
  std::vector<std::unique_ptr<Worker>> threads;
  for (int t = 0; t < 4; ++t) {
    threads.push_back(std::make_unique<Worker>([&, t] {
      for (int i = 0; i < 100; ++i) {
        db.put(key_of(t, i), value_of(t, i, 1));
        const SyncRecorder::Append last = SyncRecorder::last_append_of_this_thread();
        if (recorder.durable(last.path) < last.end) ++early;
      }
    }));
  }
  threads.clear();
  check_no_worker_errors();
  BOOST_TEST(early.load() == 0, early.load() << " puts returned before they were synced");
  BOOST_TEST(recorder.not_durable() == "");
  BOOST_TEST(db.size() == 400u);
}

// Every put under SyncPolicy::always is durable when it returns, also when
// four writers share each sync (and the leader waits for the group): cut
// the power right after the writers finish, before close() could sync.
BOOST_AUTO_TEST_CASE(durable_writers_survive_a_power_cut) {
  auto directory = std::make_shared<FaultInjectionDirectory>(std::make_shared<MemoryDirectory>());
  Options options;
  options.directory = directory;
  options.sync = SyncPolicy::always;
  options.logger = [](std::string_view) {};
  {
    auto db = Store::open("durable", options);
    std::vector<std::unique_ptr<Worker>> threads;
    for (int t = 0; t < 4; ++t) {
      threads.push_back(std::make_unique<Worker>([&, t] {
        for (int i = 0; i < 200; ++i) db.put(key_of(t, i), value_of(t, i, 1));
      }));
    }
    threads.clear();
    check_no_worker_errors();
    directory->faults().crash_at(0);  // the process dies: close() syncs nothing
    directory->power_cut({});
  }
  directory->faults().heal();
  auto reopened = Store::open("durable", options);
  BOOST_TEST(reopened.size() == 800u);
  for (int t = 0; t < 4; ++t) BOOST_TEST(reopened.get(key_of(t, 199)).value() == value_of(t, 199, 1));
}

BOOST_AUTO_TEST_SUITE_END()
