// LogReader: committed units (a record or a whole batch) and how each kind of
// problem is reported or refused in each mode.
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "core/format.h"
#include "core/log_reader.h"
#include "tests/backend_fixtures.h"

using namespace pyk;

namespace {

// Builds a datafile body (no file header: readers start at 0) in memory.
struct LogFixture {
  test::TempDir dir;
  std::shared_ptr<Directory> directory = open_directory("memory", dir.str(), true);
  std::string bytes;
  std::vector<std::uint64_t> offsets;  // of every record added, batch headers included
  std::vector<LogProblem> problems;
  int segments = 0;

  void value(std::string_view key, std::string_view v) {
    offsets.push_back(bytes.size());
    format::encode_record(bytes, format::RecordType::value, key, v, 1, 0);
  }
  void tombstone(std::string_view key) {
    offsets.push_back(bytes.size());
    format::encode_record(bytes, format::RecordType::tombstone, key, {}, 1, 0);
  }
  // A batch header claiming `count` records of `length` bytes.
  void batch_header(std::uint32_t count, std::uint64_t length) {
    offsets.push_back(bytes.size());
    format::encode_batch_header(bytes, {count, length}, 1);
  }
  // A well-formed batch of puts.
  void batch(const std::vector<std::pair<std::string, std::string>>& puts) {
    std::string records;
    for (const auto& [k, v] : puts)
      format::encode_record(records, format::RecordType::value, k, v, 1, 0);
    batch_header(static_cast<std::uint32_t>(puts.size()), records.size());
    for (const auto& [k, v] : puts) value(k, v);
  }
  std::unique_ptr<Segment> segment() {
    auto s = directory->create("s" + std::to_string(segments++), bytes.size() + 1);
    s->append(format::as_bytes(bytes));
    return s;
  }
  LogReader reader(const Segment& s, LogReader::Mode mode) {
    return LogReader(s, mode, [this](const LogProblem& p) { problems.push_back(p); }, 0);
  }
  // Keys of every unit, a unit as "k1+k2" for a batch.
  std::vector<std::string> units(LogReader& r) {
    std::vector<std::string> out;
    while (r.next()) {
      std::string u;
      for (const Record& rec : r.unit().records) u += (u.empty() ? "" : "+") + std::string(rec.key);
      out.push_back(r.unit().batch ? "[" + u + "]" : u);
    }
    return out;
  }
};

using Units = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(log_reader)

BOOST_FIXTURE_TEST_CASE(records_and_a_whole_batch_come_as_units, LogFixture) {
  value("a", "1");
  batch({{"b", "2"}, {"c", std::string(3 << 20, 'z')}});  // larger than the record window
  tombstone("a");
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::strict);
  BOOST_TEST(r.next());
  BOOST_TEST(!r.unit().batch);
  BOOST_TEST(r.unit().records.at(0).value == "1");
  BOOST_TEST(r.next());
  BOOST_TEST(r.unit().batch);
  BOOST_TEST(r.unit().offset == offsets[1]);
  BOOST_TEST(r.unit().header_size == format::kRecordHeaderSize + format::kBatchValueSize);
  BOOST_TEST(r.unit().records.size() == 2u);
  // Keys and values of a batch survive the reader moving its window.
  BOOST_TEST(r.unit().records[0].key == "b");
  BOOST_TEST(r.unit().records[0].value == "2");
  BOOST_TEST(r.unit().records[1].value == std::string(3 << 20, 'z'));
  BOOST_TEST(r.unit().end == offsets[4]);
  BOOST_TEST(r.next());
  BOOST_TEST((r.unit().records[0].header.type == format::RecordType::tombstone));
  BOOST_TEST(!r.next());
  BOOST_TEST(r.committed_end() == bytes.size());
  BOOST_TEST(problems.empty());
}

BOOST_FIXTURE_TEST_CASE(batch_cut_short_at_the_end_is_an_incomplete_tail, LogFixture) {
  value("a", "1");
  batch({{"b", "2"}, {"c", "3"}});
  bytes.resize(offsets.back());  // the batch's last record never landed
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::torn_tail);
  BOOST_TEST((units(r) == Units{"a"}));
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST((problems[0].kind == LogProblem::Kind::incomplete_batch));
  BOOST_TEST(problems[0].at_tail);
  BOOST_TEST(problems[0].offset == offsets[1]);
  BOOST_TEST(r.committed_end() == offsets[1]);
  // A sealed segment must be whole.
  auto strict = reader(*s, LogReader::Mode::strict);
  BOOST_TEST(strict.next());
  BOOST_CHECK_THROW(strict.next(), CorruptionError);
}

