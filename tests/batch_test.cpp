// WriteBatch and the copy-free reads, against every backend.
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "tests/backend_fixtures.h"

using namespace pyk;
using namespace pyk::test;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(batch)

BOOST_AUTO_TEST_CASE_TEMPLATE(batch_applies_puts_and_erases, B, AllBackends) {
  StoreEnv<B> env;
  {
    auto db = env.open();
    db.put("old", "x");
    WriteBatch batch;
    batch.put("a", "1");
    batch.put("b", "2");
    batch.erase("old");
    batch.erase("never-there");  // not an error inside a batch
    batch.put("a", "1b");        // later operations win
    db.write(batch);
    BOOST_TEST(db.get("a").value() == "1b");
    BOOST_TEST(db.get("b").value() == "2");
    BOOST_TEST(!db.contains("old"));
    BOOST_TEST(db.size() == 2u);
  }
  auto db = env.open();
  BOOST_TEST(db.get("a").value() == "1b");
  BOOST_TEST(!db.contains("old"));
  BOOST_TEST(db.size() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(invalid_batch_writes_nothing, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  WriteBatch batch;
  batch.put("fine", "v");
  batch.put("", "empty key");
  BOOST_CHECK_THROW(db.write(batch), InvalidArgument);
  BOOST_TEST(!db.contains("fine"));
  BOOST_TEST(db.stats().disk_bytes == format::kFileHeaderSize);
  db.write(WriteBatch{});  // empty batch: nothing to do
  BOOST_TEST(db.stats().disk_bytes == format::kFileHeaderSize);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(batch_ttl_expires, B, AllBackends) {
  StoreEnv<B> env;
  FakeClock clock;
  env.options.clock = clock.fn();
  auto db = env.open();
  WriteBatch batch;
  BOOST_CHECK_THROW(batch.put("t", "v", 0s), InvalidArgument);
  batch.put("t", "v", 10s);
  batch.put("p", "v");
  db.write(batch);
  clock.advance(10s);
  BOOST_TEST(!db.contains("t"));
  BOOST_TEST(db.size() == 1u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(torn_batch_at_every_byte_is_dropped_whole, B, AllBackends) {
  const std::string name = filename::data(1);
  std::string full;
  std::size_t batch_start = 0;
  {
    StoreEnv<B> env;
    auto db = env.open();
    db.put("before", "b");
    db.close();
    batch_start = env.read_file(name).size();
    db = env.open();
    WriteBatch batch;
    batch.put("x", "1");
    batch.erase("before");
    batch.put("y", "2");
    db.write(batch);
    db.close();
    full = env.read_file(name);
  }
  for (std::size_t cut = batch_start; cut <= full.size(); ++cut) {
    StoreEnv<B> env;
    env.write_file(name, full.substr(0, cut));
    auto db = env.open();
    const bool complete = cut == full.size();
    BOOST_TEST(db.contains("x") == complete);
    BOOST_TEST(db.contains("y") == complete);
    BOOST_TEST(db.contains("before") == !complete);
    // An all-zero remnant (a few CRC bytes that happen to be 0) reads as
    // unwritten space rather than a torn batch; either way nothing is applied.
    const bool zero_tail =
        full.substr(batch_start, cut - batch_start).find_first_not_of('\0') == std::string::npos;
    BOOST_TEST(db.stats().torn_bytes_dropped == (complete || zero_tail ? 0 : cut - batch_start));
    db.put("after", "a");  // the cut is clean: new writes survive another reopen
    db.close();
    auto again = env.open();
    BOOST_TEST(again.get("after").value() == "a");
    BOOST_TEST(again.contains("x") == complete);
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(batch_spanning_rotation_stays_in_one_segment, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  {
    auto db = env.open();
    db.put("first", std::string(3000, 'f'));
    WriteBatch batch;
    for (int i = 0; i < 10; ++i) batch.put("k" + std::to_string(i), std::string(300, 'v'));
    db.write(batch);  // does not fit after "first": starts a new segment
    BOOST_TEST(db.stats().segments.size() == 2u);
  }
  auto db = env.open();
  BOOST_TEST(db.size() == 11u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(stats_count_batch_header_as_dead, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  WriteBatch batch;
  batch.put("a", "1");
  db.write(batch);
  const auto live = db.stats().segments.at(0);
  BOOST_TEST(live.live_bytes == format::kRecordHeaderSize + 2);
  BOOST_TEST(live.dead_bytes == format::kRecordHeaderSize + 16);
  db.close();
  auto reopened = env.open();  // recovery computes the same figures
  const auto replayed = reopened.stats().segments.at(0);
  BOOST_TEST(replayed.live_bytes == live.live_bytes);
  BOOST_TEST(replayed.dead_bytes == live.dead_bytes);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(get_into_reuses_the_callers_buffer, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  db.put("k", "value");
  std::string out = "previous contents";
  BOOST_TEST(db.get_into("k", out));
  BOOST_TEST(out == "value");
  BOOST_TEST(!db.get_into("missing", out));
  BOOST_TEST(out == "value");  // untouched on a miss
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pinned_value_outlives_overwrite_and_close, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  auto db = env.open();
  db.put("k", "original");
  auto pinned = db.get_pinned("k");
  BOOST_REQUIRE(pinned.has_value());
  BOOST_TEST(pinned->value == "original");
  for (int i = 0; i < 100; ++i) db.put("k", std::string(200, 'n'));  // overwrite, rotate, grow
  BOOST_TEST(pinned->value == "original");
  db.close();
  BOOST_TEST(pinned->value == "original");
  BOOST_TEST(!env.open().get_pinned("missing").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
