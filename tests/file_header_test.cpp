// check_file_header: the one judge of a datafile's or hint file's header.
#include <boost/test/unit_test.hpp>

#include "core/file_header.h"

using namespace pyk;

namespace {
std::span<const std::byte> bytes_of(const std::array<std::byte, format::kFileHeaderSize>& a,
                                    std::size_t n = format::kFileHeaderSize) {
  return std::span<const std::byte>(a).first(n);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(file_header)

BOOST_AUTO_TEST_CASE(header_of_the_right_file_is_ok_and_keeps_its_merge_rank) {
  const auto h = format::encode_file_header(format::kDataMagic, 7, 5);
  const auto check = check_file_header(bytes_of(h), format::kDataMagic, 7);
  BOOST_TEST(check.ok());
  BOOST_TEST(check.header.merge_rank == 5u);
  BOOST_TEST(!check.unwritten);
}

BOOST_AUTO_TEST_CASE(hint_header_in_a_datafile_is_the_wrong_kind) {
  const auto h = format::encode_file_header(format::kHintMagic, 7);
  const auto check = check_file_header(bytes_of(h), format::kDataMagic, 7);
  BOOST_TEST((check.problem == FileHeaderProblem::wrong_kind));
  BOOST_TEST(check.describe() == "hint file header in a datafile");
  BOOST_TEST((check_file_header(bytes_of(format::encode_file_header(format::kDataMagic, 7)),
                                format::kHintMagic, 7)
                  .problem == FileHeaderProblem::wrong_kind));
}

BOOST_AUTO_TEST_CASE(segment_id_other_than_the_file_name_is_named_in_the_reason) {
  const auto h = format::encode_file_header(format::kDataMagic, 8);
  const auto check = check_file_header(bytes_of(h), format::kDataMagic, 7);
  BOOST_TEST((check.problem == FileHeaderProblem::wrong_id));
  BOOST_TEST(check.describe() ==
             "segment id 8 in the header does not match the file name (7)");
}

BOOST_AUTO_TEST_CASE(short_zero_and_damaged_headers) {
  const std::array<std::byte, format::kFileHeaderSize> zeros{};
  const auto short_zero = check_file_header(bytes_of(zeros, 10), format::kDataMagic, 1);
  BOOST_TEST((short_zero.problem == FileHeaderProblem::too_short));
  BOOST_TEST(short_zero.unwritten);
  BOOST_TEST(short_zero.present == 10u);
  BOOST_TEST((check_file_header(bytes_of(zeros), format::kDataMagic, 1).problem ==
              FileHeaderProblem::bad_magic));
  auto h = format::encode_file_header(format::kDataMagic, 1);
  h[20] ^= std::byte{1};
  BOOST_TEST((check_file_header(bytes_of(h), format::kDataMagic, 1).problem ==
              FileHeaderProblem::bad_crc));
}

BOOST_AUTO_TEST_SUITE_END()
