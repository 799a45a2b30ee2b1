// Redis glob patterns (KEYS, SCAN MATCH, CONFIG GET).
#include <boost/test/unit_test.hpp>
#include <chrono>

#include "tools/server/glob.h"

using namespace pyk::server;

BOOST_AUTO_TEST_SUITE(server_glob)

BOOST_AUTO_TEST_CASE(stars_questions_sets_and_escapes) {
  BOOST_TEST(glob_match("*", ""));
  BOOST_TEST(glob_match("*", "anything"));
  BOOST_TEST(glob_match("user:*", "user:1"));
  BOOST_TEST(!glob_match("user:*", "use"));
  BOOST_TEST(glob_match("h?llo", "hello"));
  BOOST_TEST(!glob_match("h?llo", "hllo"));
  BOOST_TEST(glob_match("h*llo", "hllo"));
  BOOST_TEST(glob_match("h*llo", "heeeello"));
  BOOST_TEST(glob_match("h[ae]llo", "hallo"));
  BOOST_TEST(!glob_match("h[ae]llo", "hillo"));
  BOOST_TEST(glob_match("h[^e]llo", "hallo"));
  BOOST_TEST(!glob_match("h[^e]llo", "hello"));
  BOOST_TEST(glob_match("h[a-b]llo", "hbllo"));
  BOOST_TEST(!glob_match("h[a-b]llo", "hcllo"));
  BOOST_TEST(glob_match("h[b-a]llo", "hallo"));  // a reversed range, as Redis allows
  BOOST_TEST(glob_match("a\\*b", "a*b"));
  BOOST_TEST(!glob_match("a\\*b", "axb"));
  BOOST_TEST(glob_match("*a*b*c", "xxaxxbxxc"));
  BOOST_TEST(!glob_match("*a*b*c", "xxaxxbxx"));
  BOOST_TEST(glob_match(std::string("k\0*", 3), std::string("k\0z", 3)));  // binary safe
}

BOOST_AUTO_TEST_CASE(a_pattern_made_to_backtrack_stays_fast) {
  const std::string text(20000, 'a');
  const auto start = std::chrono::steady_clock::now();
  BOOST_TEST(!glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(2)));
}

BOOST_AUTO_TEST_CASE(literal_prefix_ends_at_the_first_wildcard) {
  BOOST_TEST(glob_literal_prefix("user:*") == "user:");
  BOOST_TEST(glob_literal_prefix("a?c") == "a");
  BOOST_TEST(glob_literal_prefix("[ab]") == "");
  BOOST_TEST(glob_literal_prefix("a\\*b*") == "a*b");
  BOOST_TEST(glob_literal_prefix("plain") == "plain");
}

BOOST_AUTO_TEST_SUITE_END()
