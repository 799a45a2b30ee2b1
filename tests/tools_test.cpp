// Library-level tests of the tools (tools/lib): dump, fsck and repair,
// the Python pyk reader, export/import.
#include <boost/crc.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/format.h"
#include "core/store.h"
#include "tests/temp_dir.h"
#include "tools/lib/dump.h"
#include "tools/lib/fsck.h"
#include "tools/lib/python_pyk.h"
#include "tools/lib/source.h"
#include "tools/lib/text.h"
#include "tools/lib/transfer.h"

namespace fs = std::filesystem;
using namespace pyk;
using namespace pyk::tools;

namespace {

const std::string kData = "0000000001.data";

struct SmallStore {
  test::TempDir dir;
  SmallStore() {
    auto db = Store::open(dir.str());
    db.put("alpha", "one");
    db.put("beta", std::string("b\0\xff", 3));
    db.put("alpha", "uno");
    db.erase("beta");
    db.put("gamma", "three");
    db.close();
  }
  std::string path(const std::string& name = kData) const { return (dir.path() / name).string(); }
  std::string read(const std::string& name = kData) const {
    return read_all(*open_directory("file", dir.str(), false), name);
  }
  void write(const std::string& bytes, const std::string& name = kData) const {
    fs::remove(path(name));
    auto d = open_directory("file", dir.str(), false);
    auto s = d->create(name, bytes.size() + 1);
    if (!bytes.empty()) s->append(format::as_bytes(bytes));
    s->seal();
  }
  FsckReport check(bool repair = false) const { return fsck_path(dir.str(), {repair}); }
  bool has_kind(const FsckReport& r, const std::string& kind, std::uint64_t offset) const {
    for (const auto& f : r.findings)
      if (f.kind == kind && f.offset == offset && f.problem) return true;
    return false;
  }
  // Every file of the store (quarantine included) with its bytes.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> all;
    for (const auto& e : fs::recursive_directory_iterator(dir.path()))
      if (e.is_regular_file()) {
        std::ifstream in(e.path(), std::ios::binary);
        all[e.path().string()] = std::string(std::istreambuf_iterator<char>(in), {});
      }
    return all;
  }
};

std::string python_record(std::string_view key, std::string_view value, bool deleted,
                          std::uint32_t expiry = 0, bool char_lengths = false) {
  auto chars = [](std::string_view s) {
    return static_cast<std::uint32_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
  };
  boost::crc_32_type crc;
  crc.process_bytes(value.data(), value.size());
  std::string out(24, '\0');
  auto* p = reinterpret_cast<std::byte*>(out.data());
  format::store_le<std::uint32_t>(p, crc.checksum());
  format::store_le<std::uint32_t>(p + 4, 1700000000);
  format::store_le<std::uint32_t>(p + 8, expiry);
  format::store_le<std::uint32_t>(p + 12, deleted ? 1 : 0);
  format::store_le<std::uint32_t>(p + 16, char_lengths ? chars(key) : key.size());
  format::store_le<std::uint32_t>(p + 20, char_lengths ? chars(value) : value.size());
  return out + std::string(key) + std::string(value);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tools_lib)

BOOST_AUTO_TEST_CASE(TextHelpers) {
  BOOST_TEST(escape_text(std::string("a\\b\n\x01", 5)) == "a\\\\b\\n\\x01");
  BOOST_TEST(escape_text("abcdef", 3) == "abc...");
  for (std::string s : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"),
                        std::string("\0\xff\x80z", 4)})
    BOOST_TEST(*base64_decode(base64_encode(s)) == s);
  BOOST_TEST(!base64_decode("a=bc"));
  BOOST_TEST(is_valid_utf8("wörld"));
  BOOST_TEST(!is_valid_utf8("\xc3"));
  BOOST_TEST(iso_time_micros(0) == "1970-01-01T00:00:00.000000Z");
  BOOST_TEST(*parse_duration_micros("30s") == 30'000'000u);
  BOOST_TEST(!parse_duration_micros("30x"));
}

