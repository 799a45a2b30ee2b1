#include <boost/test/unit_test.hpp>
#include <map>
#include <random>

#include "core/keydir.h"

using pyk::KeyDir;
using pyk::Location;

BOOST_AUTO_TEST_SUITE(keydir)

BOOST_AUTO_TEST_CASE(put_find_erase) {
  KeyDir kd;
  BOOST_TEST(!kd.find("a").has_value());
  BOOST_TEST(!kd.put("a", {1, 2, 3, 0}).has_value());
  BOOST_TEST((kd.find("a").value() == Location{1, 2, 3, 0}));
  BOOST_TEST((kd.put("a", {4, 5, 6, 7}).value() == Location{1, 2, 3, 0}));
  BOOST_TEST((kd.find("a").value() == Location{4, 5, 6, 7}));
  BOOST_TEST(kd.size() == 1u);
  BOOST_TEST((kd.erase("a").value() == Location{4, 5, 6, 7}));
  BOOST_TEST(!kd.erase("a").has_value());
  BOOST_TEST(kd.size() == 0u);
}

BOOST_AUTO_TEST_CASE(expiry_can_be_added_and_removed) {
  KeyDir kd;
  kd.put("k", {1, 1, 1, 0});
  kd.put("k", {1, 2, 1, 99});
  BOOST_TEST(kd.find("k")->expiry == 99u);
  kd.put("k", {1, 3, 1, 0});
  BOOST_TEST(kd.find("k")->expiry == 0u);
  BOOST_TEST(kd.size() == 1u);
}

BOOST_AUTO_TEST_CASE(largest_key_and_binary_keys) {
  KeyDir kd;
  const std::string big(64 * 1024, 'k');
  const std::string binary("a\0b", 3);
  kd.put(big, {1, 1, 1, 0});
  kd.put(binary, {2, 2, 2, 0});
  kd.put("a", {3, 3, 3, 0});
  BOOST_TEST(kd.find(big)->segment == 1u);
  BOOST_TEST(kd.find(binary)->segment == 2u);
  BOOST_TEST(kd.find("a")->segment == 3u);
  std::size_t total = 0;
  kd.for_each([&](std::string_view k, const Location&) { total += k.size(); });
  BOOST_TEST(total == big.size() + 4);
}

BOOST_AUTO_TEST_CASE(matches_a_reference_map_under_random_churn) {
  // Enough churn to trigger arena compaction several times.
  KeyDir kd;
  std::map<std::string, Location> reference;
  std::mt19937 rng(7);
  for (std::uint32_t i = 0; i < 400000; ++i) {
    const std::string key = "key-" + std::to_string(rng() % 20000) + std::string(rng() % 40, 'x');
    switch (rng() % 3) {
      case 0:
      case 1: {
        const Location l{i, i * 3, i % 1000, (rng() % 2) ? i + 1ull : 0};
        kd.put(key, l);
        reference[key] = l;
        break;
      }
      default:
        BOOST_TEST(kd.erase(key).has_value() == (reference.erase(key) == 1));
    }
  }
  BOOST_TEST(kd.size() == reference.size());
  for (const auto& [k, l] : reference) BOOST_TEST((kd.find(k).value() == l));
  std::size_t visited = 0;
  kd.for_each([&](std::string_view k, const Location& l) {
    ++visited;
    BOOST_TEST((reference.at(std::string(k)) == l));
  });
  BOOST_TEST(visited == reference.size());
}

BOOST_AUTO_TEST_SUITE_END()
