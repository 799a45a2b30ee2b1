// CRC32C, the record format, the record reader and file names.
#include <boost/test/unit_test.hpp>
#include <random>

#include "core/crc32c.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/record_reader.h"
#include "tests/backend_fixtures.h"

using namespace pyk;

BOOST_AUTO_TEST_SUITE(format_and_reader)

BOOST_AUTO_TEST_CASE(crc32c_known_answer) {
  // RFC 3720 test vector: CRC-32C of "123456789" is 0xE3069283.
  BOOST_TEST(crc32c::value(format::as_bytes("123456789")) == 0xE3069283u);
  BOOST_TEST(crc32c::portable(0, format::as_bytes("123456789")) == 0xE3069283u);
}

// RFC 3720 B.4 vectors, for each implementation (hardware() only where the
// CPU has it: elsewhere it is portable() and the comparison below says nothing).
BOOST_AUTO_TEST_CASE(crc32c_known_answers_for_each_implementation) {
  const std::string zeros(32, '\0'), ones(32, '\xff');
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  const std::pair<std::string_view, std::uint32_t> vectors[] = {
      {zeros, 0x8A9136AAu}, {ones, 0x62A8AB43u}, {ascending, 0x46DD794Eu},
      {"123456789", 0xE3069283u}};
  for (const auto& [text, crc] : vectors) {
    BOOST_TEST(crc32c::portable(0, format::as_bytes(text)) == crc);
    BOOST_TEST(crc32c::value(format::as_bytes(text)) == crc);
    if (crc32c::hardware_available()) BOOST_TEST(crc32c::hardware(0, format::as_bytes(text)) == crc);
  }
}

// Skipped (and reported as skipped) on a CPU without SSE4.2.
BOOST_AUTO_TEST_CASE(crc32c_hardware_and_portable_agree,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::test_tools::assertion_result(crc32c::hardware_available());
                     })) {
  std::mt19937 rng(42);
  std::string data(5000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t length : {0, 1, 7, 8, 9, 63, 64, 65, 1000, 5000}) {
    const auto bytes = format::as_bytes(std::string_view(data).substr(0, length));
    BOOST_TEST(crc32c::portable(0, bytes) == crc32c::hardware(0, bytes));
    // Extending in two pieces equals one pass.
    const auto half = bytes.size() / 2;
    BOOST_TEST(crc32c::extend(crc32c::extend(0, bytes.first(half)), bytes.subspan(half)) ==
               crc32c::value(bytes));
  }
}

BOOST_AUTO_TEST_CASE(record_round_trip) {
  std::string encoded;
  format::encode_record(encoded, format::RecordType::value, "key", "value", 123, 456);
  BOOST_TEST(encoded.size() == format::kRecordHeaderSize + 8);
  const auto* p = reinterpret_cast<const std::byte*>(encoded.data());
  const auto h = format::decode_record_header(p);
  BOOST_TEST((h.type == format::RecordType::value));
  BOOST_TEST(h.key_size == 3u);
  BOOST_TEST(h.value_size == 5u);
  BOOST_TEST(h.timestamp == 123u);
  BOOST_TEST(h.expiry == 456u);
  BOOST_TEST(format::check_record_header(h) == nullptr);
  BOOST_TEST(format::record_crc(format::as_bytes(encoded)) == h.crc);
  // The CRC covers the header fields too, not only the value.
  encoded[16] ^= 1;  // timestamp
  BOOST_TEST(format::record_crc(format::as_bytes(encoded)) != h.crc);
}

BOOST_AUTO_TEST_CASE(implausible_headers_are_rejected) {
  format::RecordHeader h;
  h.type = format::RecordType::none;
  BOOST_TEST(format::check_record_header(h) != nullptr);
  h.type = format::RecordType::value;
  h.key_size = 0;
  BOOST_TEST(format::check_record_header(h) != nullptr);
  h.key_size = format::kMaxKeySize + 1;
  BOOST_TEST(format::check_record_header(h) != nullptr);
  h.key_size = 1;
  h.value_size = format::kMaxValueSize + 1;
  BOOST_TEST(format::check_record_header(h) != nullptr);
  h.type = format::RecordType::tombstone;
  h.value_size = 1;
  BOOST_TEST(format::check_record_header(h) != nullptr);
}

BOOST_AUTO_TEST_CASE(file_header_round_trip_and_damage) {
  auto bytes = format::encode_file_header(format::kDataMagic, 77);
  format::FileHeader h;
  BOOST_TEST((format::decode_file_header(bytes, h) == format::FileHeaderStatus::ok));
  BOOST_TEST(h.segment_id == 77u);
  BOOST_TEST(h.magic == format::kDataMagic);
  BOOST_TEST((format::decode_file_header(std::span(bytes).first(10), h) ==
              format::FileHeaderStatus::too_short));
  bytes[17] ^= std::byte{1};
  BOOST_TEST((format::decode_file_header(bytes, h) == format::FileHeaderStatus::bad_crc));
  bytes[0] = std::byte{'X'};
  BOOST_TEST((format::decode_file_header(bytes, h) == format::FileHeaderStatus::bad_magic));
}