BOOST_AUTO_TEST_CASE(DumpShowsEveryRecordAndSummary) {
  SmallStore s;
  std::ostringstream out;
  const auto summary = dump_path(s.dir.str(), {}, out);
  BOOST_TEST(summary.records == 5u);
  BOOST_TEST(summary.tombstones == 1u);
  BOOST_TEST(summary.bad_regions == 0u);
  BOOST_TEST(out.str().find("key=\"beta\" value=\"b\\x00\\xff\"") != std::string::npos);
  DumpOptions live;
  live.live = true;
  std::ostringstream live_out;
  BOOST_TEST(dump_path(s.dir.str(), live, live_out).records == 2u);  // alpha=uno, gamma
  BOOST_TEST(live_out.str().find("uno") != std::string::npos);
  BOOST_TEST(live_out.str().find("\"one\"") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(DumpMarksDamageAndCarriesOn) {
  SmallStore s;
  std::string bytes = s.read();
  bytes[32 + 20] ^= 1;  // first record's timestamp
  s.write(bytes);
  std::ostringstream out;
  DumpOptions json;
  json.json = true;
  const auto summary = dump_path(s.dir.str(), json, out);
  BOOST_TEST(summary.bad_regions == 1u);
  BOOST_TEST(summary.records == 4u);
  BOOST_TEST(out.str().find("{\"file\":\"0000000001.data\",\"offset\":32,") != std::string::npos);
  BOOST_TEST(out.str().find("\"damage\":\"checksum mismatch\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(CleanStoreChecksClean) {
  SmallStore s;
  const auto report = s.check();
  BOOST_TEST(report.problems() == 0u);
  BOOST_TEST(report.records == 5u);
}

// Every single bit flip of the datafile is reported, and the store either
// refuses to open or opens without ever returning a wrong value.
BOOST_AUTO_TEST_CASE(EverySingleBitFlipIsDetected) {
  SmallStore s;
  const std::string original = s.read();
  const std::map<std::string, std::optional<std::string>> truth = {
      {"alpha", "uno"}, {"beta", std::nullopt}, {"gamma", "three"}};
  int refused = 0, recovered = 0;
  for (std::size_t bit = 0; bit < original.size() * 8; ++bit) {
    std::string bytes = original;
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    s.write(bytes);
    BOOST_TEST_CONTEXT("bit " << bit) {
      BOOST_TEST(s.check().problems() > 0u);
      Options ro;
      ro.read_only = true;
      ro.logger = [](std::string_view) {};
      try {
        auto db = Store::open(s.dir.str(), ro);
        ++recovered;
        for (const auto& [key, value] : truth) {
          const auto got = db.get(key);
          if (got) BOOST_TEST((value && *got == *value));
        }
      } catch (const CorruptionError&) {
        ++refused;
      }
    }
  }
  BOOST_TEST(refused > 0);
  BOOST_TEST(recovered > 0);  // flips in the last record: a torn tail
}

BOOST_AUTO_TEST_CASE(TruncationAtEveryByteOfTheLastRecord) {
  SmallStore s;
  const std::string original = s.read();
  const std::uint64_t last = original.size() - (32 + 5 + 5);  // gamma=three
  for (std::uint64_t cut = last + 1; cut < original.size(); ++cut) {
    BOOST_TEST_CONTEXT("cut at " << cut) {
      fs::remove_all(s.dir.path() / "quarantine");
      s.write(original.substr(0, cut));
      const auto report = s.check();
      BOOST_TEST(s.has_kind(report, "torn_tail", last));
      BOOST_TEST(s.check(true).repaired() == 1u);
      const auto after = s.snapshot();
      BOOST_TEST(s.check(true).problems() == 0u);
      BOOST_TEST((s.snapshot() == after));  // a second repair changes nothing
      BOOST_TEST(s.read() == original.substr(0, last));
      BOOST_TEST(read_all(*open_directory("file", s.dir.str() + "/quarantine", false),
                          kData + "." + std::to_string(last) + "-" + std::to_string(cut)) ==
                 original.substr(last, cut - last));
      auto db = Store::open(s.dir.str());
      BOOST_TEST(*db.get("alpha") == "uno");
      BOOST_TEST(!db.get("gamma"));
    }
  }
}

BOOST_AUTO_TEST_CASE(RepairSalvagesRecordsAfterMidFileDamage) {
  SmallStore s;
  std::string bytes = s.read();
  bytes[32 + 33] ^= 0x40;  // inside the first record's key
  s.write(bytes);
  BOOST_CHECK_THROW(Store::open(s.dir.str()), CorruptionError);
  const auto report = s.check(true);
  BOOST_TEST(s.has_kind(report, "damaged_region", 32));
  BOOST_TEST(s.check().problems() == 0u);
  auto db = Store::open(s.dir.str());
  BOOST_TEST(*db.get("alpha") == "uno");
  BOOST_TEST(*db.get("gamma") == "three");
  BOOST_TEST(!db.get("beta"));
}

BOOST_AUTO_TEST_CASE(WrongMagicEmptyFileGarbageAndTempFiles) {
  SmallStore s;
  std::string bytes = s.read();
  s.write(bytes + "garbage!garbage!garbage!garbage!garbage!");
  BOOST_TEST(s.has_kind(s.check(), "torn_tail", bytes.size()));
  s.write(bytes);
  s.write("", "0000000002.data");
  s.write("half", "0000000003.hint.tmp");
  std::string wrong = bytes;
  wrong[0] = 'X';
  s.write(wrong);
  auto report = s.check();
  BOOST_TEST(s.has_kind(report, "bad_magic", 0));
  BOOST_TEST(s.has_kind(report, "empty_file", 0));
  BOOST_TEST(s.has_kind(report, "temp_file", 0));
  s.check(true);
  BOOST_TEST(s.check().problems() == 0u);
  BOOST_TEST(fs::exists(s.dir.path() / "quarantine" / "0000000001.data.0-32"));
  BOOST_TEST(fs::exists(s.dir.path() / "quarantine" / "0000000003.hint.tmp"));
  auto db = Store::open(s.dir.str());
  BOOST_TEST(*db.get("alpha") == "uno");
}

BOOST_AUTO_TEST_CASE(ZeroedRegionIsReported) {
  SmallStore s;
  std::string bytes = s.read();
  std::fill(bytes.begin() + 40, bytes.begin() + 80, '\0');
  s.write(bytes);
  BOOST_TEST(s.has_kind(s.check(), "damaged_region", 32));
}

BOOST_AUTO_TEST_CASE(ExportImportRoundTripIsExact) {
  SmallStore s;
  {
    auto db = Store::open(s.dir.str());
    db.put(std::string("\xff\x00key", 5), std::string(3000, '\x01'));
    db.put("ttl", "soon", std::chrono::hours(1));
    db.close();
  }
  std::stringstream lines;
  export_store(*open_directory("file", s.dir.str(), false), lines);
  test::TempDir other;
  auto copy = Store::open(other.str());
  const auto stats = import_jsonl(copy, lines);
  BOOST_TEST(stats.puts == 4u);
  auto db = Store::open(s.dir.str(), Options{.read_only = true});
  std::map<std::string, std::string> a, b;
  db.for_each([&](auto k, auto v) { a[std::string(k)] = v; });
  copy.for_each([&](auto k, auto v) { b[std::string(k)] = v; });
  BOOST_TEST((a == b));
  BOOST_TEST(a.size() == 4u);
}

BOOST_AUTO_TEST_CASE(PythonPykFileIsRecognisedAndImported) {
  test::TempDir dir;
  const std::string file = python_record("a", "1", false) + python_record("b", "2", false) +
                           python_record("a", "", true) + python_record("clé", "wört", false, 0, true) +
                           python_record("old", "x", false, 1000) + "trailing";
  {
    std::ofstream out(dir.path() / "file.db", std::ios::binary);
    out << file;
  }
  BOOST_TEST(python_pyk::looks_like_python_pyk(file));
  const auto report = fsck_path((dir.path() / "file.db").string(), {});
  bool char_lengths = false, tail = false;
  for (const auto& f : report.findings) {
    char_lengths |= f.kind == "python_char_lengths";
    tail |= f.kind == "torn_tail";
  }
  BOOST_TEST(char_lengths);
  BOOST_TEST(tail);
  test::TempDir store;
  auto db = Store::open(store.str());
  const auto stats = import_python_pyk(db, *open_directory("file", dir.str(), false), "file.db");
  BOOST_TEST(stats.char_length_records == 1u);
  BOOST_TEST(!db.get("a"));
  BOOST_TEST(*db.get("b") == "2");
  BOOST_TEST(*db.get("clé") == "wört");
  BOOST_TEST(!db.get("old"));  // expired in 1970
}

BOOST_AUTO_TEST_CASE(NotAPythonFileNeverCrashes) {
  for (std::string junk : {std::string(""), std::string(23, 'x'), std::string(24, '\0'),
                           std::string(100, '\xff'), std::string("pyk-data") + std::string(40, 'x')}) {
    BOOST_TEST(!python_pyk::looks_like_python_pyk(junk));
    python_pyk::Reader reader(junk);
    int steps = 0;
    while (reader.next() != python_pyk::Reader::Step::end) BOOST_TEST(++steps < 1000);
  }
}

BOOST_AUTO_TEST_SUITE_END()
