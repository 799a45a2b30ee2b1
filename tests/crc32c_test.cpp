// CRC-32C's hardware path, whose long inputs run as three interleaved
// streams or are folded with carry-less multiplication, against the
// portable one at every length around the round sizes.
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

// The folding path (256 bytes and more, where the CPU has VPCLMULQDQ):
// every length from 0 to 1100 (one round of four registers, the 64-byte
// steps after it, the crc32 tail), a 4 KiB record's and longer ones, at
// every alignment of the first byte modulo 8 and an odd one.
BOOST_AUTO_TEST_CASE(folding_agrees_with_portable_at_every_length_and_alignment) {
  if (!crc32c::folding_available()) {
    BOOST_TEST_MESSAGE("no AVX-512 VPCLMULQDQ: the folding path is not taken here");
  }
  std::mt19937 rng(11);
  std::string data(20000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (std::size_t n : {4147u, 4148u, 4149u, 4160u, 8192u, 16383u, 19900u}) lengths.push_back(n);
  for (const std::size_t offset : {0u, 1u, 3u, 7u, 8u, 33u}) {
    for (const std::size_t n : lengths) {
      const auto bytes = format::as_bytes(std::string_view(data).substr(offset, n));
      BOOST_TEST(crc32c::hardware(0x9abcdef0u, bytes) == crc32c::portable(0x9abcdef0u, bytes),
                 "length " << n << " at offset " << offset);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_flipped_bit_in_any_stream_changes_the_checksum) {
  std::string data(2304, 'x');
  const auto original = crc32c::value(format::as_bytes(data));
  for (std::size_t at : {0u, 3u, 4u, 15u, 16u, 63u, 64u, 255u, 256u, 511u, 512u, 767u, 768u, 2240u, 2303u}) {
    std::string flipped = data;
    flipped[at] ^= 1;
    BOOST_TEST(crc32c::value(format::as_bytes(flipped)) != original, "byte " << at);
  }
}

BOOST_AUTO_TEST_SUITE_END()
