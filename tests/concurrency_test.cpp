// Many threads on one store. Also run under ThreadSanitizer by tests/run.sh.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <random>
#include <thread>

#include "tests/backend_fixtures.h"

using namespace pyk;
using namespace pyk::test;

BOOST_AUTO_TEST_SUITE(concurrency)

namespace {
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
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
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
    });
  }
  threads.clear();  // join
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
  std::jthread writer([&] {
    for (int version = 1; version <= 800; ++version) {
      WriteBatch batch;
      batch.put("left", std::to_string(version));
      batch.put("right", std::to_string(version));
      db.write(batch);
      db.put("filler" + std::to_string(version % 7), std::string(100, char('a' + version % 26)));
    }
    done = true;
  });
  std::vector<std::jthread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
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
      }
    });
  }
  writer.join();
  readers.clear();
  BOOST_TEST(bad.load() == 0);
}

// Group commit: many threads writing with SyncPolicy::always all get their
// writes durable, and sync calls are shared (fewer syncs than writes is not
// asserted: timing dependent; correctness is).
BOOST_AUTO_TEST_CASE_TEMPLATE(durable_writers_in_parallel, B, AllBackends) {
  StoreEnv<B> env;
  env.options.sync = SyncPolicy::always;
  auto db = env.open();
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) db.put(key_of(t, i), value_of(t, i, 1));
    });
  }
  threads.clear();
  db.close();
  auto reopened = env.open();
  BOOST_TEST(reopened.size() == 400u);
  BOOST_TEST(reopened.get(key_of(3, 99)).value() == value_of(3, 99, 1));
}

BOOST_AUTO_TEST_SUITE_END()
