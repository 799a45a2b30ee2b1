// ReadGate (core/read_gate.h) on its own: a writer closing the gate waits for
// every lookup under way, whichever thread's slot it counts in.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "core/read_gate.h"

using namespace pyk;

BOOST_AUTO_TEST_SUITE(read_gate)

// Several threads (so several slots) each sit inside a lookup; close() must
// not return until the last of them has left. A close that skipped a slot
// would return at once, well inside the pause below.
BOOST_AUTO_TEST_CASE(close_waits_for_the_lookups_of_every_thread) {
  ReadGate gate;
  std::shared_mutex state_mutex;
  constexpr int kThreads = 5;
  std::atomic<int> inside{0};
  std::atomic<int> released{0};  // how many lookups may leave: one at a time
  std::vector<std::jthread> readers;
  for (int t = 0; t < kThreads; ++t) {
    readers.emplace_back([&, t] {
      gate.lookup(state_mutex, [&] {
        inside.fetch_add(1);
        while (released.load() <= t) std::this_thread::yield();
      });
    });
  }
  while (inside.load() < kThreads) std::this_thread::yield();

  std::atomic<bool> closed{false};
  std::jthread writer([&] {
    std::unique_lock lock(state_mutex);
    gate.close();
    closed.store(true);
    gate.open();
  });
  for (int t = 0; t < kThreads; ++t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    BOOST_TEST(!closed.load(), "close() returned with " << kThreads - t << " lookup(s) under way");
    released.store(t + 1);
  }
  writer.join();
  BOOST_TEST(closed.load());
}

// A thread's first lookup after a writer began waiting sees the gate closed
// and so runs under state_mutex, after the writer: never beside it.
BOOST_AUTO_TEST_CASE(a_lookup_during_a_close_waits_for_the_writer) {
  ReadGate gate;
  std::shared_mutex state_mutex;
  std::atomic<bool> writing{false};
  std::atomic<bool> overlapped{false};
  std::jthread writer([&] {
    std::unique_lock lock(state_mutex);
    gate.close();
    writing.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    writing.store(false);
    gate.open();
  });
  while (!writing.load()) std::this_thread::yield();
  std::jthread reader([&] { gate.lookup(state_mutex, [&] { overlapped.store(writing.load()); }); });
  reader.join();
  writer.join();
  BOOST_TEST(!overlapped.load());
}

BOOST_AUTO_TEST_SUITE_END()
