// Library-level tests of the tools (tools/lib): dump, fsck and repair,
// the Python pyk reader, export/import.
#include <boost/crc.hpp>
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/hint_file.h"
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

// Every file under `root` (a store's quarantine included) with its bytes.
std::map<std::string, std::string> files_of(const fs::path& root) {
  std::map<std::string, std::string> all;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      all[e.path().string()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
  return all;
}

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
  bool has_kind(const FsckReport& r, FindingKind kind, std::uint64_t offset) const {
    for (const auto& f : r.findings)
      if (f.kind == kind && f.offset == offset && f.problem()) return true;
    return false;
  }
  std::map<std::string, std::string> snapshot() const { return files_of(dir.path()); }
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


// A merged store whose replay order is not id order (format.h, "Replay
// order"): the merge output has the highest id but the rank of its newest
// input, and the segment that was active during the merge (a lower id) holds
// newer records of the same keys, written after the merge.
struct MergedStore {
  test::TempDir dir;
  std::map<std::string, std::optional<std::string>> truth;  // Store::get of every key
  std::string output;                                       // the merge output's datafile
  static constexpr int kKeys = 40;
  static std::string key(int k) { return "k" + std::to_string(k); }
  static Options quiet_reader() {
    Options o;
    o.read_only = true;
    o.logger = [](std::string_view) {};
    return o;
  }
  MergedStore() {
    Options options;
    options.max_segment_size = 4096;
    options.logger = [](std::string_view) {};
    options.merge_input_dead_fraction = 0;  // the merge takes every sealed segment
    options.merge_input_dead_bytes = 0;
    options.merge_dead_fraction = 0;  // and is the only one: no automatic merge
    options.merge_dead_bytes = 0;
    auto db = Store::open(dir.str(), options);
    for (int round = 0; round < 2; ++round)
      for (int k = 0; k < kKeys; ++k) db.put(key(k), "round" + std::to_string(round) + std::string(60, 'x'));
    db.erase("k3");
    // Seal the segment holding round 1 so the merge copies it.
    for (int i = 0; i < 45; ++i) db.put("filler", std::string(60, 'f'));
    db.merge();
    for (int k = 0; k < 10; ++k) db.put(key(k), "after-merge-" + std::to_string(k));
    db.erase("k5");
    BOOST_REQUIRE(db.stats().merges == 1u);
    db.close();
    auto ro = Store::open(dir.str(), quiet_reader());
    std::vector<std::uint32_t> ids;
    for (const auto& g : ro.stats().segments) ids.push_back(g.id);
    // The scenario: some segment replays after one with a higher id.
    BOOST_REQUIRE(!std::is_sorted(ids.begin(), ids.end()));
    output = filename::data(*std::max_element(ids.begin(), ids.end()));
    for (int k = 0; k < kKeys; ++k) truth[key(k)] = ro.get(key(k));
    truth["filler"] = ro.get("filler");
    BOOST_REQUIRE(*truth["k0"] == "after-merge-0");
    BOOST_REQUIRE(!truth["k5"]);
  }
  std::string path(const std::string& name) const { return (dir.path() / name).string(); }
  std::string read(const std::string& name) const {
    return read_all(*open_directory("file", dir.str(), false), name);
  }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path(name), std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  std::string hint() const { return output.substr(0, output.size() - 5) + ".hint"; }
  FsckReport check(bool repair = false) const { return fsck_path(dir.str(), {repair}); }
  const Finding* find(const FsckReport& r, FindingKind kind) const {
    for (const auto& f : r.findings)
      if (f.kind == kind) return &f;
    return nullptr;
  }
  std::map<std::string, std::string> snapshot() const { return files_of(dir.path()); }
};

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
      ro.recovery = RecoveryMode::torn_tail;  // refuse, or the final state: nothing older
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
    // A tail of zero bytes only (the record's CRC starts with 0x00 about one
    // run in 256: it covers the write time) reads as zero-filled space, the
    // end of data, not as a torn record.
    if (original.find_first_not_of('\0', last) >= cut) continue;
    BOOST_TEST_CONTEXT("cut at " << cut) {
      fs::remove_all(s.dir.path() / "quarantine");
      s.write(original.substr(0, cut));
      const auto report = s.check();
      BOOST_TEST(s.has_kind(report, FindingKind::torn_tail, last));
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
  Options torn_tail;
  torn_tail.recovery = RecoveryMode::torn_tail;
  BOOST_CHECK_THROW(Store::open(s.dir.str(), torn_tail), CorruptionError);
  const auto report = fsck_path(s.dir.str(), {.repair = true, .recovery = RecoveryMode::torn_tail});
  BOOST_TEST(s.has_kind(report, FindingKind::damaged_region, 32));
  BOOST_TEST(s.check().problems() == 0u);
  auto db = Store::open(s.dir.str(), torn_tail);
  BOOST_TEST(*db.get("alpha") == "uno");
  BOOST_TEST(*db.get("gamma") == "three");
  BOOST_TEST(!db.get("beta"));
}

BOOST_AUTO_TEST_CASE(WrongMagicEmptyFileGarbageAndTempFiles) {
  SmallStore s;
  std::string bytes = s.read();
  s.write(bytes + "garbage!garbage!garbage!garbage!garbage!");
  BOOST_TEST(s.has_kind(s.check(), FindingKind::torn_tail, bytes.size()));
  s.write(bytes);
  s.write("", "0000000002.data");
  s.write("half", "0000000003.hint.tmp");
  std::string wrong = bytes;
  wrong[0] = 'X';
  s.write(wrong);
  auto report = s.check();
  BOOST_TEST(s.has_kind(report, FindingKind::bad_magic, 0));
  BOOST_TEST(s.has_kind(report, FindingKind::empty_file, 0));
  BOOST_TEST(s.has_kind(report, FindingKind::temp_file, 0));
  // The datafile is the manifest's active segment: point_in_time would set
  // all of it aside; torn_tail salvages the records after the bad header.
  fsck_path(s.dir.str(), {.repair = true, .recovery = RecoveryMode::torn_tail});
  BOOST_TEST(fsck_path(s.dir.str(), {.recovery = RecoveryMode::torn_tail}).problems() == 0u);
  BOOST_TEST(fs::exists(s.dir.path() / "quarantine" / "0000000001.data.0-32"));
  BOOST_TEST(fs::exists(s.dir.path() / "quarantine" / "0000000003.hint.tmp"));
  Options torn_tail;
  torn_tail.recovery = RecoveryMode::torn_tail;
  auto db = Store::open(s.dir.str(), torn_tail);
  BOOST_TEST(*db.get("alpha") == "uno");
}

BOOST_AUTO_TEST_CASE(ZeroedRegionIsReported) {
  SmallStore s;
  std::string bytes = s.read();
  std::fill(bytes.begin() + 40, bytes.begin() + 80, '\0');
  s.write(bytes);
  BOOST_TEST(s.has_kind(s.check(), FindingKind::damaged_region, 32));
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
    char_lengths |= f.kind == FindingKind::python_char_lengths;
    tail |= f.kind == FindingKind::torn_tail;
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

BOOST_AUTO_TEST_CASE(ExportAfterMergeGivesWhatGetGives) {
  MergedStore s;
  std::stringstream lines;
  export_store(*open_directory("file", s.dir.str(), false), lines);
  test::TempDir other;
  auto copy = Store::open(other.str());
  import_jsonl(copy, lines);
  for (const auto& [key, value] : s.truth) BOOST_TEST_CONTEXT(key) { BOOST_TEST((copy.get(key) == value)); }
  BOOST_TEST(copy.size() == std::size_t(std::count_if(s.truth.begin(), s.truth.end(),
                                                      [](const auto& kv) { return kv.second.has_value(); })));
}

BOOST_AUTO_TEST_CASE(DumpLiveAfterMergeShowsWhatGetGives) {
  MergedStore s;
  DumpOptions live;
  live.live = true;
  std::ostringstream out;
  const auto summary = dump_path(s.dir.str(), live, out);
  std::uint64_t present = 0;
  for (const auto& [key, value] : s.truth) BOOST_TEST_CONTEXT(key) {
    if (value) {
      ++present;
      BOOST_TEST(out.str().find("key=\"" + key + "\" value=\"" + *value + "\"") != std::string::npos);
    } else {
      BOOST_TEST(out.str().find("key=\"" + key + "\"") == std::string::npos);
    }
  }
  BOOST_TEST(summary.records == present);
}

BOOST_AUTO_TEST_CASE(FsckTakesTheNewestSegmentInReplayOrder) {
  MergedStore s;
  const auto clean = s.check();
  BOOST_TEST(clean.problems() == 0u);
  // Garbage after the merge output (highest id, not the newest): open refuses.
  const std::string original = s.read(s.output);
  s.write(s.output, original + std::string(50, 'g'));
  BOOST_CHECK_THROW(Store::open(s.dir.str(), MergedStore::quiet_reader()), CorruptionError);
  const auto report = s.check();
  const Finding* tail = s.find(report, FindingKind::torn_tail);
  BOOST_REQUIRE(tail);
  BOOST_TEST(tail->file == s.output);
  BOOST_TEST(tail->detail.find("not the newest segment") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(RepairOfAMergeOutputKeepsItsMergeRank) {
  MergedStore s;
  std::string bytes = s.read(s.output);
  format::FileHeader before;
  BOOST_REQUIRE(format::decode_file_header(format::as_bytes(bytes), before) == format::FileHeaderStatus::ok);
  BOOST_REQUIRE(before.merge_rank != 0u);
  bytes[32 + 33] ^= 0x40;  // the first record's key: a damaged region, salvaged around
  s.write(s.output, bytes);
  const auto report = s.check(true);
  BOOST_TEST(s.find(report, FindingKind::damaged_region));
  BOOST_TEST(s.check().problems() == 0u);
  format::FileHeader after;
  BOOST_REQUIRE(format::decode_file_header(format::as_bytes(s.read(s.output)), after) == format::FileHeaderStatus::ok);
  BOOST_TEST(after.merge_rank == before.merge_rank);
  auto db = Store::open(s.dir.str(), Options{.read_only = true});
  int lost = 0;
  for (const auto& [key, value] : s.truth) BOOST_TEST_CONTEXT(key) {
    const auto got = db.get(key);
    if (got != value) {
      ++lost;
      BOOST_TEST(!got);  // only the damaged record's key may be gone, never an old value back
    }
  }
  BOOST_TEST(lost <= 1);
}

BOOST_AUTO_TEST_CASE(DumpOfAHintFileShowsEveryEntry) {
  MergedStore s;
  std::uint64_t entries = 0;
  BOOST_REQUIRE(!hint::check(format::as_bytes(s.read(s.hint())), filename::parse(s.hint()).segment_id,
                             fs::file_size(s.path(s.output)), entries));
  std::ostringstream text;
  const auto summary = dump_path(s.path(s.hint()), {}, text);
  BOOST_TEST(summary.bad_regions == 0u);
  BOOST_TEST(summary.records == entries + 1);  // and the end entry
  BOOST_TEST(text.str().find(" hint-value key=\"k20\" record=" + s.output + "@") != std::string::npos);
  BOOST_TEST(text.str().find("hint check against " + s.output + ": ok, " + std::to_string(entries) + " entries") !=
             std::string::npos);
  DumpOptions json;
  json.json = true;
  std::ostringstream lines;
  dump_path(s.path(s.hint()), json, lines);
  BOOST_TEST(lines.str().find("\"type\":\"hint\",\"entry\":\"value\",\"key\":\"k20\",\"datafile\":") != std::string::npos);
  BOOST_TEST(lines.str().find("\"crc_ok\":true") != std::string::npos);
  BOOST_TEST(lines.str().find("\"hint_check\":\"ok\"") != std::string::npos);
  // A store dump shows hints only when asked; an import skips their lines.
  DumpOptions with_hints = json;
  with_hints.hints = true;
  std::stringstream store_lines, plain_lines;
  dump_path(s.dir.str(), json, plain_lines);
  dump_path(s.dir.str(), with_hints, store_lines);
  BOOST_TEST(plain_lines.str().find("\"type\":\"hint\"") == std::string::npos);
  BOOST_TEST(store_lines.str().find("\"type\":\"hint\"") != std::string::npos);
  test::TempDir other;
  auto copy = Store::open(other.str());
  BOOST_TEST(import_jsonl(copy, store_lines).skipped > entries);
  // A flipped entry shows as crc=BAD and the dump counts the damage.
  std::string bytes = s.read(s.hint());
  bytes[32 + 40] ^= 1;  // the first entry's key
  s.write(s.hint(), bytes);
  std::ostringstream bad;
  BOOST_TEST(dump_path(s.path(s.hint()), {}, bad).bad_regions == 1u);
  BOOST_TEST(bad.str().find("crc=BAD") != std::string::npos);
  BOOST_TEST(bad.str().find("hint entry checksum mismatch (Store::open ignores this hint)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(FsckRebuildsADamagedHint) {
  MergedStore s;
  const std::string original = s.read(s.hint());
  std::string bytes = original;
  bytes[32 + 40] ^= 1;
  s.write(s.hint(), bytes);
  const auto report = s.check();
  const Finding* f = s.find(report, FindingKind::bad_hint);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->problem());
  BOOST_TEST(f->action.find("rebuild") == 0u);
  const auto repaired = s.check(true);
  BOOST_REQUIRE(s.find(repaired, FindingKind::bad_hint));
  BOOST_TEST(s.find(repaired, FindingKind::bad_hint)->repaired);
  BOOST_TEST(s.read(s.hint()) == original);  // hint::write of the same datafile
  BOOST_TEST(read_all(*open_directory("file", s.dir.str() + "/quarantine", false), s.hint()) == bytes);
  const auto after = s.snapshot();
  BOOST_TEST(s.check(true).problems() == 0u);
  BOOST_TEST((s.snapshot() == after));
  auto db = Store::open(s.dir.str(), Options{.read_only = true});
  BOOST_TEST(db.stats().segments_from_hints == 1u);
}

BOOST_AUTO_TEST_CASE(FsckRebuildsAHintWhoseEntriesMissTheirRecords) {
  // Whole, of the datafile's size and every CRC good, so Store::open would
  // take it, but two entries point at each other's records, as entries of a
  // hint of another datafile of the same size do (found by fsck_fuzz).
  MergedStore s;
  const std::string original = s.read(s.hint());
  std::vector<format::HintEntry> entries;
  std::vector<std::string> keys;
  for (auto rest = format::as_bytes(original).subspan(format::kFileHeaderSize); !rest.empty();) {
    format::HintEntry e;
    std::size_t size = 0;
    BOOST_REQUIRE(format::decode_hint_entry(rest, e, size) == nullptr);
    keys.emplace_back(e.key);
    entries.push_back(e);
    rest = rest.subspan(size);
  }
  BOOST_REQUIRE(entries.size() >= 3u);
  std::swap(entries[0].offset, entries[1].offset);
  std::swap(entries[0].record_size, entries[1].record_size);
  std::string forged = original.substr(0, format::kFileHeaderSize);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    entries[i].key = keys[i];
    format::encode_hint_entry(forged, entries[i]);
  }
  s.write(s.hint(), forged);
  std::uint64_t count = 0;
  BOOST_REQUIRE(hint::check(format::as_bytes(forged), filename::parse(s.hint()).segment_id,
                            fs::file_size(s.path(s.output)), count) == nullptr);
  const auto report = s.check();
  const Finding* f = s.find(report, FindingKind::bad_hint);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->detail.find("does not match the record at its offset") != std::string::npos, f->detail);
  s.check(true);
  BOOST_TEST(s.read(s.hint()) == original);
  BOOST_TEST(s.check().problems() == 0u);
}

BOOST_AUTO_TEST_CASE(FsckRebuildsAStaleHint) {
  MergedStore s;
  std::string record;
  format::encode_record(record, format::RecordType::value, "zz", "late", 1, 0);
  s.write(s.output, s.read(s.output) + record);
  const auto report = s.check();
  const Finding* f = s.find(report, FindingKind::bad_hint);
  BOOST_REQUIRE(f);
  BOOST_TEST(f->detail.find("stale") == 0u);
  s.check(true);
  std::uint64_t entries = 0;
  BOOST_TEST(!hint::check(format::as_bytes(s.read(s.hint())), filename::parse(s.hint()).segment_id,
                          fs::file_size(s.path(s.output)), entries));
  std::ostringstream text;
  dump_path(s.path(s.hint()), {}, text);
  BOOST_TEST(text.str().find("key=\"zz\"") != std::string::npos);
  const auto after = s.snapshot();
  BOOST_TEST(s.check(true).problems() == 0u);
  BOOST_TEST((s.snapshot() == after));
}

BOOST_AUTO_TEST_CASE(FsckWritesAMissingHintAndQuarantinesAnOrphan) {
  MergedStore s;
  const std::string original = s.read(s.hint());
  fs::remove(s.path(s.hint()));
  s.write("0000000099.hint", original);
  const auto report = s.check();
  const Finding* missing = s.find(report, FindingKind::missing_hint);
  BOOST_REQUIRE(missing);
  BOOST_TEST(!missing->problem());  // only slower: open scans the datafile
  BOOST_TEST(s.find(report, FindingKind::orphan_hint));
  s.check(true);
  BOOST_TEST(s.read(s.hint()) == original);
  BOOST_TEST(!fs::exists(s.path("0000000099.hint")));
  BOOST_TEST(fs::exists(s.dir.path() / "quarantine" / "0000000099.hint"));
  const auto after = s.snapshot();
  const auto again = s.check(true);
  BOOST_TEST(again.problems() == 0u);
  BOOST_TEST(!s.find(again, FindingKind::missing_hint));
  BOOST_TEST((s.snapshot() == after));
}

BOOST_AUTO_TEST_SUITE_END()
