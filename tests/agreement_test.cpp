// The tools and the engine agree on what a damaged store holds: the live set
// pyk-dump --live shows, and, where Store::open accepts the damaged store
// read-only, what it loads. Where Store::open refuses, pyk-fsck reports a
// problem, and pyk-dump marks a bad region wherever fsck found damaged bytes.
// A key whose newest record is damaged is never shown with an older value: a
// repair that would revert it is refused without --accept-reverted, keeps
// every value dump --live shows, and brings back only the keys it listed
// (or any, when it says some damaged keys cannot be named).
//
// Hint files are removed first: a hint is trusted without rereading its
// datafile (hint_file.h), so damage behind a good hint is for fsck alone.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/record_reader.h"
#include "core/store.h"
#include "tests/store_helpers.h"
#include "tests/temp_dir.h"
#include "tools/lib/dump.h"
#include "tools/lib/fsck.h"
#include "tools/lib/source.h"

namespace fs = std::filesystem;
using namespace pyk;
using namespace pyk::tools;

namespace {

using Contents = std::map<std::string, std::string>;

// These stores are judged by the torn_tail rule, which the tools' salvage
// follows; point-in-time recovery has tests of its own (recovery_mode).
Options quiet(bool read_only) {
  Options o;
  o.read_only = read_only;
  o.recovery = RecoveryMode::torn_tail;
  o.logger = [](std::string_view) {};
  return o;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A store of several segments written a day ago: overwrites, erases,
// batches (with erases and TTLs), TTLs that have expired by now and some
// that have not, a merge, and a batch last in the newest segment. No hints.
struct HistoryStore {
  test::TempDir dir;
  std::vector<std::string> datafiles;  // replay order

  HistoryStore() {
    Options o = quiet(false);
    o.max_segment_size = 4096;
    const auto then = std::chrono::system_clock::now() - std::chrono::hours(24);
    o.clock = [then] { return then; };
    auto db = Store::open(dir.str(), o);
    const auto expired = std::chrono::hours(1), lasting = std::chrono::hours(1000);
    for (int round = 0; round < 6; ++round) {
      const std::string r = std::to_string(round);
      for (int k = 0; k < 16; ++k) db.put("k" + std::to_string(k), "v" + r + std::string(60, 'x'));
      WriteBatch batch;
      for (int k = 0; k < 4; ++k) batch.put("b" + std::to_string(k), "batch" + r);
      batch.erase("k" + r);
      batch.put("bt" + r, "short", expired);
      batch.put("bl" + r, "long", lasting);
      db.write(batch);
      db.erase("k" + std::to_string(15 - round));
      db.put("t" + r, "ttl", round % 2 ? expired : lasting);
      if (round == 2) db.merge();
    }
    db.close();
    // The last batch goes to a segment that stays active at close (too small
    // to be sealed for good), so damage at its end is a torn tail.
    o.max_segment_size = 1 << 20;
    auto active = Store::open(dir.str(), o);
    WriteBatch last;
    last.put("last", "batch");
    last.erase("b0");
    last.put("k5", "from the last batch");
    active.write(last);
    active.close();
    for (const auto& e : fs::directory_iterator(dir.path()))
      if (filename::parse(e.path().filename().string()).kind == filename::Kind::hint)
        fs::remove(e.path());
    datafiles = pyk::tools::datafiles(*open_directory("file", dir.str(), false));
    BOOST_REQUIRE(datafiles.size() >= 3);
  }
  fs::path path(const std::string& name) const { return dir.path() / name; }
};

// What pyk-dump --json --live shows (what export writes), and whether it
// marked any bad region.
Contents dump_live(const std::string& dir, bool& damage) {
  DumpOptions options;
  options.json = true;
  options.live = true;
  std::ostringstream out;
  damage = dump_path(dir, options, out).bad_regions > 0;
  Contents live;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    const auto o = boost::json::parse(line).as_object();
    if (const auto* type = o.if_contains("type"); type && type->as_string() == "value")
      live[std::string(o.at("key").as_string())] = std::string(o.at("value").as_string());
  }
  return live;
}

const FsckOptions kTornTail{.repair = false, .recovery = RecoveryMode::torn_tail};
const FsckOptions kTornTailRepair{.repair = true, .recovery = RecoveryMode::torn_tail};

struct Verdict {
  bool opened = false;
  Contents contents;  // when opened
};

Verdict open_read_only(const std::string& dir) {
  try {
    auto db = Store::open(dir, quiet(true));
    return {true, test::contents(db)};
  } catch (const CorruptionError&) {
    return {};
  }
}

bool damaged_bytes_found(const FsckReport& report) {
  for (const auto& f : report.findings)
    if (f.kind == FindingKind::damaged_region || f.kind == FindingKind::torn_tail ||
        f.kind == FindingKind::bad_header || f.kind == FindingKind::bad_magic)
      return true;
  return false;
}

// How many damaged stores Store::open accepted and refused.
struct Tally {
  int opened = 0, refused = 0;
};

// Checks the agreement on the store in `dir` (left as it is).
void check_agreement(const std::string& dir, Tally& tally) {
  bool dump_damage = false;
  const Contents shown = dump_live(dir, dump_damage);
  const FsckReport report = fsck_path(dir, kTornTail);
  const Verdict damaged = open_read_only(dir);
  ++(damaged.opened ? tally.opened : tally.refused);
  if (damaged.opened) {
    BOOST_TEST((damaged.contents == shown), "dump --live differs from what Store::open loads");
  } else {
    BOOST_TEST(report.problems() > 0u, "Store::open refuses, fsck finds nothing");
  }
  if (report.problems() == 0) BOOST_TEST(damaged.opened, "fsck finds nothing, Store::open refuses");
  if (damaged_bytes_found(report)) BOOST_TEST(dump_damage, "fsck finds damaged bytes, dump none");

  // Keys whose newest record is lost are never shown with an older value;
  // the repair lists each one it makes show an older value (or none).
  std::set<std::string> reverted;
  bool unnamed = false;
  for (const auto& f : report.findings) {
    if (f.kind != FindingKind::reverted_key) continue;
    if (f.key.empty()) unnamed = true;
    else reverted.insert(f.key);
  }
  for (const auto& key : reverted) BOOST_TEST(!shown.contains(key), "dump --live shows damaged " << key);

  test::TempDir copy;
  fs::copy(dir, copy.path(), fs::copy_options::recursive);
  if (!reverted.empty()) {
    const auto refused = fsck_path(copy.str(), kTornTailRepair);
    BOOST_TEST(!refused.refused.empty(), "a repair that reverts keys ran without --accept-reverted");
  }
  FsckOptions accept = kTornTailRepair;
  accept.accept_reverted = true;
  fsck_path(copy.str(), accept);
  const auto after = fsck_path(copy.str(), kTornTail);
  BOOST_TEST(after.problems() == 0u);
  for (const auto& f : after.findings)
    if (f.problem()) BOOST_TEST_MESSAGE("left after repair: " << f.file << " " << finding_kind_name(f.kind) << ": " << f.detail);
  const Verdict repaired = open_read_only(copy.str());
  BOOST_REQUIRE_MESSAGE(repaired.opened, "Store::open refuses the repaired store");
  for (const auto& [key, value] : shown) {
    const auto it = repaired.contents.find(key);
    BOOST_TEST((it != repaired.contents.end() && it->second == value),
               "fsck --repair changed " << key << ", which dump --live shows");
  }
  for (const auto& [key, value] : repaired.contents)
    if (!shown.contains(key))
      BOOST_TEST((unnamed || reverted.contains(key)), "the repair brought " << key << " back unlisted");
}

// Every valid record of `bytes` (a datafile image), in file order.
std::vector<Record> records_of(const std::string& bytes) {
  test::TempDir scratch;
  spit(scratch.path() / "x.data", bytes);
  auto segment = open_directory("file", scratch.str(), false)->open("x.data", OpenMode::read_only);
  RecordReader reader(*segment, format::kFileHeaderSize);
  std::vector<Record> out;
  for (auto step = reader.next(); step != RecordReader::Step::end; step = reader.next())
    if (step == RecordReader::Step::record) out.push_back({reader.record().offset, reader.record().header});
  return out;
}

// Writes a fresh CRC into the record at `offset` of `bytes`, so that a field
// changed on purpose is what a reader finds wrong, not the checksum.
void fix_crc(std::string& bytes, std::uint64_t offset, std::uint64_t size) {
  auto* record = reinterpret_cast<std::byte*>(bytes.data() + offset);
  format::store_le<std::uint32_t>(record, format::record_crc(std::span(record, size)));
}

using Edit = std::function<std::string(std::string)>;

// Applies each edit to datafile `name` of a copy of `store` and checks the agreement.
void check_each(const HistoryStore& store, const std::string& name,
                const std::vector<std::pair<std::string, Edit>>& edits, Tally& tally) {
  const std::string original = slurp(store.path(name));
  for (const auto& [what, edit] : edits) {
    BOOST_TEST_CONTEXT(name << ": " << what) {
      test::TempDir damaged;
      fs::copy(store.dir.path(), damaged.path(), fs::copy_options::recursive);
      spit(damaged.path() / name, edit(original));
      check_agreement(damaged.str(), tally);
    }
  }
}

std::string flip(std::string bytes, std::uint64_t at) {
  bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
  return bytes;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agreement)

BOOST_AUTO_TEST_CASE(UndamagedStoreAgreesWithAndWithoutHints) {
  HistoryStore store;
  Tally tally;
  check_agreement(store.dir.str(), tally);
  // Open and close it once more: the sealed segments get their hints back.
  Store::open(store.dir.str(), quiet(false)).close();
  check_agreement(store.dir.str(), tally);
  BOOST_TEST(tally.opened == 2);
}

BOOST_AUTO_TEST_CASE(ByteFlipInEveryRecordOfEverySegment) {
  HistoryStore store;
  Tally tally;
  for (const auto& name : store.datafiles) {
    std::vector<std::pair<std::string, Edit>> edits;
    for (const Record& r : records_of(slurp(store.path(name)))) {
      const std::string at = " record @" + std::to_string(r.offset);
      const bool batch = r.header.type == format::RecordType::batch;
      edits.emplace_back("type byte of" + at, [=](std::string b) { return flip(b, r.offset + 4); });
      // A batch header's value: its count (offset 0) and byte length (offset 8).
      const std::uint64_t body = r.offset + format::kRecordHeaderSize + r.header.key_size;
      edits.emplace_back((batch ? "batch count of" : "key of") + at,
                         [=](std::string b) { return flip(b, body); });
      if (batch) edits.emplace_back("batch length of" + at, [=](std::string b) { return flip(b, body + 8); });
    }
    check_each(store, name, edits, tally);
  }
  BOOST_TEST_MESSAGE("opened " << tally.opened << ", refused " << tally.refused);
  BOOST_TEST(tally.opened > 0);  // damage in the newest segment's tail
  BOOST_TEST(tally.refused > 0);
}

// The batch header's length is off by one but its CRC is right: only the
// length check can tell (the old pyk-dump --live applied such a batch).
BOOST_AUTO_TEST_CASE(BatchWhoseHeaderLengthDisagreesWithItsRecords) {
  HistoryStore store;
  Tally tally;
  int batches = 0;
  for (const auto& name : store.datafiles) {
    std::vector<std::pair<std::string, Edit>> edits;
    for (const Record& r : records_of(slurp(store.path(name)))) {
      if (r.header.type != format::RecordType::batch) continue;
      ++batches;
      for (const int delta : {-1, +1}) {
        edits.emplace_back("length " + std::to_string(delta) + " of batch @" + std::to_string(r.offset),
                           [=](std::string b) {
                             auto* length = reinterpret_cast<std::byte*>(
                                 b.data() + r.offset + format::kRecordHeaderSize + r.header.key_size + 8);
                             format::store_le<std::uint64_t>(length, format::load_le<std::uint64_t>(length) + delta);
                             fix_crc(b, r.offset, r.header.record_size());
                             return b;
                           });
      }
    }
    check_each(store, name, edits, tally);
  }
  BOOST_TEST(batches >= 3);
  BOOST_TEST(tally.refused == 2 * batches);  // never at the tail: a length error is no torn write
}

// Cuts at every record boundary and a few bytes past it: in the newest
// segment this cuts its last batch short (a torn tail Store::open drops).
BOOST_AUTO_TEST_CASE(TruncationAtManyOffsets) {
  HistoryStore store;
  Tally tally;
  for (const auto& name : store.datafiles) {
    const bool newest = name == store.datafiles.back();
    std::vector<std::pair<std::string, Edit>> edits;
    const auto records = records_of(slurp(store.path(name)));
    for (std::size_t i = 0; i < records.size(); ++i) {
      // Every record of the newest segment; every fourth elsewhere (each one is refused the same way).
      if (!newest && i % 4 != 0) continue;
      for (const std::uint64_t past : {0, 1, 17, 33}) {
        const std::uint64_t cut = records[i].offset + past;
        edits.emplace_back("cut at " + std::to_string(cut), [=](std::string b) { return b.substr(0, cut); });
      }
    }
    for (const std::uint64_t cut : {0, 1, 20, 31, 32})
      edits.emplace_back("cut at " + std::to_string(cut), [=](std::string b) { return b.substr(0, cut); });
    check_each(store, name, edits, tally);
  }
  BOOST_TEST_MESSAGE("opened " << tally.opened << ", refused " << tally.refused);
  BOOST_TEST(tally.opened > 0);  // damage in the newest segment's tail
  BOOST_TEST(tally.refused > 0);
}

BOOST_AUTO_TEST_CASE(ZeroedRegionsAndGarbage) {
  HistoryStore store;
  Tally tally;
  for (const auto& name : store.datafiles) {
    const std::uint64_t size = fs::file_size(store.path(name));
    std::vector<std::pair<std::string, Edit>> edits;
    for (std::uint64_t at = 8; at + 64 < size; at += size / 7) {
      edits.emplace_back("zeros at " + std::to_string(at), [=](std::string b) {
        std::fill(b.begin() + at, b.begin() + at + 40, '\0');
        return b;
      });
      edits.emplace_back("garbage over " + std::to_string(at), [=](std::string b) {
        for (std::uint64_t i = 0; i < 25; ++i) b[at + i] = static_cast<char>(i * 37 + 11);
        return b;
      });
      edits.emplace_back("garbage inserted at " + std::to_string(at), [=](std::string b) {
        return b.insert(at, "garbage in the middle of a segment");
      });
    }
    edits.emplace_back("zeros to the end", [=](std::string b) {
      std::fill(b.begin() + size / 2, b.end(), '\0');
      return b;
    });
    edits.emplace_back("garbage appended", [](std::string b) { return b + "garbage garbage garbage garbage"; });
    check_each(store, name, edits, tally);
  }
  BOOST_TEST_MESSAGE("opened " << tally.opened << ", refused " << tally.refused);
  BOOST_TEST(tally.opened > 0);  // damage in the newest segment's tail
  BOOST_TEST(tally.refused > 0);
}

BOOST_AUTO_TEST_SUITE_END()
