// CRC-32C's hardware path, whose long inputs run as three interleaved
// streams, against the portable one at every length around the round size.
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>

#include "core/crc32c.h"
#include "core/format.h"

using namespace pyk;

BOOST_AUTO_TEST_SUITE(crc32c_streams)

BOOST_AUTO_TEST_CASE(interleaved_rounds_agree_with_portable_at_every_boundary) {
  if (!crc32c::hardware_available()) {
    BOOST_TEST_MESSAGE("no SSE4.2: the hardware path is the portable one; nothing to compare");
    return;
  }
  std::mt19937 rng(7);
  std::string data(5 * 768 + 64, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  // Every length from one round minus a word to two rounds plus a word, and
  // a few longer ones; with and without a running checksum to extend.
  std::vector<std::size_t> lengths;
  for (std::size_t n = 760; n <= 1544; ++n) lengths.push_back(n);
  for (std::size_t n : {2303u, 2304u, 2305u, 3840u, 3904u}) lengths.push_back(n);
  for (const std::size_t n : lengths) {
    const auto bytes = format::as_bytes(std::string_view(data).substr(0, n));
    BOOST_TEST(crc32c::hardware(0, bytes) == crc32c::portable(0, bytes), "length " << n);
    BOOST_TEST(crc32c::hardware(0x12345678u, bytes) == crc32c::portable(0x12345678u, bytes),
               "length " << n << " extending");
  }
}

BOOST_AUTO_TEST_CASE(a_flipped_bit_in_any_stream_changes_the_checksum) {
  std::string data(2304, 'x');
  const auto original = crc32c::value(format::as_bytes(data));
  for (std::size_t at : {0u, 255u, 256u, 511u, 512u, 767u, 768u, 2303u}) {
    std::string flipped = data;
    flipped[at] ^= 1;
    BOOST_TEST(crc32c::value(format::as_bytes(flipped)) != original, "byte " << at);
  }
}

BOOST_AUTO_TEST_SUITE_END()