BOOST_AUTO_TEST_CASE(file_names_round_trip) {
  BOOST_TEST(filename::data(1) == "0000000001.data");
  BOOST_TEST(filename::hint(42) == "0000000042.hint");
  const auto p = filename::parse("0000000042.hint");
  BOOST_TEST((p.kind == filename::Kind::hint));
  BOOST_TEST(p.segment_id == 42u);
  BOOST_TEST((filename::parse("LOCK").kind == filename::Kind::lock));
  BOOST_TEST((filename::parse("0000000003.data.tmp").kind == filename::Kind::temp));
  BOOST_TEST((filename::parse("000000003.data").kind == filename::Kind::other));
  BOOST_TEST((filename::parse("00000000x3.data").kind == filename::Kind::other));
  BOOST_TEST((filename::parse("0000000000.data").kind == filename::Kind::other));
  BOOST_TEST((filename::parse("notes.txt").kind == filename::Kind::other));
}

// Writes a segment of records through the memory backend for reader tests.
struct ReaderFixture {
  test::TempDir dir;
  std::shared_ptr<Directory> directory = open_directory("memory", dir.str(), true);
  std::string bytes;
  std::vector<std::size_t> offsets;

  void add(std::string_view key, std::string_view value) {
    offsets.push_back(bytes.size());
    format::encode_record(bytes, format::RecordType::value, key, value, 1, 0);
  }
  std::unique_ptr<Segment> segment() {
    directory->remove("s");
    auto s = directory->create("s", bytes.size() + 1);
    s->append(format::as_bytes(bytes));
    return s;
  }
};

BOOST_FIXTURE_TEST_CASE(reader_walks_every_record, ReaderFixture) {
  add("a", "1");
  add("bb", "22");
  add("ccc", std::string(3 << 20, 'z'));  // larger than the reader's window
  auto s = segment();
  RecordReader reader(*s, 0);
  std::vector<std::string> keys;
  while (reader.next() == RecordReader::Step::record) keys.emplace_back(reader.record().key);
  BOOST_TEST(keys == (std::vector<std::string>{"a", "bb", "ccc"}));
  BOOST_TEST(reader.valid_end() == bytes.size());
}

BOOST_FIXTURE_TEST_CASE(reader_reports_damage_and_resumes_at_next_record, ReaderFixture) {
  add("a", "1");
  add("b", "2");
  add("c", "3");
  bytes[offsets[1] + format::kRecordHeaderSize + 1] ^= 0x40;  // b's value
  auto s = segment();
  RecordReader reader(*s, 0);
  BOOST_TEST((reader.next() == RecordReader::Step::record));
  BOOST_TEST((reader.next() == RecordReader::Step::damage));
  BOOST_TEST(reader.damage().offset == offsets[1]);
  BOOST_TEST(reader.damage().length == offsets[2] - offsets[1]);
  BOOST_TEST(reader.damage().reason == "checksum mismatch");
  BOOST_TEST(!reader.damage().at_tail);
  BOOST_TEST((reader.next() == RecordReader::Step::record));
  BOOST_TEST(reader.record().key == "c");
  BOOST_TEST((reader.next() == RecordReader::Step::end));
}

BOOST_FIXTURE_TEST_CASE(reader_reports_garbage_tail, ReaderFixture) {
  add("a", "1");
  bytes += "garbage that is not a record at all";
  auto s = segment();
  RecordReader reader(*s, 0);
  BOOST_TEST((reader.next() == RecordReader::Step::record));
  BOOST_TEST((reader.next() == RecordReader::Step::damage));
  BOOST_TEST(reader.damage().at_tail);
  BOOST_TEST(reader.damage().offset == offsets[0] + format::kRecordHeaderSize + 2);
  BOOST_TEST((reader.next() == RecordReader::Step::end));
}

BOOST_FIXTURE_TEST_CASE(reader_treats_zero_region_before_data_as_damage, ReaderFixture) {
  add("a", "1");
  bytes += std::string(64, '\0');
  add("b", "2");
  auto s = segment();
  RecordReader reader(*s, 0);
  BOOST_TEST((reader.next() == RecordReader::Step::record));
  BOOST_TEST((reader.next() == RecordReader::Step::damage));
  BOOST_TEST(!reader.damage().at_tail);
  BOOST_TEST(reader.damage().length == 64u);
  BOOST_TEST((reader.next() == RecordReader::Step::record));
}

BOOST_AUTO_TEST_SUITE_END()
