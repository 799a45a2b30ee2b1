// The store knows which segments it must have (core/manifest.h): a lost,
// truncated or damaged sealed segment is refused at open with a
// CorruptionError naming the file, never papered over with older values; the
// gaps merges leave are normal; evidence (a hint of a lost datafile) is never
// deleted.
#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstring>

#include "core/directory_wrapper.h"
#include "core/error.h"
#include "core/filename.h"
#include "core/format.h"
#include "core/manifest.h"
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include "tests/backend_fixtures.h"
#include "tests/integrity_helpers.h"
#include "tests/store_helpers.h"

using namespace pyk;
using namespace pyk::test;

namespace {

// Runs fn, which must throw CorruptionError naming file `name`.
template <class Fn>
void expect_refused(Fn&& fn, const std::string& name) {
  try {
    fn();
    BOOST_ERROR("opened; expected a CorruptionError naming " << name);
  } catch (const CorruptionError& e) {
    BOOST_TEST(e.file().ends_with("/" + name), e.what());
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE_TEMPLATE(every_open_store_has_a_manifest_listing_its_segments, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  std::string problem;
  const auto listed = manifest::read(*env.directory(), problem);
  BOOST_TEST_REQUIRE(listed.has_value());
  BOOST_TEST(problem.empty());
  std::vector<std::uint32_t> ids;
  for (const auto& e : listed->segments) ids.push_back(e.id);
  BOOST_TEST(ids == ids_of(*env.directory(), filename::Kind::data), boost::test_tools::per_element());
  for (const auto& e : listed->segments)
    if (!e.active) BOOST_TEST(e.length == env.read_file(filename::data(e.id)).size());
  BOOST_TEST(sealed.size() >= 5u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(deleted_sealed_segment_is_refused_naming_it, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  const std::uint32_t middle = sealed[sealed.size() / 2];
  env.directory()->remove(filename::data(middle));
  expect_refused([&] { env.open(); }, filename::data(middle));
  Options read_only = env.options;
  read_only.read_only = true;
  expect_refused([&] { env.open(read_only); }, filename::data(middle));
  // The only evidence of what it held is kept.
  BOOST_TEST(env.directory()->exists(filename::hint(middle)));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sealed_segment_cut_at_a_record_boundary_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  const std::uint32_t middle = sealed[sealed.size() / 2];
  const auto records = record_offsets(env.read_file(filename::data(middle)));
  BOOST_TEST_REQUIRE(records.size() >= 3u);
  // Cut right before its last record: every remaining record is whole, so
  // only the manifest can tell.
  env.truncate_file(filename::data(middle), records.back());
  env.directory()->remove(filename::hint(middle));
  expect_refused([&] { env.open(); }, filename::data(middle));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(sealed_segment_grown_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  const std::uint32_t first = sealed.front();
  env.write_file(filename::data(first), env.read_file(filename::data(first)) + std::string(100, 'x'));
  expect_refused([&] { env.open(); }, filename::data(first));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(damaged_record_in_an_unhinted_sealed_segment_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  const std::uint32_t middle = sealed[sealed.size() / 2];
  const auto records = record_offsets(env.read_file(filename::data(middle)));
  env.flip_byte(filename::data(middle), records[1] + format::kRecordHeaderSize + 2);
  env.directory()->remove(filename::hint(middle));
  expect_refused([&] { env.open(); }, filename::data(middle));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(damaged_manifest_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  fill_history(env);
  env.flip_byte(std::string(filename::kManifest), 30);
  expect_refused([&] { env.open(); }, std::string(filename::kManifest));
}

// The CRC covers every byte: a flip that still parses (a segment's length,
// the generation, a flag bit that is allowed) is refused too, never taken
// as the store's list of segments.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_flip_of_any_manifest_byte_is_refused, B, AllBackends) {
  StoreEnv<B> env;
  fill_history(env);
  const std::string name(filename::kManifest);
  const std::string original = env.read_file(name);
  for (std::size_t at = 0; at < original.size(); ++at) {
    BOOST_TEST_CONTEXT("byte " << at) {
      env.flip_byte(name, at);
      expect_refused([&] { env.open(); }, name);
      env.write_file(name, original);
    }
  }
  env.open().close();  // the original still opens
}

BOOST_AUTO_TEST_CASE_TEMPLATE(gaps_left_by_merge_are_not_lost_segments, B, AllBackends) {
  StoreEnv<B> env;
  const auto before = [&] {
    fill_history(env);
    auto db = env.open();
    auto c = contents(db);
    db.merge();
    return c;
  }();
  const auto ids = ids_of(*env.directory(), filename::Kind::data);
  BOOST_TEST_REQUIRE(ids.front() > 1u);  // the merged segments' ids are gone
  auto db = env.open();
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(orphan_hint_is_never_deleted, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  // A hint whose datafile is not part of the store (no such id listed).
  const std::string stray = filename::hint(sealed.back() + 100);
  env.write_file(stray, env.read_file(filename::hint(sealed.front())));
  env.open().close();
  BOOST_TEST(env.directory()->exists(stray));
  BOOST_TEST(env.log.find(stray) != std::string::npos, env.log);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(store_without_a_manifest_opens_and_gets_one, B, AllBackends) {
  StoreEnv<B> env;
  fill_history(env);
  const auto before = contents(env.open());
  env.directory()->remove(std::string(filename::kManifest));
  Options read_only = env.options;
  read_only.read_only = true;
  BOOST_TEST(contents(env.open(read_only)) == before);
  BOOST_TEST(!env.directory()->exists(std::string(filename::kManifest)));
  env.open().close();
  BOOST_TEST(env.directory()->exists(std::string(filename::kManifest)));
  BOOST_TEST(contents(env.open()) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(unlisted_leftover_of_a_merge_is_ignored, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  const std::string kept = env.read_file(filename::data(sealed.front()));
  auto db = env.open();
  const auto before = contents(db);
  db.merge();
  db.close();
  // A merge input whose removal was lost: the manifest no longer lists it,
  // so its old values must not come back.
  env.write_file(filename::data(sealed.front()), kept);
  auto reopened = env.open();
  BOOST_TEST(contents(reopened) == before);
  BOOST_TEST(env.log.find("not listed in the manifest") != std::string::npos, env.log);
}

namespace {

// Refuses to write the hint of any segment from `from` on, as a kill before
// the worker wrote it would leave things.
class NoHintsFrom final : public DirectoryWrapper {
 public:
  NoHintsFrom(std::shared_ptr<Directory> target, std::uint32_t from)
      : DirectoryWrapper(std::move(target)), from_(from) {}
  std::unique_ptr<Segment> create(const std::string& name, std::uint64_t size_hint) override {
    for (std::uint32_t id = from_; id < from_ + 100; ++id)
      if (name == filename::temp(filename::hint(id)))
        throw IoError("create failed for " + name + ": Input/output error", name, EIO);
    return DirectoryWrapper::create(name, size_hint);
  }

 private:
  std::uint32_t from_;
};

std::string with_header(std::string bytes, const std::array<std::byte, format::kFileHeaderSize>& header) {
  std::memcpy(bytes.data(), header.data(), header.size());
  return bytes;
}

}  // namespace

// Found by the kill test: an interrupted merge left an output datafile and its
// hint; open removed the datafile, a new segment took its id, and the next
// open read the old hint as the new segment's index (the same size: records
// of one size), so the new segment's keys were lost and old keys pointed into
// it. Also a hint left alone (no datafile) with an id above every segment.
BOOST_AUTO_TEST_CASE_TEMPLATE(leftover_hint_never_indexes_a_new_segment, B, AllBackends) {
  for (const bool with_datafile : {true, false}) {
    BOOST_TEST_CONTEXT("with its datafile " << with_datafile) {
      StoreEnv<B> env;
      env.options.max_segment_size = 4096;
      env.options.keydir_snapshot = false;  // every open reads the hints
      const auto key = [](std::string_view prefix, int i) {
        return std::string(prefix) + std::to_string(1000 + i);  // all of one length
      };
      const std::string old_value(60, 'o'), new_value(60, 'n');
      {
        auto db = env.open();
        for (int i = 0; i < 200; ++i) db.put(key("old", i), old_value);
        db.close();
      }
      const std::uint32_t full = ids_of(*env.directory(), filename::Kind::hint).front();
      const std::uint32_t next = ids_of(*env.directory(), filename::Kind::data).back() + 1;
      // The leftover: a full segment's image as a merge output (ranked with
      // an older segment), and its hint.
      if (with_datafile)
        env.write_file(filename::data(next),
                       with_header(env.read_file(filename::data(full)),
                                   format::encode_file_header(format::kDataMagic, next, full)));
      env.write_file(filename::hint(next),
                     with_header(env.read_file(filename::hint(full)),
                                 format::encode_file_header(format::kHintMagic, next)));
      {
        // New records of the same size fill segments the size of `full`,
        // killed (as it were) before their hints were written.
        Options o = env.options;
        o.directory = std::make_shared<NoHintsFrom>(env.directory(), next);
        auto db = Store::open(env.dir.str(), o);
        // Removed with its datafile (the same merge's leftover); alone, kept
        // as evidence (report_orphan_hints).
        BOOST_TEST(env.directory()->exists(filename::hint(next)) == !with_datafile);
        for (int i = 0; i < 200; ++i) db.put(key("new", i), new_value);
        db.close();
      }
      auto db = env.open();
      int wrong = 0;
      for (int i = 0; i < 200; ++i) {
        if (db.get(key("old", i)) != std::optional<std::string>(old_value)) ++wrong;
        if (db.get(key("new", i)) != std::optional<std::string>(new_value)) ++wrong;
      }
      BOOST_TEST(wrong == 0, env.log);
      BOOST_TEST(db.size() == 400u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// --- hints are an optimisation, never a failure -------------------------------

namespace {

// Refuses to open any hint file, as a file without read permission does.
class UnreadableHints final : public DirectoryWrapper {
 public:
  using DirectoryWrapper::DirectoryWrapper;
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    if (filename::parse(name).kind == filename::Kind::hint)
      throw IoError("open failed for " + name + ": Permission denied", name, EACCES);
    return DirectoryWrapper::open(name, mode);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE_TEMPLATE(unreadable_hint_is_logged_and_the_datafile_scanned, B, AllBackends) {
  StoreEnv<B> env;
  fill_history(env);
  const auto expected = contents(env.open());
  for (const bool read_only : {true, false}) {
    BOOST_TEST_CONTEXT("read_only " << read_only) {
      Options o = env.options;
      o.read_only = read_only;
      o.directory = std::make_shared<UnreadableHints>(env.directory());
      o.keydir_snapshot = false;  // the hints are under test (the snapshot would stand in for them)
      env.log.clear();
      auto db = Store::open(env.dir.str(), o);
      BOOST_TEST(db.stats().segments_from_hints == 0u);
      BOOST_TEST(contents(db) == expected);
      BOOST_TEST(env.log.find("unreadable") != std::string::npos, env.log);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// --- a damaged newest record is damaged, never an older value -----------------

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE_TEMPLATE(for_each_skips_a_damaged_newest_record_and_reports_it, B, AllBackends) {
  StoreEnv<B> env;
  const auto sealed = fill_history(env);
  // key70's newest record, in a sealed segment with a hint (so open trusts it).
  std::uint32_t home = 0;
  std::uint64_t offset = 0;
  {
    auto db = env.open();
    BOOST_TEST_REQUIRE(db.get("key70").value() == history_value(70, 1));
  }
  for (const std::uint32_t id : sealed) {
    const std::string bytes = env.read_file(filename::data(id));
    for (const auto at : record_offsets(bytes)) {
      const auto h = format::decode_record_header(reinterpret_cast<const std::byte*>(bytes.data() + at));
      if (bytes.substr(at + format::kRecordHeaderSize, h.key_size) == "key70" &&
          bytes.substr(at + format::kRecordHeaderSize + h.key_size, 6) == "round1") {
        home = id;
        offset = at;
      }
    }
  }
  BOOST_TEST_REQUIRE(home != 0u);
  env.flip_byte(filename::data(home), offset + format::kRecordHeaderSize + 8);
  env.options.merge_input_dead_fraction = 0;  // the merge below reads every sealed segment
  env.options.merge_input_dead_bytes = 0;
  auto db = env.open();
  BOOST_CHECK_THROW(db.get("key70"), CorruptionError);
  std::map<std::string, std::string> seen;
  BOOST_CHECK_THROW(db.for_each([&](std::string_view k, std::string_view v) { seen.emplace(k, v); }),
                    CorruptionError);
  BOOST_TEST(!seen.contains("key70"));  // never its older value
  BOOST_TEST(seen.size() == 299u);
  BOOST_TEST(seen.at("key71") == history_value(71, 1));
  BOOST_TEST(env.log.find("for_each skipped a damaged record") != std::string::npos);
  // Merge does not fall back to the older record either: it refuses, keeping every input.
  BOOST_CHECK_THROW(db.merge(), CorruptionError);
  BOOST_CHECK_THROW(db.get("key70"), CorruptionError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(merge_inputs)

BOOST_AUTO_TEST_CASE_TEMPLATE(merge_takes_only_segments_past_the_dead_thresholds_and_reports, B, AllBackends) {
  StoreEnv<B> env;
  env.options.max_segment_size = 4096;
  env.options.merge_input_dead_fraction = 0.5;
  env.options.merge_input_dead_bytes = 0;
  auto db = env.open();
  // Segments of keys written once (all live), then of keys overwritten at once (all dead).
  for (int k = 0; k < 100; ++k) db.put("stable" + std::to_string(k), history_value(k, 0));
  for (int round = 0; round < 3; ++round)
    for (int k = 0; k < 40; ++k) db.put("churn" + std::to_string(k), history_value(k, round));
  const auto before = contents(db);
  std::set<std::uint32_t> dead_segments, live_segments;
  for (const auto& s : db.stats().segments) {
    if (s.active || s.bytes <= format::kFileHeaderSize) continue;
    const double fraction = double(s.dead_bytes) / double(s.bytes - format::kFileHeaderSize);
    (fraction >= 0.5 ? dead_segments : live_segments).insert(s.id);
  }
  BOOST_TEST_REQUIRE(!dead_segments.empty());
  BOOST_TEST_REQUIRE(!live_segments.empty());
  const Store::MergeResult result = db.merge();
  BOOST_TEST(result.segments_in == dead_segments.size());
  BOOST_TEST(result.bytes_out < result.bytes_in);
  const auto ids = ids_of(*env.directory(), filename::Kind::data);
  for (const auto id : live_segments) BOOST_TEST((std::find(ids.begin(), ids.end(), id) != ids.end()), id);
  for (const auto id : dead_segments) BOOST_TEST((std::find(ids.begin(), ids.end(), id) == ids.end()), id);
  BOOST_TEST(contents(db) == before);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(seal_active_lets_a_small_store_be_merged, B, AllBackends) {
  StoreEnv<B> env;
  auto db = env.open();
  for (int round = 0; round < 5; ++round) db.put("k", history_value(0, round));
  BOOST_TEST(db.merge().segments_in == 0u);  // all in the active segment
  db.seal_active();
  const Store::MergeResult result = db.merge();
  BOOST_TEST(result.segments_in == 1u);
  BOOST_TEST(result.segments_out == 1u);
  BOOST_TEST(db.get("k").value() == history_value(0, 4));
  db.seal_active();
  db.seal_active();  // nothing written since: no empty segment is sealed
  BOOST_TEST(db.stats().segments.size() <= 3u);
  db.close();
  BOOST_TEST(env.open().get("k").value() == history_value(0, 4));
}

BOOST_AUTO_TEST_SUITE_END()

// --- a read-only open racing a writer's merge -----------------------------------

namespace {

// Runs `between` once, right before the first datafile is opened after the
// manifest was read: where a writer's merge can replace the manifest and
// remove segments the reader has just read it list.
class MergeBetween final : public DirectoryWrapper {
 public:
  MergeBetween(std::shared_ptr<Directory> target, std::function<void()> between)
      : DirectoryWrapper(std::move(target)), between_(std::move(between)) {}
  std::unique_ptr<Segment> open(const std::string& name, OpenMode mode) override {
    const auto kind = filename::parse(name).kind;
    if (kind == filename::Kind::manifest) manifest_read_ = true;
    if (kind == filename::Kind::data && manifest_read_ && between_) {
      auto run = std::move(between_);
      between_ = nullptr;
      run();
    }
    return DirectoryWrapper::open(name, mode);
  }

 private:
  std::function<void()> between_;
  bool manifest_read_ = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(integrity)

BOOST_AUTO_TEST_CASE_TEMPLATE(read_only_open_racing_a_merge_starts_over, B, AllBackends) {
  StoreEnv<B> env;
  fill_history(env);
  env.options.merge_input_dead_fraction = 0;
  env.options.merge_input_dead_bytes = 0;
  auto writer = env.open();
  const auto expected = contents(writer);
  Options o = env.options;
  o.read_only = true;
  o.directory = std::make_shared<MergeBetween>(env.directory(), [&] {
    BOOST_TEST_REQUIRE(writer.merge().segments_in > 0u);
  });
  auto reader = Store::open(env.dir.str(), o);
  BOOST_TEST(contents(reader) == expected);
}

BOOST_AUTO_TEST_SUITE_END()
