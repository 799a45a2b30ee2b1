// Store's expiry, conditional writes, update() and scan(), on every backend.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "core/error.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(store_api)

namespace {
template <class B>
struct ClockedEnv : StoreEnv<B> {
  ClockedEnv() { this->options.clock = clock.fn(); }
  FakeClock clock;
};

// Every key a full scan returns, with the pages it took.
std::multiset<std::string> scan_all(const Store& db, std::string_view prefix, std::size_t count,
                                    std::size_t* pages = nullptr) {
  std::multiset<std::string> out;
  std::uint64_t cursor = 0;
  std::size_t n = 0;
  do {
    ScanPage page = db.scan(cursor, prefix, count);
    out.insert(page.keys.begin(), page.keys.end());
    cursor = page.next_cursor;
    ++n;
    BOOST_TEST_REQUIRE(n < 1000000u);
  } while (cursor != 0);
  if (pages) *pages = n;
  return out;
}

std::string int_key(int i) { return "key:" + std::to_string(i); }
}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(ttl_tells_missing_persistent_and_expiring_apart, B, AllBackends) {
  ClockedEnv<B> env;
  auto db = env.open();
  db.put("plain", "v");
  db.put("short", "v", 10s);
  BOOST_TEST((db.ttl("absent").state == KeyTtl::State::missing));
  BOOST_TEST((db.ttl("plain").state == KeyTtl::State::persistent));
  BOOST_TEST((db.ttl("short").state == KeyTtl::State::expiring));
  BOOST_TEST(db.ttl("short").remaining.count() == std::chrono::microseconds(10s).count());
  env.clock.advance(4s);
  BOOST_TEST(db.ttl("short").remaining.count() == std::chrono::microseconds(6s).count());
  env.clock.advance(6s);
  BOOST_TEST((db.ttl("short").state == KeyTtl::State::missing));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(expire_sets_an_expiry_that_survives_reopen, B, AllBackends) {
  ClockedEnv<B> env;
  {
    auto db = env.open();
    db.put("k", "value");
    BOOST_TEST(!db.expire("absent", 5s));
    BOOST_TEST(!db.contains("absent"));
    BOOST_TEST(db.expire("k", 5s));
    BOOST_TEST(db.get("k").value() == "value");
    BOOST_TEST(db.ttl("k").remaining.count() == std::chrono::microseconds(5s).count());
    BOOST_TEST(db.expire("k", 20s));  // changing it
    BOOST_CHECK_THROW(db.expire("k", 0s), InvalidArgument);
    db.close();
  }
  auto db = env.open();
  BOOST_TEST(db.ttl("k").remaining.count() == std::chrono::microseconds(20s).count());
  env.clock.advance(20s);
  BOOST_TEST(!db.get("k").has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(persist_removes_the_expiry_for_good, B, AllBackends) {
  ClockedEnv<B> env;
  {
    auto db = env.open();
    db.put("k", "value", 5s);
    db.put("plain", "v");
    BOOST_TEST(!db.persist("absent"));
    BOOST_TEST(!db.persist("plain"));  // nothing to remove
    BOOST_TEST(db.persist("k"));
    BOOST_TEST((db.ttl("k").state == KeyTtl::State::persistent));
    db.close();
  }
  env.clock.advance(1h);
  auto db = env.open();
  BOOST_TEST(db.get("k").value() == "value");
  BOOST_TEST((db.ttl("k").state == KeyTtl::State::persistent));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(conditional_puts_write_only_when_their_condition_holds, B,
                              AllBackends) {
  ClockedEnv<B> env;
  auto db = env.open();
  BOOST_TEST(!db.put_if_present("k", "x"));
  BOOST_TEST(!db.contains("k"));
  BOOST_TEST(db.put_if_absent("k", "first"));
  BOOST_TEST(!db.put_if_absent("k", "second"));
  BOOST_TEST(db.get("k").value() == "first");
  BOOST_TEST(db.put_if_present("k", "third", 3s));
  BOOST_TEST(db.get("k").value() == "third");
  BOOST_TEST((db.ttl("k").state == KeyTtl::State::expiring));
  BOOST_TEST(db.put_if_present("k", "fourth"));  // a plain put: the expiry goes
  BOOST_TEST((db.ttl("k").state == KeyTtl::State::persistent));
  db.put("e", "old", 1s);
  env.clock.advance(1s);
  BOOST_TEST(!db.put_if_present("e", "x"));  // an expired key is absent
  BOOST_TEST(db.put_if_absent("e", "new", 2s));
  BOOST_TEST(db.get("e").value() == "new");
  BOOST_CHECK_THROW(db.put_if_absent("z", "v", -1s), InvalidArgument);
  BOOST_CHECK_THROW(db.put_if_absent("", "v"), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(update_sees_the_key_and_applies_each_kind_of_change, B,
                              AllBackends) {
  ClockedEnv<B> env;
  auto db = env.open();
  db.put("k", "1", 10s);
  KeyState seen;
  std::string seen_value;
  BOOST_TEST(!db.update("k", [&](const KeyState& s) {
    seen = s;
    seen_value = std::string(*s.value);
    return Change::unchanged();
  }));
  BOOST_TEST(seen_value == "1");
  BOOST_TEST(seen.ttl->count() == std::chrono::microseconds(10s).count());
  BOOST_TEST(db.update("k", [](const KeyState&) { return Change::put_keeping_expiry("2"); }));
  BOOST_TEST(db.get("k").value() == "2");
  BOOST_TEST(db.ttl("k").remaining.count() == std::chrono::microseconds(10s).count());
  BOOST_TEST(db.update("k", [](const KeyState&) { return Change::put("3"); }));
  BOOST_TEST((db.ttl("k").state == KeyTtl::State::persistent));
  BOOST_TEST(db.update("k", [](const KeyState&) { return Change::put_keeping_expiry("4"); }));
  BOOST_TEST((db.ttl("k").state == KeyTtl::State::persistent));
  BOOST_TEST(db.update("k", [](const KeyState&) { return Change::erase(); }));
  BOOST_TEST(!db.contains("k"));
  BOOST_TEST(!db.update("k", [](const KeyState&) { return Change::erase(); }));  // nothing there
  bool absent = false;
  db.update("k", [&](const KeyState& s) {
    absent = !s.value && !s.ttl;
    return Change::unchanged();
  });
  BOOST_TEST(absent);
  db.close();
  auto again = env.open();
  BOOST_TEST(!again.contains("k"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(update_that_throws_or_makes_a_bad_value_writes_nothing, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_value_size = 8;
  auto db = env.open();
  db.put("k", "v");
  const auto bytes = db.stats().disk_bytes;
  BOOST_CHECK_THROW(db.update("k", [](const KeyState&) -> Change { throw std::runtime_error("no"); }),
                    std::runtime_error);
  BOOST_CHECK_THROW(db.update("k", [](const KeyState&) { return Change::put("far too long"); }),
                    InvalidArgument);
  BOOST_TEST(db.get("k").value() == "v");
  BOOST_TEST(db.stats().disk_bytes == bytes);
}

// Each increment reads, adds one and writes: a lost update shows in the total.
BOOST_AUTO_TEST_CASE_TEMPLATE(concurrent_increments_through_update_lose_none, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;  // rotations under the increments
  auto db = env.open();
  constexpr int kThreads = 4, kIncrements = 500;
  std::atomic<int> errors{0};
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        try {
          for (int i = 0; i < kIncrements; ++i) {
            db.update("counter", [](const KeyState& s) {
              const long n = s.value ? std::stol(std::string(*s.value)) : 0;
              return Change::put_keeping_expiry(std::to_string(n + 1));
            });
          }
        } catch (...) {
          ++errors;
        }
      });
    }
  }
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(db.get("counter").value() == std::to_string(kThreads * kIncrements));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(scan_pages_through_every_key_once_with_a_prefix, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  for (int i = 0; i < 1000; ++i) db.put(int_key(i), "v");
  for (int i = 0; i < 100; ++i) db.put("other:" + std::to_string(i), "v");
  db.put(std::string("bin\0key", 7), "v");
  std::size_t pages = 0;
  const auto all = scan_all(db, "", 64, &pages);
  BOOST_TEST(all.size() == 1101u);
  BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == 1101u);  // no repeats
  BOOST_TEST(all.count(std::string("bin\0key", 7)) == 1u);
  BOOST_TEST(pages >= 1101u / 64);
  const auto prefixed = scan_all(db, "key:", 10);
  BOOST_TEST(prefixed.size() == 1000u);
  for (const auto& k : prefixed) BOOST_TEST(k.starts_with("key:"));
  // Each page examines about `count` keys, not the whole keydir.
  BOOST_TEST(db.scan(0, "", 5).keys.size() <= 5u);
  BOOST_CHECK_THROW(db.scan(0, "", 0), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(scan_of_an_empty_store_completes_at_once, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  const ScanPage page = db.scan(0);
  BOOST_TEST(page.keys.empty());
  BOOST_TEST(page.next_cursor == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(scan_skips_expired_and_erased_keys, B, AllBackends) {
  ClockedEnv<B> env;
  auto db = env.open();
  db.put("live", "v");
  db.put("gone", "v", 1s);
  db.put("erased", "v");
  db.erase("erased");
  env.clock.advance(2s);
  const auto all = scan_all(db, "", 10);
  BOOST_TEST(all.size() == 1u);
  BOOST_TEST(all.count("live") == 1u);
}

// Forged cursors (a client can send any number) must not crash or hang.
BOOST_AUTO_TEST_CASE_TEMPLATE(scan_with_forged_cursors_is_safe, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  for (int i = 0; i < 500; ++i) db.put(int_key(i) + std::string(i % 37, 'x'), "v");
  std::mt19937_64 rng(7);
  const std::uint64_t real = db.scan(0, "", 3).next_cursor;
  for (int i = 0; i < 2000; ++i) {
    std::uint64_t cursor = rng();
    if (i % 2 == 0) cursor = (real & ~std::uint64_t{UINT32_MAX}) | (rng() % 4096);  // right generation
    ScanPage page = db.scan(cursor, "", 50);
    for (const auto& k : page.keys) BOOST_TEST_REQUIRE(db.contains(k));
  }
}

// The scan guarantee under churn: writers add and erase other keys (the
// table rehashes as it grows), rewrite the stable keys and toggle their
// expiry (which moves their keydir entries), while merges run.
BOOST_AUTO_TEST_CASE_TEMPLATE(scan_during_writes_and_merges_returns_every_stable_key, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 32 * 1024;
  auto db = env.open();
  constexpr int kStable = 2000;
  for (int i = 0; i < kStable; ++i) db.put("stable:" + std::to_string(i), "v");
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::jthread> threads;
  threads.emplace_back([&] {  // churn: new keys, erases, rewrites and expiry toggles
    try {
      std::mt19937 rng(1);
      for (int n = 0; !stop; ++n) {
        db.put("churn:" + std::to_string(n), std::string(rng() % 100, 'c'));
        if (n % 3 == 0) db.erase("churn:" + std::to_string(rng() % (n + 1)));
        const std::string stable = "stable:" + std::to_string(rng() % kStable);
        switch (n % 4) {
          case 0: db.put(stable, "w"); break;
          case 1: db.expire(stable, 1h); break;
          case 2: db.persist(stable); break;
          default: db.update(stable, [](const KeyState&) { return Change::put_keeping_expiry("u"); });
        }
      }
    } catch (...) {
      ++errors;
    }
  });
  threads.emplace_back([&] {
    try {
      while (!stop) {
        db.merge();
        std::this_thread::sleep_for(2ms);
      }
    } catch (...) {
      ++errors;
    }
  });
  for (int round = 0; round < 3; ++round) {
    std::set<std::string> seen;
    std::uint64_t cursor = 0;
    do {
      ScanPage page = db.scan(cursor, "stable:", 16);
      seen.insert(page.keys.begin(), page.keys.end());
      cursor = page.next_cursor;
      std::this_thread::yield();  // let the writers in between pages
    } while (cursor != 0);
    BOOST_TEST(seen.size() == std::size_t{kStable});
  }
  stop = true;
  threads.clear();
  BOOST_TEST(errors.load() == 0);
}

// Enough erases make the keydir compact its arena mid-scan: the scan starts
// over rather than missing keys.
BOOST_AUTO_TEST_CASE_TEMPLATE(scan_across_a_keydir_compaction_returns_every_stable_key, B,
                              AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  constexpr int kStable = 500, kDoomed = 250000;  // > 4 MiB of keydir entries to erase (~23 bytes each)
  for (int i = 0; i < kStable; ++i) db.put("stable:" + std::to_string(i), "v");
  WriteBatch batch;
  for (int i = 0; i < kDoomed; ++i) {
    batch.put("doomed:" + std::to_string(i), "");
    if (batch.size() == 5000) {
      db.write(batch);
      batch.clear();
    }
  }
  std::set<std::string> seen;
  ScanPage page = db.scan(0, "stable:", 100);
  seen.insert(page.keys.begin(), page.keys.end());
  const std::uint64_t before = db.stats().keydir_bytes;
  for (int i = 0; i < kDoomed; ++i) {
    batch.erase("doomed:" + std::to_string(i));
    if (batch.size() == 5000) {
      db.write(batch);
      batch.clear();
    }
  }
  BOOST_TEST_REQUIRE(db.stats().keydir_bytes < before);  // it did compact
  for (std::uint64_t cursor = page.next_cursor; cursor != 0; cursor = page.next_cursor) {
    page = db.scan(cursor, "stable:", 100);
    seen.insert(page.keys.begin(), page.keys.end());
  }
  BOOST_TEST(seen.size() == std::size_t{kStable});
}

BOOST_AUTO_TEST_SUITE_END()
