// Store::get_many: a batch of gets, on every backend; and the read path's
// segment lifetime (core/read_gate.h) under concurrent merges and close.
#include <boost/test/unit_test.hpp>
#include <atomic>
#include <thread>

#include "tests/backend_fixtures.h"

using namespace pyk;
using namespace pyk::test;

namespace {
std::string value_for(int i) { return "value-" + std::to_string(i) + std::string(i % 300, '#'); }

std::vector<std::optional<std::string>> get_each(const Store& db,
                                                 const std::vector<std::string_view>& keys) {
  std::vector<std::optional<std::string>> out;
  for (const auto key : keys) out.push_back(db.get(key));
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(get_many)

BOOST_AUTO_TEST_CASE_TEMPLATE(returns_each_keys_value_in_order_with_misses_as_nullopt, B,
                              AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;  // values spread over many segments
  auto db = env.open();
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) {
    names.push_back("k" + std::to_string(i));
    db.put(names.back(), value_for(i));
  }
  names.push_back("absent");
  names.push_back("k7");  // a duplicate
  names.push_back("k199");
  const std::vector<std::string_view> keys(names.begin(), names.end());
  const auto got = db.get_many(keys);
  BOOST_TEST_REQUIRE(got.size() == keys.size());
  for (int i = 0; i < 200; ++i) BOOST_TEST((got[i] == std::optional(value_for(i))));
  BOOST_TEST(!got[200].has_value());
  BOOST_TEST((got[201] == std::optional(value_for(7))));
  BOOST_TEST((got[202] == std::optional(value_for(199))));
  BOOST_TEST((got == get_each(db, keys)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(get_many_into_reuses_buffers_and_clears_misses, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("a", std::string(1000, 'a'));
  db.put("b", "short");
  std::vector<std::optional<std::string>> out;
  const std::vector<std::string_view> first{"a", "b", "c"};
  db.get_many_into(first, out);
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST((out[0] == std::optional(std::string(1000, 'a'))));
  BOOST_TEST((out[1] == std::optional<std::string>("short")));
  BOOST_TEST(!out[2].has_value());
  const char* buffer = out[0]->data();
  const std::vector<std::string_view> second{"b", "c"};  // shorter batch: out shrinks
  db.get_many_into(second, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST((out[0] == std::optional<std::string>("short")));
  BOOST_TEST(out[0]->data() == buffer);  // a's 1000-byte buffer, reused for b's value
  BOOST_TEST(!out[1].has_value());       // b's old value in that place is gone
}

BOOST_AUTO_TEST_CASE_TEMPLATE(empty_batch_gives_empty_result, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("k", "v");
  BOOST_TEST(db.get_many({}).empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(expired_and_erased_keys_are_nullopt, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  auto db = env.open();
  db.put("short", "s", std::chrono::seconds(1));
  db.put("long", "l", std::chrono::hours(1));
  db.put("plain", "p");
  db.put("gone", "g");
  db.erase("gone");
  clock.advance(std::chrono::seconds(2));
  const std::vector<std::string_view> keys{"short", "long", "plain", "gone"};
  const auto got = db.get_many(keys);
  BOOST_TEST_REQUIRE(got.size() == 4u);
  BOOST_TEST(!got[0].has_value());
  BOOST_TEST((got[1] == std::optional<std::string>("l")));
  BOOST_TEST((got[2] == std::optional<std::string>("p")));
  BOOST_TEST(!got[3].has_value());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(batches_longer_than_a_window_and_after_merge, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("k" + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) db.put(names[i], value_for(i + round));
  }
  db.merge();  // the keydir now points into merge outputs
  const std::vector<std::string_view> keys(names.begin(), names.end());
  const auto got = db.get_many(keys);
  BOOST_TEST_REQUIRE(got.size() == 100u);
  for (int i = 0; i < 100; ++i) BOOST_TEST((got[i] == std::optional(value_for(i + 2))));
}

// A damaged record fails get_many as it fails get: hint_test.cpp
// (damaged_value_behind_a_hint_fails_its_read).

BOOST_AUTO_TEST_CASE_TEMPLATE(closed_store_refuses_get_many, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("k", "v");
  db.close();
  const std::vector<std::string_view> keys{"k"};
  BOOST_CHECK_THROW(db.get_many(keys), InvalidArgument);
  BOOST_CHECK_THROW(db.get_many({}), InvalidArgument);
}

// Gets and get_many read segments that merges remove underneath them (the
// read gate must keep a removed segment open until its readers are done):
// every value read is whole and current, never an error.
BOOST_AUTO_TEST_CASE_TEMPLATE(reads_during_merges_see_whole_values, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  constexpr int kKeys = 64;
  std::vector<std::string> names;
  for (int i = 0; i < kKeys; ++i) {
    names.push_back("k" + std::to_string(i));
    db.put(names[i], value_for(i));
  }
  const std::vector<std::string_view> keys(names.begin(), names.end());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  auto reader = [&](bool batch) {
    try {
      while (!done) {
        if (batch) {
          const auto got = db.get_many(keys);
          for (int i = 0; i < kKeys; ++i) bad += got[i] != std::optional(value_for(i));
        } else {
          for (int i = 0; i < kKeys; ++i) bad += db.get(keys[i]) != std::optional(value_for(i));
        }
        ++reads;
      }
    } catch (const std::exception&) {
      ++bad;
    }
  };
  {
    std::jthread single(reader, false), batched(reader, true);
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < kKeys; ++i) db.put(names[i], value_for(i));  // same values, new records
      db.merge();
    }
    while (reads < 10) std::this_thread::yield();
    done = true;
  }
  BOOST_TEST(bad.load() == 0);
}

// A get racing close() either answers or throws InvalidArgument (closed),
// never reads a segment close() destroyed.
BOOST_AUTO_TEST_CASE_TEMPLATE(reads_racing_close_answer_or_say_closed, B, AllBackends) {
  for (int round = 0; round < 5; ++round) {
    StoreEnv<B> env;
    auto db = env.open();
    db.put("k", "value");
    const std::vector<std::string_view> keys{"k", "k"};
    std::atomic<int> bad{0}, reads{0};
    std::atomic<bool> closed{false};
    auto reader = [&] {
      for (;;) {
        try {
          bad += db.get("k") != std::optional<std::string>("value");
          bad += db.get_many(keys)[1] != std::optional<std::string>("value");
          ++reads;
        } catch (const InvalidArgument&) {
          if (closed) return;  // only a closed store may refuse
          ++bad;
          return;
        } catch (const std::exception&) {
          ++bad;
          return;
        }
      }
    };
    std::jthread a(reader), b(reader);
    while (reads < 20) std::this_thread::yield();
    closed = true;  // set before close(): a refusal may come as soon as it starts
    db.close();
    a.join();
    b.join();
    BOOST_TEST(bad.load() == 0);
  }
}

BOOST_AUTO_TEST_SUITE_END()
