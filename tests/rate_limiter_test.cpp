// RateLimiter: the byte rate that keeps an automatic merge from crowding out
// the writers, and cancel(), which a closing store relies on.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include "core/rate_limiter.h"

using namespace pyk;
using Clock = std::chrono::steady_clock;

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(rate_zero_never_waits) {
  RateLimiter limiter(0);
  const auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) BOOST_TEST(limiter.request(1u << 30));
  BOOST_CHECK(Clock::now() - start < std::chrono::milliseconds(200));
}

BOOST_AUTO_TEST_CASE(requests_are_held_to_the_rate_after_a_short_burst) {
  RateLimiter limiter(10'000'000);  // 10 MB/s
  const auto start = Clock::now();
  for (int i = 0; i < 30; ++i) BOOST_TEST(limiter.request(100'000));  // 3 MB: 0.3 s
  const auto took = Clock::now() - start;
  // At most a tenth of a second's worth goes through unpaced.
  BOOST_CHECK(took >= std::chrono::milliseconds(180));
  BOOST_CHECK(took < std::chrono::seconds(3));
  BOOST_CHECK(limiter.waited() > std::chrono::milliseconds(100));
}

BOOST_AUTO_TEST_CASE(idle_time_is_credit_up_to_one_burst_only) {
  RateLimiter limiter(1'000'000);  // 1 MB/s
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto start = Clock::now();
  BOOST_TEST(limiter.request(100'000));  // the burst: free
  BOOST_TEST(limiter.request(100'000));  // paid for: about 0.1 s
  BOOST_TEST(limiter.request(1));
  BOOST_CHECK(Clock::now() - start >= std::chrono::milliseconds(80));
}

BOOST_AUTO_TEST_CASE(cancel_wakes_a_waiting_request_and_fails_later_ones) {
  RateLimiter limiter(1000);  // 1 KB/s: the second request would wait a second
  BOOST_TEST(limiter.request(1000));
  BOOST_TEST(limiter.request(1000));
  std::jthread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    limiter.cancel();
  });
  const auto start = Clock::now();
  BOOST_TEST(!limiter.request(1000));
  BOOST_CHECK(Clock::now() - start < std::chrono::milliseconds(700));
  BOOST_TEST(!limiter.request(1));
  limiter.reset();
  BOOST_TEST(limiter.request(1));
}

BOOST_AUTO_TEST_SUITE_END()