BOOST_FIXTURE_TEST_CASE(batch_whose_length_disagrees_with_its_records_applies_nothing, LogFixture) {
  std::string records;
  format::encode_record(records, format::RecordType::value, "b", "2", 1, 0);
  batch_header(1, records.size() + 1);  // one byte too long
  value("b", "2");
  value("c", "3");
  auto s = segment();
  auto tolerant = reader(*s, LogReader::Mode::tolerant);
  BOOST_TEST((units(tolerant) == Units{"c"}));
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].reason == "batch length does not match its records");
  BOOST_TEST(!problems[0].at_tail);
  // Not a torn write: refused even in the newest segment.
  auto torn = reader(*s, LogReader::Mode::torn_tail);
  BOOST_CHECK_THROW(torn.next(), CorruptionError);
}

BOOST_FIXTURE_TEST_CASE(batch_followed_by_another_batch_is_dropped, LogFixture) {
  batch_header(2, 1000);
  value("x", "1");
  batch({{"b", "2"}});
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::tolerant);
  BOOST_TEST((units(r) == Units{"[b]"}));
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].reason == "batch followed by another batch before its end");
  BOOST_TEST(problems[0].offset == 0u);
  BOOST_TEST(problems[0].length == offsets[2]);
}

BOOST_FIXTURE_TEST_CASE(empty_batch_is_an_empty_unit_unless_it_claims_bytes, LogFixture) {
  batch_header(0, 0);
  batch_header(0, 40);
  value("a", "1");
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::tolerant);
  BOOST_TEST((units(r) == Units{"[]", "a"}));
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].reason == "empty batch with a nonzero length");
}

BOOST_FIXTURE_TEST_CASE(damage_inside_a_batch_drops_the_batch_and_resumes, LogFixture) {
  value("a", "1");
  batch({{"b", "2"}, {"c", "3"}});
  value("d", "4");
  bytes[offsets[2] + format::kRecordHeaderSize] ^= 0x01;  // key of b
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::tolerant);
  BOOST_TEST((units(r) == Units{"a", "c", "d"}));
  BOOST_REQUIRE(problems.size() == 2u);
  BOOST_TEST((problems[0].kind == LogProblem::Kind::incomplete_batch));
  BOOST_TEST(problems[0].reason == "batch interrupted by damage");
  BOOST_TEST(problems[0].offset == offsets[1]);
  BOOST_TEST((problems[1].kind == LogProblem::Kind::damaged_bytes));
  BOOST_TEST(problems[1].offset == offsets[2]);
}

BOOST_FIXTURE_TEST_CASE(fatal_damage_is_reported_at_its_own_offset, LogFixture) {
  batch({{"b", "2"}, {"c", "3"}});
  value("d", "4");
  bytes[offsets[1] + format::kRecordHeaderSize] ^= 0x01;
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::torn_tail);
  try {
    r.next();
    BOOST_FAIL("damage before valid data must be refused");
  } catch (const CorruptionError& e) {
    BOOST_TEST(e.offset() == offsets[1]);  // the damaged record, not the batch around it
  }
}

BOOST_FIXTURE_TEST_CASE(torn_record_at_the_end_ends_the_data, LogFixture) {
  value("a", "1");
  value("b", "2");
  bytes.resize(bytes.size() - 1);
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::torn_tail);
  BOOST_TEST((units(r) == Units{"a"}));
  BOOST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].at_tail);
  BOOST_TEST(r.committed_end() == offsets[1]);
}

BOOST_FIXTURE_TEST_CASE(zero_filled_space_is_the_end_not_damage, LogFixture) {
  value("a", "1");
  bytes += std::string(4096, '\0');
  auto s = segment();
  auto r = reader(*s, LogReader::Mode::strict);
  BOOST_TEST((units(r) == Units{"a"}));
  BOOST_TEST(problems.empty());
  BOOST_TEST(r.committed_end() == offsets[0] + format::kRecordHeaderSize + 2);
}

BOOST_AUTO_TEST_SUITE_END()
