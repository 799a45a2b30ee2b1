// pyk-bench's rounds (tools/bench/rounds.h): each figure is the median of
// its rounds, taken whole from one round, with the spread beside it.
#include <boost/test/unit_test.hpp>

#include "tools/bench/rounds.h"

using pyk::bench::median_of_rounds;
using pyk::bench::Result;

namespace {

Result row(const std::string& workload, double seconds, double p99_us, std::uint64_t disk = 0) {
  Result r;
  r.engine = "pyk-file";
  r.workload = workload;
  r.value_size = 100;
  r.ops = 1000;
  r.seconds = seconds;
  r.p99_us = p99_us;
  r.disk_bytes = disk;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_rounds)

BOOST_AUTO_TEST_CASE(MedianRowIsTakenWholeFromItsRound) {
  // ops/s: fill 1000, 500, 2000 across the rounds; read 100, 400, 200.
  const auto out = median_of_rounds({{row("fillrandom", 1.0, 1.5, 11), row("readrandom", 10.0, 9.0)},
                                     {row("fillrandom", 2.0, 2.5, 22), row("readrandom", 2.5, 3.0)},
                                     {row("fillrandom", 0.5, 3.5, 33), row("readrandom", 5.0, 6.0)}});
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].workload == "fillrandom");
  BOOST_TEST(out[0].ops_per_sec() == 1000.0);
  BOOST_TEST(out[0].p99_us == 1.5);  // the same round's latency and disk, not medians of their own
  BOOST_TEST(out[0].disk_bytes == 11u);
  BOOST_TEST(out[0].rounds == 3);
  BOOST_TEST(out[0].min_ops_per_sec == 500.0);
  BOOST_TEST(out[0].max_ops_per_sec == 2000.0);
  BOOST_TEST(out[1].ops_per_sec() == 200.0);
  BOOST_TEST(out[1].p99_us == 6.0);
  BOOST_TEST(out[1].min_ops_per_sec == 100.0);
  BOOST_TEST(out[1].max_ops_per_sec == 400.0);
}

BOOST_AUTO_TEST_CASE(EvenCountTakesTheLowerMiddle) {
  const auto out = median_of_rounds({{row("overwrite", 1.0, 0)}, {row("overwrite", 4.0, 0)},
                                     {row("overwrite", 2.0, 0)}, {row("overwrite", 0.5, 0)}});
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].ops_per_sec() == 500.0);  // of 250, 500, 1000, 2000
  BOOST_TEST(out[0].rounds == 4);
}

BOOST_AUTO_TEST_CASE(OneRoundIsItself) {
  const auto out = median_of_rounds({{row("readseq", 2.0, 0)}});
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].ops_per_sec() == 500.0);
  BOOST_TEST(out[0].rounds == 1);
  BOOST_TEST(out[0].min_ops_per_sec == 500.0);
  BOOST_TEST(out[0].max_ops_per_sec == 500.0);
}

BOOST_AUTO_TEST_CASE(FailedRoundIsReportedAsItIs) {
  Result failed = row("(child)", 0, 0);
  failed.error = "killed by signal 9";
  const auto out = median_of_rounds({{row("fillrandom", 1.0, 0), row("readrandom", 1.0, 0)},
                                     {row("fillrandom", 2.0, 0), failed},
                                     {row("fillrandom", 3.0, 0), row("readrandom", 1.0, 0)}});
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[1].error == "killed by signal 9");
  BOOST_TEST(out[0].ops_per_sec() == 500.0);  // round 2's own row, not a median
  BOOST_TEST(out[0].rounds == 1);
}

BOOST_AUTO_TEST_CASE(RoundsThatDoNotLineUpAreReportedAsTheyAre) {
  const auto out = median_of_rounds({{row("fillrandom", 1.0, 0), row("readrandom", 1.0, 0)},
                                     {row("fillrandom", 2.0, 0)}});
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].ops_per_sec() == 500.0);
}

BOOST_AUTO_TEST_CASE(NoRoundsIsAnError) {
  BOOST_CHECK_THROW(median_of_rounds({}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
