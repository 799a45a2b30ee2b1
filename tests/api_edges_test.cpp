// The edges of the public API: moved-from and closed stores, options that
// cannot be honoured, the empty key, and stopping for_each early.
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "core/store.h"
#include "tests/backend_fixtures.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

BOOST_AUTO_TEST_SUITE(api_edges)

BOOST_AUTO_TEST_CASE_TEMPLATE(moved_from_store_throws_invalid_argument, B, AllBackends) {
  StoreEnv<B> env;
  Store a = env.open();
  a.put("k", "v");
  Store b = std::move(a);
  BOOST_CHECK_THROW(a.get("k"), InvalidArgument);
  BOOST_CHECK_THROW(a.put("k", "w"), InvalidArgument);
  BOOST_CHECK_THROW(a.size(), InvalidArgument);
  BOOST_CHECK_THROW(a.for_each([](std::string_view, std::string_view) {}), InvalidArgument);
  BOOST_CHECK_THROW(a.stats(), InvalidArgument);
  BOOST_CHECK_NO_THROW(a.close());
  BOOST_TEST(b.get("k").value() == "v");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(second_close_is_a_no_op_and_calls_after_close_throw, B, AllBackends) {
  StoreEnv<B> env;
  Store db = env.open();
  db.put("k", "v");
  db.close();
  BOOST_CHECK_NO_THROW(db.close());
  BOOST_CHECK_THROW(db.get("k"), InvalidArgument);
  BOOST_CHECK_THROW(db.contains("k"), InvalidArgument);
}

BOOST_AUTO_TEST_CASE(expected_keys_that_cannot_be_honoured_is_a_pyk_error) {
  StoreEnv<MemoryBackend> env;
  env.options.expected_keys = std::uint64_t{1} << 40;
  try {
    env.open();
    BOOST_ERROR("opened with a table for 2^40 keys");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("expected_keys") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(the_empty_key_is_invalid_everywhere, B, AllBackends) {
  StoreEnv<B> env;
  Store db = env.open();
  std::string out;
  BOOST_CHECK_THROW(db.put("", "v"), InvalidArgument);
  BOOST_CHECK_THROW(db.get(""), InvalidArgument);
  BOOST_CHECK_THROW(db.get_into("", out), InvalidArgument);
  BOOST_CHECK_THROW(db.get_pinned(""), InvalidArgument);
  BOOST_CHECK_THROW(db.contains(""), InvalidArgument);
  BOOST_CHECK_THROW(db.erase(""), InvalidArgument);
  WriteBatch batch;
  batch.put("", "v");
  BOOST_CHECK_THROW(db.write(batch), InvalidArgument);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_stops_when_the_callback_returns_false, B, AllBackends) {
  StoreEnv<B> env;
  Store db = env.open();
  for (int k = 0; k < 20; ++k) db.put("k" + std::to_string(k), "v");
  int calls = 0;
  db.for_each([&](std::string_view, std::string_view) { return ++calls < 3; });
  BOOST_TEST(calls == 3);
  int all = 0;
  db.for_each([&](std::string_view, std::string_view) { ++all; });
  BOOST_TEST(all == 20);
}

BOOST_AUTO_TEST_SUITE_END()

// --- expired records are dead bytes --------------------------------------------

BOOST_AUTO_TEST_SUITE(expiry_accounting)

BOOST_AUTO_TEST_CASE_TEMPLATE(expired_keys_are_dead_bytes_and_trigger_automatic_merge, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  env.options.max_segment_size = 4096;
  env.options.merge_dead_fraction = 0.5;
  Store db = env.open();
  for (int k = 0; k < 2000; ++k) db.put("session" + std::to_string(k), "token", std::chrono::minutes(1));
  const std::size_t segments = db.stats().segments.size();
  BOOST_TEST_REQUIRE(segments > 10u);
  clock.advance(std::chrono::minutes(2));
  BOOST_TEST(db.size() == 0u);
  std::uint64_t live = 0, dead = 0;
  for (const auto& s : db.stats().segments) {
    live += s.live_keys;
    dead += s.dead_bytes;
    BOOST_TEST(s.live_bytes == 0u);
  }
  BOOST_TEST(live == 0u);  // one meaning of live: what size() counts
  BOOST_TEST(dead > 0u);
  // The next rotation's merge check finds every sealed segment dead.
  for (int k = 0; k < 40; ++k) db.put("fresh" + std::to_string(k), std::string(200, 'x'));
  BOOST_TEST(wait_until([&] { return db.stats().segments.size() < segments / 2; }), env.log);
  BOOST_TEST(db.size() > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
